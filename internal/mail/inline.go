package mail

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/textproto"
	"strings"
	"sync"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/dnum-sociaux/agora/models"
)

// QRSize is the side, in pixels, of the PNG of an inline QR code (shown at
// 180 CSS pixels: sharp on high-density screens). The /events/…/qr/ route
// draws the same image.
const QRSize = 360

// qrFileName names the inline image for readers that show a name.
const qrFileName = "qr-code.png"

// QRContentID is the Content-ID (without its angle brackets) of the inline
// image of the QR code holding text; the HTML shows it with
// <img src="cid:…">. It is derived from the text, so two different images
// never share one: some readers (Apple Mail) cache inline images by
// Content-ID across messages.
func QRContentID(text string) string {
	sum := sha256.Sum256([]byte(text))
	return "qr-" + hex.EncodeToString(sum[:16]) + "@agora"
}

// QRPNG draws the QR code holding text: at most QRSize pixels square, each
// module a whole number of pixels (sharp when scaled), two colours at one
// bit per pixel, compressed for speed. The worker draws one per
// confirmation it sends after the registration opening: this is about
// twice as fast as go-qrcode's own PNG (≈ 1.8 ms instead of 3.8 ms), whose
// drawing and default compression were half of the time.
func QRPNG(text string) ([]byte, error) {
	q, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		return nil, err
	}
	bm := q.Bitmap() // with its quiet zone
	n := len(bm)
	k := max(QRSize/n, 1)
	img := image.NewPaletted(image.Rect(0, 0, n*k, n*k), color.Palette{color.White, color.Black})
	for y, row := range bm {
		for x, dark := range row {
			if !dark {
				continue
			}
			for dy := range k {
				line := img.Pix[(y*k+dy)*img.Stride:]
				for dx := range k {
					line[x*k+dx] = 1
				}
			}
		}
	}
	var b bytes.Buffer
	if err := qrEncoder.Encode(&b, img); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// qrEncoder reuses its compression buffers between images (safe for
// concurrent use).
var qrEncoder = &png.Encoder{CompressionLevel: png.BestSpeed, BufferPool: &pngBuffers{}}

type pngBuffers struct{ p sync.Pool }

func (b *pngBuffers) Get() *png.EncoderBuffer {
	if v, ok := b.p.Get().(*png.EncoderBuffer); ok {
		return v
	}
	return nil
}

func (b *pngBuffers) Put(v *png.EncoderBuffer) { b.p.Put(v) }

// EmbedQR makes m carry the QR code holding text as an inline image, when
// its HTML refers to it (cid:QRContentID(text)); otherwise m is left as it
// is, so that an email never carries an image it does not show. Only the
// text is stored: the image is drawn at delivery (Build), outside the
// transaction that queues m.
func EmbedQR(m *models.OutboxMessage, text string) {
	if text != "" && showsCID(m, QRContentID(text)) {
		m.InlineQR = text
	}
}

// showsCID tells whether m's HTML refers to cid, in its own HTML or in a
// shared body (models.MailBody), where the Content-ID may be the value of
// a placeholder: the body is not expanded for this (the registration
// opening queues thousands of them).
func showsCID(m *models.OutboxMessage, cid string) bool {
	if m.Body == nil {
		return strings.Contains(m.HTMLBody, "cid:"+cid)
	}
	if strings.Contains(m.Body.HTML, "cid:"+cid) {
		return true
	}
	for i := 0; i+1 < len(m.Vars); i += 2 {
		if m.Vars[i+1] == cid && m.Vars[i] != "" && strings.Contains(m.Body.HTML, "cid:"+m.Vars[i]) {
			return true
		}
	}
	return false
}

// relatedHTML is the multipart/related body holding the HTML part and the
// inline image of the QR code holding qr (RFC 2387), and its Content-Type.
// Its headers are made by net/textproto and mime from constants and the
// Content-ID (hex digits); the HTML and the image are transfer-encoded
// (quoted-printable, base64), so the whole body is 7-bit.
func relatedHTML(html, qr string) (contentType, body string, err error) {
	png, err := QRPNG(qr)
	if err != nil {
		return "", "", fmt.Errorf("draw the inline QR code: %w", err)
	}
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Type", "text/html; charset=UTF-8")
	h.Set("Content-Transfer-Encoding", "quoted-printable")
	pw, err := w.CreatePart(h)
	if err != nil {
		return "", "", err
	}
	qp := quotedprintable.NewWriter(pw)
	if _, err := qp.Write([]byte(html)); err != nil {
		return "", "", err
	}
	if err := qp.Close(); err != nil {
		return "", "", err
	}

	h = textproto.MIMEHeader{ // keys as written (not canonicalised: Content-ID rather than Content-Id)
		"Content-Type":              {mime.FormatMediaType("image/png", map[string]string{"name": qrFileName})},
		"Content-Transfer-Encoding": {"base64"},
		"Content-ID":                {"<" + QRContentID(qr) + ">"},
		"Content-Disposition":       {mime.FormatMediaType("inline", map[string]string{"filename": qrFileName})},
	}
	pw, err = w.CreatePart(h)
	if err != nil {
		return "", "", err
	}
	b64 := base64.StdEncoding.EncodeToString(png)
	for len(b64) > 76 {
		if _, err := fmt.Fprintf(pw, "%s\r\n", b64[:76]); err != nil {
			return "", "", err
		}
		b64 = b64[76:]
	}
	if _, err := fmt.Fprintf(pw, "%s\r\n", b64); err != nil {
		return "", "", err
	}
	if err := w.Close(); err != nil {
		return "", "", err
	}
	// Folded after each parameter, as go-mail folds its own multipart
	// headers: the line would be longer than 78 characters.
	ct := mime.FormatMediaType("multipart/related", map[string]string{"boundary": w.Boundary(), "type": "text/html"})
	return strings.ReplaceAll(ct, "; ", ";\r\n "), buf.String(), nil
}

// PreviewHTML is m's HTML for a browser (the admin's view of a message):
// the inline QR code is given as a data: URL, since a browser knows
// nothing of cid:.
func PreviewHTML(m models.OutboxMessage) string {
	if m.InlineQR == "" {
		return m.HTMLBody
	}
	png, err := QRPNG(m.InlineQR)
	if err != nil {
		return m.HTMLBody
	}
	return strings.ReplaceAll(m.HTMLBody, "cid:"+QRContentID(m.InlineQR), "data:image/png;base64,"+base64.StdEncoding.EncodeToString(png))
}

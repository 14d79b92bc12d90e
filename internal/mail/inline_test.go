package mail_test

import (
	"bytes"
	"encoding/base64"
	"image/png"
	"io"
	"mime"
	stdmail "net/mail"
	"strings"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	gozxingqr "github.com/makiuchi-d/gozxing/qrcode"

	"github.com/dnum-sociaux/agora/internal/mail"
	"github.com/dnum-sociaux/agora/internal/testutil"
	"github.com/dnum-sociaux/agora/models"
)

const checkInURL = "https://agora.example.gouv.fr/events/01JQ4Z8ZP6B0K3V7W9Y2X5T1RM/checkin?code=QZ7XW9KJ"

// qrMessage is a confirmation as eventmail queues it: text with the typed
// code, HTML showing the QR code by Content-ID, the invitation.
func qrMessage() models.OutboxMessage {
	m := models.OutboxMessage{
		ID: "01qr", Kind: "event.registered", Recipient: "camille.dupont@sg.social.gouv.fr", Subject: "Inscription confirmée : Journée produit 2027",
		TextBody: "Bonjour Camille,\nVotre code d'accès le jour J : QZ7X-W9KJ\n",
		HTMLBody: `<p>Bonjour Camille,</p><p><img src="cid:` + mail.QRContentID(checkInURL) + `" width="180" height="180" alt="QR code d'accès, code QZ7X-W9KJ"></p>` +
			"\n<p>Code : <strong>QZ7X-W9KJ</strong> — à présenter à l'accueil.</p>",
		ICSMethod: "REQUEST", ICSBody: invitation,
	}
	mail.EmbedQR(&m, checkInURL)
	return m
}

// checkQRMessage parses a built message with net/mail and mime/multipart
// and checks the whole tree: multipart/mixed → (multipart/alternative →
// text/plain, multipart/related → (text/html, image/png), text/calendar),
// invitation.ics; the HTML refers to the image by its Content-ID; the image
// is a PNG whose QR code reads back as text (the drawing of QRPNG).
func checkQRMessage(t *testing.T, raw []byte, html, text string) {
	t.Helper()
	msg, err := stdmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	mixed := readMultipart(t, msg.Header.Get("Content-Type"), msg.Body, "multipart/mixed")
	if len(mixed) != 2 {
		t.Fatalf("multipart/mixed has %d parts, want 2", len(mixed))
	}
	if disp, params, _ := mime.ParseMediaType(mixed[1].Header.Get("Content-Disposition")); disp != "attachment" || params["filename"] != "invitation.ics" ||
		mixed[1].decoded(t) != invitation {
		t.Errorf("second part of mixed: %v", mixed[1].Header)
	}
	alt := readMultipart(t, mixed[0].Header.Get("Content-Type"), bytes.NewReader(mixed[0].Body), "multipart/alternative")
	if len(alt) != 3 {
		t.Fatalf("multipart/alternative has %d parts, want 3", len(alt))
	}
	if mt, _, _ := mime.ParseMediaType(alt[0].Header.Get("Content-Type")); mt != "text/plain" || !strings.Contains(alt[0].decoded(t), "QZ7X-W9KJ") {
		t.Errorf("first alternative %q does not carry the typed code", alt[0].Header.Get("Content-Type"))
	}
	if mt, params, _ := mime.ParseMediaType(alt[2].Header.Get("Content-Type")); mt != "text/calendar" || params["method"] != "REQUEST" || alt[2].decoded(t) != invitation {
		t.Errorf("last alternative %q", alt[2].Header.Get("Content-Type"))
	}
	if cte := strings.ToLower(alt[1].Header.Get("Content-Transfer-Encoding")); cte != "" && cte != "7bit" && cte != "8bit" && cte != "binary" {
		t.Errorf("multipart/related has Content-Transfer-Encoding %q (RFC 2045 allows only 7bit, 8bit, binary)", cte)
	}
	if _, params, _ := mime.ParseMediaType(alt[1].Header.Get("Content-Type")); params["type"] != "text/html" {
		t.Errorf("multipart/related type=%q, want text/html (RFC 2387)", params["type"])
	}
	rel := readMultipart(t, alt[1].Header.Get("Content-Type"), bytes.NewReader(alt[1].Body), "multipart/related")
	if len(rel) != 2 {
		t.Fatalf("multipart/related has %d parts, want 2", len(rel))
	}
	if mt, params, _ := mime.ParseMediaType(rel[0].Header.Get("Content-Type")); mt != "text/html" || !strings.EqualFold(params["charset"], "utf-8") {
		t.Errorf("root of related: %q", rel[0].Header.Get("Content-Type"))
	}
	gotHTML := strings.ReplaceAll(rel[0].decoded(t), "\r\n", "\n")
	if gotHTML != html {
		t.Errorf("HTML = %q, want %q", gotHTML, html)
	}
	img := rel[1]
	if mt, _, _ := mime.ParseMediaType(img.Header.Get("Content-Type")); mt != "image/png" {
		t.Errorf("image part is %q", img.Header.Get("Content-Type"))
	}
	if disp, _, _ := mime.ParseMediaType(img.Header.Get("Content-Disposition")); disp != "inline" {
		t.Errorf("image disposition %q, want inline", img.Header.Get("Content-Disposition"))
	}
	cid := img.Header.Get("Content-Id")
	if !strings.HasPrefix(cid, "<") || !strings.HasSuffix(cid, ">") {
		t.Fatalf("Content-ID %q is not <…>", cid)
	}
	if ref := `src="cid:` + strings.Trim(cid, "<>") + `"`; !strings.Contains(gotHTML, ref) {
		t.Errorf("the HTML does not show the image: no %s in\n%s", ref, gotHTML)
	}
	if strings.ToLower(img.Header.Get("Content-Transfer-Encoding")) != "base64" {
		t.Fatalf("image encoding %q", img.Header.Get("Content-Transfer-Encoding"))
	}
	for _, line := range strings.Split(strings.TrimRight(string(img.Body), "\r\n"), "\r\n") {
		if len(line) > 76 {
			t.Fatalf("base64 line of %d characters", len(line))
		}
	}
	pngBytes, err := base64.StdEncoding.DecodeString(strings.NewReplacer("\r", "", "\n", "").Replace(string(img.Body)))
	if err != nil {
		t.Fatal(err)
	}
	want, err := mail.QRPNG(text)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pngBytes, want) {
		t.Error("the image is not the drawing of the stored text")
	}
	decoded, err := png.Decode(bytes.NewReader(pngBytes))
	if err != nil {
		t.Fatalf("the image is not a PNG: %v", err)
	}
	if b := decoded.Bounds(); b.Dx() != b.Dy() || b.Dx() > mail.QRSize || b.Dx() < mail.QRSize*3/4 {
		t.Errorf("image of %v, want a square of at most %d px and not much less", b, mail.QRSize)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(decoded)
	if err != nil {
		t.Fatal(err)
	}
	res, err := gozxingqr.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		t.Fatalf("the QR code does not read: %v", err)
	}
	if res.GetText() != text {
		t.Errorf("the QR code reads %q, want %q", res.GetText(), text)
	}
}

// The message built for a confirmation with an inline QR code parses back
// into the nesting that Outlook, Thunderbird and Gmail render, with an
// image that reads.
func TestBuildInlineQR(t *testing.T) {
	s, err := mail.NewSMTPSender("smtp://127.0.0.1:25?tls=none", mail.SMTPOptions{From: testFrom, Hostname: "agora.test",
		Now: func() time.Time { return time.Date(2027, 1, 7, 9, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	m := qrMessage()
	if m.InlineQR != checkInURL {
		t.Fatalf("EmbedQR did not keep the text of a QR code the HTML shows: %q", m.InlineQR)
	}
	msg, err := s.Build(m)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := msg.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	checkQRMessage(t, buf.Bytes(), m.HTMLBody, checkInURL)

	// A text no QR code can hold fails the message for good (the admin sees it).
	m.InlineQR = strings.Repeat("x", 8000)
	if _, err := s.Build(m); err == nil {
		t.Fatal("built a message whose QR code cannot be drawn")
	}
}

// The Content-ID follows the text: two check-in codes never share one (some
// readers cache inline images by Content-ID), the same code keeps it (the
// confirmation and the reminders show one image). An email whose HTML does
// not show the image does not carry it.
func TestQRContentIDAndEmbed(t *testing.T) {
	other := strings.Replace(checkInURL, "QZ7XW9KJ", "QZ7XW9KK", 1)
	a, b := mail.QRContentID(checkInURL), mail.QRContentID(other)
	if a == b || a != mail.QRContentID(checkInURL) {
		t.Fatalf("Content-IDs %q %q", a, b)
	}
	if _, err := stdmail.ParseAddress("<" + a + ">"); err != nil {
		t.Errorf("Content-ID %q is not a msg-id: %v", a, err)
	}
	m := models.OutboxMessage{HTMLBody: `<p>Votre inscription est modifiée.</p>`}
	mail.EmbedQR(&m, checkInURL)
	if m.InlineQR != "" {
		t.Errorf("an email that does not show the QR code carries it: %q", m.InlineQR)
	}
	m.HTMLBody = `<img src="cid:` + b + `">`
	mail.EmbedQR(&m, checkInURL)
	if m.InlineQR != "" {
		t.Errorf("an email showing another QR code carries this one")
	}

	// A body shared by many messages (the registration opening) shows the
	// person's Content-ID through a placeholder.
	shared := models.NewMailBody("Code : PhCode", `<img src="cid:PhQR" alt="PhCode">`)
	for _, c := range []struct {
		vars []string
		want string
	}{
		{[]string{"PhCode", "QZ7X-W9KJ", "PhQR", a}, checkInURL},
		{[]string{"PhCode", "QZ7X-W9KJ", "PhQR", b}, ""},    // another person's image
		{[]string{"PhCode", a, "PhQR", ""}, ""},             // the Content-ID, but not after cid:
		{[]string{"PhCode", "QZ7X-W9KJ", "PhOther", a}, ""}, // a placeholder the body does not hold
	} {
		m := models.OutboxMessage{Body: shared, Vars: c.vars}
		mail.EmbedQR(&m, checkInURL)
		if m.InlineQR != c.want {
			t.Errorf("shared body with %q: inline QR %q, want %q", c.vars, m.InlineQR, c.want)
		}
	}
}

// The admin's browser view gets the image as a data: URL (the page's CSP
// allows only data: images), the same PNG as the email.
func TestPreviewHTML(t *testing.T) {
	m := qrMessage()
	got := mail.PreviewHTML(m)
	png, _ := mail.QRPNG(checkInURL)
	if strings.Contains(got, "cid:") || !strings.Contains(got, `src="data:image/png;base64,`+base64.StdEncoding.EncodeToString(png)+`"`) {
		t.Fatalf("preview: %.300s", got)
	}
	m.InlineQR = ""
	if mail.PreviewHTML(m) != m.HTMLBody {
		t.Fatal("a message without inline image is not shown as it is")
	}
}

// Delivered through the worker to a real SMTP server, the confirmation
// keeps its inline image: the outbox row holds only the text, the PNG is
// drawn on the way out.
func TestDeliveredInlineQR(t *testing.T) {
	clock := testutil.NewClock()
	store := testutil.SQLite(t, clock.Now)
	srv := newSMTPServer(t)
	r := newRig(t, store, clock, smtpURL(srv), mail.SMTPOptions{})
	m := qrMessage()
	ids := enqueue(t, store, m, models.OutboxMessage{Recipient: "b@example.org", Subject: "Sans image", HTMLBody: "<p>html</p>"})
	if row := mustGet(t, store, ids[0]); row.InlineQR != checkInURL || strings.Contains(row.HTMLBody, "base64") {
		t.Fatalf("outbox row: inline QR %q", row.InlineQR)
	}
	if n, err := r.runOnce(); n != 2 || err != nil {
		t.Fatalf("RunOnce = %d, %v", n, err)
	}
	got := srv.Messages()
	if len(got) != 2 || got[0].To[0] != m.Recipient {
		t.Fatalf("server got %d messages", len(got))
	}
	checkQRMessage(t, got[0].Data, m.HTMLBody, checkInURL)
	if mustGet(t, store, ids[0]).State != models.MailSent {
		t.Fatal("not marked sent")
	}
	// Without an inline image, the HTML stays a plain alternative.
	plain, err := stdmail.ReadMessage(bytes.NewReader(got[1].Data))
	if err != nil {
		t.Fatal(err)
	}
	alt := readMultipart(t, plain.Header.Get("Content-Type"), plain.Body, "multipart/alternative")
	if mt, _, _ := mime.ParseMediaType(alt[1].Header.Get("Content-Type")); len(alt) != 2 || mt != "text/html" {
		t.Fatalf("message without image: %d parts, second %q", len(alt), alt[1].Header.Get("Content-Type"))
	}
}

// BenchmarkBuild measures what drawing the QR code at delivery adds to
// building a confirmation (go test -bench Build ./internal/mail/).
func BenchmarkBuild(b *testing.B) {
	s, err := mail.NewSMTPSender("smtp://127.0.0.1:25?tls=none", mail.SMTPOptions{From: testFrom})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		qr   string
	}{{"without-qr", ""}, {"inline-qr", checkInURL}} {
		b.Run(c.name, func(b *testing.B) {
			m := qrMessage()
			m.InlineQR = c.qr
			for b.Loop() {
				msg, err := s.Build(m)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := msg.WriteTo(io.Discard); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

package mail_test

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	stdmail "net/mail"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/dnum-sociaux/agora/internal/mail"
	"github.com/dnum-sociaux/agora/models"
)

// FuzzBuild: whatever reached the outbox (recipient, subject, bodies,
// calendar method, text of an inline QR code), Build either refuses the
// message or writes one whose headers a mail reader parses back to exactly
// one recipient, the same subject, and no header that was not meant to be
// there, and whose MIME tree parses to the end, with the inline image under
// its Content-ID when there is one.
func FuzzBuild(f *testing.F) {
	f.Add("agent@example.org", "Votre lien de connexion", "Bonjour", "<p>Bonjour</p>", "", "", "")
	f.Add("agent@example.org", "Séance « Comité » : mardi 14 h", "é\r\nà", "", "REQUEST", "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "")
	f.Add("agent@example.org\r\nBcc: x@evil.example", "s", "b", "", "", "", "")
	f.Add("agent@example.org", "s\r\nBcc: x@evil.example", "b", "", "", "", "")
	f.Add("Nom <agent@example.org>", "s", "b", "", "", "", "")
	f.Add("agent@example.org", strings.Repeat("très long objet ", 20), "b", "", "CANCEL", "x", "")
	f.Add("agent@example.org", "=?utf-8?q?d=C3=A9j=C3=A0_encod=C3=A9?=", "b", "", "request; x=y", "x", "")
	f.Add("agent@example.org", "Inscription confirmée", "Code : QZ7X-W9KJ", `<img src="cid:`+mail.QRContentID(checkInURL)+`">`+"\r\n--boundary\r\n",
		"REQUEST", "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", checkInURL)
	f.Add("agent@example.org", "s", "b", "<p>é</p>", "", "", "\r\nBcc: x@evil.example\r\n")
	from, _ := stdmail.ParseAddress("Agora <agora@example.org>")
	s, err := mail.NewSMTPSender("smtp://127.0.0.1:25?tls=none", mail.SMTPOptions{From: from, Hostname: "agora.test",
		Now: func() time.Time { return time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC) }})
	if err != nil {
		f.Fatal(err)
	}
	allowed := map[string]bool{"From": true, "To": true, "Subject": true, "Message-Id": true, "Auto-Submitted": true,
		"Date": true, "Mime-Version": true, "Content-Type": true, "Content-Transfer-Encoding": true}
	f.Fuzz(func(t *testing.T, to, subject, text, html, method, ics, qr string) {
		msg, err := s.Build(models.OutboxMessage{ID: "01fuzz", Recipient: to, Subject: subject, TextBody: text,
			HTMLBody: html, ICSMethod: method, ICSBody: ics, InlineQR: qr})
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if _, err := msg.WriteTo(&buf); err != nil {
			t.Fatalf("WriteTo: %v", err)
		}
		m, err := stdmail.ReadMessage(&buf)
		if err != nil {
			t.Fatalf("the built message does not parse: %v\n%s", err, buf.String())
		}
		for k := range m.Header {
			if !allowed[k] {
				t.Fatalf("unexpected header %q (recipient %q, subject %q)", k, to, subject)
			}
		}
		rcpts, err := m.Header.AddressList("To")
		if err != nil || len(rcpts) != 1 || rcpts[0].Address != to {
			t.Fatalf("To reads back as %v (%v), want only %q", rcpts, err, to)
		}
		got, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
		if want := strings.TrimSpace(subject); err != nil || got != want {
			t.Fatalf("Subject reads back as %q (%v), want %q", got, err, want)
		}
		// The MIME tree parses to the end.
		var images []string
		walkMIME(t, m.Header.Get("Content-Type"), m.Body, func(h textproto.MIMEHeader) {
			if mt, _, _ := mime.ParseMediaType(h.Get("Content-Type")); mt == "image/png" {
				images = append(images, h.Get("Content-Id"))
			}
		})
		if want := 0; qr == "" || html == "" {
			if len(images) != want {
				t.Fatalf("%d images, want %d", len(images), want)
			}
		} else if len(images) != 1 || images[0] != "<"+mail.QRContentID(qr)+">" {
			t.Fatalf("images %q, want the QR code under <%s>", images, mail.QRContentID(qr))
		}
	})
}

// walkMIME reads a MIME body to the end, into nested multiparts, and calls
// leaf with the header of every part that is not a multipart.
func walkMIME(t *testing.T, contentType string, body io.Reader, leaf func(textproto.MIMEHeader)) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		t.Fatalf("Content-Type %q: %v", contentType, err)
	}
	if !strings.HasPrefix(mt, "multipart/") {
		_, _ = io.Copy(io.Discard, body)
		return
	}
	mr := multipart.NewReader(body, params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("MIME part of %s: %v", mt, err)
		}
		if ct := p.Header.Get("Content-Type"); strings.HasPrefix(ct, "multipart/") {
			walkMIME(t, ct, p, leaf)
		} else {
			leaf(p.Header)
			_, _ = io.Copy(io.Discard, p)
		}
	}
}

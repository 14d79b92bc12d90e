package mail_test

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	stdmail "net/mail"
	"strings"
	"testing"
	"time"

	"github.com/dnum-sociaux/agora/internal/mail"
	"github.com/dnum-sociaux/agora/models"
)

// FuzzBuild: whatever reached the outbox (recipient, subject, bodies,
// calendar method), Build either refuses the message or writes one whose
// headers a mail reader parses back to exactly one recipient, the same
// subject, and no header that was not meant to be there.
func FuzzBuild(f *testing.F) {
	f.Add("agent@example.org", "Votre lien de connexion", "Bonjour", "<p>Bonjour</p>", "", "")
	f.Add("agent@example.org", "Séance « Comité » : mardi 14 h", "é\r\nà", "", "REQUEST", "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
	f.Add("agent@example.org\r\nBcc: x@evil.example", "s", "b", "", "", "")
	f.Add("agent@example.org", "s\r\nBcc: x@evil.example", "b", "", "", "")
	f.Add("Nom <agent@example.org>", "s", "b", "", "", "")
	f.Add("agent@example.org", strings.Repeat("très long objet ", 20), "b", "", "CANCEL", "x")
	f.Add("agent@example.org", "=?utf-8?q?d=C3=A9j=C3=A0_encod=C3=A9?=", "b", "", "request; x=y", "x")
	from, _ := stdmail.ParseAddress("Agora <agora@example.org>")
	s, err := mail.NewSMTPSender("smtp://127.0.0.1:25?tls=none", mail.SMTPOptions{From: from, Hostname: "agora.test",
		Now: func() time.Time { return time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC) }})
	if err != nil {
		f.Fatal(err)
	}
	allowed := map[string]bool{"From": true, "To": true, "Subject": true, "Message-Id": true, "Auto-Submitted": true,
		"Date": true, "Mime-Version": true, "Content-Type": true, "Content-Transfer-Encoding": true}
	f.Fuzz(func(t *testing.T, to, subject, text, html, method, ics string) {
		msg, err := s.Build(models.OutboxMessage{ID: "01fuzz", Recipient: to, Subject: subject, TextBody: text,
			HTMLBody: html, ICSMethod: method, ICSBody: ics})
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
		if err != nil || got != subject {
			t.Fatalf("Subject reads back as %q (%v), want %q", got, err, subject)
		}
		// The MIME tree parses to the end.
		_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
		if err != nil {
			t.Fatalf("Content-Type: %v", err)
		}
		if b := params["boundary"]; b != "" {
			mr := multipart.NewReader(m.Body, b)
			for {
				p, err := mr.NextPart()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("MIME part: %v", err)
				}
				_, _ = io.Copy(io.Discard, p)
			}
		}
	})
}

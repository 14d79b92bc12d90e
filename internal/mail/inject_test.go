package mail_test

import (
	"bytes"
	"context"

	stdmail "net/mail"
	"strings"
	"testing"
	"time"

	"github.com/dnum-sociaux/agora/internal/mail"
	"github.com/dnum-sociaux/agora/internal/testutil"
	"github.com/dnum-sociaux/agora/models"
)

// Whatever reaches the outbox, the mail layer never emits a header that
// was not meant: line breaks in a recipient or subject are refused, and
// other text is encoded by go-mail.
func TestNoHeaderInjection(t *testing.T) {
	refused := []struct {
		name string
		m    models.OutboxMessage
	}{
		{"CRLF in subject", models.OutboxMessage{Recipient: "a@example.org", Subject: "Bonjour\r\nBcc: x@y.example"}},
		{"LF in subject", models.OutboxMessage{Recipient: "a@example.org", Subject: "Bonjour\nBcc: x@y.example"}},
		{"CRLF in recipient", models.OutboxMessage{Recipient: "a@example.org\r\nBcc: x@y.example", Subject: "Bonjour"}},
		{"two recipients", models.OutboxMessage{Recipient: "a@example.org, x@y.example", Subject: "Bonjour"}},
		{"recipient with a name", models.OutboxMessage{Recipient: "Eve <x@y.example>", Subject: "Bonjour"}},
		{"bad calendar method", models.OutboxMessage{Recipient: "a@example.org", Subject: "Bonjour", ICSMethod: "REQUEST\r\nBcc: x@y.example", ICSBody: invitation}},
	}
	s, err := mail.NewSMTPSender("smtp://127.0.0.1:25", mail.SMTPOptions{From: testFrom})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			if _, err := s.Build(c.m); err == nil {
				t.Fatal("built a message with an injected header")
			}
		})
	}

	// Text that only looks like a header stays inside its own header.
	evilFrom := &stdmail.Address{Name: "Agora\r\nBcc: x@y.example", Address: "agora@agora.test"}
	s, err = mail.NewSMTPSender("smtp://127.0.0.1:25", mail.SMTPOptions{From: evilFrom})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := s.Build(models.OutboxMessage{ID: "x", Recipient: "a@example.org", Subject: "Réunion Bcc: x@y.example", TextBody: "Bcc: x@y.example\r\n"})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := msg.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	parsed, err := stdmail.ReadMessage(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if parsed.Header.Get("Bcc") != "" || len(parsed.Header["Subject"]) != 1 || len(parsed.Header["From"]) != 1 {
		t.Fatalf("headers: %v", parsed.Header)
	}
}

// A message with a header-injection attempt that got into the outbox by
// another way than Enqueue fails for good; nothing reaches the server.
func TestInjectedRowFailsWithoutSending(t *testing.T) {
	clock := testutil.NewClock()
	store := testutil.SQLite(t, clock.Now)
	_, db := store.SQL()
	_, err := db.Exec(`INSERT INTO outbox (id, dedupe_key, kind, recipient, subject, text_body, next_attempt_at, created_at)
		VALUES ('evil', 'evil', 'test', 'a@example.org', 'Bonjour'||char(13)||char(10)||'Bcc: x@y.example', 'texte', ?, ?)`, clock.Now(), clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	srv := newSMTPServer(t)
	r := newRig(t, store, clock, smtpURL(srv), mail.SMTPOptions{})
	if n, err := r.runOnce(); n != 1 || err != nil {
		t.Fatalf("RunOnce = %d, %v", n, err)
	}
	if m := mustGet(t, store, "evil"); m.State != models.MailFailed || !strings.Contains(m.LastError, "subject") {
		t.Fatalf("injected row: %s %q", m.State, m.LastError)
	}
	if len(srv.Messages()) != 0 || srv.Conns() != 0 {
		t.Fatalf("the server was contacted: %d messages, %d connections", len(srv.Messages()), srv.Conns())
	}
}

// Enqueue itself refuses line breaks in the recipient and the subject.
func TestEnqueueRefusesLineBreaks(t *testing.T) {
	testutil.EachStore(t, nil, func(t *testing.T, store *models.Store) {
		for _, m := range []models.OutboxMessage{
			{DedupeKey: "a", Recipient: "a@example.org\r\nBcc: x@y.example", Subject: "Bonjour", TextBody: "x"},
			{DedupeKey: "b", Recipient: "a@example.org", Subject: "Bonjour\nBcc: x@y.example", TextBody: "x"},
		} {
			err := store.Tx(context.Background(), func(tx *models.Tx) error { _, err := tx.Enqueue(context.Background(), m); return err })
			if err == nil {
				t.Fatalf("enqueued %q / %q", m.Recipient, m.Subject)
			}
		}
		if _, n, _ := store.ListOutbox(context.Background(), models.OutboxFilter{}); n != 0 {
			t.Fatalf("%d messages queued", n)
		}
	})
}

// The capture sender (no SMTP) keeps messages as delivered and readable;
// Run wakes up on Notify and stops with its context.
func TestRunCapturesAndStops(t *testing.T) {
	clock := testutil.NewClock()
	store := testutil.SQLite(t, clock.Now)
	w := (&mail.Worker{Store: store, Sender: mail.CaptureSender{}, Now: clock.Now, Poll: time.Hour}).Init()
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { w.Run(ctx); close(stopped) }()

	ids := enqueue(t, store, models.OutboxMessage{Recipient: "a@example.org", Subject: "Lien", TextBody: "http://localhost:8080/login/abc\n"})
	w.Notify() // without it, the next look would be in an hour
	deadline := time.Now().Add(10 * time.Second)
	for {
		m := mustGet(t, store, ids[0])
		if m.State == models.MailSent {
			if !m.Captured || m.TextBody != "http://localhost:8080/login/abc\n" {
				t.Fatalf("captured message: %+v", m)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the worker did not wake up on Notify")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop with its context")
	}
}

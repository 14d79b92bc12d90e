package mail_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	stdmail "net/mail"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dnum-sociaux/agora/internal/mail"
	"github.com/dnum-sociaux/agora/internal/testutil"
	"github.com/dnum-sociaux/agora/models"
)

var testFrom = &stdmail.Address{Name: "Agora DNUM", Address: "agora@agora.test"}

// rig is a worker delivering one store's outbox to an SMTP URL.
type rig struct {
	t      *testing.T
	store  *models.Store
	clock  *testutil.Clock
	worker *mail.Worker
}

func newRig(t *testing.T, store *models.Store, clock *testutil.Clock, smtpURL string, o mail.SMTPOptions) *rig {
	t.Helper()
	if o.From == nil {
		o.From = testFrom
	}
	if o.Hostname == "" {
		o.Hostname = "agora.test"
	}
	if o.Now == nil {
		o.Now = clock.Now
	}
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Second
	}
	sender, err := mail.NewSMTPSender(smtpURL, o)
	if err != nil {
		t.Fatal(err)
	}
	w := &mail.Worker{Store: store, Sender: sender, Now: clock.Now, MaxAttempts: 4}
	return &rig{t: t, store: store, clock: clock, worker: w.Init()}
}

// runOnce runs one batch and returns how many messages were handled and the
// outage error, if any.
func (r *rig) runOnce() (int, error) {
	r.t.Helper()
	return r.worker.RunOnce(context.Background())
}

// enqueue writes messages to the outbox and returns their ids in order of creation.
func enqueue(t *testing.T, s *models.Store, msgs ...models.OutboxMessage) []string {
	t.Helper()
	ctx := context.Background()
	for i, m := range msgs {
		if m.DedupeKey == "" {
			m.DedupeKey = fmt.Sprintf("test:%d:%s", i, models.NewID())
		}
		if m.Kind == "" {
			m.Kind = "test"
		}
		if m.TextBody == "" {
			m.TextBody = "Bonjour.\n"
		}
		testutil.MustTx(t, s, func(tx *models.Tx) error {
			ok, err := tx.Enqueue(ctx, m)
			if err == nil && !ok {
				err = fmt.Errorf("message %d not queued", i)
			}
			return err
		})
	}
	all, _, err := s.ListOutbox(ctx, models.OutboxFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, 0, len(all))
	for i := len(all) - 1; i >= 0; i-- {
		ids = append(ids, all[i].ID)
	}
	return ids[len(ids)-len(msgs):]
}

func mustGet(t *testing.T, s *models.Store, id string) models.OutboxMessage {
	t.Helper()
	m, err := s.OutboxByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func smtpURL(srv *smtpServer) string { return "smtp://" + srv.Addr + "?tls=none" }

const invitation = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Agora//FR\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:s-1@agora.test\r\nSEQUENCE:0\r\nSUMMARY:Comité produit\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"

func TestDeliveredMessageStructure(t *testing.T) {
	clock := testutil.NewClock()
	store := testutil.SQLite(t, clock.Now)
	srv := newSMTPServer(t)
	r := newRig(t, store, clock, smtpURL(srv), mail.SMTPOptions{})
	subject := "Invitation : comité produit du lundi 30 novembre — salle Laroque"
	ids := enqueue(t, store, models.OutboxMessage{
		Kind: "invitation", Recipient: "marie.curie@sg.social.gouv.fr", Subject: subject,
		TextBody: "Bonjour Marie,\nLe comité se réunit à 10 h.\n", HTMLBody: "<p>Bonjour Marie,</p><p>Le comité se réunit à 10 h.</p>",
		ICSMethod: "REQUEST", ICSBody: invitation,
	})
	if n, err := r.runOnce(); n != 1 || err != nil {
		t.Fatalf("RunOnce = %d, %v", n, err)
	}
	got := srv.Messages()
	if len(got) != 1 {
		t.Fatalf("server got %d messages, want 1", len(got))
	}
	if got[0].From != "agora@agora.test" || !slices.Equal(got[0].To, []string{"marie.curie@sg.social.gouv.fr"}) {
		t.Fatalf("envelope from %q to %v", got[0].From, got[0].To)
	}
	msg, err := stdmail.ReadMessage(bytes.NewReader(got[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	h := msg.Header
	for name, raw := range h {
		for _, v := range raw {
			if strings.ContainsFunc(v, func(r rune) bool { return r > 127 }) {
				t.Errorf("header %s is not ASCII: %q", name, v)
			}
		}
	}
	if from, err := h.AddressList("From"); err != nil || len(from) != 1 || from[0].Address != "agora@agora.test" || from[0].Name != "Agora DNUM" {
		t.Errorf("From = %q (%v)", h.Get("From"), err)
	}
	if to, err := h.AddressList("To"); err != nil || len(to) != 1 || to[0].Address != "marie.curie@sg.social.gouv.fr" {
		t.Errorf("To = %q (%v)", h.Get("To"), err)
	}
	if dec, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject")); err != nil || dec != subject {
		t.Errorf("Subject = %q, decoded %q (%v), want %q", h.Get("Subject"), dec, err, subject)
	}
	if want := "<" + ids[0] + "@agora.test>"; h.Get("Message-Id") != want {
		t.Errorf("Message-ID = %q, want %q", h.Get("Message-Id"), want)
	}
	if d, err := h.Date(); err != nil || !d.Equal(clock.Now()) {
		t.Errorf("Date = %q (%v), want %v", h.Get("Date"), err, clock.Now())
	}
	if h.Get("Bcc") != "" || h.Get("Cc") != "" {
		t.Errorf("unexpected copy headers: Bcc=%q Cc=%q", h.Get("Bcc"), h.Get("Cc"))
	}

	// multipart/mixed → (multipart/alternative → text/plain, text/html, text/calendar), invitation.ics
	mixed := readMultipart(t, h.Get("Content-Type"), msg.Body, "multipart/mixed")
	if len(mixed) != 2 {
		t.Fatalf("multipart/mixed has %d parts, want 2", len(mixed))
	}
	alt := readMultipart(t, mixed[0].Header.Get("Content-Type"), bytes.NewReader(mixed[0].Body), "multipart/alternative")
	if len(alt) != 3 {
		t.Fatalf("multipart/alternative has %d parts, want 3", len(alt))
	}
	wantParts := []struct {
		mediaType string
		params    map[string]string
		body      string
	}{
		{"text/plain", map[string]string{"charset": "UTF-8"}, "Bonjour Marie,\nLe comité se réunit à 10 h.\n"},
		{"text/html", map[string]string{"charset": "UTF-8"}, "<p>Bonjour Marie,</p><p>Le comité se réunit à 10 h.</p>"},
		{"text/calendar", map[string]string{"charset": "UTF-8", "method": "REQUEST"}, invitation},
	}
	for i, w := range wantParts {
		mt, params, err := mime.ParseMediaType(alt[i].Header.Get("Content-Type"))
		if err != nil || mt != w.mediaType {
			t.Errorf("alternative %d is %q (%v), want %s", i, alt[i].Header.Get("Content-Type"), err, w.mediaType)
			continue
		}
		for k, v := range w.params {
			if !strings.EqualFold(params[k], v) {
				t.Errorf("%s: %s=%q, want %q", mt, k, params[k], v)
			}
		}
		if body := alt[i].decoded(t); crlf(body, mt) != w.body {
			t.Errorf("%s body = %q, want %q", mt, body, w.body)
		}
	}
	att := mixed[1]
	if disp, params, _ := mime.ParseMediaType(att.Header.Get("Content-Disposition")); disp != "attachment" || params["filename"] != "invitation.ics" {
		t.Errorf("attachment disposition %q", att.Header.Get("Content-Disposition"))
	}
	if mt, _, _ := mime.ParseMediaType(att.Header.Get("Content-Type")); mt != "application/ics" {
		t.Errorf("attachment type %q", att.Header.Get("Content-Type"))
	}
	if body := att.decoded(t); body != invitation {
		t.Errorf("attached .ics = %q", body)
	}

	m := mustGet(t, store, ids[0])
	if m.State != models.MailSent || m.Captured || m.Attempts != 1 || !m.SentAt.Equal(clock.Now()) || m.LastError != "" {
		t.Fatalf("outbox row after delivery: %+v", m)
	}
}

// A message without calendar part is a plain multipart/alternative.
func TestDeliveredMessageWithoutCalendar(t *testing.T) {
	clock := testutil.NewClock()
	store := testutil.SQLite(t, clock.Now)
	srv := newSMTPServer(t)
	r := newRig(t, store, clock, smtpURL(srv), mail.SMTPOptions{})
	enqueue(t, store, models.OutboxMessage{Recipient: "a@example.org", Subject: "Votre lien", TextBody: "texte\n", HTMLBody: "<p>html</p>"})
	if _, err := r.runOnce(); err != nil {
		t.Fatal(err)
	}
	msg, err := stdmail.ReadMessage(bytes.NewReader(srv.Messages()[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	alt := readMultipart(t, msg.Header.Get("Content-Type"), msg.Body, "multipart/alternative")
	if len(alt) != 2 || crlf(alt[0].decoded(t), "text/plain") != "texte\n" || alt[1].decoded(t) != "<p>html</p>" {
		t.Fatalf("alternative parts: %d %q", len(alt), alt[0].decoded(t))
	}
}

// crlf undoes the CRLF line ends SMTP gives text parts (the calendar part
// is base64: its own CRLF must arrive untouched).
func crlf(body, mediaType string) string {
	if mediaType == "text/calendar" {
		return body
	}
	return strings.ReplaceAll(body, "\r\n", "\n")
}

type mimeHeader map[string][]string

func (h mimeHeader) Get(k string) string {
	if v := h[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

type mimePart struct {
	Header mimeHeader
	Body   []byte
}

// decoded is the part's content, transfer encoding undone.
func (p mimePart) decoded(t *testing.T) string {
	t.Helper()
	var r io.Reader = bytes.NewReader(p.Body)
	switch strings.ToLower(p.Header.Get("Content-Transfer-Encoding")) {
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, r)
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decode part: %v", err)
	}
	return string(b)
}

// readMultipart checks the media type and returns the raw parts.
func readMultipart(t *testing.T, contentType string, body io.Reader, want string) []mimePart {
	t.Helper()
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != want {
		t.Fatalf("Content-Type %q (%v), want %s", contentType, err, want)
	}
	mr := multipart.NewReader(body, params["boundary"])
	var out []mimePart
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, mimePart{Header: mimeHeader(p.Header), Body: b})
	}
}

// One connection carries a whole batch; a refused message in the middle
// does not cost the connection (RSET) and the others still leave.
func TestBatchUsesOneConnection(t *testing.T) {
	clock := testutil.NewClock()
	store := testutil.SQLite(t, clock.Now)
	srv := newSMTPServer(t)
	srv.Reply = func(_ int, to string) error {
		if to == "inconnu@example.org" {
			return refuse(550, "No such user")
		}
		return nil
	}
	r := newRig(t, store, clock, smtpURL(srv), mail.SMTPOptions{})
	var msgs []models.OutboxMessage
	for i := range 5 {
		to := fmt.Sprintf("agent%d@example.org", i)
		if i == 2 {
			to = "inconnu@example.org"
		}
		msgs = append(msgs, models.OutboxMessage{Recipient: to, Subject: fmt.Sprintf("Message %d", i)})
	}
	ids := enqueue(t, store, msgs...)
	if n, err := r.runOnce(); n != 5 || err != nil {
		t.Fatalf("RunOnce = %d, %v", n, err)
	}
	if srv.Conns() != 1 {
		t.Fatalf("%d SMTP connections for one batch, want 1", srv.Conns())
	}
	var got []string
	for _, m := range srv.Messages() {
		got = append(got, m.To[0])
	}
	if want := []string{"agent0@example.org", "agent1@example.org", "agent3@example.org", "agent4@example.org"}; !slices.Equal(got, want) {
		t.Fatalf("delivered to %v, want %v (in order of creation)", got, want)
	}
	if m := mustGet(t, store, ids[2]); m.State != models.MailFailed || !strings.Contains(m.LastError, "550") {
		t.Fatalf("refused message: state %s, error %q", m.State, m.LastError)
	}
}

func TestTemporaryFailureThenSuccess(t *testing.T) {
	clock := testutil.NewClock()
	testutil.EachStore(t, clock.Now, func(t *testing.T, store *models.Store) {
		srv := newSMTPServer(t)
		srv.Reply = func(n int, _ string) error {
			if n == 1 {
				return refuse(451, "Greylisted, try again later")
			}
			return nil
		}
		r := newRig(t, store, clock, smtpURL(srv), mail.SMTPOptions{})
		start := clock.Now()
		ids := enqueue(t, store, models.OutboxMessage{Recipient: "a@example.org", Subject: "Bonjour"})
		if n, err := r.runOnce(); n != 1 || err != nil {
			t.Fatalf("first RunOnce = %d, %v", n, err)
		}
		m := mustGet(t, store, ids[0])
		if m.State != models.MailPending || m.Attempts != 1 || !strings.Contains(m.LastError, "451") ||
			!m.NextAttemptAt.Equal(start.Add(30*time.Second)) {
			t.Fatalf("after a 451: %s attempts=%d next=%v error=%q", m.State, m.Attempts, m.NextAttemptAt, m.LastError)
		}
		// Not due yet: nothing is claimed.
		clock.Advance(29 * time.Second)
		if n, err := r.runOnce(); n != 0 || err != nil {
			t.Fatalf("RunOnce before the retry time = %d, %v", n, err)
		}
		clock.Advance(time.Second)
		if n, err := r.runOnce(); n != 1 || err != nil {
			t.Fatalf("retry RunOnce = %d, %v", n, err)
		}
		m = mustGet(t, store, ids[0])
		if m.State != models.MailSent || m.Attempts != 2 || m.LastError != "" {
			t.Fatalf("after the retry: %s attempts=%d error=%q", m.State, m.Attempts, m.LastError)
		}
		if got := len(srv.Messages()); got != 1 {
			t.Fatalf("server accepted %d messages, want 1", got)
		}
	})
}

func TestRepeatedTemporaryFailuresBackOffThenFail(t *testing.T) {
	clock := testutil.NewClock()
	store := testutil.SQLite(t, clock.Now)
	srv := newSMTPServer(t)
	srv.Reply = func(int, string) error { return refuse(421, "Busy") }
	r := newRig(t, store, clock, smtpURL(srv), mail.SMTPOptions{}) // MaxAttempts 4
	ids := enqueue(t, store, models.OutboxMessage{Recipient: "a@example.org", Subject: "Bonjour"})
	for attempt, wait := range []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute} {
		before := clock.Now()
		if _, err := r.runOnce(); err != nil {
			t.Fatal(err)
		}
		m := mustGet(t, store, ids[0])
		if m.State != models.MailPending || m.Attempts != attempt+1 || !m.NextAttemptAt.Equal(before.Add(wait)) {
			t.Fatalf("attempt %d: %s attempts=%d next in %v, want pending next in %v", attempt+1, m.State, m.Attempts, m.NextAttemptAt.Sub(before), wait)
		}
		clock.Advance(wait)
	}
	if _, err := r.runOnce(); err != nil {
		t.Fatal(err)
	}
	if m := mustGet(t, store, ids[0]); m.State != models.MailFailed || m.Attempts != 4 || !strings.Contains(m.LastError, "421") {
		t.Fatalf("after the last attempt: %s attempts=%d error=%q", m.State, m.Attempts, m.LastError)
	}
}

func TestPermanentFailure(t *testing.T) {
	clock := testutil.NewClock()
	testutil.EachStore(t, clock.Now, func(t *testing.T, store *models.Store) {
		srv := newSMTPServer(t)
		srv.Reply = func(int, string) error { return refuse(550, "Mailbox unavailable") }
		r := newRig(t, store, clock, smtpURL(srv), mail.SMTPOptions{})
		ids := enqueue(t, store, models.OutboxMessage{Recipient: "parti@example.org", Subject: "Bonjour"})
		if n, err := r.runOnce(); n != 1 || err != nil {
			t.Fatalf("RunOnce = %d, %v", n, err)
		}
		m := mustGet(t, store, ids[0])
		if m.State != models.MailFailed || m.Attempts != 1 || !strings.Contains(m.LastError, "550") || !strings.Contains(m.LastError, "Mailbox unavailable") {
			t.Fatalf("after a 550: %s attempts=%d error=%q", m.State, m.Attempts, m.LastError)
		}
		// Admins find it among the failed messages; it is never retried by itself.
		failed, n, err := store.ListOutbox(context.Background(), models.OutboxFilter{State: models.MailFailed})
		if err != nil || n != 1 || failed[0].ID != ids[0] {
			t.Fatalf("failed list: %d %v", n, err)
		}
		clock.Advance(24 * time.Hour)
		if n, err := r.runOnce(); n != 0 || err != nil {
			t.Fatalf("a failed message was picked again: %d %v", n, err)
		}
		// An admin's retry puts it back with fresh attempts.
		srv.Reply = nil
		testutil.MustTx(t, store, func(tx *models.Tx) error { return tx.RetryMail(context.Background(), ids[0]) })
		if n, err := r.runOnce(); n != 1 || err != nil {
			t.Fatalf("RunOnce after retry = %d, %v", n, err)
		}
		if m := mustGet(t, store, ids[0]); m.State != models.MailSent || m.Attempts != 1 {
			t.Fatalf("after the admin's retry: %s attempts=%d", m.State, m.Attempts)
		}
	})
}

// The SMTP server is down, then up again: nothing is lost, nothing is sent
// twice, messages leave in order of creation, and the worker waits longer
// and longer between attempts while the server stays down.
func TestServerDownThenUp(t *testing.T) {
	clock := testutil.NewClock()
	testutil.EachStore(t, clock.Now, func(t *testing.T, store *models.Store) {
		srv := newSMTPServer(t)
		srv.Stop()
		r := newRig(t, store, clock, smtpURL(srv), mail.SMTPOptions{})
		var msgs []models.OutboxMessage
		for i := range 4 {
			msgs = append(msgs, models.OutboxMessage{Recipient: fmt.Sprintf("agent%d@example.org", i), Subject: fmt.Sprintf("Message %d", i)})
		}
		ids := enqueue(t, store, msgs...)
		for _, pause := range []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute} {
			before := clock.Now()
			n, err := r.runOnce()
			if n != 0 || err == nil || !strings.Contains(err.Error(), "connect") {
				t.Fatalf("RunOnce with the server down = %d, %v; want a connection error", n, err)
			}
			for _, id := range ids {
				m := mustGet(t, store, id)
				if m.State != models.MailPending || m.Attempts != 0 || !m.NextAttemptAt.Equal(before.Add(pause)) || m.LastError == "" {
					t.Fatalf("message while the server is down: %s attempts=%d next in %v error=%q, want pending, 0 attempts, next in %v",
						m.State, m.Attempts, m.NextAttemptAt.Sub(before), m.LastError, pause)
				}
			}
			// Before the pause is over, the worker does not try.
			clock.Advance(pause - time.Second)
			if n, err := r.runOnce(); n != 0 || err != nil {
				t.Fatalf("RunOnce during the pause = %d, %v", n, err)
			}
			clock.Advance(time.Second)
		}
		srv.Start()
		if n, err := r.runOnce(); n != 4 || err != nil {
			t.Fatalf("RunOnce with the server back = %d, %v", n, err)
		}
		var got []string
		for _, m := range srv.Messages() {
			got = append(got, m.To[0])
		}
		want := []string{"agent0@example.org", "agent1@example.org", "agent2@example.org", "agent3@example.org"}
		if !slices.Equal(got, want) {
			t.Fatalf("delivered %v, want each once in order %v", got, want)
		}
		for _, id := range ids {
			if m := mustGet(t, store, id); m.State != models.MailSent || m.Attempts != 1 {
				t.Fatalf("after the outage: %s attempts=%d", m.State, m.Attempts)
			}
		}
		// Nothing left to send, nothing sent twice.
		clock.Advance(time.Hour)
		if n, err := r.runOnce(); n != 0 || err != nil || len(srv.Messages()) != 4 {
			t.Fatalf("after everything was sent: RunOnce %d %v, server has %d", n, err, len(srv.Messages()))
		}
	})
}

// A worker that claimed a message and died leaves it "sending"; once its
// lease runs out another worker sends it.
func TestClaimOfDeadWorkerIsRetried(t *testing.T) {
	clock := testutil.NewClock()
	testutil.EachStore(t, clock.Now, func(t *testing.T, store *models.Store) {
		srv := newSMTPServer(t)
		r := newRig(t, store, clock, smtpURL(srv), mail.SMTPOptions{})
		ids := enqueue(t, store, models.OutboxMessage{Recipient: "a@example.org", Subject: "Bonjour"})
		// The dead worker's claim.
		claimed, err := store.ClaimDue(context.Background(), 10, 2*time.Minute)
		if err != nil || len(claimed) != 1 {
			t.Fatalf("claim: %d %v", len(claimed), err)
		}
		if n, err := r.runOnce(); n != 0 || err != nil {
			t.Fatalf("RunOnce while the lease holds = %d, %v", n, err)
		}
		clock.Advance(2*time.Minute + time.Second)
		if n, err := r.runOnce(); n != 1 || err != nil {
			t.Fatalf("RunOnce after the lease = %d, %v", n, err)
		}
		if m := mustGet(t, store, ids[0]); m.State != models.MailSent || m.Attempts != 2 {
			t.Fatalf("after the lease: %s attempts=%d", m.State, m.Attempts)
		}
		if len(srv.Messages()) != 1 {
			t.Fatalf("server got %d messages", len(srv.Messages()))
		}
	})
}

func TestStartTLSAndAuthFromURL(t *testing.T) {
	clock := testutil.NewClock()
	store := testutil.SQLite(t, clock.Now)
	cert, roots := selfSigned(t)
	srv := newSMTPServer(t, withSTARTTLS(cert), withAuth(map[string]string{"agora": "s3cret:pa ss"}))
	url := "smtp://agora:s3cret%3Apa%20ss@" + srv.Addr + "?tls=required"
	r := newRig(t, store, clock, url, mail.SMTPOptions{TLSConfig: &tls.Config{RootCAs: roots}})
	enqueue(t, store, models.OutboxMessage{Recipient: "a@example.org", Subject: "Bonjour"})
	if n, err := r.runOnce(); n != 1 || err != nil {
		t.Fatalf("RunOnce = %d, %v", n, err)
	}
	got := srv.Messages()
	if len(got) != 1 || !got[0].TLS || got[0].User != "agora" {
		t.Fatalf("received %+v, want one message over TLS from user agora", got)
	}
}

func TestImplicitTLS(t *testing.T) {
	clock := testutil.NewClock()
	store := testutil.SQLite(t, clock.Now)
	cert, roots := selfSigned(t)
	srv := newSMTPServer(t, withImplicitTLS(cert), withAuth(map[string]string{"agora": "secret"}))
	r := newRig(t, store, clock, "smtps://agora:secret@"+srv.Addr, mail.SMTPOptions{TLSConfig: &tls.Config{RootCAs: roots}})
	enqueue(t, store, models.OutboxMessage{Recipient: "a@example.org", Subject: "Bonjour"})
	if n, err := r.runOnce(); n != 1 || err != nil {
		t.Fatalf("RunOnce = %d, %v", n, err)
	}
	if got := srv.Messages(); len(got) != 1 || !got[0].TLS || got[0].User != "agora" {
		t.Fatalf("received %+v", got)
	}
}

// Connection-level refusals (bad password, untrusted certificate, no
// STARTTLS when required) stop the batch as an outage: nothing is lost.
func TestConnectionRefusalsKeepMessages(t *testing.T) {
	cert, roots := selfSigned(t)
	plain := newSMTPServer(t)
	secure := newSMTPServer(t, withSTARTTLS(cert), withAuth(map[string]string{"agora": "secret"}))
	// Not "localhost": net/smtp sends a password in clear text only there.
	clear := newSMTPServer(t, withListenHost("127.0.0.2"), withAuth(map[string]string{"agora": "secret"}))
	cases := []struct {
		name, url string
		roots     *x509.CertPool
		want      string
	}{
		{"wrong password", "smtp://agora:wrong@" + secure.Addr + "?tls=required", roots, "535"},
		{"untrusted certificate", "smtp://agora:secret@" + secure.Addr, nil, "certificate"},
		{"no STARTTLS offered", "smtp://" + plain.Addr + "?tls=required", nil, "STARTTLS"},
		{"password over clear text", "smtp://agora:secret@" + clear.Addr, nil, "unencrypted"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clock := testutil.NewClock()
			store := testutil.SQLite(t, clock.Now)
			o := mail.SMTPOptions{}
			if c.roots != nil {
				o.TLSConfig = &tls.Config{RootCAs: c.roots}
			}
			r := newRig(t, store, clock, c.url, o)
			ids := enqueue(t, store, models.OutboxMessage{Recipient: "a@example.org", Subject: "Bonjour"})
			n, err := r.runOnce()
			if n != 0 || err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("RunOnce = %d, %v; want an error mentioning %q", n, err, c.want)
			}
			if m := mustGet(t, store, ids[0]); m.State != models.MailPending || m.Attempts != 0 {
				t.Fatalf("message: %s attempts=%d", m.State, m.Attempts)
			}
		})
	}
	if len(plain.Messages())+len(secure.Messages())+len(clear.Messages()) != 0 {
		t.Fatal("a message left despite the refusal")
	}
}

// A server that accepts the connection and then hangs costs at most the
// timeout, at the greeting or after the message's data.
func TestHangingServerTimesOut(t *testing.T) {
	t.Run("greeting", func(t *testing.T) {
		clock := testutil.NewClock()
		store := testutil.SQLite(t, clock.Now)
		r := newRig(t, store, clock, "smtp://"+hangingServer(t), mail.SMTPOptions{Timeout: 300 * time.Millisecond})
		ids := enqueue(t, store, models.OutboxMessage{Recipient: "a@example.org", Subject: "Bonjour"})
		start := time.Now()
		n, err := r.runOnce()
		if took := time.Since(start); took > 10*time.Second {
			t.Fatalf("RunOnce took %v", took)
		}
		if n != 0 || err == nil || !strings.Contains(err.Error(), "timeout") {
			t.Fatalf("RunOnce = %d, %v; want a timeout", n, err)
		}
		if m := mustGet(t, store, ids[0]); m.State != models.MailPending || m.Attempts != 0 {
			t.Fatalf("message: %s attempts=%d", m.State, m.Attempts)
		}
	})
	t.Run("after data", func(t *testing.T) {
		clock := testutil.NewClock()
		store := testutil.SQLite(t, clock.Now)
		srv := newSMTPServer(t)
		srv.HangData = make(chan struct{})
		r := newRig(t, store, clock, smtpURL(srv), mail.SMTPOptions{Timeout: 300 * time.Millisecond})
		ids := enqueue(t, store, models.OutboxMessage{Recipient: "a@example.org", Subject: "Bonjour"},
			models.OutboxMessage{Recipient: "b@example.org", Subject: "Bonjour"})
		start := time.Now()
		n, err := r.runOnce()
		if took := time.Since(start); took > 10*time.Second {
			t.Fatalf("RunOnce took %v", took)
		}
		if n != 1 || err == nil {
			t.Fatalf("RunOnce = %d, %v; want the first message tried and a connection error", n, err)
		}
		// The message in flight counts an attempt (a message that always
		// breaks the connection ends up failed); the next one was not tried.
		if m := mustGet(t, store, ids[0]); m.State != models.MailPending || m.Attempts != 1 || !strings.Contains(m.LastError, "timeout") {
			t.Fatalf("message in flight: %s attempts=%d error=%q", m.State, m.Attempts, m.LastError)
		}
		if m := mustGet(t, store, ids[1]); m.State != models.MailPending || m.Attempts != 0 {
			t.Fatalf("message not tried: %s attempts=%d", m.State, m.Attempts)
		}
	})
	t.Run("shutdown interrupts", func(t *testing.T) {
		clock := testutil.NewClock()
		store := testutil.SQLite(t, clock.Now)
		r := newRig(t, store, clock, "smtp://"+hangingServer(t), mail.SMTPOptions{Timeout: time.Minute})
		ids := enqueue(t, store, models.OutboxMessage{Recipient: "a@example.org", Subject: "Bonjour"})
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		start := time.Now()
		n, err := r.worker.RunOnce(ctx)
		if took := time.Since(start); took > 10*time.Second {
			t.Fatalf("RunOnce took %v after cancel", took)
		}
		if n != 0 || err != nil {
			t.Fatalf("RunOnce = %d, %v; want a quiet stop", n, err)
		}
		// Given back, due at once for the next start.
		if m := mustGet(t, store, ids[0]); m.State != models.MailPending || m.Attempts != 0 || !m.NextAttemptAt.Equal(clock.Now()) {
			t.Fatalf("message after shutdown: %s attempts=%d next=%v", m.State, m.Attempts, m.NextAttemptAt)
		}
	})
}

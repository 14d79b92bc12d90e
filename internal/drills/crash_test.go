//go:build drills

package drills

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dnum-sociaux/agora/internal/harness"
	"github.com/dnum-sociaux/agora/models"
)

// burstResult is what the clients of a write burst were told.
type burstResult struct {
	mu        sync.Mutex
	succeeded map[string]bool // got 303 → /login/sent: the write is promised
	unknown   map[string]bool // sent, but no answer (the server died)
}

// writeBurst has `clients` clients ask for login links for distinct
// addresses (prefix-NNNNN@drill.test), as fast as answers come, and calls
// kill once `killAfter` successes were seen; it returns when every client
// got an error after the kill.
func writeBurst(t *testing.T, a *harness.Agora, prefix string, clients, killAfter int, kill func()) *burstResult {
	t.Helper()
	res := &burstResult{succeeded: map[string]bool{}, unknown: map[string]bool{}}
	client := harness.LoadClient(clients)
	client.Timeout = 10 * time.Second
	csrf := strings.Repeat("d", 43)
	var seq, ok atomic.Int64
	var killed sync.Once
	var wg sync.WaitGroup
	stop := time.Now().Add(30 * time.Second)
	for range clients {
		wg.Go(func() {
			for time.Now().Before(stop) {
				email := fmt.Sprintf("%s-%05d@drill.test", prefix, seq.Add(1))
				form := url.Values{"email": {email}, "csrf_token": {csrf}}
				req, _ := http.NewRequest(http.MethodPost, a.URL("/login"), strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Origin", a.URL(""))
				req.AddCookie(&http.Cookie{Name: "agora_csrf", Value: csrf})
				resp, err := client.Do(req)
				if err != nil {
					res.mu.Lock()
					res.unknown[email] = true
					res.mu.Unlock()
					if !a.Running() {
						return
					}
					continue
				}
				resp.Body.Close()
				res.mu.Lock()
				if resp.StatusCode == http.StatusSeeOther && resp.Header.Get("Location") == "/login/sent" {
					res.succeeded[email] = true
				} else {
					res.unknown[email] = true
				}
				res.mu.Unlock()
				if ok.Add(1) >= int64(killAfter) {
					killed.Do(kill)
				}
			}
		})
	}
	wg.Wait()
	if a.Running() {
		t.Fatalf("the burst ended (30 s) before %d successes; got %d", killAfter, ok.Load())
	}
	return res
}

// TestCrashDuringWriteBurst kills Agora with SIGKILL in the middle of a burst
// of writes (login-link requests: a token and an outbox email in one
// transaction each) while the SMTP server is down, restarts it, and checks:
// every write that got a success answer is in the database, none is there
// twice, and every queued email reaches the SMTP server exactly once.
func TestCrashDuringWriteBurst(t *testing.T) {
	t.Parallel()
	smtp, err := harness.NewSMTPDown()
	if err != nil {
		t.Fatal(err)
	}
	defer smtp.Close()
	a := startAgora(t, map[string]string{"AGORA_SMTP_URL": smtp.URL(), "AGORA_MAIL_BACKOFF": "200ms", "AGORA_MAIL_LEASE": "3s"})

	res := writeBurst(t, a, "crash", 16, 300, func() {
		if err := a.Kill(); err != nil {
			t.Errorf("kill -9: %v", err)
		}
	})
	t.Logf("burst: %d writes answered with success, %d without answer when SIGKILL hit", len(res.succeeded), len(res.unknown))

	// Restart on the same database, the SMTP server back.
	if err := smtp.Up(); err != nil {
		t.Fatal(err)
	}
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	if err := a.WaitReady(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	store := openStore(t, a.DatabaseURL())
	ctx := context.Background()

	// Every promised write is there, once.
	msgs := outbox(t, store, "login")
	byRecipient := map[string]int{}
	for _, m := range msgs {
		byRecipient[m.Recipient]++
	}
	for email := range res.succeeded {
		n, err := store.CountLoginTokensSince(ctx, email, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if n != 1 || byRecipient[email] != 1 {
			t.Errorf("%s was answered with success: %d login links and %d emails in the database, want 1 and 1", email, n, byRecipient[email])
		}
	}
	// Writes without an answer may or may not have committed, never twice.
	for email, n := range byRecipient {
		if n != 1 {
			t.Errorf("%s has %d emails queued, want 1", email, n)
		}
		if !res.succeeded[email] && !res.unknown[email] {
			t.Errorf("%s is in the outbox but was never asked for", email)
		}
	}

	// Every queued email is delivered exactly once after the restart.
	if !smtp.WaitCount(len(msgs), 30*time.Second) {
		t.Fatalf("after restart, %d of %d queued emails reached the SMTP server", smtp.Count(), len(msgs))
	}
	time.Sleep(time.Second) // anything extra would arrive now
	got := map[string]int{}
	for _, r := range smtp.Received() {
		for _, to := range r.To {
			got[to]++
		}
	}
	for email, n := range byRecipient {
		if got[email] != n {
			t.Errorf("%s: delivered %d times, want exactly %d", email, got[email], n)
		}
	}
	if len(got) != len(byRecipient) {
		t.Errorf("the SMTP server got emails for %d addresses, the outbox holds %d", len(got), len(byRecipient))
	}
	for _, m := range outbox(t, store, "login") {
		if m.State != models.MailSent {
			t.Errorf("email %s to %s is %s after delivery", m.ID, m.Recipient, m.State)
		}
	}
	t.Logf("after restart: %d emails queued, %d delivered, each exactly once", len(msgs), smtp.Count())
}

// TestCrashDuringDelivery kills Agora while its worker is delivering to a
// working SMTP server. Delivery is at least once: every queued email
// arrives; a message the server accepted in the instant before the kill,
// but that Agora had not yet recorded as sent, is sent again after the
// lease. The worker sends one message at a time, so at most one message can
// be in that window: the drill checks the duplicates are at most one and
// that they come only from messages that were being sent at the kill.
func TestCrashDuringDelivery(t *testing.T) {
	t.Parallel()
	smtp, err := harness.StartSMTP()
	if err != nil {
		t.Fatal(err)
	}
	defer smtp.Close()
	a := startAgora(t, map[string]string{"AGORA_SMTP_URL": smtp.URL(), "AGORA_MAIL_BACKOFF": "200ms", "AGORA_MAIL_LEASE": "2s"})
	// Kill once the worker is well into delivering the burst's emails.
	res := writeBurst(t, a, "deliver", 8, 200, func() {
		smtp.WaitCount(50, 10*time.Second)
		if err := a.Kill(); err != nil {
			t.Errorf("kill -9: %v", err)
		}
	})
	store := openStore(t, a.DatabaseURL())
	inFlight := map[string]bool{}
	for _, m := range outbox(t, store, "login") {
		if m.State == models.MailSending {
			inFlight[m.ID] = true
		}
	}
	deliveredBefore := smtp.Count()
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	if err := a.WaitReady(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	msgs := outbox(t, store, "login")
	if !eventually(30*time.Second, func() bool {
		for _, m := range outbox(t, store, "login") {
			if m.State != models.MailSent {
				return false
			}
		}
		return true
	}) {
		t.Fatalf("not every email was delivered after the restart")
	}
	for email := range res.succeeded {
		found := false
		for _, m := range msgs {
			found = found || m.Recipient == email
		}
		if !found {
			t.Errorf("%s was answered with success but has no email queued", email)
		}
	}
	perID := map[string]int{} // outbox id → deliveries (Message-ID is <id@host>)
	for _, r := range smtp.Received() {
		id, _, _ := strings.Cut(strings.TrimPrefix(r.MessageID, "<"), "@")
		perID[id]++
	}
	dups := 0
	for _, m := range msgs {
		n := perID[m.ID]
		switch {
		case n == 0:
			t.Errorf("email %s to %s never arrived", m.ID, m.Recipient)
		case n > 1:
			dups++
			if !inFlight[m.ID] {
				t.Errorf("email %s arrived %d times and was not being sent at the kill", m.ID, n)
			}
		}
	}
	if dups > 1 {
		t.Errorf("%d emails arrived twice; at most the one in flight at the kill may", dups)
	}
	t.Logf("%d emails queued, %d delivered before the kill (%d being sent), %d duplicate(s) after restart",
		len(msgs), deliveredBefore, len(inFlight), dups)
}

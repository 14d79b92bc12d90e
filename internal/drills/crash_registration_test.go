//go:build drills

package drills

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dnum-sociaux/agora/internal/harness"
	"github.com/dnum-sociaux/agora/models"
)

// TestCrashDuringRegistrationBurst kills Agora with SIGKILL in the middle of
// a burst of registrations for an event with quotas and workshops (each a
// transaction writing the registration, its answers, its workshop choices
// and its emails), while the SMTP server is down; then restarts it with the
// SMTP server back. It checks: every registration answered with success is
// in the database exactly once, none appears that nobody asked for, the
// seat rules still hold (capacity, quotas, workshop capacities, order), and
// each registration gets its confirmation email — and each workshop place
// its invitation — exactly once at the SMTP server after the restart.
func TestCrashDuringRegistrationBurst(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	smtp, err := harness.NewSMTPDown()
	if err != nil {
		t.Fatal(err)
	}
	defer smtp.Close()
	a, err := harness.NewAgora(agoraBin, filepath.Join(t.TempDir(), "agora"),
		map[string]string{"AGORA_SMTP_URL": smtp.URL(), "AGORA_MAIL_BACKOFF": "200ms", "AGORA_MAIL_LEASE": "3s"})
	if err != nil {
		t.Fatal(err)
	}
	const agents = 400
	seeded, err := harness.Seed(ctx, a.DatabaseURL(), harness.DataSet{Agents: agents, Sessions: agents,
		EventCapacity: 60, Quotas: map[string]int{"DNUM": 10, "DGCS": 5}, Blocks: 2, Rooms: 3})
	if err != nil {
		t.Fatal(err)
	}
	ev := seeded.Event
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = a.Kill()
		if t.Failed() {
			t.Logf("agora log (tail):\n%s", tail(a.Logs(), 6000))
		}
	})
	if err := a.WaitReady(20 * time.Second); err != nil {
		t.Fatal(err)
	}

	// The burst: 16 clients register distinct agents; SIGKILL after 150
	// successes (the event, 60 seats, is full by then: waiting lists exist),
	// at a moment when at least 4 registrations are on their way: killed
	// between two answers, the server could leave none half done.
	client := harness.LoadClient(16)
	client.Timeout = 10 * time.Second
	csrf := strings.Repeat("r", 43)
	var mu sync.Mutex
	succeeded, unknown := map[string]bool{}, map[string]bool{}
	var next, ok, inFlight atomic.Int64
	stop := make(chan struct{}) // the clients are done
	killer := make(chan struct{})
	go func() {
		defer close(killer)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if ok.Load() >= 150 && inFlight.Load() >= 4 {
				if err := a.Kill(); err != nil {
					t.Errorf("kill -9: %v", err)
				}
				return
			}
			time.Sleep(50 * time.Microsecond)
		}
	}()
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for a.Running() {
				i := int(next.Add(1)) - 1
				if i >= agents {
					return
				}
				form := ev.Form(i)
				form.Set("csrf_token", csrf)
				req, _ := http.NewRequest(http.MethodPost, a.URL("/events/"+ev.ID+"/register"), strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Origin", a.URL(""))
				req.AddCookie(&http.Cookie{Name: "agora_csrf", Value: csrf})
				req.AddCookie(&http.Cookie{Name: "agora_session", Value: seeded.AgentSessions[i]})
				email := harness.AgentEmail(i)
				inFlight.Add(1)
				resp, err := client.Do(req)
				inFlight.Add(-1)
				mu.Lock()
				if err == nil && resp.StatusCode == http.StatusSeeOther && resp.Header.Get("Location") == "/events/"+ev.ID {
					succeeded[email] = true
				} else {
					unknown[email] = true
				}
				mu.Unlock()
				if err != nil {
					continue
				}
				resp.Body.Close()
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	close(stop)
	<-killer
	if a.Running() {
		t.Fatalf("the burst ended before the kill: %d successes", ok.Load())
	}
	t.Logf("burst: %d registrations answered with success, %d without an answer when SIGKILL hit", len(succeeded), len(unknown))
	if len(succeeded) < 150 || len(unknown) == 0 {
		t.Fatalf("the kill did not land in the middle of the burst (%d successes, %d unanswered)", len(succeeded), len(unknown))
	}

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

	// Every promised registration is there once; nothing nobody asked for.
	regs, total, err := store.ListRegistrations(ctx, models.RegistrationFilter{EventID: ev.ID, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if total != len(regs) {
		t.Fatalf("listed %d of %d registrations", len(regs), total)
	}
	present := map[string]models.Registration{}
	for _, r := range regs {
		if _, dup := present[r.Email]; dup {
			t.Errorf("%s is registered twice", r.Email)
		}
		present[r.Email] = r
		if !succeeded[r.Email] && !unknown[r.Email] {
			t.Errorf("%s is registered but never asked to be", r.Email)
		}
	}
	for email := range succeeded {
		if _, ok := present[email]; !ok {
			t.Errorf("%s was answered with success but is not registered after the restart", email)
		}
	}
	// The seat rules held through the crash.
	checks, summary, err := harness.VerifyRegistrations(ctx, a.DatabaseURL(), &ev, len(present), 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range checks {
		if !c.OK {
			t.Errorf("after the restart: %s: %s", c.Name, c.Detail)
		}
	}
	t.Log(summary)

	// Every email the registrations queued is delivered exactly once.
	var msgs []models.OutboxMessage
	for _, kind := range []string{"event.registered", "event.workshop_confirmed"} {
		msgs = append(msgs, outbox(t, store, kind)...)
	}
	if !eventually(60*time.Second, func() bool { return smtp.Count() >= len(msgs) }) {
		t.Fatalf("after the restart, %d of %d queued emails reached the SMTP server", smtp.Count(), len(msgs))
	}
	time.Sleep(time.Second) // anything extra would arrive now
	perID, bodies := map[string]int{}, map[string]string{}
	for _, r := range smtp.Received() {
		id, _, _ := strings.Cut(strings.TrimPrefix(r.MessageID, "<"), "@")
		perID[id]++
		bodies[id] = string(r.Body)
	}
	confirmations, places := map[string]int{}, map[string]int{}
	for _, m := range msgs {
		if n := perID[m.ID]; n != 1 {
			t.Errorf("%s email to %s delivered %d times, want exactly once", m.Kind, m.Recipient, n)
		}
		if m.Kind == "event.registered" {
			confirmations[m.Recipient] += perID[m.ID]
		} else {
			places[m.Recipient] += perID[m.ID]
		}
	}
	if smtp.Count() != len(msgs) {
		t.Errorf("the SMTP server got %d messages, the outbox holds %d", smtp.Count(), len(msgs))
	}
	for email, r := range present {
		if confirmations[email] != 1 {
			t.Errorf("%s (%s): %d confirmation emails received, want exactly 1", email, r.State, confirmations[email])
		}
		choices, err := store.RegistrationWorkshops(ctx, r.ID, false)
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		for _, c := range choices {
			if c.State == models.RegConfirmed {
				want++
			}
		}
		if places[email] != want {
			t.Errorf("%s: %d workshop invitations received for %d workshop places", email, places[email], want)
		}
	}
	// A confirmed registration's confirmation carries the invitation.
	for _, m := range msgs {
		r := present[m.Recipient]
		if m.Kind == "event.registered" && r.State == models.RegConfirmed && !strings.Contains(bodies[m.ID], "method=REQUEST") {
			t.Errorf("the confirmation delivered to %s has no text/calendar part with method=REQUEST", m.Recipient)
		}
	}
	t.Logf("after restart: %d registrations (%d answered with success), %d emails queued, each delivered exactly once",
		len(present), len(succeeded), len(msgs))
}

//go:build drills

package drills

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dnum-sociaux/agora/internal/harness"
	"github.com/dnum-sociaux/agora/models"
)

// TestSMTPOutage queues emails while the SMTP server is down, keeps it
// refusing sessions (421) for a while, then brings it back: every email is
// delivered exactly once and in order of creation, the attempts were spaced
// by a growing backoff, and a recipient the server refuses for good (550)
// ends as "failed" on the admin's outbox page without holding up the others.
func TestSMTPOutage(t *testing.T) {
	t.Parallel()
	smtp, err := harness.NewSMTPDown()
	if err != nil {
		t.Fatal(err)
	}
	defer smtp.Close()
	a := startAgora(t, map[string]string{"AGORA_SMTP_URL": smtp.URL(), "AGORA_MAIL_BACKOFF": "250ms"})
	store := openStore(t, a.DatabaseURL())

	// The admin logs in with the link printed at first start (kept for later).
	admin := harness.NewBrowser(a.URL(""))
	if a.AdminLink() == "" {
		t.Fatal("no admin login link on stdout")
	}
	if _, err := admin.LoginWithLink(a.AdminLink()); err != nil {
		t.Fatal(err)
	}

	// 1. Down: twenty emails are queued, in a known order.
	const n = 20
	var want []string
	for i := range n {
		email := fmt.Sprintf("outage-%02d@drill.test", i)
		requestLink(t, a, email)
		want = append(want, email)
	}
	time.Sleep(1500 * time.Millisecond)
	if c := smtp.Count(); c != 0 {
		t.Fatalf("%d emails delivered while the server was down", c)
	}

	// 2. Up but refusing every session with 421 for three seconds.
	smtp.SetMode(harness.SMTPRefuse)
	if err := smtp.Up(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	refused := smtp.Sessions()
	if smtp.Count() != 0 {
		t.Fatal("emails delivered while the server refused sessions")
	}

	// 3. Back: everything arrives, once, in order of creation.
	smtp.SetMode(harness.SMTPAccept)
	if !smtp.WaitCount(n, 30*time.Second) {
		t.Fatalf("%d of %d emails delivered after the server came back", smtp.Count(), n)
	}
	time.Sleep(500 * time.Millisecond)
	got := smtp.Received()
	if len(got) != n {
		t.Fatalf("%d emails delivered, want exactly %d", len(got), n)
	}
	for i, r := range got {
		if len(r.To) != 1 || r.To[0] != want[i] {
			t.Errorf("delivery %d went to %v, want %s (order of creation)", i, r.To, want[i])
		}
	}

	// The worker backed off: the gaps between its attempts grew.
	sessions := smtp.Sessions()
	attempts := sessions[:len(refused)+1] // the refused ones and the first accepted
	var gaps []time.Duration
	for i := 1; i < len(attempts); i++ {
		gaps = append(gaps, attempts[i].Sub(attempts[i-1]))
	}
	t.Logf("attempts while refused, then the accepted one; gaps: %v", gaps)
	if len(gaps) < 2 {
		t.Fatalf("want at least three attempts (two refused, one accepted), got %d sessions", len(attempts))
	}
	for i := 1; i < len(gaps); i++ {
		if gaps[i] < gaps[i-1]*3/2 {
			t.Errorf("attempt gap %d (%s) is not about twice the previous one (%s): no exponential backoff", i, gaps[i], gaps[i-1])
		}
	}
	if !strings.Contains(a.Logs(), "mail delivery paused") {
		t.Error("the log does not say that delivery was paused")
	}

	// 4. A permanent refusal ends as failed, after one attempt, shown to the
	// admin; the next email still leaves.
	smtp.RejectRecipient("refused@drill.test")
	requestLink(t, a, "refused@drill.test")
	requestLink(t, a, "after-refusal@drill.test")
	if !smtp.WaitCount(n+1, 15*time.Second) {
		t.Fatal("the email after a refused one was not delivered")
	}
	var failed models.OutboxMessage
	if !eventually(10*time.Second, func() bool {
		msgs, _, err := store.ListOutbox(t.Context(), models.OutboxFilter{Recipient: "refused@drill.test"})
		if err == nil && len(msgs) == 1 && msgs[0].State == models.MailFailed {
			failed = msgs[0]
			return true
		}
		return false
	}) {
		t.Fatal("the refused email did not end as failed")
	}
	if failed.Attempts != 1 || !strings.Contains(failed.LastError, "550") {
		t.Errorf("refused email: %d attempts, last error %q; want 1 attempt and the 550 reply", failed.Attempts, failed.LastError)
	}
	p, err := admin.Get("/admin/outbox?state=failed")
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "refused@drill.test") || !strings.Contains(p.Body, models.MailFailed.Label()) {
		t.Errorf("the admin's failed emails page (status %d) does not show the refused email", p.Status)
	}
	detail, err := admin.Get("/admin/outbox/" + failed.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(detail.Body, "550") {
		t.Error("the email's admin page does not show the server's refusal")
	}
}

// requestLink asks for a login link for email, as the login form does.
func requestLink(t *testing.T, a *harness.Agora, email string) {
	t.Helper()
	b := harness.NewBrowser(a.URL(""))
	p, err := b.Post("/login", url.Values{"email": {email}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != http.StatusSeeOther {
		t.Fatalf("POST /login for %s: status %d", email, p.Status)
	}
}

package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dnum-sociaux/agora/internal/testutil"
	"github.com/dnum-sociaux/agora/models"
)

// linkMails are the "new management link" emails to email, oldest first.
func (ts *testServer) linkMails(email string) []models.OutboxMessage {
	ts.t.Helper()
	var out []models.OutboxMessage
	for _, m := range ts.outboxTo(email) {
		if m.Kind == "event.link" {
			out = append(out, m)
		}
	}
	return out
}

const linkSentText = "Si une inscription correspond à cette adresse, un courriel vient de lui être envoyé"

// "Retrouver mon lien d'inscription": a registered address gets a new
// working link (the old one still works), every other address gets the same
// answer and nothing; the resend is audited, and the address stays out of
// the logs.
func TestRegistrationLinkResend(t *testing.T) {
	ts := newTestServer(t)
	_, org := ts.loginAs("orga@example.org", models.RoleOrganiser)
	ev := ts.newEvent(org, "Journée produit", 10, models.ModesBoth)
	E := "/events/" + ev.Event.ID
	page := E + "/inscription/lien"
	agent, _ := ts.loginAs("agent@example.org", models.RoleAgent)
	if p := agent.post(E+"/register", url.Values{"mode": {"onsite"}, "q_" + ev.Question.ID: {"Aucun"}}); p.Status != http.StatusSeeOther {
		t.Fatalf("register: %d", p.Status)
	}
	oldLink := ts.manageLink("agent@example.org")
	reg, _ := ts.Store.RegistrationByEmail(context.Background(), ev.Event.ID, "agent@example.org")
	gone, _ := ts.loginAs("parti@example.org", models.RoleAgent)
	gone.post(E+"/register", url.Values{"mode": {"onsite"}, "q_" + ev.Question.ID: {"Aucun"}})
	if p := gone.post(E+"/inscription/cancel", nil); p.Status != http.StatusSeeOther {
		t.Fatalf("cancel: %d", p.Status)
	}

	anon := ts.newClient()
	if p := anon.get(page); p.Status != http.StatusOK || h1(p.Body) != "Retrouver mon lien d'inscription" || !strings.Contains(p.Body, `name="csrf_token"`) {
		t.Fatalf("GET %s: %d %q", page, p.Status, h1(p.Body))
	}
	outbox := ts.count("SELECT COUNT(*) FROM outbox")

	// A registered address, written differently: one email, with a new link that works.
	registered := anon.post(page, url.Values{"email": {" Agent@Example.org "}})
	if registered.Status != http.StatusSeeOther || registered.Header.Get("Location") != page+"/envoye" {
		t.Fatalf("POST registered address: %d %q\n%s", registered.Status, registered.Header.Get("Location"), registered.Body)
	}
	sent := anon.get(page + "/envoye")
	if sent.Status != http.StatusOK || !strings.Contains(sent.Body, linkSentText) {
		t.Fatalf("answer page: %d\n%s", sent.Status, sent.Body)
	}
	mails := ts.linkMails("agent@example.org")
	if len(mails) != 1 || ts.count("SELECT COUNT(*) FROM outbox") != outbox+1 {
		t.Fatalf("%d link emails (outbox %d → %d), want 1", len(mails), outbox, ts.count("SELECT COUNT(*) FROM outbox"))
	}
	m := mails[0]
	link := manageRe.FindString(m.TextBody)
	if link == "" || link == oldLink || !strings.Contains(m.HTMLBody, `href="`+ts.Config.URL(link)+`"`) {
		t.Fatalf("link email (old link %s):\n%s\n%s", oldLink, m.TextBody, m.HTMLBody)
	}
	if m.ICSMethod != "" || m.ICSBody != "" {
		t.Errorf("the link email has a calendar part: %q", m.ICSMethod)
	}
	if !strings.Contains(m.Subject, "Journée produit") || !strings.Contains(m.TextBody, reg.DisplayCode()) {
		t.Errorf("link email: %q\n%s", m.Subject, m.TextBody)
	}
	if p := ts.newClient().get(link); p.Status != http.StatusOK || h1(p.Body) != "Mon inscription" || !strings.Contains(p.Body, "agent@example.org") {
		t.Fatalf("new link: %d %q", p.Status, h1(p.Body))
	}
	// The links sent before stay valid (models.NewRegistrationLink): each email keeps working.
	if p := ts.newClient().get(oldLink); p.Status != http.StatusOK || h1(p.Body) != "Mon inscription" {
		t.Errorf("old link after a resend: %d %q", p.Status, h1(p.Body))
	}
	if n := ts.count("SELECT COUNT(*) FROM audit_log WHERE action = 'registration.link_resend' AND target_type = 'registration' AND target_id = ?", reg.ID); n != 1 {
		t.Errorf("%d audit entries for the resend, want 1", n)
	}
	if n := ts.count("SELECT COUNT(*) FROM audit_log WHERE action = 'registration.link_resend' AND detail LIKE '%@%'"); n != 0 {
		t.Error("the audit entry names the address")
	}

	// A second request later: a second email with its own link.
	if p := anon.post(page, url.Values{"email": {"agent@example.org"}}); p.Status != http.StatusSeeOther {
		t.Fatalf("second request: %d", p.Status)
	}
	if again := ts.linkMails("agent@example.org"); len(again) != 2 || manageRe.FindString(again[1].TextBody) == link {
		t.Fatalf("second request: %d link emails", len(again))
	}
	outbox = ts.count("SELECT COUNT(*) FROM outbox")

	// An unknown address and a cancelled registration: the same answer, nothing sent.
	for _, email := range []string{"inconnu@example.org", "parti@example.org"} {
		p := anon.post(page, url.Values{"email": {email}})
		if p.Status != registered.Status || p.Header.Get("Location") != registered.Header.Get("Location") || p.Body != registered.Body {
			t.Errorf("%s: %d %q, unlike a registered address", email, p.Status, p.Header.Get("Location"))
		}
		if len(ts.linkMails(email)) != 0 {
			t.Errorf("%s got a link", email)
		}
	}
	if n := ts.count("SELECT COUNT(*) FROM outbox"); n != outbox {
		t.Errorf("%d emails queued for unknown or cancelled addresses", n-outbox)
	}

	// Invalid address: a French message under the field, nothing queued.
	p := anon.post(page, url.Values{"email": {"pas-une-adresse"}})
	if p.Status != http.StatusUnprocessableEntity || fieldError(p.Body, "email") != "Saisissez une adresse électronique valide, par exemple prenom.nom@sg.social.gouv.fr." {
		t.Errorf("invalid address: %d %q", p.Status, fieldError(p.Body, "email"))
	}
	if p := anon.post(page, url.Values{"email": {""}}); p.Status != http.StatusUnprocessableEntity || fieldError(p.Body, "email") != "Saisissez une adresse électronique." {
		t.Errorf("empty address: %d %q", p.Status, fieldError(p.Body, "email"))
	}
	// A forged form (another token than the browser's): refused.
	if p := anon.post(page, url.Values{"email": {"agent@example.org"}, "csrf_token": {strings.Repeat("A", 43)}}); p.Status != http.StatusForbidden {
		t.Errorf("forged CSRF token: %d", p.Status)
	}
	if n := ts.count("SELECT COUNT(*) FROM outbox"); n != outbox {
		t.Errorf("%d emails queued by refused forms", n-outbox)
	}

	// No address in the logs: the access log names the route only.
	logged := 0
	for _, line := range ts.Logs.Lines(t) {
		if line["msg"] == "request" && line["route"] == "/events/:id/inscription/lien" {
			logged++
		}
	}
	if logs := ts.Logs.String(); logged < 6 || strings.Contains(logs, "inconnu@example.org") || strings.Contains(logs, "Agent@Example.org") ||
		strings.Contains(logs, "pas-une-adresse") {
		t.Errorf("%d access log lines of the page; an address in the logs:\n%s", logged, logs)
	}

	// Links to the page: the event page of someone not registered, the
	// public programme, a cut management link.
	other, _ := ts.loginAs("autre@example.org", models.RoleAgent)
	if p := other.get(E); !strings.Contains(p.Body, `href="`+page+`"`) {
		t.Error("the event page of someone not registered has no link to the page")
	}
	if p := agent.get(E); strings.Contains(p.Body, `href="`+page+`"`) {
		t.Error("the event page of someone registered links to the page")
	}
	if p := ts.newClient().get(E + "/programme"); !strings.Contains(p.Body, `href="`+page+`"`) {
		t.Error("the public programme has no link to the page")
	}
	if p := ts.newClient().get(link[:len(link)-10]); p.Status != http.StatusNotFound || !strings.Contains(p.Body, `href="`+page+`"`) ||
		!strings.Contains(p.Body, "n&#39;est pas valable") {
		t.Errorf("cut management link: %d\n%s", p.Status, p.Body)
	}
	if p := ts.newClient().get("/inscription/abc"); p.Status != http.StatusNotFound || strings.Contains(p.Body, page) ||
		!strings.Contains(p.Body, "Retrouver mon lien d&#39;inscription") {
		t.Errorf("garbage management link: %d\n%s", p.Status, p.Body)
	}

	// An archived event: the page says links have expired; nothing is sent.
	testutil.MustTx(t, ts.Store, func(tx *models.Tx) error {
		_, err := tx.SetEventStatus(context.Background(), models.NoNotify, models.Actor{}, ev.Event.ID, models.EventArchived)
		return err
	})
	if p := anon.get(page); p.Status != http.StatusGone || !strings.Contains(p.Body, "Les liens d'inscription ont expiré") || strings.Contains(p.Body, `name="email"`) {
		t.Errorf("archived event's page: %d\n%s", p.Status, p.Body)
	}
	if p := anon.post(page, url.Values{"email": {"agent@example.org"}}); p.Status != http.StatusGone || !strings.Contains(p.Body, "ont expiré") {
		t.Errorf("request for an archived event: %d", p.Status)
	}
	if n := len(ts.linkMails("agent@example.org")); n != 2 {
		t.Errorf("%d link emails after a request for an archived event, want still 2", n)
	}
	// A draft event does not exist for visitors.
	draft := ts.newEvent(org, "Brouillon", 10, models.ModesBoth)
	testutil.MustTx(t, ts.Store, func(tx *models.Tx) error {
		_, err := tx.SetEventStatus(context.Background(), models.NoNotify, models.Actor{}, draft.Event.ID, models.EventDraft)
		return err
	})
	if p := anon.get("/events/" + draft.Event.ID + "/inscription/lien"); p.Status != http.StatusNotFound {
		t.Errorf("draft event's page: %d", p.Status)
	}
}

// Requests are limited per address (5 per 15 minutes, registered or not, so
// the limit tells nothing) and per IP (20 per 10 minutes); a refused
// request queues nothing and says in French how long to wait.
func TestRegistrationLinkRateLimits(t *testing.T) {
	setup := func(t *testing.T, env ...string) (*testServer, string) {
		ts := newTestServer(t, env...)
		_, org := ts.loginAs("orga@example.org", models.RoleOrganiser)
		ev := ts.newEvent(org, "Journée produit", 10, models.ModesBoth)
		agent, _ := ts.loginAs("agent@example.org", models.RoleAgent)
		if p := agent.post("/events/"+ev.Event.ID+"/register", url.Values{"mode": {"onsite"}, "q_" + ev.Question.ID: {"Aucun"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("register: %d", p.Status)
		}
		return ts, "/events/" + ev.Event.ID + "/inscription/lien"
	}
	tooMany := func(t *testing.T, p page) {
		t.Helper()
		retry, _ := strconv.Atoi(p.Header.Get("Retry-After"))
		if p.Status != http.StatusTooManyRequests || retry < 1 || h1(p.Body) != "Trop de demandes" ||
			!strings.Contains(p.Body, "Trop de demandes de lien d&#39;inscription") || !strings.Contains(p.Body, "Patientez") {
			t.Fatalf("want a French 429: %d Retry-After %q\n%s", p.Status, p.Header.Get("Retry-After"), p.Body)
		}
	}
	t.Run("per address", func(t *testing.T) {
		ts, page := setup(t)
		for _, email := range []string{"agent@example.org", "inconnu@example.org"} {
			for i := range 5 {
				if p := ts.newClient().post(page, url.Values{"email": {email}}); p.Status != http.StatusSeeOther {
					t.Fatalf("%s, request %d: %d", email, i+1, p.Status)
				}
			}
			outbox := ts.count("SELECT COUNT(*) FROM outbox")
			tooMany(t, ts.newClient().post(page, url.Values{"email": {strings.ToUpper(email)}}))
			if n := ts.count("SELECT COUNT(*) FROM outbox"); n != outbox {
				t.Errorf("%s: a refused request queued %d emails", email, n-outbox)
			}
		}
		if n := len(ts.linkMails("agent@example.org")); n != 5 {
			t.Errorf("%d link emails, want 5", n)
		}
		// The bucket refills.
		ts.Clock.Advance(15 * time.Minute)
		if p := ts.newClient().post(page, url.Values{"email": {"agent@example.org"}}); p.Status != http.StatusSeeOther {
			t.Errorf("after the window: %d", p.Status)
		}
		if n := len(ts.linkMails("agent@example.org")); n != 6 {
			t.Errorf("%d link emails after the window, want 6", n)
		}
	})
	t.Run("per IP", func(t *testing.T) {
		ts, page := setup(t, "AGORA_RATE_LIMIT", "1000")
		c := ts.newClient()
		for i := range 20 {
			if p := c.post(page, url.Values{"email": {"visiteur" + strconv.Itoa(i) + "@example.org"}}); p.Status != http.StatusSeeOther {
				t.Fatalf("request %d: %d", i+1, p.Status)
			}
		}
		tooMany(t, c.post(page, url.Values{"email": {"agent@example.org"}}))
		if n := len(ts.linkMails("agent@example.org")); n != 0 {
			t.Errorf("a request over the IP limit queued %d emails", n)
		}
		// The login form has its own budget.
		if p := c.post("/login", url.Values{"email": {"agent@example.org"}}); p.Status != http.StatusSeeOther {
			t.Errorf("login link after the link requests: %d", p.Status)
		}
	})
}

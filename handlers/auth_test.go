package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestMagicLinkLoginCreatesAccount(t *testing.T) {
	ts := newTestServer(t)
	c := ts.newClient()
	if p := c.post("/login", url.Values{"email": {"Marie.Curie@Sg.Social.Gouv.fr"}}); p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/login/sent" {
		t.Fatalf("POST /login = %d %s", p.Status, p.Header.Get("Location"))
	}
	link := ts.lastLoginLink("marie.curie@sg.social.gouv.fr")

	// A link scanner opens the link: it must not use it.
	scanner := ts.newClient()
	for i := 0; i < 2; i++ {
		if p := scanner.get(link); p.Status != http.StatusOK || !strings.Contains(p.Body, "Se connecter") {
			t.Fatalf("GET link #%d = %d", i+1, p.Status)
		}
	}
	p := c.post(link, nil)
	if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Header.Get("Location"), "/welcome") {
		t.Fatalf("POST link = %d %s, want redirect to /welcome", p.Status, p.Header.Get("Location"))
	}
	if p := c.post("/welcome", url.Values{"name": {"Marie Curie"}, "direction": {"DGS"}}); p.Status != http.StatusSeeOther {
		t.Fatalf("POST /welcome = %d\n%s", p.Status, p.Body)
	}
	if p := c.get("/profile"); p.Status != http.StatusOK || !strings.Contains(p.Body, "Marie Curie") {
		t.Fatalf("GET /profile = %d", p.Status)
	}
	// The link works once.
	if p := ts.newClient().post(link, nil); p.Status != http.StatusGone || !strings.Contains(p.Body, "déjà servi") {
		t.Fatalf("reused link = %d", p.Status)
	}
}

func TestExpiredLoginLink(t *testing.T) {
	ts := newTestServer(t)
	c := ts.newClient()
	c.post("/login", url.Values{"email": {"a@example.org"}})
	link := ts.lastLoginLink("a@example.org")
	ts.Clock.Advance(16 * time.Minute)
	if p := c.post(link, nil); p.Status != http.StatusGone || !strings.Contains(p.Body, "expiré") {
		t.Fatalf("expired link = %d", p.Status)
	}
	if p := c.get("/profile"); p.Status != http.StatusSeeOther {
		t.Fatalf("logged in with an expired link: %d", p.Status)
	}
}

func TestForgedCSRFIsRefused(t *testing.T) {
	ts := newTestServer(t)
	c := ts.newClient()
	p := c.post("/login", url.Values{"email": {"a@example.org"}, "csrf_token": {"forged-token-forged-token-forged-token"}})
	if p.Status != http.StatusForbidden {
		t.Fatalf("forged CSRF = %d, want 403", p.Status)
	}
	if n, _ := ts.Store.CountLoginTokensSince(t.Context(), "a@example.org", time.Time{}); n != 0 {
		t.Fatalf("a forged request created %d login links", n)
	}
}

package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// With the database gone, probes and pages say so: /readyz 503, /healthz
// still 200, and pages and forms that need the database answer the 503 page
// (not a 500), for logged-in and anonymous users alike.
func TestDatabaseUnavailableAnswers503(t *testing.T) {
	ts := newTestServer(t)
	ts.createUser("admin@example.org", "admin")
	admin := ts.newClient()
	admin.login("admin@example.org")
	anon := ts.newClient()
	anon.csrf()
	if err := ts.Store.Close(); err != nil {
		t.Fatal(err)
	}

	if p := anon.get("/readyz"); p.Status != http.StatusServiceUnavailable {
		t.Errorf("/readyz: %d, want 503", p.Status)
	}
	if p := anon.get("/healthz"); p.Status != http.StatusOK {
		t.Errorf("/healthz: %d, want 200", p.Status)
	}
	for _, path := range []string{"/", "/admin/outbox"} {
		p := admin.get(path)
		if p.Status != http.StatusServiceUnavailable || !strings.Contains(p.Body, "Service indisponible") {
			t.Errorf("GET %s: %d, want the 503 page", path, p.Status)
		}
	}
	p := anon.post("/login", url.Values{"email": {"agent@example.org"}})
	if p.Status != http.StatusServiceUnavailable || !strings.Contains(p.Body, "Service indisponible") {
		t.Errorf("POST /login: %d, want the 503 page", p.Status)
	}
	if p.Header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
}

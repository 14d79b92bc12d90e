package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/dnum-sociaux/agora/models"
)

// Every line a request causes carries its request_id, also returned as
// X-Request-ID; access lines name the route pattern, never the raw path
// (which may hold a secret), and carry no email, name or IP address.
func TestRequestLogs(t *testing.T) {
	ts := newTestServer(t)
	ts.createUser("marie.curie@example.org", models.RoleAdmin)
	c := ts.newClient()
	var ids []string
	track := func(p page) page {
		t.Helper()
		id := p.Header.Get("X-Request-Id")
		if id == "" {
			t.Fatal("no X-Request-ID")
		}
		ids = append(ids, id)
		return p
	}
	track(c.get("/login"))
	track(c.post("/login", url.Values{"email": {"marie.curie@example.org"}}))
	link := ts.lastLoginLink("marie.curie@example.org")
	token := strings.TrimPrefix(link, "/login/")
	track(c.get(link))
	track(c.post(link, nil))
	track(c.get("/admin/users?q=marie.curie%40example.org"))
	track(c.get("/secret-" + token))
	// A request id given by a proxy is kept when it looks sane, replaced otherwise.
	req, _ := http.NewRequest(http.MethodGet, ts.URL+"/profile", nil)
	req.Header.Set("X-Request-ID", "proxy-req-0001")
	if p := c.do(req); p.Header.Get("X-Request-Id") != "proxy-req-0001" {
		t.Fatalf("proxy id not kept: %q", p.Header.Get("X-Request-Id"))
	}
	req, _ = http.NewRequest(http.MethodGet, ts.URL+"/profile", nil)
	req.Header.Set("X-Request-ID", "bad id\" with=spaces")
	if p := c.do(req); p.Header.Get("X-Request-Id") == "" || strings.Contains(p.Header.Get("X-Request-Id"), " ") {
		t.Fatalf("bad proxy id kept: %q", p.Header.Get("X-Request-Id"))
	}

	lines := ts.Logs.Lines(t)
	if len(lines) < len(ids) {
		t.Fatalf("%d log lines for %d requests", len(lines), len(ids))
	}
	access := map[string]map[string]any{}
	for _, l := range lines {
		id, _ := l["request_id"].(string)
		if id == "" {
			t.Errorf("log line without request_id: %v", l)
		}
		if l["msg"] == "request" {
			access[id] = l
		}
	}
	wantRoutes := []string{"/login", "/login", "/login/:token", "/login/:token", "/admin/users", "(no route)"}
	for i, id := range ids {
		l, ok := access[id]
		if !ok {
			t.Fatalf("no access line for request %d (%s)", i, id)
		}
		if l["route"] != wantRoutes[i] {
			t.Errorf("request %d: route %v, want %s", i, l["route"], wantRoutes[i])
		}
		for _, k := range []string{"method", "status", "duration_ms"} {
			if _, ok := l[k]; !ok {
				t.Errorf("request %d: no %s", i, k)
			}
		}
	}
	all := ts.Logs.String()
	for _, secret := range []string{"marie.curie", "Nom marie", token, "127.0.0.1", "secret-"} {
		if strings.Contains(all, secret) {
			t.Errorf("logs contain %q", secret)
		}
	}
}

// An error is logged once, with the request id the visitor sees.
func TestErrorLogCarriesRequestID(t *testing.T) {
	ts := newTestServer(t)
	c, _ := ts.loginAs("a@example.org", models.RoleAgent)
	ts.Store.Close()
	p := c.get("/profile")
	if p.Status != http.StatusServiceUnavailable {
		t.Fatalf("profile with the database closed = %d", p.Status)
	}
	id := p.Header.Get("X-Request-Id")
	found := false
	for _, l := range ts.Logs.Lines(t) {
		if l["request_id"] == id && l["level"] == "ERROR" {
			found = true
		}
	}
	if !found {
		t.Fatalf("no error line with request_id %s:\n%s", id, ts.Logs.String())
	}
}

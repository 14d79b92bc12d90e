package handlers_test

import (
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dnum-sociaux/agora/models"
)

// Every state-changing request needs the form's token and must come from
// Agora itself; nothing changes otherwise.
func TestCSRFRejection(t *testing.T) {
	ts := newTestServer(t)
	c, u := ts.loginAs("a@example.org", models.RoleAgent)
	token := c.csrf()
	body := func(tok string) string {
		v := url.Values{"name": {"Nom changé"}, "direction": {"DGS"}}
		if tok != "" {
			v.Set("csrf_token", tok)
		}
		return v.Encode()
	}
	cases := []struct {
		name   string
		body   string
		header map[string]string
		want   int
	}{
		{"missing token", body(""), nil, http.StatusForbidden},
		{"wrong token", body(changedAt(token, 0)), nil, http.StatusForbidden},
		{"token of another browser", body(ts.newClient().csrf()), nil, http.StatusForbidden},
		{"wrong header token", body(""), map[string]string{"X-CSRF-Token": "nope"}, http.StatusForbidden},
		{"cross-site fetch", body(token), map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"other origin", body(token), map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
		{"same-origin with token", body(token), map[string]string{"Sec-Fetch-Site": "same-origin"}, http.StatusSeeOther},
		{"header token", body(""), map[string]string{"X-CSRF-Token": token, "Origin": ts.URL}, http.StatusSeeOther},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			testutilResetName(t, ts, u.ID)
			p := c.postRaw("/profile", "application/x-www-form-urlencoded", strings.NewReader(tc.body), tc.header)
			if p.Status != tc.want {
				t.Fatalf("status %d, want %d\n%s", p.Status, tc.want, h1(p.Body))
			}
			got, _ := ts.Store.UserByID(t.Context(), u.ID)
			changed := got.Name == "Nom changé"
			if changed != (tc.want == http.StatusSeeOther) {
				t.Fatalf("name %q after a %d", got.Name, p.Status)
			}
			if tc.want == http.StatusForbidden && h1(p.Body) != "Accès refusé" {
				t.Fatalf("403 page heading %q", h1(p.Body))
			}
		})
	}
	// Anonymous forms too: no login link is made from a forged request.
	p := ts.newClient().postRaw("/login", "application/x-www-form-urlencoded", strings.NewReader("email=a%40example.org"), nil)
	if p.Status != http.StatusForbidden {
		t.Fatalf("POST /login without token = %d", p.Status)
	}
	if n := ts.count("SELECT COUNT(*) FROM login_tokens"); n != 1 {
		t.Fatalf("%d login links, want only the one of loginAs", n)
	}
}

// changedAt is s with another character at i ("x" in its place was s
// itself once in 64 runs of a random token).
func changedAt(s string, i int) string {
	c := byte('x')
	if s[i] == c {
		c = 'y'
	}
	return s[:i] + string(c) + s[i+1:]
}

func testutilResetName(t *testing.T, ts *testServer, id string) {
	t.Helper()
	_, w := ts.Store.SQL()
	if _, err := w.Exec("UPDATE users SET name = 'Nom initial' WHERE id = ?", id); err != nil {
		t.Fatal(err)
	}
}

func checkSecurityHeaders(t *testing.T, what string, p page, https bool) {
	t.Helper()
	h := p.Header
	csp := h.Get("Content-Security-Policy")
	directives := map[string]string{}
	for _, d := range strings.Split(csp, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
		directives[name] = value
	}
	if s := directives["script-src"]; s != "'self'" {
		t.Errorf("%s: script-src %q, want 'self' only (CSP %q)", what, s, csp)
	}
	if strings.Contains(csp, "unsafe-inline") && strings.Contains(directives["script-src"]+directives["default-src"], "unsafe") {
		t.Errorf("%s: scripts may run inline: %q", what, csp)
	}
	for name, want := range map[string]string{"frame-ancestors": "'none'", "object-src": "'none'", "default-src": "'self'", "base-uri": "'self'"} {
		if directives[name] != want {
			t.Errorf("%s: CSP %s = %q, want %q", what, name, directives[name], want)
		}
	}
	for name, want := range map[string]string{
		"X-Frame-Options":        "DENY",
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "strict-origin-when-cross-origin",
	} {
		if got := h.Get(name); got != want {
			t.Errorf("%s: %s = %q, want %q", what, name, got, want)
		}
	}
	hsts := h.Get("Strict-Transport-Security")
	if https && hsts != "max-age=63072000; includeSubDomains; preload" {
		t.Errorf("%s: HSTS %q on https", what, hsts)
	}
	if !https && hsts != "" {
		t.Errorf("%s: HSTS %q on plain http", what, hsts)
	}
	if h.Get("X-Request-Id") == "" {
		t.Errorf("%s: no X-Request-ID", what)
	}
}

func TestSecurityHeadersOnPagesAndErrors(t *testing.T) {
	for _, https := range []bool{false, true} {
		name := "http"
		env := []string{"AGORA_MAX_BODY_BYTES", "2048", "AGORA_RATE_LIMIT", "30"}
		if https {
			name = "https"
			env = append(env, "AGORA_BASE_URL", "https://agora.example.gouv.fr")
		}
		t.Run(name, func(t *testing.T) {
			ts := newTestServer(t, env...)
			agent := ts.newPlainClient()
			ts.createUser("agent@example.org", models.RoleAgent)
			agent.login("agent@example.org")
			anon := ts.newPlainClient()
			pages := map[string]page{
				"home":      anon.get("/"),
				"login":     anon.get("/login"),
				"profile":   agent.get("/profile"),
				"404":       anon.get("/nulle-part"),
				"403":       agent.get("/admin"),
				"413":       anon.postRaw("/login", "application/x-www-form-urlencoded", strings.NewReader("email="+strings.Repeat("a", 3000)), nil),
				"405":       anon.postRaw("/healthz", "text/plain", nil, nil),
				"bad token": anon.postRaw("/login", "application/x-www-form-urlencoded", strings.NewReader("email=a"), nil),
			}
			wantStatus := map[string]int{"home": 200, "login": 200, "profile": 200, "404": 404, "403": 403, "413": 413, "bad token": 403}
			for what, p := range pages {
				if want, ok := wantStatus[what]; ok && p.Status != want {
					t.Errorf("%s: status %d, want %d", what, p.Status, want)
				}
				if what == "405" {
					continue // probes carry no page headers
				}
				checkSecurityHeaders(t, what, p, https)
			}
			var limited page
			for range 40 {
				if limited = anon.get("/"); limited.Status == http.StatusTooManyRequests {
					break
				}
			}
			if limited.Status != http.StatusTooManyRequests {
				t.Fatalf("no 429 after 40 requests with a limit of 30 per minute")
			}
			checkSecurityHeaders(t, "429", limited, https)
		})
	}
}

// Cookies are HttpOnly and SameSite=Lax, Secure when Agora is served over https.
func TestCookieAttributes(t *testing.T) {
	for _, https := range []bool{false, true} {
		env := []string{}
		if https {
			env = []string{"AGORA_BASE_URL", "https://agora.example.gouv.fr"}
		}
		ts := newTestServer(t, env...)
		ts.createUser("a@example.org", models.RoleAgent)
		c := ts.newPlainClient()
		login := c.get("/login")
		c.post("/login", url.Values{"email": {"a@example.org"}})
		link := c.post(ts.lastLoginLink("a@example.org"), nil)
		csrf, session := setCookies(login)["agora_csrf"], setCookies(link)["agora_session"]
		for name, ck := range map[string]*http.Cookie{"agora_csrf": csrf, "agora_session": session, "agora_flash": setCookies(link)["agora_flash"]} {
			if ck == nil {
				t.Fatalf("https=%v: no %s cookie set", https, name)
			}
			if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure != https || ck.Path != "/" {
				t.Errorf("https=%v: %s HttpOnly=%v SameSite=%v Secure=%v Path=%q", https, name, ck.HttpOnly, ck.SameSite, ck.Secure, ck.Path)
			}
		}
		if session.MaxAge != int((720 * time.Hour).Seconds()) {
			t.Errorf("session cookie Max-Age %d", session.MaxAge)
		}
		if p := c.get("/profile"); p.Status != http.StatusOK {
			t.Fatalf("https=%v: logged-in profile = %d", https, p.Status)
		}
	}
}

// A body over AGORA_MAX_BODY_BYTES gets the 413 page and changes nothing,
// whether its length is announced or not.
func TestBodyOverTheLimit(t *testing.T) {
	ts := newTestServer(t, "AGORA_MAX_BODY_BYTES", "2048")
	c, u := ts.loginAs("a@example.org", models.RoleAgent)
	big := url.Values{"csrf_token": {c.csrf()}, "name": {strings.Repeat("é", 2000)}, "direction": {"DGS"}}.Encode()
	for _, announced := range []bool{true, false} {
		var body io.Reader = strings.NewReader(big)
		if !announced {
			body = io.MultiReader(body) // unknown length: sent chunked
		}
		p := c.postRaw("/profile", "application/x-www-form-urlencoded", body, nil)
		if p.Status != http.StatusRequestEntityTooLarge || h1(p.Body) != "Envoi trop volumineux" {
			t.Fatalf("announced=%v: %d %q", announced, p.Status, h1(p.Body))
		}
	}
	if got, _ := ts.Store.UserByID(t.Context(), u.ID); got.Name != u.Name || got.DirectionCode != "DNUM" {
		t.Fatalf("profile changed: %+v", got)
	}
	// Just under the limit passes.
	small := url.Values{"csrf_token": {c.csrf()}, "name": {"Court"}, "direction": {"DGS"}}
	if p := c.post("/profile", small); p.Status != http.StatusSeeOther {
		t.Fatalf("small body = %d", p.Status)
	}
}

func TestRateLimitPerIP(t *testing.T) {
	ts := newTestServer(t, "AGORA_RATE_LIMIT", "3")
	c := ts.newClient()
	for i := range 3 {
		if p := c.get("/"); p.Status != http.StatusOK {
			t.Fatalf("request %d = %d", i+1, p.Status)
		}
	}
	p := c.get("/")
	retry, _ := strconv.Atoi(p.Header.Get("Retry-After"))
	if p.Status != http.StatusTooManyRequests || retry < 1 || retry > 20 || h1(p.Body) != "Trop de demandes" {
		t.Fatalf("4th request: %d Retry-After %q %q", p.Status, p.Header.Get("Retry-After"), h1(p.Body))
	}
	ts.Clock.Advance(time.Duration(retry) * time.Second)
	if p := c.get("/"); p.Status != http.StatusOK {
		t.Fatalf("after Retry-After: %d", p.Status)
	}
	// Probes are never limited.
	for range 5 {
		if p := c.get("/healthz"); p.Status != http.StatusOK {
			t.Fatalf("/healthz = %d", p.Status)
		}
	}
}

// Login links are limited per IP (20 per 10 minutes) and per address
// (5 per 15 minutes); a refused request queues nothing.
func TestLoginRateLimits(t *testing.T) {
	t.Run("per IP", func(t *testing.T) {
		ts := newTestServer(t, "AGORA_RATE_LIMIT", "1000")
		c := ts.newClient()
		for i := range 20 {
			if p := c.post("/login", url.Values{"email": {"agent" + strconv.Itoa(i) + "@example.org"}}); p.Status != http.StatusSeeOther {
				t.Fatalf("link %d = %d", i+1, p.Status)
			}
		}
		p := c.post("/login", url.Values{"email": {"encore@example.org"}})
		if p.Status != http.StatusTooManyRequests || p.Header.Get("Retry-After") == "" {
			t.Fatalf("21st link from one IP: %d Retry-After %q", p.Status, p.Header.Get("Retry-After"))
		}
		if n := ts.count("SELECT COUNT(*) FROM outbox"); n != 20 {
			t.Fatalf("%d emails queued, want 20", n)
		}
	})
	t.Run("per email", func(t *testing.T) {
		ts := newTestServer(t)
		c := ts.newClient()
		for i := range 5 {
			if p := c.post("/login", url.Values{"email": {"a@example.org"}}); p.Status != http.StatusSeeOther {
				t.Fatalf("link %d = %d", i+1, p.Status)
			}
		}
		p := ts.newClient().post("/login", url.Values{"email": {"A@Example.org"}})
		if p.Status != http.StatusTooManyRequests || p.Header.Get("Retry-After") != "900" {
			t.Fatalf("6th link for one address: %d Retry-After %q", p.Status, p.Header.Get("Retry-After"))
		}
		if n := ts.count("SELECT COUNT(*) FROM outbox"); n != 5 {
			t.Fatalf("%d emails queued, want 5", n)
		}
		ts.Clock.Advance(15*time.Minute + time.Second)
		if p := c.post("/login", url.Values{"email": {"a@example.org"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("after 15 minutes: %d", p.Status)
		}
	})
}

// A logged-in user has their own budget, whatever address they come from.
func TestRateLimitPerUser(t *testing.T) {
	ts := newTestServer(t, "AGORA_RATE_LIMIT", "10")
	ts.createUser("a@example.org", models.RoleAgent)
	home := ts.newClient()
	home.login("a@example.org") // 3 anonymous requests from 127.0.0.1
	// The same browser session from another address (127.0.0.2).
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
	away := &client{ts: ts, http: &http.Client{
		Jar:           home.http.Jar,
		Transport:     &http.Transport{DialContext: dialer.DialContext},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	for i := range 10 {
		c := home
		if i%2 == 1 {
			c = away
		}
		if p := c.get("/profile"); p.Status != http.StatusOK {
			t.Fatalf("request %d = %d", i+1, p.Status)
		}
	}
	if p := away.get("/profile"); p.Status != http.StatusTooManyRequests || p.Header.Get("Retry-After") == "" {
		t.Fatalf("11th request of the user = %d", p.Status)
	}
	// Another visitor from the same address is not affected.
	if p := ts.newClient().get("/"); p.Status != http.StatusOK {
		t.Fatalf("anonymous visitor from 127.0.0.1 = %d", p.Status)
	}
}

package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dnum-sociaux/agora/internal/testutil"
	"github.com/dnum-sociaux/agora/models"
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

// The login form answers the same whether an account exists or not: same
// status, same redirect, same page, and an email in both cases.
func TestLoginAnswersTheSameForKnownAndUnknownEmails(t *testing.T) {
	ts := newTestServer(t)
	ts.createUser("connu@example.org", models.RoleAgent)
	c := ts.newClient()
	known := c.post("/login", url.Values{"email": {"connu@example.org"}})
	unknown := c.post("/login", url.Values{"email": {"inconnu@example.org"}})
	if known.Status != unknown.Status || known.Header.Get("Location") != unknown.Header.Get("Location") || known.Body != unknown.Body {
		t.Fatalf("answers differ: %d %q vs %d %q", known.Status, known.Header.Get("Location"), unknown.Status, unknown.Header.Get("Location"))
	}
	sent := c.get(known.Header.Get("Location"))
	if sent.Status != http.StatusOK || h1(sent.Body) != "Vérifiez votre messagerie" {
		t.Fatalf("sent page: %d %q", sent.Status, h1(sent.Body))
	}
	ts.lastLoginLink("connu@example.org")
	ts.lastLoginLink("inconnu@example.org")
}

func TestLoginDomainAllowList(t *testing.T) {
	ts := newTestServer(t, "AGORA_ALLOWED_EMAIL_DOMAINS", "social.gouv.fr, travail.gouv.fr")
	c := ts.newClient()
	for _, email := range []string{"a@social.gouv.fr", "b@sg.social.gouv.fr", "c@TRAVAIL.gouv.fr"} {
		if p := c.post("/login", url.Values{"email": {email}}); p.Status != http.StatusSeeOther {
			t.Errorf("%s refused: %d %s", email, p.Status, fieldError(p.Body, "email"))
		}
	}
	for _, email := range []string{"a@gmail.com", "a@social.gouv.fr.evil.example", "a@notsocial.gouv.fr"} {
		p := c.post("/login", url.Values{"email": {email}})
		if p.Status != http.StatusUnprocessableEntity || !strings.Contains(fieldError(p.Body, "email"), "domaine autorisé") {
			t.Errorf("%s: %d, error %q", email, p.Status, fieldError(p.Body, "email"))
		}
	}
	if n := ts.count("SELECT COUNT(*) FROM outbox"); n != 3 {
		t.Fatalf("%d emails queued, want 3", n)
	}
	if n := ts.count("SELECT COUNT(*) FROM login_tokens"); n != 3 {
		t.Fatalf("%d login links, want 3", n)
	}
}

// The page asked before logging in is where the link leads; a "next" that
// would leave the site leads home.
func TestLoginNextRedirect(t *testing.T) {
	cases := []struct{ next, want string }{
		{"/admin/audit?action=login", "/admin/audit?action=login"},
		{"/profile", "/profile"},
		{"", "/"},
		{"//evil.example", "/"},
		{"//evil.example/profile", "/"},
		{"/\\evil.example", "/"},
		{"/\t/evil.example", "/"},
		{"https://evil.example/", "/"},
		{"javascript:alert(1)", "/"},
		{"evil.example", "/"},
		{"/%2F%2Fevil.example", "/"},
		{"/profile\r\nSet-Cookie: x=y", "/"},
	}
	for _, tc := range cases {
		t.Run(tc.next, func(t *testing.T) {
			ts := newTestServer(t)
			ts.createUser("admin@example.org", models.RoleAdmin)
			c := ts.newClient()
			// The login page keeps next in its form.
			if tc.next == "/profile" {
				p := c.get("/profile")
				if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/login?next=%2Fprofile" {
					t.Fatalf("anonymous /profile = %d %q", p.Status, p.Header.Get("Location"))
				}
				if p := c.get(p.Header.Get("Location")); !strings.Contains(p.Body, `name="next" value="/profile"`) {
					t.Fatalf("login page lost next:\n%s", p.Body)
				}
			}
			if p := c.post("/login", url.Values{"email": {"admin@example.org"}, "next": {tc.next}}); p.Status != http.StatusSeeOther {
				t.Fatalf("POST /login = %d", p.Status)
			}
			p := c.post(ts.lastLoginLink("admin@example.org"), nil)
			if p.Status != http.StatusSeeOther || p.Header.Get("Location") != tc.want {
				t.Fatalf("after login: %d Location %q, want %q", p.Status, p.Header.Get("Location"), tc.want)
			}
		})
	}
}

func TestReusedAndUnknownLoginLinks(t *testing.T) {
	ts := newTestServer(t)
	c := ts.newClient()
	c.login("a@example.org")
	link := ts.lastLoginLink("a@example.org")
	for _, p := range []page{ts.newClient().get(link), ts.newClient().post(link, nil)} {
		if p.Status != http.StatusGone || h1(p.Body) != "Ce lien de connexion a déjà servi" || !strings.Contains(p.Body, `href="/login"`) {
			t.Fatalf("used link: %d %q", p.Status, h1(p.Body))
		}
	}
	bogus := "/login/" + strings.Repeat("A", 43)
	for _, p := range []page{ts.newClient().get(bogus), ts.newClient().post(bogus, nil)} {
		if p.Status != http.StatusNotFound || h1(p.Body) != "Ce lien de connexion n'est pas valable" || !strings.Contains(p.Body, `href="/login"`) {
			t.Fatalf("unknown link: %d %q", p.Status, h1(p.Body))
		}
	}
	if n := ts.count("SELECT COUNT(*) FROM web_sessions"); n != 1 {
		t.Fatalf("%d sessions, want 1", n)
	}
}

func TestExpiredLoginLinkPage(t *testing.T) {
	ts := newTestServer(t)
	c := ts.newClient()
	c.post("/login", url.Values{"email": {"a@example.org"}})
	link := ts.lastLoginLink("a@example.org")
	ts.Clock.Advance(14*time.Minute + 59*time.Second)
	if p := c.get(link); p.Status != http.StatusOK {
		t.Fatalf("link at 14:59 = %d", p.Status)
	}
	ts.Clock.Advance(time.Second)
	p := c.get(link)
	if p.Status != http.StatusGone || h1(p.Body) != "Ce lien de connexion a expiré" || !strings.Contains(p.Body, `href="/login"`) {
		t.Fatalf("expired link = %d %q", p.Status, h1(p.Body))
	}
	if n := ts.count("SELECT COUNT(*) FROM users"); n != 0 {
		t.Fatalf("an expired link created %d accounts", n)
	}
}

func TestMagicLinkCanBeTurnedOff(t *testing.T) {
	ts := newTestServer(t, "AGORA_MAGIC_LINK", "off")
	c := ts.newClient()
	if p := c.get("/login"); p.Status != http.StatusOK || strings.Contains(p.Body, `name="email"`) {
		t.Fatalf("login page with magic links off offers the email form: %d", p.Status)
	}
	if p := c.post("/login", url.Values{"email": {"a@example.org"}}); p.Status != http.StatusForbidden {
		t.Fatalf("POST /login with magic links off = %d", p.Status)
	}
	// A link made before the switch no longer logs in.
	var token string
	testutil.MustTx(t, ts.Store, func(tx *models.Tx) error {
		var err error
		token, err = tx.CreateLoginToken(t.Context(), "a@example.org", "/", 15*time.Minute)
		return err
	})
	if p := c.post("/login/"+token, nil); p.Status != http.StatusForbidden {
		t.Fatalf("POST link with magic links off = %d", p.Status)
	}
	if n := ts.count("SELECT COUNT(*) FROM outbox") + ts.count("SELECT COUNT(*) FROM web_sessions"); n != 0 {
		t.Fatalf("%d emails or sessions", n)
	}
}

// Logging out ends the session in the database: the old cookie no longer
// opens anything, even replayed by another browser.
func TestLogoutEndsSessionServerSide(t *testing.T) {
	ts := newTestServer(t)
	c, _ := ts.loginAs("a@example.org", models.RoleAgent)
	old := c.cookie("agora_session")
	if old == nil || c.get("/profile").Status != http.StatusOK {
		t.Fatal("not logged in")
	}
	p := c.post("/logout", nil)
	if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/" {
		t.Fatalf("logout = %d %q", p.Status, p.Header.Get("Location"))
	}
	if n := ts.count("SELECT COUNT(*) FROM web_sessions"); n != 0 {
		t.Fatalf("%d sessions left after logout", n)
	}
	replay := ts.newClient()
	u, _ := url.Parse(ts.URL)
	replay.http.Jar.SetCookies(u, []*http.Cookie{{Name: "agora_session", Value: old.Value}})
	if p := replay.get("/profile"); p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Header.Get("Location"), "/login") {
		t.Fatalf("old cookie after logout: %d %q", p.Status, p.Header.Get("Location"))
	}
	if n := ts.count("SELECT COUNT(*) FROM audit_log WHERE action = 'logout'"); n != 1 {
		t.Fatalf("%d logout audit entries", n)
	}
}

func TestSessionIdleAndAbsoluteExpiry(t *testing.T) {
	ts := newTestServer(t, "AGORA_SESSION_IDLE", "1h", "AGORA_SESSION_MAX", "3h")
	c, _ := ts.loginAs("a@example.org", models.RoleAgent)
	// Activity every 50 minutes keeps the session alive…
	for range 3 {
		ts.Clock.Advance(50 * time.Minute)
		if p := c.get("/profile"); p.Status != http.StatusOK {
			t.Fatalf("active session ended at %v: %d", ts.Clock.Now(), p.Status)
		}
	}
	// …but not beyond its absolute lifetime (3 h after login).
	ts.Clock.Advance(30 * time.Minute)
	if p := c.get("/profile"); p.Status != http.StatusSeeOther {
		t.Fatalf("session older than AGORA_SESSION_MAX still works: %d", p.Status)
	}

	c2, _ := ts.loginAs("b@example.org", models.RoleAgent)
	ts.Clock.Advance(time.Hour + time.Second)
	if p := c2.get("/profile"); p.Status != http.StatusSeeOther {
		t.Fatalf("session idle longer than AGORA_SESSION_IDLE still works: %d", p.Status)
	}
}

// The link asked for on one device logs in on another (the agent asks on
// a desktop, opens the email on a phone): only the POST matters.
func TestLinkWorksFromAnotherBrowser(t *testing.T) {
	ts := newTestServer(t)
	ts.createUser("a@example.org", models.RoleAgent)
	ts.newClient().post("/login", url.Values{"email": {"a@example.org"}})
	phone := ts.newClient()
	link := ts.lastLoginLink("a@example.org")
	if p := phone.get(link); p.Status != http.StatusOK {
		t.Fatalf("GET link = %d", p.Status)
	}
	if p := phone.post(link, nil); p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/" {
		t.Fatalf("POST link = %d %q", p.Status, p.Header.Get("Location"))
	}
	if p := phone.get("/profile"); p.Status != http.StatusOK {
		t.Fatalf("profile on the other browser = %d", p.Status)
	}
}

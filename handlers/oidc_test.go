package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/dnum-sociaux/agora/internal/oidctest"
	"github.com/dnum-sociaux/agora/internal/testutil"
	"github.com/dnum-sociaux/agora/models"
)

// newProConnectServer starts Agora configured with a test provider.
func newProConnectServer(t *testing.T, env ...string) (*testServer, *oidctest.Provider) {
	t.Helper()
	p := oidctest.New(t)
	p.UserinfoJWT(true) // ProConnect's way
	env = append([]string{"AGORA_OIDC_ISSUER", p.Issuer(), "AGORA_OIDC_CLIENT_ID", p.ClientID, "AGORA_OIDC_CLIENT_SECRET", p.ClientSecret}, env...)
	return newTestServer(t, env...), p
}

// noRedirect is a client for the provider's pages (the browser's other tab).
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// proconnectStart clicks the button and lets the provider answer; it
// returns the callback path and query the provider sends the browser to.
func (c *client) proconnectStart(authPrefix, next string) string {
	c.ts.t.Helper()
	p := c.post("/login/proconnect", url.Values{"next": {next}})
	loc := p.Header.Get("Location")
	if p.Status != http.StatusSeeOther || !strings.HasPrefix(loc, authPrefix) {
		c.ts.t.Fatalf("POST /login/proconnect = %d %q\n%s", p.Status, loc, p.Body)
	}
	resp, err := noRedirect.Get(loc)
	if err != nil {
		c.ts.t.Fatal(err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || back.Path != "/login/proconnect/callback" {
		c.ts.t.Fatalf("provider authorize = %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return back.RequestURI()
}

// proconnect logs this browser in through the provider; it returns Agora's
// answer to the callback.
func (c *client) proconnect(p *oidctest.Provider, next string) page {
	c.ts.t.Helper()
	return c.get(c.proconnectStart(p.URL+"/authorize?", next))
}

func (ts *testServer) userByEmail(email string) models.User {
	ts.t.Helper()
	u, err := ts.Store.UserByEmail(context.Background(), email)
	if err != nil {
		ts.t.Fatalf("user %s: %v", email, err)
	}
	return u
}

func TestProConnectLoginCreatesAccount(t *testing.T) {
	ts, p := newProConnectServer(t)
	c := ts.newClient()
	got := c.proconnect(p, "/profile")
	if got.Status != http.StatusSeeOther || got.Header.Get("Location") != "/profile" {
		t.Fatalf("callback = %d %q\n%s", got.Status, got.Header.Get("Location"), got.Body)
	}
	u := ts.userByEmail("marie.curie@sg.social.gouv.fr")
	if u.Name != "Marie Curie" || u.DirectionCode != "DNUM" || u.Role != models.RoleAgent {
		t.Fatalf("account = %+v, want Marie Curie of DNUM (from organizational_unit)", u)
	}
	if page := c.get("/profile"); page.Status != http.StatusOK || !strings.Contains(page.Body, "connecté·e avec ProConnect") {
		t.Fatalf("GET /profile = %d", page.Status)
	}
	ids, _ := ts.Store.IdentitiesOfUser(context.Background(), u.ID)
	if len(ids) != 1 || ids[0].Subject != "sub-0001" || ids[0].Issuer != p.Issuer() {
		t.Fatalf("identities = %+v", ids)
	}
	entries, _, _ := ts.Store.ListAudit(context.Background(), models.AuditFilter{ActorID: u.ID})
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action+":"+e.Detail)
	}
	if !strings.Contains(strings.Join(actions, ","), "login:login.proconnect") {
		t.Fatalf("audit = %v", actions)
	}
}

func TestProConnectUnknownDirectionIsAskedOnWelcome(t *testing.T) {
	ts, p := newProConnectServer(t)
	p.SetUser(oidctest.User{Subject: "s2", Email: "paul@sg.social.gouv.fr", GivenName: "Paul", UsualName: "Langevin", OrganizationalUnit: "Bureau des affaires courantes"})
	c := ts.newClient()
	got := c.proconnect(p, "/")
	if got.Status != http.StatusSeeOther || !strings.HasPrefix(got.Header.Get("Location"), "/welcome") {
		t.Fatalf("callback = %d %q", got.Status, got.Header.Get("Location"))
	}
	if w := c.get("/welcome"); w.Status != http.StatusOK || !strings.Contains(w.Body, "Paul Langevin") {
		t.Fatalf("welcome = %d (name should be prefilled)", w.Status)
	}
}

func TestProConnectLinksExistingAccount(t *testing.T) {
	ts, p := newProConnectServer(t)
	existing := ts.createUser("marie.curie@sg.social.gouv.fr", models.RoleOrganiser)
	c := ts.newClient()
	if got := c.proconnect(p, "/"); got.Status != http.StatusSeeOther {
		t.Fatalf("callback = %d\n%s", got.Status, got.Body)
	}
	ids, _ := ts.Store.IdentitiesOfUser(context.Background(), existing.ID)
	if len(ids) != 1 || ids[0].Subject != "sub-0001" {
		t.Fatalf("the existing account was not linked: %+v", ids)
	}
	if u := ts.userByEmail(existing.Email); u.Role != models.RoleOrganiser || u.Name != existing.Name {
		t.Fatalf("linking changed the account: %+v", u)
	}
	// The provider now gives another address for the same person: the
	// subject still finds the same account, and no account is created.
	p.SetUser(oidctest.User{Subject: "sub-0001", Email: "m.curie@sg.social.gouv.fr", GivenName: "Marie", UsualName: "Curie"})
	c2 := ts.newClient()
	if got := c2.proconnect(p, "/profile"); got.Status != http.StatusSeeOther || got.Header.Get("Location") != "/profile" {
		t.Fatalf("second login = %d %q", got.Status, got.Header.Get("Location"))
	}
	if page := c2.get("/profile"); !strings.Contains(page.Body, existing.Email) {
		t.Fatalf("second login opened another account:\n%s", page.Body)
	}
	if _, err := ts.Store.UserByEmail(context.Background(), "m.curie@sg.social.gouv.fr"); err == nil {
		t.Fatal("an account was created for the new address")
	}
}

func TestProConnectReplayedState(t *testing.T) {
	ts, p := newProConnectServer(t)
	c := ts.newClient()
	callback := c.proconnectStart(p.URL+"/authorize?", "/")
	if got := c.get(callback); got.Status != http.StatusSeeOther {
		t.Fatalf("first callback = %d", got.Status)
	}
	// The same answer replayed in the same browser…
	if got := c.get(callback); got.Status != http.StatusBadRequest || !strings.Contains(got.Body, "Connexion non reconnue") {
		t.Fatalf("replayed callback = %d\n%s", got.Status, got.Body)
	}
	// …or by someone who also copied the state cookie: the state is single-use.
	thief := ts.newClient()
	u, _ := url.Parse(ts.URL)
	cb, _ := url.Parse(callback)
	thief.http.Jar.SetCookies(u, []*http.Cookie{{Name: "agora_oidc_state", Value: cb.Query().Get("state")}})
	got := thief.get(callback)
	if got.Status != http.StatusBadRequest || !strings.Contains(got.Body, "déjà servi") {
		t.Fatalf("replayed state with cookie = %d\n%s", got.Status, got.Body)
	}
	if thief.get("/profile").Status != http.StatusSeeOther {
		t.Fatal("the replay logged in")
	}
	// A callback from a login started in another browser is refused too.
	other := ts.newClient()
	cb2 := other.proconnectStart(p.URL+"/authorize?", "/")
	if got := ts.newClient().get(cb2); got.Status != http.StatusBadRequest {
		t.Fatalf("callback in a browser that did not start the login = %d", got.Status)
	}
	if p.TokenCalls() != 1 {
		t.Fatalf("the provider was asked %d times for tokens, want 1 (refused callbacks must not use the code)", p.TokenCalls())
	}
}

// failedLogin checks an error page: status, French message, a way back to
// the login page, the request id shown and logged, and nobody logged in.
func failedLogin(t *testing.T, ts *testServer, c *client, got page, status int, text string) {
	t.Helper()
	if got.Status != status || !strings.Contains(got.Body, text) || !strings.Contains(got.Body, `href="/login"`) {
		t.Fatalf("callback = %d, want %d with %q and a link back\n%s", got.Status, status, text, got.Body)
	}
	rid := got.Header.Get("X-Request-ID")
	if rid == "" || !strings.Contains(got.Body, rid) {
		t.Fatalf("request id %q not shown on the page", rid)
	}
	found := false
	for _, line := range strings.Split(ts.Logs.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "proconnect login failed" && rec["request_id"] == rid {
			found = true
		}
	}
	if !found {
		t.Fatalf("no log line for the failure with request_id %s:\n%s", rid, ts.Logs.String())
	}
	if c.get("/profile").Status != http.StatusSeeOther {
		t.Fatal("logged in after a failed login")
	}
}

func TestProConnectFailures(t *testing.T) {
	for _, tc := range []struct {
		name   string
		env    []string
		knob   func(p *oidctest.Provider)
		status int
		text   string
	}{
		{"wrong nonce", nil, func(p *oidctest.Provider) { p.WrongNonce(true) }, http.StatusBadGateway, "pas pu être vérifiée"},
		{"bad signature", nil, func(p *oidctest.Provider) { p.BadSignature(true) }, http.StatusBadGateway, "pas pu être vérifiée"},
		{"bad userinfo signature", nil, func(p *oidctest.Provider) { p.BadSignatureUserinfoOnly(true) }, http.StatusBadGateway, "pas pu être vérifiée"},
		{"expired code", nil, func(p *oidctest.Provider) { p.ExpireCodes(true) }, http.StatusBadRequest, "Connexion expirée"},
		{"provider down at the token endpoint", nil, func(p *oidctest.Provider) { p.Down(true) }, http.StatusBadGateway, "ProConnect ne répond pas"},
		{"unknown domain", []string{"AGORA_ALLOWED_EMAIL_DOMAINS", "travail.gouv.fr"}, nil, http.StatusForbidden, "domaine autorisé"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts, p := newProConnectServer(t, tc.env...)
			c := ts.newClient()
			callback := c.proconnectStart(p.URL+"/authorize?", "/")
			if tc.knob != nil {
				tc.knob(p)
			}
			failedLogin(t, ts, c, c.get(callback), tc.status, tc.text)
			if _, err := ts.Store.UserByEmail(context.Background(), "marie.curie@sg.social.gouv.fr"); err == nil {
				t.Fatal("an account was created by a failed login")
			}
		})
	}
}

// A login that took more than 10 minutes has expired; the provider is not asked.
func TestProConnectSlowLogin(t *testing.T) {
	ts, p := newProConnectServer(t)
	c := ts.newClient()
	callback := c.proconnectStart(p.URL+"/authorize?", "/")
	ts.Clock.Advance(11 * time.Minute)
	failedLogin(t, ts, c, c.get(callback), http.StatusBadRequest, "plus de 10 minutes")
	if p.TokenCalls() != 0 {
		t.Fatalf("the provider was asked %d times for tokens after the login expired", p.TokenCalls())
	}
}

func TestProConnectDeniedConsent(t *testing.T) {
	ts, p := newProConnectServer(t)
	p.Deny(true)
	c := ts.newClient()
	failedLogin(t, ts, c, c.get(c.proconnectStart(p.URL+"/authorize?", "/")), http.StatusForbidden, "Connexion annulée")
}

func TestProConnectProviderDownAtStart(t *testing.T) {
	ts, p := newProConnectServer(t)
	p.Down(true)
	c := ts.newClient()
	got := c.post("/login/proconnect", nil)
	failedLogin(t, ts, c, got, http.StatusBadGateway, "ProConnect ne répond pas")
	// The login page still works, with the magic link.
	if lp := c.get("/login"); lp.Status != http.StatusOK || !strings.Contains(lp.Body, "Recevoir le lien") {
		t.Fatalf("login page while the provider is down = %d", lp.Status)
	}
}

func TestProConnectLogout(t *testing.T) {
	ts, p := newProConnectServer(t)
	c := ts.newClient()
	if got := c.proconnect(p, "/"); got.Status != http.StatusSeeOther {
		t.Fatalf("login = %d", got.Status)
	}
	out := c.post("/logout", nil)
	loc, _ := url.Parse(out.Header.Get("Location"))
	if out.Status != http.StatusSeeOther || !strings.HasPrefix(loc.String(), p.URL+"/session/end?") {
		t.Fatalf("POST /logout = %d %q, want the provider's end-session endpoint", out.Status, loc)
	}
	q := loc.Query()
	if q.Get("id_token_hint") == "" || q.Get("state") == "" || q.Get("post_logout_redirect_uri") != ts.Config.URL("/logout/done") {
		t.Fatalf("end-session query = %v", q)
	}
	// Agora's session is over before the provider is even reached.
	if c.get("/profile").Status != http.StatusSeeOther {
		t.Fatal("still logged in to Agora after logout")
	}
	resp, err := noRedirect.Get(loc.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || back.Path != "/logout/done" {
		t.Fatalf("provider logout = %d %q", resp.StatusCode, back)
	}
	done := c.get(back.RequestURI())
	if done.Status != http.StatusSeeOther || done.Header.Get("Location") != "/" {
		t.Fatalf("GET /logout/done = %d %q", done.Status, done.Header.Get("Location"))
	}
	if home := c.get("/"); !strings.Contains(home.Body, "Agora et de ProConnect") {
		t.Fatalf("no logout message on the home page:\n%s", home.Body)
	}
	if n := len(p.EndSessions()); n != 1 {
		t.Fatalf("provider saw %d logouts", n)
	}
	// A magic-link session logs out of Agora only.
	ml := ts.newClient()
	ml.login("agent@example.org")
	if out := ml.post("/logout", nil); out.Status != http.StatusSeeOther || out.Header.Get("Location") != "/" {
		t.Fatalf("magic-link logout = %d %q", out.Status, out.Header.Get("Location"))
	}
}

func TestLoginPageWithProConnect(t *testing.T) {
	ts, p := newProConnectServer(t)
	c := ts.newClient()
	lp := c.get("/login?next=/profile")
	for _, want := range []string{`action="/login/proconnect"`, `class="fr-connect fr-connect--pro"`, "S’identifier avec", "ProConnect</span>",
		"Qu’est-ce que ProConnect ?", `href="https://www.proconnect.gouv.fr/"`, `name="next" value="/profile"`, "Recevoir le lien"} {
		if !strings.Contains(lp.Body, want) {
			t.Errorf("login page lacks %q", want)
		}
	}
	if strings.Index(lp.Body, "fr-connect") > strings.Index(lp.Body, "Recevoir le lien") {
		t.Error("the ProConnect button must come before the magic-link form")
	}
	if csp := lp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' "+p.URL) {
		t.Errorf("CSP form-action does not allow the provider: %s", csp)
	}
	// Without ProConnect, no button.
	if plain := newTestServer(t).newClient().get("/login"); strings.Contains(plain.Body, "fr-connect") {
		t.Error("ProConnect button shown while not configured")
	}
	if got := newTestServer(t).newClient().post("/login/proconnect", nil); got.Status != http.StatusNotFound {
		t.Errorf("POST /login/proconnect without configuration = %d", got.Status)
	}
}

func TestMagicLinkOff(t *testing.T) {
	ts, p := newProConnectServer(t, "AGORA_MAGIC_LINK", "off")
	c := ts.newClient()
	// A link sent before the magic link was turned off…
	var token string
	testutil.MustTx(t, ts.Store, func(tx *models.Tx) error {
		var err error
		token, err = tx.CreateLoginToken(context.Background(), "a@example.org", "/", time.Hour)
		return err
	})
	link := "/login/" + token
	lp := c.get("/login")
	if strings.Contains(lp.Body, `action="/login"`) || !strings.Contains(lp.Body, "fr-connect") {
		t.Fatalf("with AGORA_MAGIC_LINK=off the email form must be hidden and ProConnect shown:\n%s", lp.Body)
	}
	if got := c.post("/login", url.Values{"email": {"a@example.org"}}); got.Status != http.StatusForbidden {
		t.Fatalf("POST /login = %d, want 403", got.Status)
	}
	// …no longer opens a session.
	if got := c.post(link, nil); got.Status != http.StatusForbidden {
		t.Fatalf("POST %s = %d, want 403", link, got.Status)
	}
	if got := c.get(link); got.Status != http.StatusForbidden {
		t.Fatalf("GET link = %d, want 403", got.Status)
	}
	if c.get("/profile").Status != http.StatusSeeOther {
		t.Fatal("logged in by a magic link while they are off")
	}
	// ProConnect still works.
	if got := c.proconnect(p, "/"); got.Status != http.StatusSeeOther {
		t.Fatalf("ProConnect login = %d", got.Status)
	}
}

// mockoidc is an independent provider implementation (userinfo as JSON).
func TestProConnectAgainstMockOIDC(t *testing.T) {
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	cfg := m.Config()
	ts := newTestServer(t, "AGORA_OIDC_ISSUER", cfg.Issuer, "AGORA_OIDC_CLIENT_ID", cfg.ClientID,
		"AGORA_OIDC_CLIENT_SECRET", cfg.ClientSecret, "AGORA_OIDC_SCOPES", "openid email")
	m.QueueUser(&mockoidc.MockUser{Subject: "mock-7", Email: "jean.moulin@sg.social.gouv.fr"})
	c := ts.newClient()
	got := c.get(c.proconnectStart(m.AuthorizationEndpoint()+"?", "/"))
	if got.Status != http.StatusSeeOther || !strings.HasPrefix(got.Header.Get("Location"), "/welcome") {
		t.Fatalf("callback = %d %q\n%s", got.Status, got.Header.Get("Location"), got.Body)
	}
	u := ts.userByEmail("jean.moulin@sg.social.gouv.fr")
	if ids, _ := ts.Store.IdentitiesOfUser(context.Background(), u.ID); len(ids) != 1 || ids[0].Subject != "mock-7" {
		t.Fatalf("identities = %+v", ids)
	}
	// No end-session endpoint at mockoidc: logout stays within Agora.
	if out := c.post("/logout", nil); out.Header.Get("Location") != "/" {
		t.Fatalf("logout = %q", out.Header.Get("Location"))
	}
}

package oidc_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/dnum-sociaux/agora/internal/oidc"
	"github.com/dnum-sociaux/agora/internal/oidctest"
)

const redirect = "http://agora.test/login/proconnect/callback"

var scopes = []string{"openid", "email", "given_name", "usual_name", "uid", "siret", "organizational_unit"}

func newClient(p *oidctest.Provider) *oidc.Client {
	return oidc.New(oidc.Config{Issuer: p.Issuer(), ClientID: p.ClientID, ClientSecret: p.ClientSecret, Scopes: scopes, RedirectURL: redirect})
}

// authorize plays the browser: it opens the authorization URL and returns
// the query the provider sends back to Agora's callback.
func authorize(t *testing.T, authURL string) url.Values {
	t.Helper()
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || !strings.HasPrefix(loc.String(), redirect) {
		t.Fatalf("authorize = %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc.Query()
}

func login(t *testing.T, c *oidc.Client, nonce string) (oidc.Identity, error) {
	t.Helper()
	ctx := context.Background()
	u, err := c.AuthCodeURL(ctx, "state-1", nonce, "verifier-verifier-verifier-verifier-verifier-1")
	if err != nil {
		t.Fatal(err)
	}
	au, _ := url.Parse(u)
	q := au.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("nonce") != nonce || q.Get("state") != "state-1" ||
		q.Get("scope") != strings.Join(scopes, " ") {
		t.Fatalf("authorization URL lacks PKCE, nonce, state or scopes: %s", u)
	}
	back := authorize(t, u)
	if back.Get("state") != "state-1" {
		t.Fatalf("state came back as %q", back.Get("state"))
	}
	return c.Exchange(ctx, back.Get("code"), "verifier-verifier-verifier-verifier-verifier-1", nonce)
}

func TestLoginWithSignedUserinfo(t *testing.T) {
	p := oidctest.New(t)
	p.UserinfoJWT(true)
	c := newClient(p)
	id, err := login(t, c, "nonce-1")
	if err != nil {
		t.Fatal(err)
	}
	if id.Subject != "sub-0001" || id.Email != "marie.curie@sg.social.gouv.fr" || id.Name() != "Marie Curie" ||
		id.OrganizationalUnit != "DNUM/SDPSN" || id.SIRET != "11000101300017" || id.IDToken == "" || id.Issuer != p.Issuer() || id.ACR != "eidas1" {
		t.Fatalf("identity = %+v", id)
	}
	if got := c.Origins(); len(got) != 1 || got[0] != p.URL {
		t.Fatalf("origins = %v", got)
	}
	lo, ok := c.LogoutURL(context.Background(), id.IDToken, "st", "http://agora.test/logout/done")
	if !ok || !strings.HasPrefix(lo, p.URL+"/session/end?") || !strings.Contains(lo, "id_token_hint=") {
		t.Fatalf("logout URL = %q %v", lo, ok)
	}
}

func TestLoginWithJSONUserinfo(t *testing.T) {
	p := oidctest.New(t)
	if _, err := login(t, newClient(p), "nonce-2"); err != nil {
		t.Fatal(err)
	}
}

func TestLoginFailures(t *testing.T) {
	for _, tc := range []struct {
		name string
		knob func(p *oidctest.Provider)
		want error
	}{
		{"bad signature on the id token", func(p *oidctest.Provider) { p.BadSignature(true) }, oidc.ErrVerification},
		{"bad signature on the userinfo jwt only", nil, oidc.ErrVerification},
		{"wrong nonce", func(p *oidctest.Provider) { p.WrongNonce(true) }, oidc.ErrVerification},
		{"expired code", func(p *oidctest.Provider) { p.ExpireCodes(true) }, oidc.ErrInvalidGrant},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := oidctest.New(t)
			p.UserinfoJWT(true)
			c := newClient(p)
			ctx := context.Background()
			u, _ := c.AuthCodeURL(ctx, "s", "n", "verifier-verifier-verifier-verifier-verifier-2")
			back := authorize(t, u)
			if tc.knob != nil {
				tc.knob(p)
			} else {
				p.BadSignatureUserinfoOnly(true)
			}
			_, err := c.Exchange(ctx, back.Get("code"), "verifier-verifier-verifier-verifier-verifier-2", "n")
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestWrongPKCEVerifierIsRefused(t *testing.T) {
	p := oidctest.New(t)
	c := newClient(p)
	ctx := context.Background()
	u, _ := c.AuthCodeURL(ctx, "s", "n", "verifier-verifier-verifier-verifier-verifier-3")
	back := authorize(t, u)
	if _, err := c.Exchange(ctx, back.Get("code"), "another-verifier-another-verifier-another-4", "n"); !errors.Is(err, oidc.ErrInvalidGrant) {
		t.Fatalf("err = %v", err)
	}
}

func TestProviderDown(t *testing.T) {
	p := oidctest.New(t)
	p.Down(true)
	c := newClient(p)
	if _, err := c.AuthCodeURL(context.Background(), "s", "n", "v"); !errors.Is(err, oidc.ErrUnavailable) {
		t.Fatalf("discovery while down: %v", err)
	}
	if _, ok := c.LogoutURL(context.Background(), "tok", "s", "http://x"); ok {
		t.Fatal("logout URL without discovery")
	}
}

func TestMisconfiguredClientIsRejected(t *testing.T) {
	p := oidctest.New(t)
	c := oidc.New(oidc.Config{Issuer: p.Issuer(), ClientID: p.ClientID, ClientSecret: "wrong", Scopes: scopes, RedirectURL: redirect})
	u, _ := c.AuthCodeURL(context.Background(), "s", "n", "verifier-verifier-verifier-verifier-verifier-5")
	back := authorize(t, u)
	if _, err := c.Exchange(context.Background(), back.Get("code"), "verifier-verifier-verifier-verifier-verifier-5", "n"); !errors.Is(err, oidc.ErrRejected) {
		t.Fatalf("err = %v", err)
	}
}

// mockoidc is a second, independent provider implementation: its
// userinfo is plain JSON.
func TestLoginAgainstMockOIDC(t *testing.T) {
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	m.QueueUser(&mockoidc.MockUser{Subject: "mock-42", Email: "jean.moulin@sg.social.gouv.fr"})
	cfg := m.Config()
	c := oidc.New(oidc.Config{Issuer: cfg.Issuer, ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
		Scopes: []string{"openid", "email"}, RedirectURL: redirect})
	ctx := context.Background()
	u, err := c.AuthCodeURL(ctx, "state-m", "nonce-m", "verifier-verifier-verifier-verifier-verifier-m")
	if err != nil {
		t.Fatal(err)
	}
	back := authorize(t, u)
	id, err := c.Exchange(ctx, back.Get("code"), "verifier-verifier-verifier-verifier-verifier-m", "nonce-m")
	if err != nil {
		t.Fatal(err)
	}
	if id.Subject != "mock-42" || id.Email != "jean.moulin@sg.social.gouv.fr" {
		t.Fatalf("identity = %+v", id)
	}
	// mockoidc publishes no end-session endpoint: no provider logout.
	if _, ok := c.LogoutURL(ctx, id.IDToken, "s", "http://x"); ok {
		t.Fatal("logout URL from a provider without end_session_endpoint")
	}
	// The same code cannot be used twice.
	if _, err := c.Exchange(ctx, back.Get("code"), "verifier-verifier-verifier-verifier-verifier-m", "nonce-m"); err == nil {
		t.Fatal("code used twice")
	}
}

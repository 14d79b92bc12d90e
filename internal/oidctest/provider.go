// Package oidctest is a small but real OpenID Connect provider for tests,
// shaped like ProConnect: discovery, authorization code flow with PKCE (S256)
// and nonce, ID tokens signed RS256, userinfo as plain JSON or as a signed
// JWT, JWKS and an end-session endpoint. Knobs make it misbehave the ways a
// real provider can.
package oidctest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// User is who the provider logs in next.
type User struct {
	Subject            string
	Email              string
	GivenName          string
	UsualName          string
	UID                string
	SIRET              string
	OrganizationalUnit string
}

// Provider is a running test provider.
type Provider struct {
	*httptest.Server
	ClientID     string
	ClientSecret string

	key, otherKey *rsa.PrivateKey

	mu sync.Mutex
	// The user logged in by the next authorization request.
	user User
	// Knobs.
	deny         bool // the person refuses consent
	userinfoJWT  bool // userinfo answered as a signed JWT (ProConnect)
	badSignature bool // tokens signed with a key that is not published
	badUserinfo  bool // only the userinfo JWT is signed with that key
	wrongNonce   bool // the ID token carries another nonce
	expireCodes  bool // the token endpoint refuses every code (expired)
	down         bool // every endpoint answers 503

	grants      map[string]*grant // by code
	access      map[string]User   // by access token
	endSessions []url.Values
	tokenCalls  int
}

type grant struct {
	user      User
	nonce     string
	challenge string
	redirect  string
	used      bool
}

// New starts a provider that knows one client.
func New(t testing.TB) *Provider {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &Provider{
		ClientID: "agora-test-client", ClientSecret: "agora-test-secret",
		key: key, otherKey: other,
		grants: map[string]*grant{}, access: map[string]User{},
		user: User{Subject: "sub-0001", Email: "marie.curie@sg.social.gouv.fr", GivenName: "Marie", UsualName: "Curie",
			UID: "1", SIRET: "11000101300017", OrganizationalUnit: "DNUM/SDPSN"},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	mux.HandleFunc("GET /userinfo", p.userinfo)
	mux.HandleFunc("GET /jwks", p.jwks)
	mux.HandleFunc("GET /session/end", p.endSession)
	p.Server = httptest.NewServer(p.maybeDown(mux))
	t.Cleanup(p.Close)
	return p
}

// Issuer is the provider's issuer URL.
func (p *Provider) Issuer() string { return p.URL }

// SetUser chooses who logs in next.
func (p *Provider) SetUser(u User) { p.mu.Lock(); p.user = u; p.mu.Unlock() }

// Deny makes the person refuse consent at the next authorization.
func (p *Provider) Deny(on bool) { p.mu.Lock(); p.deny = on; p.mu.Unlock() }

// UserinfoJWT answers userinfo as a signed JWT (application/jwt).
func (p *Provider) UserinfoJWT(on bool) { p.mu.Lock(); p.userinfoJWT = on; p.mu.Unlock() }

// BadSignature signs tokens with a key the JWKS does not publish.
func (p *Provider) BadSignature(on bool) { p.mu.Lock(); p.badSignature = on; p.mu.Unlock() }

// BadSignatureUserinfoOnly signs the userinfo JWT, and only it, with a key
// the JWKS does not publish.
func (p *Provider) BadSignatureUserinfoOnly(on bool) { p.mu.Lock(); p.badUserinfo = on; p.mu.Unlock() }

// WrongNonce puts another nonce in ID tokens.
func (p *Provider) WrongNonce(on bool) { p.mu.Lock(); p.wrongNonce = on; p.mu.Unlock() }

// ExpireCodes makes the token endpoint refuse codes as expired.
func (p *Provider) ExpireCodes(on bool) { p.mu.Lock(); p.expireCodes = on; p.mu.Unlock() }

// Down makes every endpoint answer 503.
func (p *Provider) Down(on bool) { p.mu.Lock(); p.down = on; p.mu.Unlock() }

// EndSessions returns the logout requests received.
func (p *Provider) EndSessions() []url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.endSessions)
}

// TokenCalls counts token requests.
func (p *Provider) TokenCalls() int { p.mu.Lock(); defer p.mu.Unlock(); return p.tokenCalls }

func (p *Provider) maybeDown(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		down := p.down
		p.mu.Unlock()
		if down {
			http.Error(w, "maintenance", http.StatusServiceUnavailable)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (p *Provider) discovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                p.URL,
		"authorization_endpoint":                p.URL + "/authorize",
		"token_endpoint":                        p.URL + "/token",
		"userinfo_endpoint":                     p.URL + "/userinfo",
		"jwks_uri":                              p.URL + "/jwks",
		"end_session_endpoint":                  p.URL + "/session/end",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"userinfo_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
		"scopes_supported":                      []string{"openid", "email", "given_name", "usual_name", "uid", "siret", "organizational_unit"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
	})
}

func random() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	redirect := q.Get("redirect_uri")
	ru, err := url.Parse(redirect)
	if err != nil || ru.Host == "" {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	back := func(v url.Values) {
		v.Set("state", q.Get("state"))
		ru.RawQuery = v.Encode()
		http.Redirect(w, r, ru.String(), http.StatusFound)
	}
	scopes := strings.Fields(q.Get("scope"))
	switch {
	case q.Get("client_id") != p.ClientID:
		http.Error(w, "unknown client", http.StatusBadRequest)
		return
	case q.Get("response_type") != "code" || !slices.Contains(scopes, "openid") || q.Get("state") == "" || q.Get("nonce") == "":
		back(url.Values{"error": {"invalid_request"}, "error_description": {"missing parameter"}})
		return
	case q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "":
		back(url.Values{"error": {"invalid_request"}, "error_description": {"PKCE S256 required"}})
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.deny {
		back(url.Values{"error": {"access_denied"}, "error_description": {"User refused consent"}})
		return
	}
	code := random()
	p.grants[code] = &grant{user: p.user, nonce: q.Get("nonce"), challenge: q.Get("code_challenge"), redirect: redirect}
	back(url.Values{"code": {code}})
}

func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	id, secret, ok := r.BasicAuth()
	if ok {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != p.ClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(p.ClientSecret)) != 1 {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tokenCalls++
	g := p.grants[r.PostForm.Get("code")]
	if r.PostForm.Get("grant_type") != "authorization_code" || g == nil || g.used || p.expireCodes {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "code expired or already used"})
		return
	}
	g.used = true
	if r.PostForm.Get("redirect_uri") != g.redirect {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "redirect_uri mismatch"})
		return
	}
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "PKCE verification failed"})
		return
	}
	nonce := g.nonce
	if p.wrongNonce {
		nonce = "not-the-nonce-of-this-login"
	}
	now := time.Now()
	idToken, err := p.sign(map[string]any{
		"iss": p.URL, "sub": g.user.Subject, "aud": p.ClientID, "iat": now.Unix(), "exp": now.Add(time.Minute).Unix(),
		"nonce": nonce, "acr": "eidas1", "amr": []string{"pwd"},
	})
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error"})
		return
	}
	at := random()
	p.access[at] = g.user
	writeJSON(w, http.StatusOK, map[string]any{"access_token": at, "token_type": "Bearer", "expires_in": 60, "id_token": idToken})
}

// sign makes a compact JWS of claims with the published key, or with the
// unpublished one when badSignature is on. The caller holds p.mu.
func (p *Provider) sign(claims map[string]any) (string, error) {
	key := p.key
	if _, userinfo := claims["email"]; p.badSignature || userinfo && p.badUserinfo {
		key = p.otherKey
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	return jwt.Signed(signer).Claims(claims).Serialize()
}

func (p *Provider) userinfo(w http.ResponseWriter, r *http.Request) {
	at, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	p.mu.Lock()
	defer p.mu.Unlock()
	u, known := p.access[at]
	if !ok || !known {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		http.Error(w, "invalid token", http.StatusUnauthorized)
		return
	}
	claims := map[string]any{
		"sub": u.Subject, "email": u.Email, "given_name": u.GivenName, "usual_name": u.UsualName,
		"uid": u.UID, "siret": u.SIRET, "organizational_unit": u.OrganizationalUnit,
	}
	if !p.userinfoJWT {
		writeJSON(w, http.StatusOK, claims)
		return
	}
	claims["iss"], claims["aud"] = p.URL, p.ClientID
	claims["iat"], claims["exp"] = time.Now().Unix(), time.Now().Add(time.Minute).Unix()
	tok, err := p.sign(claims)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/jwt; charset=utf-8")
	_, _ = w.Write([]byte(tok))
}

func (p *Provider) jwks(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &p.key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
}

func (p *Provider) endSession(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p.mu.Lock()
	p.endSessions = append(p.endSessions, q)
	p.mu.Unlock()
	back, err := url.Parse(q.Get("post_logout_redirect_uri"))
	if err != nil || back.Host == "" || q.Get("id_token_hint") == "" || q.Get("state") == "" {
		http.Error(w, "bad logout request", http.StatusBadRequest)
		return
	}
	v := back.Query()
	v.Set("state", q.Get("state"))
	back.RawQuery = v.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

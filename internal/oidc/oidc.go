// Package oidc logs agents in through an OpenID Connect provider, ProConnect
// in production: authorization code flow with discovery, state, nonce and
// PKCE; the ID token fully verified; the userinfo answer accepted as JSON or
// as a signed JWT (ProConnect's way), its signature checked against the
// provider's keys. It knows nothing of Agora's accounts or HTTP routes.
package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Errors of a login, each with its own explanation to the person.
var (
	// ErrUnavailable: the provider could not be reached or answered with a
	// server error (discovery, token or userinfo endpoint).
	ErrUnavailable = errors.New("identity provider unavailable")
	// ErrInvalidGrant: the authorization code was refused (expired, already
	// used, or issued to another login).
	ErrInvalidGrant = errors.New("authorization code refused")
	// ErrRejected: the provider refused Agora's request (client
	// misconfiguration: wrong secret, redirect URI not registered).
	ErrRejected = errors.New("request refused by the identity provider")
	// ErrVerification: what the provider sent does not check out (signature,
	// issuer, audience, expiry, nonce, subject).
	ErrVerification = errors.New("identity provider answer failed verification")
)

// Config describes the provider and Agora's registration there.
type Config struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	Scopes       []string
	ACR          string // acr_values asked for, checked in the ID token when set
	RedirectURL  string // Agora's callback, registered at the provider
	HTTPClient   *http.Client
}

// Identity is who logged in, as the provider asserts it.
type Identity struct {
	Issuer             string
	Subject            string
	Email              string
	GivenName          string
	UsualName          string
	UID                string
	SIRET              string
	OrganizationalUnit string
	ACR                string
	IDToken            string // raw, kept for the provider's logout (id_token_hint)
}

// Name is the person's display name from the provider's claims.
func (i Identity) Name() string {
	return strings.Join(strings.Fields(i.GivenName+" "+i.UsualName), " ")
}

// Client talks to one provider. Discovery happens on first use and is
// retried on later logins while the provider is down, so that Agora starts
// even when the provider does not answer.
type Client struct {
	cfg Config

	mu      sync.Mutex
	disc    *discovered
	lastErr time.Time
}

type discovered struct {
	provider   *gooidc.Provider
	keys       *gooidc.RemoteKeySet
	userinfo   string
	verifier   *gooidc.IDTokenVerifier
	oauth      oauth2.Config
	endSession string
	origins    []string
}

// New returns a client; nothing is fetched yet.
func New(cfg Config) *Client {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	return &Client{cfg: cfg}
}

// retryDiscoveryAfter spaces out discovery attempts while the provider is down.
const retryDiscoveryAfter = 5 * time.Second

func (c *Client) discover(ctx context.Context) (*discovered, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.disc != nil {
		return c.disc, nil
	}
	if time.Since(c.lastErr) < retryDiscoveryAfter {
		return nil, fmt.Errorf("discovery failed less than %s ago: %w", retryDiscoveryAfter, ErrUnavailable)
	}
	ctx = gooidc.ClientContext(ctx, c.cfg.HTTPClient)
	p, err := gooidc.NewProvider(ctx, c.cfg.Issuer)
	if err != nil {
		c.lastErr = time.Now()
		return nil, fmt.Errorf("discovery of %s: %v: %w", c.cfg.Issuer, err, ErrUnavailable)
	}
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
		JWKS       string `json:"jwks_uri"`
	}
	_ = p.Claims(&meta)
	d := &discovered{
		provider:   p,
		keys:       gooidc.NewRemoteKeySet(gooidc.ClientContext(context.Background(), c.cfg.HTTPClient), meta.JWKS),
		userinfo:   p.UserInfoEndpoint(),
		verifier:   p.Verifier(&gooidc.Config{ClientID: c.cfg.ClientID}),
		endSession: meta.EndSession,
		oauth: oauth2.Config{
			ClientID:     c.cfg.ClientID,
			ClientSecret: c.cfg.ClientSecret,
			Endpoint:     p.Endpoint(),
			RedirectURL:  c.cfg.RedirectURL,
			Scopes:       c.cfg.Scopes,
		},
	}
	for _, raw := range []string{p.Endpoint().AuthURL, meta.EndSession} {
		if o := origin(raw); o != "" && !slices.Contains(d.origins, o) {
			d.origins = append(d.origins, o)
		}
	}
	c.disc = d
	return d, nil
}

func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// Origins are the origins of the provider's authorization and end-session
// endpoints once discovered (nil before): the login and logout forms are
// answered with redirects there, which the CSP form-action must allow.
func (c *Client) Origins() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.disc == nil {
		return nil
	}
	return c.disc.origins
}

// AuthCodeURL is where to send the browser to log in: state, nonce and the
// PKCE challenge of verifier are bound to this login.
func (c *Client) AuthCodeURL(ctx context.Context, state, nonce, verifier string) (string, error) {
	d, err := c.discover(ctx)
	if err != nil {
		return "", err
	}
	opts := []oauth2.AuthCodeOption{gooidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)}
	if c.cfg.ACR != "" {
		opts = append(opts, oauth2.SetAuthURLParam("acr_values", c.cfg.ACR))
	}
	return d.oauth.AuthCodeURL(state, opts...), nil
}

// Exchange turns the code the browser brought back into a verified identity:
// token request with the PKCE verifier, ID token verification (signature
// against the provider's keys, issuer, audience, expiry, nonce), then the
// userinfo request, whose subject must be the ID token's.
func (c *Client) Exchange(ctx context.Context, code, verifier, nonce string) (Identity, error) {
	d, err := c.discover(ctx)
	if err != nil {
		return Identity{}, err
	}
	ctx = gooidc.ClientContext(ctx, c.cfg.HTTPClient)
	tok, err := d.oauth.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return Identity{}, classifyTokenError(err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	if rawID == "" {
		return Identity{}, fmt.Errorf("token response without id_token: %w", ErrVerification)
	}
	idt, err := d.verifier.Verify(ctx, rawID)
	if err != nil {
		return Identity{}, fmt.Errorf("id token: %v: %w", err, ErrVerification)
	}
	if idt.Nonce == "" || idt.Nonce != nonce {
		return Identity{}, fmt.Errorf("id token nonce does not match this login: %w", ErrVerification)
	}
	var idClaims struct {
		ACR string `json:"acr"`
	}
	_ = idt.Claims(&idClaims)
	if c.cfg.ACR != "" && !slices.Contains(strings.Fields(c.cfg.ACR), idClaims.ACR) {
		return Identity{}, fmt.Errorf("id token acr %q, asked for %q: %w", idClaims.ACR, c.cfg.ACR, ErrVerification)
	}
	id := Identity{Issuer: idt.Issuer, Subject: idt.Subject, ACR: idClaims.ACR, IDToken: rawID}

	body, err := c.userinfo(ctx, d, tok.AccessToken)
	if err != nil {
		return Identity{}, err
	}
	var claims struct {
		Issuer             string          `json:"iss"`
		Audience           json.RawMessage `json:"aud"`
		Subject            string          `json:"sub"`
		Email              string          `json:"email"`
		GivenName          string          `json:"given_name"`
		UsualName          string          `json:"usual_name"`
		UID                string          `json:"uid"`
		SIRET              string          `json:"siret"`
		OrganizationalUnit string          `json:"organizational_unit"`
	}
	if err := json.Unmarshal(body, &claims); err != nil {
		return Identity{}, fmt.Errorf("userinfo claims: %v: %w", err, ErrVerification)
	}
	if claims.Subject != idt.Subject {
		return Identity{}, fmt.Errorf("userinfo subject differs from the id token's: %w", ErrVerification)
	}
	// A signed userinfo names its issuer and audience: they must be ours.
	if claims.Issuer != "" && claims.Issuer != idt.Issuer {
		return Identity{}, fmt.Errorf("userinfo issuer %q: %w", claims.Issuer, ErrVerification)
	}
	if len(claims.Audience) > 0 && !audienceHas(claims.Audience, c.cfg.ClientID) {
		return Identity{}, fmt.Errorf("userinfo audience %s: %w", claims.Audience, ErrVerification)
	}
	id.Email = strings.TrimSpace(claims.Email)
	id.GivenName = strings.TrimSpace(claims.GivenName)
	id.UsualName = strings.TrimSpace(claims.UsualName)
	id.UID, id.SIRET, id.OrganizationalUnit = claims.UID, claims.SIRET, strings.TrimSpace(claims.OrganizationalUnit)
	if id.Email == "" {
		return Identity{}, fmt.Errorf("userinfo without email: %w", ErrVerification)
	}
	return id, nil
}

// userinfo fetches the userinfo claims: plain JSON, or a JWT signed with
// one of the provider's keys (ProConnect), whose payload is returned once
// its signature checks out.
func (c *Client) userinfo(ctx context.Context, d *discovered, accessToken string) ([]byte, error) {
	if d.userinfo == "" {
		return nil, fmt.Errorf("provider has no userinfo endpoint: %w", ErrRejected)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.userinfo, nil)
	if err != nil {
		return nil, fmt.Errorf("userinfo request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("Accept", "application/jwt, application/json")
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("userinfo: %v: %w", err, ErrUnavailable)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("userinfo: %v: %w", err, ErrUnavailable)
	}
	switch {
	case resp.StatusCode >= 500:
		return nil, fmt.Errorf("userinfo: HTTP %d: %w", resp.StatusCode, ErrUnavailable)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("userinfo: HTTP %d: %w", resp.StatusCode, ErrRejected)
	}
	mediaType, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mediaType == "application/jwt" {
		payload, err := d.keys.VerifySignature(ctx, strings.TrimSpace(string(body)))
		if err != nil {
			return nil, fmt.Errorf("userinfo jwt: %v: %w", err, ErrVerification)
		}
		return payload, nil
	}
	return body, nil
}

func audienceHas(raw json.RawMessage, clientID string) bool {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return one == clientID
	}
	var many []string
	return json.Unmarshal(raw, &many) == nil && slices.Contains(many, clientID)
}

func classifyTokenError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		switch {
		case re.ErrorCode == "invalid_grant":
			return fmt.Errorf("token endpoint: %s %s: %w", re.ErrorCode, re.ErrorDescription, ErrInvalidGrant)
		case re.Response != nil && re.Response.StatusCode >= 500:
			return fmt.Errorf("token endpoint: HTTP %d: %w", re.Response.StatusCode, ErrUnavailable)
		default:
			return fmt.Errorf("token endpoint: %s %s: %w", re.ErrorCode, re.ErrorDescription, ErrRejected)
		}
	}
	return fmt.Errorf("token endpoint: %v: %w", err, ErrUnavailable)
}

// LogoutURL is where to send the browser to end the provider's session too,
// coming back to postLogout; ok is false when the provider has no
// end-session endpoint (or was never reached) or there is no ID token.
func (c *Client) LogoutURL(ctx context.Context, idToken, state, postLogout string) (string, bool) {
	if idToken == "" {
		return "", false
	}
	d, err := c.discover(ctx)
	if err != nil || d.endSession == "" {
		return "", false
	}
	u, err := url.Parse(d.endSession)
	if err != nil {
		return "", false
	}
	q := u.Query()
	q.Set("id_token_hint", idToken)
	q.Set("state", state)
	q.Set("post_logout_redirect_uri", postLogout)
	u.RawQuery = q.Encode()
	return u.String(), true
}

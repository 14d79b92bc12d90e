package handlers

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/oauth2"

	"github.com/dnum-sociaux/agora/internal/oidc"
	"github.com/dnum-sociaux/agora/models"
)

// Login with ProConnect (OpenID Connect): the login page's button posts to
// oidcStart, which sends the browser to the provider; the provider sends it
// back to oidcCallback with a code, exchanged and verified by internal/oidc.

const (
	oidcStateCookie = "agora_oidc_state"
	oidcLoginTTL    = 10 * time.Minute
	oidcCallback    = "/login/proconnect/callback"
	oidcLogoutDone  = "/logout/done"
	loginProConnect = "login.proconnect"
)

// newOIDCClient builds the provider client from the configuration, or nil.
func (s *Server) newOIDCClient() *oidc.Client {
	o := s.Config.OIDC
	if !o.Enabled() {
		return nil
	}
	return oidc.New(oidc.Config{
		Issuer: o.Issuer, ClientID: o.ClientID, ClientSecret: o.ClientSecret,
		Scopes: o.Scopes, ACR: o.ACR, RedirectURL: s.Config.URL(oidcCallback),
	})
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// oidcStart records a pending login (state, nonce, PKCE verifier) and sends
// the browser to the provider. The state is also set in a cookie, so that
// only the browser that started the login can finish it.
func (s *Server) oidcStart(c *gin.Context) {
	if s.oidc == nil {
		s.notFound(c)
		return
	}
	if ok, wait := s.loginIP.Allow(clientIP(c)); !ok {
		s.tooMany(c, wait)
		return
	}
	ctx := c.Request.Context()
	login := models.OIDCLogin{Nonce: randomToken(), Verifier: oauth2.GenerateVerifier(), NextPath: safeNext(c.PostForm("next"))}
	var state string
	err := s.Store.Tx(ctx, func(tx *models.Tx) error {
		var err error
		state, err = tx.CreateOIDCLogin(ctx, login, oidcLoginTTL)
		return err
	})
	if err != nil {
		s.serverError(c, "create oidc login", err)
		return
	}
	to, err := s.oidc.AuthCodeURL(ctx, state, login.Nonce, login.Verifier)
	if err != nil {
		s.oidcFailed(c, err)
		return
	}
	s.setCookie(c, oidcStateCookie, state, oidcLoginTTL)
	c.Redirect(http.StatusSeeOther, to)
}

// oidcCallback finishes the login: the state must be this browser's and
// unused, the code is exchanged and the identity verified, then the account
// is found (by subject, else by email, then linked) or created.
func (s *Server) oidcCallback(c *gin.Context) {
	if s.oidc == nil {
		s.notFound(c)
		return
	}
	ctx := c.Request.Context()
	q := c.Request.URL.Query()
	state := q.Get("state")
	cookie, _ := c.Cookie(oidcStateCookie)
	s.clearCookie(c, oidcStateCookie)
	if state == "" || cookie == "" || cookie != state {
		s.oidcProblem(c, "state", errors.New("state missing or not this browser's"))
		return
	}
	var login models.OIDCLogin
	err := s.Store.Tx(ctx, func(tx *models.Tx) error {
		var err error
		login, err = tx.ConsumeOIDCLogin(ctx, state)
		return err
	})
	if kind := oidcKind(err); kind != "" {
		s.oidcProblem(c, kind, err)
		return
	} else if err != nil {
		s.serverError(c, "consume oidc login", err)
		return
	}
	if e := q.Get("error"); e != "" {
		kind := "provider_error"
		if e == "access_denied" {
			kind = "denied"
		}
		s.oidcProblem(c, kind, errors.New("provider answered "+e+": "+q.Get("error_description")))
		return
	}
	id, err := s.oidc.Exchange(ctx, q.Get("code"), login.Verifier, login.Nonce)
	if err != nil {
		s.oidcFailed(c, err)
		return
	}
	if !s.Config.EmailAllowed(id.Email) {
		_, domain, _ := strings.Cut(id.Email, "@")
		s.oidcProblem(c, "domain", errors.New("email domain not allowed: "+domain))
		return
	}
	var user models.User
	err = s.Store.Tx(ctx, func(tx *models.Tx) error {
		var err error
		user, err = s.userForIdentity(c, tx, id)
		return err
	})
	if err != nil {
		s.serverError(c, "account for identity", err)
		return
	}
	if err := s.openSession(c, user, loginProConnect, id.IDToken); err != nil {
		s.serverError(c, "start session", err)
		return
	}
	if user.NeedsProfile() {
		c.Redirect(http.StatusSeeOther, "/welcome?next="+urlQueryEscape(safeNext(login.NextPath)))
		return
	}
	s.redirectWithFlash(c, safeNext(login.NextPath), "success", "Vous êtes connecté·e avec ProConnect.")
}

// userForIdentity returns the account of a provider identity: the one
// linked to its subject; else the one with its email, which gets linked;
// else a new account named after the provider's claims, in the direction its
// organisational unit names when Agora knows it (else /welcome asks).
func (s *Server) userForIdentity(c *gin.Context, tx *models.Tx, id oidc.Identity) (models.User, error) {
	ctx := c.Request.Context()
	u, err := tx.UserByIdentity(ctx, id.Issuer, id.Subject)
	if err == nil {
		return u, tx.TouchIdentity(ctx, id.Issuer, id.Subject, id.Email)
	}
	if !errors.Is(err, models.ErrNotFound) {
		return u, err
	}
	dir, err := tx.GuessDirection(ctx, id.OrganizationalUnit)
	if err != nil {
		return u, err
	}
	a := actor(c)
	u, err = tx.UserByEmail(ctx, id.Email)
	switch {
	case err == nil:
		if u.Name == "" || u.DirectionCode == "" {
			p := models.ProfileUpdate{Name: u.Name, DirectionCode: u.DirectionCode, NotifyEmail: u.NotifyEmail}
			if p.Name == "" {
				p.Name = id.Name()
			}
			if p.DirectionCode == "" {
				p.DirectionCode = dir
			}
			if err := tx.UpdateProfile(ctx, u.ID, p); err != nil {
				return u, err
			}
			u.Name, u.DirectionCode = p.Name, p.DirectionCode
		}
	case errors.Is(err, models.ErrNotFound):
		u, err = tx.CreateUser(ctx, models.NewUser{Email: id.Email, Name: id.Name(), DirectionCode: dir, Role: models.RoleAgent})
		if err != nil {
			return u, err
		}
		a.UserID, a.Email = u.ID, u.Email
		if err := tx.Audit(ctx, a, "user.create", "user", u.ID, "premier accès (ProConnect)"); err != nil {
			return u, err
		}
	default:
		return u, err
	}
	if err := tx.LinkIdentity(ctx, id.Issuer, id.Subject, u.ID, id.Email); err != nil {
		return u, err
	}
	a.UserID, a.Email = u.ID, u.Email
	return u, tx.Audit(ctx, a, "user.link_identity", "user", u.ID, "ProConnect")
}

// oidcFailed explains an error of the provider exchange.
func (s *Server) oidcFailed(c *gin.Context, err error) {
	kind := oidcKind(err)
	if kind == "" {
		kind = "unavailable"
	}
	s.oidcProblem(c, kind, err)
}

// oidcKind is the kind of problem err means, "" for none.
func oidcKind(err error) string {
	if err == nil {
		return ""
	}
	for _, p := range oidcProblems {
		if p.Err != nil && errors.Is(err, p.Err) {
			return p.Kind
		}
	}
	return ""
}

// oidcProblemText is what a failed ProConnect login shows; Err, when set,
// is the error that means it.
type oidcProblemText struct {
	Kind             string
	Err              error
	Status           int
	Heading, Message string
}

var oidcProblems = []oidcProblemText{
	{"denied", nil, http.StatusForbidden, "Connexion annulée",
		"Vous n'avez pas autorisé ProConnect à transmettre votre identité à Agora. Sans cette autorisation, Agora ne peut pas vous connecter."},
	{"state", models.ErrNotFound, http.StatusBadRequest, "Connexion non reconnue",
		"Ce retour de ProConnect ne correspond à aucune connexion commencée dans ce navigateur. Recommencez depuis la page de connexion d'Agora."},
	{"replayed", models.ErrTokenUsed, http.StatusBadRequest, "Connexion déjà utilisée",
		"Ce retour de ProConnect a déjà servi : une connexion ne peut être utilisée qu'une fois. Recommencez depuis la page de connexion."},
	{"slow", models.ErrTokenExpired, http.StatusBadRequest, "Connexion expirée",
		"La connexion avec ProConnect a pris plus de 10 minutes et a expiré. Recommencez depuis la page de connexion."},
	{"code", oidc.ErrInvalidGrant, http.StatusBadRequest, "Connexion expirée",
		"ProConnect n'a pas accepté ce retour de connexion (il a expiré ou a déjà servi). Recommencez depuis la page de connexion."},
	{"domain", nil, http.StatusForbidden, "Adresse non autorisée",
		"Votre adresse électronique professionnelle n'appartient pas à un domaine autorisé sur Agora. Si vous pensez que c'est une erreur, contactez l'équipe d'Agora."},
	{"unavailable", oidc.ErrUnavailable, http.StatusBadGateway, "ProConnect ne répond pas",
		"Le service ProConnect est momentanément injoignable. Réessayez dans quelques minutes ou utilisez la connexion par lien envoyé par courriel."},
	{"rejected", oidc.ErrRejected, http.StatusBadGateway, "Connexion refusée par ProConnect",
		"ProConnect a refusé la demande d'Agora. L'équipe d'Agora doit vérifier sa configuration ; réessayez plus tard."},
	{"verification", oidc.ErrVerification, http.StatusBadGateway, "Réponse de ProConnect invalide",
		"La réponse reçue de ProConnect n'a pas pu être vérifiée, Agora ne peut donc pas vous connecter. Recommencez depuis la page de connexion."},
	{"provider_error", nil, http.StatusBadGateway, "Connexion interrompue",
		"ProConnect a interrompu la connexion. Recommencez depuis la page de connexion."},
}

// oidcProblemOf is the problem of kind; an unknown kind is a provider_error.
func oidcProblemOf(kind string) oidcProblemText {
	for _, p := range oidcProblems {
		if p.Kind == kind {
			return p
		}
	}
	return oidcProblemOf("provider_error")
}

type oidcProblemPage struct {
	Layout
	Status    int
	Heading   string
	Message   string
	RequestID string
	MagicLink bool
}

// oidcProblem logs a failed ProConnect login with the request id and shows
// what happened in French, with a way back to the login page.
func (s *Server) oidcProblem(c *gin.Context, kind string, err error) {
	t := oidcProblemOf(kind)
	level := s.log(c).Warn
	if t.Status >= 500 {
		level = s.log(c).Error
	}
	level("proconnect login failed", "reason", kind, "error", err)
	s.render(c, t.Status, "login_error", oidcProblemPage{
		Layout: s.layout(c, t.Heading, ""), Status: t.Status, Heading: t.Heading, Message: t.Message,
		RequestID: c.GetString(ctxRequestID), MagicLink: s.Config.MagicLink,
	})
	c.Abort()
}

// logoutDone is where the provider sends the browser back after its logout.
func (s *Server) logoutDone(c *gin.Context) {
	c.Redirect(http.StatusSeeOther, "/")
}

package handlers

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/dnum-sociaux/agora/internal/form"
	"github.com/dnum-sociaux/agora/models"
)

const (
	loginLinkTTL      = 15 * time.Minute
	loginLinksPerMail = 5 // per loginLinkWindow
	loginLinkWindow   = 15 * time.Minute
)

// loginForm is the email form of the login page.
type loginForm struct {
	Email string
	Next  string
}

// Validate checks the address and the domain allow-list.
func (f *loginForm) Validate(allowed func(string) bool) form.Errors {
	var errs form.Errors
	f.Email = errs.Email("email", f.Email)
	if f.Email != "" && !allowed(f.Email) {
		errs.Add("email", "Cette adresse n'appartient pas à un domaine autorisé. Utilisez votre adresse professionnelle des ministères sociaux.")
	}
	f.Next = safeNext(f.Next)
	return errs
}

type loginPage struct {
	Layout
	Form       loginForm
	Errors     form.Errors
	MagicLink  bool
	ProConnect bool // the ProConnect button is shown
	Captured   bool // development: emails are readable in the admin
}

func (s *Server) loginShow(c *gin.Context) {
	if currentUser(c) != nil {
		c.Redirect(http.StatusSeeOther, safeNext(c.Query("next")))
		return
	}
	s.renderLogin(c, http.StatusOK, loginForm{Next: safeNext(c.Query("next"))}, nil)
}

func (s *Server) renderLogin(c *gin.Context, status int, f loginForm, errs form.Errors) {
	s.render(c, status, "login", loginPage{
		Layout:     s.layout(c, "Connexion", ""),
		Form:       f,
		Errors:     errs,
		MagicLink:  s.Config.MagicLink,
		ProConnect: s.oidc != nil,
		Captured:   s.Config.SMTPURL == "",
	})
}

// loginSend queues a login link. It answers the same whether an account
// exists or not.
func (s *Server) loginSend(c *gin.Context) {
	if !s.magicLinkOn(c) {
		return
	}
	if ok, wait := s.loginIP.Allow(clientIP(c)); !ok {
		s.tooMany(c, wait)
		return
	}
	f := loginForm{Email: c.PostForm("email"), Next: c.PostForm("next")}
	if errs := f.Validate(s.Config.EmailAllowed); errs.Any() {
		s.renderLogin(c, http.StatusUnprocessableEntity, f, errs)
		return
	}
	ctx := c.Request.Context()
	n, err := s.Store.CountLoginTokensSince(ctx, f.Email, s.Now().Add(-loginLinkWindow))
	if err != nil {
		s.serverError(c, "count login links", err)
		return
	}
	if n >= loginLinksPerMail {
		s.tooMany(c, loginLinkWindow)
		return
	}
	err = s.Store.Tx(ctx, func(tx *models.Tx) error {
		token, err := tx.CreateLoginToken(ctx, f.Email, f.Next, loginLinkTTL)
		if err != nil {
			return err
		}
		return s.queueLoginMail(c, tx, f.Email, token)
	})
	if err != nil {
		s.serverError(c, "create login link", err)
		return
	}
	s.NotifyMail()
	c.Redirect(http.StatusSeeOther, "/login/sent")
}

// magicLinkOn answers 403 when login links are turned off
// (AGORA_MAGIC_LINK=off): none is sent, and none already sent works.
func (s *Server) magicLinkOn(c *gin.Context) bool {
	if s.Config.MagicLink {
		return true
	}
	s.errorPage(c, http.StatusForbidden, "La connexion par lien envoyé par courriel est désactivée sur cette instance.")
	return false
}

type loginMailData struct {
	Link    string
	Minutes int
}

func (s *Server) queueLoginMail(c *gin.Context, tx *models.Tx, email, token string) error {
	msg, err := s.Mail.Compose("login", "login:"+models.HashSecret(token), email, "login", loginMailData{
		Link:    s.Config.URL("/login/" + token),
		Minutes: int(loginLinkTTL.Minutes()),
	})
	if err != nil {
		return err
	}
	_, err = tx.Enqueue(c.Request.Context(), msg)
	return err
}

func (s *Server) loginSent(c *gin.Context) {
	s.render(c, http.StatusOK, "login_sent", loginPage{
		Layout:   s.layout(c, "Vérifiez votre messagerie", ""),
		Captured: s.Config.SMTPURL == "",
	})
}

type loginLinkPage struct {
	Layout
	Token  string
	Email  string
	Reason string // "", "expired", "used", "unknown"
}

// loginLink shows the "Se connecter" button without using the link: mail
// scanners open every link before the agent does.
func (s *Server) loginLink(c *gin.Context) {
	if !s.magicLinkOn(c) {
		return
	}
	token := c.Param("token")
	t, err := s.Store.CheckLoginToken(c.Request.Context(), token)
	if reason, status := loginLinkProblem(err); reason != "" {
		s.render(c, status, "login_link", loginLinkPage{Layout: s.layout(c, "Lien de connexion", ""), Reason: reason})
		return
	} else if err != nil {
		s.serverError(c, "check login link", err)
		return
	}
	s.render(c, http.StatusOK, "login_link", loginLinkPage{Layout: s.layout(c, "Lien de connexion", ""), Token: token, Email: t.Email})
}

func loginLinkProblem(err error) (string, int) {
	switch {
	case errors.Is(err, models.ErrTokenExpired):
		return "expired", http.StatusGone
	case errors.Is(err, models.ErrTokenUsed):
		return "used", http.StatusGone
	case errors.Is(err, models.ErrNotFound):
		return "unknown", http.StatusNotFound
	}
	return "", 0
}

// loginConsume uses the link: it logs in, creating the account on first login.
func (s *Server) loginConsume(c *gin.Context) {
	if !s.magicLinkOn(c) {
		return
	}
	token := c.Param("token")
	ctx := c.Request.Context()
	var user models.User
	var next string
	err := s.Store.Tx(ctx, func(tx *models.Tx) error {
		t, err := tx.ConsumeLoginToken(ctx, token)
		if err != nil {
			return err
		}
		next = t.NextPath
		user, err = s.findOrCreateUser(c, tx, t.Email)
		return err
	})
	if reason, status := loginLinkProblem(err); reason != "" {
		s.render(c, status, "login_link", loginLinkPage{Layout: s.layout(c, "Lien de connexion", ""), Reason: reason})
		return
	} else if err != nil {
		s.serverError(c, "consume login link", err)
		return
	}
	if err := s.startSession(c, user, "login.magic_link"); err != nil {
		s.serverError(c, "start session", err)
		return
	}
	if user.NeedsProfile() {
		c.Redirect(http.StatusSeeOther, "/welcome?next="+urlQueryEscape(safeNext(next)))
		return
	}
	s.redirectWithFlash(c, safeNext(next), "success", "Vous êtes connecté·e.")
}

// findOrCreateUser returns the account of email, creating it (as an agent)
// on first login.
func (s *Server) findOrCreateUser(c *gin.Context, tx *models.Tx, email string) (models.User, error) {
	ctx := c.Request.Context()
	u, err := tx.UserByEmail(ctx, email)
	if err == nil {
		return u, nil
	}
	if !errors.Is(err, models.ErrNotFound) {
		return u, err
	}
	u, err = tx.CreateUser(ctx, models.NewUser{Email: email, Role: models.RoleAgent})
	if err != nil {
		return u, err
	}
	a := actor(c)
	a.UserID, a.Email = u.ID, u.Email
	return u, tx.Audit(ctx, a, "user.create", "user", u.ID, "premier accès")
}

// StartSession logs user in on this browser; method names how (audit log).
func (s *Server) startSession(c *gin.Context, user models.User, method string) error {
	return s.openSession(c, user, method, "")
}

// openSession is startSession keeping the identity provider's ID token
// with the session (for the provider's logout).
func (s *Server) openSession(c *gin.Context, user models.User, method, idToken string) error {
	ctx := c.Request.Context()
	var secret string
	err := s.Store.Tx(ctx, func(tx *models.Tx) error {
		var err error
		if secret, err = tx.CreateWebSession(ctx, user.ID, s.Config.SessionAbsolute); err != nil {
			return err
		}
		if idToken != "" {
			if err := tx.SetWebSessionIDToken(ctx, secret, idToken); err != nil {
				return err
			}
		}
		if err := tx.TouchLogin(ctx, user.ID); err != nil {
			return err
		}
		// Registrations made for this address before the account existed.
		if err := tx.LinkRegistrations(ctx, user.ID, user.Email); err != nil {
			return err
		}
		a := actor(c)
		a.UserID, a.Email = user.ID, user.Email
		return tx.Audit(ctx, a, "login", "user", user.ID, method)
	})
	if err != nil {
		return err
	}
	// Replace any previous session cookie (no session fixation).
	s.setCookie(c, sessionCookie, secret, s.Config.SessionAbsolute)
	return nil
}

// logout ends Agora's session, then the provider's when the session came
// from ProConnect (end-session endpoint with id_token_hint).
func (s *Server) logout(c *gin.Context) {
	ctx := c.Request.Context()
	var idToken string
	if secret := c.GetString(ctxSession); secret != "" {
		var err error
		if idToken, err = s.Store.WebSessionIDToken(ctx, secret); err != nil && !errors.Is(err, models.ErrNotFound) {
			s.serverError(c, "logout", err)
			return
		}
		err = s.Store.Tx(ctx, func(tx *models.Tx) error {
			if err := tx.DeleteWebSession(ctx, secret); err != nil {
				return err
			}
			return tx.Audit(ctx, actor(c), "logout", "user", actor(c).UserID, "")
		})
		if err != nil {
			s.serverError(c, "logout", err)
			return
		}
	}
	s.clearCookie(c, sessionCookie)
	if s.oidc != nil {
		if to, ok := s.oidc.LogoutURL(ctx, idToken, randomToken(), s.Config.URL(oidcLogoutDone)); ok {
			s.setFlash(c, "info", "", "Vous êtes déconnecté·e d'Agora et de ProConnect.")
			c.Redirect(http.StatusSeeOther, to)
			return
		}
	}
	s.redirectWithFlash(c, "/", "info", "Vous êtes déconnecté·e.")
}

// serverError logs err and answers with the 500 page, or with the 503 page
// when the database does not answer (the user can only wait; the database
// drill checks it).
func (s *Server) serverError(c *gin.Context, what string, err error) {
	if s.clientGone(c) {
		return
	}
	s.log(c).Error(what, "error", err)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request.Context()), time.Second)
	defer cancel()
	if s.Store.Ping(ctx) != nil {
		c.Header("Retry-After", "30")
		s.errorPage(c, http.StatusServiceUnavailable, "")
		return
	}
	s.errorPage(c, http.StatusInternalServerError, "")
}

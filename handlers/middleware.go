package handlers

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/dnum-sociaux/agora/models"
)

const (
	sessionCookie = "agora_session"
	csrfCookie    = "agora_csrf"
	csrfField     = "csrf_token"
	csrfHeader    = "X-CSRF-Token"
	ctxUser       = "agora.user"
	ctxSession    = "agora.session"
	ctxCSRF       = "agora.csrf"
	ctxLogger     = "agora.logger"
	ctxRequestID  = "agora.request_id"
)

type ctxKey int

const requestIDKey ctxKey = 1

// RequestID returns the request id stored in ctx, for logs made below handlers.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{8,64}$`)

// requestContext gives every request an id (kept from X-Request-ID when it
// looks sane), a logger carrying it, and writes one access log line with no
// personal data: route pattern (never the raw path, which may hold a
// secret), status, duration, size.
func (s *Server) requestContext(c *gin.Context) {
	start := time.Now()
	id := c.GetHeader("X-Request-ID")
	if !validRequestID.MatchString(id) {
		b := make([]byte, 12)
		_, _ = rand.Read(b)
		id = base64.RawURLEncoding.EncodeToString(b)
	}
	c.Header("X-Request-ID", id)
	log := s.Logger.With("request_id", id)
	c.Set(ctxRequestID, id)
	c.Set(ctxLogger, log)
	c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), requestIDKey, id))
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "(no route)"
	}
	log.LogAttrs(c.Request.Context(), slog.LevelInfo, "request",
		slog.String("method", c.Request.Method),
		slog.String("route", route),
		slog.Int("status", c.Writer.Status()),
		slog.Float64("duration_ms", math.Round(float64(time.Since(start).Microseconds()))/1000),
		slog.Int("bytes", max(c.Writer.Size(), 0)),
	)
}

// log returns the request's logger.
func (s *Server) log(c *gin.Context) *slog.Logger {
	if l, ok := c.Get(ctxLogger); ok {
		return l.(*slog.Logger)
	}
	return s.Logger
}

// recoverPanic turns a panic into a logged 500 page.
func (s *Server) recoverPanic(c *gin.Context) {
	defer func() {
		if v := recover(); v != nil {
			if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(v)
			}
			s.log(c).Error("panic", "panic", fmt.Sprint(v))
			if !c.Writer.Written() {
				s.errorPage(c, http.StatusInternalServerError, "")
			}
			c.Abort()
		}
	}()
	c.Next()
}

// securityHeaders sets the headers PRODUCT.md asks for on every answer.
func (s *Server) securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", s.csp())
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(self), microphone=(), geolocation=()")
	if s.Config.Secure() {
		h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains; preload")
	}
	c.Next()
}

func (s *Server) csp() string {
	origins := []string{"'self'"}
	add := func(o string) {
		if o != "" && !slices.Contains(origins, o) {
			origins = append(origins, o)
		}
	}
	for _, o := range s.ExtraFormActions {
		add(o)
	}
	// The ProConnect login and logout forms are answered with redirects to
	// the provider: its origin, and those of its endpoints once discovered.
	if s.oidc != nil {
		add(s.Config.OIDC.Origin())
		for _, o := range s.oidc.Origins() {
			add(o)
		}
	}
	formAction := strings.Join(origins, " ")
	return "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; " +
		"connect-src 'self'; form-action " + formAction + "; frame-ancestors 'none'; base-uri 'self'; object-src 'none'"
}

// limitBody refuses bodies over the configured size with 413.
func (s *Server) limitBody(c *gin.Context) {
	limit := s.Config.MaxBodyBytes
	if c.Request.ContentLength > limit {
		s.errorPage(c, http.StatusRequestEntityTooLarge, "")
		c.Abort()
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
	c.Next()
}

// clientIP is the peer address (Agora trusts no forwarding header unless
// gin's trusted proxies are configured).
func clientIP(c *gin.Context) string {
	ip := c.ClientIP()
	if ip == "" {
		ip, _, _ = net.SplitHostPort(c.Request.RemoteAddr)
	}
	return ip
}

// rateLimit applies the per-IP limit, then the per-user one.
func (s *Server) rateLimit(c *gin.Context) {
	if ok, wait := s.perIP.Allow(clientIP(c)); !ok {
		s.tooMany(c, wait)
		return
	}
	if u := currentUser(c); u != nil {
		if ok, wait := s.perUser.Allow(u.ID); !ok {
			s.tooMany(c, wait)
			return
		}
	}
	c.Next()
}

func (s *Server) tooMany(c *gin.Context, wait time.Duration) {
	c.Header("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
	s.errorPage(c, http.StatusTooManyRequests, "")
	c.Abort()
}

// loadSession puts the logged-in user, if any, in the context.
func (s *Server) loadSession(c *gin.Context) {
	secret, err := c.Cookie(sessionCookie)
	if err != nil || secret == "" {
		c.Next()
		return
	}
	sess, u, err := s.Store.WebSessionUser(c.Request.Context(), secret, s.Config.SessionIdle)
	switch {
	case errors.Is(err, models.ErrNotFound):
		s.clearCookie(c, sessionCookie)
	case err != nil:
		if s.clientGone(c) {
			return
		}
		s.log(c).Error("load session", "error", err)
		s.errorPage(c, http.StatusServiceUnavailable, "")
		c.Abort()
		return
	default:
		c.Set(ctxUser, &u)
		c.Set(ctxSession, secret)
		// Record activity at most once a minute: no write on every request.
		// Through the group commit, without waiting for it when writes are
		// being committed: when thousands of agents arrive at once (the
		// registration opening), their marks join the registrations'
		// transactions, and each request waits for one commit (its own
		// write's), not two. A mark lost in a crash only shortens an idle
		// session by a minute. The function may run after the request: it
		// uses nothing of the gin context.
		if s.Now().Sub(sess.LastSeenAt) > time.Minute {
			ctx, log := context.WithoutCancel(c.Request.Context()), s.log(c)
			touch := func(tx *models.Tx) error {
				err := tx.TouchWebSession(ctx, secret)
				if err != nil {
					log.Warn("touch session", "error", err)
				}
				return err
			}
			_ = s.Store.BatchLater(ctx, touch) // touch logs its own error
		}
	}
	c.Next()
}

// clientGone tells whether the client cancelled the request (closed the
// connection): then nothing is answered or logged as an error, and the
// request is aborted.
func (s *Server) clientGone(c *gin.Context) bool {
	if !errors.Is(c.Request.Context().Err(), context.Canceled) {
		return false
	}
	s.log(c).Debug("client went away")
	c.Abort()
	return true
}

// currentUser is the logged-in user, or nil.
func currentUser(c *gin.Context) *models.User {
	if v, ok := c.Get(ctxUser); ok {
		return v.(*models.User)
	}
	return nil
}

// actor describes the current user for the audit log.
func actor(c *gin.Context) models.Actor {
	a := models.Actor{RequestID: c.GetString(ctxRequestID)}
	if u := currentUser(c); u != nil {
		a.UserID, a.Email = u.ID, u.Email
	}
	return a
}

// csrf protects every state-changing request: the browser must be
// same-origin (Sec-Fetch-Site / Origin, Go's CrossOriginProtection) and send
// back the token of its CSRF cookie in the form or a header. API calls with
// a bearer key carry no cookie and are exempt.
func (s *Server) csrf(c *gin.Context) {
	token, err := c.Cookie(csrfCookie)
	if err != nil || len(token) < 32 {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		token = base64.RawURLEncoding.EncodeToString(b)
		s.setCookie(c, csrfCookie, token, 0)
	}
	c.Set(ctxCSRF, token)
	switch c.Request.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		c.Next()
		return
	}
	if strings.HasPrefix(c.GetHeader("Authorization"), "Bearer ") {
		c.Next()
		return
	}
	if err := s.cop.Check(c.Request); err != nil {
		s.forbidden(c, "La requête vient d'un autre site : elle a été refusée.")
		return
	}
	sent := c.GetHeader(csrfHeader)
	if sent == "" {
		if !s.parseForm(c) {
			return
		}
		sent = c.Request.PostFormValue(csrfField)
	}
	if subtle.ConstantTimeCompare([]byte(sent), []byte(token)) != 1 {
		s.forbidden(c, "Le formulaire a expiré ou ne vient pas d'Agora. Rechargez la page et recommencez.")
		return
	}
	c.Next()
}

func (s *Server) forbidden(c *gin.Context, msg string) {
	s.errorPage(c, http.StatusForbidden, msg)
	c.Abort()
}

// parseForm reads the request body once; a body over the limit gives 413 and
// a malformed one 400. It returns false when it answered.
func (s *Server) parseForm(c *gin.Context) bool {
	var err error
	if strings.HasPrefix(c.ContentType(), "multipart/") {
		err = c.Request.ParseMultipartForm(8 << 20)
	} else {
		err = c.Request.ParseForm()
	}
	if err == nil {
		return true
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		s.errorPage(c, http.StatusRequestEntityTooLarge, "")
	} else {
		s.errorPage(c, http.StatusBadRequest, "Le formulaire envoyé est illisible.")
	}
	c.Abort()
	return false
}

// requireLogin sends anonymous visitors to the login page, then back.
func (s *Server) requireLogin(c *gin.Context) {
	u := currentUser(c)
	if u == nil {
		next := c.Request.URL.RequestURI()
		c.Redirect(http.StatusSeeOther, "/login?next="+urlQueryEscape(next))
		c.Abort()
		return
	}
	if u.NeedsProfile() && c.FullPath() != "/welcome" {
		c.Redirect(http.StatusSeeOther, "/welcome?next="+urlQueryEscape(c.Request.URL.RequestURI()))
		c.Abort()
		return
	}
	c.Next()
}

// requireAdmin answers 403 to non-admins.
func (s *Server) requireAdmin(c *gin.Context) {
	if !currentUser(c).IsAdmin() {
		s.forbidden(c, "Cette page est réservée aux administrateurs.")
		return
	}
	c.Next()
}

func (s *Server) setCookie(c *gin.Context, name, value string, maxAge time.Duration) {
	http.SetCookie(c.Writer, &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		MaxAge:   int(maxAge.Seconds()),
		HttpOnly: true,
		Secure:   s.Config.Secure(),
		SameSite: http.SameSiteLaxMode,
	})
}

func (s *Server) clearCookie(c *gin.Context, name string) {
	http.SetCookie(c.Writer, &http.Cookie{
		Name: name, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.Config.Secure(), SameSite: http.SameSiteLaxMode,
	})
}

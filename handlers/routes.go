package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// routes is the one list of Agora's URLs.
func (s *Server) routes() http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.RedirectTrailingSlash = true
	_ = r.SetTrustedProxies(nil)

	// Probes and assets: no session, no rate limit.
	r.GET("/healthz", s.healthz)
	r.GET("/readyz", s.readyz)
	r.GET("/assets/*path", gin.WrapH(s.Assets.Handler()))
	r.HEAD("/assets/*path", gin.WrapH(s.Assets.Handler()))

	web := r.Group("/", s.requestContext, s.recoverPanic, s.securityHeaders, s.limitBody, s.loadSession, s.rateLimit, s.csrf)
	web.GET("/", s.home)
	web.GET("/accessibilite", s.legal("legal_accessibility", "Déclaration d'accessibilité"))
	web.GET("/mentions-legales", s.legal("legal_notice", "Mentions légales"))
	web.GET("/donnees-personnelles", s.legal("legal_privacy", "Données personnelles"))

	web.GET("/login", s.loginShow)
	web.POST("/login", s.loginSend)
	web.GET("/login/sent", s.loginSent)
	web.GET("/login/:token", s.loginLink)
	web.POST("/login/:token", s.loginConsume)
	web.POST("/logout", s.logout)
	web.POST("/login/proconnect", s.oidcStart)
	web.GET(oidcCallback, s.oidcCallback)
	web.GET(oidcLogoutDone, s.logoutDone)

	user := web.Group("/", s.requireLogin)
	user.GET("/welcome", s.welcomeShow)
	user.POST("/welcome", s.welcomeSave)
	user.GET("/profile", s.profileShow)
	user.POST("/profile", s.profileSave)

	admin := user.Group("/admin", s.requireAdmin)
	admin.GET("", s.adminIndex)
	admin.GET("/users", s.adminUsers)
	admin.GET("/users/new", s.adminUserNew)
	admin.POST("/users", s.adminUserCreate)
	admin.POST("/users/:id/role", s.adminUserRole)
	admin.GET("/directions", s.adminDirections)
	admin.POST("/directions", s.adminDirectionSave)
	admin.GET("/outbox", s.adminOutbox)
	admin.GET("/outbox/:id", s.adminMail)
	admin.GET("/outbox/:id/html", s.adminMailHTML)
	admin.GET("/outbox/:id/ics", s.adminMailICS)
	admin.POST("/outbox/:id/retry", s.adminMailRetry)
	admin.GET("/audit", s.adminAudit)

	// Unknown URLs and methods get the full page chain, then the DSFR error page.
	r.NoRoute(s.requestContext, s.recoverPanic, s.securityHeaders, s.loadSession, s.csrfTokenOnly, s.notFound)
	r.NoMethod(s.requestContext, s.recoverPanic, s.securityHeaders, s.loadSession, s.csrfTokenOnly, s.methodNotAllowed)
	return r
}

// csrfTokenOnly makes the CSRF token available to the layout without
// checking anything (error pages still show the logout form).
func (s *Server) csrfTokenOnly(c *gin.Context) {
	if token, err := c.Cookie(csrfCookie); err == nil {
		c.Set(ctxCSRF, token)
	}
	c.Next()
}

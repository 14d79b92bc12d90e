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

	// Calendar feeds: calendar apps carry no cookie; the URL holds the token.
	feeds := r.Group("/feeds", s.requestContext, s.recoverPanic, s.securityHeaders, s.rateLimit)
	for _, method := range []string{http.MethodGet, http.MethodHead} { // some calendar apps probe with HEAD
		feeds.Handle(method, "/users/:id/:token", s.userFeed)
		feeds.Handle(method, "/groups/:id", s.groupFeed)
		feeds.Handle(method, "/groups/:id/:token", s.groupFeed)
	}

	web := r.Group("/", s.requestContext, s.recoverPanic, s.securityHeaders, s.limitBody, s.loadSession, s.rateLimit, s.csrf)
	web.GET("/", s.home)
	web.GET("/api", s.apiReference)
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

	// Events: what needs no login (the public programme, the secret
	// management link and the page that sends it again, the QR image shown
	// in emails).
	web.GET("/events/:id/programme", s.eventProgramme)
	web.GET("/events/:id/qr/:file", s.eventQR)
	web.GET("/inscription/:token", s.manageShow)
	web.POST("/inscription/:token", s.manageSave)
	web.POST("/inscription/:token/cancel", s.manageCancel)
	web.GET("/inscription/:token/badge", s.manageBadge)
	web.GET("/events/:id/inscription/lien", s.linkShow)
	web.POST("/events/:id/inscription/lien", s.linkSend)
	web.GET("/events/:id/inscription/lien/envoye", s.linkSent)

	user := web.Group("/", s.requireLogin)
	user.GET("/welcome", s.welcomeShow)
	user.POST("/welcome", s.welcomeSave)
	user.GET("/profile", s.profileShow)
	user.POST("/profile", s.profileSave)
	user.GET("/profile/data", s.profileData)
	user.GET("/profile/delete", s.accountDeleteShow)
	user.POST("/profile/delete", s.accountDelete)
	user.GET("/profile/api-keys", s.apiKeysShow)
	user.POST("/profile/api-keys", s.apiKeyCreate)
	user.POST("/profile/api-keys/:id/revoke", s.apiKeyRevoke)

	user.GET("/groups", s.groupList)
	user.GET("/groups/new", s.groupNew)
	user.POST("/groups", s.groupCreate)
	user.GET("/groups/:id", s.groupShow)
	user.POST("/groups/:id", s.groupUpdate)
	user.GET("/groups/:id/edit", s.groupEdit)
	user.POST("/groups/:id/status", s.groupSetStatus)
	user.POST("/groups/:id/join", s.groupJoin)
	user.POST("/groups/:id/request", s.groupRequest)
	user.POST("/groups/:id/requests/:user", s.groupDecide)
	user.POST("/groups/:id/invitations", s.groupInvite)
	user.POST("/groups/:id/invitation/accept", s.groupAcceptInvitation)
	user.POST("/groups/:id/leave", s.groupLeave)
	user.POST("/groups/:id/members/:user/remove", s.groupRemoveMember)
	user.POST("/groups/:id/members/:user/role", s.groupSetRole)
	user.POST("/groups/:id/calendar-invitations", s.groupSetInvitations)
	user.POST("/groups/:id/feed", s.groupRotateFeed)
	user.GET("/groups/:id/calendar.ics", s.groupICS)
	user.GET("/groups/:id/sessions", s.groupSessions)
	user.GET("/groups/:id/sessions/new", s.sessionNew)
	user.POST("/groups/:id/sessions", s.sessionCreate)
	user.GET("/sessions/:id", s.sessionShow)
	user.POST("/sessions/:id", s.sessionUpdate)
	user.GET("/sessions/:id/edit", s.sessionEdit)
	user.POST("/sessions/:id/cancel", s.sessionCancel)
	user.POST("/sessions/:id/answer", s.sessionAnswer)
	user.POST("/sessions/:id/minutes", s.sessionMinutes)
	user.POST("/sessions/:id/attendance", s.sessionAttendance)
	user.GET("/sessions/:id/session.ics", s.sessionICS)
	user.GET("/groups/:id/polls/new", s.pollNew)
	user.POST("/groups/:id/polls", s.pollCreate)
	user.GET("/polls/:id", s.pollShow)
	user.POST("/polls/:id/votes", s.pollVote)
	user.GET("/polls/:id/close", s.pollCloseShow)
	user.POST("/polls/:id/close", s.pollClose)
	user.POST("/polls/:id/cancel", s.pollCancel)
	user.GET("/calendar", s.calendarShow)
	user.POST("/calendar/feed", s.calendarFeed)
	user.POST("/calendar/reminders", s.calendarReminders)

	user.GET("/events", s.eventList)
	user.GET("/events/new", s.eventNew)
	user.POST("/events", s.eventCreate)
	user.GET("/events/:id", s.eventShow)
	user.GET("/events/:id/register", s.eventRegisterShow)
	user.POST("/events/:id/register", s.eventRegister)
	user.GET("/events/:id/inscription", s.manageShow)
	user.POST("/events/:id/inscription", s.manageSave)
	user.POST("/events/:id/inscription/cancel", s.manageCancel)
	user.GET("/events/:id/inscription/badge", s.manageBadge)
	user.GET("/events/:id/edit", s.eventEdit)
	user.POST("/events/:id/edit", s.eventUpdate)
	user.POST("/events/:id/status", s.eventStatus)
	user.POST("/events/:id/duplicate", s.eventDuplicate)
	user.POST("/events/:id/registration", s.eventRegistrationToggle)
	user.GET("/events/:id/setup", s.eventSetup)
	user.POST("/events/:id/quotas", s.eventQuotasSave)
	user.POST("/events/:id/correspondents", s.eventCorrespondentAdd)
	user.POST("/events/:id/correspondents/remove", s.eventCorrespondentRemove)
	user.POST("/events/:id/organisers", s.eventOrganiserAdd)
	user.POST("/events/:id/organisers/remove", s.eventOrganiserRemove)
	user.POST("/events/:id/questions", s.eventQuestionAdd)
	user.POST("/events/:id/questions/:qid/delete", s.eventQuestionDelete)
	user.GET("/events/:id/slots/new", s.slotNew)
	user.POST("/events/:id/slots", s.slotCreate)
	user.GET("/events/:id/slots/:sid/edit", s.slotEdit)
	user.POST("/events/:id/slots/:sid/edit", s.slotUpdate)
	user.POST("/events/:id/slots/:sid/cancel", s.slotCancel)
	user.GET("/events/:id/slots/:sid/export.csv", s.workshopExport)
	user.GET("/events/:id/registrations", s.eventRegistrations)
	user.POST("/events/:id/registrations/:rid/cancel", s.eventRegistrationCancel)
	user.GET("/events/:id/registrations/:rid/badge", s.organiserBadge)
	user.GET("/events/:id/export/:format", s.eventExport)
	user.GET("/events/:id/dashboard", s.eventDashboard)
	user.GET("/events/:id/messages", s.eventMessages)
	user.POST("/events/:id/messages", s.eventMessageSend)
	user.GET("/events/:id/checkin", s.checkInShow)
	user.POST("/events/:id/checkin", s.checkInDo)
	user.GET("/events/:id/checkin/counts", s.checkInCounts)
	user.POST("/events/:id/checkin/undo", s.checkInUndo)
	user.GET("/events/:id/correspondent", s.correspondentShow)
	user.POST("/events/:id/correspondent", s.correspondentRegister)
	user.POST("/events/:id/correspondent/import", s.correspondentImport)

	admin := user.Group("/admin", s.requireAdmin)
	admin.GET("", s.adminIndex)
	admin.GET("/users", s.adminUsers)
	admin.GET("/users/new", s.adminUserNew)
	admin.POST("/users", s.adminUserCreate)
	admin.POST("/users/:id/role", s.adminUserRole)
	admin.GET("/users/:id/delete", s.adminUserDeleteShow)
	admin.POST("/users/:id/delete", s.adminUserDelete)
	admin.GET("/directions", s.adminDirections)
	admin.POST("/directions", s.adminDirectionSave)
	admin.GET("/outbox", s.adminOutbox)
	admin.GET("/outbox/:id", s.adminMail)
	admin.GET("/outbox/:id/html", s.adminMailHTML)
	admin.GET("/outbox/:id/ics", s.adminMailICS)
	admin.POST("/outbox/:id/retry", s.adminMailRetry)
	admin.GET("/audit", s.adminAudit)
	admin.GET("/api-keys", s.adminAPIKeys)
	admin.POST("/api-keys/:id/revoke", s.apiKeyRevoke)

	s.registerAPI(r)

	// Unknown URLs and methods get the full page chain, then the DSFR error
	// page; under /api/v1, a problem detail.
	r.NoRoute(s.requestContext, s.apiOr(s.apiNotFound), s.recoverPanic, s.securityHeaders, s.loadSession, s.csrfTokenOnly, s.notFound)
	r.NoMethod(s.requestContext, s.apiOr(s.apiMethodNotAllowed), s.recoverPanic, s.securityHeaders, s.loadSession, s.csrfTokenOnly, s.methodNotAllowed)
	return r
}

// apiOr answers with h for API paths (a problem detail), and lets other
// paths go on to the page chain.
func (s *Server) apiOr(h gin.HandlerFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		if isAPIPath(c) {
			s.setAPIHeaders(c)
			h(c)
			c.Abort()
			return
		}
		c.Next()
	}
}

// csrfTokenOnly makes the CSRF token available to the layout without
// checking anything (error pages still show the logout form).
func (s *Server) csrfTokenOnly(c *gin.Context) {
	if token, err := c.Cookie(csrfCookie); err == nil {
		c.Set(ctxCSRF, token)
	}
	c.Next()
}

// Package handlers is Agora's HTTP layer: routes, middleware, pages and forms.
package handlers

import (
	"cmp"
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/dnum-sociaux/agora/assets"
	"github.com/dnum-sociaux/agora/internal/config"
	"github.com/dnum-sociaux/agora/internal/eventmail"
	"github.com/dnum-sociaux/agora/internal/ical"
	"github.com/dnum-sociaux/agora/internal/invite"
	"github.com/dnum-sociaux/agora/internal/mail"
	"github.com/dnum-sociaux/agora/internal/markdown"
	"github.com/dnum-sociaux/agora/internal/oidc"
	"github.com/dnum-sociaux/agora/internal/ratelimit"
	"github.com/dnum-sociaux/agora/internal/render"
	"github.com/dnum-sociaux/agora/models"
)

// Deps are what the handlers need; main builds them.
type Deps struct {
	Config *config.Config
	Store  *models.Store
	Render *render.Renderer
	Assets *assets.Assets
	Mail   *mail.Composer
	// FeedCacheBytes bounds the cache of rendered calendar feeds (0: 64 MiB,
	// negative: no cache).
	FeedCacheBytes int
	// Invite composes calendar invitations; built from Mail and Config when nil.
	Invite *invite.Sender
	// Events turns registration changes into emails; built from Mail and
	// Config when nil (main shares it with the jobs that warm its caches).
	Events     *eventmail.Notifier
	NotifyMail func() // wakes the outbox worker after a commit; may be nil
	Logger     *slog.Logger
	Now        func() time.Time
	// ExtraFormActions are origins that forms may lead to besides Agora
	// itself (the OpenID Connect provider), added to the CSP form-action.
	ExtraFormActions []string
	// Ready reports extra readiness conditions (pending migrations); may be nil.
	Ready func(ctx context.Context) error
}

// Server holds the dependencies of every handler.
type Server struct {
	Deps
	perIP   *ratelimit.Limiter // every request, per client IP
	perUser *ratelimit.Limiter // every request, per logged-in user
	loginIP *ratelimit.Limiter // login link requests, per IP
	linkIP  *ratelimit.Limiter // registration link requests, per IP (events_link.go)
	linkMsg *ratelimit.Limiter // registration link requests, per address
	perKey  *ratelimit.Limiter // API requests, per API key
	openapi []byte             // the API's OpenAPI document
	cop     *http.CrossOriginProtection
	// feedCache holds the last rendered body of each calendar feed.
	feedCache *feedCache
	oidc      *oidc.Client // nil when ProConnect is not configured
	events    *eventmail.Notifier
	markdown  *markdown.Renderer
	agendas   agendaCache
	handlers  http.Handler
}

// New builds the server and its routes.
func New(d Deps) *Server {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.NotifyMail == nil {
		d.NotifyMail = func() {}
	}
	if d.Invite == nil {
		d.Invite = &invite.Sender{
			Mail:      d.Mail,
			Organizer: ical.Person{Name: d.Config.MailFrom.Name, Email: d.Config.MailFrom.Address},
			BaseURL:   d.Config.BaseURL.String(),
			Now:       d.Now,
		}
	}
	n := d.Config.RateLimitPerMinute
	s := &Server{
		Deps:      d,
		perIP:     ratelimit.New(n, time.Minute, d.Now),
		perUser:   ratelimit.New(n, time.Minute, d.Now),
		loginIP:   ratelimit.New(min(n, 20), 10*time.Minute, d.Now),
		linkIP:    ratelimit.New(min(n, 20), 10*time.Minute, d.Now),
		linkMsg:   ratelimit.New(linkRequestsPerMail, linkRequestWindow, d.Now),
		perKey:    ratelimit.New(d.Config.APIRateLimit, time.Minute, d.Now),
		cop:       http.NewCrossOriginProtection(),
		feedCache: newFeedCache(cmp.Or(d.FeedCacheBytes, 64<<20)),
	}
	s.oidc = s.newOIDCClient()
	if s.events = d.Events; s.events == nil {
		s.events = EventNotifier(d)
	}
	s.markdown = markdown.New()
	s.handlers = s.routes()
	return s
}

// EventNotifier builds the notifier that turns event registration changes
// into emails (also used by the reminder job in main).
func EventNotifier(d Deps) *eventmail.Notifier {
	org := ical.Person{Email: "agora@localhost"}
	if d.Config.MailFrom != nil {
		org = ical.Person{Name: d.Config.MailFrom.Name, Email: d.Config.MailFrom.Address}
	}
	return eventmail.New(d.Mail, d.Config.BaseURL.String(), org, d.Now)
}

// ServeHTTP makes the server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handlers.ServeHTTP(w, r) }

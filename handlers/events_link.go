package handlers

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/dnum-sociaux/agora/internal/form"
	"github.com/dnum-sociaux/agora/models"
)

// "Retrouver mon lien d'inscription": a registrant who lost the email with
// their management link asks for a new one, without logging in. The answer
// is the same whether or not the address is registered, so that nobody can
// find out who is; the limits (per IP and per address) count every request
// alike, registered or not.

const (
	linkRequestsPerMail = 5 // per linkRequestWindow, per address (whatever the event)
	linkRequestWindow   = 15 * time.Minute
)

// linkForm is the one field of the page.
type linkForm struct {
	Email string
}

// Validate checks the address (any domain: only a registered address gets
// an email, and a domain message would say nothing useful).
func (f *linkForm) Validate() form.Errors {
	var errs form.Errors
	f.Email = errs.Email("email", f.Email)
	return errs
}

type linkPage struct {
	Layout
	Event    models.Event
	Form     linkForm
	Errors   form.Errors
	Archived bool // the event is archived: links have expired, none is sent
	Sent     bool // the answer to a request
	Captured bool // development: emails are readable in the admin
}

func linkPath(e *models.Event) string { return "/events/" + e.ID + "/inscription/lien" }

// linkEvent reads the :id event: a visible event, or an archived one (its
// page says that links have expired). A draft is a 404, as elsewhere.
func (s *Server) linkEvent(c *gin.Context) (models.Event, bool) {
	e, err := s.Store.EventByID(c.Request.Context(), c.Param("id"))
	switch {
	case errors.Is(err, models.ErrNotFound):
		s.notFound(c)
		return e, false
	case err != nil:
		s.serverError(c, "get event", err)
		return e, false
	case !e.Status.Visible() && e.Status != models.EventArchived:
		s.notFound(c)
		return e, false
	}
	return e, true
}

func (s *Server) renderLink(c *gin.Context, status int, e *models.Event, p linkPage) {
	p.Layout = s.layout(c, "Retrouver mon lien d'inscription — "+e.Title, "events", eventCrumbs(e, "Retrouver mon lien d'inscription")...)
	p.Event = *e
	p.Archived = p.Archived || e.Status == models.EventArchived
	if p.Archived {
		status = http.StatusGone
	}
	p.Captured = s.Config.SMTPURL == ""
	s.render(c, status, "event_link", p)
}

// linkShow is the form.
func (s *Server) linkShow(c *gin.Context) {
	if e, ok := s.linkEvent(c); ok {
		s.renderLink(c, http.StatusOK, &e, linkPage{})
	}
}

// linkSent is the one answer to every accepted request.
func (s *Server) linkSent(c *gin.Context) {
	if e, ok := s.linkEvent(c); ok {
		s.renderLink(c, http.StatusOK, &e, linkPage{Sent: true})
	}
}

// linkSend queues a new management link when the address has a registration
// that is not cancelled at this event, which is not archived; it answers
// the same either way.
func (s *Server) linkSend(c *gin.Context) {
	if ok, wait := s.linkIP.Allow(clientIP(c)); !ok {
		s.tooManyLinks(c, wait)
		return
	}
	e, ok := s.linkEvent(c)
	if !ok {
		return
	}
	if e.Status == models.EventArchived {
		s.renderLink(c, http.StatusGone, &e, linkPage{})
		return
	}
	f := linkForm{Email: c.PostForm("email")}
	if errs := f.Validate(); errs.Any() {
		s.renderLink(c, http.StatusUnprocessableEntity, &e, linkPage{Form: f, Errors: errs})
		return
	}
	if ok, wait := s.linkMsg.Allow(models.HashSecret(f.Email)); !ok {
		s.tooManyLinks(c, wait)
		return
	}
	ctx := c.Request.Context()
	sent := false
	err := s.Store.Tx(ctx, func(tx *models.Tx) error {
		r, ev, err := tx.RegistrationForNewLink(ctx, e.ID, f.Email)
		if err != nil {
			return err
		}
		id, err := s.events.ManageLink(ctx, tx, &ev, &r)
		if err != nil {
			return err
		}
		sent = true
		return tx.Audit(ctx, actor(c), "registration.link_resend", "registration", r.ID, "lien "+id)
	})
	switch {
	case errors.Is(err, models.ErrLinkExpired): // archived meanwhile
		s.renderLink(c, http.StatusGone, &e, linkPage{Archived: true})
		return
	case err != nil && !errors.Is(err, models.ErrNotFound):
		s.serverError(c, "new registration link", err)
		return
	}
	if sent {
		s.NotifyMail()
	}
	c.Redirect(http.StatusSeeOther, linkPath(&e)+"/envoye")
}

// tooManyLinks is the 429 of the link requests, in French, with how long
// to wait.
func (s *Server) tooManyLinks(c *gin.Context, wait time.Duration) {
	c.Header("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
	mins := max(1, int(math.Ceil(wait.Minutes())))
	s.errorPage(c, http.StatusTooManyRequests, fmt.Sprintf(
		"Trop de demandes de lien d'inscription ont été faites pour cette adresse ou depuis votre connexion. Patientez %d %s avant de recommencer.",
		mins, plural(mins, "minute", "minutes")))
}

// badManageLink is the page of a management link that is not valid. When
// the link's id names a registration (a link cut by a mail client, or
// mistyped after the id), it offers a new link for that event; otherwise
// it says where to ask for one.
func (s *Server) badManageLink(c *gin.Context, token string) {
	const msg = "Ce lien de gestion d'inscription n'est pas valable. Vérifiez qu'il est complet (copiez-le entièrement depuis le courriel)"
	e, err := s.Store.EventOfLinkID(c.Request.Context(), token)
	switch {
	case err == nil && e.Status.Visible():
		s.errorPageAction(c, http.StatusNotFound, msg+", ou demandez un nouveau lien pour « "+e.Title+" » : il vous sera envoyé par courriel.",
			Crumb{Label: "Retrouver mon lien d'inscription", URL: linkPath(&e)})
	case err != nil && !errors.Is(err, models.ErrNotFound):
		s.serverError(c, "event of link", err)
	default:
		s.errorPage(c, http.StatusNotFound, msg+". Vous pouvez aussi demander un nouveau lien depuis le programme de l'événement (« Retrouver mon lien d'inscription »), ou vous connecter à Agora pour retrouver votre inscription.")
	}
}

package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/dnum-sociaux/agora/internal/form"
	"github.com/dnum-sociaux/agora/models"
)

var eventsCrumb = Crumb{Label: "Événements", URL: "/events"}

// eventCtx is an event loaded for a request, with what the user may do.
type eventCtx struct {
	Event  models.Event
	Access models.EventAccess
}

// eventNeed is what a handler requires on the event.
type eventNeed int

const (
	needView          eventNeed = iota // visible event, or organiser
	needOrganiser                      // organiser of this event (or admin)
	needCorrespondent                  // correspondent or organiser
	needVisible                        // visible event; Access is filled only for a draft (organisers)
)

// loadEvent reads the :id event and checks access. An event the user may
// not see is a 404 (its existence is not revealed); a visible event whose
// management the user may not do is a 403. It returns false when it answered.
func (s *Server) loadEvent(c *gin.Context, need eventNeed) (eventCtx, bool) {
	ctx := c.Request.Context()
	e, err := s.Store.EventByID(ctx, c.Param("id"))
	if errors.Is(err, models.ErrNotFound) {
		s.notFound(c)
		return eventCtx{}, false
	} else if err != nil {
		s.serverError(c, "get event", err)
		return eventCtx{}, false
	}
	var acc models.EventAccess
	if need != needVisible || !e.Status.Visible() {
		if acc, err = s.Store.EventAccessFor(ctx, e.ID, currentUser(c)); err != nil {
			s.serverError(c, "event access", err)
			return eventCtx{}, false
		}
	}
	if !e.Status.Visible() && !acc.Organiser {
		s.notFound(c)
		return eventCtx{}, false
	}
	switch {
	case need == needOrganiser && !acc.Organiser:
		s.forbidden(c, "Cette page est réservée aux organisateurs de l'événement.")
		return eventCtx{}, false
	case need == needCorrespondent && !acc.Organiser && !acc.Correspondent():
		s.forbidden(c, "Cette page est réservée aux organisateurs et aux référents de l'événement.")
		return eventCtx{}, false
	}
	return eventCtx{Event: e, Access: acc}, true
}

func eventCrumbs(e *models.Event, last string) []Crumb {
	cr := []Crumb{eventsCrumb, {Label: e.Title, URL: "/events/" + e.ID}}
	if last != "" {
		cr = append(cr, Crumb{Label: last})
	} else {
		cr[1].URL = ""
	}
	return cr
}

// --- list ---

type eventListPage struct {
	Layout
	Events    []models.Event
	Organised []models.Event
	Mine      map[string]models.Registration
	CanCreate bool
}

func (s *Server) eventList(c *gin.Context) {
	ctx := c.Request.Context()
	u := currentUser(c)
	events, err := s.Store.ListEvents(ctx, models.EventFilter{Visible: true, Upcoming: true})
	if err != nil {
		s.serverError(c, "list events", err)
		return
	}
	var organised []models.Event
	if u.IsOrganiser() {
		f := models.EventFilter{OrganiserID: u.ID}
		if u.IsAdmin() {
			f = models.EventFilter{}
		}
		if organised, err = s.Store.ListEvents(ctx, f); err != nil {
			s.serverError(c, "list organised events", err)
			return
		}
	}
	regs, err := s.Store.UserRegistrations(ctx, u.ID, u.Email)
	if err != nil {
		s.serverError(c, "user registrations", err)
		return
	}
	mine := map[string]models.Registration{}
	for _, r := range regs {
		mine[r.EventID] = r
	}
	s.render(c, http.StatusOK, "event_list", eventListPage{
		Layout: s.layout(c, "Événements", "events", Crumb{Label: "Événements"}),
		Events: events, Organised: organised, Mine: mine, CanCreate: u.IsOrganiser(),
	})
}

// --- show ---

type eventShowPage struct {
	Layout
	eventCtx
	Reg        *models.Registration
	RegState   models.RegistrationState
	Left       models.SeatsLeft
	Direction  string
	Programme  []models.Slot
	Organisers []models.User
	Counts     models.RegistrationCounts
}

func (s *Server) eventShow(c *gin.Context) {
	ev, ok := s.loadEvent(c, needView)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	u := currentUser(c)
	p := eventShowPage{Layout: s.layout(c, ev.Event.Title, "events", eventCrumbs(&ev.Event, "")...), eventCtx: ev,
		RegState: ev.Event.RegistrationState(s.Now()), Direction: u.DirectionCode}
	if r, err := s.Store.RegistrationByEmail(ctx, ev.Event.ID, u.Email); err == nil && r.State != models.RegCancelled {
		p.Reg = &r
	} else if err != nil && !errors.Is(err, models.ErrNotFound) {
		s.serverError(c, "get registration", err)
		return
	}
	var err error
	if p.Left, err = s.Store.SeatsLeftFor(ctx, &ev.Event, u.DirectionCode); err != nil {
		s.serverError(c, "seats left", err)
		return
	}
	if p.Programme, err = s.Store.Programme(ctx, ev.Event.ID); err != nil {
		s.serverError(c, "programme", err)
		return
	}
	if ev.Access.Organiser {
		if p.Organisers, err = s.Store.EventOrganisers(ctx, ev.Event.ID); err != nil {
			s.serverError(c, "organisers", err)
			return
		}
		if p.Counts, err = s.Store.CountRegistrations(ctx, ev.Event.ID, nil); err != nil {
			s.serverError(c, "counts", err)
			return
		}
	}
	s.render(c, http.StatusOK, "event_show", p)
}

// --- create and edit ---

// eventForm is the organisers' form of an event.
type eventForm struct {
	Title, Description                                       string
	VenueName, VenueAddress, VenueAccess, VenueAccessibility string
	OnlineURL                                                string
	StartsAt, EndsAt, OpensAt, ClosesAt                      string // datetime-local, Paris
	Capacity                                                 string
	Modes                                                    string

	in models.EventInput
}

const dateTimeLocal = "2006-01-02T15:04"

func eventFormFrom(c *gin.Context) eventForm {
	return eventForm{
		Title: c.PostForm("title"), Description: c.PostForm("description"), VenueName: c.PostForm("venue_name"),
		VenueAddress: c.PostForm("venue_address"), VenueAccess: c.PostForm("venue_access"),
		VenueAccessibility: c.PostForm("venue_accessibility"), OnlineURL: c.PostForm("online_url"),
		StartsAt: c.PostForm("starts_at"), EndsAt: c.PostForm("ends_at"), OpensAt: c.PostForm("opens_at"),
		ClosesAt: c.PostForm("closes_at"), Capacity: c.PostForm("capacity"), Modes: c.PostForm("modes"),
	}
}

func eventFormOf(e *models.Event) eventForm {
	local := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(models.Paris).Format(dateTimeLocal)
	}
	return eventForm{Title: e.Title, Description: e.Description, VenueName: e.VenueName, VenueAddress: e.VenueAddress,
		VenueAccess: e.VenueAccess, VenueAccessibility: e.VenueAccessibility, OnlineURL: e.OnlineURL,
		StartsAt: local(e.StartsAt), EndsAt: local(e.EndsAt), OpensAt: local(e.OpensAt), ClosesAt: local(e.ClosesAt),
		Capacity: strconv.Itoa(e.Capacity), Modes: string(e.Modes)}
}

// parseLocal reads a Paris date-time from a datetime-local field.
func parseLocal(errs *form.Errors, field, v string, required bool) time.Time {
	v = strings.TrimSpace(v)
	if v == "" {
		if required {
			errs.Add(field, "Saisissez une date et une heure.")
		}
		return time.Time{}
	}
	t, err := time.ParseInLocation(dateTimeLocal, v, models.Paris)
	if err != nil {
		errs.Add(field, "Saisissez une date et une heure valides, par exemple 2027-01-14T09:00.")
		return time.Time{}
	}
	return t.UTC()
}

func checkURL(errs *form.Errors, field, v string) string {
	v = strings.TrimSpace(v)
	if v == "" {
		return ""
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs.Add(field, "Saisissez une adresse web complète, commençant par https://.")
	}
	return v
}

// Validate checks the form and fills the model input.
func (f *eventForm) Validate() form.Errors {
	var errs form.Errors
	in := &f.in
	in.Title = errs.Text("title", f.Title, true, 150)
	in.Description = errs.LongText("description", f.Description, false, 20000)
	in.VenueName = errs.Text("venue_name", f.VenueName, false, 150)
	in.VenueAddress = errs.LongText("venue_address", f.VenueAddress, false, 500)
	in.VenueAccess = errs.LongText("venue_access", f.VenueAccess, false, 2000)
	in.VenueAccessibility = errs.LongText("venue_accessibility", f.VenueAccessibility, false, 2000)
	in.OnlineURL = checkURL(&errs, "online_url", f.OnlineURL)
	in.StartsAt = parseLocal(&errs, "starts_at", f.StartsAt, true)
	in.EndsAt = parseLocal(&errs, "ends_at", f.EndsAt, true)
	in.OpensAt = parseLocal(&errs, "opens_at", f.OpensAt, false)
	in.ClosesAt = parseLocal(&errs, "closes_at", f.ClosesAt, false)
	if !in.StartsAt.IsZero() && !in.EndsAt.IsZero() && !in.EndsAt.After(in.StartsAt) {
		errs.Add("ends_at", "La fin doit être après le début.")
	}
	if !in.OpensAt.IsZero() && !in.ClosesAt.IsZero() && !in.ClosesAt.After(in.OpensAt) {
		errs.Add("closes_at", "La clôture des inscriptions doit être après leur ouverture.")
	}
	if !in.ClosesAt.IsZero() && !in.EndsAt.IsZero() && in.ClosesAt.After(in.EndsAt) {
		errs.Add("closes_at", "Les inscriptions doivent fermer avant la fin de l'événement.")
	}
	f.Capacity = strings.TrimSpace(f.Capacity)
	if f.Capacity == "" {
		f.Capacity = "0"
	}
	n, err := strconv.Atoi(f.Capacity)
	if err != nil || n < 0 || n > 100000 {
		errs.Add("capacity", "Saisissez un nombre de places entre 0 (sans limite) et 100 000.")
	}
	in.Capacity = n
	in.Modes = models.Modes(f.Modes)
	if !in.Modes.Valid() {
		errs.Add("modes", "Choisissez un mode de participation.")
	}
	return errs
}

type eventFormPage struct {
	Layout
	Form   eventForm
	Errors form.Errors
	Event  *models.Event
	Modes  []models.Modes
}

// Cancel is where the form's cancel link leads.
func (p eventFormPage) Cancel() string {
	if p.Event != nil {
		return "/events/" + p.Event.ID
	}
	return "/events"
}

func (s *Server) eventNew(c *gin.Context) {
	if !currentUser(c).IsOrganiser() {
		s.forbidden(c, "Seuls les organisateurs peuvent créer un événement.")
		return
	}
	s.render(c, http.StatusOK, "event_form", eventFormPage{
		Layout: s.layout(c, "Créer un événement", "events", eventsCrumb, Crumb{Label: "Créer"}),
		Form:   eventForm{Modes: string(models.ModesOnsite), Capacity: "0"},
		Modes:  []models.Modes{models.ModesOnsite, models.ModesRemote, models.ModesBoth},
	})
}

func (s *Server) eventCreate(c *gin.Context) {
	if !currentUser(c).IsOrganiser() {
		s.forbidden(c, "Seuls les organisateurs peuvent créer un événement.")
		return
	}
	f := eventFormFrom(c)
	errs := f.Validate()
	if errs.Any() {
		s.render(c, http.StatusUnprocessableEntity, "event_form", eventFormPage{
			Layout: s.layout(c, "Créer un événement", "events", eventsCrumb, Crumb{Label: "Créer"}),
			Form:   f, Errors: errs, Modes: []models.Modes{models.ModesOnsite, models.ModesRemote, models.ModesBoth},
		})
		return
	}
	ctx := c.Request.Context()
	var e models.Event
	err := s.Store.Tx(ctx, func(tx *models.Tx) error {
		var err error
		e, err = tx.CreateEvent(ctx, actor(c), s.Config.BaseURL.Host, f.in)
		return err
	})
	if err != nil {
		s.serverError(c, "create event", err)
		return
	}
	s.redirectWithFlash(c, "/events/"+e.ID, "success", "L'événement est créé en brouillon. Ajoutez son programme, puis publiez-le.")
}

func (s *Server) eventEdit(c *gin.Context) {
	ev, ok := s.loadEvent(c, needOrganiser)
	if !ok {
		return
	}
	s.render(c, http.StatusOK, "event_form", eventFormPage{
		Layout: s.layout(c, "Modifier l'événement", "events", eventCrumbs(&ev.Event, "Modifier")...),
		Form:   eventFormOf(&ev.Event), Event: &ev.Event, Modes: []models.Modes{models.ModesOnsite, models.ModesRemote, models.ModesBoth},
	})
}

func (s *Server) eventUpdate(c *gin.Context) {
	ev, ok := s.loadEvent(c, needOrganiser)
	if !ok {
		return
	}
	f := eventFormFrom(c)
	errs := f.Validate()
	ctx := c.Request.Context()
	if !errs.Any() {
		err := s.Store.Tx(ctx, func(tx *models.Tx) error {
			_, err := tx.UpdateEvent(ctx, s.events, actor(c), ev.Event.ID, f.in)
			return err
		})
		switch {
		case errors.Is(err, models.ErrQuotaOverCapacity):
			errs.Add("capacity", "Les places réservées aux directions dépassent cette capacité : réduisez d'abord les quotas.")
		case err != nil:
			s.serverError(c, "update event", err)
			return
		}
	}
	if errs.Any() {
		s.render(c, http.StatusUnprocessableEntity, "event_form", eventFormPage{
			Layout: s.layout(c, "Modifier l'événement", "events", eventCrumbs(&ev.Event, "Modifier")...),
			Form:   f, Errors: errs, Event: &ev.Event, Modes: []models.Modes{models.ModesOnsite, models.ModesRemote, models.ModesBoth},
		})
		return
	}
	s.NotifyMail()
	s.redirectWithFlash(c, "/events/"+ev.Event.ID, "success", "L'événement est enregistré. Les inscrits sont prévenus si l'horaire ou le lieu a changé.")
}

func (s *Server) eventStatus(c *gin.Context) {
	ev, ok := s.loadEvent(c, needOrganiser)
	if !ok {
		return
	}
	status := models.EventStatus(c.PostForm("status"))
	if !status.Valid() {
		s.errorPage(c, http.StatusBadRequest, "Ce statut n'existe pas.")
		return
	}
	ctx := c.Request.Context()
	err := s.Store.Tx(ctx, func(tx *models.Tx) error {
		_, err := tx.SetEventStatus(ctx, s.events, actor(c), ev.Event.ID, status)
		return err
	})
	if errors.Is(err, models.ErrForbidden) {
		s.redirectWithFlash(c, "/events/"+ev.Event.ID, "error", "Un événement annulé ne peut plus qu'être archivé.")
		return
	} else if err != nil {
		s.serverError(c, "event status", err)
		return
	}
	s.NotifyMail()
	msg := map[models.EventStatus]string{
		models.EventPublished: "L'événement est publié : les agents le voient et peuvent s'inscrire.",
		models.EventClosed:    "Les inscriptions sont closes.",
		models.EventCancelled: "L'événement est annulé : les inscrits sont prévenus et leur agenda mis à jour.",
		models.EventArchived:  "L'événement est archivé : les liens de gestion des inscrits ne fonctionnent plus.",
		models.EventDraft:     "L'événement est repassé en brouillon.",
	}[status]
	s.redirectWithFlash(c, "/events/"+ev.Event.ID, "success", msg)
}

func (s *Server) eventRegistrationToggle(c *gin.Context) {
	ev, ok := s.loadEvent(c, needOrganiser)
	if !ok {
		return
	}
	closed := c.PostForm("closed") == "true"
	ctx := c.Request.Context()
	if err := s.Store.Tx(ctx, func(tx *models.Tx) error {
		return tx.SetRegistrationClosed(ctx, actor(c), ev.Event.ID, closed)
	}); err != nil {
		s.serverError(c, "toggle registration", err)
		return
	}
	msg := "Les inscriptions sont rouvertes."
	if closed {
		msg = "Les inscriptions sont fermées."
	}
	s.redirectWithFlash(c, "/events/"+ev.Event.ID, "success", msg)
}

// eventDuplicate copies the event (programme, quotas, questions,
// correspondents) one year later, as a draft: next year's edition.
func (s *Server) eventDuplicate(c *gin.Context) {
	ev, ok := s.loadEvent(c, needOrganiser)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	var e models.Event
	err := s.Store.Tx(ctx, func(tx *models.Tx) error {
		var err error
		e, err = tx.DuplicateEvent(ctx, actor(c), *currentUser(c), s.Config.BaseURL.Host, ev.Event.ID, 1)
		return err
	})
	if err != nil {
		s.serverError(c, "duplicate event", err)
		return
	}
	s.redirectWithFlash(c, "/events/"+e.ID+"/edit", "success", "L'édition suivante est créée en brouillon, un an plus tard : vérifiez ses dates et son programme, puis publiez-la.")
}

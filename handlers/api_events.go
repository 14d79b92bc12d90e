package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/dnum-sociaux/agora/internal/form"
	"github.com/dnum-sociaux/agora/models"
)

// Events and registrations in the API. The rules are the models' (who may
// register whom, seats, direction quotas, waiting lists, workshops), the
// emails those of internal/eventmail, as for the web pages.

type apiQuota struct {
	Direction string `json:"direction" doc:"direction code"`
	Seats     int    `json:"seats"`
}

type apiWorkshop struct {
	ID             string `json:"id" doc:"the workshop's session id"`
	Title          string `json:"title"`
	StartsAt       string `json:"starts_at"`
	EndsAt         string `json:"ends_at"`
	Room           string `json:"room"`
	Capacity       *int   `json:"capacity" doc:"null: no limit"`
	ConfirmedCount int    `json:"confirmed_count"`
	WaitlistCount  int    `json:"waitlist_count"`
	Status         string `json:"status" enum:"scheduled|cancelled"`
}

type apiEvent struct {
	ID                   string        `json:"id"`
	Title                string        `json:"title"`
	Description          string        `json:"description" doc:"Markdown"`
	Venue                string        `json:"venue" doc:"name and address of the venue"`
	VenueName            string        `json:"venue_name"`
	VenueAddress         string        `json:"venue_address"`
	OnlineURL            string        `json:"online_url" doc:"video link for remote attendees (organisers only; empty for others)"`
	StartsAt             string        `json:"starts_at"`
	EndsAt               string        `json:"ends_at"`
	Capacity             *int          `json:"capacity" doc:"seats; null: no limit"`
	Modes                []string      `json:"modes" doc:"how one may attend: on_site, remote or both"`
	RegistrationOpensAt  *string       `json:"registration_opens_at"`
	RegistrationClosesAt *string       `json:"registration_closes_at"`
	RegistrationOpen     bool          `json:"registration_open" doc:"whether people may register now"`
	Status               string        `json:"status" enum:"draft|published|closed|cancelled|archived"`
	Quotas               []apiQuota    `json:"quotas" doc:"seats reserved per direction"`
	Workshops            []apiWorkshop `json:"workshops" doc:"the workshops of the programme, each with its own capacity"`
	URL                  string        `json:"url" doc:"the event's page in Agora"`
}

func apiMode(m models.Mode) string {
	if m == models.ModeOnsite {
		return "on_site"
	}
	return string(m)
}

func modelMode(m string) models.Mode {
	switch m {
	case "on_site":
		return models.ModeOnsite
	case "remote":
		return models.ModeRemote
	case "":
		return ""
	}
	return "?"
}

func (s *Server) apiEventOf(ctx context.Context, db *models.DB, e models.Event, acc models.EventAccess) (apiEvent, error) {
	out := apiEvent{
		ID: e.ID, Title: e.Title, Description: e.Description, Venue: e.Location(), VenueName: e.VenueName, VenueAddress: e.VenueAddress, StartsAt: apiTime(e.StartsAt), EndsAt: apiTime(e.EndsAt),
		RegistrationOpensAt: apiTimePtr(e.OpensAt), RegistrationClosesAt: apiTimePtr(e.ClosesAt),
		RegistrationOpen: e.RegistrationState(s.Now()) == models.RegOpen, Status: string(e.Status),
		Quotas: []apiQuota{}, Workshops: []apiWorkshop{}, URL: s.Config.URL("/events/" + e.ID),
	}
	if acc.Organiser {
		out.OnlineURL = e.OnlineURL
	}
	if e.Capacity > 0 {
		n := e.Capacity
		out.Capacity = &n
	}
	for _, m := range e.Modes.Choices() {
		out.Modes = append(out.Modes, apiMode(m))
	}
	quotas, err := db.EventQuotas(ctx, e.ID)
	if err != nil {
		return out, err
	}
	for dir, seats := range quotas {
		out.Quotas = append(out.Quotas, apiQuota{Direction: dir, Seats: seats})
	}
	sort.Slice(out.Quotas, func(i, j int) bool { return out.Quotas[i].Direction < out.Quotas[j].Direction })
	slots, err := db.Programme(ctx, e.ID)
	if err != nil {
		return out, err
	}
	for _, sl := range slots {
		if sl.Kind != models.SlotWorkshop {
			continue
		}
		w := apiWorkshop{ID: sl.ID, Title: sl.Title, StartsAt: apiTime(sl.StartsAt), EndsAt: apiTime(sl.EndsAt), Room: sl.Room,
			ConfirmedCount: sl.Confirmed, WaitlistCount: sl.Waitlisted, Status: string(sl.Status)}
		if sl.Capacity > 0 {
			n := sl.Capacity
			w.Capacity = &n
		}
		out.Workshops = append(out.Workshops, w)
	}
	return out, nil
}

// apiLoadEvent reads :id with the caller's access: an event the caller may
// not see does not exist (404).
func (s *Server) apiLoadEvent(c *gin.Context) (models.Event, models.EventAccess, bool) {
	ctx := c.Request.Context()
	e, err := s.Store.EventByID(ctx, c.Param("id"))
	if err != nil {
		s.apiModelError(c, err)
		return e, models.EventAccess{}, false
	}
	acc, err := s.Store.EventAccessFor(ctx, e.ID, currentUser(c))
	if err != nil {
		s.apiServerError(c, "event access", err)
		return e, acc, false
	}
	if !e.Status.Visible() && !acc.Organiser {
		s.apiModelError(c, models.ErrNotFound)
		return e, acc, false
	}
	return e, acc, true
}

// GET /events
func (s *Server) apiEventList(c *gin.Context) {
	limit, offset, ok := s.pageParams(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	u := currentUser(c)
	f := models.EventFilter{Visible: true, Upcoming: c.DefaultQuery("when", "upcoming") == "upcoming", Limit: 500}
	switch c.DefaultQuery("when", "upcoming") {
	case "upcoming", "all":
	default:
		s.apiProblem(c, http.StatusBadRequest, "Paramètre when invalide.", FieldError{Field: "when", Detail: "Valeurs possibles : upcoming, all."})
		return
	}
	events, err := s.Store.ListEvents(ctx, f)
	if err != nil {
		s.apiServerError(c, "list events", err)
		return
	}
	// Organisers also see their drafts.
	mine, err := s.Store.ListEvents(ctx, models.EventFilter{OrganiserID: u.ID, Upcoming: f.Upcoming, Limit: 500})
	if err != nil {
		s.apiServerError(c, "list events", err)
		return
	}
	seen := map[string]bool{}
	for _, e := range events {
		seen[e.ID] = true
	}
	for _, e := range mine {
		if !seen[e.ID] {
			events = append(events, e)
		}
	}
	if u.IsAdmin() {
		all, err := s.Store.ListEvents(ctx, models.EventFilter{Upcoming: f.Upcoming, Limit: 500})
		if err != nil {
			s.apiServerError(c, "list events", err)
			return
		}
		events = all
	}
	sort.SliceStable(events, func(i, j int) bool { return events[i].StartsAt.Before(events[j].StartsAt) })
	out, ok := apiMapItems(s, c, "event", events, func(e models.Event) (apiEvent, error) {
		acc, err := s.Store.EventAccessFor(ctx, e.ID, u)
		if err != nil {
			return apiEvent{}, fmt.Errorf("event access: %w", err)
		}
		return s.apiEventOf(ctx, &s.Store.DB, e, acc)
	})
	if ok {
		s.apiJSON(c, http.StatusOK, pageSlice(out, limit, offset))
	}
}

// GET /events/{id}
func (s *Server) apiEventShow(c *gin.Context) {
	e, acc, ok := s.apiLoadEvent(c)
	if !ok {
		return
	}
	out, err := s.apiEventOf(c.Request.Context(), &s.Store.DB, e, acc)
	s.apiRespond(c, "event", out, err)
}

type apiRegistration struct {
	ID        string            `json:"id"`
	EventID   string            `json:"event_id"`
	Email     string            `json:"email"`
	Name      string            `json:"name"`
	Direction *string           `json:"direction" doc:"direction code"`
	Mode      string            `json:"mode" enum:"on_site|remote"`
	State     string            `json:"state" enum:"confirmed|waitlisted|cancelled"`
	Position  *int              `json:"position" doc:"place on the waiting list (1 is next); null unless waitlisted"`
	Workshops []apiChoice       `json:"workshops" doc:"the workshops chosen, each with its own state"`
	Answers   map[string]string `json:"answers" doc:"answers to the event's questions, by question id (several values of a multiple choice on separate lines)"`
	CreatedAt string            `json:"created_at"`
}

type apiChoice struct {
	ID    string `json:"id" doc:"the workshop's session id"`
	Title string `json:"title"`
	State string `json:"state" enum:"confirmed|waitlisted|pending|cancelled"`
}

func regState(r models.Registration) string { return string(r.State) }

func (s *Server) apiRegistrationOf(ctx context.Context, db *models.DB, r models.Registration) (apiRegistration, error) {
	out := apiRegistration{ID: r.ID, EventID: r.EventID, Email: r.Email, Name: r.Name, Mode: apiMode(r.Mode),
		State: regState(r), Workshops: []apiChoice{}, Answers: map[string]string{}, CreatedAt: apiTime(r.CreatedAt)}
	if r.DirectionCode != "" {
		d := r.DirectionCode
		out.Direction = &d
	}
	if r.State == models.RegWaitlisted {
		waiting, _, err := db.ListRegistrations(ctx, models.RegistrationFilter{EventID: r.EventID, State: models.RegWaitlisted, Limit: 100000})
		if err != nil {
			return out, err
		}
		pos := 0
		for _, w := range waiting {
			if w.Seq <= r.Seq {
				pos++
			}
		}
		out.Position = &pos
	}
	choices, err := db.RegistrationWorkshops(ctx, r.ID, false)
	if err != nil {
		return out, err
	}
	for _, ch := range choices {
		out.Workshops = append(out.Workshops, apiChoice{ID: ch.Session.ID, Title: ch.Session.Title, State: string(ch.State)})
	}
	answers, err := db.RegistrationAnswers(ctx, r.ID)
	if err != nil {
		return out, err
	}
	for k, v := range answers {
		out.Answers[k] = v
	}
	return out, nil
}

// apiRegistrationInput registers someone. Without email, the caller
// registers themselves; organisers of the event register anyone; a
// direction's correspondent registers agents of that direction.
type apiRegistrationInput struct {
	Email     string              `json:"email" doc:"the person to register; absent: the caller"`
	Name      string              `json:"name" doc:"required when registering someone else"`
	Direction string              `json:"direction" doc:"direction code; required when registering someone else"`
	Mode      string              `json:"mode" enum:"on_site|remote" doc:"required when the event offers both"`
	Workshops []string            `json:"workshops" doc:"ids of the chosen workshops (no two at the same time)"`
	Answers   map[string][]string `json:"answers" doc:"answers by question id; a list of values for each"`
}

// GET /events/{id}/registrations: organisers see every registration; a
// correspondent those of their directions; an agent their own.
func (s *Server) apiEventRegistrations(c *gin.Context) {
	e, acc, ok := s.apiLoadEvent(c)
	if !ok {
		return
	}
	limit, offset, ok := s.pageParams(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	u := currentUser(c)
	f := models.RegistrationFilter{EventID: e.ID, Query: c.Query("q"), Direction: c.Query("direction"), Limit: limit + 1, Offset: offset}
	if st := c.Query("state"); st != "" {
		if !models.RegState(st).Valid() {
			s.apiProblem(c, http.StatusBadRequest, "Paramètre state invalide.", FieldError{Field: "state", Detail: "Valeurs possibles : confirmed, waitlisted, cancelled."})
			return
		}
		f.State = models.RegState(st)
	}
	var items []models.Registration
	var err error
	switch {
	case acc.Organiser:
		items, _, err = s.Store.ListRegistrations(ctx, f)
	case acc.Correspondent():
		f.Directions = acc.Directions
		items, _, err = s.Store.ListRegistrations(ctx, f)
	default:
		var own []models.Registration
		own, err = s.Store.UserRegistrations(ctx, u.ID, u.Email)
		for _, r := range own {
			if r.EventID == e.ID && (f.State == "" || r.State == f.State) {
				items = append(items, r)
			}
		}
		if offset > 0 {
			items = nil
		}
	}
	if err != nil {
		s.apiServerError(c, "list registrations", err)
		return
	}
	out, ok := apiMapItems(s, c, "registration", items, func(r models.Registration) (apiRegistration, error) {
		return s.apiRegistrationOf(ctx, &s.Store.DB, r)
	})
	if ok {
		s.apiJSON(c, http.StatusOK, pageOf(out, limit, offset))
	}
}

// POST /events/{id}/registrations. Accepts Idempotency-Key: a retry never
// registers twice.
func (s *Server) apiRegister(c *gin.Context) {
	e, acc, ok := s.apiLoadEvent(c)
	if !ok {
		return
	}
	var in apiRegistrationInput
	body, ok := s.decodeJSON(c, &in)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	u := currentUser(c)
	qs, err := s.Store.EventQuestions(ctx, e.ID)
	if err != nil {
		s.apiServerError(c, "questions", err)
		return
	}
	slots, err := s.Store.Programme(ctx, e.ID)
	if err != nil {
		s.apiServerError(c, "programme", err)
		return
	}
	var errs form.Errors
	nr := models.NewRegistration{EventID: e.ID, Workshops: in.Workshops, Actor: actor(c)}
	email := strings.TrimSpace(in.Email)
	if email == "" || models.NormaliseEmail(email) == u.Email {
		nr.Email, nr.Name, nr.DirectionCode, nr.UserID = u.Email, u.Name, u.DirectionCode, u.ID
	} else {
		if !acc.Organiser && !acc.Correspondent() {
			s.apiProblem(c, http.StatusForbidden, "Seuls les organisateurs de l'événement et les référents de direction inscrivent d'autres personnes.")
			return
		}
		nr.Email = errs.Email("email", email)
		if nr.Email != "" && !s.Config.EmailAllowed(nr.Email) {
			errs.Add("email", "Cette adresse n'appartient pas à un domaine autorisé.")
		}
		nr.Name = errs.Text("name", in.Name, true, 100)
		nr.DirectionCode = models.NormaliseDirectionCode(in.Direction)
		if nr.DirectionCode == "" {
			errs.Add("direction", "Indiquez la direction de la personne (son sigle, par exemple DGS).")
		} else if d, err := s.Store.DirectionByCode(ctx, nr.DirectionCode); err != nil || !d.Active {
			errs.Add("direction", "Cette direction n'existe pas.")
		} else if !acc.ForDirection(nr.DirectionCode) {
			s.apiProblem(c, http.StatusForbidden, "Vous êtes référent d'autres directions : vous ne pouvez pas inscrire un agent de "+nr.DirectionCode+".")
			return
		}
		nr.By = u
	}
	mode := modelMode(in.Mode)
	if choices := e.Modes.Choices(); len(choices) == 1 && mode == "" {
		mode = choices[0]
	}
	if !e.Modes.Offers(mode) {
		errs.Add("mode", "Choisissez un mode de participation proposé par l'événement : "+strings.Join(func() []string {
			var out []string
			for _, m := range e.Modes.Choices() {
				out = append(out, apiMode(m))
			}
			return out
		}(), " ou ")+".")
	}
	nr.Mode = mode
	vals, problems := models.CheckAnswers(qs, in.Answers)
	for id, p := range problems {
		errs.Add("answers."+id, p)
	}
	nr.Answers = vals
	switch err := models.CheckWorkshopChoice(slots, in.Workshops); {
	case errors.Is(err, models.ErrWorkshopOverlap):
		errs.Add("workshops", "Deux des ateliers choisis ont lieu en même temps : n'en gardez qu'un.")
	case err != nil:
		errs.Add("workshops", "Un des ateliers choisis n'existe pas dans le programme de l'événement.")
	}
	if errs.Any() {
		s.apiModelError(c, apiFieldErrors(errs, nil))
		return
	}
	n := s.events
	s.idempotent(c, body, func(tx *models.Tx) (int, string, any, error) {
		r, err := tx.Register(ctx, n, nr)
		if err != nil {
			return 0, "", nil, registrationRuleError(err)
		}
		out, err := s.apiRegistrationOf(ctx, &tx.DB, r)
		return http.StatusCreated, s.Config.URL(apiBase + "/registrations/" + r.ID), out, err
	})
	s.NotifyMail()
}

func registrationRuleError(err error) error {
	switch {
	case errors.Is(err, models.ErrAlreadyRegistered):
		return problemError{http.StatusConflict, "Cette personne est déjà inscrite à l'événement."}
	case errors.Is(err, models.ErrRegistrationClosed):
		return problemError{http.StatusConflict, "Les inscriptions à cet événement ne sont pas ouvertes."}
	case errors.Is(err, models.ErrModeNotOffered):
		return fieldErrors(map[string]string{"mode": "Ce mode de participation n'est pas proposé."})
	case errors.Is(err, models.ErrWorkshopOverlap), errors.Is(err, models.ErrUnknownWorkshop):
		return fieldErrors(map[string]string{"workshops": "Un des ateliers choisis n'est plus disponible ou en chevauche un autre."})
	case errors.Is(err, models.ErrAlreadyCancelled):
		return problemError{http.StatusConflict, "Cette inscription est déjà annulée."}
	}
	return err
}

// apiLoadRegistration reads :id for someone who may see it: the person,
// the event's organisers, the correspondents of the person's direction.
func (s *Server) apiLoadRegistration(c *gin.Context) (models.Registration, models.EventAccess, bool) {
	ctx := c.Request.Context()
	u := currentUser(c)
	r, err := s.Store.RegistrationByID(ctx, c.Param("id"))
	if err != nil {
		s.apiModelError(c, err)
		return r, models.EventAccess{}, false
	}
	acc, err := s.Store.EventAccessFor(ctx, r.EventID, u)
	if err != nil {
		s.apiServerError(c, "event access", err)
		return r, acc, false
	}
	own := r.UserID == u.ID || r.Email == u.Email
	if !own && !acc.ForDirection(r.DirectionCode) {
		s.apiModelError(c, models.ErrNotFound)
		return r, acc, false
	}
	return r, acc, true
}

// GET /registrations/{id}
func (s *Server) apiRegistrationShow(c *gin.Context) {
	r, _, ok := s.apiLoadRegistration(c)
	if !ok {
		return
	}
	out, err := s.apiRegistrationOf(c.Request.Context(), &s.Store.DB, r)
	s.apiRespond(c, "registration", out, err)
}

// DELETE /registrations/{id}: cancels it; the seat goes to the next in line,
// who is told, and the person gets the cancellation in their calendar.
func (s *Server) apiRegistrationCancel(c *gin.Context) {
	r, acc, ok := s.apiLoadRegistration(c)
	if !ok {
		return
	}
	u := currentUser(c)
	byOrganiser := r.UserID != u.ID && r.Email != u.Email && acc.Organiser
	n := s.events
	out, ok := apiCommit(s, c, func(ctx context.Context, tx *models.Tx) (apiRegistration, error) {
		done, err := tx.CancelRegistration(ctx, n, actor(c), r.ID, byOrganiser)
		if err != nil {
			return apiRegistration{}, registrationRuleError(err)
		}
		return s.apiRegistrationOf(ctx, &tx.DB, done)
	})
	if !ok {
		return
	}
	s.NotifyMail()
	s.apiJSON(c, http.StatusOK, out)
}

// apiEventInput creates an event (POST, organisers): a draft until
// published on the web.
type apiEventInput struct {
	Title                string  `json:"title" api:"required"`
	Description          string  `json:"description" doc:"Markdown"`
	VenueName            string  `json:"venue_name"`
	VenueAddress         string  `json:"venue_address"`
	VenueAccess          string  `json:"venue_access" doc:"how to get there"`
	VenueAccessibility   string  `json:"venue_accessibility"`
	OnlineURL            string  `json:"online_url" doc:"video link for remote attendees"`
	StartsAt             string  `json:"starts_at" api:"required" doc:"RFC 3339 with offset"`
	EndsAt               string  `json:"ends_at" api:"required" doc:"RFC 3339 with offset"`
	RegistrationOpensAt  *string `json:"registration_opens_at" doc:"RFC 3339; null: open on publication"`
	RegistrationClosesAt *string `json:"registration_closes_at" doc:"RFC 3339; null: open until the event"`
	Capacity             int     `json:"capacity" doc:"seats; 0: no limit"`
	Modes                string  `json:"modes" api:"required" enum:"on_site|remote|both"`
}

// apiEventPatch changes an event: absent fields keep their value; null
// removes a registration bound.
type apiEventPatch struct {
	Title                *string         `json:"title"`
	Description          *string         `json:"description"`
	VenueName            *string         `json:"venue_name"`
	VenueAddress         *string         `json:"venue_address"`
	VenueAccess          *string         `json:"venue_access"`
	VenueAccessibility   *string         `json:"venue_accessibility"`
	OnlineURL            *string         `json:"online_url"`
	StartsAt             *string         `json:"starts_at"`
	EndsAt               *string         `json:"ends_at"`
	RegistrationOpensAt  json.RawMessage `json:"registration_opens_at" doc:"RFC 3339 or null"`
	RegistrationClosesAt json.RawMessage `json:"registration_closes_at" doc:"RFC 3339 or null"`
	Capacity             *int            `json:"capacity"`
	Modes                *string         `json:"modes" enum:"on_site|remote|both"`
}

var eventFieldNames = map[string]string{"opens_at": "registration_opens_at", "closes_at": "registration_closes_at"}

// localTime turns an RFC 3339 time into the web form's Paris datetime-local.
func localTime(v string, field string, errs map[string]string) string {
	if strings.TrimSpace(v) == "" {
		return ""
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		errs[field] = "Donnez une date et une heure au format RFC 3339, par exemple 2027-03-10T09:00:00+01:00."
		return ""
	}
	return t.In(models.Paris).Format(dateTimeLocal)
}

func modelModes(m string) string {
	if m == "on_site" {
		return string(models.ModesOnsite)
	}
	if m == string(models.ModesOnsite) {
		return "?"
	}
	return m
}

// validateEventForm validates f as the web does, plus the RFC 3339 errors.
func validateEventForm(f *eventForm, timeErrs map[string]string) error {
	errs := f.Validate()
	merged := map[string]string{}
	for k, v := range errs {
		if n, ok := eventFieldNames[k]; ok {
			k = n
		}
		merged[k] = v
	}
	for k, v := range timeErrs {
		merged[k] = v
	}
	return fieldErrors(merged)
}

// POST /events: organisers create a draft event, as on the web.
func (s *Server) apiEventCreate(c *gin.Context) {
	var in apiEventInput
	if _, ok := s.decodeJSON(c, &in); !ok {
		return
	}
	u := currentUser(c)
	if !u.IsOrganiser() {
		s.apiProblem(c, http.StatusForbidden, "Seuls les organisateurs peuvent créer un événement.")
		return
	}
	te := map[string]string{}
	f := eventForm{Title: in.Title, Description: in.Description, VenueName: in.VenueName, VenueAddress: in.VenueAddress,
		VenueAccess: in.VenueAccess, VenueAccessibility: in.VenueAccessibility, OnlineURL: in.OnlineURL,
		StartsAt: localTime(in.StartsAt, "starts_at", te), EndsAt: localTime(in.EndsAt, "ends_at", te),
		Capacity: strconv.Itoa(in.Capacity), Modes: modelModes(in.Modes)}
	if in.RegistrationOpensAt != nil {
		f.OpensAt = localTime(*in.RegistrationOpensAt, "registration_opens_at", te)
	}
	if in.RegistrationClosesAt != nil {
		f.ClosesAt = localTime(*in.RegistrationClosesAt, "registration_closes_at", te)
	}
	if err := validateEventForm(&f, te); err != nil {
		s.apiModelError(c, err)
		return
	}
	out, ok := apiCommit(s, c, func(ctx context.Context, tx *models.Tx) (apiEvent, error) {
		e, err := tx.CreateEvent(ctx, actor(c), s.Config.BaseURL.Host, f.in)
		if err != nil {
			return apiEvent{}, err
		}
		return s.apiEventOf(ctx, &tx.DB, e, models.EventAccess{Organiser: true})
	})
	if ok {
		s.apiCreated(c, "/events/"+out.ID, out)
	}
}

// PATCH /events/{id}: the event's organisers; registrants are told when the
// time or place changes, as on the web.
func (s *Server) apiEventUpdate(c *gin.Context) {
	e, acc, ok := s.apiLoadEvent(c)
	if !ok {
		return
	}
	var p apiEventPatch
	if _, ok := s.decodeJSON(c, &p); !ok {
		return
	}
	if !acc.Organiser {
		s.apiProblem(c, http.StatusForbidden, "Seuls les organisateurs de l'événement peuvent le modifier.")
		return
	}
	f := eventFormOf(&e)
	for dst, v := range map[*string]*string{&f.Title: p.Title, &f.Description: p.Description, &f.VenueName: p.VenueName,
		&f.VenueAddress: p.VenueAddress, &f.VenueAccess: p.VenueAccess, &f.VenueAccessibility: p.VenueAccessibility, &f.OnlineURL: p.OnlineURL} {
		if v != nil {
			*dst = *v
		}
	}
	te := map[string]string{}
	if p.StartsAt != nil {
		f.StartsAt = localTime(*p.StartsAt, "starts_at", te)
	}
	if p.EndsAt != nil {
		f.EndsAt = localTime(*p.EndsAt, "ends_at", te)
	}
	for _, b := range []struct {
		raw   json.RawMessage
		dst   *string
		field string
	}{{p.RegistrationOpensAt, &f.OpensAt, "registration_opens_at"}, {p.RegistrationClosesAt, &f.ClosesAt, "registration_closes_at"}} {
		if len(b.raw) == 0 {
			continue
		}
		var v *string
		if err := json.Unmarshal(b.raw, &v); err != nil {
			te[b.field] = "Donnez une date au format RFC 3339, ou null."
			continue
		}
		*b.dst = ""
		if v != nil {
			*b.dst = localTime(*v, b.field, te)
		}
	}
	if p.Capacity != nil {
		f.Capacity = strconv.Itoa(*p.Capacity)
	}
	if p.Modes != nil {
		f.Modes = modelModes(*p.Modes)
	}
	if err := validateEventForm(&f, te); err != nil {
		s.apiModelError(c, err)
		return
	}
	out, ok := apiCommit(s, c, func(ctx context.Context, tx *models.Tx) (apiEvent, error) {
		updated, err := tx.UpdateEvent(ctx, s.events, actor(c), e.ID, f.in)
		if errors.Is(err, models.ErrQuotaOverCapacity) {
			return apiEvent{}, fieldErrors(map[string]string{"capacity": "Les places réservées aux directions dépassent cette capacité : réduisez d'abord les quotas."})
		}
		if err != nil {
			return apiEvent{}, err
		}
		return s.apiEventOf(ctx, &tx.DB, updated, acc)
	})
	if !ok {
		return
	}
	s.NotifyMail()
	s.apiJSON(c, http.StatusOK, out)
}

// apiRegistrationPatch changes a registration: absent fields keep their
// value.
type apiRegistrationPatch struct {
	Name      *string             `json:"name"`
	Mode      *string             `json:"mode" enum:"on_site|remote" doc:"switching to on_site needs a free seat"`
	Workshops *[]string           `json:"workshops" doc:"replaces the workshop choices"`
	Answers   map[string][]string `json:"answers" doc:"replaces the answers"`
}

// PATCH /registrations/{id}: the person, the organisers, or the
// correspondents of the person's direction.
func (s *Server) apiRegistrationUpdate(c *gin.Context) {
	r, _, ok := s.apiLoadRegistration(c)
	if !ok {
		return
	}
	var p apiRegistrationPatch
	if _, ok := s.decodeJSON(c, &p); !ok {
		return
	}
	ctx := c.Request.Context()
	e, err := s.Store.EventByID(ctx, r.EventID)
	if err != nil {
		s.apiServerError(c, "event", err)
		return
	}
	var errs form.Errors
	var ch models.RegistrationChange
	if p.Name != nil {
		ch.Name = errs.Text("name", *p.Name, true, 100)
	}
	if p.Mode != nil {
		ch.Mode = modelMode(*p.Mode)
		if !e.Modes.Offers(ch.Mode) {
			errs.Add("mode", "Ce mode de participation n'est pas proposé par l'événement.")
		}
	}
	if p.Answers != nil {
		qs, err := s.Store.EventQuestions(ctx, e.ID)
		if err != nil {
			s.apiServerError(c, "questions", err)
			return
		}
		vals, problems := models.CheckAnswers(qs, p.Answers)
		for id, pr := range problems {
			errs.Add("answers."+id, pr)
		}
		ch.Answers = vals
	}
	if p.Workshops != nil {
		slots, err := s.Store.Programme(ctx, e.ID)
		if err != nil {
			s.apiServerError(c, "programme", err)
			return
		}
		if err := models.CheckWorkshopChoice(slots, *p.Workshops); err != nil {
			errs.Add("workshops", "Un des ateliers choisis n'existe pas ou en chevauche un autre.")
		}
		ch.Workshops = p.Workshops
	}
	if errs.Any() {
		s.apiModelError(c, apiFieldErrors(errs, nil))
		return
	}
	out, ok := apiCommit(s, c, func(ctx context.Context, tx *models.Tx) (apiRegistration, error) {
		updated, err := tx.UpdateRegistration(ctx, s.events, actor(c), r.ID, ch)
		if err != nil {
			if errors.Is(err, models.ErrNoSeat) {
				return apiRegistration{}, problemError{http.StatusConflict, "Plus aucune place sur place n'est libre pour cette direction."}
			}
			return apiRegistration{}, registrationRuleError(err)
		}
		return s.apiRegistrationOf(ctx, &tx.DB, updated)
	})
	if !ok {
		return
	}
	s.NotifyMail()
	s.apiJSON(c, http.StatusOK, out)
}

package handlers

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"strings"

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
		ID: e.ID, Title: e.Title, Description: e.Description, Venue: e.Location(), StartsAt: apiTime(e.StartsAt), EndsAt: apiTime(e.EndsAt),
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
	out := make([]apiEvent, 0, len(events))
	for _, e := range events {
		acc, err := s.Store.EventAccessFor(ctx, e.ID, u)
		if err != nil {
			s.apiServerError(c, "event access", err)
			return
		}
		ae, err := s.apiEventOf(ctx, &s.Store.DB, e, acc)
		if err != nil {
			s.apiServerError(c, "event", err)
			return
		}
		out = append(out, ae)
	}
	s.apiJSON(c, http.StatusOK, pageSlice(out, limit, offset))
}

// GET /events/{id}
func (s *Server) apiEventShow(c *gin.Context) {
	e, acc, ok := s.apiLoadEvent(c)
	if !ok {
		return
	}
	out, err := s.apiEventOf(c.Request.Context(), &s.Store.DB, e, acc)
	if err != nil {
		s.apiServerError(c, "event", err)
		return
	}
	s.apiJSON(c, http.StatusOK, out)
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
	out := make([]apiRegistration, 0, len(items))
	for _, r := range items {
		ar, err := s.apiRegistrationOf(ctx, &s.Store.DB, r)
		if err != nil {
			s.apiServerError(c, "registration", err)
			return
		}
		out = append(out, ar)
	}
	s.apiJSON(c, http.StatusOK, pageOf(out, limit, offset))
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
	if err != nil {
		s.apiServerError(c, "registration", err)
		return
	}
	s.apiJSON(c, http.StatusOK, out)
}

// DELETE /registrations/{id}: cancels it; the seat goes to the next in line,
// who is told, and the person gets the cancellation in their calendar.
func (s *Server) apiRegistrationCancel(c *gin.Context) {
	r, acc, ok := s.apiLoadRegistration(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	u := currentUser(c)
	byOrganiser := r.UserID != u.ID && r.Email != u.Email && acc.Organiser
	n := s.events
	var out apiRegistration
	err := s.Store.Tx(ctx, func(tx *models.Tx) error {
		done, err := tx.CancelRegistration(ctx, n, actor(c), r.ID, byOrganiser)
		if err != nil {
			return registrationRuleError(err)
		}
		out, err = s.apiRegistrationOf(ctx, &tx.DB, done)
		return err
	})
	if err != nil {
		s.apiModelError(c, err)
		return
	}
	s.NotifyMail()
	s.apiJSON(c, http.StatusOK, out)
}

package handlers

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"
	qrcode "github.com/skip2/go-qrcode"

	"github.com/dnum-sociaux/agora/internal/form"
	"github.com/dnum-sociaux/agora/internal/mail"
	"github.com/dnum-sociaux/agora/models"
)

// WorkshopGroup is a set of workshops that overlap in time: a person
// chooses at most one of them.
type WorkshopGroup struct {
	Name  string // form field name
	Label string // "Ateliers de 10 h à 11 h 30"
	Slots []models.Slot
}

// workshopGroups groups the event's workshops into overlapping clusters.
func workshopGroups(slots []models.Slot) []WorkshopGroup {
	var out []WorkshopGroup
	var end int64
	for _, s := range slots {
		if s.Kind != models.SlotWorkshop || s.Cancelled() {
			continue
		}
		if len(out) == 0 || s.StartsAt.Unix() >= end {
			out = append(out, WorkshopGroup{Name: fmt.Sprintf("ws_%d", len(out)+1)})
			end = 0
		}
		g := &out[len(out)-1]
		g.Slots = append(g.Slots, s)
		end = max(end, s.EndsAt.Unix())
	}
	for i := range out {
		g := &out[i]
		first, last := g.Slots[0].StartsAt, g.Slots[0].EndsAt
		for _, s := range g.Slots {
			if s.EndsAt.After(last) {
				last = s.EndsAt
			}
		}
		g.Label = "Atelier du " + dateFR(first) + " de " + clockFR(first) + " à " + clockFR(last)
	}
	return out
}

// registerForm is what a person answers when registering (or changing
// their registration).
type registerForm struct {
	Mode      string
	Answers   map[string][]string // question id → values
	Workshops []string

	answers map[string]string
}

// registerFormFrom reads the form: the mode, the answers to the questions,
// and the workshops chosen in the ws_N groups (whatever their number, so the
// programme need not be read to parse the form).
func registerFormFrom(c *gin.Context, questions []models.Question) registerForm {
	f := registerForm{Mode: c.PostForm("mode"), Answers: map[string][]string{}}
	for _, q := range questions {
		f.Answers[q.ID] = c.PostFormArray("q_" + q.ID)
	}
	var keys []string
	for k, v := range c.Request.PostForm {
		if strings.HasPrefix(k, "ws_") && len(v) > 0 && v[0] != "" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		f.Workshops = append(f.Workshops, c.Request.PostForm.Get(k))
	}
	return f
}

// Validate checks the answers against the event's questions and workshops.
func (f *registerForm) Validate(e *models.Event, questions []models.Question, slots []models.Slot) form.Errors {
	var errs form.Errors
	choices := e.Modes.Choices()
	if len(choices) == 1 && f.Mode == "" {
		f.Mode = string(choices[0])
	}
	if !e.Modes.Offers(models.Mode(f.Mode)) {
		errs.Add("mode", "Choisissez comment vous participez.")
	}
	vals, problems := models.CheckAnswers(questions, f.Answers)
	for id, p := range problems {
		errs.Add("q_"+id, p)
	}
	f.answers = vals
	if slots == nil {
		return errs // the workshops are checked by the model, in the transaction
	}
	switch err := models.CheckWorkshopChoice(slots, f.Workshops); {
	case errors.Is(err, models.ErrWorkshopOverlap):
		errs.Add("workshops", "Deux de vos ateliers ont lieu en même temps : n'en gardez qu'un.")
	case err != nil:
		errs.Add("workshops", "Un des ateliers choisis n'existe plus : choisissez de nouveau.")
	}
	return errs
}

// HasAnswer tells whether value was given for question id (for checked boxes).
func (f registerForm) HasAnswer(id, value string) bool { return slices.Contains(f.Answers[id], value) }

// Answer is the first value given for question id.
func (f registerForm) Answer(id string) string {
	if v := f.Answers[id]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Chose tells whether the workshop id is chosen.
func (f registerForm) Chose(id string) bool { return slices.Contains(f.Workshops, id) }

func registerFormOf(r *models.Registration, answers map[string]string, choices []models.WorkshopChoice) registerForm {
	f := registerForm{Mode: string(r.Mode), Answers: map[string][]string{}}
	for id, v := range answers {
		f.Answers[id] = strings.Split(v, "\n")
	}
	for _, c := range choices {
		f.Workshops = append(f.Workshops, c.Session.ID)
	}
	return f
}

type registerPage struct {
	Layout
	Event     models.Event
	Form      registerForm
	Errors    form.Errors
	Questions []models.Question
	Groups    []WorkshopGroup
	Left      models.SeatsLeft
	Action    string
	// For the management page:
	Reg     *models.Registration
	Choices []models.WorkshopChoice
	Token   string // the management link token, when reached through it
	Base    string // URL prefix of the management actions
}

func (s *Server) eventFormData(c *gin.Context, e *models.Event) ([]models.Question, []models.Slot, bool) {
	ctx := c.Request.Context()
	qs, err := s.Store.FormQuestions(ctx, e)
	if err != nil {
		s.serverError(c, "questions", err)
		return nil, nil, false
	}
	slots, err := s.Store.Programme(ctx, e.ID)
	if err != nil {
		s.serverError(c, "programme", err)
		return nil, nil, false
	}
	return qs, slots, true
}

func (s *Server) registrationClosedText(e *models.Event) string {
	switch e.RegistrationState(s.Now()) {
	case models.RegNotYet:
		return "Les inscriptions ouvriront le " + datetimeFR(e.OpensAt) + "."
	case models.RegNotPublished:
		return "Cet événement n'est pas encore publié."
	}
	if e.Status == models.EventCancelled {
		return "Cet événement est annulé."
	}
	return "Les inscriptions sont closes."
}

func (s *Server) eventRegisterShow(c *gin.Context) {
	ev, ok := s.loadEvent(c, needView)
	if !ok {
		return
	}
	u := currentUser(c)
	if r, err := s.Store.RegistrationByEmail(c.Request.Context(), ev.Event.ID, u.Email); err == nil && r.State != models.RegCancelled {
		c.Redirect(http.StatusSeeOther, "/events/"+ev.Event.ID+"/inscription")
		return
	}
	if ev.Event.RegistrationState(s.Now()) != models.RegOpen {
		s.redirectWithFlash(c, "/events/"+ev.Event.ID, "info", s.registrationClosedText(&ev.Event))
		return
	}
	qs, slots, ok := s.eventFormData(c, &ev.Event)
	if !ok {
		return
	}
	s.renderRegister(c, http.StatusOK, &ev.Event, registerForm{Mode: string(ev.Event.Modes.Choices()[0])}, nil, qs, slots)
}

func (s *Server) renderRegister(c *gin.Context, status int, e *models.Event, f registerForm, errs form.Errors, qs []models.Question, slots []models.Slot) {
	left, err := s.Store.SeatsLeftFor(c.Request.Context(), e, currentUser(c).DirectionCode)
	if err != nil {
		s.serverError(c, "seats left", err)
		return
	}
	s.render(c, status, "event_register", registerPage{
		Layout: s.layout(c, "S'inscrire — "+e.Title, "events", eventCrumbs(e, "S'inscrire")...),
		Event:  *e, Form: f, Errors: errs, Questions: qs, Groups: workshopGroups(slots), Left: left,
		Action: "/events/" + e.ID + "/register",
	})
}

func (s *Server) eventRegister(c *gin.Context) {
	ev, ok := s.loadEvent(c, needVisible)
	if !ok {
		return
	}
	// The peak of the registration opening goes through here: the programme
	// is read only to show the form again; the workshop choice is checked by
	// the model, in the transaction.
	qs, err := s.Store.FormQuestions(c.Request.Context(), &ev.Event)
	if err != nil {
		s.serverError(c, "questions", err)
		return
	}
	f := registerFormFrom(c, qs)
	errs := f.Validate(&ev.Event, qs, nil)
	if errs.Any() {
		if qs, slots, ok := s.eventFormData(c, &ev.Event); ok {
			s.renderRegister(c, http.StatusUnprocessableEntity, &ev.Event, f, errs, qs, slots)
		}
		return
	}
	u := currentUser(c)
	ctx := c.Request.Context()
	var r models.Registration
	err = s.Store.Batch(ctx, func(tx *models.Tx) error {
		var err error
		r, err = tx.Register(ctx, s.events, models.NewRegistration{
			EventID: ev.Event.ID, Email: u.Email, Name: u.Name, DirectionCode: u.DirectionCode, UserID: u.ID,
			Mode: models.Mode(f.Mode), Answers: f.answers, Workshops: f.Workshops, Actor: actor(c),
		})
		return err
	})
	switch {
	case errors.Is(err, models.ErrAlreadyRegistered):
		s.redirectWithFlash(c, "/events/"+ev.Event.ID+"/inscription", "info", "Vous êtes déjà inscrit·e à cet événement.")
		return
	case errors.Is(err, models.ErrRegistrationClosed):
		s.redirectWithFlash(c, "/events/"+ev.Event.ID, "error", s.registrationClosedText(&ev.Event))
		return
	case errors.Is(err, models.ErrWorkshopOverlap), errors.Is(err, models.ErrUnknownWorkshop):
		errs.Add("workshops", "Un des ateliers choisis n'est plus disponible ou chevauche un autre : choisissez de nouveau.")
		if qs, slots, ok := s.eventFormData(c, &ev.Event); ok {
			s.renderRegister(c, http.StatusUnprocessableEntity, &ev.Event, f, errs, qs, slots)
		}
		return
	case errors.Is(err, models.ErrModeNotOffered):
		errs.Add("mode", "Ce mode de participation n'est pas proposé.")
		if qs, slots, ok := s.eventFormData(c, &ev.Event); ok {
			s.renderRegister(c, http.StatusUnprocessableEntity, &ev.Event, f, errs, qs, slots)
		}
		return
	case err != nil:
		s.serverError(c, "register", err)
		return
	}
	s.NotifyMail()
	if r.State == models.RegWaitlisted {
		s.redirectWithFlash(c, "/events/"+ev.Event.ID, "info", "L'événement est complet : vous êtes en liste d'attente. Nous vous écrirons si une place se libère.")
		return
	}
	s.redirectWithFlash(c, "/events/"+ev.Event.ID, "success", "Votre inscription est confirmée. Un courriel avec l'invitation pour votre agenda vous a été envoyé.")
}

// --- managing one's registration: through the secret link, or logged in ---

// manageTarget finds the registration being managed: through the :token
// link (no login) or the logged-in person's registration at :id.
func (s *Server) manageTarget(c *gin.Context) (models.Registration, models.Event, string, bool) {
	ctx := c.Request.Context()
	if token := c.Param("token"); token != "" {
		r, e, err := s.Store.RegistrationByLink(ctx, token)
		switch {
		case errors.Is(err, models.ErrLinkExpired):
			s.errorPage(c, http.StatusGone, "Ce lien de gestion a expiré : l'événement « "+e.Title+" » est terminé et archivé.")
			return r, e, "", false
		case errors.Is(err, models.ErrNotFound):
			s.badManageLink(c, token) // events_link.go
			return r, e, "", false
		case err != nil:
			s.serverError(c, "registration by link", err)
			return r, e, "", false
		}
		return r, e, "/inscription/" + token, true
	}
	u := currentUser(c)
	if u == nil {
		c.Redirect(http.StatusSeeOther, "/login?next="+urlQueryEscape(c.Request.URL.RequestURI()))
		return models.Registration{}, models.Event{}, "", false
	}
	ev, ok := s.loadEvent(c, needView)
	if !ok {
		return models.Registration{}, models.Event{}, "", false
	}
	r, err := s.Store.RegistrationByEmail(ctx, ev.Event.ID, u.Email)
	if errors.Is(err, models.ErrNotFound) || (err == nil && r.State == models.RegCancelled) {
		s.redirectWithFlash(c, "/events/"+ev.Event.ID, "info", "Vous n'êtes pas inscrit·e à cet événement.")
		return r, ev.Event, "", false
	} else if err != nil {
		s.serverError(c, "get registration", err)
		return r, ev.Event, "", false
	}
	return r, ev.Event, "/events/" + ev.Event.ID + "/inscription", true
}

func (s *Server) manageShow(c *gin.Context) {
	r, e, base, ok := s.manageTarget(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	qs, slots, ok := s.eventFormData(c, &e)
	if !ok {
		return
	}
	answers, err := s.Store.RegistrationAnswers(ctx, r.ID)
	if err != nil {
		s.serverError(c, "answers", err)
		return
	}
	choices, err := s.Store.RegistrationWorkshops(ctx, r.ID, false)
	if err != nil {
		s.serverError(c, "workshops", err)
		return
	}
	s.renderManage(c, http.StatusOK, &r, &e, base, registerFormOf(&r, answers, choices), nil, qs, slots, choices)
}

func (s *Server) renderManage(c *gin.Context, status int, r *models.Registration, e *models.Event, base string, f registerForm,
	errs form.Errors, qs []models.Question, slots []models.Slot, choices []models.WorkshopChoice) {
	c.Header("Referrer-Policy", "no-referrer") // the URL holds a secret
	c.Header("Cache-Control", "no-store")
	s.render(c, status, "event_manage", registerPage{
		Layout: s.layout(c, "Mon inscription — "+e.Title, "events", eventCrumbs(e, "Mon inscription")...),
		Event:  *e, Form: f, Errors: errs, Questions: qs, Groups: workshopGroups(slots), Reg: r, Choices: choices,
		Action: base, Base: base, Token: c.Param("token"),
	})
}

func (s *Server) manageSave(c *gin.Context) {
	r, e, base, ok := s.manageTarget(c)
	if !ok {
		return
	}
	if r.State == models.RegCancelled {
		s.redirectWithFlash(c, base, "error", "Cette inscription est annulée.")
		return
	}
	ctx := c.Request.Context()
	qs, slots, ok := s.eventFormData(c, &e)
	if !ok {
		return
	}
	f := registerFormFrom(c, qs)
	errs := f.Validate(&e, qs, slots)
	if !errs.Any() {
		err := s.Store.Tx(ctx, func(tx *models.Tx) error {
			_, err := tx.UpdateRegistration(ctx, s.events, actor(c), r.ID, models.RegistrationChange{
				Mode: models.Mode(f.Mode), Answers: f.answers, Workshops: &f.Workshops})
			return err
		})
		switch {
		case errors.Is(err, models.ErrNoSeat):
			errs.Add("mode", "Il ne reste plus de place sur site : vous pouvez rester à distance.")
		case errors.Is(err, models.ErrWorkshopOverlap), errors.Is(err, models.ErrUnknownWorkshop):
			errs.Add("workshops", "Un des ateliers choisis n'est plus disponible ou chevauche un autre : choisissez de nouveau.")
		case errors.Is(err, models.ErrModeNotOffered):
			errs.Add("mode", "Ce mode de participation n'est pas proposé.")
		case errors.Is(err, models.ErrAlreadyCancelled):
			s.redirectWithFlash(c, base, "error", "Cette inscription est annulée.")
			return
		case err != nil:
			s.serverError(c, "update registration", err)
			return
		}
	}
	if errs.Any() {
		choices, err := s.Store.RegistrationWorkshops(ctx, r.ID, false)
		if err != nil {
			s.serverError(c, "workshops", err)
			return
		}
		s.renderManage(c, http.StatusUnprocessableEntity, &r, &e, base, f, errs, qs, slots, choices)
		return
	}
	s.NotifyMail()
	s.redirectWithFlash(c, base, "success", "Votre inscription est enregistrée.")
}

func (s *Server) manageCancel(c *gin.Context) {
	r, _, base, ok := s.manageTarget(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	err := s.Store.Tx(ctx, func(tx *models.Tx) error {
		_, err := tx.CancelRegistration(ctx, s.events, actor(c), r.ID, false)
		return err
	})
	if err != nil && !errors.Is(err, models.ErrAlreadyCancelled) {
		s.serverError(c, "cancel registration", err)
		return
	}
	s.NotifyMail()
	s.redirectWithFlash(c, base, "success", "Votre inscription est annulée. Votre place est libérée ; un courriel de confirmation vous a été envoyé.")
}

// --- badge and QR code ---

type badgePage struct {
	Layout
	Event     models.Event
	Reg       models.Registration
	Direction string
	QR        template.HTML
}

func (s *Server) renderBadge(c *gin.Context, r *models.Registration, e *models.Event) {
	if r.State != models.RegConfirmed {
		s.errorPage(c, http.StatusNotFound, "Le badge n'existe que pour une inscription confirmée.")
		return
	}
	dir := r.DirectionCode
	if d, err := s.Store.DirectionByCode(c.Request.Context(), r.DirectionCode); err == nil {
		dir = d.Name
	}
	svg, err := qrSVG(s.events.CheckInURL(r))
	if err != nil {
		s.serverError(c, "qr code", err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Header("Referrer-Policy", "no-referrer")
	s.render(c, http.StatusOK, "event_badge", badgePage{
		Layout: s.layout(c, "Badge — "+r.Name, "events", eventCrumbs(e, "Badge")...),
		Event:  *e, Reg: *r, Direction: dir, QR: svg,
	})
}

func (s *Server) manageBadge(c *gin.Context) {
	r, e, _, ok := s.manageTarget(c)
	if !ok {
		return
	}
	s.renderBadge(c, &r, &e)
}

func (s *Server) organiserBadge(c *gin.Context) {
	ev, ok := s.loadEvent(c, needOrganiser)
	if !ok {
		return
	}
	r, err := s.Store.RegistrationByID(c.Request.Context(), c.Param("rid"))
	if err != nil || r.EventID != ev.Event.ID {
		s.notFound(c)
		return
	}
	s.renderBadge(c, &r, &ev.Event)
}

// eventQR serves the PNG of a registration's QR code (shown in emails,
// which load images without a session). The code identifies a
// registration for check-in only; it grants nothing by itself.
func (s *Server) eventQR(c *gin.Context) {
	code, ok := strings.CutSuffix(c.Param("file"), ".png")
	if !ok {
		s.notFound(c)
		return
	}
	r, err := s.Store.RegistrationByCode(c.Request.Context(), c.Param("id"), code)
	if err != nil || r.State != models.RegConfirmed {
		s.notFound(c)
		return
	}
	png, err := mail.QRPNG(s.events.CheckInURL(&r)) // the image of the emails
	if err != nil {
		s.serverError(c, "qr code", err)
		return
	}
	c.Header("Cache-Control", "private, max-age=86400")
	c.Data(http.StatusOK, "image/png", png)
}

// qrSVG draws a QR code as inline SVG (no request, no inline style).
func qrSVG(content string) (template.HTML, error) {
	q, err := qrcode.New(content, qrcode.Medium)
	if err != nil {
		return "", err
	}
	bm := q.Bitmap()
	n := len(bm)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="agora-qr" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" role="img" aria-label="QR code d'accès" shape-rendering="crispEdges"><rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, n, n, n, n)
	for y, row := range bm {
		for x := 0; x < len(row); x++ {
			if !row[x] {
				continue
			}
			start := x
			for x < len(row) && row[x] {
				x++
			}
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", start, y, x-start, x-start)
		}
	}
	b.WriteString(`"/></svg>`)
	return template.HTML(b.String()), nil // built from numbers only
}

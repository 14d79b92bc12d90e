package handlers

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/dnum-sociaux/agora/internal/form"
	"github.com/dnum-sociaux/agora/internal/render"
	"github.com/dnum-sociaux/agora/models"
)

var (
	dateFR     = render.DateFR
	clockFR    = render.ClockFR
	datetimeFR = render.DateTimeFR
)

// --- the organisers' setup page: quotas, correspondents, organisers, questions ---

type eventSetupPage struct {
	Layout
	eventCtx
	Directions     []models.Direction
	Quotas         map[string]int
	QuotaErrors    form.Errors
	Correspondents []models.Correspondent
	Organisers     []models.User
	Questions      []models.Question
	Kinds          []models.QuestionKind
	Errors         form.Errors
	Form           map[string]string
}

// QuotaOf is the quota of a direction (for the form).
func (p eventSetupPage) QuotaOf(code string) int { return p.Quotas[code] }

func (s *Server) eventSetup(c *gin.Context) {
	ev, ok := s.loadEvent(c, needOrganiser)
	if !ok {
		return
	}
	s.renderSetup(c, http.StatusOK, ev, nil, nil, nil)
}

func (s *Server) renderSetup(c *gin.Context, status int, ev eventCtx, quotas map[string]int, errs form.Errors, f map[string]string) {
	ctx := c.Request.Context()
	p := eventSetupPage{Layout: s.layout(c, "Paramètres — "+ev.Event.Title, "events", eventCrumbs(&ev.Event, "Paramètres")...),
		eventCtx: ev, Kinds: models.QuestionKinds, Errors: errs, Form: f}
	var err error
	if p.Directions, err = s.Store.ListDirections(ctx, false); err == nil {
		if quotas == nil {
			quotas, err = s.Store.EventQuotas(ctx, ev.Event.ID)
		}
	}
	if err == nil {
		p.Correspondents, err = s.Store.EventCorrespondents(ctx, ev.Event.ID)
	}
	if err == nil {
		p.Organisers, err = s.Store.EventOrganisers(ctx, ev.Event.ID)
	}
	if err == nil {
		p.Questions, err = s.Store.EventQuestions(ctx, ev.Event.ID)
	}
	if err != nil {
		s.serverError(c, "event setup", err)
		return
	}
	p.Quotas = quotas
	s.render(c, status, "event_setup", p)
}

func (s *Server) eventQuotasSave(c *gin.Context) {
	ev, ok := s.loadEvent(c, needOrganiser)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	dirs, err := s.Store.ListDirections(ctx, false)
	if err != nil {
		s.serverError(c, "list directions", err)
		return
	}
	quotas := map[string]int{}
	var errs form.Errors
	sum := 0
	for _, d := range dirs {
		v := strings.TrimSpace(c.PostForm("quota_" + d.Code))
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			errs.Add("quota_"+d.Code, "Saisissez un nombre de places (0 ou plus).")
			continue
		}
		quotas[d.Code] = n
		sum += n
	}
	if !errs.Any() && sum > 0 && (ev.Event.Capacity == 0 || sum > ev.Event.Capacity) {
		errs.Add("quotas", "Les places réservées ("+strconv.Itoa(sum)+") dépassent la capacité de l'événement ("+capacityText(ev.Event.Capacity)+").")
	}
	if !errs.Any() {
		err = s.Store.Tx(ctx, func(tx *models.Tx) error {
			return tx.SetEventQuotas(ctx, s.events, actor(c), ev.Event.ID, quotas)
		})
		if errors.Is(err, models.ErrQuotaOverCapacity) {
			errs.Add("quotas", "Les places réservées dépassent la capacité de l'événement.")
		} else if err != nil {
			s.serverError(c, "set quotas", err)
			return
		}
	}
	if errs.Any() {
		s.renderSetup(c, http.StatusUnprocessableEntity, ev, quotas, errs, nil)
		return
	}
	s.NotifyMail()
	s.redirectWithFlash(c, "/events/"+ev.Event.ID+"/setup", "success", "Les quotas sont enregistrés.")
}

func capacityText(n int) string {
	if n == 0 {
		return "sans limite fixée"
	}
	return strconv.Itoa(n)
}

// userByEmailForRole finds the account of an address, creating an agent
// account when there is none (organisers name people before they log in).
func (s *Server) userForRole(c *gin.Context, tx *models.Tx, email, direction string) (models.User, error) {
	ctx := c.Request.Context()
	u, err := tx.UserByEmail(ctx, email)
	if errors.Is(err, models.ErrNotFound) {
		u, err = tx.CreateUser(ctx, models.NewUser{Email: email, DirectionCode: direction, Role: models.RoleAgent})
		if err == nil {
			err = tx.Audit(ctx, actor(c), "user.create", "user", u.ID, "nommé pour un événement")
		}
	}
	return u, err
}

// changed ends a handler that changed something: a server error (logged as
// what) if err, otherwise a redirect to to with a flash of kind.
func (s *Server) changed(c *gin.Context, err error, what, to, kind, message string) {
	if err != nil {
		s.serverError(c, what, err)
		return
	}
	s.redirectWithFlash(c, to, kind, message)
}

func (s *Server) eventCorrespondentAdd(c *gin.Context) {
	ev, ok := s.loadEvent(c, needOrganiser)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	var errs form.Errors
	email := errs.Email("corr_email", c.PostForm("corr_email"))
	dir := models.NormaliseDirectionCode(c.PostForm("corr_direction"))
	if _, err := s.Store.DirectionByCode(ctx, dir); err != nil {
		errs.Add("corr_direction", "Choisissez une direction.")
	}
	if errs.Any() {
		s.renderSetup(c, http.StatusUnprocessableEntity, ev, nil, errs, map[string]string{"corr_email": c.PostForm("corr_email"), "corr_direction": dir})
		return
	}
	err := s.Store.Tx(ctx, func(tx *models.Tx) error {
		u, err := s.userForRole(c, tx, email, dir)
		if err != nil {
			return err
		}
		return tx.AddCorrespondent(ctx, actor(c), ev.Event.ID, u.ID, dir)
	})
	s.changed(c, err, "add correspondent", "/events/"+ev.Event.ID+"/setup", "success", email+" est référent·e pour la direction "+dir+".")
}

func (s *Server) eventCorrespondentRemove(c *gin.Context) {
	ev, ok := s.loadEvent(c, needOrganiser)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	err := s.Store.Tx(ctx, func(tx *models.Tx) error {
		return tx.RemoveCorrespondent(ctx, actor(c), ev.Event.ID, c.PostForm("user_id"), c.PostForm("direction"))
	})
	if errors.Is(err, models.ErrNotFound) {
		err = nil // already withdrawn
	}
	s.changed(c, err, "remove correspondent", "/events/"+ev.Event.ID+"/setup", "success", "Le rôle de référent est retiré.")
}

func (s *Server) eventOrganiserAdd(c *gin.Context) {
	ev, ok := s.loadEvent(c, needOrganiser)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	var errs form.Errors
	email := errs.Email("org_email", c.PostForm("org_email"))
	if errs.Any() {
		s.renderSetup(c, http.StatusUnprocessableEntity, ev, nil, errs, map[string]string{"org_email": c.PostForm("org_email")})
		return
	}
	err := s.Store.Tx(ctx, func(tx *models.Tx) error {
		u, err := s.userForRole(c, tx, email, "")
		if err != nil {
			return err
		}
		return tx.AddEventOrganiser(ctx, actor(c), ev.Event.ID, u.ID)
	})
	s.changed(c, err, "add organiser", "/events/"+ev.Event.ID+"/setup", "success", email+" co-organise l'événement.")
}

func (s *Server) eventOrganiserRemove(c *gin.Context) {
	ev, ok := s.loadEvent(c, needOrganiser)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	err := s.Store.Tx(ctx, func(tx *models.Tx) error {
		return tx.RemoveEventOrganiser(ctx, actor(c), ev.Event.ID, c.PostForm("user_id"))
	})
	switch {
	case errors.Is(err, models.ErrLastEventOrganiser):
		s.redirectWithFlash(c, "/events/"+ev.Event.ID+"/setup", "error", "Impossible : l'événement garde au moins un organisateur.")
		return
	case err != nil && !errors.Is(err, models.ErrNotFound):
		s.serverError(c, "remove organiser", err)
		return
	}
	s.redirectWithFlash(c, "/events/"+ev.Event.ID+"/setup", "success", "L'organisateur est retiré.")
}

// questionForm adds a registration question.
type questionForm struct {
	Label, Help, Kind, Options string
	Required                   bool
	in                         models.QuestionInput
}

// Validate checks the question.
func (f *questionForm) Validate() form.Errors {
	var errs form.Errors
	f.in.Label = errs.Text("q_label", f.Label, true, 200)
	f.in.Help = errs.Text("q_help", f.Help, false, 300)
	f.in.Kind = models.QuestionKind(f.Kind)
	f.in.Required = f.Required
	if !f.in.Kind.Valid() {
		errs.Add("q_kind", "Choisissez un type de réponse.")
	}
	opts := errs.LongText("q_options", f.Options, false, 2000)
	for _, o := range strings.Split(opts, "\n") {
		if o = strings.TrimSpace(o); o != "" {
			f.in.Options = append(f.in.Options, o)
		}
	}
	if f.in.Kind.HasOptions() && len(f.in.Options) < 2 {
		errs.Add("q_options", "Donnez au moins deux choix, un par ligne.")
	}
	return errs
}

func (s *Server) eventQuestionAdd(c *gin.Context) {
	ev, ok := s.loadEvent(c, needOrganiser)
	if !ok {
		return
	}
	f := questionForm{Label: c.PostForm("q_label"), Help: c.PostForm("q_help"), Kind: c.PostForm("q_kind"),
		Options: c.PostForm("q_options"), Required: c.PostForm("q_required") == "true"}
	errs := f.Validate()
	if errs.Any() {
		s.renderSetup(c, http.StatusUnprocessableEntity, ev, nil, errs,
			map[string]string{"q_label": f.Label, "q_help": f.Help, "q_kind": f.Kind, "q_options": f.Options})
		return
	}
	ctx := c.Request.Context()
	err := s.Store.Tx(ctx, func(tx *models.Tx) error {
		_, err := tx.AddQuestion(ctx, actor(c), ev.Event.ID, f.in)
		return err
	})
	s.changed(c, err, "add question", "/events/"+ev.Event.ID+"/setup#questions", "success", "La question est ajoutée au formulaire d'inscription.")
}

func (s *Server) eventQuestionDelete(c *gin.Context) {
	ev, ok := s.loadEvent(c, needOrganiser)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	err := s.Store.Tx(ctx, func(tx *models.Tx) error {
		return tx.DeleteQuestion(ctx, actor(c), ev.Event.ID, c.Param("qid"))
	})
	if errors.Is(err, models.ErrNotFound) {
		s.notFound(c)
		return
	}
	s.changed(c, err, "delete question", "/events/"+ev.Event.ID+"/setup#questions", "success", "La question et ses réponses sont supprimées.")
}

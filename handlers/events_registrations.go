package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/dnum-sociaux/agora/internal/eventcsv"
	"github.com/dnum-sociaux/agora/internal/form"
	"github.com/dnum-sociaux/agora/models"
)

// registrationFilter reads the table's filters from the query, restricted
// to the correspondent's directions when the user is not an organiser.
func registrationFilter(c *gin.Context, ev eventCtx) models.RegistrationFilter {
	f := models.RegistrationFilter{EventID: ev.Event.ID, Query: c.Query("q"), Direction: models.NormaliseDirectionCode(c.Query("direction")),
		State: models.RegState(c.Query("state")), Mode: models.Mode(c.Query("mode")), WorkshopID: c.Query("workshop"), CheckedIn: c.Query("arrived")}
	if !f.State.Valid() {
		f.State = ""
	}
	if f.Mode != models.ModeOnsite && f.Mode != models.ModeRemote {
		f.Mode = ""
	}
	if f.CheckedIn != "yes" && f.CheckedIn != "no" {
		f.CheckedIn = ""
	}
	if !ev.Access.Organiser {
		f.Directions = ev.Access.Directions
	}
	return f
}

type registrationsPage struct {
	Layout
	eventCtx
	Filter     models.RegistrationFilter
	Regs       []models.Registration
	Counts     models.RegistrationCounts
	Pager      Pager
	Directions []string
	Workshops  []models.Slot
	States     []models.RegState
	ExportQS   string
}

// eventWorkshops returns the workshops of an event's programme, in its order.
func (s *Server) eventWorkshops(ctx context.Context, eventID string) ([]models.Slot, error) {
	slots, err := s.Store.Programme(ctx, eventID)
	if err != nil {
		return nil, err
	}
	var shops []models.Slot
	for _, sl := range slots {
		if sl.Kind == models.SlotWorkshop {
			shops = append(shops, sl)
		}
	}
	return shops, nil
}

func (s *Server) eventRegistrations(c *gin.Context) {
	ev, ok := s.loadEvent(c, needCorrespondent)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	f := registrationFilter(c, ev)
	regs, p, err := paginate(c, func(limit, offset int) ([]models.Registration, int, error) {
		f.Limit, f.Offset = limit, offset
		return s.Store.ListRegistrations(ctx, f)
	}, "q", "direction", "state", "mode", "workshop", "arrived")
	if err != nil {
		s.serverError(c, "list registrations", err)
		return
	}
	var dirs []string
	if ev.Access.Organiser {
		list, err := s.Store.ListDirections(ctx, true)
		if err != nil {
			s.serverError(c, "directions", err)
			return
		}
		for _, d := range list {
			dirs = append(dirs, d.Code)
		}
	} else {
		dirs = ev.Access.Directions
	}
	counts, err := s.Store.CountRegistrations(ctx, ev.Event.ID, f.Directions)
	if err != nil {
		s.serverError(c, "counts", err)
		return
	}
	shops, err := s.eventWorkshops(ctx, ev.Event.ID)
	if err != nil {
		s.serverError(c, "programme", err)
		return
	}
	s.render(c, http.StatusOK, "event_registrations", registrationsPage{
		Layout:   s.layout(c, "Inscriptions — "+ev.Event.Title, "events", eventCrumbs(&ev.Event, "Inscriptions")...),
		eventCtx: ev, Filter: f, Regs: regs, Counts: counts, Pager: p, Directions: dirs, Workshops: shops,
		States: models.RegStates, ExportQS: p.Query.Encode(),
	})
}

func (s *Server) eventRegistrationCancel(c *gin.Context) {
	ev, ok := s.loadEvent(c, needCorrespondent)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	r, err := s.Store.RegistrationByID(ctx, c.Param("rid"))
	if err != nil || r.EventID != ev.Event.ID || !ev.Access.ForDirection(r.DirectionCode) {
		s.notFound(c)
		return
	}
	err = s.Store.Tx(ctx, func(tx *models.Tx) error {
		_, err := tx.CancelRegistration(ctx, s.events, actor(c), r.ID, true)
		return err
	})
	if err != nil && !errors.Is(err, models.ErrAlreadyCancelled) {
		s.serverError(c, "cancel registration", err)
		return
	}
	s.NotifyMail()
	back := "/events/" + ev.Event.ID + "/registrations"
	s.redirectWithFlash(c, back, "success", "L'inscription de "+r.Name+" est annulée ; la personne est prévenue et la place proposée à la suivante.")
}

// --- exports ---

// eventExport streams the registrations (with answers and workshops) as
// CSV or XLSX; the XLSX adds one sheet per workshop.
func (s *Server) eventExport(c *gin.Context) {
	ev, ok := s.loadEvent(c, needCorrespondent)
	if !ok {
		return
	}
	format := c.Param("format")
	if format != "csv" && format != "xlsx" {
		s.notFound(c)
		return
	}
	ctx := c.Request.Context()
	f := registrationFilter(c, ev)
	qs, err := s.Store.EventQuestions(ctx, ev.Event.ID)
	if err != nil {
		s.serverError(c, "questions", err)
		return
	}
	name := fmt.Sprintf("inscriptions-%s.%s", ev.Event.StartsAt.In(models.Paris).Format("2006-01-02"), format)
	w := c.Writer
	var t eventcsv.Table
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		t, err = eventcsv.NewCSV(w)
	} else {
		w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
		t, err = eventcsv.NewXLSX(w)
	}
	if err != nil {
		s.serverError(c, "export", err)
		return
	}
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	if err := s.writeRegistrations(c, t, &ev.Event, f, qs); err != nil {
		s.cutDownload(c, "export registrations", err)
	}
	if format == "xlsx" && ev.Access.Organiser && f.WorkshopID == "" {
		slots, err := s.Store.Programme(ctx, ev.Event.ID)
		if err != nil {
			s.cutDownload(c, "export programme", err)
		}
		for _, sl := range slots {
			if sl.Kind != models.SlotWorkshop {
				continue
			}
			if err := s.writeWorkshop(c, t, sl); err != nil {
				s.cutDownload(c, "export workshop", err)
			}
		}
	}
	if err := t.Close(); err != nil {
		s.cutDownload(c, "export close", err)
	}
}

// cutDownload ends a download that failed once its first bytes were sent
// (exports are streamed): the error is logged and the connection closed
// without the end of the response, so that the browser reports a failed
// download instead of keeping a file that looks whole but is cut short.
// It does not return.
func (s *Server) cutDownload(c *gin.Context, what string, err error) {
	if !s.clientGone(c) {
		s.log(c).Error(what, "error", err)
	}
	panic(http.ErrAbortHandler) // net/http closes the connection; recoverPanic lets it through
}

func (s *Server) writeRegistrations(c *gin.Context, t eventcsv.Table, e *models.Event, f models.RegistrationFilter, qs []models.Question) error {
	if err := t.Sheet("Inscriptions"); err != nil {
		return err
	}
	head := []string{"Nom", "Adresse électronique", "Direction", "Mode", "État", "Rang d'arrivée", "Inscrit le", "Par un référent", "Arrivé le", "Code d'accès", "Ateliers"}
	for _, q := range qs {
		head = append(head, q.Label)
	}
	if err := t.Row(head); err != nil {
		return err
	}
	row := make([]string, 0, len(head))
	return s.Store.EachRegistration(c.Request.Context(), f, func(r models.Registration, answers map[string]string, shops []string) error {
		arrived := ""
		if r.CheckedIn() {
			arrived = r.CheckedInAt.In(models.Paris).Format("02/01/2006 15:04")
		}
		by := ""
		if r.RegisteredBy != "" {
			by = "oui"
		}
		row = append(row[:0], r.Name, r.Email, r.DirectionCode, r.Mode.Label(), r.State.Label(), strconv.FormatInt(r.Seq, 10),
			r.CreatedAt.In(models.Paris).Format("02/01/2006 15:04"), by, arrived, r.DisplayCode(), strings.Join(shops, ", "))
		for _, q := range qs {
			row = append(row, strings.ReplaceAll(answers[q.ID], "\n", ", "))
		}
		return t.Row(row)
	})
}

func (s *Server) writeWorkshop(c *gin.Context, t eventcsv.Table, sl models.Slot) error {
	if err := t.Sheet(sl.Title); err != nil {
		return err
	}
	if err := t.Row([]string{sl.Title + " — " + datetimeFR(sl.StartsAt) + " — " + sl.Place()}); err != nil {
		return err
	}
	row := []string{"Nom", "Adresse électronique", "Direction", "Place"}
	if err := t.Row(row); err != nil {
		return err
	}
	return s.Store.EachWorkshopParticipant(c.Request.Context(), sl.ID, func(r models.Registration, st models.RegState) error {
		row = append(row[:0], r.Name, r.Email, r.DirectionCode, st.Label())
		return t.Row(row)
	})
}

// workshopExport is one workshop's list as CSV.
func (s *Server) workshopExport(c *gin.Context) {
	ev, ok := s.loadEvent(c, needOrganiser)
	if !ok {
		return
	}
	sl, err := s.Store.SlotByID(c.Request.Context(), ev.Event.ID, c.Param("sid"))
	if err != nil || sl.Kind != models.SlotWorkshop {
		s.notFound(c)
		return
	}
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", `attachment; filename="atelier-`+sl.ID+`.csv"`)
	t, err := eventcsv.NewCSV(c.Writer)
	if err == nil {
		err = s.writeWorkshop(c, t, sl)
	}
	if err == nil {
		err = t.Close()
	}
	if err != nil {
		s.log(c).Error("export workshop", "error", err)
	}
}

// --- dashboard ---

type dashboardPage struct {
	Layout
	eventCtx
	Stats     models.EventStats
	Workshops []models.Slot
	MaxDay    int
}

// Percent is n/of as a whole percentage, capped to 100.
func (dashboardPage) Percent(n, of int) int {
	if of <= 0 {
		return 0
	}
	return min(100, n*100/of)
}

// Sub is a-b.
func (dashboardPage) Sub(a, b int) int { return a - b }

// ChartWidth is the width of the day chart (10 units a day).
func (p dashboardPage) ChartWidth() int { return max(10, len(p.Stats.ByDay)*10) }

// BarX is the left of day i's bar.
func (dashboardPage) BarX(i int) int { return i*10 + 1 }

// BarH is the height of a day's bar (of 100).
func (p dashboardPage) BarH(n int) int { return max(1, p.Percent(n, p.MaxDay)) }

// BarY is the top of a day's bar.
func (p dashboardPage) BarY(n int) int { return 100 - p.BarH(n) }

func (s *Server) eventDashboard(c *gin.Context) {
	ev, ok := s.loadEvent(c, needOrganiser)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	st, err := s.Store.EventStatistics(ctx, &ev.Event)
	if err != nil {
		s.serverError(c, "statistics", err)
		return
	}
	shops, err := s.eventWorkshops(ctx, ev.Event.ID)
	if err != nil {
		s.serverError(c, "programme", err)
		return
	}
	maxDay := 0
	for _, d := range st.ByDay {
		maxDay = max(maxDay, d.Count)
	}
	s.render(c, http.StatusOK, "event_dashboard", dashboardPage{
		Layout:   s.layout(c, "Tableau de bord — "+ev.Event.Title, "events", eventCrumbs(&ev.Event, "Tableau de bord")...),
		eventCtx: ev, Stats: st, Workshops: shops, MaxDay: maxDay,
	})
}

// --- messages ---

type messageForm struct {
	Subject, Body, Audience, Direction, Workshop string
}

// Validate checks the message.
func (f *messageForm) Validate() form.Errors {
	var errs form.Errors
	f.Subject = errs.Text("subject", f.Subject, true, 150)
	f.Body = errs.LongText("body", f.Body, true, 20000)
	switch f.Audience {
	case "all", "confirmed", "waitlisted":
	case "direction":
		if f.Direction == "" {
			errs.Add("direction", "Choisissez une direction.")
		}
	case "workshop":
		if f.Workshop == "" {
			errs.Add("workshop", "Choisissez un atelier.")
		}
	default:
		errs.Add("audience", "Choisissez à qui écrire.")
	}
	return errs
}

type messagesPage struct {
	Layout
	eventCtx
	Form       messageForm
	Errors     form.Errors
	Messages   []models.EventMessage
	Directions []models.Direction
	Workshops  []models.Slot
}

func (s *Server) eventMessages(c *gin.Context) {
	ev, ok := s.loadEvent(c, needOrganiser)
	if !ok {
		return
	}
	s.renderMessages(c, http.StatusOK, ev, messageForm{Audience: "all"}, nil)
}

func (s *Server) renderMessages(c *gin.Context, status int, ev eventCtx, f messageForm, errs form.Errors) {
	ctx := c.Request.Context()
	p := messagesPage{Layout: s.layout(c, "Écrire aux inscrits — "+ev.Event.Title, "events", eventCrumbs(&ev.Event, "Messages")...),
		eventCtx: ev, Form: f, Errors: errs}
	var err error
	if p.Messages, err = s.Store.EventMessages(ctx, ev.Event.ID); err == nil {
		if p.Directions, err = s.Store.ListDirections(ctx, false); err == nil {
			p.Workshops, err = s.eventWorkshops(ctx, ev.Event.ID)
		}
	}
	if err != nil {
		s.serverError(c, "messages page", err)
		return
	}
	s.render(c, status, "event_messages", p)
}

func (s *Server) eventMessageSend(c *gin.Context) {
	ev, ok := s.loadEvent(c, needOrganiser)
	if !ok {
		return
	}
	f := messageForm{Subject: c.PostForm("subject"), Body: c.PostForm("body"), Audience: c.PostForm("audience"),
		Direction: c.PostForm("direction"), Workshop: c.PostForm("workshop")}
	errs := f.Validate()
	if errs.Any() {
		s.renderMessages(c, http.StatusUnprocessableEntity, ev, f, errs)
		return
	}
	filter := models.RegistrationFilter{EventID: ev.Event.ID}
	audience := "toutes les personnes inscrites"
	switch f.Audience {
	case "confirmed":
		filter.State, audience = models.RegConfirmed, "les inscriptions confirmées"
	case "waitlisted":
		filter.State, audience = models.RegWaitlisted, "la liste d'attente"
	case "direction":
		filter.Direction, audience = f.Direction, "la direction "+models.NormaliseDirectionCode(f.Direction)
	case "workshop":
		filter.WorkshopID, audience = f.Workshop, "un atelier"
		if sl, err := s.Store.SlotByID(c.Request.Context(), ev.Event.ID, f.Workshop); err == nil {
			audience = "l'atelier « " + sl.Title + " »"
		} else {
			errs.Add("workshop", "Cet atelier n'existe pas.")
			s.renderMessages(c, http.StatusUnprocessableEntity, ev, f, errs)
			return
		}
	}
	ctx := c.Request.Context()
	var m models.EventMessage
	err := s.Store.Tx(ctx, func(tx *models.Tx) error {
		var err error
		m, err = tx.SendEventMessage(ctx, actor(c), filter, f.Subject, f.Body, audience, func(m models.EventMessage, r models.Registration) error {
			return s.events.Message(ctx, tx, &ev.Event, &r, m.ID, m.Subject, m.Body)
		})
		return err
	})
	if err != nil {
		s.serverError(c, "send message", err)
		return
	}
	s.NotifyMail()
	s.redirectWithFlash(c, "/events/"+ev.Event.ID+"/messages", "success",
		fmt.Sprintf("Le message part vers %d %s (%s).", m.Recipients, plural(m.Recipients, "personne", "personnes"), audience))
}

func plural(n int, one, many string) string {
	if n <= 1 {
		return one
	}
	return many
}

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
	"github.com/dnum-sociaux/agora/internal/invite"
	"github.com/dnum-sociaux/agora/internal/render"
	"github.com/dnum-sociaux/agora/models"
)

// sessionForm is what an organiser writes about a session (and a series).
type sessionForm struct {
	Title       string
	Date        string // 2006-01-02, Paris
	Start, End  string // 15:04, Paris
	Room        string
	Address     string
	VideoURL    string
	Agenda      string
	Capacity    string
	Repeat      string // "", weekly, biweekly, monthly (creation only)
	RepeatCount string
	RepeatUntil string
	Scope       string // "this" or "following" (editing a series)

	in   models.SessionInput
	rule models.SeriesRule
}

func sessionFormFromRequest(c *gin.Context) sessionForm {
	return sessionForm{
		Title: c.PostForm("title"), Date: c.PostForm("date"), Start: c.PostForm("start"), End: c.PostForm("end"),
		Room: c.PostForm("room"), Address: c.PostForm("address"), VideoURL: c.PostForm("video_url"), Agenda: c.PostForm("agenda"),
		Capacity: c.PostForm("capacity"), Repeat: c.PostForm("repeat"), RepeatCount: c.PostForm("repeat_count"),
		RepeatUntil: c.PostForm("repeat_until"), Scope: c.PostForm("scope"),
	}
}

func sessionFormOf(s models.Session) sessionForm {
	p, e := s.StartsAt.In(models.Paris), s.EndsAt.In(models.Paris)
	f := sessionForm{Title: s.Title, Date: p.Format("2006-01-02"), Start: p.Format("15:04"), End: e.Format("15:04"),
		Room: s.Room, Address: s.Address, VideoURL: s.VideoURL, Agenda: s.Agenda, Scope: "this"}
	if s.Capacity > 0 {
		f.Capacity = strconv.Itoa(s.Capacity)
	}
	return f
}

func parseParisDate(v string) (time.Time, bool) {
	t, err := time.ParseInLocation("2006-01-02", strings.TrimSpace(v), models.Paris)
	return t, err == nil && t.Year() >= 2000 && t.Year() <= 2200
}

func parseClock(v string) (int, int, bool) {
	t, err := time.Parse("15:04", strings.TrimSpace(v))
	if err != nil {
		return 0, 0, false
	}
	return t.Hour(), t.Minute(), true
}

// Validate checks the form; creating tells whether a series may be asked
// for; mustBeFuture whether the start must be after now.
func (f *sessionForm) Validate(now time.Time, creating bool, current *models.Session) form.Errors {
	var errs form.Errors
	f.Title = errs.Text("title", f.Title, true, 150)
	f.Room = errs.Text("room", f.Room, false, 200)
	f.Address = errs.Text("address", f.Address, false, 300)
	f.VideoURL = errs.Text("video_url", f.VideoURL, false, 500)
	if f.VideoURL != "" && !errs.Any() {
		u, err := url.Parse(f.VideoURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.ContainsAny(f.VideoURL, " \"<>") {
			errs.Add("video_url", "Saisissez une adresse web complète, commençant par https://.")
		}
	}
	if f.Room == "" && f.Address == "" && f.VideoURL == "" && errs.Get("video_url") == "" {
		errs.Add("room", "Indiquez un lieu (salle ou adresse) ou un lien de visioconférence.")
	}
	f.Agenda = errs.LongText("agenda", f.Agenda, false, 20000)
	capacity, capText := positiveInt(&errs, "capacity", f.Capacity,
		"Le nombre de places doit être un nombre entier supérieur ou égal à 1, ou rester vide pour ne pas limiter les places.")
	f.Capacity = capText

	day, okDay := parseParisDate(f.Date)
	if !okDay {
		errs.Add("date", "Saisissez une date valide, par exemple 15/01/2027.")
	}
	sh, sm, okStart := parseClock(f.Start)
	if !okStart {
		errs.Add("start", "Saisissez une heure de début, par exemple 14:00.")
	}
	eh, em, okEnd := parseClock(f.End)
	if !okEnd {
		errs.Add("end", "Saisissez une heure de fin, par exemple 16:00.")
	}
	var start, end time.Time
	if okDay && okStart && okEnd {
		start = time.Date(day.Year(), day.Month(), day.Day(), sh, sm, 0, 0, models.Paris)
		end = time.Date(day.Year(), day.Month(), day.Day(), eh, em, 0, 0, models.Paris)
		switch {
		case !end.After(start):
			errs.Add("end", "L’heure de fin doit être après l’heure de début.")
		case !start.After(now) && (current == nil || !start.Equal(current.StartsAt)):
			errs.Add("date", "La séance doit commencer dans le futur : choisissez une date et une heure à venir.")
		}
	}
	f.in = models.SessionInput{Title: f.Title, StartsAt: start.UTC(), EndsAt: end.UTC(), Room: f.Room, Address: f.Address,
		VideoURL: f.VideoURL, Agenda: f.Agenda, Capacity: capacity}

	if creating {
		switch models.Frequency(f.Repeat) {
		case "":
			f.Repeat = ""
		case models.Weekly, models.Biweekly, models.Monthly:
			f.rule.Freq = models.Frequency(f.Repeat)
			f.RepeatCount = strings.TrimSpace(f.RepeatCount)
			switch {
			case f.RepeatCount != "":
				n, err := strconv.Atoi(f.RepeatCount)
				if err != nil || n < 2 || n > models.MaxSeriesOccurrences {
					errs.Add("repeat_count", "Le nombre de séances doit être un nombre entier entre 2 et "+strconv.Itoa(models.MaxSeriesOccurrences)+".")
				}
				f.rule.Count = n
			case f.RepeatUntil != "":
				until, ok := parseParisDate(f.RepeatUntil)
				if !ok || (okDay && !until.After(day)) {
					errs.Add("repeat_until", "La date de fin de la série doit être une date valide, après la première séance.")
				}
				f.rule.Until = until
			default:
				errs.Add("repeat_count", "Indiquez le nombre de séances de la série, ou la date de la dernière.")
			}
		default:
			errs.Add("repeat", "Choisissez une fréquence dans la liste.")
		}
	} else if f.Scope != "following" {
		f.Scope = "this"
	}
	return errs
}

func repeatOptions() []render.Option {
	return []render.Option{{Value: "", Label: "Une seule séance"}, {Value: string(models.Weekly), Label: models.Weekly.Label()},
		{Value: string(models.Biweekly), Label: models.Biweekly.Label()}, {Value: string(models.Monthly), Label: models.Monthly.Label()}}
}

type sessionFormPage struct {
	Layout
	Form                   sessionForm
	Errors                 form.Errors
	Group                  models.Group
	Session                *models.Session // nil when creating
	Repeats                []render.Option
	Action                 string
	SubmitLabel, CancelURL string
}

func (s *Server) renderSessionForm(c *gin.Context, status int, p sessionFormPage) {
	p.Repeats = repeatOptions()
	if p.Session == nil {
		p.Action, p.SubmitLabel, p.CancelURL = "/groups/"+p.Group.ID+"/sessions", "Planifier", "/groups/"+p.Group.ID
	} else {
		p.Action, p.SubmitLabel, p.CancelURL = "/sessions/"+p.Session.ID, "Enregistrer", "/sessions/"+p.Session.ID
	}
	s.render(c, status, "session_form", p)
}

func (s *Server) sessionNew(c *gin.Context) {
	g, ok := s.loadGroup(c, needGroupManager)
	if !ok {
		return
	}
	s.renderSessionForm(c, http.StatusOK, sessionFormPage{
		Layout: s.layout(c, "Nouvelle séance", "groups", groupsCrumb, Crumb{Label: g.Title, URL: "/groups/" + g.ID}, Crumb{Label: "Nouvelle séance"}),
		Group:  g.Group, Form: sessionForm{Start: "10:00", End: "12:00"},
	})
}

func (s *Server) sessionCreate(c *gin.Context) {
	ctx := c.Request.Context()
	g, ok := s.loadGroup(c, needGroupManager)
	if !ok {
		return
	}
	f := sessionFormFromRequest(c)
	errs := f.Validate(s.Now(), true, nil)
	if g.Status != models.GroupActive {
		errs.Add("title", "Ce groupe n’est pas actif : on ne peut pas y planifier de séance.")
	}
	if errs.Any() {
		s.renderSessionForm(c, http.StatusUnprocessableEntity, sessionFormPage{
			Layout: s.layout(c, "Nouvelle séance", "groups", groupsCrumb, Crumb{Label: g.Title, URL: "/groups/" + g.ID}, Crumb{Label: "Nouvelle séance"}),
			Group:  g.Group, Form: f, Errors: errs,
		})
		return
	}
	u := currentUser(c)
	var created []models.Session
	err := s.Store.Tx(ctx, func(tx *models.Tx) error {
		in := models.NewSession{GroupID: g.ID, SessionInput: f.in, UIDHost: s.Config.BaseURL.Hostname()}
		if f.Repeat != "" {
			var err error
			if created, err = tx.CreateSeries(ctx, *u, in, f.rule); err != nil {
				return err
			}
		} else {
			one, err := tx.CreateSession(ctx, *u, in)
			if err != nil {
				return err
			}
			created = []models.Session{one}
		}
		for _, sess := range created {
			if err := s.queueSession(ctx, tx, invite.Created, sess, nil); err != nil {
				return err
			}
		}
		return tx.Audit(ctx, actor(c), "session.create", "group", g.ID, strconv.Itoa(len(created))+" session(s)")
	})
	if err != nil {
		s.modelError(c, "create session", err)
		return
	}
	s.NotifyMail()
	if len(created) > 1 {
		s.redirectWithFlash(c, "/groups/"+g.ID, "success", strconv.Itoa(len(created))+" séances sont planifiées. Les membres reçoivent les invitations.")
		return
	}
	s.redirectWithFlash(c, "/sessions/"+created[0].ID, "success", "La séance est planifiée. Les membres reçoivent l’invitation.")
}

// loadGroupSession reads the :id session of a group the viewer may see,
// and its group for need (see loadGroup).
func (s *Server) loadGroupSession(c *gin.Context, need groupNeed) (models.Session, groupCtx, bool) {
	ctx := c.Request.Context()
	sess, err := s.Store.SessionByID(ctx, c.Param("id"))
	if errors.Is(err, models.ErrNotFound) || err == nil && sess.GroupID == "" {
		s.errorPage(c, http.StatusNotFound, "Cette séance n’existe pas.")
		return sess, groupCtx{}, false
	}
	if err != nil {
		s.serverError(c, "get session", err)
		return sess, groupCtx{}, false
	}
	g, ok := s.loadGroupByID(c, sess.GroupID, need)
	return sess, g, ok
}

type sessionShowPage struct {
	Layout
	Session     models.SessionListItem
	Group       models.Group
	Member      bool
	CanManage   bool
	Started     bool
	Ended       bool
	RSVPs       []models.RSVP // members and organisers only
	Members     []models.Member
	Attendees   map[string]bool
	Attended    []models.User
	Answers     []models.Answer
	SeriesRule  string
	MinutesForm string
	Errors      form.Errors
}

func (s *Server) sessionShow(c *gin.Context) {
	s.renderSessionShow(c, http.StatusOK, "", nil)
}

func (s *Server) renderSessionShow(c *gin.Context, status int, minutes string, errs form.Errors) {
	ctx := c.Request.Context()
	sess, g, ok := s.loadGroupSession(c, needGroupRoles)
	if !ok {
		return
	}
	u := g.User
	item, err := s.Store.SessionItem(ctx, sess.ID, u.ID)
	if err != nil {
		s.serverError(c, "get session", err)
		return
	}
	now := s.Now()
	p := sessionShowPage{
		Layout:  s.layout(c, sess.Title, "groups", groupsCrumb, Crumb{Label: g.Title, URL: "/groups/" + g.ID}, Crumb{Label: sess.Title}),
		Session: item, Group: g.Group, Member: g.Member != nil, CanManage: g.Manage,
		Started: !sess.StartsAt.After(now), Ended: !sess.EndsAt.After(now),
		Answers: []models.Answer{models.AnswerYes, models.AnswerMaybe, models.AnswerNo}, MinutesForm: minutes, Errors: errs,
	}
	if minutes == "" {
		p.MinutesForm = sess.Minutes
	}
	if g.memberOrManager() {
		if p.RSVPs, err = s.Store.SessionRSVPs(ctx, sess.ID); err != nil {
			s.serverError(c, "answers", err)
			return
		}
		if p.Attended, err = s.Store.Attendees(ctx, sess.ID); err != nil {
			s.serverError(c, "attendees", err)
			return
		}
	}
	if p.CanManage && p.Started {
		if p.Members, err = s.Store.ListMembers(ctx, g.ID); err != nil {
			s.serverError(c, "members", err)
			return
		}
		p.Attendees = map[string]bool{}
		for _, a := range p.Attended {
			p.Attendees[a.ID] = true
		}
	}
	if sess.SeriesID != "" {
		p.SeriesRule, _ = s.Store.SeriesRRule(ctx, sess.SeriesID)
	}
	s.render(c, status, "session_show", p)
}

func (s *Server) sessionEdit(c *gin.Context) {
	sess, g, ok := s.loadGroupSession(c, needGroupManager)
	if !ok {
		return
	}
	if sess.Cancelled() || !sess.EndsAt.After(s.Now()) {
		s.redirectWithFlash(c, "/sessions/"+sess.ID, "error", "Une séance annulée ou terminée ne se modifie plus.")
		return
	}
	s.renderSessionForm(c, http.StatusOK, sessionFormPage{
		Layout: s.layout(c, "Modifier la séance", "groups", groupsCrumb, Crumb{Label: g.Title, URL: "/groups/" + g.ID},
			Crumb{Label: sess.Title, URL: "/sessions/" + sess.ID}, Crumb{Label: "Modifier"}),
		Group: g.Group, Session: &sess, Form: sessionFormOf(sess),
	})
}

func (s *Server) sessionUpdate(c *gin.Context) {
	ctx := c.Request.Context()
	sess, g, ok := s.loadGroupSession(c, needGroupManager)
	if !ok {
		return
	}
	f := sessionFormFromRequest(c)
	errs := f.Validate(s.Now(), false, &sess)
	if !errs.Any() {
		u := currentUser(c)
		var changes []models.SessionChange
		err := s.Store.Tx(ctx, func(tx *models.Tx) error {
			var err error
			if f.Scope == "following" && sess.SeriesID != "" {
				changes, err = tx.UpdateSeriesFrom(ctx, *u, sess.ID, f.in)
			} else {
				var ch models.SessionChange
				ch, err = tx.UpdateSession(ctx, *u, sess.ID, f.in)
				changes = []models.SessionChange{ch}
			}
			if err != nil {
				return err
			}
			for _, ch := range changes {
				if ch.Moved {
					before := ch.Before
					if err := s.queueSession(ctx, tx, invite.Updated, ch.After, &before); err != nil {
						return err
					}
				}
				if err := s.tellPromoted(ctx, tx, ch.Promotions); err != nil {
					return err
				}
			}
			return tx.Audit(ctx, actor(c), "session.update", "session", sess.ID, f.Scope)
		})
		switch {
		case errors.Is(err, models.ErrCapacityBelowConfirmed):
			errs.Add("capacity", "Des participants sont déjà confirmés au-delà de ce nombre de places : choisissez un nombre plus grand.")
		case errors.Is(err, models.ErrSessionStarted):
			errs.Add("date", "Une séance déjà commencée ou déplacée dans le passé ne se modifie pas ainsi.")
		case errors.Is(err, models.ErrSessionCancelled):
			errs.Add("title", "Cette séance est annulée.")
		case err != nil:
			s.modelError(c, "update session", err)
			return
		default:
			s.NotifyMail()
			msg := "La séance est enregistrée."
			for _, ch := range changes {
				if ch.Moved {
					msg = "La séance est enregistrée. Les participants reçoivent la mise à jour dans leur agenda."
				}
			}
			if len(changes) > 1 {
				msg = strconv.Itoa(len(changes)) + " séances de la série sont modifiées. Les participants reçoivent les mises à jour."
			}
			s.redirectWithFlash(c, "/sessions/"+sess.ID, "success", msg)
			return
		}
	}
	s.renderSessionForm(c, http.StatusUnprocessableEntity, sessionFormPage{
		Layout: s.layout(c, "Modifier la séance", "groups", groupsCrumb, Crumb{Label: g.Title, URL: "/groups/" + g.ID},
			Crumb{Label: sess.Title, URL: "/sessions/" + sess.ID}, Crumb{Label: "Modifier"}),
		Group: g.Group, Session: &sess, Form: f, Errors: errs,
	})
}

func (s *Server) sessionCancel(c *gin.Context) {
	ctx := c.Request.Context()
	sess, _, ok := s.loadGroupSession(c, needGroupManager)
	if !ok {
		return
	}
	u := currentUser(c)
	following := c.PostForm("scope") == "following" && sess.SeriesID != ""
	var n int
	err := s.Store.Tx(ctx, func(tx *models.Tx) error {
		var done []models.Session
		if following {
			var err error
			if done, err = tx.CancelSeriesFrom(ctx, *u, sess.ID); err != nil {
				return err
			}
		} else {
			one, err := tx.CancelSession(ctx, *u, sess.ID)
			if err != nil {
				return err
			}
			done = []models.Session{one}
		}
		n = len(done)
		for _, d := range done {
			if err := s.queueSession(ctx, tx, invite.Cancelled, d, nil); err != nil {
				return err
			}
		}
		return tx.Audit(ctx, actor(c), "session.cancel", "session", sess.ID, strconv.Itoa(n))
	})
	switch {
	case errors.Is(err, models.ErrSessionCancelled):
		s.redirectWithFlash(c, "/sessions/"+sess.ID, "info", "Cette séance est déjà annulée.")
		return
	case errors.Is(err, models.ErrSessionStarted):
		s.redirectWithFlash(c, "/sessions/"+sess.ID, "error", "Une séance terminée ne s’annule plus.")
		return
	case err != nil:
		s.modelError(c, "cancel session", err)
		return
	}
	s.NotifyMail()
	msg := "La séance est annulée. Les participants reçoivent l’annulation dans leur agenda."
	if n > 1 {
		msg = strconv.Itoa(n) + " séances sont annulées. Les participants reçoivent les annulations dans leur agenda."
	}
	s.redirectWithFlash(c, "/sessions/"+sess.ID, "success", msg)
}

// sessionAnswer records a member's oui / non / peut-être.
func (s *Server) sessionAnswer(c *gin.Context) {
	ctx := c.Request.Context()
	sess, _, ok := s.loadGroupSession(c, needGroupVisible)
	if !ok {
		return
	}
	a := models.Answer(c.PostForm("answer"))
	if !a.Valid() {
		s.errorPage(c, http.StatusBadRequest, "Choisissez Oui, Non ou Peut-être.")
		return
	}
	back := safeNext(c.PostForm("next"))
	if back == "/" && c.PostForm("next") == "" {
		back = "/sessions/" + sess.ID
	}
	var res models.AnswerResult
	err := s.Store.Tx(ctx, func(tx *models.Tx) error {
		var err error
		if res, err = tx.Answer(ctx, *currentUser(c), sess.ID, a); err != nil {
			return err
		}
		if err := s.tellPromoted(ctx, tx, res.Promotions); err != nil {
			return err
		}
		if !res.Changed {
			return nil
		}
		return tx.Audit(ctx, actor(c), "session.answer", "session", sess.ID, string(a))
	})
	switch {
	case errors.Is(err, models.ErrNotMember):
		s.forbidden(c, "Seuls les membres du groupe répondent aux séances. Rejoignez d’abord le groupe.")
		return
	case errors.Is(err, models.ErrSessionStarted):
		s.redirectWithFlash(c, back, "error", "Cette séance a commencé : on ne peut plus y répondre.")
		return
	case errors.Is(err, models.ErrSessionCancelled):
		s.redirectWithFlash(c, back, "error", "Cette séance est annulée.")
		return
	case err != nil:
		s.modelError(c, "answer", err)
		return
	}
	s.NotifyMail()
	msg := "Votre réponse est enregistrée : " + a.Label() + "."
	if res.RSVP.Waiting {
		msg = "La séance est complète : vous êtes sur la liste d’attente. Si une place se libère, elle vous est attribuée et vous recevez un courriel."
	}
	s.redirectWithFlash(c, back, "success", msg)
}

// sessionMinutes saves the minutes; the first publication tells the members.
func (s *Server) sessionMinutes(c *gin.Context) {
	ctx := c.Request.Context()
	sess, g, ok := s.loadGroupSession(c, needGroupManager)
	if !ok {
		return
	}
	var errs form.Errors
	minutes := errs.LongText("minutes", c.PostForm("minutes"), false, 50000)
	if sess.StartsAt.After(s.Now()) {
		errs.Add("minutes", "Le compte rendu s’écrit une fois la séance commencée.")
	}
	if errs.Any() {
		s.renderSessionShow(c, http.StatusUnprocessableEntity, c.PostForm("minutes"), errs)
		return
	}
	err := s.Store.Tx(ctx, func(tx *models.Tx) error {
		first, err := tx.SetMinutes(ctx, *currentUser(c), sess.ID, minutes)
		if err != nil {
			return err
		}
		if first {
			members, err := tx.ListMembers(ctx, g.ID)
			if err != nil {
				return err
			}
			for _, m := range members {
				if !m.User.NotifyEmail {
					continue
				}
				if err := s.notify(ctx, tx, m.User, "session.minutes", "session:"+sess.ID+":minutes:"+m.User.ID, notice{
					Subject:    "Compte rendu : " + sess.Title,
					Paragraphs: []string{"Le compte rendu de " + sessionLabel(sess) + " (" + g.Title + ") est publié."},
					LinkLabel:  "Lire le compte rendu", Link: s.Invite.SessionURL(sess) + "#compte-rendu",
				}); err != nil {
					return err
				}
			}
		}
		return tx.Audit(ctx, actor(c), "session.minutes", "session", sess.ID, "")
	})
	if err != nil {
		s.modelError(c, "save minutes", err)
		return
	}
	s.NotifyMail()
	s.redirectWithFlash(c, "/sessions/"+sess.ID+"#compte-rendu", "success", "Le compte rendu est enregistré.")
}

// sessionAttendance records who attended.
func (s *Server) sessionAttendance(c *gin.Context) {
	ctx := c.Request.Context()
	sess, _, ok := s.loadGroupSession(c, needGroupManager)
	if !ok {
		return
	}
	ids := c.PostFormArray("attended")
	err := s.Store.Tx(ctx, func(tx *models.Tx) error {
		if err := tx.SetAttendance(ctx, *currentUser(c), sess.ID, ids); err != nil {
			return err
		}
		return tx.Audit(ctx, actor(c), "session.attendance", "session", sess.ID, strconv.Itoa(len(ids)))
	})
	switch {
	case errors.Is(err, models.ErrSessionNotOver):
		s.redirectWithFlash(c, "/sessions/"+sess.ID, "error", "La présence se note une fois la séance commencée.")
		return
	case errors.Is(err, models.ErrAttendeeNotMember):
		s.redirectWithFlash(c, "/sessions/"+sess.ID, "error", "Seuls les membres du groupe peuvent être notés présents.")
		return
	case err != nil:
		s.modelError(c, "attendance", err)
		return
	}
	s.redirectWithFlash(c, "/sessions/"+sess.ID+"#presences", "success", "Les présences sont enregistrées.")
}

// sessionLabel names a session in a sentence: "la séance « X » du jeudi …".
func sessionLabel(s models.Session) string {
	return "la séance « " + s.Title + " » du " + render.DateTimeFR(s.StartsAt)
}

package handlers

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/dnum-sociaux/agora/internal/form"
	"github.com/dnum-sociaux/agora/internal/invite"
	"github.com/dnum-sociaux/agora/models"
)

// The sessions of groups in the API: same validation, rules and calendar
// emails as the web pages (sessions.go).

type apiSession struct {
	ID             string  `json:"id"`
	GroupID        *string `json:"group_id" doc:"the group of the session"`
	EventID        *string `json:"event_id" doc:"the event, for a workshop of an event; null for a group session"`
	Title          string  `json:"title"`
	StartsAt       string  `json:"starts_at" doc:"RFC 3339"`
	EndsAt         string  `json:"ends_at" doc:"RFC 3339"`
	Location       string  `json:"location" doc:"room and address, as shown in invitations"`
	Room           string  `json:"room"`
	Address        string  `json:"address"`
	VideoURL       string  `json:"video_url"`
	Agenda         string  `json:"agenda" doc:"Markdown"`
	Capacity       *int    `json:"capacity" doc:"null: no limit"`
	Status         string  `json:"status" enum:"scheduled|cancelled"`
	Sequence       int     `json:"sequence" doc:"calendar SEQUENCE: increases on every change seen by calendars and on cancellation"`
	ConfirmedCount int     `json:"confirmed_count" doc:"answered yes, with a place"`
	WaitlistCount  int     `json:"waitlist_count" doc:"answered yes, on the waiting list"`
	MyAnswer       *string `json:"my_answer" enum:"yes|no|maybe" doc:"the caller's answer; null when none"`
	URL            string  `json:"url" doc:"the session's page in Agora"`
}

// apiSessionInput schedules a session (POST); the session starts and ends
// on the same day.
type apiSessionInput struct {
	Title    string `json:"title" api:"required"`
	StartsAt string `json:"starts_at" api:"required" doc:"RFC 3339 with offset, in the future"`
	EndsAt   string `json:"ends_at" api:"required" doc:"RFC 3339 with offset, the same day, after starts_at"`
	Room     string `json:"room"`
	Address  string `json:"address"`
	VideoURL string `json:"video_url" doc:"https://…; a room, an address or a video link is required"`
	Agenda   string `json:"agenda" doc:"Markdown"`
	Capacity *int   `json:"capacity" doc:"null or absent: no limit"`
}

// apiSessionPatch changes a session: absent fields keep their value.
type apiSessionPatch struct {
	Title    *string `json:"title"`
	StartsAt *string `json:"starts_at" doc:"RFC 3339 with offset"`
	EndsAt   *string `json:"ends_at" doc:"RFC 3339 with offset"`
	Room     *string `json:"room"`
	Address  *string `json:"address"`
	VideoURL *string `json:"video_url"`
	Agenda   *string `json:"agenda"`
	Capacity *int    `json:"capacity" doc:"0 removes the limit"`
}

// sessionFieldNames maps the web form's fields to the API's.
var sessionFieldNames = map[string]string{"title": "title", "date": "starts_at", "start": "starts_at", "end": "ends_at",
	"room": "room", "address": "address", "video_url": "video_url", "agenda": "agenda", "capacity": "capacity"}

func (s *Server) apiSessionOf(it models.SessionListItem) apiSession {
	out := apiSession{
		ID: it.ID, Title: it.Title, StartsAt: apiTime(it.StartsAt), EndsAt: apiTime(it.EndsAt), Location: it.Place(),
		Room: it.Room, Address: it.Address, VideoURL: it.VideoURL, Agenda: it.Agenda, Status: string(it.Status),
		Sequence: it.Sequence, ConfirmedCount: it.Confirmed, WaitlistCount: it.Waiting, URL: s.Config.URL("/sessions/" + it.ID),
	}
	if it.GroupID != "" {
		g := it.GroupID
		out.GroupID = &g
	}
	if it.Capacity > 0 {
		n := it.Capacity
		out.Capacity = &n
	}
	if it.Answer != "" {
		a := string(it.Answer)
		out.MyAnswer = &a
	}
	return out
}

// formTimes fills the web form's date and clock fields from RFC 3339
// times; a time that does not parse, or an end on another day, is a field
// error.
func formTimes(f *sessionForm, startsAt, endsAt string, errs map[string]string) {
	start, err1 := time.Parse(time.RFC3339, startsAt)
	end, err2 := time.Parse(time.RFC3339, endsAt)
	if err1 != nil {
		errs["starts_at"] = "Donnez une date et une heure au format RFC 3339, par exemple 2027-01-15T14:00:00+01:00."
	}
	if err2 != nil {
		errs["ends_at"] = "Donnez une date et une heure au format RFC 3339, par exemple 2027-01-15T16:00:00+01:00."
	}
	if err1 != nil || err2 != nil {
		return
	}
	ps, pe := start.In(models.Paris), end.In(models.Paris)
	if ps.Format("2006-01-02") != pe.Format("2006-01-02") {
		errs["ends_at"] = "La séance doit finir le même jour qu’elle commence (heure de Paris)."
		return
	}
	f.Date, f.Start, f.End = ps.Format("2006-01-02"), ps.Format("15:04"), pe.Format("15:04")
}

// sessionFieldErrors gives the web form's errors under the API's field
// names, with the RFC 3339 errors of the times (nil when none).
func sessionFieldErrors(errs form.Errors, timeErrs map[string]string) error {
	if len(timeErrs) == 0 && !errs.Any() {
		return nil
	}
	merged := map[string]string{}
	if ve, ok := apiFieldErrors(errs, sessionFieldNames).(validationError); ok {
		for _, fe := range ve.fields {
			merged[fe.Field] = fe.Detail
		}
	}
	for k, v := range timeErrs {
		merged[k] = v
	}
	return fieldErrors(merged)
}

// apiLoadSession reads the :id group session, visible with its group.
func (s *Server) apiLoadSession(c *gin.Context) (models.Session, models.Group, bool) {
	sess, err := s.Store.SessionByID(c.Request.Context(), c.Param("id"))
	if err == nil && sess.GroupID == "" {
		err = models.ErrNotFound
	}
	if err != nil {
		s.apiModelError(c, err)
		return sess, models.Group{}, false
	}
	g, ok := s.apiGroupByID(c, sess.GroupID)
	return sess, g, ok
}

func (s *Server) apiMustManage(c *gin.Context, groupID string) bool {
	return s.apiMustManageWith(c, groupID, "Seuls les organisateurs du groupe et les administrateurs peuvent faire cette action.")
}

func (s *Server) apiSessionItem(ctx context.Context, db *models.DB, id, viewerID string) (apiSession, error) {
	it, err := db.SessionItem(ctx, id, viewerID)
	if err != nil {
		return apiSession{}, err
	}
	return s.apiSessionOf(it), nil
}

// sessionErrors are the session rules in French, per field.
func sessionRuleError(err error) error {
	switch {
	case errors.Is(err, models.ErrCapacityBelowConfirmed):
		return fieldErrors(map[string]string{"capacity": "Des participants sont déjà confirmés au-delà de ce nombre de places : choisissez un nombre plus grand."})
	case errors.Is(err, models.ErrSessionStarted):
		return problemError{http.StatusConflict, "Cette séance a commencé : elle ne se modifie plus."}
	case errors.Is(err, models.ErrSessionCancelled):
		return problemError{http.StatusConflict, "Cette séance est annulée."}
	}
	return err
}

// problemError carries a status and a French detail out of a transaction.
type problemError struct {
	status int
	detail string
}

func (p problemError) Error() string { return p.detail }

// GET /groups/{id}/sessions
func (s *Server) apiGroupSessions(c *gin.Context) {
	g, ok := s.apiLoadGroup(c)
	if !ok {
		return
	}
	limit, offset, ok := s.pageParams(c)
	if !ok {
		return
	}
	upcoming := true
	switch c.DefaultQuery("when", "upcoming") {
	case "upcoming":
	case "past":
		upcoming = false
	default:
		s.apiProblem(c, http.StatusBadRequest, "Paramètre when invalide.", FieldError{Field: "when", Detail: "Valeurs possibles : upcoming, past."})
		return
	}
	items, err := s.Store.GroupSessions(c.Request.Context(), g.ID, currentUser(c).ID, upcoming, 1000)
	if err != nil {
		s.apiServerError(c, "group sessions", err)
		return
	}
	out := make([]apiSession, len(items))
	for i, it := range items {
		out[i] = s.apiSessionOf(it)
	}
	s.apiJSON(c, http.StatusOK, pageSlice(out, limit, offset))
}

// POST /groups/{id}/sessions: organisers schedule a session; members get
// the calendar invitation, as on the web.
func (s *Server) apiSessionCreate(c *gin.Context) {
	g, ok := s.apiLoadGroup(c)
	if !ok {
		return
	}
	var in apiSessionInput
	if _, ok := s.decodeJSON(c, &in); !ok {
		return
	}
	if !s.apiMustManage(c, g.ID) {
		return
	}
	f := sessionForm{Title: in.Title, Room: in.Room, Address: in.Address, VideoURL: in.VideoURL, Agenda: in.Agenda}
	if in.Capacity != nil {
		f.Capacity = strconv.Itoa(*in.Capacity)
	}
	timeErrs := map[string]string{}
	formTimes(&f, in.StartsAt, in.EndsAt, timeErrs)
	errs := f.Validate(s.Now(), true, nil)
	if g.Status != models.GroupActive {
		s.apiProblem(c, http.StatusConflict, "Ce groupe n’est pas actif : on ne peut pas y planifier de séance.")
		return
	}
	if err := sessionFieldErrors(errs, timeErrs); err != nil {
		s.apiModelError(c, err)
		return
	}
	out, ok := s.apiSessionWrite(c, "session.create", "group", g.ID, "1 session(s)", func(ctx context.Context, tx *models.Tx, u models.User) (string, error) {
		one, err := tx.CreateSession(ctx, u, models.NewSession{GroupID: g.ID, SessionInput: f.in, UIDHost: s.Config.BaseURL.Hostname()})
		if err != nil {
			return "", err
		}
		return one.ID, s.queueSession(ctx, tx, invite.Created, one, nil)
	})
	if !ok {
		return
	}
	s.apiCreated(c, "/sessions/"+out.ID, out)
}

// apiSessionWrite changes a session in one transaction: fn makes the change
// and queues its emails, then returns the session's id; the change is
// audited (action on the target), and the session as it now stands is read
// back. A failure is answered as a problem and gives false; otherwise the
// emails are sent.
func (s *Server) apiSessionWrite(c *gin.Context, action, targetType, targetID, detail string, fn func(ctx context.Context, tx *models.Tx, u models.User) (string, error)) (apiSession, bool) {
	u := currentUser(c)
	write := func(ctx context.Context, tx *models.Tx) (apiSession, error) {
		id, err := fn(ctx, tx, *u)
		if err != nil {
			return apiSession{}, err
		}
		if err := tx.Audit(ctx, actor(c), action, targetType, targetID, detail); err != nil {
			return apiSession{}, err
		}
		return s.apiSessionItem(ctx, &tx.DB, id, u.ID)
	}
	out, ok := apiCommit(s, c, func(ctx context.Context, tx *models.Tx) (apiSession, error) {
		out, err := write(ctx, tx)
		return out, sessionRuleError(err)
	})
	if ok {
		s.NotifyMail()
	}
	return out, ok
}

// GET /sessions/{id}
func (s *Server) apiSessionShow(c *gin.Context) {
	sess, _, ok := s.apiLoadSession(c)
	if !ok {
		return
	}
	out, err := s.apiSessionItem(c.Request.Context(), &s.Store.DB, sess.ID, currentUser(c).ID)
	s.apiRespond(c, "session", out, err)
}

// PATCH /sessions/{id}: organisers; a change seen by calendars sends the
// update to the participants, a bigger capacity promotes the waiting list.
func (s *Server) apiSessionUpdate(c *gin.Context) {
	sess, g, ok := s.apiLoadSession(c)
	if !ok {
		return
	}
	var p apiSessionPatch
	if _, ok := s.decodeJSON(c, &p); !ok {
		return
	}
	if !s.apiMustManage(c, g.ID) {
		return
	}
	f := sessionFormOf(sess)
	for dst, v := range map[*string]*string{&f.Title: p.Title, &f.Room: p.Room, &f.Address: p.Address, &f.VideoURL: p.VideoURL, &f.Agenda: p.Agenda} {
		if v != nil {
			*dst = *v
		}
	}
	if p.Capacity != nil {
		f.Capacity = ""
		if *p.Capacity != 0 {
			f.Capacity = strconv.Itoa(*p.Capacity)
		}
	}
	timeErrs := map[string]string{}
	if p.StartsAt != nil || p.EndsAt != nil {
		start, end := apiTime(sess.StartsAt), apiTime(sess.EndsAt)
		if p.StartsAt != nil {
			start = *p.StartsAt
		}
		if p.EndsAt != nil {
			end = *p.EndsAt
		}
		formTimes(&f, start, end, timeErrs)
	}
	errs := f.Validate(s.Now(), false, &sess)
	if err := sessionFieldErrors(errs, timeErrs); err != nil {
		s.apiModelError(c, err)
		return
	}
	out, ok := s.apiSessionWrite(c, "session.update", "session", sess.ID, "this", func(ctx context.Context, tx *models.Tx, u models.User) (string, error) {
		ch, err := tx.UpdateSession(ctx, u, sess.ID, f.in)
		if err != nil {
			return "", err
		}
		if ch.Moved {
			before := ch.Before
			if err := s.queueSession(ctx, tx, invite.Updated, ch.After, &before); err != nil {
				return "", err
			}
		}
		return sess.ID, s.tellPromoted(ctx, tx, ch.Promotions)
	})
	if ok {
		s.apiJSON(c, http.StatusOK, out)
	}
}

// POST /sessions/{id}/cancel: organisers; participants get the
// cancellation in their calendars.
func (s *Server) apiSessionCancel(c *gin.Context) {
	sess, g, ok := s.apiLoadSession(c)
	if !ok {
		return
	}
	if !s.apiMustManage(c, g.ID) {
		return
	}
	out, ok := s.apiSessionWrite(c, "session.cancel", "session", sess.ID, "1", func(ctx context.Context, tx *models.Tx, u models.User) (string, error) {
		done, err := tx.CancelSession(ctx, u, sess.ID)
		if err != nil {
			return "", err
		}
		return sess.ID, s.queueSession(ctx, tx, invite.Cancelled, done, nil)
	})
	if ok {
		s.apiJSON(c, http.StatusOK, out)
	}
}

type apiRSVPInput struct {
	Answer string `json:"answer" api:"required" enum:"yes|no|maybe"`
}

type apiRSVP struct {
	SessionID string `json:"session_id"`
	Answer    string `json:"answer" enum:"yes|no|maybe"`
	State     string `json:"state" enum:"confirmed|waitlisted|declined|maybe" doc:"confirmed: a place is yours; waitlisted: the session is full, you are in line"`
	Position  *int   `json:"position" doc:"place on the waiting list (1 is next); null unless waitlisted"`
}

// rsvpOf describes userID's answer, with the waiting-list position.
func rsvpOf(ctx context.Context, db *models.DB, sessionID, userID string) (apiRSVP, error) {
	r, err := db.RSVPByUser(ctx, sessionID, userID)
	if err != nil {
		return apiRSVP{}, err
	}
	out := apiRSVP{SessionID: sessionID, Answer: string(r.Answer)}
	switch {
	case r.Answer == models.AnswerNo:
		out.State = "declined"
	case r.Answer == models.AnswerMaybe:
		out.State = "maybe"
	case r.Waiting:
		out.State = "waitlisted"
		all, err := db.SessionRSVPs(ctx, sessionID)
		if err != nil {
			return out, err
		}
		pos := 0
		for _, o := range all {
			if o.Answer == models.AnswerYes && o.Waiting && o.QueueNo <= r.QueueNo {
				pos++
			}
		}
		out.Position = &pos
	default:
		out.State = "confirmed"
	}
	return out, nil
}

// PUT /sessions/{id}/rsvp: a member answers yes, no or maybe; beyond the
// capacity a yes joins the waiting list; a freed place goes to the first in
// line, who is told, as on the web. Accepts Idempotency-Key.
func (s *Server) apiSessionRSVP(c *gin.Context) {
	sess, _, ok := s.apiLoadSession(c)
	if !ok {
		return
	}
	var in apiRSVPInput
	body, ok := s.decodeJSON(c, &in)
	if !ok {
		return
	}
	a := models.Answer(in.Answer)
	if !a.Valid() {
		s.apiModelError(c, fieldErrors(map[string]string{"answer": "Répondez yes (oui), no (non) ou maybe (peut-être)."}))
		return
	}
	ctx := c.Request.Context()
	u := currentUser(c)
	s.idempotent(c, body, func(tx *models.Tx) (int, string, any, error) {
		res, err := tx.Answer(ctx, *u, sess.ID, a)
		if err != nil {
			return 0, "", nil, s.rsvpRuleError(err)
		}
		if err := s.tellPromoted(ctx, tx, res.Promotions); err != nil {
			return 0, "", nil, err
		}
		if res.Changed {
			if err := tx.Audit(ctx, actor(c), "session.answer", "session", sess.ID, string(a)); err != nil {
				return 0, "", nil, err
			}
		}
		out, err := rsvpOf(ctx, &tx.DB, sess.ID, u.ID)
		return http.StatusOK, "", out, err
	})
	s.NotifyMail()
}

func (s *Server) rsvpRuleError(err error) error {
	switch {
	case errors.Is(err, models.ErrNotMember):
		return problemError{http.StatusForbidden, "Seuls les membres du groupe répondent aux séances. Rejoignez d’abord le groupe."}
	case errors.Is(err, models.ErrSessionStarted):
		return problemError{http.StatusConflict, "Cette séance a commencé : on ne peut plus y répondre."}
	case errors.Is(err, models.ErrSessionCancelled):
		return problemError{http.StatusConflict, "Cette séance est annulée."}
	}
	return err
}

type apiAttendee struct {
	UserID     string  `json:"user_id"`
	Name       string  `json:"name"`
	Email      string  `json:"email"`
	Direction  *string `json:"direction"`
	Answer     string  `json:"answer" enum:"yes|no|maybe"`
	State      string  `json:"state" enum:"confirmed|waitlisted|declined|maybe"`
	Position   *int    `json:"position" doc:"place on the waiting list; null unless waitlisted"`
	AnsweredAt string  `json:"answered_at" doc:"RFC 3339"`
}

// GET /sessions/{id}/attendees: the answers, confirmed first, then the
// waiting list in order; for members and organisers, as on the web.
func (s *Server) apiSessionAttendees(c *gin.Context) {
	sess, g, ok := s.apiLoadSession(c)
	if !ok {
		return
	}
	limit, offset, ok := s.pageParams(c)
	if !ok {
		return
	}
	if !s.apiMemberOrManager(c, g.ID, "Les réponses à une séance sont réservées aux membres du groupe et à ses organisateurs.") {
		return
	}
	rsvps, err := s.Store.SessionRSVPs(c.Request.Context(), sess.ID)
	if err != nil {
		s.apiServerError(c, "answers", err)
		return
	}
	out := make([]apiAttendee, 0, len(rsvps))
	pos := 0
	for _, r := range rsvps {
		a := apiAttendee{UserID: r.User.ID, Name: r.User.Name, Email: r.User.Email, Answer: string(r.Answer), AnsweredAt: apiTime(r.AnsweredAt)}
		if r.User.DirectionCode != "" {
			d := r.User.DirectionCode
			a.Direction = &d
		}
		switch {
		case r.Answer == models.AnswerNo:
			a.State = "declined"
		case r.Answer == models.AnswerMaybe:
			a.State = "maybe"
		case r.Waiting:
			pos++
			p := pos
			a.State, a.Position = "waitlisted", &p
		default:
			a.State = "confirmed"
		}
		out = append(out, a)
	}
	s.apiJSON(c, http.StatusOK, pageSlice(out, limit, offset))
}

package handlers

import (
	"context"
	"errors"
	"html/template"
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

// Date polls (sondages de dates): an organiser of a group proposes candidate
// slots, members answer oui / si besoin / non on each, and the organiser
// closes the poll on the slot retained, which becomes a session of the
// group (same rules and invitations as a session scheduled by hand).

const (
	pollFormRows     = 5 // empty slot rows of a new poll form
	pollFormMoreRows = 5 // rows added by "Ajouter des créneaux"
)

// --- the form that opens a poll ---

// pollSlotRow is one candidate slot as typed: a Paris date and start time.
type pollSlotRow struct {
	Date, Start string
}

// pollForm is what an organiser writes to open a poll.
type pollForm struct {
	Title       string
	Description string
	Duration    string // minutes
	Room        string
	Address     string
	VideoURL    string
	Deadline    string // 2006-01-02, Paris: votes close at the end of that day
	Slots       []pollSlotRow

	in models.PollInput
}

func pollFormFromRequest(c *gin.Context) pollForm {
	f := pollForm{
		Title: c.PostForm("title"), Description: c.PostForm("description"), Duration: c.PostForm("duration"),
		Room: c.PostForm("room"), Address: c.PostForm("address"), VideoURL: c.PostForm("video_url"), Deadline: c.PostForm("deadline"),
	}
	dates, starts := c.PostFormArray("slot_date"), c.PostFormArray("slot_start")
	for i := range max(len(dates), len(starts)) {
		var r pollSlotRow
		if i < len(dates) {
			r.Date = strings.TrimSpace(dates[i])
		}
		if i < len(starts) {
			r.Start = strings.TrimSpace(starts[i])
		}
		if r.Date != "" || r.Start != "" { // rows left empty are dropped
			f.Slots = append(f.Slots, r)
		}
	}
	return f
}

// slotKey names the error fields of the i-th slot row (counting from 1).
func slotKey(field string, i int) string { return field + "_" + strconv.Itoa(i) }

// validVideoURL tells whether v is an absolute http(s) address.
func validVideoURL(v string) bool {
	u, err := url.Parse(v)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && !strings.ContainsAny(v, " \"<>")
}

// Validate checks the form at now and returns French messages by field;
// a slot row's fields are named slot_date_N and slot_start_N.
func (f *pollForm) Validate(now time.Time) form.Errors {
	var errs form.Errors
	f.Title = errs.Text("title", f.Title, true, 150)
	f.Description = errs.LongText("description", f.Description, false, 20000)
	f.Room = errs.Text("room", f.Room, false, 200)
	f.Address = errs.Text("address", f.Address, false, 300)
	f.VideoURL = errs.Text("video_url", f.VideoURL, false, 500)
	if f.VideoURL != "" && errs.Get("video_url") == "" && !validVideoURL(f.VideoURL) {
		errs.Add("video_url", "Saisissez une adresse web complète, commençant par https://.")
	}

	f.Duration = strings.TrimSpace(f.Duration)
	minutes, err := strconv.Atoi(f.Duration)
	duration := time.Duration(minutes) * time.Minute
	switch {
	case f.Duration == "":
		errs.Add("duration", "Indiquez la durée d’un créneau en minutes, par exemple 90 pour 1 h 30.")
	case err != nil:
		errs.Add("duration", "La durée est un nombre entier de minutes, par exemple 90 pour 1 h 30.")
	case minutes <= 0:
		errs.Add("duration", "La durée doit être positive : la fin d’un créneau vient après son début.")
	case duration < models.MinPollDuration || duration > models.MaxPollDuration:
		errs.Add("duration", "La durée d’un créneau va de 15 minutes à 12 heures (720 minutes).")
	}
	durationOK := errs.Get("duration") == ""

	switch {
	case len(f.Slots) < models.MinPollSlots:
		errs.Add("slots", "Proposez au moins "+strconv.Itoa(models.MinPollSlots)+" créneaux.")
	case len(f.Slots) > models.MaxPollSlots:
		errs.Add("slots", "Proposez au plus "+strconv.Itoa(models.MaxPollSlots)+" créneaux.")
	}
	f.in = models.PollInput{Title: f.Title, Description: f.Description, Duration: duration, Room: f.Room, Address: f.Address, VideoURL: f.VideoURL}
	seen := map[int64]int{}
	var last time.Time
	for i, r := range f.Slots {
		n := i + 1
		day, okDay := parseParisDate(r.Date)
		if !okDay {
			errs.Add(slotKey("slot_date", n), "Saisissez une date valide, par exemple 15/01/2027.")
		}
		h, m, okStart := parseClock(r.Start)
		if !okStart {
			errs.Add(slotKey("slot_start", n), "Saisissez une heure de début, par exemple 14:00.")
		}
		if !okDay || !okStart {
			continue
		}
		start := time.Date(day.Year(), day.Month(), day.Day(), h, m, 0, 0, models.Paris)
		switch {
		case !start.After(now):
			errs.Add(slotKey("slot_date", n), "Ce créneau est passé : choisissez une date et une heure à venir.")
		case seen[start.Unix()] > 0:
			errs.Add(slotKey("slot_date", n), "Ce créneau est déjà proposé (créneau "+strconv.Itoa(seen[start.Unix()])+").")
		case durationOK && !models.SameParisDay(start, start.Add(duration)):
			errs.Add(slotKey("slot_start", n), "Avec cette durée, le créneau finirait le lendemain : commencez plus tôt ou raccourcissez la durée.")
		}
		if seen[start.Unix()] == 0 {
			seen[start.Unix()] = n
		}
		if start.After(last) {
			last = start
		}
		f.in.Starts = append(f.in.Starts, start.UTC())
	}

	f.Deadline = strings.TrimSpace(f.Deadline)
	if f.Deadline != "" {
		day, ok := parseParisDate(f.Deadline)
		// Votes close at the end of the day chosen, Paris time.
		end := time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, models.Paris)
		switch {
		case !ok:
			errs.Add("deadline", "Saisissez une date valide, par exemple 15/01/2027, ou laissez vide.")
		case !end.After(now):
			errs.Add("deadline", "Cette date est passée : choisissez aujourd’hui ou une date à venir.")
		case !last.IsZero() && end.After(last):
			errs.Add("deadline", "La date limite est au plus tard la veille du dernier créneau proposé.")
		default:
			f.in.Deadline = end.UTC()
		}
	}
	return errs
}

// rows returns the slot rows to show: those typed, then empty ones, at
// least pollFormRows and at most the maximum of slots.
func (f pollForm) rows(extra int) []pollSlotRow {
	n := min(max(len(f.Slots)+extra, pollFormRows), models.MaxPollSlots)
	rows := make([]pollSlotRow, max(n, len(f.Slots)))
	copy(rows, f.Slots)
	return rows
}

type pollFormPage struct {
	Layout
	Form   pollForm
	Errors form.Errors
	Group  models.Group
	Rows   []pollSlotRow
	Now    time.Time
}

func (s *Server) renderPollForm(c *gin.Context, status int, g models.Group, f pollForm, errs form.Errors, extra int) {
	s.render(c, status, "poll_form", pollFormPage{
		Layout: s.layout(c, "Nouveau sondage de dates", "groups", groupsCrumb, Crumb{Label: g.Title, URL: "/groups/" + g.ID}, Crumb{Label: "Nouveau sondage de dates"}),
		Form:   f, Errors: errs, Group: g, Rows: f.rows(extra), Now: s.Now(),
	})
}

func (s *Server) pollNew(c *gin.Context) {
	g, ok := s.loadGroup(c, needGroupManager)
	if !ok {
		return
	}
	if g.Status != models.GroupActive {
		s.redirectWithFlash(c, "/groups/"+g.ID, "error", "Ce groupe n’est pas actif : on ne peut pas y lancer de sondage.")
		return
	}
	s.renderPollForm(c, http.StatusOK, g.Group, pollForm{Duration: "120"}, nil, 0)
}

func (s *Server) pollCreate(c *gin.Context) {
	ctx := c.Request.Context()
	g, ok := s.loadGroup(c, needGroupManager)
	if !ok {
		return
	}
	f := pollFormFromRequest(c)
	if c.PostForm("more") != "" {
		// "Ajouter des créneaux": the same form with more empty rows.
		s.renderPollForm(c, http.StatusOK, g.Group, f, nil, pollFormMoreRows)
		return
	}
	errs := f.Validate(s.Now())
	if g.Status != models.GroupActive {
		errs.Add("title", "Ce groupe n’est pas actif : on ne peut pas y lancer de sondage.")
	}
	if errs.Any() {
		s.renderPollForm(c, http.StatusUnprocessableEntity, g.Group, f, errs, 2)
		return
	}
	u := currentUser(c)
	var p models.Poll
	err := s.Store.Tx(ctx, func(tx *models.Tx) error {
		var slots []models.PollSlot
		var err error
		if p, slots, err = tx.CreatePoll(ctx, *u, g.ID, f.in); err != nil {
			return err
		}
		if err := s.tellPollOpened(ctx, tx, *u, g.Group, p, len(slots)); err != nil {
			return err
		}
		return tx.Audit(ctx, actor(c), "poll.create", "poll", p.ID, g.ID+" "+strconv.Itoa(len(slots))+" slot(s)")
	})
	if err != nil {
		s.pollError(c, "create poll", err)
		return
	}
	s.NotifyMail()
	s.redirectWithFlash(c, "/polls/"+p.ID, "success", "Le sondage est ouvert. Les membres du groupe sont prévenus par courriel.")
}

// tellPollOpened emails the group's members (but its author) who accept
// news by email.
func (s *Server) tellPollOpened(ctx context.Context, tx *models.Tx, by models.User, g models.Group, p models.Poll, slots int) error {
	members, err := tx.ListMembers(ctx, g.ID)
	if err != nil {
		return err
	}
	paras := []string{by.Name + " propose un sondage de dates pour le groupe « " + g.Title + " » : " + p.Title + ".",
		strconv.Itoa(slots) + " créneaux de " + durationFR(p.Duration) + " sont proposés. Indiquez pour chacun si vous êtes disponible (oui, si besoin ou non)."}
	if !p.Deadline.IsZero() {
		paras = append(paras, "Répondez au plus tard le "+render.DateFR(p.LastDay())+".")
	}
	for _, m := range members {
		if m.User.ID == by.ID || !m.User.NotifyEmail {
			continue
		}
		if err := s.notify(ctx, tx, m.User, "poll.opened", "poll:"+p.ID+":opened:"+m.User.ID, notice{
			Subject: "Sondage de dates : " + p.Title, Paragraphs: paras,
			LinkLabel: "Répondre au sondage", Link: s.Config.URL("/polls/" + p.ID),
		}); err != nil {
			return err
		}
	}
	return nil
}

// durationFR shows a duration as "2 h", "1 h 30" or "45 min".
func durationFR(d time.Duration) string {
	h, m := int(d.Hours()), int(d.Minutes())%60
	switch {
	case h == 0:
		return strconv.Itoa(m) + " min"
	case m == 0:
		return strconv.Itoa(h) + " h"
	}
	return strconv.Itoa(h) + " h " + strconv.Itoa(m)
}

// slotLabel shows a slot as "mardi 8 décembre 2026, 10 h – 12 h".
func slotLabel(start, end time.Time) string {
	return render.DateFR(start) + ", " + render.ClockFR(start) + " – " + render.ClockFR(end)
}

// pollError answers the poll rules every action shares.
func (s *Server) pollError(c *gin.Context, what string, err error) {
	switch {
	case errors.Is(err, models.ErrGroupInactive):
		s.errorPage(c, http.StatusConflict, "Ce groupe n’est pas actif.")
	case errors.Is(err, models.ErrInvalidPoll), errors.Is(err, models.ErrInvalidVote):
		s.errorPage(c, http.StatusBadRequest, "")
	default:
		s.modelError(c, what, err)
	}
}

// --- loading a poll ---

// loadPoll reads the :id poll (404 when unknown) and its group for need
// (see loadGroup).
func (s *Server) loadPoll(c *gin.Context, need groupNeed) (models.Poll, groupCtx, bool) {
	p, err := s.Store.PollByID(c.Request.Context(), c.Param("id"))
	if errors.Is(err, models.ErrNotFound) {
		s.errorPage(c, http.StatusNotFound, "Ce sondage n’existe pas.")
		return p, groupCtx{}, false
	}
	if err != nil {
		s.serverError(c, "get poll", err)
		return p, groupCtx{}, false
	}
	g, ok := s.loadGroupByID(c, p.GroupID, need)
	return p, g, ok
}

// loadVisiblePoll is loadPoll for members, organisers and admins (403 otherwise).
func (s *Server) loadVisiblePoll(c *gin.Context) (models.Poll, groupCtx, bool) {
	p, g, ok := s.loadPoll(c, needGroupRoles)
	if ok && !g.memberOrManager() {
		s.forbidden(c, "Ce sondage est réservé aux membres du groupe. Rejoignez d’abord le groupe.")
		return p, g, false
	}
	return p, g, ok
}

// --- the poll page ---

// pollSlotView is a slot as the poll page shows it, its texts made in Go.
type pollSlotView struct {
	ID       string
	Label    string // "mardi 8 décembre 2026, 10 h – 12 h"
	Day      string // "mar. 8 déc."
	Time     string // "10 h – 12 h"
	Yes      int
	IfNeeded int
	No       int
	Best     bool
	Chosen   bool
	Started  bool
	Mine     models.Vote // the viewer's answer, or the one just submitted
	Totals   string      // "2 oui, 1 si besoin, 0 non"
}

// pollRow is one member's line in the table. Its cells are made in Go
// from fixed strings only (a 200 × 30 table renders without a template call
// per cell); the name is escaped by the template.
type pollRow struct {
	Name   string
	Me     bool
	Former bool // answered, then left the group (a closed poll keeps the answers)
	Cells  template.HTML
}

// pollCellHTML is the cell of an answer: a word in a badge (the colour is
// never the only sign), or a dash read as "Pas de réponse"; best is the
// column of a best or retained slot.
func pollCellHTML(v models.Vote, best bool) string {
	td := "<td>"
	if best {
		td = `<td class="agora-poll-best">`
	}
	class := ""
	switch v {
	case models.VoteYes:
		class = "fr-badge--success"
	case models.VoteIfNeeded:
		class = "fr-badge--info"
	case models.VoteNo:
		class = "fr-badge--error"
	default:
		return td + `<span aria-hidden="true">—</span><span class="fr-sr-only">Pas de réponse</span></td>`
	}
	return td + `<span class="fr-badge fr-badge--sm fr-badge--no-icon ` + class + `">` + v.Label() + `</span></td>`
}

var shortDays = [...]string{"dim.", "lun.", "mar.", "mer.", "jeu.", "ven.", "sam."}
var shortMonths = [...]string{"janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."}

func shortDayFR(t time.Time) string {
	p := t.In(models.Paris)
	return shortDays[p.Weekday()] + " " + strconv.Itoa(p.Day()) + " " + shortMonths[p.Month()-1] + " " + strconv.Itoa(p.Year())
}

func pollSlotViews(p models.Poll, tallies []models.SlotTally, mine map[string]models.Vote, now time.Time) []pollSlotView {
	out := make([]pollSlotView, len(tallies))
	for i, t := range tallies {
		out[i] = pollSlotView{
			ID: t.ID, Label: slotLabel(t.StartsAt, t.EndsAt), Day: shortDayFR(t.StartsAt), Time: render.ClockFR(t.StartsAt) + " – " + render.ClockFR(t.EndsAt),
			Yes: t.Yes, IfNeeded: t.IfNeeded, No: t.No, Best: t.Best && p.Open(), Chosen: p.ChosenSlotID == t.ID,
			Started: !t.StartsAt.After(now), Mine: mine[t.ID],
			Totals: strconv.Itoa(t.Yes) + " oui, " + strconv.Itoa(t.IfNeeded) + " si besoin, " + strconv.Itoa(t.No) + " non",
		}
	}
	return out
}

type pollShowPage struct {
	Layout
	Poll        models.Poll
	Group       models.Group
	Member      bool
	CanManage   bool
	CanVote     bool // a member, the poll open and before its deadline
	Slots       []pollSlotView
	VoteSlots   []pollSlotView // the slots a member answers (not started)
	Rows        []pollRow
	Answered    int // members who answered at least one slot
	MemberCount int
	HasBest     bool
	Duration    string    // "1 h 30"
	DeadlineDay time.Time // the last day of votes; zero without a deadline
	// DeadlinePassed: the deadline has passed and the poll is still open.
	DeadlinePassed bool
	Session        *models.Session
	VoteOptions    []render.Option
	Errors         form.Errors
}

func voteOptions() []render.Option {
	out := make([]render.Option, len(models.Votes))
	for i, v := range models.Votes {
		out[i] = render.Option{Value: string(v), Label: v.Label()}
	}
	return out
}

func (s *Server) pollShow(c *gin.Context) {
	s.renderPollShow(c, http.StatusOK, nil, nil)
}

// renderPollShow shows the poll; submitted and errs are a refused vote's
// answers and messages.
func (s *Server) renderPollShow(c *gin.Context, status int, submitted map[string]models.Vote, errs form.Errors) {
	ctx := c.Request.Context()
	p, g, ok := s.loadVisiblePoll(c)
	if !ok {
		return
	}
	u := g.User
	now := s.Now()
	tallies, err := s.Store.PollTallies(ctx, p.ID)
	if err != nil {
		s.serverError(c, "poll tallies", err)
		return
	}
	votes, err := s.Store.PollVotes(ctx, p.ID)
	if err != nil {
		s.serverError(c, "poll votes", err)
		return
	}
	members, err := s.Store.ListMembers(ctx, g.ID)
	if err != nil {
		s.serverError(c, "members", err)
		return
	}
	mine := votes[u.ID]
	if submitted != nil {
		mine = submitted
	}
	pg := pollShowPage{
		Layout: s.layout(c, p.Title, "groups", groupsCrumb, Crumb{Label: g.Title, URL: "/groups/" + g.ID}, Crumb{Label: p.Title}),
		Poll:   p, Group: g.Group, Member: g.Member != nil, CanManage: g.Manage, CanVote: g.Member != nil && p.AcceptsVotes(now) && g.Status == models.GroupActive,
		Slots: pollSlotViews(p, tallies, mine, now), MemberCount: len(members), VoteOptions: voteOptions(), Errors: errs,
	}
	pg.Duration = durationFR(p.Duration)
	if !p.Deadline.IsZero() {
		pg.DeadlineDay = p.LastDay()
		pg.DeadlinePassed = p.Open() && !now.Before(p.Deadline)
	}
	for _, sl := range pg.Slots {
		pg.HasBest = pg.HasBest || sl.Best
		if !sl.Started {
			pg.VoteSlots = append(pg.VoteSlots, sl)
		}
	}
	if len(pg.VoteSlots) == 0 {
		pg.CanVote = false
	}
	// One line per member, the viewer's first; then those who answered and
	// left since (the totals count them: a closed poll keeps its answers).
	people := make([]pollRow, 0, len(members))
	ids := make([]string, 0, len(members))
	isMember := map[string]bool{}
	for _, m := range members {
		people, ids = append(people, pollRow{Name: m.User.Name, Me: m.User.ID == u.ID}), append(ids, m.User.ID)
		isMember[m.User.ID] = true
		if len(votes[m.User.ID]) > 0 {
			pg.Answered++
		}
	}
	if len(votes) > pg.Answered {
		voters, err := s.Store.PollVoters(ctx, p.ID)
		if err != nil {
			s.serverError(c, "poll voters", err)
			return
		}
		for _, v := range voters {
			if !isMember[v.ID] {
				people, ids = append(people, pollRow{Name: v.Name, Former: true}), append(ids, v.ID)
			}
		}
	}
	cells := map[string]string{} // the few distinct cells, made once
	var b strings.Builder
	for i, row := range people {
		b.Reset()
		for _, sl := range pg.Slots {
			v, best := votes[ids[i]][sl.ID], sl.Best || sl.Chosen
			key := string(v) + strconv.FormatBool(best)
			cell, ok := cells[key]
			if !ok {
				cell = pollCellHTML(v, best)
				cells[key] = cell
			}
			b.WriteString(cell)
		}
		row.Cells = template.HTML(b.String()) // #nosec G203 -- fixed strings only (pollCellHTML)
		if row.Me {
			pg.Rows = append([]pollRow{row}, pg.Rows...)
		} else {
			pg.Rows = append(pg.Rows, row)
		}
	}
	if p.SessionID != "" {
		if sess, err := s.Store.SessionByID(ctx, p.SessionID); err == nil {
			pg.Session = &sess
		} else if !errors.Is(err, models.ErrNotFound) {
			s.serverError(c, "poll session", err)
			return
		}
	}
	s.render(c, status, "poll_show", pg)
}

// pollVote records a member's answers on every slot still to come.
func (s *Server) pollVote(c *gin.Context) {
	ctx := c.Request.Context()
	p, g, ok := s.loadPoll(c, needGroupRoles)
	if !ok {
		return
	}
	if g.Member == nil {
		s.forbidden(c, "Seuls les membres du groupe répondent aux sondages. Rejoignez d’abord le groupe.")
		return
	}
	back := "/polls/" + p.ID
	now := s.Now()
	switch {
	case !p.Open():
		s.voteError(c, back, models.ErrPollClosed)
		return
	case !p.AcceptsVotes(now):
		s.voteError(c, back, models.ErrPollDeadline)
		return
	}
	slots, err := s.Store.PollSlots(ctx, p.ID)
	if err != nil {
		s.serverError(c, "poll slots", err)
		return
	}
	votes := map[string]models.Vote{}
	var errs form.Errors
	for _, sl := range slots {
		if !sl.StartsAt.After(now) {
			continue
		}
		v := models.Vote(c.PostForm("slot_" + sl.ID))
		if !v.Valid() {
			errs.Add("slot_"+sl.ID, "Choisissez Oui, Si besoin ou Non pour ce créneau.")
			continue
		}
		votes[sl.ID] = v
	}
	if errs.Any() {
		s.renderPollShow(c, http.StatusUnprocessableEntity, votes, errs)
		return
	}
	if len(votes) == 0 {
		s.redirectWithFlash(c, back, "error", "Tous les créneaux de ce sondage sont passés : il n’y a plus rien à répondre.")
		return
	}
	err = s.Store.Tx(ctx, func(tx *models.Tx) error {
		n, err := tx.VotePoll(ctx, *currentUser(c), p.ID, votes)
		if err != nil || n == 0 {
			return err
		}
		return tx.Audit(ctx, actor(c), "poll.vote", "poll", p.ID, strconv.Itoa(n)+" answer(s) changed")
	})
	if err != nil {
		s.voteError(c, back, err)
		return
	}
	s.redirectWithFlash(c, back, "success", "Vos réponses sont enregistrées. Vous pouvez les modifier tant que le sondage est ouvert.")
}

func (s *Server) voteError(c *gin.Context, back string, err error) {
	switch {
	case errors.Is(err, models.ErrNotMember):
		s.forbidden(c, "Seuls les membres du groupe répondent aux sondages. Rejoignez d’abord le groupe.")
	case errors.Is(err, models.ErrPollClosed):
		s.redirectWithFlash(c, back, "error", "Ce sondage est clos : les réponses ne se modifient plus.")
	case errors.Is(err, models.ErrPollDeadline):
		s.redirectWithFlash(c, back, "error", "La date limite de ce sondage est passée : les réponses ne se modifient plus.")
	case errors.Is(err, models.ErrGroupInactive):
		s.redirectWithFlash(c, back, "error", "Ce groupe n’est pas actif : on ne répond plus à ses sondages.")
	default:
		s.pollError(c, "vote", err)
	}
}

// --- closing ---

// pollCloseForm is what the organiser writes when retaining a slot: the
// slot, and what the session says besides its time.
type pollCloseForm struct {
	Slot     string
	Title    string
	Room     string
	Address  string
	VideoURL string
	Agenda   string
	Capacity string

	choice models.PollChoice
}

func pollCloseFormFromRequest(c *gin.Context) pollCloseForm {
	return pollCloseForm{Slot: c.PostForm("slot"), Title: c.PostForm("title"), Room: c.PostForm("room"), Address: c.PostForm("address"),
		VideoURL: c.PostForm("video_url"), Agenda: c.PostForm("agenda"), Capacity: c.PostForm("capacity")}
}

// closeFieldNames maps the session form's fields to the close form's.
var closeFieldNames = map[string]string{"date": "slot", "start": "slot", "end": "slot"}

// Validate checks the choice with the session form's own rules (a place or
// a video link, a start in the future …).
func (f *pollCloseForm) Validate(now time.Time, slots []models.PollSlot) form.Errors {
	var errs form.Errors
	var slot *models.PollSlot
	for i := range slots {
		if slots[i].ID == f.Slot {
			slot = &slots[i]
		}
	}
	sf := sessionForm{Title: f.Title, Room: f.Room, Address: f.Address, VideoURL: f.VideoURL, Agenda: f.Agenda, Capacity: f.Capacity}
	if slot != nil {
		st, en := slot.StartsAt.In(models.Paris), slot.EndsAt.In(models.Paris)
		sf.Date, sf.Start, sf.End = st.Format("2006-01-02"), st.Format("15:04"), en.Format("15:04")
	}
	if slot == nil {
		errs.Add("slot", "Choisissez le créneau retenu.")
	}
	for field, msg := range sf.Validate(now, true, nil) {
		if n, ok := closeFieldNames[field]; ok {
			field = n
			if slot != nil && field == "slot" {
				msg = "Ce créneau a commencé : choisissez un créneau à venir."
			}
		}
		errs.Add(field, msg)
	}
	f.Title, f.Room, f.Address, f.VideoURL, f.Agenda, f.Capacity = sf.Title, sf.Room, sf.Address, sf.VideoURL, sf.Agenda, sf.Capacity
	f.choice = models.PollChoice{SlotID: f.Slot, Title: sf.in.Title, Room: sf.in.Room, Address: sf.in.Address, VideoURL: sf.in.VideoURL,
		Agenda: sf.in.Agenda, Capacity: sf.in.Capacity}
	return errs
}

type pollClosePage struct {
	Layout
	Poll        models.Poll
	Group       models.Group
	Form        pollCloseForm
	Errors      form.Errors
	SlotOptions []render.Option
}

func (s *Server) renderPollClose(c *gin.Context, status int, p models.Poll, g models.Group, f pollCloseForm, errs form.Errors) {
	tallies, err := s.Store.PollTallies(c.Request.Context(), p.ID)
	if err != nil {
		s.serverError(c, "poll tallies", err)
		return
	}
	now := s.Now()
	pg := pollClosePage{
		Layout: s.layout(c, "Retenir une date", "groups", groupsCrumb, Crumb{Label: g.Title, URL: "/groups/" + g.ID},
			Crumb{Label: p.Title, URL: "/polls/" + p.ID}, Crumb{Label: "Retenir une date"}),
		Poll: p, Group: g, Form: f, Errors: errs,
	}
	for _, t := range tallies {
		if !t.StartsAt.After(now) {
			continue
		}
		hint := strconv.Itoa(t.Yes) + " oui, " + strconv.Itoa(t.IfNeeded) + " si besoin, " + strconv.Itoa(t.No) + " non"
		if t.Best {
			hint = "Meilleur créneau : " + hint
		}
		pg.SlotOptions = append(pg.SlotOptions, render.Option{Value: t.ID, Label: slotLabel(t.StartsAt, t.EndsAt), Hint: hint})
		if pg.Form.Slot == "" && t.Best {
			pg.Form.Slot = t.ID
		}
	}
	s.render(c, status, "poll_close", pg)
}

func (s *Server) pollCloseShow(c *gin.Context) {
	p, g, ok := s.loadPoll(c, needGroupManager)
	if !ok {
		return
	}
	if !p.Open() {
		s.redirectWithFlash(c, "/polls/"+p.ID, "info", "Ce sondage est déjà clos.")
		return
	}
	if g.Status != models.GroupActive {
		s.redirectWithFlash(c, "/polls/"+p.ID, "error", "Ce groupe n’est pas actif : on ne peut pas y planifier de séance.")
		return
	}
	f := pollCloseForm{Title: p.Title, Room: p.Room, Address: p.Address, VideoURL: p.VideoURL, Agenda: p.Description}
	s.renderPollClose(c, http.StatusOK, p, g.Group, f, nil)
}

// pollClose retains a slot: in one transaction the poll is closed, the
// session is scheduled (CreateSession's rules), the members get its
// calendar invitation as for any new session, and the voters are told.
func (s *Server) pollClose(c *gin.Context) {
	ctx := c.Request.Context()
	p, g, ok := s.loadPoll(c, needGroupManager)
	if !ok {
		return
	}
	slots, err := s.Store.PollSlots(ctx, p.ID)
	if err != nil {
		s.serverError(c, "poll slots", err)
		return
	}
	f := pollCloseFormFromRequest(c)
	errs := f.Validate(s.Now(), slots)
	if errs.Any() {
		if !p.Open() {
			s.redirectWithFlash(c, "/polls/"+p.ID, "info", "Ce sondage est déjà clos.")
			return
		}
		s.renderPollClose(c, http.StatusUnprocessableEntity, p, g.Group, f, errs)
		return
	}
	u := currentUser(c)
	f.choice.UIDHost = s.Config.BaseURL.Hostname()
	var sess models.Session
	err = s.Store.Tx(ctx, func(tx *models.Tx) error {
		var closed models.Poll
		var err error
		if closed, sess, err = tx.ClosePoll(ctx, *u, p.ID, f.choice); err != nil {
			return err
		}
		if err := s.queueSession(ctx, tx, invite.Created, sess, nil); err != nil {
			return err
		}
		if err := s.tellPollClosed(ctx, tx, g.Group, closed, &sess); err != nil {
			return err
		}
		if err := tx.Audit(ctx, actor(c), "session.create", "group", g.ID, "1 session(s) from poll "+p.ID); err != nil {
			return err
		}
		return tx.Audit(ctx, actor(c), "poll.close", "poll", p.ID, "slot "+f.choice.SlotID+" session "+sess.ID)
	})
	switch {
	case errors.Is(err, models.ErrPollClosed):
		s.redirectWithFlash(c, "/polls/"+p.ID, "info", "Ce sondage est déjà clos.")
		return
	case errors.Is(err, models.ErrSessionStarted):
		errs.Add("slot", "Ce créneau a commencé : choisissez un créneau à venir.")
		s.renderPollClose(c, http.StatusUnprocessableEntity, p, g.Group, f, errs)
		return
	case errors.Is(err, models.ErrUnknownSlot):
		errs.Add("slot", "Choisissez le créneau retenu.")
		s.renderPollClose(c, http.StatusUnprocessableEntity, p, g.Group, f, errs)
		return
	case err != nil:
		s.pollError(c, "close poll", err)
		return
	}
	s.NotifyMail()
	s.redirectWithFlash(c, "/sessions/"+sess.ID, "success", "La date est retenue : la séance est planifiée et les membres reçoivent l’invitation.")
}

// tellPollClosed emails the voters who accept news by email: the date
// retained (sess), or that the poll is cancelled (sess nil).
func (s *Server) tellPollClosed(ctx context.Context, tx *models.Tx, g models.Group, p models.Poll, sess *models.Session) error {
	voters, err := tx.PollVoters(ctx, p.ID)
	if err != nil {
		return err
	}
	for _, v := range voters {
		if !v.NotifyEmail {
			continue
		}
		n := notice{Subject: "Sondage annulé : " + p.Title, LinkLabel: "Voir le sondage", Link: s.Config.URL("/polls/" + p.ID),
			Paragraphs: []string{"Le sondage de dates « " + p.Title + " » du groupe « " + g.Title + " » est annulé : aucune date n’a été retenue.",
				"Merci d’avoir répondu."}}
		kind, cause := "poll.cancelled", "cancelled"
		if sess != nil {
			kind, cause = "poll.chosen", "chosen"
			n.Subject = "Date retenue : " + p.Title
			n.Paragraphs = []string{"Le sondage de dates « " + p.Title + " » du groupe « " + g.Title + " » est clos. Date retenue : " +
				slotLabel(sess.StartsAt, sess.EndsAt) + " (heure de Paris).", "Merci d’avoir répondu."}
			if place := sess.Place(); place != "" {
				n.Paragraphs = append(n.Paragraphs, "Lieu : "+place+".")
			}
			if m, err := tx.Membership(ctx, g.ID, v.ID); err == nil && m.Invitations {
				n.Paragraphs = append(n.Paragraphs, "L’invitation pour votre agenda arrive dans un message séparé.")
			} else {
				n.Paragraphs = append(n.Paragraphs, "Vous ne recevez pas les invitations d’agenda de ce groupe : ajoutez la séance à votre agenda depuis sa page.")
			}
			n.LinkLabel, n.Link = "Voir la séance", s.Invite.SessionURL(*sess)
		}
		if err := s.notify(ctx, tx, v, kind, "poll:"+p.ID+":"+cause+":"+v.ID, n); err != nil {
			return err
		}
	}
	return nil
}

// pollCancel closes the poll without retaining a date; the voters are told.
func (s *Server) pollCancel(c *gin.Context) {
	ctx := c.Request.Context()
	p, g, ok := s.loadPoll(c, needGroupManager)
	if !ok {
		return
	}
	err := s.Store.Tx(ctx, func(tx *models.Tx) error {
		cancelled, err := tx.CancelPoll(ctx, *currentUser(c), p.ID)
		if err != nil {
			return err
		}
		if err := s.tellPollClosed(ctx, tx, g.Group, cancelled, nil); err != nil {
			return err
		}
		return tx.Audit(ctx, actor(c), "poll.cancel", "poll", p.ID, "")
	})
	if errors.Is(err, models.ErrPollClosed) {
		s.redirectWithFlash(c, "/polls/"+p.ID, "info", "Ce sondage est déjà clos.")
		return
	}
	if err != nil {
		s.pollError(c, "cancel poll", err)
		return
	}
	s.NotifyMail()
	s.redirectWithFlash(c, "/polls/"+p.ID, "success", "Le sondage est annulé. Les membres qui avaient répondu sont prévenus.")
}

// pollItem is a poll in a list (a group's page, Mon espace).
type pollItem struct {
	ID, Title, GroupID, GroupTitle string
	Info                           string // "3 créneaux · 2 réponses · jusqu’au mardi 8 décembre 2026"
	ToAnswer                       bool   // the viewer is a member who has not answered every slot
}

func pollItems(items []models.PollListItem, member bool, now time.Time) []pollItem {
	out := make([]pollItem, len(items))
	for i, it := range items {
		info := strconv.Itoa(it.Slots) + " créneaux · " + strconv.Itoa(it.Voters) + " " + render.Plural(it.Voters, "réponse", "réponses")
		switch {
		case it.Deadline.IsZero():
		case it.AcceptsVotes(now):
			info += " · réponses jusqu’au " + render.DateFR(it.LastDay())
		default:
			info += " · date limite passée"
		}
		out[i] = pollItem{ID: it.ID, Title: it.Title, GroupID: it.GroupID, GroupTitle: it.GroupTitle, Info: info,
			ToAnswer: member && it.AwaitsVote() && it.AcceptsVotes(now)}
	}
	return out
}

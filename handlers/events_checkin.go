package handlers

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/dnum-sociaux/agora/internal/eventcsv"
	"github.com/dnum-sociaux/agora/internal/form"
	"github.com/dnum-sociaux/agora/models"
)

// --- check-in, on a phone ---

// CheckInResult is what the check-in page says about the last code or
// person: the state at a glance.
type CheckInResult struct {
	Kind    string // "ok", "already", "waitlisted", "cancelled", "unknown"
	Title   string
	Message string
	Reg     *models.Registration
}

type checkInPage struct {
	Layout
	eventCtx
	Code     string
	Query    string
	Result   *CheckInResult
	Found    []models.Registration
	Counts   models.RegistrationCounts
	Searched bool
}

func (s *Server) checkInShow(c *gin.Context) {
	ev, ok := s.loadEvent(c, needOrganiser)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	p := checkInPage{eventCtx: ev, Code: c.Query("code"), Query: strings.TrimSpace(c.Query("q"))}
	// A scanned QR code opened by the phone's own camera app lands here with
	// ?code=: show who it is, and a button to confirm the arrival.
	if p.Code != "" {
		r, err := s.Store.RegistrationByCode(ctx, ev.Event.ID, p.Code)
		switch {
		case errors.Is(err, models.ErrNotFound):
			p.Result = &CheckInResult{Kind: "unknown", Title: "Code inconnu", Message: "Aucune inscription à cet événement n'a ce code."}
		case err != nil:
			s.serverError(c, "registration by code", err)
			return
		default:
			p.Result = describe(&r, false)
		}
	}
	if p.Query != "" {
		found, err := s.Store.SearchForCheckIn(ctx, ev.Event.ID, p.Query, 20)
		if err != nil {
			s.serverError(c, "search", err)
			return
		}
		p.Found, p.Searched = found, true
	}
	s.renderCheckIn(c, http.StatusOK, p)
}

func (s *Server) renderCheckIn(c *gin.Context, status int, p checkInPage) {
	var err error
	if p.Counts, err = s.Store.CountRegistrations(c.Request.Context(), p.Event.ID, nil); err != nil {
		s.serverError(c, "counts", err)
		return
	}
	p.Layout = s.layout(c, "Accueil — "+p.Event.Title, "events", eventCrumbs(&p.Event, "Accueil des participants")...)
	s.render(c, status, "event_checkin", p)
}

// describe says where a registration stands for the person at the door.
func describe(r *models.Registration, justCheckedIn bool) *CheckInResult {
	res := &CheckInResult{Reg: r}
	switch {
	case r.State == models.RegCancelled:
		res.Kind, res.Title, res.Message = "cancelled", "Inscription annulée", "Cette personne a annulé son inscription (ou les organisateurs l'ont fait)."
	case r.State == models.RegWaitlisted:
		res.Kind, res.Title, res.Message = "waitlisted", "En liste d'attente", "Cette personne n'a pas de place confirmée."
	case justCheckedIn:
		res.Kind, res.Title, res.Message = "ok", "Bienvenue", "Arrivée enregistrée."
	case r.CheckedIn():
		res.Kind, res.Title = "already", "Déjà enregistrée"
		res.Message = "Cette personne est déjà arrivée, à " + clockFR(r.CheckedInAt) + ". Elle ne peut pas être enregistrée deux fois."
	default:
		res.Kind, res.Title, res.Message = "confirmed", "Inscription confirmée", "Confirmez l'arrivée."
	}
	return res
}

func (s *Server) checkInDo(c *gin.Context) {
	ev, ok := s.loadEvent(c, needOrganiser)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	code, id := strings.TrimSpace(c.PostForm("code")), c.PostForm("registration")
	p := checkInPage{eventCtx: ev}
	if code == "" && id == "" {
		p.Result = &CheckInResult{Kind: "unknown", Title: "Aucun code", Message: "Saisissez ou scannez le code d'accès de la personne."}
		s.renderCheckIn(c, http.StatusUnprocessableEntity, p)
		return
	}
	var r models.Registration
	err := s.Store.Tx(ctx, func(tx *models.Tx) error {
		var err error
		if id != "" {
			r, err = tx.CheckInByID(ctx, actor(c), ev.Event.ID, id)
		} else {
			r, err = tx.CheckIn(ctx, actor(c), ev.Event.ID, code)
		}
		return err
	})
	status := http.StatusOK
	switch {
	case err == nil:
		p.Result = describe(&r, true)
	case errors.Is(err, models.ErrAlreadyCheckedIn), errors.Is(err, models.ErrNotConfirmed):
		p.Result, status = describe(&r, false), http.StatusConflict
	case errors.Is(err, models.ErrNotFound):
		p.Result = &CheckInResult{Kind: "unknown", Title: "Non inscrit·e", Message: "Aucune inscription à cet événement n'a ce code : « " + code + " »."}
		status = http.StatusNotFound
	default:
		s.serverError(c, "check in", err)
		return
	}
	if wantsJSON(c) {
		counts, _ := s.Store.CountRegistrations(ctx, ev.Event.ID, nil)
		out := gin.H{"kind": p.Result.Kind, "title": p.Result.Title, "message": p.Result.Message, "arrived": counts.CheckedIn, "expected": counts.Confirmed}
		if p.Result.Reg != nil {
			out["name"], out["direction"] = p.Result.Reg.Name, p.Result.Reg.DirectionCode
		}
		c.JSON(status, out)
		return
	}
	s.renderCheckIn(c, status, p)
}

func wantsJSON(c *gin.Context) bool {
	return strings.Contains(c.GetHeader("Accept"), "application/json")
}

// checkInCounts feeds the live arrival counter.
func (s *Server) checkInCounts(c *gin.Context) {
	ev, ok := s.loadEvent(c, needOrganiser)
	if !ok {
		return
	}
	counts, err := s.Store.CountRegistrations(c.Request.Context(), ev.Event.ID, nil)
	if err != nil {
		s.serverError(c, "counts", err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{"arrived": counts.CheckedIn, "expected": counts.Confirmed})
}

func (s *Server) checkInUndo(c *gin.Context) {
	ev, ok := s.loadEvent(c, needOrganiser)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	err := s.Store.Tx(ctx, func(tx *models.Tx) error {
		return tx.UndoCheckIn(ctx, actor(c), ev.Event.ID, c.PostForm("registration"))
	})
	if errors.Is(err, models.ErrNotFound) {
		s.notFound(c)
		return
	}
	s.changed(c, err, "undo check-in", "/events/"+ev.Event.ID+"/checkin", "info", "L'arrivée est annulée.")
}

// --- correspondents: registering the agents of a direction ---

// agentRow is one line of the correspondent's form.
type agentRow struct {
	Email, Name, Mode string
}

type correspondentPage struct {
	Layout
	eventCtx
	Direction string
	Rows      []agentRow
	Errors    form.Errors
	Left      models.SeatsLeft
	Counts    models.RegistrationCounts
	Report    []models.BatchResult
	Refused   []eventcsv.Line
	FileError string
	Modes     []models.Mode
	// AllDirections lets organisers pick the direction they register for.
	AllDirections []models.Direction
}

// ReportSummary counts a report's outcomes.
type ReportSummary struct{ Confirmed, Waitlisted, Refused int }

// Summary counts a report's outcomes.
func (p correspondentPage) Summary() ReportSummary {
	var s ReportSummary
	for _, r := range p.Report {
		switch {
		case r.Err != nil:
			s.Refused++
		case r.State == models.RegConfirmed:
			s.Confirmed++
		default:
			s.Waitlisted++
		}
	}
	s.Refused += len(p.Refused)
	return s
}

// Refusal explains, in French, why a line was refused.
func (correspondentPage) Refusal(err error) string {
	switch {
	case errors.Is(err, models.ErrAlreadyRegistered):
		return "Déjà inscrit·e à cet événement."
	case errors.Is(err, models.ErrModeNotOffered):
		return "Mode de participation non proposé."
	}
	return "Refusée."
}

const correspondentFormRows = 5

func (s *Server) correspondentDirection(c *gin.Context, ev eventCtx) (string, bool) {
	dir := models.NormaliseDirectionCode(c.DefaultQuery("direction", c.PostForm("direction")))
	if dir == "" && len(ev.Access.Directions) > 0 {
		dir = ev.Access.Directions[0]
	}
	if dir == "" && ev.Access.Organiser {
		dir = currentUser(c).DirectionCode
	}
	if !ev.Access.ForDirection(dir) {
		s.forbidden(c, "Vous n'êtes pas référent·e de cette direction pour cet événement.")
		return "", false
	}
	return dir, true
}

func (s *Server) correspondentShow(c *gin.Context) {
	ev, ok := s.loadEvent(c, needCorrespondent)
	if !ok {
		return
	}
	dir, ok := s.correspondentDirection(c, ev)
	if !ok {
		return
	}
	s.renderCorrespondent(c, http.StatusOK, correspondentPage{eventCtx: ev, Direction: dir, Rows: make([]agentRow, correspondentFormRows)})
}

func (s *Server) renderCorrespondent(c *gin.Context, status int, p correspondentPage) {
	ctx := c.Request.Context()
	var err error
	if p.Left, err = s.Store.SeatsLeftFor(ctx, &p.Event, p.Direction); err == nil {
		p.Counts, err = s.Store.CountRegistrations(ctx, p.Event.ID, []string{p.Direction})
	}
	if err != nil {
		s.serverError(c, "correspondent page", err)
		return
	}
	p.Modes = p.Event.Modes.Choices()
	if p.Access.Organiser {
		if p.AllDirections, err = s.Store.ListDirections(ctx, false); err != nil {
			s.serverError(c, "directions", err)
			return
		}
	}
	p.Layout = s.layout(c, "Inscrire des agents — "+p.Direction, "events", eventCrumbs(&p.Event, "Inscrire des agents")...)
	s.render(c, status, "event_correspondent", p)
}

func (s *Server) batchError(c *gin.Context, p correspondentPage, err error) {
	switch {
	case errors.Is(err, models.ErrRegistrationClosed):
		p.FileError = s.registrationClosedText(&p.Event) + " Aucune inscription n'a été faite."
		s.renderCorrespondent(c, http.StatusConflict, p)
	case errors.Is(err, models.ErrForbidden):
		s.forbidden(c, "Vous n'êtes pas référent·e de cette direction pour cet événement.")
	default:
		s.serverError(c, "register batch", err)
	}
}

// correspondentRegister registers the few agents typed in the form.
func (s *Server) correspondentRegister(c *gin.Context) {
	ev, ok := s.loadEvent(c, needCorrespondent)
	if !ok {
		return
	}
	dir, ok := s.correspondentDirection(c, ev)
	if !ok {
		return
	}
	emails, names, modes := c.PostFormArray("email"), c.PostFormArray("name"), c.PostFormArray("mode")
	p := correspondentPage{eventCtx: ev, Direction: dir}
	var errs form.Errors
	var lines []models.BatchLine
	seen := map[string]bool{}
	for i := range emails {
		row := agentRow{Email: emails[i]}
		if i < len(names) {
			row.Name = names[i]
		}
		if i < len(modes) {
			row.Mode = modes[i]
		}
		p.Rows = append(p.Rows, row)
		if strings.TrimSpace(row.Email) == "" && strings.TrimSpace(row.Name) == "" {
			continue
		}
		key := func(f string) string { return f + "-" + strconv.Itoa(i) }
		email := errs.Email(key("email"), row.Email)
		name := errs.Text(key("name"), row.Name, true, 100)
		mode := models.Mode(row.Mode)
		if row.Mode == "" {
			mode = ev.Event.Modes.Choices()[0]
		}
		if !ev.Event.Modes.Offers(mode) {
			errs.Add(key("mode"), "Choisissez un mode proposé.")
		}
		if email != "" && seen[email] {
			errs.Add(key("email"), "Cette adresse est déjà plus haut dans le formulaire.")
		}
		seen[email] = true
		lines = append(lines, models.BatchLine{Line: i + 1, Email: email, Name: name, Mode: mode})
	}
	if len(lines) == 0 && !errs.Any() {
		errs.Add("email-0", "Saisissez au moins un agent.")
	}
	if errs.Any() {
		p.Errors = errs
		s.renderCorrespondent(c, http.StatusUnprocessableEntity, p)
		return
	}
	ctx := c.Request.Context()
	var report []models.BatchResult
	err := s.Store.Tx(ctx, func(tx *models.Tx) error {
		var err error
		report, err = tx.RegisterBatch(ctx, s.events, actor(c), currentUser(c), ev.Event.ID, dir, lines)
		return err
	})
	if err != nil {
		s.batchError(c, p, err)
		return
	}
	s.NotifyMail()
	p.Rows, p.Report = make([]agentRow, correspondentFormRows), report
	s.renderCorrespondent(c, http.StatusOK, p)
}

// correspondentImport registers the agents of a CSV file: a file with a
// problem of its own is rejected whole, with nothing applied; otherwise each
// line is accepted, waitlisted or refused with its reason.
func (s *Server) correspondentImport(c *gin.Context) {
	ev, ok := s.loadEvent(c, needCorrespondent)
	if !ok {
		return
	}
	dir, ok := s.correspondentDirection(c, ev)
	if !ok {
		return
	}
	p := correspondentPage{eventCtx: ev, Direction: dir, Rows: make([]agentRow, correspondentFormRows)}
	fh, err := c.FormFile("file")
	if err != nil {
		p.FileError = "Choisissez un fichier CSV à envoyer."
		s.renderCorrespondent(c, http.StatusUnprocessableEntity, p)
		return
	}
	if fh.Size > 4<<20 {
		p.FileError = "Le fichier dépasse 4 Mo : découpez-le en plusieurs fichiers."
		s.renderCorrespondent(c, http.StatusUnprocessableEntity, p)
		return
	}
	f, err := fh.Open()
	if err != nil {
		s.serverError(c, "open upload", err)
		return
	}
	defer f.Close()
	data := make([]byte, fh.Size)
	if _, err := io.ReadFull(f, data); err != nil {
		s.serverError(c, "read upload", err)
		return
	}
	parsed, err := eventcsv.Parse(data, ev.Event.Modes, ev.Event.Modes.Choices()[0])
	var fe *eventcsv.FileError
	if errors.As(err, &fe) {
		p.FileError = fe.Message + " Aucune inscription n'a été faite."
		s.renderCorrespondent(c, http.StatusUnprocessableEntity, p)
		return
	} else if err != nil {
		s.serverError(c, "parse upload", err)
		return
	}
	var lines []models.BatchLine
	for _, l := range parsed {
		if l.Problem != "" {
			p.Refused = append(p.Refused, l)
			continue
		}
		lines = append(lines, models.BatchLine{Line: l.Number, Email: l.Email, Name: l.Name, Mode: l.Mode})
	}
	ctx := c.Request.Context()
	err = s.Store.Tx(ctx, func(tx *models.Tx) error {
		var err error
		p.Report, err = tx.RegisterBatch(ctx, s.events, actor(c), currentUser(c), ev.Event.ID, dir, lines)
		return err
	})
	if err != nil {
		p.Refused = nil
		s.batchError(c, p, err)
		return
	}
	s.NotifyMail()
	s.renderCorrespondent(c, http.StatusOK, p)
}

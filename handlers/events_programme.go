package handlers

import (
	"errors"
	"html"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/dnum-sociaux/agora/internal/form"
	"github.com/dnum-sociaux/agora/internal/markdown"
	"github.com/dnum-sociaux/agora/models"
)

type programmePage struct {
	Layout
	Event     models.Event
	Days      []ProgrammeDay
	Tracks    []string
	Track     string
	Organiser bool
}

// ProgrammeDay is one day of the timetable.
type ProgrammeDay struct {
	Date  time.Time
	Slots []ProgrammeItem
}

// ProgrammeItem is one slot as the timetable shows it, computed once so the
// template only prints fields (100 workshops render in a few milliseconds).
type ProgrammeItem struct {
	ID, Title, Room, Kind, KindLabel string
	StartISO, EndISO, Start, End     string
	Fill                             string // "12 places sur 30", "complet (3 en attente)"
	Agenda                           template.HTML
	Cancelled, Workshop, Editable    bool // Editable: shown to organisers
	HTML                             template.HTML
}

// render writes the item's list entry. The timetable is built here rather
// than in the template because html/template calls its escapers through
// reflection for every action: with 100 workshops that alone cost several
// milliseconds. Every text goes through html.EscapeString; ids are ULIDs.
func (it *ProgrammeItem) render(eventID string) {
	var b strings.Builder
	b.Grow(600 + len(it.Agenda))
	esc := html.EscapeString
	b.WriteString(`<li class="agora-slot agora-slot--` + esc(it.Kind))
	if it.Cancelled {
		b.WriteString(` agora-slot--cancelled`)
	}
	b.WriteString(`" id="slot-` + esc(it.ID) + `"><p class="agora-slot__time"><time datetime="` + it.StartISO + `">` + esc(it.Start) +
		`</time> – <time datetime="` + it.EndISO + `">` + esc(it.End) + `</time></p><div class="agora-slot__body"><h3 class="fr-h6 fr-mb-1v">`)
	if it.Cancelled {
		b.WriteString(`<s>` + esc(it.Title) + `</s> <span class="fr-badge fr-badge--error fr-badge--sm">Annulé</span>`)
	} else {
		b.WriteString(esc(it.Title))
	}
	b.WriteString(`</h3><p class="fr-mb-1v"><span class="fr-tag fr-tag--sm">` + esc(it.KindLabel) + `</span>`)
	if it.Room != "" {
		b.WriteString(` · ` + esc(it.Room))
	}
	if it.Fill != "" {
		b.WriteString(` · ` + esc(it.Fill))
	}
	b.WriteString(`</p>`)
	if it.Agenda != "" {
		b.WriteString(`<div class="fr-text--sm">` + string(it.Agenda) + `</div>`) // sanitised Markdown
	}
	if it.Editable {
		base := "/events/" + esc(eventID) + "/slots/" + esc(it.ID)
		b.WriteString(`<p class="fr-mb-0"><a class="fr-link fr-text--sm" href="` + base + `/edit">Modifier<span class="fr-sr-only"> ` + esc(it.Title) + `</span></a>`)
		if it.Workshop {
			b.WriteString(` · <a class="fr-link fr-text--sm" href="` + base + `/export.csv">Liste (CSV)<span class="fr-sr-only"> de ` + esc(it.Title) + `</span></a>`)
		}
		b.WriteString(`</p>`)
	}
	b.WriteString(`</div></li>`)
	it.HTML = template.HTML(b.String()) // #nosec G203 -- every value above is escaped or sanitised
}

// agendaCache keeps the HTML of agendas already rendered (Markdown is the
// costly part of the programme page); it is emptied when it grows too big.
type agendaCache struct {
	mu sync.Mutex
	m  map[string]template.HTML
}

func (c *agendaCache) html(md *markdown.Renderer, src string) template.HTML {
	if src == "" {
		return ""
	}
	c.mu.Lock()
	h, ok := c.m[src]
	c.mu.Unlock()
	if ok {
		return h
	}
	h = md.HTML(src)
	c.mu.Lock()
	if c.m == nil || len(c.m) > 5000 {
		c.m = map[string]template.HTML{}
	}
	c.m[src] = h
	c.mu.Unlock()
	return h
}

func (s *Server) programmeItem(sl models.Slot, organiser bool) ProgrammeItem {
	it := ProgrammeItem{ID: sl.ID, Title: sl.Title, Room: sl.Room, Kind: string(sl.Kind), KindLabel: sl.Kind.Label(),
		StartISO: sl.StartsAt.Format(time.RFC3339), EndISO: sl.EndsAt.Format(time.RFC3339), Start: clockFR(sl.StartsAt), End: clockFR(sl.EndsAt),
		Cancelled: sl.Cancelled(), Workshop: sl.Kind == models.SlotWorkshop, Editable: organiser && !sl.Cancelled(), Agenda: s.agendas.html(s.markdown, sl.Agenda)}
	if it.Workshop {
		switch left := sl.Left(); {
		case left < 0:
			it.Fill = strconv.Itoa(sl.Confirmed) + " " + plural(sl.Confirmed, "inscrit", "inscrits")
		case sl.Full():
			it.Fill = "complet"
			if sl.Waitlisted > 0 {
				it.Fill += " (" + strconv.Itoa(sl.Waitlisted) + " en attente)"
			}
		default:
			it.Fill = strconv.Itoa(left) + " " + plural(left, "place", "places") + " sur " + strconv.Itoa(sl.Capacity)
		}
	}
	return it
}

// eventProgramme is the public programme: the days as a timetable (a list
// on small screens), filterable by track. It needs no login: a published
// programme is public; a draft one is seen by its organisers only.
func (s *Server) eventProgramme(c *gin.Context) {
	ctx := c.Request.Context()
	e, err := s.Store.EventByID(ctx, c.Param("id"))
	if errors.Is(err, models.ErrNotFound) {
		s.notFound(c)
		return
	} else if err != nil {
		s.serverError(c, "get event", err)
		return
	}
	organiser := false
	if !e.Status.Visible() || currentUser(c) != nil {
		acc, err := s.Store.EventAccessFor(ctx, e.ID, currentUser(c))
		if err != nil {
			s.serverError(c, "event access", err)
			return
		}
		organiser = acc.Organiser
	}
	if !e.Status.Visible() && !organiser {
		s.notFound(c)
		return
	}
	slots, err := s.Store.Programme(ctx, e.ID)
	if err != nil {
		s.serverError(c, "programme", err)
		return
	}
	track := c.Query("track")
	tracks := models.Tracks(slots)
	if track != "" {
		kept := slots[:0:0]
		for _, sl := range slots {
			if sl.Room == track || sl.Room == "" {
				kept = append(kept, sl)
			}
		}
		slots = kept
	}
	var days []ProgrammeDay
	for _, d := range models.DaysOf(slots) {
		day := ProgrammeDay{Date: d[0].StartsAt, Slots: make([]ProgrammeItem, len(d))}
		for i, sl := range d {
			day.Slots[i] = s.programmeItem(sl, organiser)
			day.Slots[i].render(e.ID)
		}
		days = append(days, day)
	}
	s.render(c, http.StatusOK, "event_programme", programmePage{
		Layout: s.layout(c, "Programme — "+e.Title, "events", eventCrumbs(&e, "Programme")...),
		Event:  e, Days: days, Tracks: tracks, Track: track, Organiser: organiser,
	})
}

// slotForm is a programme slot.
type slotForm struct {
	Kind, Title, Date, Start, End, Room, Address, VideoURL, Agenda, Capacity string
	in                                                                       models.SlotInput
}

func slotFormFrom(c *gin.Context) slotForm {
	return slotForm{Kind: c.PostForm("kind"), Title: c.PostForm("title"), Date: c.PostForm("date"), Start: c.PostForm("start"),
		End: c.PostForm("end"), Room: c.PostForm("room"), Address: c.PostForm("address"), VideoURL: c.PostForm("video_url"),
		Agenda: c.PostForm("agenda"), Capacity: c.PostForm("capacity")}
}

func slotFormOf(s *models.Slot) slotForm {
	p, q := s.StartsAt.In(models.Paris), s.EndsAt.In(models.Paris)
	f := slotForm{Kind: string(s.Kind), Title: s.Title, Date: p.Format("2006-01-02"), Start: p.Format("15:04"), End: q.Format("15:04"),
		Room: s.Room, Address: s.Address, VideoURL: s.VideoURL, Agenda: s.Agenda}
	if s.Capacity > 0 {
		f.Capacity = strconv.Itoa(s.Capacity)
	}
	return f
}

// Validate checks the slot.
func (f *slotForm) Validate(e *models.Event) form.Errors {
	var errs form.Errors
	f.in.Kind = models.SlotKind(f.Kind)
	if !f.in.Kind.Valid() {
		errs.Add("kind", "Choisissez le type de créneau.")
	}
	f.in.Title = errs.Text("title", f.Title, true, 200)
	f.in.Room = errs.Text("room", f.Room, false, 100)
	f.in.Address = errs.Text("address", f.Address, false, 300)
	f.in.VideoURL = checkURL(&errs, "video_url", f.VideoURL)
	f.in.Agenda = errs.LongText("agenda", f.Agenda, false, 10000)
	day, err := time.ParseInLocation("2006-01-02", strings.TrimSpace(f.Date), models.Paris)
	if err != nil {
		errs.Add("date", "Saisissez une date valide.")
	}
	at := func(field, v string) time.Time {
		t, err := time.Parse("15:04", strings.TrimSpace(v))
		if err != nil {
			errs.Add(field, "Saisissez une heure valide, par exemple 14:30.")
			return time.Time{}
		}
		return time.Date(day.Year(), day.Month(), day.Day(), t.Hour(), t.Minute(), 0, 0, models.Paris).UTC()
	}
	f.in.StartsAt, f.in.EndsAt = at("start", f.Start), at("end", f.End)
	if !errs.Any() {
		if !f.in.EndsAt.After(f.in.StartsAt) {
			errs.Add("end", "La fin doit être après le début.")
		} else if f.in.StartsAt.Before(e.StartsAt) || f.in.EndsAt.After(e.EndsAt) {
			errs.Add("date", "Le créneau doit se tenir pendant l'événement ("+datetimeFR(e.StartsAt)+" – "+datetimeFR(e.EndsAt)+").")
		}
	}
	if c := strings.TrimSpace(f.Capacity); c != "" && f.in.Kind == models.SlotWorkshop {
		n, err := strconv.Atoi(c)
		if err != nil || n < 0 {
			errs.Add("capacity", "Saisissez un nombre de places, ou laissez vide pour ne pas limiter.")
		}
		f.in.Capacity = n
	}
	return errs
}

type slotFormPage struct {
	Layout
	Event  models.Event
	Form   slotForm
	Errors form.Errors
	Slot   *models.Slot
	Kinds  []models.SlotKind
}

func (s *Server) slotNew(c *gin.Context) {
	ev, ok := s.loadEvent(c, needOrganiser)
	if !ok {
		return
	}
	p := ev.Event.StartsAt.In(models.Paris)
	s.render(c, http.StatusOK, "event_slot_form", slotFormPage{
		Layout: s.layout(c, "Ajouter un créneau", "events", eventCrumbs(&ev.Event, "Ajouter un créneau")...),
		Event:  ev.Event, Form: slotForm{Kind: string(models.SlotWorkshop), Date: p.Format("2006-01-02"), Start: p.Format("15:04"),
			End: p.Add(time.Hour).Format("15:04")}, Kinds: models.SlotKinds,
	})
}

func (s *Server) slotCreate(c *gin.Context) {
	ev, ok := s.loadEvent(c, needOrganiser)
	if !ok {
		return
	}
	f := slotFormFrom(c)
	errs := f.Validate(&ev.Event)
	if errs.Any() {
		s.render(c, http.StatusUnprocessableEntity, "event_slot_form", slotFormPage{
			Layout: s.layout(c, "Ajouter un créneau", "events", eventCrumbs(&ev.Event, "Ajouter un créneau")...),
			Event:  ev.Event, Form: f, Errors: errs, Kinds: models.SlotKinds})
		return
	}
	ctx := c.Request.Context()
	err := s.Store.Tx(ctx, func(tx *models.Tx) error {
		_, err := tx.AddSlot(ctx, actor(c), *currentUser(c), ev.Event.ID, s.Config.BaseURL.Host, f.in)
		return err
	})
	s.changed(c, err, "add slot", "/events/"+ev.Event.ID+"/programme", "success", "Le créneau est ajouté au programme.")
}

func (s *Server) slotEdit(c *gin.Context) {
	ev, ok := s.loadEvent(c, needOrganiser)
	if !ok {
		return
	}
	sl, err := s.Store.SlotByID(c.Request.Context(), ev.Event.ID, c.Param("sid"))
	if err != nil {
		s.notFound(c)
		return
	}
	s.render(c, http.StatusOK, "event_slot_form", slotFormPage{
		Layout: s.layout(c, "Modifier le créneau", "events", eventCrumbs(&ev.Event, "Modifier un créneau")...),
		Event:  ev.Event, Form: slotFormOf(&sl), Slot: &sl, Kinds: models.SlotKinds})
}

func (s *Server) slotUpdate(c *gin.Context) {
	ev, ok := s.loadEvent(c, needOrganiser)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	sl, err := s.Store.SlotByID(ctx, ev.Event.ID, c.Param("sid"))
	if err != nil {
		s.notFound(c)
		return
	}
	f := slotFormFrom(c)
	errs := f.Validate(&ev.Event)
	if !errs.Any() {
		err := s.Store.Tx(ctx, func(tx *models.Tx) error {
			_, err := tx.UpdateSlot(ctx, s.events, actor(c), ev.Event.ID, sl.ID, f.in)
			return err
		})
		switch {
		case errors.Is(err, models.ErrCapacityBelowConfirmed):
			errs.Add("capacity", "Plus de personnes ont déjà une place ("+strconv.Itoa(sl.Confirmed)+") : la capacité ne peut pas descendre en dessous.")
		case errors.Is(err, models.ErrWorkshopHasChoices):
			errs.Add("kind", "Des inscrits ont choisi cet atelier : il reste un atelier (annulez-le si besoin).")
		case errors.Is(err, models.ErrSessionCancelled), errors.Is(err, models.ErrSessionStarted):
			errs.Add("date", "Ce créneau est annulé ou passé : il ne peut plus changer.")
		case err != nil:
			s.serverError(c, "update slot", err)
			return
		}
	}
	if errs.Any() {
		s.render(c, http.StatusUnprocessableEntity, "event_slot_form", slotFormPage{
			Layout: s.layout(c, "Modifier le créneau", "events", eventCrumbs(&ev.Event, "Modifier un créneau")...),
			Event:  ev.Event, Form: f, Errors: errs, Slot: &sl, Kinds: models.SlotKinds})
		return
	}
	s.NotifyMail()
	s.redirectWithFlash(c, "/events/"+ev.Event.ID+"/programme", "success", "Le créneau est enregistré. Ses participants sont prévenus si l'horaire ou le lieu a changé.")
}

func (s *Server) slotCancel(c *gin.Context) {
	ev, ok := s.loadEvent(c, needOrganiser)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	err := s.Store.Tx(ctx, func(tx *models.Tx) error {
		return tx.CancelSlot(ctx, s.events, actor(c), ev.Event.ID, c.Param("sid"))
	})
	switch {
	case errors.Is(err, models.ErrNotFound):
		s.notFound(c)
		return
	case errors.Is(err, models.ErrSessionCancelled), errors.Is(err, models.ErrSessionStarted):
		s.redirectWithFlash(c, "/events/"+ev.Event.ID+"/programme", "error", "Ce créneau est déjà annulé ou passé.")
		return
	case err != nil:
		s.serverError(c, "cancel slot", err)
		return
	}
	s.NotifyMail()
	s.redirectWithFlash(c, "/events/"+ev.Event.ID+"/programme", "success", "Le créneau est annulé ; ses participants sont prévenus.")
}

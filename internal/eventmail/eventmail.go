// Package eventmail turns the notices of event registrations into emails in
// the outbox, inside the transaction that causes them: confirmations with
// the event invitation (METHOD:REQUEST), one invitation per workshop place,
// calendar updates and cancellations, promotions from the waiting list,
// organisers' messages and reminders. Every email has a dedupe key naming
// its cause. The management link (a secret) goes in the body only, never in
// the calendar part.
package eventmail

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dnum-sociaux/agora/internal/ical"
	"github.com/dnum-sociaux/agora/internal/invite"
	"github.com/dnum-sociaux/agora/internal/mail"
	"github.com/dnum-sociaux/agora/internal/markdown"
	"github.com/dnum-sociaux/agora/internal/render"
	"github.com/dnum-sociaux/agora/models"
)

// Notifier is the models.Notifier of events. Build it once in main (or in
// handlers.New) and pass it to the models' write methods.
type Notifier struct {
	Mail      *mail.Composer
	Invite    *invite.Sender
	BaseURL   string
	Organizer ical.Person
	Now       func() time.Time

	bodies    boundedCache[renderKey, renderedMail]
	calendars boundedCache[icsKey, *ical.InvitationTemplate]
	rendered  atomic.Int64 // bodies rendered into the cache
}

// New builds a Notifier. organizer is the calendar ORGANIZER (the sender
// address, which receives replies).
func New(composer *mail.Composer, baseURL string, organizer ical.Person, now func() time.Time) *Notifier {
	if now == nil {
		now = time.Now
	}
	baseURL = strings.TrimRight(baseURL, "/")
	return &Notifier{
		Mail: composer, BaseURL: baseURL, Organizer: organizer, Now: now,
		Invite: &invite.Sender{Mail: composer, Organizer: organizer, BaseURL: baseURL, Now: now},
	}
}

// Links are the URLs an email about an event carries.
type Links struct {
	Event     string // public page of the event
	Programme string // its programme
	Manage    string // secret management link (body only), empty when not carried
	Badge     string // printable badge (through the management link)
	QR        string // Content-ID of the check-in QR code, an inline image (cid:) drawn at delivery
}

// Mail is the .Data of the "event_notice" email template.
type Mail struct {
	Kind         models.NoticeKind
	Event        models.Event
	Registration models.Registration
	Workshop     *models.WorkshopChoice
	Workshops    []models.WorkshopChoice
	WasConfirmed bool
	ByOrganiser  bool
	Links        Links

	lines []string // placeholders for WorkshopLines in a cached rendering
}

// Confirmed tells whether the registration holds a place.
func (m Mail) Confirmed() bool { return m.Registration.State == models.RegConfirmed }

// WorkshopLines are the person's workshop choices as the email lists them
// ("Titre, date : état"), one line each.
func (m Mail) WorkshopLines() []string {
	if m.lines != nil {
		return m.lines
	}
	out := make([]string, len(m.Workshops))
	for i, c := range m.Workshops {
		out[i] = c.Session.Title + ", " + render.DateTimeFR(c.Session.StartsAt) + " : " + c.StateLabel()
	}
	return out
}

// EventURL is the public page of an event.
func (n *Notifier) EventURL(e *models.Event) string { return n.BaseURL + "/events/" + e.ID }

// ManageURL is the management page behind a link token.
func (n *Notifier) ManageURL(token string) string { return n.BaseURL + "/inscription/" + token }

// QRURL is the PNG of a registration's check-in code on the web (emails
// sent before the code was an inline image show it).
func (n *Notifier) QRURL(r *models.Registration) string {
	return n.BaseURL + "/events/" + r.EventID + "/qr/" + r.Code + ".png"
}

// CheckInURL is what the QR code holds: the organisers' check-in page with
// the code, so that a phone's own camera app also leads there.
func (n *Notifier) CheckInURL(r *models.Registration) string {
	return n.BaseURL + "/events/" + r.EventID + "/checkin?code=" + r.Code
}

// QRContentID is the Content-ID of the inline image of a registration's
// check-in QR code (mail.EmbedQR puts it in the email).
func (n *Notifier) QRContentID(r *models.Registration) string {
	return mail.QRContentID(n.CheckInURL(r))
}

func (n *Notifier) links(ctx context.Context, tx *models.Tx, r *models.Registration, e *models.Event, manage bool) (Links, error) {
	token := ""
	if manage {
		var err error
		if token, err = tx.NewRegistrationLink(ctx, r.ID); err != nil {
			return Links{}, err
		}
	}
	return n.linksWith(r, e, token), nil
}

// linksWith are the links of an email, with the management link of token
// (none when empty).
func (n *Notifier) linksWith(r *models.Registration, e *models.Event, token string) Links {
	l := Links{Event: n.EventURL(e), Programme: n.EventURL(e) + "/programme"}
	if token != "" {
		l.Manage = n.ManageURL(token)
		l.Badge = l.Manage + "/badge"
	}
	if r.State == models.RegConfirmed {
		l.QR = n.QRContentID(r)
	}
	return l
}

// EventCalendar is the calendar entry of an event for one registrant: the
// event's stored UID, the person's SEQUENCE, Paris times, the venue, and
// the public page. No secret goes in it.
func (n *Notifier) EventCalendar(e *models.Event, r *models.Registration) ical.Event {
	var desc []string
	if t := markdown.Text(e.Description); t != "" {
		desc = append(desc, t)
	}
	if e.OnlineURL != "" && (r == nil || r.Mode == models.ModeRemote) {
		desc = append(desc, "Visioconférence : "+e.OnlineURL)
	}
	if e.VenueAccess != "" {
		desc = append(desc, "Accès : "+e.VenueAccess)
	}
	url := n.EventURL(e)
	desc = append(desc, "Programme : "+url+"/programme")
	seq := e.Sequence
	if r != nil {
		seq = r.ICSSequence(e)
	}
	loc := e.Location()
	if r != nil && r.Mode == models.ModeRemote && e.OnlineURL != "" {
		loc = e.OnlineURL
	}
	return ical.Event{
		UID: e.UID, Sequence: seq, Summary: e.Title, Description: strings.Join(desc, "\n\n"), Location: loc, URL: url,
		Start: e.StartsAt, End: e.EndsAt, Organizer: n.Organizer, Created: e.CreatedAt, LastModified: e.UpdatedAt,
	}
}

// WorkshopCalendar is the calendar entry of a workshop for one person.
func (n *Notifier) WorkshopCalendar(e *models.Event, c *models.WorkshopChoice) ical.Event {
	s := c.Session
	var desc []string
	desc = append(desc, "Atelier de « "+e.Title+" »")
	if a := markdown.Text(s.Agenda); a != "" {
		desc = append(desc, a)
	}
	if s.VideoURL != "" {
		desc = append(desc, "Visioconférence : "+s.VideoURL)
	}
	url := n.EventURL(e) + "/programme#slot-" + s.ID
	desc = append(desc, "Programme : "+url)
	loc := s.Place()
	if loc == "" {
		loc = e.Location()
	}
	return ical.Event{
		UID: s.UID, Sequence: c.ICSSequence(), Summary: s.Title + " — " + e.Title, Description: strings.Join(desc, "\n\n"),
		Location: loc, URL: url, Start: s.StartsAt, End: s.EndsAt, Organizer: n.Organizer,
		Created: s.CreatedAt, LastModified: s.UpdatedAt,
	}
}

// Notify implements models.Notifier.
func (n *Notifier) Notify(ctx context.Context, tx *models.Tx, no models.Notice) error {
	p, err := n.plan(no)
	if err != nil {
		return err
	}
	if p.mail.Links, err = n.links(ctx, tx, &p.mail.Registration, &p.mail.Event, p.manage); err != nil {
		return err
	}
	msg, err := n.build(&p)
	if err != nil {
		return err
	}
	err = tx.Queue(ctx, msg)
	return err
}

// planned is what a notice becomes before its links: the email's data,
// its dedupe key and its calendar part (none when method is empty).
type planned struct {
	mail   Mail
	kind   string
	key    string
	method ical.Method
	cal    ical.Event
	manage bool // the email carries a new management link
}

func (n *Notifier) plan(no models.Notice) (planned, error) {
	r, e := no.Registration, no.Event
	p := planned{mail: Mail{Kind: no.Kind, Event: e, Registration: r, Workshop: no.Workshop, Workshops: no.Workshops,
		WasConfirmed: no.WasConfirmed, ByOrganiser: no.ByOrganiser}, kind: "event." + string(no.Kind)}
	switch no.Kind {
	case models.NoticeRegistered:
		p.key, p.manage = fmt.Sprintf("event:%s:reg:%s:%d:registered", e.ID, r.ID, r.Seq), true
		if r.State == models.RegConfirmed {
			p.method, p.cal = ical.MethodRequest, n.EventCalendar(&e, &r)
		}
	case models.NoticePromoted:
		p.key, p.manage = fmt.Sprintf("event:%s:reg:%s:%d:promoted", e.ID, r.ID, r.Seq), true
		p.method, p.cal = ical.MethodRequest, n.EventCalendar(&e, &r)
	case models.NoticeCancelled:
		p.key = fmt.Sprintf("event:%s:reg:%s:%d:cancelled", e.ID, r.ID, r.Seq)
		if no.WasConfirmed {
			p.method, p.cal = ical.MethodCancel, n.EventCalendar(&e, &r)
		}
	case models.NoticeEventChanged:
		p.key = fmt.Sprintf("event:%s:seq:%d:%s", e.ID, r.ICSSequence(&e), r.ID)
		p.method, p.cal = ical.MethodRequest, n.EventCalendar(&e, &r)
	case models.NoticeEventCancelled:
		p.key = fmt.Sprintf("event:%s:cancelled:%s", e.ID, r.ID)
		if r.State == models.RegConfirmed {
			p.method, p.cal = ical.MethodCancel, n.EventCalendar(&e, &r)
		}
	case models.NoticeWorkshopConfirmed, models.NoticeWorkshopPromoted, models.NoticeWorkshopChanged, models.NoticeWorkshopCancelled:
		c := no.Workshop
		p.key = fmt.Sprintf("workshop:%s:%s:seq:%d:%s", c.Session.ID, r.ID, c.ICSSequence(), no.Kind)
		p.method, p.cal = ical.MethodRequest, n.WorkshopCalendar(&e, c)
		if no.Kind == models.NoticeWorkshopCancelled {
			p.method = ical.MethodCancel
		}
	default:
		return p, fmt.Errorf("eventmail: unknown notice %q", no.Kind)
	}
	return p, nil
}

// build renders a planned email, with its links, into an outbox message.
func (n *Notifier) build(p *planned) (models.OutboxMessage, error) {
	r := &p.mail.Registration
	msg, err := n.compose(p.kind, p.key, p.mail)
	if err != nil {
		return msg, err
	}
	if p.method != "" {
		ics, err := n.invitation(p.method, p.cal, ical.Person{Name: r.Name, Email: r.Email})
		if err != nil {
			return msg, fmt.Errorf("invitation %s: %w", p.key, err)
		}
		msg.ICSMethod, msg.ICSBody = string(p.method), string(ics)
	}
	if p.mail.Links.QR != "" {
		mail.EmbedQR(&msg, n.CheckInURL(r))
	}
	return msg, nil
}

// Warm renders ahead, into the caches, what the registration opening of e
// will need: the confirmation and waiting-list emails for each attendance
// mode and number of workshop choices, the email of a place in each of
// workshops, and their calendar parts. Otherwise the first registrations
// render them inside their write transactions, one after the other on the
// single writer (on a cold server, the first half-second of a burst of
// 5,000 registrations went at half speed). A pass over a warm event only
// finds everything in the caches. It returns how many emails were rendered
// into the cache meanwhile (by registrations too, if some were made).
func (n *Notifier) Warm(e *models.Event, workshops []models.Session) (int, error) {
	before := n.rendered.Load()
	choices := mostChoices(workshops)
	warm := func(no models.Notice) error {
		p, err := n.plan(no)
		if err != nil {
			return err
		}
		token := "" // a management link where Notify makes one (its value is a placeholder in the cache)
		if p.manage {
			token = "warm"
		}
		p.mail.Links = n.linksWith(&p.mail.Registration, &p.mail.Event, token)
		// What build caches, without the person's calendar part and QR code.
		if _, err := n.compose(p.kind, p.key, p.mail); err != nil {
			return err
		}
		if p.method != "" {
			_, err = n.calendarTemplate(p.method, p.cal)
		}
		return err
	}
	for _, mode := range e.Modes.Choices() {
		r := models.Registration{ID: "warm", EventID: e.ID, Email: "warm@agora.invalid", Name: "Warm", Code: "WARMWARM",
			Mode: mode, Seat: e.TakesSeat(mode), Seq: 1}
		for _, state := range []models.RegState{models.RegConfirmed, models.RegWaitlisted} {
			r.State = state
			for lines := range len(choices) + 1 {
				if err := warm(models.Notice{Kind: models.NoticeRegistered, Event: *e, Registration: r, Workshops: choices[:lines]}); err != nil {
					return 0, err
				}
			}
		}
		r.State = models.RegConfirmed
		for _, s := range workshops {
			c := models.WorkshopChoice{Session: s, State: models.RegConfirmed, Seq: 1}
			if err := warm(models.Notice{Kind: models.NoticeWorkshopConfirmed, Event: *e, Registration: r, Workshop: &c}); err != nil {
				return 0, err
			}
		}
	}
	return int(n.rendered.Load() - before), nil
}

// Rendered is how many email bodies the Notifier rendered into its cache
// so far (tests, metrics).
func (n *Notifier) Rendered() int64 { return n.rendered.Load() }

// WarmSize is how many emails Warm renders for an event (what it takes of
// the cache).
func WarmSize(e *models.Event, workshops []models.Session) int {
	return len(e.Modes.Choices()) * (2*(len(mostChoices(workshops))+1) + len(workshops))
}

// mostChoices are workshop choices as one person may make them (no two
// overlapping), as many as fit: earliest end first.
func mostChoices(workshops []models.Session) []models.WorkshopChoice {
	byEnd := slices.Clone(workshops)
	slices.SortFunc(byEnd, func(a, b models.Session) int { return a.EndsAt.Compare(b.EndsAt) })
	var choices []models.WorkshopChoice
	for _, s := range byEnd {
		if len(choices) == 0 || !s.StartsAt.Before(choices[len(choices)-1].Session.EndsAt) {
			choices = append(choices, models.WorkshopChoice{Session: s, State: models.RegConfirmed, Seq: 1})
		}
	}
	return choices
}

// Placeholders for the person's fields in a cached rendering: letters and
// digits only, which no escaping changes.
const (
	phName   = "AgoraPhName7Q"
	phEmail  = "AgoraPhEmail7Q"
	phManage = "AgoraPhManage7Q"
	phCode   = "QZ7XW9KJ" // 8 characters, like a check-in code
	phShown  = "QZ7X-W9KJ"
	phQR     = "AgoraPhQR7Q"
	phLine   = "AgoraPhLine%dQ" // one per workshop line
)

type renderKey struct {
	event           string
	updated         int64
	seq             int
	kind            models.NoticeKind
	state           models.RegState
	mode            models.Mode
	byCorrespondent bool
	workshop        string // the workshop the email is about, with its version and state
	lines           int    // how many workshop choices it lists (their lines are values, like the name)
}

// workshopKey names the workshop an email is about.
func workshopKey(m *Mail) string {
	if c := m.Workshop; c != nil {
		return fmt.Sprintf("%s/%d/%d/%s", c.Session.ID, c.Session.Sequence, c.Session.UpdatedAt.UnixNano(), c.State)
	}
	return ""
}

type renderedMail struct {
	subject string
	body    *models.MailBody // text and HTML with the placeholders, stored once in the outbox
}

// boundedCache keeps what the registration opening would otherwise render
// again for every person inside the write transaction: the confirmation
// bodies of each variant, with placeholders for the person, and the
// calendar parts of each event version. Past CacheSize entries (a few
// events' worth) it forgets an eighth of them, taken at random: starting
// over, as it did, would make the registrations of an opening render all
// their emails again on the single writer whenever other events' emails
// (or the warm-up job) filled it.
type boundedCache[K comparable, V any] struct {
	mu sync.Mutex
	m  map[K]V
}

func (c *boundedCache[K, V]) get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[k]
	return v, ok
}

func (c *boundedCache[K, V]) put(k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[K]V{}
	}
	if len(c.m) >= CacheSize {
		evict := CacheSize / 8
		for k := range c.m { // map order is random
			if evict--; evict < 0 {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[k] = v
}

// CacheSize is how many email bodies, and how many calendar parts, the
// Notifier keeps: the registration emails of four events of 100 workshops
// and their calendar parts, a few MB.
const CacheSize = 2048

// icsKey names a calendar part but its recipient and stamp.
type icsKey struct {
	method ical.Method
	event  ical.Event
}

// invitation is the calendar part of one email: from a template per event
// version and method (ical.InvitationTemplate, the same bytes as
// ical.Invitation), so that the registration opening does not build the
// whole calendar again for every person.
func (n *Notifier) invitation(method ical.Method, cal ical.Event, to ical.Person) ([]byte, error) {
	t, err := n.calendarTemplate(method, cal)
	if err != nil {
		return nil, err
	}
	return t.For(to, n.Now().UTC())
}

// calendarTemplate is the cached template of a calendar part.
func (n *Notifier) calendarTemplate(method ical.Method, cal ical.Event) (*ical.InvitationTemplate, error) {
	k := icsKey{method: method, event: cal}
	if t, ok := n.calendars.get(k); ok {
		return t, nil
	}
	t, err := ical.NewInvitationTemplate(method, cal)
	if err != nil {
		return nil, err
	}
	n.calendars.put(k, t)
	return t, nil
}

// compose renders the email of m: confirmations and promotions without
// workshops (the registration opening) from the cache, everything else
// directly.
func (n *Notifier) compose(kind, key string, m Mail) (models.OutboxMessage, error) {
	r := m.Registration
	switch m.Kind {
	case models.NoticeRegistered, models.NoticePromoted, models.NoticeWorkshopConfirmed, models.NoticeWorkshopPromoted:
	default:
		return n.Mail.Compose(kind, key, r.Email, "event_notice", m)
	}
	if (m.Links.Manage != "" && !strings.HasPrefix(m.Links.Badge, m.Links.Manage)) || containsPlaceholder(&m) {
		return n.Mail.Compose(kind, key, r.Email, "event_notice", m)
	}
	k := renderKey{event: m.Event.ID, updated: m.Event.UpdatedAt.UnixNano(), seq: m.Event.Sequence, kind: m.Kind, state: r.State,
		mode: r.Mode, byCorrespondent: r.RegisteredBy != "", workshop: workshopKey(&m), lines: len(m.Workshops)}
	tmpl, ok := n.bodies.get(k)
	if !ok {
		pm := m
		pm.Registration.Name, pm.Registration.Email, pm.Registration.Code = phName, phEmail, phCode
		pm.Links.Manage, pm.Links.Badge = "", ""
		if m.Links.Manage != "" {
			pm.Links.Manage, pm.Links.Badge = phManage, phManage+strings.TrimPrefix(m.Links.Badge, m.Links.Manage)
		}
		if m.Links.QR != "" {
			pm.Links.QR = phQR
		}
		pm.lines = make([]string, len(m.Workshops))
		for i := range pm.lines {
			pm.lines[i] = fmt.Sprintf(phLine, i)
		}
		msg, err := n.Mail.Compose(kind, key, phEmail, "event_notice", pm)
		if err != nil {
			return msg, err
		}
		n.rendered.Add(1)
		tmpl = renderedMail{subject: msg.Subject, body: models.NewMailBody(msg.TextBody, msg.HTMLBody)}
		n.bodies.put(k, tmpl)
	}
	if strings.Contains(tmpl.subject, phName) || strings.Contains(tmpl.subject, phEmail) {
		return n.Mail.Compose(kind, key, r.Email, "event_notice", m) // the subject is one line built from data: keep it exact
	}
	// The person's values replace the placeholders when the message is
	// read (HTML gets them escaped): the outbox keeps the body once.
	vars := []string{phName, r.Name, phEmail, r.Email, phManage, m.Links.Manage, phShown, r.DisplayCode(), phCode, r.Code, phQR, m.Links.QR}
	for i, line := range m.WorkshopLines() {
		vars = append(vars, fmt.Sprintf(phLine, i), line)
	}
	return models.OutboxMessage{DedupeKey: key, Kind: kind, Recipient: models.NormaliseEmail(r.Email), Subject: tmpl.subject,
		Body: tmpl.body, Vars: vars}, nil
}

// containsPlaceholder tells whether the event's or the workshops' own text
// holds a placeholder (then the email is rendered directly).
func containsPlaceholder(m *Mail) bool {
	e := &m.Event
	var b strings.Builder
	b.WriteString(e.Title + e.Description + e.VenueName + e.VenueAddress + e.VenueAccess + e.VenueAccessibility + e.OnlineURL + e.ID)
	add := func(c *models.WorkshopChoice) {
		b.WriteString(c.Session.Title + c.Session.Room + c.Session.Address + c.Session.VideoURL + c.Session.Agenda)
	}
	if m.Workshop != nil {
		add(m.Workshop)
	}
	for i := range m.Workshops {
		add(&m.Workshops[i])
	}
	blob := b.String()
	for _, p := range []string{phName, phEmail, phManage, phCode, phShown, phQR, strings.TrimSuffix(phLine, "%dQ")} {
		if strings.Contains(blob, p) {
			return true
		}
	}
	return false
}

// MessageMail is the .Data of the "event_message" email template.
type MessageMail struct {
	Event        models.Event
	Registration models.Registration
	Subject      string
	Body         string // Markdown
	Links        Links
}

// Message queues an organisers' message to one registrant (one email per
// person; the key names the message and the person).
func (n *Notifier) Message(ctx context.Context, tx *models.Tx, e *models.Event, r *models.Registration, messageID, subject, body string) error {
	msg, err := n.Mail.Compose("event.message", fmt.Sprintf("event:%s:message:%s:%s", e.ID, messageID, r.ID), r.Email, "event_message",
		MessageMail{Event: *e, Registration: *r, Subject: subject, Body: body, Links: Links{Event: n.EventURL(e), Programme: n.EventURL(e) + "/programme"}})
	if err != nil {
		return err
	}
	err = tx.Queue(ctx, msg)
	return err
}

// ReminderMail is the .Data of the "event_reminder" email template.
type ReminderMail struct {
	Event        models.Event
	Registration models.Registration
	Workshops    []models.WorkshopChoice
	When         string // "week" or "day"
	Links        Links
}

// Reminder queues the reminder of a confirmed registrant, a week or a day
// before the event (when is "week" or "day"); sent once per person and kind.
func (n *Notifier) Reminder(ctx context.Context, tx *models.Tx, e *models.Event, r *models.Registration, when string) error {
	ws, err := tx.RegistrationWorkshops(ctx, r.ID, false)
	if err != nil {
		return err
	}
	links, err := n.links(ctx, tx, r, e, true)
	if err != nil {
		return err
	}
	msg, err := n.Mail.Compose("event.reminder", fmt.Sprintf("event:%s:reminder:%s:%s", e.ID, when, r.ID), r.Email, "event_reminder",
		ReminderMail{Event: *e, Registration: *r, Workshops: ws, When: when, Links: links})
	if err != nil {
		return err
	}
	if links.QR != "" {
		mail.EmbedQR(&msg, n.CheckInURL(r))
	}
	err = tx.Queue(ctx, msg)
	return err
}

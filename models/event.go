package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// EventStatus is where an event stands. Only published (and closed,
// cancelled) events are visible to agents.
type EventStatus string

const (
	EventDraft     EventStatus = "draft"
	EventPublished EventStatus = "published"
	EventClosed    EventStatus = "closed" // registration closed by organisers; the event still happens
	EventCancelled EventStatus = "cancelled"
	EventArchived  EventStatus = "archived" // over; management links no longer work
)

// EventStatuses lists every status in life-cycle order.
var EventStatuses = []EventStatus{EventDraft, EventPublished, EventClosed, EventCancelled, EventArchived}

// Valid tells whether s is a known status.
func (s EventStatus) Valid() bool {
	for _, v := range EventStatuses {
		if s == v {
			return true
		}
	}
	return false
}

// Label is the status's French name.
func (s EventStatus) Label() string {
	switch s {
	case EventDraft:
		return "Brouillon"
	case EventPublished:
		return "Publié"
	case EventClosed:
		return "Inscriptions closes"
	case EventCancelled:
		return "Annulé"
	case EventArchived:
		return "Archivé"
	}
	return string(s)
}

// Visible tells whether agents may see an event in this status.
func (s EventStatus) Visible() bool {
	return s == EventPublished || s == EventClosed || s == EventCancelled
}

// Modes are the attendance modes an event offers.
type Modes string

const (
	ModesOnsite Modes = "onsite"
	ModesRemote Modes = "remote"
	ModesBoth   Modes = "both"
)

// Valid tells whether m is known.
func (m Modes) Valid() bool { return m == ModesOnsite || m == ModesRemote || m == ModesBoth }

// Label is the French name.
func (m Modes) Label() string {
	switch m {
	case ModesOnsite:
		return "Sur place"
	case ModesRemote:
		return "À distance"
	case ModesBoth:
		return "Sur place ou à distance"
	}
	return string(m)
}

// Offers tells whether an attendee may choose mode.
func (m Modes) Offers(mode Mode) bool {
	switch mode {
	case ModeOnsite:
		return m == ModesOnsite || m == ModesBoth
	case ModeRemote:
		return m == ModesRemote || m == ModesBoth
	}
	return false
}

// Choices lists the modes an attendee may choose.
func (m Modes) Choices() []Mode {
	switch m {
	case ModesOnsite:
		return []Mode{ModeOnsite}
	case ModesRemote:
		return []Mode{ModeRemote}
	}
	return []Mode{ModeOnsite, ModeRemote}
}

// Mode is how one registrant attends.
type Mode string

const (
	ModeOnsite Mode = "onsite"
	ModeRemote Mode = "remote"
)

// Label is the French name.
func (m Mode) Label() string {
	switch m {
	case ModeOnsite:
		return "Sur place"
	case ModeRemote:
		return "À distance"
	}
	return string(m)
}

// ParseMode reads a mode as written by people in a form or a CSV file
// ("sur place", "présentiel", "distance", "visio", "onsite", …).
func ParseMode(s string) (Mode, bool) {
	v := strings.ToLower(strings.TrimSpace(s))
	v = strings.NewReplacer("é", "e", "è", "e", "à", "a", "-", " ", "_", " ").Replace(v)
	switch v {
	case "onsite", "sur place", "surplace", "presentiel", "place", "site", "p":
		return ModeOnsite, true
	case "remote", "a distance", "distance", "distanciel", "visio", "visioconference", "en ligne", "d":
		return ModeRemote, true
	}
	return "", false
}

// Event is a product event (or any later event): dates, venue, capacity,
// registration window.
type Event struct {
	ID                 string
	Title              string
	Description        string // Markdown
	VenueName          string
	VenueAddress       string
	VenueAccess        string // how to get there
	VenueAccessibility string // accessibility information
	OnlineURL          string // video link for remote attendees
	StartsAt, EndsAt   time.Time
	OpensAt, ClosesAt  time.Time // registration window; zero = no bound
	RegistrationClosed bool      // closed by organisers before ClosesAt
	Capacity           int       // seats; 0 = unlimited
	Modes              Modes
	Status             EventStatus
	UID                string // calendar UID, stable for ever
	Sequence           int    // calendar SEQUENCE, +1 on every change of time or place
	ReminderWeekSentAt time.Time
	ReminderDaySentAt  time.Time
	CreatedBy          string
	CreatedAt          time.Time
	UpdatedAt          time.Time
	// RulesVersion moves with every change to the event's workshops, quotas
	// and questions (database triggers): what rulesCache keys them by.
	RulesVersion int64
}

// TakesSeat tells whether an attendee in mode uses one of the event's seats:
// on-site attendees always do; remote attendees only at a remote-only event
// (where the capacity is that of the video conference).
func (e Event) TakesSeat(mode Mode) bool {
	return mode == ModeOnsite || e.Modes == ModesRemote
}

// Location is what calendars show as LOCATION.
func (e Event) Location() string {
	parts := []string{}
	if e.VenueName != "" {
		parts = append(parts, e.VenueName)
	}
	if e.VenueAddress != "" {
		parts = append(parts, strings.ReplaceAll(e.VenueAddress, "\n", ", "))
	}
	if len(parts) == 0 && e.Modes == ModesRemote {
		return "En ligne"
	}
	return strings.Join(parts, ", ")
}

// RegistrationState explains whether registration is open at now.
type RegistrationState string

const (
	RegOpen         RegistrationState = "open"
	RegNotYet       RegistrationState = "not_yet"
	RegClosed       RegistrationState = "closed"
	RegNotPublished RegistrationState = "not_published"
)

// RegistrationState tells whether people may register at now.
func (e Event) RegistrationState(now time.Time) RegistrationState {
	switch {
	case e.Status == EventDraft || e.Status == EventArchived:
		return RegNotPublished
	case e.Status != EventPublished || e.RegistrationClosed:
		return RegClosed
	case !e.OpensAt.IsZero() && now.Before(e.OpensAt):
		return RegNotYet
	case !e.ClosesAt.IsZero() && !now.Before(e.ClosesAt):
		return RegClosed
	case !now.Before(e.EndsAt):
		return RegClosed
	}
	return RegOpen
}

// Errors of events and registrations.
var (
	ErrRegistrationClosed = errors.New("registration is closed")
	ErrAlreadyRegistered  = errors.New("already registered for this event")
	ErrAlreadyCancelled   = errors.New("registration already cancelled")
	ErrModeNotOffered     = errors.New("attendance mode not offered")
	ErrNoSeat             = errors.New("no seat left")
	ErrQuotaOverCapacity  = errors.New("quotas exceed the capacity")
	ErrLastEventOrganiser = errors.New("an event keeps at least one organiser")
	ErrAlreadyCheckedIn   = errors.New("already checked in")
	ErrNotConfirmed       = errors.New("registration not confirmed")
	ErrLinkExpired        = errors.New("management link expired")
)

const eventColumns = `id, title, description, venue_name, venue_address, venue_access, venue_accessibility, online_url,
	starts_at, ends_at, registration_opens_at, registration_closes_at, registration_closed, capacity, modes, status,
	uid, sequence, reminder_week_sent_at, reminder_day_sent_at, created_by, created_at, updated_at, rules_version`

func scanEvent(row interface{ Scan(...any) error }) (Event, error) {
	var e Event
	var opens, closes, week, day nullTime
	var by nullStr
	err := row.Scan(&e.ID, &e.Title, &e.Description, &e.VenueName, &e.VenueAddress, &e.VenueAccess, &e.VenueAccessibility, &e.OnlineURL,
		&e.StartsAt, &e.EndsAt, &opens, &closes, &e.RegistrationClosed, &e.Capacity, &e.Modes, &e.Status,
		&e.UID, &e.Sequence, &week, &day, &by, &e.CreatedAt, &e.UpdatedAt, &e.RulesVersion)
	e.OpensAt, e.ClosesAt, e.ReminderWeekSentAt, e.ReminderDaySentAt = opens.Time, closes.Time, week.Time, day.Time
	e.CreatedBy = by.String
	e.StartsAt, e.EndsAt = e.StartsAt.UTC(), e.EndsAt.UTC()
	return e, err
}

func optTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

// EventByID returns one event.
func (d *DB) EventByID(ctx context.Context, id string) (Event, error) {
	e, err := scanEvent(d.queryRow(ctx, "SELECT "+eventColumns+" FROM events WHERE id = ?", id))
	if err != nil {
		return Event{}, notFound(err, "get event %s", id)
	}
	return e, nil
}

// EventFilter narrows ListEvents.
type EventFilter struct {
	Visible     bool   // only events agents may see
	OrganiserID string // only events this user organises
	Upcoming    bool   // only events not over at Now
	Limit       int
}

// ListEvents returns events, soonest first.
func (d *DB) ListEvents(ctx context.Context, f EventFilter) ([]Event, error) {
	where := []string{"1 = 1"}
	var args []any
	if f.Visible {
		where = append(where, "status IN (?, ?, ?)")
		args = append(args, EventPublished, EventClosed, EventCancelled)
	}
	if f.OrganiserID != "" {
		where = append(where, "id IN (SELECT event_id FROM event_organisers WHERE user_id = ?)")
		args = append(args, f.OrganiserID)
	}
	if f.Upcoming {
		where = append(where, "ends_at > ?")
		args = append(args, d.Now())
	}
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	rows, err := d.query(ctx, "SELECT "+eventColumns+" FROM events WHERE "+strings.Join(where, " AND ")+
		" ORDER BY starts_at, id LIMIT ?", append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, fmt.Errorf("scan event: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// EventInput is what organisers set on an event.
type EventInput struct {
	Title              string
	Description        string
	VenueName          string
	VenueAddress       string
	VenueAccess        string
	VenueAccessibility string
	OnlineURL          string
	StartsAt, EndsAt   time.Time
	OpensAt, ClosesAt  time.Time
	Capacity           int
	Modes              Modes
}

func (in *EventInput) check() error {
	switch {
	case strings.TrimSpace(in.Title) == "":
		return errors.New("event: title is required")
	case !in.EndsAt.After(in.StartsAt):
		return errors.New("event: end must be after start")
	case in.Capacity < 0:
		return errors.New("event: negative capacity")
	case !in.Modes.Valid():
		return fmt.Errorf("event: unknown modes %q", in.Modes)
	case !in.OpensAt.IsZero() && !in.ClosesAt.IsZero() && !in.ClosesAt.After(in.OpensAt):
		return errors.New("event: registration must close after it opens")
	}
	return nil
}

// CreateEvent adds a draft event organised by its creator. host is the
// public host name, used once to make the calendar UID.
func (tx *Tx) CreateEvent(ctx context.Context, a Actor, host string, in EventInput) (Event, error) {
	if err := in.check(); err != nil {
		return Event{}, err
	}
	now := tx.Now()
	id := NewID()
	e := Event{
		ID: id, Title: strings.TrimSpace(in.Title), Description: in.Description,
		VenueName: in.VenueName, VenueAddress: in.VenueAddress, VenueAccess: in.VenueAccess, VenueAccessibility: in.VenueAccessibility,
		OnlineURL: in.OnlineURL, StartsAt: in.StartsAt.UTC(), EndsAt: in.EndsAt.UTC(), OpensAt: in.OpensAt, ClosesAt: in.ClosesAt,
		Capacity: in.Capacity, Modes: in.Modes, Status: EventDraft, UID: calendarUID("event-"+id, host),
		CreatedBy: a.UserID, CreatedAt: now, UpdatedAt: now,
	}
	_, err := tx.exec(ctx, `INSERT INTO events (id, title, description, venue_name, venue_address, venue_access, venue_accessibility, online_url,
		starts_at, ends_at, registration_opens_at, registration_closes_at, capacity, modes, status, uid, created_by, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, e.Title, e.Description, e.VenueName, e.VenueAddress, e.VenueAccess, e.VenueAccessibility, e.OnlineURL,
		e.StartsAt, e.EndsAt, optTime(e.OpensAt), optTime(e.ClosesAt), e.Capacity, e.Modes, e.Status, e.UID, nullString(a.UserID), now, now)
	if err != nil {
		return Event{}, fmt.Errorf("create event: %w", err)
	}
	if a.UserID != "" {
		if err := tx.AddEventOrganiser(ctx, a, e.ID, a.UserID); err != nil {
			return Event{}, err
		}
	}
	if err := tx.Audit(ctx, a, "event.create", "event", e.ID, e.Title); err != nil {
		return Event{}, err
	}
	return e, nil
}

// calendarUID is the stable calendar identifier of an entry on host (the
// format of internal/ical.UID).
func calendarUID(id, host string) string {
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		host = host[:i]
	}
	host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
	if host == "" {
		host = "localhost"
	}
	return "agora-" + id + "@" + host
}

// UpdateEvent changes an event. A change of dates or place increases the
// calendar SEQUENCE and sends an update to every confirmed registrant; a
// change of capacity promotes from the waiting list when seats appear.
func (tx *Tx) UpdateEvent(ctx context.Context, n Notifier, a Actor, id string, in EventInput) (Event, error) {
	if err := in.check(); err != nil {
		return Event{}, err
	}
	if _, err := tx.lockEvent(ctx, id); err != nil {
		return Event{}, err
	}
	old, err := tx.EventByID(ctx, id)
	if err != nil {
		return Event{}, err
	}
	if err := tx.checkQuotas(ctx, id, in.Capacity, nil); err != nil {
		return Event{}, err
	}
	e := old
	e.Title, e.Description = strings.TrimSpace(in.Title), in.Description
	e.VenueName, e.VenueAddress, e.VenueAccess, e.VenueAccessibility = in.VenueName, in.VenueAddress, in.VenueAccess, in.VenueAccessibility
	e.OnlineURL, e.StartsAt, e.EndsAt, e.OpensAt, e.ClosesAt = in.OnlineURL, in.StartsAt.UTC(), in.EndsAt.UTC(), in.OpensAt, in.ClosesAt
	e.Capacity, e.Modes, e.UpdatedAt = in.Capacity, in.Modes, tx.Now()
	moved := !old.StartsAt.Equal(e.StartsAt) || !old.EndsAt.Equal(e.EndsAt) || old.Location() != e.Location() ||
		old.OnlineURL != e.OnlineURL || old.Title != e.Title
	if moved {
		e.Sequence++
	}
	_, err = tx.exec(ctx, `UPDATE events SET title = ?, description = ?, venue_name = ?, venue_address = ?, venue_access = ?,
		venue_accessibility = ?, online_url = ?, starts_at = ?, ends_at = ?, registration_opens_at = ?, registration_closes_at = ?,
		capacity = ?, modes = ?, sequence = ?, updated_at = ? WHERE id = ?`,
		e.Title, e.Description, e.VenueName, e.VenueAddress, e.VenueAccess, e.VenueAccessibility, e.OnlineURL,
		e.StartsAt, e.EndsAt, optTime(e.OpensAt), optTime(e.ClosesAt), e.Capacity, e.Modes, e.Sequence, e.UpdatedAt, id)
	if err != nil {
		return Event{}, fmt.Errorf("update event %s: %w", id, err)
	}
	if err := tx.Audit(ctx, a, "event.update", "event", id, e.Title); err != nil {
		return Event{}, err
	}
	if moved && e.Status.Visible() {
		err := tx.eachRegistration(ctx, id, RegConfirmed, func(r Registration) error {
			return n.Notify(ctx, tx, Notice{Kind: NoticeEventChanged, Event: e, Registration: r})
		})
		if err != nil {
			return Event{}, err
		}
	}
	if err := tx.rebalance(ctx, n, &e); err != nil {
		return Event{}, err
	}
	return e, nil
}

// SetEventStatus moves an event through its life cycle. Cancelling sends a
// calendar cancellation to every confirmed registrant and tells the waiting
// list; archiving makes the management links expire.
func (tx *Tx) SetEventStatus(ctx context.Context, n Notifier, a Actor, id string, status EventStatus) (Event, error) {
	if !status.Valid() {
		return Event{}, fmt.Errorf("set event status: unknown status %q", status)
	}
	if _, err := tx.lockEvent(ctx, id); err != nil {
		return Event{}, err
	}
	e, err := tx.EventByID(ctx, id)
	if err != nil {
		return Event{}, err
	}
	if e.Status == status {
		return e, nil
	}
	if e.Status == EventCancelled && status != EventArchived {
		return Event{}, fmt.Errorf("set event status: a cancelled event can only be archived: %w", ErrForbidden)
	}
	prev := e.Status
	e.Status, e.UpdatedAt = status, tx.Now()
	if status == EventCancelled {
		e.Sequence++
	}
	_, err = tx.exec(ctx, "UPDATE events SET status = ?, sequence = ?, updated_at = ? WHERE id = ?", e.Status, e.Sequence, e.UpdatedAt, id)
	if err != nil {
		return Event{}, fmt.Errorf("set event %s status: %w", id, err)
	}
	if err := tx.Audit(ctx, a, "event.status", "event", id, string(prev)+" → "+string(status)); err != nil {
		return Event{}, err
	}
	if status == EventCancelled {
		for _, st := range []RegState{RegConfirmed, RegWaitlisted} {
			err := tx.eachRegistration(ctx, id, st, func(r Registration) error {
				return n.Notify(ctx, tx, Notice{Kind: NoticeEventCancelled, Event: e, Registration: r})
			})
			if err != nil {
				return Event{}, err
			}
		}
	}
	return e, nil
}

// SetRegistrationClosed closes (or reopens) registration by hand.
func (tx *Tx) SetRegistrationClosed(ctx context.Context, a Actor, id string, closed bool) error {
	res, err := tx.exec(ctx, "UPDATE events SET registration_closed = ?, updated_at = ? WHERE id = ?", closed, tx.Now(), id)
	if err := affectedOne(res, err, "close registration of %s", id); err != nil {
		return err
	}
	action := "event.registration_open"
	if closed {
		action = "event.registration_close"
	}
	return tx.Audit(ctx, a, action, "event", id, "")
}

// lockEvent takes the event's row lock for the rest of the transaction and
// returns the next arrival number (the order of registrations and of the
// waiting list). Every write that counts seats starts with it.
func (tx *Tx) lockEvent(ctx context.Context, id string) (int64, error) {
	var seq int64
	err := tx.queryRow(ctx, "UPDATE events SET reg_seq = reg_seq + 1 WHERE id = ? RETURNING reg_seq", id).Scan(&seq)
	if err != nil {
		return 0, notFound(err, "lock event %s", id)
	}
	return seq, nil
}

// lockEventRead is lockEvent that also reads the event, in one statement
// (the registration path counts its statements).
//
// In a group commit (Store.Batch) the event is read once per batch: the
// writes run there never change events but for this counter.
func (tx *Tx) lockEventRead(ctx context.Context, id string) (int64, Event, error) {
	var seq int64
	if e, ok := tx.events[id]; ok {
		if err := tx.queryRow(ctx, "UPDATE events SET reg_seq = reg_seq + 1 WHERE id = ? RETURNING reg_seq", id).Scan(&seq); err != nil {
			return 0, Event{}, notFound(err, "lock event %s", id)
		}
		return seq, e, nil
	}
	row := tx.queryRow(ctx, "UPDATE events SET reg_seq = reg_seq + 1 WHERE id = ? RETURNING reg_seq, "+eventColumns, id)
	e, err := scanEvent(prefixScanner{row: row, first: &seq})
	if err != nil {
		return 0, Event{}, notFound(err, "lock event %s", id)
	}
	if tx.events != nil {
		tx.events[id] = e
	}
	return seq, e, nil
}

// prefixScanner scans one extra leading column before a scan function's own.
type prefixScanner struct {
	row   interface{ Scan(...any) error }
	first any
}

func (p prefixScanner) Scan(dest ...any) error { return p.row.Scan(append([]any{p.first}, dest...)...) }

// --- organisers ---

// AddEventOrganiser makes a user an organiser of the event.
func (tx *Tx) AddEventOrganiser(ctx context.Context, a Actor, eventID, userID string) error {
	_, err := tx.exec(ctx, `INSERT INTO event_organisers (event_id, user_id, added_at) VALUES (?, ?, ?)
		ON CONFLICT (event_id, user_id) DO NOTHING`, eventID, userID, tx.Now())
	if err != nil {
		return fmt.Errorf("add organiser to %s: %w", eventID, err)
	}
	return tx.Audit(ctx, a, "event.organiser_add", "event", eventID, userID)
}

// RemoveEventOrganiser removes an organiser, keeping at least one.
func (tx *Tx) RemoveEventOrganiser(ctx context.Context, a Actor, eventID, userID string) error {
	if _, err := tx.lockEvent(ctx, eventID); err != nil {
		return err
	}
	var n int
	if err := tx.queryRow(ctx, "SELECT COUNT(*) FROM event_organisers WHERE event_id = ?", eventID).Scan(&n); err != nil {
		return fmt.Errorf("count organisers: %w", err)
	}
	if n <= 1 {
		return ErrLastEventOrganiser
	}
	res, err := tx.exec(ctx, "DELETE FROM event_organisers WHERE event_id = ? AND user_id = ?", eventID, userID)
	if err := affectedOne(res, err, "remove organiser %s from %s", userID, eventID); err != nil {
		return err
	}
	return tx.Audit(ctx, a, "event.organiser_remove", "event", eventID, userID)
}

// EventOrganisers lists the organisers of an event, by name.
func (d *DB) EventOrganisers(ctx context.Context, eventID string) ([]User, error) {
	rows, err := d.query(ctx, "SELECT "+prefixed("u", userColumns)+` FROM users u
		JOIN event_organisers o ON o.user_id = u.id WHERE o.event_id = ? ORDER BY u.name, u.email`, eventID)
	if err != nil {
		return nil, fmt.Errorf("list organisers: %w", err)
	}
	return collect(rows, scanUser)
}

// EventAccess is what one user may do on one event.
type EventAccess struct {
	Organiser  bool     // organiser of the event, or admin
	Directions []string // directions the user is correspondent for
}

// Correspondent tells whether the user is correspondent for any direction.
func (a EventAccess) Correspondent() bool { return len(a.Directions) > 0 }

// ForDirection tells whether the user may act for the direction's agents.
func (a EventAccess) ForDirection(code string) bool {
	if a.Organiser {
		return true
	}
	for _, d := range a.Directions {
		if d == code {
			return true
		}
	}
	return false
}

// EventAccessFor tells what u may do on the event (nothing for nil).
func (d *DB) EventAccessFor(ctx context.Context, eventID string, u *User) (EventAccess, error) {
	var acc EventAccess
	if u == nil {
		return acc, nil
	}
	if u.IsAdmin() {
		acc.Organiser = true
	} else {
		var n int
		if err := d.queryRow(ctx, "SELECT COUNT(*) FROM event_organisers WHERE event_id = ? AND user_id = ?", eventID, u.ID).Scan(&n); err != nil {
			return acc, fmt.Errorf("event access: %w", err)
		}
		acc.Organiser = n > 0
	}
	rows, err := d.query(ctx, "SELECT direction_code FROM event_correspondents WHERE event_id = ? AND user_id = ? ORDER BY direction_code", eventID, u.ID)
	if err != nil {
		return acc, fmt.Errorf("event access: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var code string
		if err := rows.Scan(&code); err != nil {
			return acc, err
		}
		acc.Directions = append(acc.Directions, code)
	}
	return acc, rows.Err()
}

// --- quotas ---

// Quota is the number of seats reserved for a direction.
type Quota struct {
	DirectionCode string
	Seats         int
}

// EventQuotas returns the reservations of an event, by direction code.
func (d *DB) EventQuotas(ctx context.Context, eventID string) (map[string]int, error) {
	rows, err := d.query(ctx, "SELECT direction_code, seats FROM event_quotas WHERE event_id = ?", eventID)
	if err != nil {
		return nil, fmt.Errorf("list quotas: %w", err)
	}
	return collectCounts(rows)
}

// seatState returns the quotas and the seats taken of the event e, read
// under its lock in this transaction: the quotas from the rulesCache while
// the event's rules version holds, the seats once per group commit (then
// kept by addSeats). Both maps are shared: read them, never change them.
func (tx *Tx) seatState(ctx context.Context, e *Event) (quotas, taken map[string]int, err error) {
	quotas, known := tx.rules.quotas(e.ID, e.RulesVersion)
	if !known {
		if quotas, err = tx.EventQuotas(ctx, e.ID); err != nil {
			return nil, nil, err
		}
		tx.rules.setQuotas(e.ID, e.RulesVersion, quotas)
	}
	taken, counted := tx.seats[e.ID]
	if !counted {
		if taken, err = tx.seatCounts(ctx, e.ID); err != nil {
			return nil, nil, err
		}
		if tx.seats != nil {
			tx.seats[e.ID] = taken
		}
	}
	return quotas, taken, nil
}

func (tx *Tx) checkQuotas(ctx context.Context, eventID string, capacity int, quotas map[string]int) error {
	if quotas == nil {
		var err error
		if quotas, err = tx.EventQuotas(ctx, eventID); err != nil {
			return err
		}
	}
	sum := 0
	for _, n := range quotas {
		sum += n
	}
	if sum > 0 && capacity > 0 && sum > capacity {
		return ErrQuotaOverCapacity
	}
	if sum > 0 && capacity == 0 {
		return fmt.Errorf("quotas need a capacity: %w", ErrQuotaOverCapacity)
	}
	return nil
}

// SetEventQuotas replaces the reservations of an event (0 seats removes
// one). Their sum may not exceed the capacity. Freed reservations promote
// from the waiting list.
func (tx *Tx) SetEventQuotas(ctx context.Context, n Notifier, a Actor, eventID string, quotas map[string]int) error {
	if _, err := tx.lockEvent(ctx, eventID); err != nil {
		return err
	}
	e, err := tx.EventByID(ctx, eventID)
	if err != nil {
		return err
	}
	clean := map[string]int{}
	for code, seats := range quotas {
		if seats < 0 {
			return fmt.Errorf("quota of %s: negative", code)
		}
		if seats > 0 {
			clean[NormaliseDirectionCode(code)] = seats
		}
	}
	if err := tx.checkQuotas(ctx, eventID, e.Capacity, clean); err != nil {
		return err
	}
	if _, err := tx.exec(ctx, "DELETE FROM event_quotas WHERE event_id = ?", eventID); err != nil {
		return fmt.Errorf("clear quotas: %w", err)
	}
	var detail []string
	for code, seats := range clean {
		if _, err := tx.exec(ctx, "INSERT INTO event_quotas (event_id, direction_code, seats) VALUES (?, ?, ?)", eventID, code, seats); err != nil {
			return fmt.Errorf("set quota %s: %w", code, err)
		}
		detail = append(detail, fmt.Sprintf("%s=%d", code, seats))
	}
	if err := tx.Audit(ctx, a, "event.quotas", "event", eventID, strings.Join(detail, " ")); err != nil {
		return err
	}
	return tx.rebalance(ctx, n, &e)
}

// --- correspondents ---

// Correspondent is a user who registers agents of a direction.
type Correspondent struct {
	User          User
	DirectionCode string
}

// AddCorrespondent makes a user correspondent of a direction for the event.
func (tx *Tx) AddCorrespondent(ctx context.Context, a Actor, eventID, userID, direction string) error {
	direction = NormaliseDirectionCode(direction)
	_, err := tx.exec(ctx, `INSERT INTO event_correspondents (event_id, user_id, direction_code, added_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (event_id, user_id, direction_code) DO NOTHING`, eventID, userID, direction, tx.Now())
	if err != nil {
		return fmt.Errorf("add correspondent: %w", err)
	}
	return tx.Audit(ctx, a, "event.correspondent_add", "event", eventID, direction+" "+userID)
}

// RemoveCorrespondent withdraws the role.
func (tx *Tx) RemoveCorrespondent(ctx context.Context, a Actor, eventID, userID, direction string) error {
	res, err := tx.exec(ctx, "DELETE FROM event_correspondents WHERE event_id = ? AND user_id = ? AND direction_code = ?",
		eventID, userID, NormaliseDirectionCode(direction))
	if err := affectedOne(res, err, "remove correspondent"); err != nil {
		return err
	}
	return tx.Audit(ctx, a, "event.correspondent_remove", "event", eventID, direction+" "+userID)
}

// EventCorrespondents lists the correspondents of an event by direction.
func (d *DB) EventCorrespondents(ctx context.Context, eventID string) ([]Correspondent, error) {
	rows, err := d.query(ctx, "SELECT c.direction_code, "+prefixed("u", userColumns)+` FROM event_correspondents c
		JOIN users u ON u.id = c.user_id WHERE c.event_id = ? ORDER BY c.direction_code, u.name`, eventID)
	if err != nil {
		return nil, fmt.Errorf("list correspondents: %w", err)
	}
	defer rows.Close()
	var out []Correspondent
	for rows.Next() {
		var c Correspondent
		u, err := scanUserAfter(rows, &c.DirectionCode)
		if err != nil {
			return nil, err
		}
		c.User = u
		out = append(out, c)
	}
	return out, rows.Err()
}

// DuplicateEvent creates a draft copy of an event, `years` later (same
// Paris wall-clock times): description, venue, capacity, modes, quotas,
// correspondents, questions and programme. Registrations are not copied.
// It is how next year's product event starts.
func (tx *Tx) DuplicateEvent(ctx context.Context, a Actor, by User, host, id string, years int) (Event, error) {
	src, err := tx.EventByID(ctx, id)
	if err != nil {
		return Event{}, err
	}
	shift := func(t time.Time) time.Time {
		if t.IsZero() {
			return t
		}
		return t.In(Paris).AddDate(years, 0, 0).UTC()
	}
	e, err := tx.CreateEvent(ctx, a, host, EventInput{
		Title: src.Title, Description: src.Description, VenueName: src.VenueName, VenueAddress: src.VenueAddress,
		VenueAccess: src.VenueAccess, VenueAccessibility: src.VenueAccessibility, OnlineURL: src.OnlineURL,
		StartsAt: shift(src.StartsAt), EndsAt: shift(src.EndsAt), OpensAt: shift(src.OpensAt), ClosesAt: shift(src.ClosesAt),
		Capacity: src.Capacity, Modes: src.Modes,
	})
	if err != nil {
		return Event{}, err
	}
	quotas, err := tx.EventQuotas(ctx, id)
	if err != nil {
		return Event{}, err
	}
	if len(quotas) > 0 {
		if err := tx.SetEventQuotas(ctx, NoNotify, a, e.ID, quotas); err != nil {
			return Event{}, err
		}
	}
	corrs, err := tx.EventCorrespondents(ctx, id)
	if err != nil {
		return Event{}, err
	}
	for _, c := range corrs {
		if err := tx.AddCorrespondent(ctx, a, e.ID, c.User.ID, c.DirectionCode); err != nil {
			return Event{}, err
		}
	}
	orgs, err := tx.EventOrganisers(ctx, id)
	if err != nil {
		return Event{}, err
	}
	for _, o := range orgs {
		if err := tx.AddEventOrganiser(ctx, a, e.ID, o.ID); err != nil {
			return Event{}, err
		}
	}
	qs, err := tx.EventQuestions(ctx, id)
	if err != nil {
		return Event{}, err
	}
	for _, q := range qs {
		if _, err := tx.AddQuestion(ctx, a, e.ID, QuestionInput{Label: q.Label, Help: q.Help, Kind: q.Kind, Required: q.Required, Options: q.Options}); err != nil {
			return Event{}, err
		}
	}
	slots, err := tx.Programme(ctx, id)
	if err != nil {
		return Event{}, err
	}
	for _, s := range slots {
		if s.Cancelled() {
			continue
		}
		in := SlotInput{Kind: s.Kind, SessionInput: SessionInput{Title: s.Title, StartsAt: shift(s.StartsAt), EndsAt: shift(s.EndsAt),
			Room: s.Room, Address: s.Address, VideoURL: s.VideoURL, Agenda: s.Agenda, Capacity: s.Capacity}}
		if _, err := tx.AddSlot(ctx, a, by, e.ID, host, in); err != nil {
			return Event{}, err
		}
	}
	return e, tx.Audit(ctx, a, "event.duplicate", "event", e.ID, "copie de "+id)
}

package models

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// RegState is where a registration stands.
type RegState string

const (
	RegConfirmed  RegState = "confirmed"
	RegWaitlisted RegState = "waitlisted"
	RegCancelled  RegState = "cancelled"
)

// RegStates lists every state.
var RegStates = []RegState{RegConfirmed, RegWaitlisted, RegCancelled}

// Valid tells whether s is known.
func (s RegState) Valid() bool { return s == RegConfirmed || s == RegWaitlisted || s == RegCancelled }

// Label is the French name.
func (s RegState) Label() string {
	switch s {
	case RegConfirmed:
		return "Confirmée"
	case RegWaitlisted:
		return "En liste d'attente"
	case RegCancelled:
		return "Annulée"
	}
	return string(s)
}

// Registration is one person's place at an event. The person may have no
// account yet: the registration is linked to their account when they log in.
type Registration struct {
	ID            string
	EventID       string
	Email         string
	Name          string
	DirectionCode string
	UserID        string // empty until the person has an account
	Mode          Mode
	Seat          bool // takes one of the event's seats (see Event.TakesSeat)
	State         RegState
	Seq           int64 // arrival order; the waiting list is served in this order
	ICSBump       int   // added to the event's SEQUENCE in this person's calendar (cancel, then register again)
	Code          string
	RegisteredBy  string // the correspondent or organiser who registered the person, if any
	PromotedAt    time.Time
	CancelledAt   time.Time
	CheckedInAt   time.Time
	CheckedInBy   string
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// ICSSequence is the SEQUENCE of the event in this person's calendar.
func (r Registration) ICSSequence(e *Event) int { return e.Sequence + r.ICSBump }

// CheckedIn tells whether the person has arrived.
func (r Registration) CheckedIn() bool { return !r.CheckedInAt.IsZero() }

// DisplayCode is the check-in code as printed: "K7M2-Q9XA".
func (r Registration) DisplayCode() string {
	if len(r.Code) != 8 {
		return r.Code
	}
	return r.Code[:4] + "-" + r.Code[4:]
}

// NoticeKind says which email a registration change calls for.
type NoticeKind string

const (
	NoticeRegistered     NoticeKind = "registered"      // new registration, confirmed or waitlisted
	NoticePromoted       NoticeKind = "promoted"        // from the waiting list to confirmed
	NoticeCancelled      NoticeKind = "cancelled"       // the registration was cancelled
	NoticeEventChanged   NoticeKind = "event_changed"   // the event's time or place changed (confirmed only)
	NoticeEventCancelled NoticeKind = "event_cancelled" // the event is cancelled

	NoticeWorkshopConfirmed NoticeKind = "workshop_confirmed" // a workshop place, at registration or when the registration is promoted
	NoticeWorkshopPromoted  NoticeKind = "workshop_promoted"  // a workshop place, from the workshop's waiting list
	NoticeWorkshopCancelled NoticeKind = "workshop_cancelled" // a workshop place lost (dropped, registration cancelled, workshop cancelled)
	NoticeWorkshopChanged   NoticeKind = "workshop_changed"   // the workshop's time or place changed
)

// Notice is one change that a registrant must be told about. Every change
// of registrations produces its notices inside the transaction that makes
// it, so the emails go to the outbox in that same transaction.
type Notice struct {
	Kind         NoticeKind
	Event        Event
	Registration Registration
	WasConfirmed bool // for NoticeCancelled: the person held a place (their calendar gets a CANCEL)
	ByOrganiser  bool // for NoticeCancelled: done by organisers, not by the person
	// Workshop is the workshop place of a NoticeWorkshop… notice.
	Workshop *WorkshopChoice
	// Workshops are the person's workshop choices, for NoticeRegistered and
	// NoticePromoted (the places themselves come in their own notices).
	Workshops []WorkshopChoice
}

// Notifier turns notices into outbox messages (internal/eventmail), inside
// the transaction.
type Notifier interface {
	Notify(ctx context.Context, tx *Tx, n Notice) error
}

// NotifierFunc adapts a function to Notifier.
type NotifierFunc func(ctx context.Context, tx *Tx, n Notice) error

// Notify calls f.
func (f NotifierFunc) Notify(ctx context.Context, tx *Tx, n Notice) error { return f(ctx, tx, n) }

// NoNotify sends nothing.
var NoNotify Notifier = NotifierFunc(func(context.Context, *Tx, Notice) error { return nil })

const regColumns = `id, event_id, email, name, direction_code, user_id, mode, seat, state, seq, ics_bump, code, registered_by,
	promoted_at, cancelled_at, checked_in_at, checked_in_by, created_at, updated_at`

func scanRegistration(row interface{ Scan(...any) error }) (Registration, error) {
	var r Registration
	var user, by, inBy nullStr
	var promoted, cancelled, checked nullTime
	err := row.Scan(&r.ID, &r.EventID, &r.Email, &r.Name, &r.DirectionCode, &user, &r.Mode, &r.Seat, &r.State, &r.Seq, &r.ICSBump,
		&r.Code, &by, &promoted, &cancelled, &checked, &inBy, &r.CreatedAt, &r.UpdatedAt)
	r.UserID, r.RegisteredBy, r.CheckedInBy = user.String, by.String, inBy.String
	r.PromotedAt, r.CancelledAt, r.CheckedInAt = promoted.Time, cancelled.Time, checked.Time
	return r, err
}

// RegistrationByID returns one registration.
func (d *DB) RegistrationByID(ctx context.Context, id string) (Registration, error) {
	r, err := scanRegistration(d.queryRow(ctx, "SELECT "+regColumns+" FROM registrations WHERE id = ?", id))
	if err != nil {
		return Registration{}, notFound(err, "get registration %s", id)
	}
	return r, nil
}

// RegistrationByEmail returns the registration of email at the event.
func (d *DB) RegistrationByEmail(ctx context.Context, eventID, email string) (Registration, error) {
	r, err := scanRegistration(d.queryRow(ctx, "SELECT "+regColumns+" FROM registrations WHERE event_id = ? AND email = ?",
		eventID, NormaliseEmail(email)))
	if err != nil {
		return Registration{}, notFound(err, "get registration by email")
	}
	return r, nil
}

// RegistrationByCode returns the registration with this check-in code
// (typed or scanned: case, spaces, dashes and look-alike letters are forgiven).
func (d *DB) RegistrationByCode(ctx context.Context, eventID, code string) (Registration, error) {
	r, err := scanRegistration(d.queryRow(ctx, "SELECT "+regColumns+" FROM registrations WHERE event_id = ? AND code = ?",
		eventID, NormaliseCode(code)))
	if err != nil {
		return Registration{}, notFound(err, "get registration by code")
	}
	return r, nil
}

// UserRegistrations returns the registrations of a user (by account or by
// address), newest event first.
func (d *DB) UserRegistrations(ctx context.Context, userID, email string) ([]Registration, error) {
	rows, err := d.query(ctx, "SELECT "+prefixed("r", regColumns)+` FROM registrations r JOIN events e ON e.id = r.event_id
		WHERE (r.user_id = ? OR r.email = ?) ORDER BY e.starts_at DESC`, userID, NormaliseEmail(email))
	if err != nil {
		return nil, fmt.Errorf("user registrations: %w", err)
	}
	return collectRegistrations(rows)
}

func collectRegistrations(rows *sql.Rows) ([]Registration, error) {
	defer rows.Close()
	var out []Registration
	for rows.Next() {
		r, err := scanRegistration(rows)
		if err != nil {
			return nil, fmt.Errorf("scan registration: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// LinkRegistrations attaches the registrations made for email before the
// person had an account (call it at login).
func (tx *Tx) LinkRegistrations(ctx context.Context, userID, email string) error {
	_, err := tx.exec(ctx, "UPDATE registrations SET user_id = ? WHERE email = ? AND user_id IS NULL", userID, NormaliseEmail(email))
	if err != nil {
		return fmt.Errorf("link registrations: %w", err)
	}
	return nil
}

// NewRegistration is what Register needs.
type NewRegistration struct {
	EventID       string
	Email         string
	Name          string
	DirectionCode string
	Mode          Mode
	UserID        string            // the person's account, when they register themselves
	Answers       map[string]string // question id → value checked with CheckAnswers
	Workshops     []string          // chosen workshop sessions (no two overlapping)
	// By is who registers, when it is not the person: a correspondent (for
	// their directions only, while registration is open) or an organiser
	// (also after closing).
	By    *User
	Actor Actor
}

// Register adds a registration. Inside the transaction, after locking the
// event: registration must be open (or the registrar an organiser), the
// address not registered yet, the mode offered; the person is confirmed
// when a seat is free for their direction (its quota first, then the
// unreserved seats), otherwise waitlisted in order of arrival.
func (tx *Tx) Register(ctx context.Context, n Notifier, in NewRegistration) (Registration, error) {
	email, name, dir := NormaliseEmail(in.Email), strings.TrimSpace(in.Name), NormaliseDirectionCode(in.DirectionCode)
	if email == "" || name == "" || dir == "" {
		return Registration{}, errors.New("register: email, name and direction are required")
	}
	seq, e, err := tx.lockEventRead(ctx, in.EventID)
	if err != nil {
		return Registration{}, err
	}
	now := tx.Now()
	if in.By != nil && in.By.ID != in.UserID {
		acc, err := tx.EventAccessFor(ctx, e.ID, in.By)
		if err != nil {
			return Registration{}, err
		}
		switch {
		case !acc.ForDirection(dir):
			return Registration{}, fmt.Errorf("register for direction %s: %w", dir, ErrForbidden)
		case acc.Organiser && (e.Status == EventPublished || e.Status == EventClosed) && now.Before(e.EndsAt):
		case e.RegistrationState(now) != RegOpen:
			return Registration{}, ErrRegistrationClosed
		}
	} else if e.RegistrationState(now) != RegOpen {
		return Registration{}, ErrRegistrationClosed
	}
	if !e.Modes.Offers(in.Mode) {
		return Registration{}, ErrModeNotOffered
	}
	old, err := tx.RegistrationByEmail(ctx, e.ID, email)
	switch {
	case err == nil && old.State != RegCancelled:
		return old, ErrAlreadyRegistered
	case err != nil && !errors.Is(err, ErrNotFound):
		return Registration{}, err
	}
	again := err == nil
	r := Registration{
		ID: NewID(), EventID: e.ID, Email: email, Name: name, DirectionCode: dir, UserID: in.UserID, Mode: in.Mode,
		Seat: e.TakesSeat(in.Mode), State: RegConfirmed, Seq: seq, CreatedAt: now, UpdatedAt: now,
	}
	if in.By != nil && in.By.ID != in.UserID {
		r.RegisteredBy = in.By.ID
	}
	if r.Seat {
		ok, err := tx.seatFree(ctx, &e, dir)
		if err != nil {
			return Registration{}, err
		}
		if !ok {
			r.State = RegWaitlisted
		}
	}
	if again {
		r.ID, r.Code, r.CreatedAt = old.ID, old.Code, old.CreatedAt
		r.ICSBump = old.ICSBump + 1 // the calendar had a CANCEL at the old bump
		if r.UserID == "" {
			r.UserID = old.UserID
		}
		_, err = tx.exec(ctx, `UPDATE registrations SET name = ?, direction_code = ?, user_id = COALESCE(?, user_id, (SELECT id FROM users WHERE email = ?)),
			mode = ?, seat = ?, state = ?, seq = ?, ics_bump = ?, registered_by = ?, promoted_at = NULL, cancelled_at = NULL,
			checked_in_at = NULL, checked_in_by = NULL, updated_at = ? WHERE id = ?`,
			r.Name, r.DirectionCode, nullString(in.UserID), email, r.Mode, r.Seat, r.State, r.Seq, r.ICSBump, nullString(r.RegisteredBy), now, r.ID)
		if err == nil {
			_, err = tx.exec(ctx, "DELETE FROM registration_answers WHERE registration_id = ?", r.ID)
		}
	} else {
		for attempt := 0; ; attempt++ {
			r.Code = newCode()
			_, err = tx.exec(ctx, `INSERT INTO registrations (id, event_id, email, name, direction_code, user_id, mode, seat, state, seq,
				ics_bump, code, registered_by, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, COALESCE(?, (SELECT id FROM users WHERE email = ?)), ?, ?, ?, ?, 0, ?, ?, ?, ?)`,
				r.ID, r.EventID, r.Email, r.Name, r.DirectionCode, nullString(in.UserID), email, r.Mode, r.Seat, r.State, r.Seq,
				r.Code, nullString(r.RegisteredBy), now, now)
			if !isUniqueViolation(err) || attempt == 2 {
				break
			}
			// A code collision (one in a trillion): the UNIQUE (event_id, email)
			// case cannot happen here, as the event row is locked.
		}
	}
	if err != nil {
		return Registration{}, fmt.Errorf("register %s: %w", email, err)
	}
	if r.State == RegConfirmed && r.Seat {
		if err := tx.addSeats(ctx, e.ID, r.DirectionCode, 1); err != nil {
			return Registration{}, err
		}
	}
	if err := tx.saveAnswers(ctx, r.ID, in.Answers); err != nil {
		return Registration{}, err
	}
	var workshopNotices []Notice
	var choices []WorkshopChoice
	if len(in.Workshops) > 0 {
		// Registering again: the old choices were all cancelled with the
		// registration, so the ones made now are all there is.
		if workshopNotices, choices, err = tx.chooseWorkshops(ctx, n, &e, &r, in.Workshops, seq, !again); err != nil {
			return Registration{}, err
		}
	}
	detail := string(r.State) + " " + string(r.Mode)
	if r.RegisteredBy != "" {
		detail += " par " + in.By.Email
	}
	if err := tx.Audit(ctx, in.Actor, "registration.create", "registration", r.ID, detail); err != nil {
		return Registration{}, err
	}
	if err := n.Notify(ctx, tx, Notice{Kind: NoticeRegistered, Event: e, Registration: r, Workshops: choices}); err != nil {
		return Registration{}, err
	}
	return r, notifyAll(ctx, tx, n, workshopNotices)
}

func notifyAll(ctx context.Context, tx *Tx, n Notifier, notices []Notice) error {
	for _, no := range notices {
		if err := n.Notify(ctx, tx, no); err != nil {
			return err
		}
	}
	return nil
}

func (tx *Tx) saveAnswers(ctx context.Context, regID string, answers map[string]string) error {
	for qid, v := range answers {
		if v == "" {
			continue
		}
		if _, err := tx.exec(ctx, "INSERT INTO registration_answers (registration_id, question_id, value) VALUES (?, ?, ?)", regID, qid, v); err != nil {
			return fmt.Errorf("save answer: %w", err)
		}
	}
	return nil
}

// RegistrationAnswers returns the answers of a registration by question id.
func (d *DB) RegistrationAnswers(ctx context.Context, regID string) (map[string]string, error) {
	rows, err := d.query(ctx, "SELECT question_id, value FROM registration_answers WHERE registration_id = ?", regID)
	if err != nil {
		return nil, fmt.Errorf("answers: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var q, v string
		if err := rows.Scan(&q, &v); err != nil {
			return nil, err
		}
		out[q] = v
	}
	return out, rows.Err()
}

// seatCounts returns the seats taken, by direction (event_seat_counts,
// kept by addSeats in the transactions that confirm or release a seat).
func (d *DB) seatCounts(ctx context.Context, eventID string) (map[string]int, error) {
	rows, err := d.query(ctx, "SELECT direction_code, seats FROM event_seat_counts WHERE event_id = ? AND seats <> 0", eventID)
	if err != nil {
		return nil, fmt.Errorf("count seats: %w", err)
	}
	return collectCounts(rows)
}

// collectCounts reads rows of (direction code, number) into a map, then
// closes rows.
func collectCounts(rows *sql.Rows) (map[string]int, error) {
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var code string
		var n int
		if err := rows.Scan(&code, &n); err != nil {
			return nil, err
		}
		out[code] = n
	}
	return out, rows.Err()
}

// addSeats records delta seats taken (or released) by a direction.
func (tx *Tx) addSeats(ctx context.Context, eventID, dir string, delta int) error {
	_, err := tx.exec(ctx, `INSERT INTO event_seat_counts (event_id, direction_code, seats) VALUES (?, ?, ?)
		ON CONFLICT (event_id, direction_code) DO UPDATE SET seats = event_seat_counts.seats + excluded.seats`, eventID, dir, delta)
	if err != nil {
		return fmt.Errorf("count seat: %w", err)
	}
	if taken, ok := tx.seats[eventID]; ok {
		taken[dir] += delta
	}
	return nil
}

// CheckSeatCounts compares the kept seat counts of an event with a count of
// its registrations (tests and admins' checks); it returns the differences.
func (d *DB) CheckSeatCounts(ctx context.Context, eventID string) ([]string, error) {
	kept, err := d.seatCounts(ctx, eventID)
	if err != nil {
		return nil, err
	}
	rows, err := d.query(ctx, `SELECT direction_code, COUNT(*) FROM registrations
		WHERE event_id = ? AND state = ? AND seat = TRUE GROUP BY direction_code`, eventID, RegConfirmed)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var diffs []string
	counted := map[string]int{}
	for rows.Next() {
		var code string
		var n int
		if err := rows.Scan(&code, &n); err != nil {
			return nil, err
		}
		counted[code] = n
	}
	for code, n := range counted {
		if kept[code] != n {
			diffs = append(diffs, fmt.Sprintf("%s: kept %d, counted %d", code, kept[code], n))
		}
	}
	for code, n := range kept {
		if _, ok := counted[code]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s: kept %d, counted 0", code, n))
		}
	}
	return diffs, rows.Err()
}

// seatFree tells whether one more person of direction dir can be confirmed.
func (tx *Tx) seatFree(ctx context.Context, e *Event, dir string) (bool, error) {
	if e.Capacity <= 0 {
		return true, nil
	}
	quotas, counts, err := tx.seatState(ctx, e)
	if err != nil {
		return false, err
	}
	return SeatAvailable(e.Capacity, quotas, counts, dir), nil
}

// SeatAvailable is the seat rule: with capacity seats, quotas reserved by
// direction and confirmed seats taken by direction, may one more person of
// direction dir be confirmed? A direction's people fill its quota first;
// beyond it, they share the seats nobody reserved.
func SeatAvailable(capacity int, quotas, confirmed map[string]int, dir string) bool {
	if capacity <= 0 {
		return true
	}
	total, reserved, overflow := 0, 0, 0
	for _, q := range quotas {
		reserved += q
	}
	for d, c := range confirmed {
		total += c
		overflow += max(0, c-quotas[d])
	}
	if total >= capacity {
		return false
	}
	if confirmed[dir] < quotas[dir] {
		return true
	}
	return overflow < capacity-reserved
}

// SeatsLeft is what remains for a direction: in its quota, among the
// unreserved seats, and in all (-1 when the event has no capacity limit).
type SeatsLeft struct {
	Quota, QuotaLeft, Unreserved, Total int
}

// SeatsLeftFor tells what is left for the direction dir.
func (d *DB) SeatsLeftFor(ctx context.Context, e *Event, dir string) (SeatsLeft, error) {
	if e.Capacity <= 0 {
		return SeatsLeft{Quota: 0, QuotaLeft: 0, Unreserved: -1, Total: -1}, nil
	}
	quotas, err := d.EventQuotas(ctx, e.ID)
	if err != nil {
		return SeatsLeft{}, err
	}
	counts, err := d.seatCounts(ctx, e.ID)
	if err != nil {
		return SeatsLeft{}, err
	}
	total, reserved, overflow := 0, 0, 0
	for _, q := range quotas {
		reserved += q
	}
	for code, c := range counts {
		total += c
		overflow += max(0, c-quotas[code])
	}
	s := SeatsLeft{Quota: quotas[dir], QuotaLeft: max(0, quotas[dir]-counts[dir]), Unreserved: max(0, e.Capacity-reserved-overflow)}
	s.Total = max(0, min(e.Capacity-total, s.QuotaLeft+s.Unreserved))
	return s, nil
}

// rebalance confirms, in order of arrival, the waitlisted people for whom a
// seat is now free (after a cancellation, a change of mode, capacity or
// quotas). The event must be locked.
func (tx *Tx) rebalance(ctx context.Context, n Notifier, e *Event) error {
	if (e.Status != EventPublished && e.Status != EventClosed) || !tx.Now().Before(e.EndsAt) {
		return nil
	}
	rows, err := tx.query(ctx, "SELECT "+regColumns+" FROM registrations WHERE event_id = ? AND state = ? ORDER BY seq, id", e.ID, RegWaitlisted)
	if err != nil {
		return fmt.Errorf("waiting list: %w", err)
	}
	waiting, err := collectRegistrations(rows)
	if err != nil || len(waiting) == 0 {
		return err
	}
	quotas, err := tx.EventQuotas(ctx, e.ID)
	if err != nil {
		return err
	}
	counts, err := tx.seatCounts(ctx, e.ID)
	if err != nil {
		return err
	}
	for _, w := range waiting {
		w.Seat = e.TakesSeat(w.Mode)
		if w.Seat && !SeatAvailable(e.Capacity, quotas, counts, w.DirectionCode) {
			continue
		}
		if err := tx.promoteRegistration(ctx, n, e, w); err != nil {
			return err
		}
		if w.Seat {
			counts[w.DirectionCode]++
		}
	}
	return nil
}

func (tx *Tx) promoteRegistration(ctx context.Context, n Notifier, e *Event, r Registration) error {
	now := tx.Now()
	res, err := tx.exec(ctx, "UPDATE registrations SET state = ?, seat = ?, promoted_at = ?, updated_at = ? WHERE id = ? AND state = ?",
		RegConfirmed, r.Seat, now, now, r.ID, RegWaitlisted)
	if err := affectedOne(res, err, "promote %s", r.ID); err != nil {
		return err
	}
	r.State, r.PromotedAt, r.UpdatedAt = RegConfirmed, now, now
	if r.Seat {
		if err := tx.addSeats(ctx, e.ID, r.DirectionCode, 1); err != nil {
			return err
		}
	}
	if err := tx.Audit(ctx, Actor{Email: "system"}, "registration.promote", "registration", r.ID, ""); err != nil {
		return err
	}
	workshopNotices, err := tx.servePending(ctx, e, &r)
	if err != nil {
		return err
	}
	choices, err := tx.RegistrationWorkshops(ctx, r.ID, false)
	if err != nil {
		return err
	}
	if err := n.Notify(ctx, tx, Notice{Kind: NoticePromoted, Event: *e, Registration: r, Workshops: choices}); err != nil {
		return err
	}
	return notifyAll(ctx, tx, n, workshopNotices)
}

// lockRegistration locks the event of a registration and returns both, read
// after the lock.
func (tx *Tx) lockRegistration(ctx context.Context, id string) (Registration, Event, int64, error) {
	var eventID string
	if err := tx.queryRow(ctx, "SELECT event_id FROM registrations WHERE id = ?", id).Scan(&eventID); err != nil {
		return Registration{}, Event{}, 0, notFound(err, "get registration %s", id)
	}
	seq, err := tx.lockEvent(ctx, eventID)
	if err != nil {
		return Registration{}, Event{}, 0, err
	}
	r, err := tx.RegistrationByID(ctx, id)
	if err != nil {
		return Registration{}, Event{}, 0, err
	}
	e, err := tx.EventByID(ctx, eventID)
	return r, e, seq, err
}

// CancelRegistration cancels a registration (by the person, through their
// link or account, or by organisers). A freed seat goes to the next in line.
// Declining a place offered from the waiting list is the same operation.
func (tx *Tx) CancelRegistration(ctx context.Context, n Notifier, a Actor, id string, byOrganiser bool) (Registration, error) {
	r, e, _, err := tx.lockRegistration(ctx, id)
	if err != nil {
		return Registration{}, err
	}
	if r.State == RegCancelled {
		return r, ErrAlreadyCancelled
	}
	wasConfirmed := r.State == RegConfirmed
	now := tx.Now()
	if wasConfirmed {
		r.ICSBump++ // the CANCEL is a new revision of the person's calendar entry
	}
	r.State, r.CancelledAt, r.UpdatedAt = RegCancelled, now, now
	_, err = tx.exec(ctx, "UPDATE registrations SET state = ?, ics_bump = ?, cancelled_at = ?, updated_at = ? WHERE id = ?",
		r.State, r.ICSBump, now, now, id)
	if err != nil {
		return Registration{}, fmt.Errorf("cancel registration %s: %w", id, err)
	}
	if wasConfirmed && r.Seat {
		if err := tx.addSeats(ctx, e.ID, r.DirectionCode, -1); err != nil {
			return Registration{}, err
		}
	}
	detail := ""
	if byOrganiser {
		detail = "par les organisateurs"
	}
	if err := tx.Audit(ctx, a, "registration.cancel", "registration", id, detail); err != nil {
		return Registration{}, err
	}
	if err := n.Notify(ctx, tx, Notice{Kind: NoticeCancelled, Event: e, Registration: r, WasConfirmed: wasConfirmed, ByOrganiser: byOrganiser}); err != nil {
		return Registration{}, err
	}
	if err := tx.dropWorkshops(ctx, n, &e, &r); err != nil {
		return Registration{}, err
	}
	if wasConfirmed && r.Seat {
		if err := tx.rebalance(ctx, n, &e); err != nil {
			return Registration{}, err
		}
	}
	return r, nil
}

// RegistrationChange is what a person (or organisers) may change.
type RegistrationChange struct {
	Name    string            // empty: unchanged
	Mode    Mode              // empty: unchanged
	Answers map[string]string // nil: unchanged
	// Workshops, when not nil, replaces the workshop choices: places kept
	// stay, dropped ones are freed (and their calendars cancelled), new ones
	// are placed or waitlisted.
	Workshops *[]string
}

// UpdateRegistration changes name, mode or answers. Switching to on-site
// needs a free seat (ErrNoSeat otherwise); leaving a seat promotes the next
// in line; a waitlisted person who switches to remote attendance (which
// takes no seat) is confirmed at once.
func (tx *Tx) UpdateRegistration(ctx context.Context, n Notifier, a Actor, id string, ch RegistrationChange) (Registration, error) {
	r, e, seq, err := tx.lockRegistration(ctx, id)
	if err != nil {
		return Registration{}, err
	}
	if r.State == RegCancelled {
		return r, ErrAlreadyCancelled
	}
	if name := strings.TrimSpace(ch.Name); name != "" {
		r.Name = name
	}
	promoted, freed, wasSeat := false, false, r.Seat
	if ch.Mode != "" && ch.Mode != r.Mode {
		if !e.Modes.Offers(ch.Mode) {
			return r, ErrModeNotOffered
		}
		seat := e.TakesSeat(ch.Mode)
		switch {
		case seat && !r.Seat && r.State == RegConfirmed:
			ok, err := tx.seatFree(ctx, &e, r.DirectionCode)
			if err != nil {
				return r, err
			}
			if !ok {
				return r, ErrNoSeat
			}
		case !seat && r.Seat && r.State == RegConfirmed:
			freed = true
		case !seat && r.State == RegWaitlisted:
			promoted = true
		}
		r.Mode, r.Seat = ch.Mode, seat
	}
	now := tx.Now()
	r.UpdatedAt = now
	_, err = tx.exec(ctx, "UPDATE registrations SET name = ?, mode = ?, seat = ?, updated_at = ? WHERE id = ?", r.Name, r.Mode, r.Seat, now, id)
	if err != nil {
		return r, fmt.Errorf("update registration %s: %w", id, err)
	}
	if r.State == RegConfirmed && r.Seat != wasSeat {
		if err := tx.addSeats(ctx, e.ID, r.DirectionCode, map[bool]int{true: 1, false: -1}[r.Seat]); err != nil {
			return r, err
		}
	}
	if ch.Answers != nil {
		if _, err := tx.exec(ctx, "DELETE FROM registration_answers WHERE registration_id = ?", id); err != nil {
			return r, fmt.Errorf("clear answers: %w", err)
		}
		if err := tx.saveAnswers(ctx, id, ch.Answers); err != nil {
			return r, err
		}
	}
	if err := tx.Audit(ctx, a, "registration.update", "registration", id, string(r.Mode)); err != nil {
		return r, err
	}
	if ch.Workshops != nil {
		notices, _, err := tx.chooseWorkshops(ctx, n, &e, &r, *ch.Workshops, seq, false)
		if err != nil {
			return r, err
		}
		if err := notifyAll(ctx, tx, n, notices); err != nil {
			return r, err
		}
	}
	if promoted {
		if err := tx.promoteRegistration(ctx, n, &e, r); err != nil {
			return r, err
		}
		r.State, r.PromotedAt = RegConfirmed, now
	}
	if freed {
		if err := tx.rebalance(ctx, n, &e); err != nil {
			return r, err
		}
	}
	return r, nil
}

// CheckIn records the arrival of the person with this code. It refuses a
// registration that is not confirmed (ErrNotConfirmed) and a second
// check-in (ErrAlreadyCheckedIn); in both cases the registration is returned
// so that the page can say who it is.
func (tx *Tx) CheckIn(ctx context.Context, a Actor, eventID, code string) (Registration, error) {
	r, err := tx.RegistrationByCode(ctx, eventID, code)
	if err != nil {
		return r, err
	}
	return tx.checkIn(ctx, a, r)
}

// CheckInByID is CheckIn for a registration found by name.
func (tx *Tx) CheckInByID(ctx context.Context, a Actor, eventID, id string) (Registration, error) {
	r, err := tx.RegistrationByID(ctx, id)
	if err != nil {
		return r, err
	}
	if r.EventID != eventID {
		return Registration{}, fmt.Errorf("check in %s: %w", id, ErrNotFound)
	}
	return tx.checkIn(ctx, a, r)
}

func (tx *Tx) checkIn(ctx context.Context, a Actor, r Registration) (Registration, error) {
	if r.State != RegConfirmed {
		return r, ErrNotConfirmed
	}
	if r.CheckedIn() {
		return r, ErrAlreadyCheckedIn
	}
	now := tx.Now()
	res, err := tx.exec(ctx, "UPDATE registrations SET checked_in_at = ?, checked_in_by = ? WHERE id = ? AND checked_in_at IS NULL",
		now, nullString(a.UserID), r.ID)
	if err != nil {
		return r, fmt.Errorf("check in %s: %w", r.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		again, err := tx.RegistrationByID(ctx, r.ID)
		if err != nil {
			return r, err
		}
		return again, ErrAlreadyCheckedIn
	}
	r.CheckedInAt, r.CheckedInBy = now, a.UserID
	return r, tx.Audit(ctx, a, "registration.checkin", "registration", r.ID, "")
}

// UndoCheckIn forgets an arrival recorded by mistake.
func (tx *Tx) UndoCheckIn(ctx context.Context, a Actor, eventID, id string) error {
	res, err := tx.exec(ctx, "UPDATE registrations SET checked_in_at = NULL, checked_in_by = NULL WHERE id = ? AND event_id = ?", id, eventID)
	if err := affectedOne(res, err, "undo check-in %s", id); err != nil {
		return err
	}
	return tx.Audit(ctx, a, "registration.checkin_undo", "registration", id, "")
}

// --- check-in codes ---

// codeAlphabet is Crockford's base 32: no I, L, O or U.
const codeAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// newCode returns a random 8-character check-in code (40 bits).
func newCode() string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	for i := range b {
		b[i] = codeAlphabet[b[i]&31]
	}
	return string(b)
}

// NormaliseCode reads a code as typed: case, spaces and dashes do not
// matter, and O, I, L read as 0, 1, 1. A scanned URL ending in ?code=… or
// /CODE is reduced to its code.
func NormaliseCode(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndex(s, "code="); i >= 0 {
		s = s[i+5:]
		if j := strings.IndexAny(s, "&#"); j >= 0 {
			s = s[:j]
		}
	} else if i := strings.LastIndexByte(s, '/'); i >= 0 {
		s = s[i+1:]
	}
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch {
		case r == 'O':
			b.WriteByte('0')
		case r == 'I' || r == 'L':
			b.WriteByte('1')
		case r < 128 && strings.IndexByte(codeAlphabet, byte(r)) >= 0:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// --- management links ---

var linkInsert = newAppendOnly("registration_links", "id, token_hash, registration_id, created_at", "")

// NewRegistrationLink creates a secret management link for a registration
// and returns its token "<id>.<secret>". Only a hash of the secret is
// stored. Each email that carries the link gets its own token; all stay
// valid until the event is archived.
func (tx *Tx) NewRegistrationLink(ctx context.Context, regID string) (string, error) {
	idb := make([]byte, 9)
	if _, err := rand.Read(idb); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	id := hex.EncodeToString(idb)
	plain, hash := NewSecret()
	if err := tx.insert(ctx, linkInsert, id, hash, regID, tx.Now()); err != nil {
		return "", fmt.Errorf("create registration link: %w", err)
	}
	return id + "." + plain, nil
}

// RegistrationByLink returns the registration and event behind a
// management link token. A malformed or unknown token is ErrNotFound (the
// secret is compared in constant time); the link of an archived event is
// ErrLinkExpired.
func (d *DB) RegistrationByLink(ctx context.Context, token string) (Registration, Event, error) {
	id, secret, ok := strings.Cut(token, ".")
	if !ok || len(id) != 18 || len(secret) != 43 {
		return Registration{}, Event{}, fmt.Errorf("registration link: %w", ErrNotFound)
	}
	var hash, regID string
	err := d.queryRow(ctx, "SELECT token_hash, registration_id FROM registration_links WHERE id = ?", id).Scan(&hash, &regID)
	if err != nil {
		return Registration{}, Event{}, notFound(err, "registration link")
	}
	if subtle.ConstantTimeCompare([]byte(hash), []byte(HashSecret(secret))) != 1 {
		return Registration{}, Event{}, fmt.Errorf("registration link: %w", ErrNotFound)
	}
	r, err := d.RegistrationByID(ctx, regID)
	if err != nil {
		return Registration{}, Event{}, err
	}
	e, err := d.EventByID(ctx, r.EventID)
	if err != nil {
		return Registration{}, Event{}, err
	}
	if e.Status == EventArchived {
		return r, e, ErrLinkExpired
	}
	return r, e, nil
}

// eachRegistration calls fn for every registration of the event in state,
// in arrival order (loaded first: fn may write).
func (tx *Tx) eachRegistration(ctx context.Context, eventID string, state RegState, fn func(Registration) error) error {
	rows, err := tx.query(ctx, "SELECT "+regColumns+" FROM registrations WHERE event_id = ? AND state = ? ORDER BY seq, id", eventID, state)
	if err != nil {
		return fmt.Errorf("list registrations: %w", err)
	}
	regs, err := collectRegistrations(rows)
	if err != nil {
		return err
	}
	for _, r := range regs {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// SlotKind is what a programme slot holds.
type SlotKind string

const (
	SlotTalk     SlotKind = "talk"     // a talk or plenary: no registration
	SlotWorkshop SlotKind = "workshop" // a workshop: chosen at registration, with its own capacity and waiting list
	SlotBreak    SlotKind = "break"    // a break, a lunch
)

// SlotKinds lists every kind.
var SlotKinds = []SlotKind{SlotTalk, SlotWorkshop, SlotBreak}

// Valid tells whether k is known.
func (k SlotKind) Valid() bool { return slices.Contains(SlotKinds, k) }

// Label is the French name.
func (k SlotKind) Label() string {
	switch k {
	case SlotTalk:
		return "Intervention"
	case SlotWorkshop:
		return "Atelier"
	case SlotBreak:
		return "Pause"
	}
	return string(k)
}

// Errors of the programme.
var (
	ErrUnknownWorkshop    = errors.New("not a workshop of this event")
	ErrWorkshopOverlap    = errors.New("two chosen workshops overlap")
	ErrSlotOutsideEvent   = errors.New("slot outside the event's dates")
	ErrWorkshopHasChoices = errors.New("the workshop has registrations")
)

// Slot is one session of an event's programme, with the fill of a workshop.
type Slot struct {
	Session
	EventID    string
	Kind       SlotKind
	Confirmed  int // workshop places taken
	Waitlisted int // workshop waiting list
}

// Track is the slot's track: its room.
func (s Slot) Track() string { return s.Room }

// Full tells whether a workshop has no place left.
func (s Slot) Full() bool {
	return s.Kind == SlotWorkshop && s.Capacity > 0 && s.Confirmed >= s.Capacity
}

// Left is the number of places left in a workshop (-1: unlimited).
func (s Slot) Left() int {
	if s.Capacity <= 0 {
		return -1
	}
	return max(0, s.Capacity-s.Confirmed)
}

// Overlaps tells whether two slots share some time.
func (s *Slot) Overlaps(o *Slot) bool {
	return s.StartsAt.Before(o.EndsAt) && o.StartsAt.Before(s.EndsAt)
}

// Programme returns the slots of an event in time order, with workshop
// fills, in one query.
func (d *DB) Programme(ctx context.Context, eventID string) ([]Slot, error) {
	rows, err := d.query(ctx, "SELECT "+sessionColumns+`, s.programme_kind,
		COALESCE(c.confirmed, 0), COALESCE(c.waitlisted, 0)
		FROM sessions s LEFT JOIN workshop_counts c ON c.session_id = s.id
		WHERE s.event_id = ? ORDER BY s.starts_at, s.room, s.title, s.id`, eventID)
	if err != nil {
		return nil, fmt.Errorf("programme of %s: %w", eventID, err)
	}
	defer rows.Close()
	var out []Slot
	for rows.Next() {
		sl := Slot{EventID: eventID}
		sess, err := scanSession(rows, &sl.Kind, &sl.Confirmed, &sl.Waitlisted)
		if err != nil {
			return nil, fmt.Errorf("scan slot: %w", err)
		}
		sl.Session = sess
		out = append(out, sl)
	}
	return out, rows.Err()
}

// SlotByID returns one slot of an event.
func (d *DB) SlotByID(ctx context.Context, eventID, id string) (Slot, error) {
	slots, err := d.Programme(ctx, eventID)
	if err != nil {
		return Slot{}, err
	}
	for _, s := range slots {
		if s.ID == id {
			return s, nil
		}
	}
	return Slot{}, fmt.Errorf("slot %s of %s: %w", id, eventID, ErrNotFound)
}

// SlotInput is what organisers set on a slot.
type SlotInput struct {
	SessionInput
	Kind SlotKind
}

func (tx *Tx) checkSlot(e *Event, in SlotInput) error {
	if !in.Kind.Valid() {
		return fmt.Errorf("slot: unknown kind %q", in.Kind)
	}
	if in.StartsAt.Before(e.StartsAt) || in.EndsAt.After(e.EndsAt) {
		return ErrSlotOutsideEvent
	}
	return in.check()
}

// AddSlot adds a talk, workshop or break to the programme (a session of
// the event). host is the public host name, for the calendar UID.
func (tx *Tx) AddSlot(ctx context.Context, a Actor, by User, eventID, host string, in SlotInput) (Slot, error) {
	if _, err := tx.lockEvent(ctx, eventID); err != nil {
		return Slot{}, err
	}
	e, err := tx.EventByID(ctx, eventID)
	if err != nil {
		return Slot{}, err
	}
	if err := tx.checkSlot(&e, in); err != nil {
		return Slot{}, err
	}
	if in.Kind != SlotWorkshop {
		in.Capacity = 0
	}
	s, err := tx.insertSession(ctx, by, NewSession{SessionInput: in.SessionInput, UIDHost: host})
	if err != nil {
		return Slot{}, err
	}
	if _, err := tx.exec(ctx, "UPDATE sessions SET event_id = ?, programme_kind = ? WHERE id = ?", eventID, in.Kind, s.ID); err != nil {
		return Slot{}, fmt.Errorf("attach slot: %w", err)
	}
	if err := tx.Audit(ctx, a, "event.slot_add", "event", eventID, string(in.Kind)+" "+s.Title); err != nil {
		return Slot{}, err
	}
	return Slot{Session: s, EventID: eventID, Kind: in.Kind}, nil
}

// UpdateSlot changes a slot. A workshop whose time, place or title changes
// sends a calendar update to its participants; a larger capacity promotes
// from its waiting list; a capacity below the places taken is refused
// (ErrCapacityBelowConfirmed).
func (tx *Tx) UpdateSlot(ctx context.Context, n Notifier, a Actor, eventID, id string, in SlotInput) (Slot, error) {
	if _, err := tx.lockEvent(ctx, eventID); err != nil {
		return Slot{}, err
	}
	e, err := tx.EventByID(ctx, eventID)
	if err != nil {
		return Slot{}, err
	}
	old, err := tx.SlotByID(ctx, eventID, id)
	if err != nil {
		return Slot{}, err
	}
	if err := tx.checkSlot(&e, in); err != nil {
		return Slot{}, err
	}
	if old.Kind == SlotWorkshop && in.Kind != SlotWorkshop && old.Confirmed+old.Waitlisted > 0 {
		return Slot{}, ErrWorkshopHasChoices
	}
	if in.Kind != SlotWorkshop {
		in.Capacity = 0
	}
	if in.Capacity > 0 && old.Confirmed > in.Capacity {
		return Slot{}, fmt.Errorf("workshop %s: %d places taken: %w", id, old.Confirmed, ErrCapacityBelowConfirmed)
	}
	ch, err := tx.updateSession(ctx, old.Session, in.SessionInput)
	if err != nil {
		return Slot{}, err
	}
	if _, err := tx.exec(ctx, "UPDATE sessions SET programme_kind = ? WHERE id = ?", in.Kind, id); err != nil {
		return Slot{}, fmt.Errorf("update slot kind: %w", err)
	}
	if err := tx.Audit(ctx, a, "event.slot_update", "event", eventID, ch.After.Title); err != nil {
		return Slot{}, err
	}
	sl := Slot{Session: ch.After, EventID: eventID, Kind: in.Kind}
	if in.Kind == SlotWorkshop {
		if ch.Moved && e.Status.Visible() {
			err := tx.eachWorkshopChoice(ctx, id, RegConfirmed, func(r Registration, c WorkshopChoice) error {
				return n.Notify(ctx, tx, Notice{Kind: NoticeWorkshopChanged, Event: e, Registration: r, Workshop: &c})
			})
			if err != nil {
				return Slot{}, err
			}
		}
		if err := tx.rebalanceWorkshop(ctx, n, &e, sl.Session); err != nil {
			return Slot{}, err
		}
	}
	return tx.SlotByID(ctx, eventID, id)
}

// CancelSlot cancels a slot; a workshop's participants get a calendar
// cancellation, and its choices are cancelled.
func (tx *Tx) CancelSlot(ctx context.Context, n Notifier, a Actor, eventID, id string) error {
	if _, err := tx.lockEvent(ctx, eventID); err != nil {
		return err
	}
	e, err := tx.EventByID(ctx, eventID)
	if err != nil {
		return err
	}
	old, err := tx.SlotByID(ctx, eventID, id)
	if err != nil {
		return err
	}
	s, err := tx.cancelSession(ctx, old.Session)
	if err != nil {
		return err
	}
	if err := tx.Audit(ctx, a, "event.slot_cancel", "event", eventID, s.Title); err != nil {
		return err
	}
	if old.Kind != SlotWorkshop {
		return nil
	}
	for _, st := range []RegState{RegConfirmed, RegWaitlisted, WorkshopPending} {
		err := tx.eachWorkshopChoice(ctx, id, st, func(r Registration, c WorkshopChoice) error {
			c.Session = s
			if err := tx.setChoice(ctx, r.ID, id, st, RegCancelled, c.Seq, c.ICSBump+b2i(st == RegConfirmed)); err != nil {
				return err
			}
			if st != RegConfirmed {
				return nil
			}
			c.ICSBump++
			return n.Notify(ctx, tx, Notice{Kind: NoticeWorkshopCancelled, Event: e, Registration: r, Workshop: &c, ByOrganiser: true})
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// WorkshopPending is the state of a workshop choice while the registration
// itself waits: the choice is served when the person gets a place.
const WorkshopPending RegState = "pending"

// WorkshopChoice is a registration's place (or wait) in one workshop.
type WorkshopChoice struct {
	Session Session
	State   RegState // confirmed, waitlisted, pending or cancelled
	Seq     int64
	ICSBump int
}

// ICSSequence is the SEQUENCE of the workshop in this person's calendar.
func (c WorkshopChoice) ICSSequence() int { return c.Session.Sequence + c.ICSBump }

// StateLabel is the French name of the choice's state.
func (c WorkshopChoice) StateLabel() string {
	if c.State == WorkshopPending {
		return "En attente de votre place à l'événement"
	}
	return c.State.Label()
}

// RegistrationWorkshops returns a registration's workshop choices (not
// cancelled ones unless all), in time order.
func (d *DB) RegistrationWorkshops(ctx context.Context, regID string, all bool) ([]WorkshopChoice, error) {
	q := "SELECT " + sessionColumns + `, w.state, w.seq, w.ics_bump FROM registration_workshops w
		JOIN sessions s ON s.id = w.session_id WHERE w.registration_id = ?`
	args := []any{regID}
	if !all {
		q += " AND w.state <> ?"
		args = append(args, RegCancelled)
	}
	rows, err := d.query(ctx, q+" ORDER BY s.starts_at, s.id", args...)
	if err != nil {
		return nil, fmt.Errorf("workshops of %s: %w", regID, err)
	}
	defer rows.Close()
	var out []WorkshopChoice
	for rows.Next() {
		var c WorkshopChoice
		s, err := scanSession(rows, &c.State, &c.Seq, &c.ICSBump)
		if err != nil {
			return nil, err
		}
		c.Session = s
		out = append(out, c)
	}
	return out, rows.Err()
}

// eachWorkshopChoice calls fn for the choices of a workshop in state, in
// order of arrival (loaded first: fn may write).
func (tx *Tx) eachWorkshopChoice(ctx context.Context, sessionID string, state RegState, fn func(Registration, WorkshopChoice) error) error {
	s, err := tx.SessionByID(ctx, sessionID)
	if err != nil {
		return err
	}
	rows, err := tx.query(ctx, "SELECT "+prefixed("r", regColumns)+`, w.state, w.seq, w.ics_bump FROM registration_workshops w
		JOIN registrations r ON r.id = w.registration_id WHERE w.session_id = ? AND w.state = ? ORDER BY w.seq, r.id`, sessionID, state)
	if err != nil {
		return fmt.Errorf("choices of %s: %w", sessionID, err)
	}
	type pair struct {
		r Registration
		c WorkshopChoice
	}
	var all []pair
	for rows.Next() {
		var p pair
		p.c.Session = s
		var rr Registration
		var user, by, inBy nullStr
		var promoted, cancelled, checked nullTime
		err := rows.Scan(&rr.ID, &rr.EventID, &rr.Email, &rr.Name, &rr.DirectionCode, &user, &rr.Mode, &rr.Seat, &rr.State, &rr.Seq, &rr.ICSBump,
			&rr.Code, &by, &promoted, &cancelled, &checked, &inBy, &rr.CreatedAt, &rr.UpdatedAt, &p.c.State, &p.c.Seq, &p.c.ICSBump)
		if err != nil {
			rows.Close()
			return err
		}
		rr.UserID, rr.RegisteredBy, rr.CheckedInBy = user.String, by.String, inBy.String
		rr.PromotedAt, rr.CancelledAt, rr.CheckedInAt = promoted.Time, cancelled.Time, checked.Time
		p.r = rr
		all = append(all, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, p := range all {
		if err := fn(p.r, p.c); err != nil {
			return err
		}
	}
	return nil
}

// setChoice writes a choice moving from state old ("" for a new one) to
// state, and keeps the workshop's counts.
func (tx *Tx) setChoice(ctx context.Context, regID, sessionID string, old, state RegState, seq int64, bump int) error {
	if old != state {
		dc, dw := b2i(state == RegConfirmed)-b2i(old == RegConfirmed), b2i(state == RegWaitlisted)-b2i(old == RegWaitlisted)
		if dc != 0 || dw != 0 {
			_, err := tx.exec(ctx, `INSERT INTO workshop_counts (session_id, confirmed, waitlisted) VALUES (?, ?, ?)
				ON CONFLICT (session_id) DO UPDATE SET confirmed = workshop_counts.confirmed + excluded.confirmed,
				waitlisted = workshop_counts.waitlisted + excluded.waitlisted`, sessionID, dc, dw)
			if err != nil {
				return fmt.Errorf("workshop counts: %w", err)
			}
		}
	}
	now := tx.Now()
	_, err := tx.exec(ctx, `INSERT INTO registration_workshops (registration_id, session_id, state, seq, ics_bump, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (registration_id, session_id) DO UPDATE
		SET state = excluded.state, seq = excluded.seq, ics_bump = excluded.ics_bump, updated_at = excluded.updated_at`,
		regID, sessionID, state, seq, bump, now, now)
	if err != nil {
		return fmt.Errorf("workshop choice: %w", err)
	}
	return nil
}

func (d *DB) workshopConfirmed(ctx context.Context, sessionID string) (int, error) {
	var n int
	err := d.queryRow(ctx, "SELECT confirmed FROM workshop_counts WHERE session_id = ?", sessionID).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("count workshop places: %w", err)
	}
	return n, nil
}

// eventWorkshops returns, by id, those of ids that are scheduled workshops
// of the event e, read under its lock in this transaction. The sessions
// are shared with the cache: read them, never change them.
//
// The sessions are read by primary key and the rest is checked here: with
// the event's conditions in the WHERE clause, SQLite walked the event's
// index through all its sessions (100 at the product event) on every
// registration. Sessions of the event are kept in the store's rulesCache
// for as long as the event's rules version (read with e) does not move.
func (tx *Tx) eventWorkshops(ctx context.Context, e *Event, ids []string) (map[string]*Session, error) {
	known, missing := tx.rules.workshops(e.ID, e.RulesVersion, ids)
	if len(missing) > 0 {
		read, err := tx.programmeSessions(ctx, "s.id IN ("+marks(len(missing))+")", anys(missing)...)
		if err != nil {
			return nil, fmt.Errorf("workshops of %s: %w", e.ID, err)
		}
		maps.Copy(known, read)
		tx.rules.addWorkshops(e.ID, e.RulesVersion, read)
	}
	out := make(map[string]*Session, len(ids))
	for _, id := range ids {
		if s, ok := known[id]; ok && s.event == e.ID && s.kind == SlotWorkshop && s.Status == SessionScheduled {
			out[id] = &s.Session
		}
	}
	return out, nil
}

// programmeSessions reads the sessions matching where, with their event
// and kind, by id.
func (d *DB) programmeSessions(ctx context.Context, where string, args ...any) (map[string]*batchSession, error) {
	rows, err := d.query(ctx, "SELECT "+sessionColumns+", s.event_id, s.programme_kind FROM sessions s WHERE "+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	read := map[string]*batchSession{}
	for rows.Next() {
		var event, kind nullStr
		s, err := scanSession(rows, &event, &kind)
		if err != nil {
			return nil, err
		}
		read[s.ID] = &batchSession{Session: s, event: event.String, kind: SlotKind(kind.String)}
	}
	return read, rows.Err()
}

// batchSession is a session kept in the rulesCache, with what
// eventWorkshops checks.
type batchSession struct {
	Session
	event string
	kind  SlotKind
}

// CheckWorkshopChoice tells whether a set of workshop ids can be chosen
// together: all workshops of the event, none overlapping another.
func CheckWorkshopChoice(slots []Slot, ids []string) error {
	var chosen []*Slot
	for _, id := range ids {
		i := slices.IndexFunc(slots, func(s Slot) bool { return s.ID == id })
		if i < 0 || slots[i].Kind != SlotWorkshop || slots[i].Cancelled() {
			return ErrUnknownWorkshop
		}
		for _, c := range chosen {
			if c.ID != id && c.Overlaps(&slots[i]) {
				return ErrWorkshopOverlap
			}
		}
		chosen = append(chosen, &slots[i])
	}
	return nil
}

// chooseWorkshops makes the registration's workshop choices exactly ids,
// inside the event's lock (seq is the lock's arrival number). A confirmed
// registration gets a place in each new workshop while there is room,
// otherwise waits in the workshop's own line; a waitlisted registration's
// choices are pending. Places lost are notified at once; it returns the
// notices for the places won, to send after the registration's own notice.
//
// A fresh registration has no choices yet: fresh skips reading them. It
// also returns the choices made now, in time order (for a registration being
// made, all its choices), so that the caller need not read them again.
func (tx *Tx) chooseWorkshops(ctx context.Context, n Notifier, e *Event, r *Registration, ids []string, seq int64, fresh bool) ([]Notice, []WorkshopChoice, error) {
	ids = uniq(ids)
	var current []WorkshopChoice
	var err error
	if !fresh {
		if current, err = tx.RegistrationWorkshops(ctx, r.ID, true); err != nil {
			return nil, nil, err
		}
	}
	var shops map[string]*Session
	if len(ids) > 0 {
		if shops, err = tx.eventWorkshops(ctx, e, ids); err != nil {
			return nil, nil, err
		}
		chosen := make([]*Session, 0, len(ids))
		for _, id := range ids {
			s, ok := shops[id]
			if !ok {
				return nil, nil, ErrUnknownWorkshop
			}
			for _, c := range chosen {
				if s.StartsAt.Before(c.EndsAt) && c.StartsAt.Before(s.EndsAt) {
					return nil, nil, ErrWorkshopOverlap
				}
			}
			chosen = append(chosen, s)
		}
	}
	// Sized once: these values are hundreds of bytes each, and growing the
	// slices one by one was a fifth of what a registration allocates.
	var notices []Notice
	if r.State == RegConfirmed {
		notices = make([]Notice, 0, len(ids))
	}
	placed := make([]WorkshopChoice, 0, len(ids))
	var freed []Session
	had := map[string]WorkshopChoice{}
	for _, c := range current {
		had[c.Session.ID] = c
		if c.State == RegCancelled || slices.Contains(ids, c.Session.ID) {
			continue
		}
		bump := c.ICSBump
		if c.State == RegConfirmed {
			bump++
			freed = append(freed, c.Session)
		}
		if err := tx.setChoice(ctx, r.ID, c.Session.ID, c.State, RegCancelled, c.Seq, bump); err != nil {
			return nil, nil, err
		}
		if c.State == RegConfirmed {
			c.ICSBump, c.State = bump, RegCancelled
			if err := n.Notify(ctx, tx, Notice{Kind: NoticeWorkshopCancelled, Event: *e, Registration: *r, Workshop: &c}); err != nil {
				return nil, nil, err
			}
		}
	}
	for _, id := range ids {
		old, ok := had[id]
		if ok && old.State != RegCancelled {
			continue // kept as it is
		}
		c := WorkshopChoice{Session: *shops[id], State: WorkshopPending, Seq: seq}
		var before RegState
		if ok {
			c.ICSBump, before = old.ICSBump+1, old.State
		}
		if r.State == RegConfirmed {
			if err := tx.placeInWorkshop(ctx, &c); err != nil {
				return nil, nil, err
			}
		}
		if err := tx.setChoice(ctx, r.ID, id, before, c.State, c.Seq, c.ICSBump); err != nil {
			return nil, nil, err
		}
		if c.State == RegConfirmed {
			w := c
			notices = append(notices, Notice{Kind: NoticeWorkshopConfirmed, Event: *e, Registration: *r, Workshop: &w})
		}
		placed = append(placed, c)
	}
	for _, s := range freed {
		if err := tx.rebalanceWorkshop(ctx, n, e, s); err != nil {
			return nil, nil, err
		}
	}
	slices.SortFunc(placed, func(a, b WorkshopChoice) int { return a.Session.StartsAt.Compare(b.Session.StartsAt) })
	return notices, placed, nil
}

// placeInWorkshop confirms a choice when the workshop has room, else puts
// it on the workshop's waiting list.
func (tx *Tx) placeInWorkshop(ctx context.Context, c *WorkshopChoice) error {
	c.State = RegConfirmed
	if c.Session.Capacity <= 0 {
		return nil
	}
	taken, err := tx.workshopConfirmed(ctx, c.Session.ID)
	if err != nil {
		return err
	}
	if taken >= c.Session.Capacity {
		c.State = RegWaitlisted
	}
	return nil
}

// servePending gives a newly confirmed registration its pending workshop
// choices (a place or the workshop's waiting list), returning the notices
// of the places won.
func (tx *Tx) servePending(ctx context.Context, e *Event, r *Registration) ([]Notice, error) {
	choices, err := tx.RegistrationWorkshops(ctx, r.ID, false)
	if err != nil {
		return nil, err
	}
	var notices []Notice
	for _, c := range choices {
		if c.State != WorkshopPending {
			continue
		}
		if c.Session.Cancelled() {
			continue
		}
		if err := tx.placeInWorkshop(ctx, &c); err != nil {
			return nil, err
		}
		if err := tx.setChoice(ctx, r.ID, c.Session.ID, WorkshopPending, c.State, c.Seq, c.ICSBump); err != nil {
			return nil, err
		}
		if c.State == RegConfirmed {
			notices = append(notices, Notice{Kind: NoticeWorkshopConfirmed, Event: *e, Registration: *r, Workshop: &c})
		}
	}
	return notices, nil
}

// dropWorkshops cancels every workshop choice of a cancelled registration,
// sending a calendar cancellation for each place held, then serves the
// workshops' waiting lists.
func (tx *Tx) dropWorkshops(ctx context.Context, n Notifier, e *Event, r *Registration) error {
	choices, err := tx.RegistrationWorkshops(ctx, r.ID, false)
	if err != nil {
		return err
	}
	var freed []Session
	for _, c := range choices {
		bump := c.ICSBump
		if c.State == RegConfirmed {
			bump++
		}
		if err := tx.setChoice(ctx, r.ID, c.Session.ID, c.State, RegCancelled, c.Seq, bump); err != nil {
			return err
		}
		if c.State == RegConfirmed {
			c.ICSBump, c.State = bump, RegCancelled
			if err := n.Notify(ctx, tx, Notice{Kind: NoticeWorkshopCancelled, Event: *e, Registration: *r, Workshop: &c}); err != nil {
				return err
			}
			freed = append(freed, c.Session)
		}
	}
	for _, s := range freed {
		if err := tx.rebalanceWorkshop(ctx, n, e, s); err != nil {
			return err
		}
	}
	return nil
}

// rebalanceWorkshop gives free places of a workshop to its waiting list,
// in order of arrival.
func (tx *Tx) rebalanceWorkshop(ctx context.Context, n Notifier, e *Event, s Session) error {
	if s.Cancelled() {
		return nil
	}
	free := -1
	if s.Capacity > 0 {
		taken, err := tx.workshopConfirmed(ctx, s.ID)
		if err != nil {
			return err
		}
		if free = s.Capacity - taken; free <= 0 {
			return nil
		}
	}
	return tx.eachWorkshopChoice(ctx, s.ID, RegWaitlisted, func(r Registration, c WorkshopChoice) error {
		if free == 0 || r.State != RegConfirmed {
			return nil
		}
		if err := tx.setChoice(ctx, r.ID, s.ID, RegWaitlisted, RegConfirmed, c.Seq, c.ICSBump); err != nil {
			return err
		}
		free--
		c.State = RegConfirmed
		return n.Notify(ctx, tx, Notice{Kind: NoticeWorkshopPromoted, Event: *e, Registration: r, Workshop: &c})
	})
}

// EachWorkshopParticipant streams the people holding (state confirmed) or
// waiting for a workshop place, confirmed first then by name, for the
// per-workshop export: fn is called as each row is read, nothing is
// collected.
func (d *DB) EachWorkshopParticipant(ctx context.Context, sessionID string, fn func(r Registration, state RegState) error) error {
	rows, err := d.query(ctx, "SELECT "+prefixed("r", regColumns)+`, w.state FROM registration_workshops w
		JOIN registrations r ON r.id = w.registration_id WHERE w.session_id = ? AND w.state IN (?, ?)
		ORDER BY CASE WHEN w.state = 'confirmed' THEN 0 ELSE 1 END, r.name, w.seq`, sessionID, RegConfirmed, RegWaitlisted)
	if err != nil {
		return fmt.Errorf("workshop participants: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var st RegState
		var rr Registration
		var user, by, inBy nullStr
		var promoted, cancelled, checked nullTime
		err := rows.Scan(&rr.ID, &rr.EventID, &rr.Email, &rr.Name, &rr.DirectionCode, &user, &rr.Mode, &rr.Seat, &rr.State, &rr.Seq, &rr.ICSBump,
			&rr.Code, &by, &promoted, &cancelled, &checked, &inBy, &rr.CreatedAt, &rr.UpdatedAt, &st)
		if err != nil {
			return fmt.Errorf("scan workshop participant: %w", err)
		}
		rr.UserID, rr.RegisteredBy, rr.CheckedInBy = user.String, by.String, inBy.String
		rr.PromotedAt, rr.CancelledAt, rr.CheckedInAt = promoted.Time, cancelled.Time, checked.Time
		if err := fn(rr, st); err != nil {
			return err
		}
	}
	return rows.Err()
}

// CheckWorkshopCounts compares the kept workshop counts of an event with a
// count of its choices (tests and admins' checks); it returns the differences.
func (d *DB) CheckWorkshopCounts(ctx context.Context, eventID string) ([]string, error) {
	rows, err := d.query(ctx, `SELECT s.id, COALESCE(k.confirmed, 0), COALESCE(k.waitlisted, 0),
		(SELECT COUNT(*) FROM registration_workshops w WHERE w.session_id = s.id AND w.state = 'confirmed'),
		(SELECT COUNT(*) FROM registration_workshops w WHERE w.session_id = s.id AND w.state = 'waitlisted')
		FROM sessions s LEFT JOIN workshop_counts k ON k.session_id = s.id WHERE s.event_id = ?`, eventID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var diffs []string
	for rows.Next() {
		var id string
		var kc, kw, cc, cw int
		if err := rows.Scan(&id, &kc, &kw, &cc, &cw); err != nil {
			return nil, err
		}
		if kc != cc || kw != cw {
			diffs = append(diffs, fmt.Sprintf("%s: kept %d/%d, counted %d/%d", id, kc, kw, cc, cw))
		}
	}
	return diffs, rows.Err()
}

// DaysOf groups slots by day in Paris, for the timetable.
func DaysOf(slots []Slot) [][]Slot {
	var out [][]Slot
	var last time.Time
	for _, s := range slots {
		p := s.StartsAt.In(Paris)
		day := time.Date(p.Year(), p.Month(), p.Day(), 0, 0, 0, 0, Paris)
		if len(out) == 0 || !day.Equal(last) {
			out = append(out, nil)
			last = day
		}
		out[len(out)-1] = append(out[len(out)-1], s)
	}
	return out
}

// Tracks lists the distinct rooms of a programme, sorted.
func Tracks(slots []Slot) []string {
	var out []string
	for _, s := range slots {
		if t := strings.TrimSpace(s.Room); t != "" && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out
}

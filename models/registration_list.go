package models

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"
)

// RegistrationFilter narrows the registrations of one event.
type RegistrationFilter struct {
	EventID    string
	Query      string   // part of the name or email
	Direction  string   // one direction
	Directions []string // restrict to these directions (a correspondent's); nil = all
	State      RegState
	States     []RegState // any of these (when State is empty)
	Mode       Mode
	CheckedIn  string // "yes", "no" or ""
	WorkshopID string // registrations holding (or waiting for) a place in this workshop
	Limit      int
	Offset     int
}

func (f *RegistrationFilter) where(alias string) (string, []any) {
	p := alias
	where := []string{p + "event_id = ?"}
	args := []any{f.EventID}
	if q := strings.TrimSpace(f.Query); q != "" {
		where = append(where, "(LOWER("+p+"name) LIKE ? OR "+p+"email LIKE ?)")
		like := "%" + strings.ToLower(q) + "%"
		args = append(args, like, like)
	}
	if f.Direction != "" {
		where = append(where, p+"direction_code = ?")
		args = append(args, NormaliseDirectionCode(f.Direction))
	}
	if f.Directions != nil {
		if len(f.Directions) == 0 {
			where = append(where, "1 = 0")
		} else {
			where = append(where, p+"direction_code IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(f.Directions)), ", ")+")")
			for _, d := range f.Directions {
				args = append(args, d)
			}
		}
	}
	switch {
	case f.State != "":
		where = append(where, p+"state = ?")
		args = append(args, f.State)
	case len(f.States) > 0:
		where = append(where, p+"state IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(f.States)), ", ")+")")
		for _, s := range f.States {
			args = append(args, s)
		}
	}
	if f.Mode != "" {
		where = append(where, p+"mode = ?")
		args = append(args, f.Mode)
	}
	switch f.CheckedIn {
	case "yes":
		where = append(where, p+"checked_in_at IS NOT NULL")
	case "no":
		where = append(where, p+"checked_in_at IS NULL")
	}
	if f.WorkshopID != "" {
		where = append(where, p+"id IN (SELECT registration_id FROM registration_workshops WHERE session_id = ? AND state <> ?)")
		args = append(args, f.WorkshopID, RegCancelled)
	}
	return strings.Join(where, " AND "), args
}

// ListRegistrations returns one page of registrations in arrival order,
// and how many match in all.
func (d *DB) ListRegistrations(ctx context.Context, f RegistrationFilter) ([]Registration, int, error) {
	cond, args := f.where("")
	var total int
	if err := d.queryRow(ctx, "SELECT COUNT(*) FROM registrations WHERE "+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count registrations: %w", err)
	}
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 50
	}
	rows, err := d.query(ctx, "SELECT "+regColumns+" FROM registrations WHERE "+cond+" ORDER BY seq, id LIMIT ? OFFSET ?",
		append(args, limit, f.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("list registrations: %w", err)
	}
	regs, err := collectRegistrations(rows)
	return regs, total, err
}

// SearchForCheckIn finds confirmed and waitlisted people by name or email
// (for the check-in page), at most limit.
func (d *DB) SearchForCheckIn(ctx context.Context, eventID, q string, limit int) ([]Registration, error) {
	f := RegistrationFilter{EventID: eventID, Query: q, Limit: limit}
	cond, args := f.where("")
	rows, err := d.query(ctx, "SELECT "+regColumns+" FROM registrations WHERE "+cond+" ORDER BY name, email LIMIT ?", append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("search registrations: %w", err)
	}
	return collectRegistrations(rows)
}

// EachRegistration streams the registrations matching f, in arrival order,
// with their answers (question id → value) and workshop places (titles,
// "(liste d'attente)" marked), without loading them all: answers and
// workshops come from cursors read in the same order. Limit and Offset are
// ignored.
func (d *DB) EachRegistration(ctx context.Context, f RegistrationFilter, fn func(r Registration, answers map[string]string, workshops []string) error) error {
	cond, args := f.where("r.")
	rows, err := d.query(ctx, "SELECT "+prefixed("r", regColumns)+" FROM registrations r WHERE "+cond+" ORDER BY r.seq, r.id", args...)
	if err != nil {
		return fmt.Errorf("export registrations: %w", err)
	}
	defer rows.Close()
	ans, err := newSideCursor(ctx, d, `SELECT r.seq, a.registration_id, a.question_id, a.value FROM registration_answers a
		JOIN registrations r ON r.id = a.registration_id WHERE `+cond+" ORDER BY r.seq, r.id", args)
	if err != nil {
		return fmt.Errorf("export answers: %w", err)
	}
	defer ans.close()
	shops, err := newSideCursor(ctx, d, `SELECT r.seq, w.registration_id, s.title, w.state FROM registration_workshops w
		JOIN registrations r ON r.id = w.registration_id JOIN sessions s ON s.id = w.session_id
		WHERE `+cond+" AND w.state IN ('confirmed', 'waitlisted') ORDER BY r.seq, r.id, s.starts_at", args)
	if err != nil {
		return fmt.Errorf("export workshops: %w", err)
	}
	defer shops.close()
	answers := map[string]string{}
	var workshops []string
	for rows.Next() {
		r, err := scanRegistration(rows)
		if err != nil {
			return fmt.Errorf("scan registration: %w", err)
		}
		clear(answers)
		workshops = workshops[:0]
		if err := ans.take(r.Seq, r.ID, func(k, v string) { answers[k] = v }); err != nil {
			return err
		}
		if err := shops.take(r.Seq, r.ID, func(title, state string) {
			if state == string(RegWaitlisted) {
				title += " (liste d'attente)"
			}
			workshops = append(workshops, title)
		}); err != nil {
			return err
		}
		if err := fn(r, answers, workshops); err != nil {
			return err
		}
	}
	return rows.Err()
}

// sideCursor reads (registration id, a, b) rows in registration order,
// alongside the main cursor.
type sideCursor struct {
	rows      *sql.Rows
	ok        bool
	seq       int64
	reg, a, b string
}

func newSideCursor(ctx context.Context, d *DB, q string, args []any) (*sideCursor, error) {
	rows, err := d.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	c := &sideCursor{rows: rows}
	return c, c.next()
}

func (c *sideCursor) next() error {
	c.ok = c.rows.Next()
	if c.ok {
		return c.rows.Scan(&c.seq, &c.reg, &c.a, &c.b)
	}
	return c.rows.Err()
}

// take calls fn for the rows of registration (seq, id), skipping rows of
// registrations that the main cursor does not have (changed between the
// two reads).
func (c *sideCursor) take(seq int64, id string, fn func(a, b string)) error {
	for c.ok && (c.seq < seq || (c.seq == seq && c.reg < id)) {
		if err := c.next(); err != nil {
			return err
		}
	}
	for c.ok && c.reg == id {
		fn(c.a, c.b)
		if err := c.next(); err != nil {
			return err
		}
	}
	return nil
}

func (c *sideCursor) close() { c.rows.Close() }

// RegistrationCounts are the numbers shown above the registrations table.
type RegistrationCounts struct {
	Confirmed, Waitlisted, Cancelled int
	CheckedIn                        int
	Onsite, Remote                   int // confirmed, by mode
}

// Active is everybody not cancelled.
func (c RegistrationCounts) Active() int { return c.Confirmed + c.Waitlisted }

// CountRegistrations counts the registrations of an event (restricted to
// directions when not nil).
func (d *DB) CountRegistrations(ctx context.Context, eventID string, directions []string) (RegistrationCounts, error) {
	f := RegistrationFilter{EventID: eventID, Directions: directions}
	cond, args := f.where("")
	rows, err := d.query(ctx, `SELECT state, mode, checked_in_at IS NOT NULL, COUNT(*) FROM registrations WHERE `+cond+
		" GROUP BY state, mode, checked_in_at IS NOT NULL", args...)
	if err != nil {
		return RegistrationCounts{}, fmt.Errorf("count registrations: %w", err)
	}
	defer rows.Close()
	var c RegistrationCounts
	for rows.Next() {
		var st RegState
		var mode Mode
		var in bool
		var n int
		if err := rows.Scan(&st, &mode, &in, &n); err != nil {
			return c, err
		}
		switch st {
		case RegConfirmed:
			c.Confirmed += n
			if in {
				c.CheckedIn += n
			}
			if mode == ModeRemote {
				c.Remote += n
			} else {
				c.Onsite += n
			}
		case RegWaitlisted:
			c.Waitlisted += n
		case RegCancelled:
			c.Cancelled += n
		}
	}
	return c, rows.Err()
}

// DirectionStat is one direction's line on the dashboard.
type DirectionStat struct {
	Code       string
	Quota      int
	Confirmed  int // all modes
	Seats      int // confirmed holding a seat
	Waitlisted int
	CheckedIn  int
}

// DayStat is the number of registrations made on one day (Paris).
type DayStat struct {
	Day        time.Time
	Count      int
	Cumulative int
}

// EventStats is what the organisers' dashboard shows.
type EventStats struct {
	Counts      RegistrationCounts
	Capacity    int
	SeatsTaken  int
	Reserved    int
	ByDirection []DirectionStat
	ByDay       []DayStat
}

// EventStatistics computes the dashboard figures of an event.
func (d *DB) EventStatistics(ctx context.Context, e *Event) (EventStats, error) {
	st := EventStats{Capacity: e.Capacity}
	var err error
	if st.Counts, err = d.CountRegistrations(ctx, e.ID, nil); err != nil {
		return st, err
	}
	quotas, err := d.EventQuotas(ctx, e.ID)
	if err != nil {
		return st, err
	}
	byDir := map[string]*DirectionStat{}
	get := func(code string) *DirectionStat {
		if s, ok := byDir[code]; ok {
			return s
		}
		s := &DirectionStat{Code: code, Quota: quotas[code]}
		byDir[code] = s
		return s
	}
	for code, q := range quotas {
		get(code)
		st.Reserved += q
	}
	rows, err := d.query(ctx, `SELECT direction_code, state, seat, checked_in_at IS NOT NULL, COUNT(*) FROM registrations
		WHERE event_id = ? AND state <> ? GROUP BY direction_code, state, seat, checked_in_at IS NOT NULL`, e.ID, RegCancelled)
	if err != nil {
		return st, fmt.Errorf("stats by direction: %w", err)
	}
	for rows.Next() {
		var code string
		var state RegState
		var seat, in bool
		var n int
		if err := rows.Scan(&code, &state, &seat, &in, &n); err != nil {
			rows.Close()
			return st, err
		}
		s := get(code)
		if state == RegConfirmed {
			s.Confirmed += n
			if seat {
				s.Seats += n
				st.SeatsTaken += n
			}
			if in {
				s.CheckedIn += n
			}
		} else {
			s.Waitlisted += n
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return st, err
	}
	for _, s := range byDir {
		st.ByDirection = append(st.ByDirection, *s)
	}
	slices.SortFunc(st.ByDirection, func(a, b DirectionStat) int { return strings.Compare(a.Code, b.Code) })

	// Registrations over time: the day of first registration, in Paris.
	rows, err = d.query(ctx, "SELECT created_at FROM registrations WHERE event_id = ? ORDER BY created_at", e.ID)
	if err != nil {
		return st, fmt.Errorf("stats by day: %w", err)
	}
	defer rows.Close()
	total := 0
	for rows.Next() {
		var t time.Time
		if err := rows.Scan(&t); err != nil {
			return st, err
		}
		p := t.In(Paris)
		day := time.Date(p.Year(), p.Month(), p.Day(), 0, 0, 0, 0, Paris)
		total++
		if n := len(st.ByDay); n > 0 && st.ByDay[n-1].Day.Equal(day) {
			st.ByDay[n-1].Count++
			st.ByDay[n-1].Cumulative = total
			continue
		}
		st.ByDay = append(st.ByDay, DayStat{Day: day, Count: 1, Cumulative: total})
	}
	return st, rows.Err()
}

// EventRegistration is an event with one person's registration.
type EventRegistration struct {
	Event        Event
	Registration Registration
}

// UserEvents returns the upcoming events a person is registered for (by
// account or address, cancelled registrations left out), soonest first.
func (d *DB) UserEvents(ctx context.Context, userID, email string) ([]EventRegistration, error) {
	rows, err := d.query(ctx, "SELECT "+prefixed("e", eventColumns)+", "+prefixed("r", regColumns)+` FROM registrations r
		JOIN events e ON e.id = r.event_id
		WHERE (r.user_id = ? OR r.email = ?) AND r.state <> ? AND e.ends_at > ? AND e.status IN (?, ?, ?)
		ORDER BY e.starts_at LIMIT 20`, userID, NormaliseEmail(email), RegCancelled, d.Now(), EventPublished, EventClosed, EventCancelled)
	if err != nil {
		return nil, fmt.Errorf("user events: %w", err)
	}
	defer rows.Close()
	var out []EventRegistration
	for rows.Next() {
		var er EventRegistration
		var rr Registration
		var user, by, inBy nullStr
		var promoted, cancelled, checked nullTime
		e, err := scanEvent(trailingScanner{row: rows, extra: []any{&rr.ID, &rr.EventID, &rr.Email, &rr.Name, &rr.DirectionCode, &user, &rr.Mode,
			&rr.Seat, &rr.State, &rr.Seq, &rr.ICSBump, &rr.Code, &by, &promoted, &cancelled, &checked, &inBy, &rr.CreatedAt, &rr.UpdatedAt}})
		if err != nil {
			return nil, err
		}
		rr.UserID, rr.RegisteredBy, rr.CheckedInBy = user.String, by.String, inBy.String
		rr.PromotedAt, rr.CancelledAt, rr.CheckedInAt = promoted.Time, cancelled.Time, checked.Time
		er.Event, er.Registration = e, rr
		out = append(out, er)
	}
	return out, rows.Err()
}

// trailingScanner scans extra columns after a scan function's own.
type trailingScanner struct {
	row   interface{ Scan(...any) error }
	extra []any
}

func (t trailingScanner) Scan(dest ...any) error { return t.row.Scan(append(dest, t.extra...)...) }

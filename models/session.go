package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

type nullInt = sql.NullInt64

// Errors of sessions.
var (
	ErrSessionCancelled          = errors.New("the session is cancelled")
	ErrSessionStarted            = errors.New("the session has started")
	ErrCapacityBelowConfirmed    = errors.New("capacity below the number of confirmed participants")
	ErrNotASeries                = errors.New("the session is not part of a series")
	ErrSessionNotOver            = errors.New("the session has not ended")
	ErrAttendeeNotMember         = errors.New("attendance for someone who is not a member")
	errSessionOwnerNotAGroup     = errors.New("the session does not belong to a group")
	errInvalidSessionInputFormat = "session: %s"
)

// SessionStatus is where a session stands.
type SessionStatus string

const (
	SessionScheduled SessionStatus = "scheduled"
	SessionCancelled SessionStatus = "cancelled"
)

// Label is the status's French name.
func (s SessionStatus) Label() string {
	if s == SessionCancelled {
		return "Annulée"
	}
	return "Prévue"
}

// Session is one meeting (séance) of a group, or another owner's slot.
type Session struct {
	ID       string
	GroupID  string // empty when the session belongs to something else (an event)
	SeriesID string // empty when not part of a series
	// UID is the calendar UID, set at creation and never changed.
	UID string
	// Sequence is the calendar SEQUENCE: 0 at creation, +1 on every change of
	// title, time, place or video link and on cancellation.
	Sequence  int
	Title     string
	StartsAt  time.Time // UTC
	EndsAt    time.Time // UTC
	Room      string
	Address   string
	VideoURL  string
	Agenda    string // Markdown
	Minutes   string // Markdown
	MinutesAt time.Time
	Capacity  int // 0: unlimited (NULL)
	Status    SessionStatus
	CreatedBy string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Cancelled tells whether the session is cancelled.
func (s Session) Cancelled() bool { return s.Status == SessionCancelled }

// Place is the room and address on one line.
func (s Session) Place() string {
	switch {
	case s.Room != "" && s.Address != "":
		return s.Room + ", " + s.Address
	case s.Room != "":
		return s.Room
	}
	return s.Address
}

// SessionInput is what an organiser writes about a session.
type SessionInput struct {
	Title    string
	StartsAt time.Time
	EndsAt   time.Time
	Room     string
	Address  string
	VideoURL string
	Agenda   string
	Capacity int // 0: unlimited
}

func (in SessionInput) check() error {
	switch {
	case strings.TrimSpace(in.Title) == "" || strings.ContainsAny(in.Title+in.Room+in.Address+in.VideoURL, "\r\n"):
		return fmt.Errorf(errInvalidSessionInputFormat, "a title is required and one-line fields have no line break")
	case in.StartsAt.IsZero() || !in.EndsAt.After(in.StartsAt):
		return fmt.Errorf(errInvalidSessionInputFormat, "the end must come after the start")
	case in.Capacity < 0:
		return fmt.Errorf(errInvalidSessionInputFormat, "negative capacity")
	}
	return nil
}

// placeChanged tells whether b differs from a in what calendars show: title,
// time, place or video link. Those changes raise SEQUENCE and send updates.
func placeChanged(a Session, b SessionInput) bool {
	return a.Title != strings.TrimSpace(b.Title) || !a.StartsAt.Equal(b.StartsAt.UTC()) || !a.EndsAt.Equal(b.EndsAt.UTC()) ||
		a.Room != b.Room || a.Address != b.Address || a.VideoURL != b.VideoURL
}

const sessionColumns = `s.id, s.group_id, s.series_id, s.uid, s.sequence, s.title, s.starts_at, s.ends_at, s.room, s.address,
	s.video_url, s.agenda, s.minutes, s.minutes_at, s.capacity, s.status, s.created_by, s.created_at, s.updated_at`

func scanSession(row interface{ Scan(...any) error }, extra ...any) (Session, error) {
	var s Session
	var group, series, by nullStr
	var minutesAt nullTime
	var capacity nullInt
	err := row.Scan(append([]any{&s.ID, &group, &series, &s.UID, &s.Sequence, &s.Title, &s.StartsAt, &s.EndsAt, &s.Room, &s.Address,
		&s.VideoURL, &s.Agenda, &s.Minutes, &minutesAt, &capacity, &s.Status, &by, &s.CreatedAt, &s.UpdatedAt}, extra...)...)
	s.GroupID, s.SeriesID, s.CreatedBy = group.String, series.String, by.String
	s.MinutesAt = minutesAt.Time
	s.Capacity = int(capacity.Int64)
	s.StartsAt, s.EndsAt = s.StartsAt.UTC(), s.EndsAt.UTC()
	return s, err
}

// SessionUID is the calendar UID of a new session: "agora-<id>@<host>", the
// format of ical.UID. It is computed once and stored.
func SessionUID(id, host string) string {
	if h, _, ok := strings.Cut(host, ":"); ok {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "" {
		host = "localhost"
	}
	return "agora-" + id + "@" + host
}

// NewSession is a session to insert.
type NewSession struct {
	GroupID  string // empty for a session owned by something else
	SeriesID string
	SessionInput
	UIDHost string // host part of the calendar UID (the public host name)
}

// insertSession writes a new session; the caller has checked permissions.
// Other owners of sessions (an event's workshops) build on it.
func (tx *Tx) insertSession(ctx context.Context, by User, in NewSession) (Session, error) {
	if err := in.check(); err != nil {
		return Session{}, err
	}
	now := tx.Now()
	id := NewID()
	s := Session{
		ID: id, GroupID: in.GroupID, SeriesID: in.SeriesID, UID: SessionUID(id, in.UIDHost), Sequence: 0,
		Title: strings.TrimSpace(in.Title), StartsAt: in.StartsAt.UTC().Truncate(time.Second), EndsAt: in.EndsAt.UTC().Truncate(time.Second),
		Room: in.Room, Address: in.Address, VideoURL: in.VideoURL, Agenda: in.Agenda, Capacity: in.Capacity,
		Status: SessionScheduled, CreatedBy: by.ID, CreatedAt: now, UpdatedAt: now,
	}
	_, err := tx.exec(ctx, `INSERT INTO sessions (id, group_id, series_id, uid, sequence, title, starts_at, ends_at, room, address,
		video_url, agenda, minutes, capacity, status, created_by, created_at, updated_at)
		VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, '', ?, ?, ?, ?, ?)`,
		s.ID, nullString(s.GroupID), nullString(s.SeriesID), s.UID, s.Title, s.StartsAt, s.EndsAt, s.Room, s.Address,
		s.VideoURL, s.Agenda, nullPositive(s.Capacity), s.Status, nullString(by.ID), now, now)
	if err != nil {
		return Session{}, fmt.Errorf("create session: %w", err)
	}
	return s, nil
}

// CreateSession schedules a session of a group (organisers, admins). The
// start must be in the future.
func (tx *Tx) CreateSession(ctx context.Context, by User, in NewSession) (Session, error) {
	if in.GroupID == "" {
		return Session{}, errSessionOwnerNotAGroup
	}
	if err := tx.mustManageActive(ctx, by, in.GroupID); err != nil {
		return Session{}, err
	}
	if !in.StartsAt.After(tx.Now()) {
		return Session{}, ErrSessionStarted
	}
	return tx.insertSession(ctx, by, in)
}

func (tx *Tx) mustManageActive(ctx context.Context, by User, groupID string) error {
	if err := tx.mustManage(ctx, by, groupID); err != nil {
		return err
	}
	g, err := tx.GroupByID(ctx, groupID)
	if err != nil {
		return err
	}
	if g.Status != GroupActive {
		return ErrGroupInactive
	}
	return nil
}

// SessionByID returns one session.
func (d *DB) SessionByID(ctx context.Context, id string) (Session, error) {
	s, err := scanSession(d.queryRow(ctx, "SELECT "+sessionColumns+" FROM sessions s WHERE s.id = ?", id))
	if err != nil {
		return Session{}, notFound(err, "get session %s", id)
	}
	return s, nil
}

// SessionChange is what an update did.
type SessionChange struct {
	Before, After Session
	// Moved is true when the title, time, place or video link changed: the
	// sequence went up and attendees' calendars must be updated.
	Moved      bool
	Promotions []Promotion // people taken off the waiting list by a larger capacity
}

// mustManageSession checks that by may edit the session and returns it.
func (tx *Tx) mustManageSession(ctx context.Context, by User, id string) (Session, error) {
	if err := tx.lockRow(ctx, "sessions", id); err != nil {
		return Session{}, fmt.Errorf("session %s: %w", id, err)
	}
	s, err := tx.SessionByID(ctx, id)
	if err != nil {
		return Session{}, err
	}
	if s.GroupID == "" {
		return Session{}, errSessionOwnerNotAGroup
	}
	if err := tx.mustManage(ctx, by, s.GroupID); err != nil {
		return Session{}, err
	}
	return s, nil
}

// UpdateSession changes one session (organisers, admins). A change of title,
// time, place or video link raises the sequence; a larger capacity promotes
// the first of the waiting list. A capacity below the confirmed participants
// is refused with ErrCapacityBelowConfirmed.
func (tx *Tx) UpdateSession(ctx context.Context, by User, id string, in SessionInput) (SessionChange, error) {
	if err := in.check(); err != nil {
		return SessionChange{}, err
	}
	s, err := tx.mustManageSession(ctx, by, id)
	if err != nil {
		return SessionChange{}, err
	}
	return tx.updateSession(ctx, s, in)
}

func (tx *Tx) updateSession(ctx context.Context, s Session, in SessionInput) (SessionChange, error) {
	if s.Cancelled() {
		return SessionChange{}, ErrSessionCancelled
	}
	now := tx.Now()
	if !s.EndsAt.After(now) {
		return SessionChange{}, ErrSessionStarted
	}
	moved := placeChanged(s, in)
	if moved && !in.StartsAt.After(now) && !in.StartsAt.Equal(s.StartsAt) {
		return SessionChange{}, ErrSessionStarted
	}
	if in.Capacity > 0 {
		c, err := tx.countConfirmed(ctx, s.ID)
		if err != nil {
			return SessionChange{}, err
		}
		if c > in.Capacity {
			return SessionChange{}, fmt.Errorf("session %s: %d confirmed: %w", s.ID, c, ErrCapacityBelowConfirmed)
		}
	}
	seq := s.Sequence
	if moved {
		seq++
	}
	_, err := tx.exec(ctx, `UPDATE sessions SET title = ?, starts_at = ?, ends_at = ?, room = ?, address = ?, video_url = ?,
		agenda = ?, capacity = ?, sequence = ?, updated_at = ? WHERE id = ?`,
		strings.TrimSpace(in.Title), in.StartsAt.UTC().Truncate(time.Second), in.EndsAt.UTC().Truncate(time.Second), in.Room, in.Address,
		in.VideoURL, in.Agenda, nullPositive(in.Capacity), seq, now, s.ID)
	if err != nil {
		return SessionChange{}, fmt.Errorf("update session %s: %w", s.ID, err)
	}
	promos, err := tx.promote(ctx, s.ID)
	if err != nil {
		return SessionChange{}, err
	}
	after, err := tx.SessionByID(ctx, s.ID)
	if err != nil {
		return SessionChange{}, err
	}
	return SessionChange{Before: s, After: after, Moved: moved, Promotions: promos}, nil
}

// CancelSession cancels a session (organisers, admins): status cancelled,
// sequence +1. Cancelling a cancelled session changes nothing.
func (tx *Tx) CancelSession(ctx context.Context, by User, id string) (Session, error) {
	s, err := tx.mustManageSession(ctx, by, id)
	if err != nil {
		return Session{}, err
	}
	return tx.cancelSession(ctx, s)
}

func (tx *Tx) cancelSession(ctx context.Context, s Session) (Session, error) {
	if s.Cancelled() {
		return s, ErrSessionCancelled
	}
	if !s.EndsAt.After(tx.Now()) {
		return s, ErrSessionStarted
	}
	_, err := tx.exec(ctx, "UPDATE sessions SET status = ?, sequence = sequence + 1, updated_at = ? WHERE id = ?",
		SessionCancelled, tx.Now(), s.ID)
	if err != nil {
		return s, fmt.Errorf("cancel session %s: %w", s.ID, err)
	}
	return tx.SessionByID(ctx, s.ID)
}

// SetMinutes writes the minutes of a session that has started (organisers,
// admins). It reports whether they were empty before (first publication).
func (tx *Tx) SetMinutes(ctx context.Context, by User, id, minutes string) (first bool, err error) {
	s, err := tx.mustManageSession(ctx, by, id)
	if err != nil {
		return false, err
	}
	if s.StartsAt.After(tx.Now()) {
		return false, ErrSessionNotOver
	}
	_, err = tx.exec(ctx, "UPDATE sessions SET minutes = ?, minutes_at = ?, updated_at = ? WHERE id = ?",
		minutes, tx.Now(), tx.Now(), id)
	if err != nil {
		return false, fmt.Errorf("set minutes of %s: %w", id, err)
	}
	return s.Minutes == "" && minutes != "", nil
}

// SetAttendance records who attended a session that has started
// (organisers, admins): exactly userIDs, who must be members.
func (tx *Tx) SetAttendance(ctx context.Context, by User, id string, userIDs []string) error {
	s, err := tx.mustManageSession(ctx, by, id)
	if err != nil {
		return err
	}
	if s.StartsAt.After(tx.Now()) {
		return ErrSessionNotOver
	}
	for _, uid := range userIDs {
		if _, err := tx.Membership(ctx, s.GroupID, uid); err != nil {
			if errors.Is(err, ErrNotMember) {
				return ErrAttendeeNotMember
			}
			return err
		}
	}
	if _, err := tx.exec(ctx, "DELETE FROM session_attendance WHERE session_id = ?", id); err != nil {
		return fmt.Errorf("clear attendance of %s: %w", id, err)
	}
	now := tx.Now()
	for _, uid := range userIDs {
		_, err := tx.exec(ctx, `INSERT INTO session_attendance (session_id, user_id, marked_by, marked_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (session_id, user_id) DO NOTHING`, id, uid, by.ID, now)
		if err != nil {
			return fmt.Errorf("mark attendance of %s: %w", uid, err)
		}
	}
	return nil
}

// Attendees returns who attended a session, by name.
func (d *DB) Attendees(ctx context.Context, sessionID string) ([]User, error) {
	rows, err := d.query(ctx, "SELECT "+prefixed("u", userColumns)+` FROM session_attendance a JOIN users u ON u.id = a.user_id
		WHERE a.session_id = ? ORDER BY u.name, u.email`, sessionID)
	if err != nil {
		return nil, fmt.Errorf("attendees of %s: %w", sessionID, err)
	}
	return collect(rows, scanUser)
}

// SessionListItem is a session with its answers counted and, for a viewer,
// the viewer's answer.
type SessionListItem struct {
	Session
	GroupTitle string
	Confirmed  int // "yes", with a place
	Waiting    int // "yes", on the waiting list
	Answer     Answer
	OnWaitlist bool
}

// Full tells whether every place is taken.
func (s SessionListItem) Full() bool { return s.Capacity > 0 && s.Confirmed >= s.Capacity }

// sessionListQuery selects sessions with their counts and the viewer's answer.
func sessionListQuery(where string) string {
	return `SELECT ` + sessionColumns + `, COALESCE(g.title, ''),
		(SELECT COUNT(*) FROM rsvps c WHERE c.session_id = s.id AND c.answer = 'yes' AND NOT c.waiting),
		(SELECT COUNT(*) FROM rsvps w WHERE w.session_id = s.id AND w.answer = 'yes' AND w.waiting),
		COALESCE(r.answer, ''), COALESCE(r.waiting, FALSE)
		FROM sessions s LEFT JOIN work_groups g ON g.id = s.group_id
		LEFT JOIN rsvps r ON r.session_id = s.id AND r.user_id = ? WHERE ` + where
}

func (d *DB) listSessions(ctx context.Context, q string, args ...any) ([]SessionListItem, error) {
	rows, err := d.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	defer rows.Close()
	var out []SessionListItem
	for rows.Next() {
		var it SessionListItem
		it.Session, err = scanSession(rows, &it.GroupTitle, &it.Confirmed, &it.Waiting, &it.Answer, &it.OnWaitlist)
		if err != nil {
			return nil, fmt.Errorf("scan session: %w", err)
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// GroupSessions returns a group's sessions with the viewer's answers:
// upcoming ones (not ended at now) soonest first, or past ones latest first.
func (d *DB) GroupSessions(ctx context.Context, groupID, viewerID string, upcoming bool, limit int) ([]SessionListItem, error) {
	if limit <= 0 {
		limit = 500
	}
	if upcoming {
		return d.listSessions(ctx, sessionListQuery("s.group_id = ? AND s.ends_at > ? ORDER BY s.starts_at, s.id LIMIT ?"),
			viewerID, groupID, d.Now(), limit)
	}
	return d.listSessions(ctx, sessionListQuery("s.group_id = ? AND s.ends_at <= ? ORDER BY s.starts_at DESC, s.id LIMIT ?"),
		viewerID, groupID, d.Now(), limit)
}

// SessionItem returns one session with its counts and the viewer's answer.
func (d *DB) SessionItem(ctx context.Context, id, viewerID string) (SessionListItem, error) {
	items, err := d.listSessions(ctx, sessionListQuery("s.id = ?"), viewerID, id)
	if err != nil {
		return SessionListItem{}, err
	}
	if len(items) == 0 {
		return SessionListItem{}, fmt.Errorf("get session %s: %w", id, ErrNotFound)
	}
	return items[0], nil
}

// UpcomingForUser returns the scheduled and cancelled sessions that have
// not ended, of the active groups userID belongs to, soonest first.
func (d *DB) UpcomingForUser(ctx context.Context, userID string, limit int) ([]SessionListItem, error) {
	if limit <= 0 {
		limit = 20
	}
	// "IN (the user's groups)" rather than a correlated EXISTS: SQLite then
	// filters the sessions of each group with a Bloom filter of the user's
	// groups instead of probing the membership of every upcoming session
	// (0.2 ms instead of 17 ms with 1,000 groups and 20,000 sessions).
	return d.listSessions(ctx, sessionListQuery(`s.ends_at > ? AND g.status = 'active'
		AND s.group_id IN (SELECT m.group_id FROM group_members m WHERE m.user_id = ?)
		ORDER BY s.starts_at, s.id LIMIT ?`), userID, d.Now(), userID, limit)
}

// SeriesSessions returns the sessions of a series from a start time on.
func (d *DB) SeriesSessions(ctx context.Context, seriesID string, from time.Time) ([]Session, error) {
	rows, err := d.query(ctx, "SELECT "+sessionColumns+" FROM sessions s WHERE s.series_id = ? AND s.starts_at >= ? ORDER BY s.starts_at",
		seriesID, from.UTC())
	if err != nil {
		return nil, fmt.Errorf("series %s: %w", seriesID, err)
	}
	return collect(rows, func(row rowScanner) (Session, error) { return scanSession(row) })
}

// Recipient is someone who receives a session's calendar messages.
type Recipient struct {
	User   User
	Answer Answer // empty when they have not answered
}

// SessionRecipients returns who gets a group session's invitations and
// updates: the members who keep invitations on and have not answered "no".
// With withDeclined, those who answered "no" are included too.
func (d *DB) SessionRecipients(ctx context.Context, s Session, withDeclined bool) ([]Recipient, error) {
	if s.GroupID == "" {
		return nil, errSessionOwnerNotAGroup
	}
	q := `SELECT COALESCE(r.answer, ''), ` + prefixed("u", userColumns) + ` FROM group_members m JOIN users u ON u.id = m.user_id
		LEFT JOIN rsvps r ON r.session_id = ? AND r.user_id = m.user_id
		WHERE m.group_id = ? AND m.invitations`
	if !withDeclined {
		q += " AND (r.answer IS NULL OR r.answer <> 'no')"
	}
	rows, err := d.query(ctx, q+" ORDER BY u.email", s.ID, s.GroupID)
	if err != nil {
		return nil, fmt.Errorf("recipients of %s: %w", s.ID, err)
	}
	defer rows.Close()
	var out []Recipient
	for rows.Next() {
		var r Recipient
		if r.User, err = scanUserAfter(rows, &r.Answer); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

package models

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/mattn/go-sqlite3"
)

// CalendarPrefs are a user's calendar settings.
type CalendarPrefs struct {
	Reminders   bool // an email the day before each session they said "oui" to
	FeedVersion int  // part of the private feed token; a new version revokes the old URL
	FeedRevoked bool // the private feed is turned off
}

// CalendarPrefs returns userID's calendar settings.
func (d *DB) CalendarPrefs(ctx context.Context, userID string) (CalendarPrefs, error) {
	var p CalendarPrefs
	err := d.queryRow(ctx, "SELECT session_reminders, feed_version, feed_revoked FROM users WHERE id = ?", userID).
		Scan(&p.Reminders, &p.FeedVersion, &p.FeedRevoked)
	if err != nil {
		return p, notFound(err, "calendar settings of %s", userID)
	}
	return p, nil
}

// SetReminders turns userID's day-before reminders on or off.
func (tx *Tx) SetReminders(ctx context.Context, userID string, on bool) error {
	res, err := tx.exec(ctx, "UPDATE users SET session_reminders = ? WHERE id = ?", on, userID)
	return affectedOne(res, err, "set reminders of %s", userID)
}

// RotateUserFeed gives userID a new private feed URL (the old one stops
// working); with revoke, the feed is turned off until rotated again.
func (tx *Tx) RotateUserFeed(ctx context.Context, userID string, revoke bool) error {
	res, err := tx.exec(ctx, "UPDATE users SET feed_version = feed_version + 1, feed_revoked = ? WHERE id = ?", revoke, userID)
	return affectedOne(res, err, "rotate feed of %s", userID)
}

// FeedWindow is how far back feeds go: older sessions drop out.
const FeedWindow = 365 * 24 * time.Hour

// FeedStamp identifies a version of a feed cheaply: when nothing in it
// changed, neither does the stamp, and the feed need not be rendered.
type FeedStamp struct {
	Count        int
	LastModified time.Time // UTC, whole seconds
	// Extra changes with what has no timestamp of its own: answers added,
	// removed or promoted off a waiting list, memberships gained or lost.
	Extra string
}

// stamp runs q, which selects the number of sessions, then nTimes
// timestamps (the latest is LastModified), then whole numbers for Extra.
func (d *DB) stamp(ctx context.Context, nTimes, nInts int, q string, args ...any) (FeedStamp, error) {
	var st FeedStamp
	times := make([]aggTime, nTimes)
	ints := make([]nullInt, nInts)
	dest := []any{&st.Count}
	for i := range times {
		dest = append(dest, &times[i])
	}
	for i := range ints {
		dest = append(dest, &ints[i])
	}
	if err := d.queryRow(ctx, q, args...).Scan(dest...); err != nil {
		return st, fmt.Errorf("feed stamp: %w", err)
	}
	for _, t := range times {
		if t.After(st.LastModified) {
			st.LastModified = t.UTC()
		}
	}
	st.LastModified = st.LastModified.Truncate(time.Second)
	for i, n := range ints {
		if i > 0 {
			st.Extra += "."
		}
		st.Extra += strconv.FormatInt(n.Int64, 36)
	}
	return st, nil
}

// UserFeedStamp is the stamp of userID's private feed.
func (d *DB) UserFeedStamp(ctx context.Context, userID string) (FeedStamp, error) {
	since := d.Now().Add(-FeedWindow)
	return d.stamp(ctx, 4, 3, `SELECT
		(SELECT COUNT(*) FROM sessions s JOIN group_members m ON m.group_id = s.group_id AND m.user_id = ? WHERE s.ends_at > ?),
		(SELECT MAX(s.updated_at) FROM sessions s JOIN group_members m ON m.group_id = s.group_id AND m.user_id = ? WHERE s.ends_at > ?),
		(SELECT MAX(r.answered_at) FROM rsvps r WHERE r.user_id = ?),
		(SELECT MAX(m.joined_at) FROM group_members m WHERE m.user_id = ?),
		(SELECT MAX(g.updated_at) FROM work_groups g JOIN group_members m ON m.group_id = g.id AND m.user_id = ?),
		(SELECT COUNT(*) FROM rsvps r WHERE r.user_id = ?),
		(SELECT COUNT(*) FROM rsvps r WHERE r.user_id = ? AND r.waiting),
		(SELECT COUNT(*) FROM group_members m WHERE m.user_id = ?)`,
		userID, since, userID, since, userID, userID, userID, userID, userID, userID)
}

// GroupFeedStamp is the stamp of a group's feed.
func (d *DB) GroupFeedStamp(ctx context.Context, groupID string) (FeedStamp, error) {
	since := d.Now().Add(-FeedWindow)
	return d.stamp(ctx, 2, 0, `SELECT
		(SELECT COUNT(*) FROM sessions s WHERE s.group_id = ? AND s.ends_at > ?),
		(SELECT MAX(s.updated_at) FROM sessions s WHERE s.group_id = ? AND s.ends_at > ?),
		(SELECT updated_at FROM work_groups WHERE id = ?)`,
		groupID, since, groupID, since, groupID)
}

// feedQuery selects sessions with the viewer's answer but without counting
// answers (feeds do not show counts): one pass over the sessions.
const feedQuery = `SELECT ` + sessionColumns + `, COALESCE(g.title, ''), 0, 0, COALESCE(r.answer, ''), COALESCE(r.waiting, FALSE)
	FROM sessions s JOIN work_groups g ON g.id = s.group_id
	LEFT JOIN rsvps r ON r.session_id = s.id AND r.user_id = ? `

// UserFeedSessions returns the sessions of userID's groups that ended less
// than FeedWindow ago, cancelled ones included, with userID's answers.
func (d *DB) UserFeedSessions(ctx context.Context, userID string) ([]SessionListItem, error) {
	return d.listSessions(ctx, feedQuery+`JOIN group_members m ON m.group_id = s.group_id AND m.user_id = ?
		WHERE s.ends_at > ? ORDER BY s.starts_at, s.id`, userID, userID, d.Now().Add(-FeedWindow))
}

// GroupFeedSessions returns a group's sessions that ended less than
// FeedWindow ago, cancelled ones included.
func (d *DB) GroupFeedSessions(ctx context.Context, groupID string) ([]SessionListItem, error) {
	return d.listSessions(ctx, feedQuery+"WHERE s.group_id = ? AND s.ends_at > ? ORDER BY s.starts_at, s.id",
		"", groupID, d.Now().Add(-FeedWindow))
}

// Reminder is one day-before email to send.
type Reminder struct {
	Session    Session
	GroupTitle string
	User       User
}

// DueReminders returns, for the scheduled group sessions starting in
// [from, to), the members with a place ("oui", not waiting) who keep
// reminders on.
func (d *DB) DueReminders(ctx context.Context, from, to time.Time) ([]Reminder, error) {
	rows, err := d.query(ctx, `SELECT `+sessionColumns+`, g.title, `+prefixed("u", userColumns)+`
		FROM sessions s JOIN work_groups g ON g.id = s.group_id
		JOIN rsvps r ON r.session_id = s.id AND r.answer = 'yes' AND NOT r.waiting
		JOIN group_members m ON m.group_id = s.group_id AND m.user_id = r.user_id
		JOIN users u ON u.id = r.user_id
		WHERE s.status = 'scheduled' AND s.starts_at >= ? AND s.starts_at < ? AND u.session_reminders
		ORDER BY s.starts_at, s.id, u.email`, from.UTC(), to.UTC())
	if err != nil {
		return nil, fmt.Errorf("due reminders: %w", err)
	}
	defer rows.Close()
	var out []Reminder
	for rows.Next() {
		var r Reminder
		var dir nullStr
		var last nullTime
		u := &r.User
		r.Session, err = scanSession(rows, &r.GroupTitle, &u.ID, &u.Email, &u.Name, &dir, &u.Role, &u.NotifyEmail, &u.CreatedAt, &last)
		if err != nil {
			return nil, fmt.Errorf("scan reminder: %w", err)
		}
		u.DirectionCode, u.LastLoginAt = dir.String, last.Time
		out = append(out, r)
	}
	return out, rows.Err()
}

// aggTime scans a time that may come back as text: SQLite loses the column
// type of an aggregate such as MAX(updated_at). NULL is the zero time.
type aggTime struct{ time.Time }

func (t *aggTime) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		t.Time = time.Time{}
	case time.Time:
		t.Time = x
	case string:
		return t.parse(x)
	case []byte:
		return t.parse(string(x))
	default:
		return fmt.Errorf("scan time: unsupported %T", v)
	}
	return nil
}

func (t *aggTime) parse(s string) error {
	for _, layout := range sqlite3.SQLiteTimestampFormats {
		if p, err := time.Parse(layout, s); err == nil {
			t.Time = p
			return nil
		}
	}
	return fmt.Errorf("scan time: cannot parse %q", s)
}

package models

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Answer is a member's answer to a session (participation).
type Answer string

const (
	AnswerYes   Answer = "yes"   // oui
	AnswerNo    Answer = "no"    // non
	AnswerMaybe Answer = "maybe" // peut-être
)

// Valid tells whether a is a known answer.
func (a Answer) Valid() bool { return a == AnswerYes || a == AnswerNo || a == AnswerMaybe }

// Label is the answer's French name.
func (a Answer) Label() string {
	switch a {
	case AnswerYes:
		return "Oui"
	case AnswerNo:
		return "Non"
	case AnswerMaybe:
		return "Peut-être"
	}
	return "Pas de réponse"
}

// RSVP is one member's answer to one session.
type RSVP struct {
	SessionID  string
	User       User
	Answer     Answer
	Waiting    bool // "yes" beyond the capacity: on the waiting list
	QueueNo    int  // order of the "yes" (waiting list order)
	AnsweredAt time.Time
}

// Promotion is a member taken off a waiting list: they now have a place and
// must be told. QueueNo makes the cause unique (a dedupe key).
type Promotion struct {
	SessionID string
	UserID    string
	QueueNo   int
}

// RSVPByUser returns userID's answer to a session, or ErrNotFound.
func (d *DB) RSVPByUser(ctx context.Context, sessionID, userID string) (RSVP, error) {
	r := RSVP{SessionID: sessionID}
	r.User.ID = userID
	err := d.queryRow(ctx, "SELECT answer, waiting, queue_no, answered_at FROM rsvps WHERE session_id = ? AND user_id = ?",
		sessionID, userID).Scan(&r.Answer, &r.Waiting, &r.QueueNo, &r.AnsweredAt)
	if err != nil {
		return RSVP{}, notFound(err, "answer of %s to %s", userID, sessionID)
	}
	return r, nil
}

// SessionRSVPs returns every answer to a session: confirmed "yes" first, then
// the waiting list in order, then "maybe", then "no"; by name within each.
func (d *DB) SessionRSVPs(ctx context.Context, sessionID string) ([]RSVP, error) {
	rows, err := d.query(ctx, `SELECT r.answer, r.waiting, r.queue_no, r.answered_at, `+prefixed("u", userColumns)+`
		FROM rsvps r JOIN users u ON u.id = r.user_id WHERE r.session_id = ?
		ORDER BY CASE WHEN r.answer = 'yes' AND NOT r.waiting THEN 0 WHEN r.answer = 'yes' THEN 1 WHEN r.answer = 'maybe' THEN 2 ELSE 3 END,
		CASE WHEN r.waiting THEN r.queue_no ELSE 0 END, u.name, u.email`, sessionID)
	if err != nil {
		return nil, fmt.Errorf("answers to %s: %w", sessionID, err)
	}
	defer rows.Close()
	var out []RSVP
	for rows.Next() {
		r := RSVP{SessionID: sessionID}
		if r.User, err = scanUserAfter(rows, &r.Answer, &r.Waiting, &r.QueueNo, &r.AnsweredAt); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (d *DB) countConfirmed(ctx context.Context, sessionID string) (int, error) {
	var n int
	err := d.queryRow(ctx, "SELECT COUNT(*) FROM rsvps WHERE session_id = ? AND answer = 'yes' AND NOT waiting", sessionID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count confirmed of %s: %w", sessionID, err)
	}
	return n, nil
}

// AnswerResult is what an answer did.
type AnswerResult struct {
	RSVP       RSVP
	Changed    bool        // false when the answer was already this one
	Promotions []Promotion // others who got the place this answer freed
}

// Answer records u's answer to a group session. Only members answer, only
// before the session starts, never to a cancelled one. With a capacity, a
// "yes" beyond it joins the waiting list; a place freed by a "no" or a
// "maybe" goes to the first in line. The session row is locked first, so
// concurrent answers never exceed the capacity.
func (tx *Tx) Answer(ctx context.Context, u User, sessionID string, a Answer) (AnswerResult, error) {
	if !a.Valid() {
		return AnswerResult{}, fmt.Errorf("answer: unknown answer %q", a)
	}
	if err := tx.lockRow(ctx, "sessions", sessionID); err != nil {
		return AnswerResult{}, fmt.Errorf("answer %s: %w", sessionID, err)
	}
	s, err := tx.SessionByID(ctx, sessionID)
	if err != nil {
		return AnswerResult{}, err
	}
	if s.GroupID == "" {
		return AnswerResult{}, errSessionOwnerNotAGroup
	}
	if _, err := tx.Membership(ctx, s.GroupID, u.ID); err != nil {
		return AnswerResult{}, err
	}
	return tx.answerLocked(ctx, s, u.ID, a)
}

// answerLocked records an answer; the caller holds the session's lock and
// has checked who may answer.
func (tx *Tx) answerLocked(ctx context.Context, s Session, userID string, a Answer) (AnswerResult, error) {
	if s.Cancelled() {
		return AnswerResult{}, ErrSessionCancelled
	}
	now := tx.Now()
	if !s.StartsAt.After(now) {
		return AnswerResult{}, ErrSessionStarted
	}
	prev, err := tx.RSVPByUser(ctx, s.ID, userID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return AnswerResult{}, err
	}
	had := err == nil
	if had && prev.Answer == a {
		prev.User.ID = userID
		return AnswerResult{RSVP: prev}, nil
	}
	r := RSVP{SessionID: s.ID, Answer: a, AnsweredAt: now}
	r.User.ID = userID
	if a == AnswerYes {
		if err := tx.queryRow(ctx, "SELECT COALESCE(MAX(queue_no), 0) + 1 FROM rsvps WHERE session_id = ?", s.ID).Scan(&r.QueueNo); err != nil {
			return AnswerResult{}, fmt.Errorf("queue number of %s: %w", s.ID, err)
		}
		if s.Capacity > 0 {
			n, err := tx.countConfirmed(ctx, s.ID)
			if err != nil {
				return AnswerResult{}, err
			}
			r.Waiting = n >= s.Capacity
		}
	}
	_, err = tx.exec(ctx, `INSERT INTO rsvps (session_id, user_id, answer, waiting, queue_no, answered_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (session_id, user_id) DO UPDATE SET answer = excluded.answer, waiting = excluded.waiting,
		queue_no = excluded.queue_no, answered_at = excluded.answered_at`,
		s.ID, userID, r.Answer, r.Waiting, r.QueueNo, now)
	if err != nil {
		return AnswerResult{}, fmt.Errorf("answer %s: %w", s.ID, err)
	}
	res := AnswerResult{RSVP: r, Changed: true}
	if had && prev.Answer == AnswerYes && !prev.Waiting {
		if res.Promotions, err = tx.promote(ctx, s.ID); err != nil {
			return AnswerResult{}, err
		}
	}
	return res, nil
}

// promote gives free places to the first of the waiting list, in order.
// The caller holds the session's lock.
func (tx *Tx) promote(ctx context.Context, sessionID string) ([]Promotion, error) {
	s, err := tx.SessionByID(ctx, sessionID)
	if err != nil {
		return nil, err
	}
	if s.Cancelled() {
		return nil, nil
	}
	limit := -1 // unlimited: everyone waiting gets a place
	if s.Capacity > 0 {
		n, err := tx.countConfirmed(ctx, sessionID)
		if err != nil {
			return nil, err
		}
		limit = s.Capacity - n
		if limit <= 0 {
			return nil, nil
		}
	}
	q := "SELECT user_id, queue_no FROM rsvps WHERE session_id = ? AND answer = 'yes' AND waiting ORDER BY queue_no"
	args := []any{sessionID}
	if limit > 0 {
		q += " LIMIT ?"
		args = append(args, limit)
	}
	rows, err := tx.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("waiting list of %s: %w", sessionID, err)
	}
	var out []Promotion
	for rows.Next() {
		p := Promotion{SessionID: sessionID}
		if err := rows.Scan(&p.UserID, &p.QueueNo); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, p := range out {
		if _, err := tx.exec(ctx, "UPDATE rsvps SET waiting = FALSE WHERE session_id = ? AND user_id = ?", sessionID, p.UserID); err != nil {
			return nil, fmt.Errorf("promote %s in %s: %w", p.UserID, sessionID, err)
		}
	}
	return out, nil
}

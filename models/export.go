package models

import (
	"context"
	"fmt"
	"time"
)

// UserSessionAnswer is one of a user's answers to a session, with what the
// session is (for the export of one's own data).
type UserSessionAnswer struct {
	SessionID    string
	SessionTitle string
	GroupID      string // empty for a session outside any group
	StartsAt     time.Time
	Answer       Answer
	Waiting      bool
	AnsweredAt   time.Time
}

// UserSessionAnswers returns every answer userID gave to a session, newest session first.
func (d *DB) UserSessionAnswers(ctx context.Context, userID string) ([]UserSessionAnswer, error) {
	rows, err := d.query(ctx, `SELECT s.id, s.title, s.group_id, s.starts_at, r.answer, r.waiting, r.answered_at
		FROM rsvps r JOIN sessions s ON s.id = r.session_id WHERE r.user_id = ? ORDER BY s.starts_at DESC, s.id`, userID)
	if err != nil {
		return nil, fmt.Errorf("session answers of %s: %w", userID, err)
	}
	defer rows.Close()
	var out []UserSessionAnswer
	for rows.Next() {
		var a UserSessionAnswer
		var group nullStr
		if err := rows.Scan(&a.SessionID, &a.SessionTitle, &group, &a.StartsAt, &a.Answer, &a.Waiting, &a.AnsweredAt); err != nil {
			return nil, fmt.Errorf("scan session answer: %w", err)
		}
		a.GroupID = group.String
		a.StartsAt, a.AnsweredAt = a.StartsAt.UTC(), a.AnsweredAt.UTC()
		out = append(out, a)
	}
	return out, rows.Err()
}

// UserPollVote is one of a user's answers on one slot of a poll.
type UserPollVote struct {
	PollID    string
	PollTitle string
	GroupID   string
	SlotID    string
	StartsAt  time.Time
	EndsAt    time.Time
	Vote      Vote
	VotedAt   time.Time
}

// UserAllPollVotes returns every vote of userID on every poll, by poll then slot time.
func (d *DB) UserAllPollVotes(ctx context.Context, userID string) ([]UserPollVote, error) {
	rows, err := d.query(ctx, `SELECT p.id, p.title, p.group_id, sl.id, sl.starts_at, sl.ends_at, v.answer, v.voted_at
		FROM poll_votes v JOIN polls p ON p.id = v.poll_id JOIN poll_slots sl ON sl.id = v.slot_id
		WHERE v.user_id = ? ORDER BY p.created_at DESC, p.id, sl.starts_at`, userID)
	if err != nil {
		return nil, fmt.Errorf("poll votes of %s: %w", userID, err)
	}
	defer rows.Close()
	var out []UserPollVote
	for rows.Next() {
		var v UserPollVote
		if err := rows.Scan(&v.PollID, &v.PollTitle, &v.GroupID, &v.SlotID, &v.StartsAt, &v.EndsAt, &v.Vote, &v.VotedAt); err != nil {
			return nil, fmt.Errorf("scan poll vote: %w", err)
		}
		v.StartsAt, v.EndsAt, v.VotedAt = v.StartsAt.UTC(), v.EndsAt.UTC(), v.VotedAt.UTC()
		out = append(out, v)
	}
	return out, rows.Err()
}

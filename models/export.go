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

// UserMembership is one of a user's groups, whatever the group's status
// (archived ones too).
type UserMembership struct {
	GroupID     string
	GroupTitle  string
	GroupStatus GroupStatus
	Role        MemberRole
	Invitations bool // receives the group's calendar invitations
	JoinedAt    time.Time
}

// UserMemberships returns every group userID belongs to, by title.
func (d *DB) UserMemberships(ctx context.Context, userID string) ([]UserMembership, error) {
	rows, err := d.query(ctx, `SELECT g.id, g.title, g.status, m.role, m.invitations, m.joined_at
		FROM group_members m JOIN work_groups g ON g.id = m.group_id WHERE m.user_id = ? ORDER BY g.title, g.id`, userID)
	if err != nil {
		return nil, fmt.Errorf("memberships of %s: %w", userID, err)
	}
	return collect(rows, func(row rowScanner) (UserMembership, error) {
		var m UserMembership
		err := row.Scan(&m.GroupID, &m.GroupTitle, &m.GroupStatus, &m.Role, &m.Invitations, &m.JoinedAt)
		m.JoinedAt = m.JoinedAt.UTC()
		return m, err
	})
}

// UserJoinRequest is one of a user's requests to join a group on approval.
type UserJoinRequest struct {
	GroupID    string
	GroupTitle string
	Message    string
	Status     string // pending, accepted, declined
	CreatedAt  time.Time
	DecidedAt  time.Time // zero while pending
}

// UserJoinRequests returns every request userID made, newest first.
func (d *DB) UserJoinRequests(ctx context.Context, userID string) ([]UserJoinRequest, error) {
	rows, err := d.query(ctx, `SELECT g.id, g.title, r.message, r.status, r.created_at, r.decided_at
		FROM group_requests r JOIN work_groups g ON g.id = r.group_id WHERE r.user_id = ? ORDER BY r.created_at DESC, g.id`, userID)
	if err != nil {
		return nil, fmt.Errorf("join requests of %s: %w", userID, err)
	}
	return collect(rows, func(row rowScanner) (UserJoinRequest, error) {
		var r UserJoinRequest
		var decided nullTime
		err := row.Scan(&r.GroupID, &r.GroupTitle, &r.Message, &r.Status, &r.CreatedAt, &decided)
		r.CreatedAt, r.DecidedAt = r.CreatedAt.UTC(), decided.Time.UTC()
		return r, err
	})
}

// UserAuditEntries returns, newest first, the audit entries userID made
// and those made by others (or by Agora) about their account.
func (d *DB) UserAuditEntries(ctx context.Context, userID string) (made, about []AuditEntry, err error) {
	rows, err := d.query(ctx, `SELECT id, at, actor_id, actor_email, action, target_type, target_id, detail, request_id
		FROM audit_log WHERE actor_id = ? OR (target_type = 'user' AND target_id = ?) ORDER BY at DESC, id DESC`, userID, userID)
	if err != nil {
		return nil, nil, fmt.Errorf("audit entries of %s: %w", userID, err)
	}
	all, err := collect(rows, scanAudit)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range all {
		if e.ActorID == userID {
			made = append(made, e)
		} else {
			about = append(about, e)
		}
	}
	return made, about, nil
}

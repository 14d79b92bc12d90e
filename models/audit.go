package models

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Actor is who makes a change, for the audit log.
type Actor struct {
	UserID    string // empty for the system or an anonymous visitor
	Email     string
	RequestID string
}

// AuditEntry is one line of the audit log.
type AuditEntry struct {
	ID         string
	At         time.Time
	ActorID    string
	ActorEmail string
	Action     string // e.g. "login", "user.role", "group.create"
	TargetType string
	TargetID   string
	Detail     string
	RequestID  string
}

var auditInsert = newAppendOnly("audit_log", "id, at, actor_id, actor_email, action, target_type, target_id, detail, request_id", "")

// Audit records a change made by actor, in the transaction that makes it.
func (tx *Tx) Audit(ctx context.Context, a Actor, action, targetType, targetID, detail string) error {
	err := tx.insert(ctx, auditInsert,
		NewID(), tx.Now(), nullString(a.UserID), a.Email, action, targetType, targetID, truncate(detail, 2000), a.RequestID)
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

// AuditFilter narrows ListAudit.
type AuditFilter struct {
	Action  string // prefix, e.g. "user."
	ActorID string
	Target  string // target id
	Limit   int
	Offset  int
}

// ListAudit returns entries newest first, and how many match.
func (d *DB) ListAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, int, error) {
	where := []string{"1 = 1"}
	var args []any
	if f.Action != "" {
		where = append(where, "action LIKE ? ESCAPE '\\'")
		args = append(args, escapeLike(f.Action)+"%")
	}
	if f.ActorID != "" {
		where = append(where, "actor_id = ?")
		args = append(args, f.ActorID)
	}
	if f.Target != "" {
		where = append(where, "target_id = ?")
		args = append(args, f.Target)
	}
	cond := strings.Join(where, " AND ")
	var total int
	if err := d.queryRow(ctx, "SELECT COUNT(*) FROM audit_log WHERE "+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count audit: %w", err)
	}
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	rows, err := d.query(ctx, `SELECT id, at, actor_id, actor_email, action, target_type, target_id, detail, request_id
		FROM audit_log WHERE `+cond+" ORDER BY at DESC, id DESC LIMIT ? OFFSET ?", append(args, limit, f.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("list audit: %w", err)
	}
	out, err := collect(rows, scanAudit)
	return out, total, err
}

func scanAudit(row rowScanner) (AuditEntry, error) {
	var e AuditEntry
	var actor nullStr
	if err := row.Scan(&e.ID, &e.At, &actor, &e.ActorEmail, &e.Action, &e.TargetType, &e.TargetID, &e.Detail, &e.RequestID); err != nil {
		return e, fmt.Errorf("scan audit: %w", err)
	}
	e.ActorID = actor.String
	e.At = e.At.UTC()
	return e, nil
}

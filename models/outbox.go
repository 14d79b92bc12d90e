package models

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// MailState is where an outbox message stands.
type MailState string

const (
	MailPending MailState = "pending"
	MailSending MailState = "sending"
	MailSent    MailState = "sent"
	MailFailed  MailState = "failed"
)

// Label is the state's French name.
func (s MailState) Label() string {
	switch s {
	case MailPending:
		return "En attente"
	case MailSending:
		return "En cours d'envoi"
	case MailSent:
		return "Envoyé"
	case MailFailed:
		return "Échec"
	}
	return string(s)
}

// OutboxMessage is one email to deliver. It is written in the same
// transaction as the change that causes it.
type OutboxMessage struct {
	ID            string
	DedupeKey     string // unique: one cause sends one email
	Kind          string // e.g. "login", "invitation"; for admins and tests
	Recipient     string
	Subject       string
	TextBody      string
	HTMLBody      string
	ICSMethod     string // "REQUEST", "CANCEL" or empty
	ICSBody       string
	State         MailState
	Attempts      int
	NextAttemptAt time.Time
	LockedUntil   time.Time
	SentAt        time.Time
	LastError     string
	Captured      bool // kept without SMTP (development)
	CreatedAt     time.Time
}

const outboxColumns = `id, dedupe_key, kind, recipient, subject, text_body, html_body, ics_method, ics_body,
	state, attempts, next_attempt_at, locked_until, sent_at, last_error, captured, created_at`

// outboxListColumns are outboxColumns with empty bodies, for lists.
const outboxListColumns = `id, dedupe_key, kind, recipient, subject, '', '', ics_method, '',
	state, attempts, next_attempt_at, locked_until, sent_at, last_error, captured, created_at`

func scanOutbox(row interface{ Scan(...any) error }) (OutboxMessage, error) {
	var m OutboxMessage
	var locked, sent nullTime
	err := row.Scan(&m.ID, &m.DedupeKey, &m.Kind, &m.Recipient, &m.Subject, &m.TextBody, &m.HTMLBody, &m.ICSMethod, &m.ICSBody,
		&m.State, &m.Attempts, &m.NextAttemptAt, &locked, &sent, &m.LastError, &m.Captured, &m.CreatedAt)
	m.LockedUntil, m.SentAt = locked.Time, sent.Time
	return m, err
}

// Enqueue adds a message to the outbox. A message whose dedupe key is
// already there is not added again, and queued reports false.
func (tx *Tx) Enqueue(ctx context.Context, m OutboxMessage) (queued bool, err error) {
	if m.DedupeKey == "" || m.Recipient == "" {
		return false, fmt.Errorf("enqueue %s: dedupe key and recipient are required", m.Kind)
	}
	if strings.ContainsAny(m.Recipient+m.Subject, "\r\n") {
		return false, fmt.Errorf("enqueue %s: line break in a header", m.Kind)
	}
	now := tx.Now()
	res, err := tx.exec(ctx, `INSERT INTO outbox (id, dedupe_key, kind, recipient, subject, text_body, html_body, ics_method, ics_body,
		state, attempts, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)
		ON CONFLICT (dedupe_key) DO NOTHING`,
		NewID(), m.DedupeKey, m.Kind, m.Recipient, m.Subject, m.TextBody, m.HTMLBody, m.ICSMethod, m.ICSBody,
		MailPending, now, now)
	if err != nil {
		return false, fmt.Errorf("enqueue %s: %w", m.Kind, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ClaimDue takes up to limit messages that are due, oldest first, and marks
// them as being sent until now+lease. A message whose worker died is due
// again once its lease has run out.
func (s *Store) ClaimDue(ctx context.Context, limit int, lease time.Duration) ([]OutboxMessage, error) {
	var out []OutboxMessage
	err := s.Tx(ctx, func(tx *Tx) error {
		now := tx.Now()
		due := `((state = ? AND next_attempt_at <= ?) OR (state = ? AND locked_until < ?))`
		dueArgs := []any{MailPending, now, MailSending, now}
		rows, err := tx.query(ctx, `SELECT `+outboxColumns+` FROM outbox WHERE `+due+` ORDER BY created_at, id LIMIT ?`,
			append(dueArgs, limit)...)
		if err != nil {
			return fmt.Errorf("select due mail: %w", err)
		}
		for rows.Next() {
			m, err := scanOutbox(rows)
			if err != nil {
				rows.Close()
				return fmt.Errorf("scan mail: %w", err)
			}
			out = append(out, m)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		claimed := out[:0]
		for _, m := range out {
			// Checking "due" again makes a concurrent claimer lose the row on PostgreSQL.
			res, err := tx.exec(ctx, `UPDATE outbox SET state = ?, locked_until = ?, attempts = attempts + 1 WHERE id = ? AND `+due,
				append([]any{MailSending, now.Add(lease), m.ID}, dueArgs...)...)
			if err != nil {
				return fmt.Errorf("claim mail %s: %w", m.ID, err)
			}
			if n, _ := res.RowsAffected(); n == 1 {
				m.State = MailSending
				m.Attempts++
				m.LockedUntil = now.Add(lease)
				claimed = append(claimed, m)
			}
		}
		out = claimed
		return nil
	})
	return out, err
}

// MarkSent records a delivery (or a capture, without SMTP).
func (s *Store) MarkSent(ctx context.Context, id string, captured bool) error {
	return s.Tx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, "UPDATE outbox SET state = ?, sent_at = ?, locked_until = NULL, last_error = '', captured = ? WHERE id = ?",
			MailSent, tx.Now(), captured, id)
		return affectedOne(res, err, "mark mail %s sent", id)
	})
}

// MarkRetry puts a message back in the queue for another attempt at next.
func (s *Store) MarkRetry(ctx context.Context, id, lastError string, next time.Time) error {
	return s.Tx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, "UPDATE outbox SET state = ?, next_attempt_at = ?, locked_until = NULL, last_error = ? WHERE id = ?",
			MailPending, next.UTC(), truncate(lastError, 1000), id)
		return affectedOne(res, err, "mark mail %s for retry", id)
	})
}

// Release gives claimed messages back untried (the SMTP server could not be
// reached, or the worker is stopping): pending again, due at next, and the
// attempt their claim counted is not counted.
func (s *Store) Release(ctx context.Context, ids []string, lastError string, next time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	return s.Tx(ctx, func(tx *Tx) error {
		for _, id := range ids {
			_, err := tx.exec(ctx, `UPDATE outbox SET state = ?, next_attempt_at = ?, locked_until = NULL, last_error = ?,
				attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END WHERE id = ? AND state = ?`,
				MailPending, next.UTC(), truncate(lastError, 1000), id, MailSending)
			if err != nil {
				return fmt.Errorf("release mail %s: %w", id, err)
			}
		}
		return nil
	})
}

// MarkFailed gives up on a message; admins see it and may retry it.
func (s *Store) MarkFailed(ctx context.Context, id, lastError string) error {
	return s.Tx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, "UPDATE outbox SET state = ?, locked_until = NULL, last_error = ? WHERE id = ?",
			MailFailed, truncate(lastError, 1000), id)
		return affectedOne(res, err, "mark mail %s failed", id)
	})
}

// RetryMail puts a failed message back in the queue with fresh attempts.
func (tx *Tx) RetryMail(ctx context.Context, id string) error {
	res, err := tx.exec(ctx, "UPDATE outbox SET state = ?, attempts = 0, next_attempt_at = ?, last_error = '' WHERE id = ? AND state = ?",
		MailPending, tx.Now(), id, MailFailed)
	return affectedOne(res, err, "retry mail %s", id)
}

// OutboxByID returns one message.
func (d *DB) OutboxByID(ctx context.Context, id string) (OutboxMessage, error) {
	m, err := scanOutbox(d.queryRow(ctx, "SELECT "+outboxColumns+" FROM outbox WHERE id = ?", id))
	if err != nil {
		return OutboxMessage{}, notFound(err, "get mail %s", id)
	}
	return m, nil
}

// OutboxFilter narrows ListOutbox.
type OutboxFilter struct {
	State     MailState
	Recipient string
	Kind      string
	Limit     int
	Offset    int
	Summary   bool // leave the bodies out (lists): they are most of a row's size
}

// ListOutbox returns messages, newest first, and how many match.
func (d *DB) ListOutbox(ctx context.Context, f OutboxFilter) ([]OutboxMessage, int, error) {
	where := []string{"1 = 1"}
	var args []any
	if f.State != "" {
		where = append(where, "state = ?")
		args = append(args, f.State)
	}
	if f.Recipient != "" {
		where = append(where, "recipient = ?")
		args = append(args, NormaliseEmail(f.Recipient))
	}
	if f.Kind != "" {
		where = append(where, "kind = ?")
		args = append(args, f.Kind)
	}
	cond := strings.Join(where, " AND ")
	var total int
	if err := d.queryRow(ctx, "SELECT COUNT(*) FROM outbox WHERE "+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count outbox: %w", err)
	}
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 50
	}
	cols := outboxColumns
	if f.Summary {
		cols = outboxListColumns
	}
	rows, err := d.query(ctx, "SELECT "+cols+" FROM outbox WHERE "+cond+" ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
		append(args, limit, f.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("list outbox: %w", err)
	}
	defer rows.Close()
	var out []OutboxMessage
	for rows.Next() {
		m, err := scanOutbox(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("scan mail: %w", err)
		}
		out = append(out, m)
	}
	return out, total, rows.Err()
}

// OutboxCounts counts messages by state.
func (d *DB) OutboxCounts(ctx context.Context) (map[MailState]int, error) {
	rows, err := d.query(ctx, "SELECT state, COUNT(*) FROM outbox GROUP BY state")
	if err != nil {
		return nil, fmt.Errorf("count outbox: %w", err)
	}
	defer rows.Close()
	out := map[MailState]int{}
	for rows.Next() {
		var s MailState
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, err
		}
		out[s] = n
	}
	return out, rows.Err()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

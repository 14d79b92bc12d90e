package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
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
	InlineQR      string // text of a QR code the HTML shows inline (cid:, internal/mail.EmbedQR), drawn at delivery; empty: none
	State         MailState
	Attempts      int
	NextAttemptAt time.Time
	LockedUntil   time.Time
	SentAt        time.Time
	LastError     string
	Captured      bool // kept without SMTP (development)
	CreatedAt     time.Time

	// Body, when set, is the text and HTML shared with other messages, with
	// placeholders that Vars replace (placeholder, value, placeholder,
	// value …; HTML gets the values escaped). Enqueue stores the body once
	// for all the messages that share it and only the values with each
	// message; reading a message fills TextBody and HTMLBody.
	Body *MailBody
	Vars []string
}

// MailBody is an email's text and HTML with placeholders for what differs
// between recipients (a name, an address, a link, a code). The registration
// opening queues thousands of confirmations that differ only by those:
// storing their 5 KB of HTML once instead of once per person is most of
// what the single SQLite writer saves (ADR 0008).
type MailBody struct {
	Text, HTML string
	hash       string
}

// NewMailBody names a body by a hash of its content.
func NewMailBody(text, html string) *MailBody {
	h := sha256.New()
	h.Write([]byte(text))
	h.Write([]byte{0})
	h.Write([]byte(html))
	return &MailBody{Text: text, HTML: html, hash: hex.EncodeToString(h.Sum(nil))}
}

// expandBody replaces the placeholders of text and htm, in the order of
// vars (as strings.NewReplacer does), the values escaped in HTML.
func expandBody(text, htm string, vars []string) (string, string) {
	if len(vars) < 2 {
		return text, htm
	}
	escaped := make([]string, len(vars))
	for i, v := range vars {
		if i%2 == 1 {
			v = html.EscapeString(v)
		}
		escaped[i] = v
	}
	return strings.NewReplacer(vars...).Replace(text), strings.NewReplacer(escaped...).Replace(htm)
}

// outboxColumns read a message whole: a shared body comes from
// outbox_bodies with the message's values (see scanOutbox).
const outboxColumns = `id, dedupe_key, kind, recipient, subject, COALESCE(text_template, text_body), COALESCE(html_template, html_body),
	body_vars, ics_method, ics_body, inline_qr, state, attempts, next_attempt_at, locked_until, sent_at, last_error, captured, created_at`

// outboxFrom is the FROM clause of outboxColumns.
const outboxFrom = ` FROM outbox LEFT JOIN outbox_bodies ON hash = body_hash`

// outboxListColumns are outboxColumns with empty bodies, for lists.
const outboxListColumns = `id, dedupe_key, kind, recipient, subject, '', '', '', ics_method, '', inline_qr,
	state, attempts, next_attempt_at, locked_until, sent_at, last_error, captured, created_at`

func scanOutbox(row interface{ Scan(...any) error }) (OutboxMessage, error) {
	var m OutboxMessage
	var locked, sent nullTime
	var vars string
	err := row.Scan(&m.ID, &m.DedupeKey, &m.Kind, &m.Recipient, &m.Subject, &m.TextBody, &m.HTMLBody, &vars, &m.ICSMethod, &m.ICSBody, &m.InlineQR,
		&m.State, &m.Attempts, &m.NextAttemptAt, &locked, &sent, &m.LastError, &m.Captured, &m.CreatedAt)
	m.LockedUntil, m.SentAt = locked.Time, sent.Time
	if err == nil && vars != "" {
		if err := scanVars(&m, vars); err != nil {
			return m, err
		}
		m.TextBody, m.HTMLBody = expandBody(m.TextBody, m.HTMLBody, m.Vars)
	}
	return m, err
}

// scanVars reads the stored values of a message's shared body.
func scanVars(m *OutboxMessage, vars string) error {
	if err := json.Unmarshal([]byte(vars), &m.Vars); err != nil || len(m.Vars)%2 != 0 {
		return fmt.Errorf("mail %s: values of its shared body: %v", m.ID, err)
	}
	return nil
}

// storeBody stores a shared body unless it is there. On PostgreSQL the
// statement first takes the bodies' advisory lock, shared, for the rest of
// the transaction: the retention job, which takes it exclusively, cannot
// delete the body (found unused) before this transaction's messages that
// use it are committed, and cannot have deleted it unseen (ADR 0009).
// Shared holders never wait for one another; the lock is taken again only
// for a body new to the transaction.
var storeBody = map[Dialect]string{
	SQLite: `INSERT INTO outbox_bodies (hash, text_template, html_template, stored_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (hash) DO NOTHING`,
	Postgres: `WITH guard AS (SELECT pg_advisory_xact_lock_shared(` + fmt.Sprint(outboxBodiesLock) + `))
		INSERT INTO outbox_bodies (hash, text_template, html_template, stored_at)
		SELECT CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TIMESTAMP) FROM guard
		ON CONFLICT (hash) DO NOTHING`,
}

var outboxInsert = newAppendOnly("outbox", `id, dedupe_key, kind, recipient, subject, text_body, html_body, body_hash, body_vars,
	ics_method, ics_body, inline_qr, state, attempts, next_attempt_at, created_at`, "ON CONFLICT (dedupe_key) DO NOTHING")

// Enqueue adds a message to the outbox. A message whose dedupe key is
// already there is not added again, and queued reports false.
func (tx *Tx) Enqueue(ctx context.Context, m OutboxMessage) (queued bool, err error) {
	row, err := tx.outboxRow(ctx, m)
	if err != nil {
		return false, err
	}
	res, err := tx.exec(ctx, outboxInsert.statement(1), row...)
	if err != nil {
		return false, fmt.Errorf("enqueue %s: %w", m.Kind, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// Queue adds a message to the outbox like Enqueue, without telling whether
// its dedupe key was there already: in a group commit (Store.Batch) the
// row is written with the batch's others, just before the batch commits.
func (tx *Tx) Queue(ctx context.Context, m OutboxMessage) error {
	row, err := tx.outboxRow(ctx, m)
	if err != nil {
		return err
	}
	if err := tx.insert(ctx, outboxInsert, row...); err != nil {
		return fmt.Errorf("enqueue %s: %w", m.Kind, err)
	}
	return nil
}

// outboxRow checks a message and returns its outbox row, storing its
// shared body first when this transaction has not stored or found it yet.
func (tx *Tx) outboxRow(ctx context.Context, m OutboxMessage) ([]any, error) {
	if m.DedupeKey == "" || m.Recipient == "" {
		return nil, fmt.Errorf("enqueue %s: dedupe key and recipient are required", m.Kind)
	}
	if strings.ContainsAny(m.Recipient+m.Subject, "\r\n") {
		return nil, fmt.Errorf("enqueue %s: line break in a header", m.Kind)
	}
	now := tx.Now()
	text, htm, hash, vars := m.TextBody, m.HTMLBody, any(nil), ""
	if m.Body != nil {
		if len(m.Vars)%2 != 0 {
			return nil, fmt.Errorf("enqueue %s: placeholders and values do not pair", m.Kind)
		}
		// Stored once: later messages find it there (and change nothing);
		// within one transaction, once is enough to know.
		if !tx.bodies[m.Body.hash] {
			if _, err := tx.exec(ctx, storeBody[tx.dialect], m.Body.hash, m.Body.Text, m.Body.HTML, now); err != nil {
				return nil, fmt.Errorf("enqueue %s: shared body: %w", m.Kind, err)
			}
			if tx.bodies == nil {
				tx.bodies = map[string]bool{}
			}
			tx.bodies[m.Body.hash] = true
		}
		b, err := json.Marshal(m.Vars)
		if err != nil {
			return nil, err
		}
		text, htm, hash, vars = "", "", m.Body.hash, string(b)
	}
	return []any{NewID(), m.DedupeKey, m.Kind, m.Recipient, m.Subject, text, htm, hash, vars, m.ICSMethod, m.ICSBody,
		m.InlineQR, MailPending, 0, now, now}, nil
}

// ClaimDue takes up to limit messages that are due, those whose lease ran
// out (their worker died) first, then the pending ones in the order they
// fell due, and marks them as being sent until now+lease.
//
// Only the claim itself is a write: the candidates are read from the
// index of due messages beforehand, and the claimed messages whole
// afterwards, outside the transaction. The claim checks again that each
// is due, so that of concurrent claimers one gets each message, and goes
// through the group commit. Reading and sorting every due message with
// its body inside the write transaction held the single SQLite writer
// 10–30 ms per claim while a registration burst's emails were queued (and
// the registrations waited).
func (s *Store) ClaimDue(ctx context.Context, limit int, lease time.Duration) ([]OutboxMessage, error) {
	if limit <= 0 {
		return nil, nil
	}
	ids, err := s.dueIDs(ctx, limit)
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	var claimed []string
	err = s.Batch(ctx, func(tx *Tx) error {
		now := tx.Now()
		args := append([]any{MailSending, now.Add(lease)}, anys(ids)...)
		var err error // claimed is set anew: a batch may run its writes twice
		claimed, err = tx.queryStrings(ctx, `UPDATE outbox SET state = ?, locked_until = ?, attempts = attempts + 1
			WHERE id IN (`+marks(len(ids))+`) AND `+outboxDue+` RETURNING id`, append(args, MailPending, now, MailSending, now)...)
		if err != nil {
			return fmt.Errorf("claim mail: %w", err)
		}
		return nil
	})
	if err != nil || len(claimed) == 0 {
		return nil, err
	}
	rows, err := s.query(ctx, `SELECT `+outboxColumns+outboxFrom+` WHERE id IN (`+marks(len(claimed))+`)`, anys(claimed)...)
	if err != nil {
		return nil, fmt.Errorf("read claimed mail: %w", err)
	}
	msgs, err := collect(rows, scanOutbox)
	if err != nil {
		return nil, fmt.Errorf("scan mail: %w", err)
	}
	byID := make(map[string]OutboxMessage, len(msgs))
	for _, m := range msgs {
		byID[m.ID] = m
	}
	out := make([]OutboxMessage, 0, len(claimed))
	for _, id := range ids { // in the order they fell due
		if m, ok := byID[id]; ok {
			out = append(out, m)
		}
	}
	return out, nil
}

// outboxDue is the condition of a message due at the second and fourth
// arguments (with MailPending and MailSending first and third).
const outboxDue = `((state = ? AND next_attempt_at <= ?) OR (state = ? AND locked_until < ?))`

// dueIDs returns up to limit messages due now: those whose lease ran out
// first, then the pending ones in the order they fell due. Each query
// follows the index on (state, next_attempt_at) and stops at limit.
func (s *Store) dueIDs(ctx context.Context, limit int) ([]string, error) {
	now := s.Now()
	var ids []string
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`SELECT id FROM outbox WHERE state = ? AND locked_until < ? ORDER BY locked_until, id LIMIT ?`, []any{MailSending, now}},
		{`SELECT id FROM outbox WHERE state = ? AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?`, []any{MailPending, now}},
	} {
		more, err := s.queryStrings(ctx, q.sql, append(q.args, limit-len(ids))...)
		if err != nil {
			return nil, fmt.Errorf("select due mail: %w", err)
		}
		if ids = append(ids, more...); len(ids) >= limit {
			break
		}
	}
	return ids, nil
}

// marks are n placeholders separated by commas.
func marks(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

// MarkSent records a delivery (or a capture, without SMTP).
// It goes through the group commit: during a burst of registrations, the
// worker's marks share their transactions instead of each committing alone
// on the single SQLite writer.
func (s *Store) MarkSent(ctx context.Context, id string, captured bool) error {
	return s.Batch(ctx, func(tx *Tx) error {
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
	m, err := scanOutbox(d.queryRow(ctx, "SELECT "+outboxColumns+outboxFrom+" WHERE id = ?", id))
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
	cols := outboxColumns + outboxFrom
	if f.Summary {
		cols = outboxListColumns + " FROM outbox"
	}
	rows, err := d.query(ctx, "SELECT "+cols+" WHERE "+cond+" ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
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

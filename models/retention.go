package models

import (
	"context"
	"fmt"
	"time"
)

// Retention limits (RGPD, ADR 0009): what Agora no longer needs is deleted
// after a while. Each pass deletes in short transactions of purgeChunk rows,
// so that the single SQLite writer (and the registration opening behind it)
// never waits long.

const purgeChunk = 500

// outboxBodiesLock is the PostgreSQL advisory lock that guards the shared
// mail bodies (ADR 0009): Enqueue takes it shared, in the statement that
// stores a body, for the rest of its transaction; PurgeMail takes it
// exclusively before deleting the bodies no message uses. A body a message
// of a transaction still open refers to is never deleted under it, and
// enqueuers never wait for one another. SQLite serialises writers anyway.
const outboxBodiesLock = 0x61676f7261_0008 // "agora", ADR 0008's bodies

// PurgeMail deletes the outbox messages sent or failed before before, then
// the shared bodies stored before before that no message uses any more.
// It returns how many of each it deleted.
func (s *Store) PurgeMail(ctx context.Context, before time.Time) (mail, bodies int, err error) {
	for {
		var m, b int
		err := s.Tx(ctx, func(tx *Tx) error {
			var err error
			m, b, err = tx.purgeMail(ctx, before.UTC(), purgeChunk)
			return err
		})
		mail, bodies = mail+m, bodies+b
		if err != nil || m < purgeChunk {
			return mail, bodies, err
		}
	}
}

// purgeMail deletes up to limit old messages and, when that was the last
// of them (fewer than limit), the bodies left unused, in one transaction.
func (tx *Tx) purgeMail(ctx context.Context, before time.Time, limit int) (mail, bodies int, err error) {
	if tx.dialect == Postgres {
		// Taken first, before any row lock: while the purge waits for it
		// it holds nothing an enqueuer could wait for.
		if _, err := tx.exec(ctx, "SELECT pg_advisory_xact_lock(?)", int64(outboxBodiesLock)); err != nil {
			return 0, 0, fmt.Errorf("lock mail bodies: %w", err)
		}
	}
	// A failed message's last attempt was made when it was due
	// (next_attempt_at); a sent one was due before it was sent, so the
	// first test, which the outbox_due index serves, holds for both.
	res, err := tx.exec(ctx, `DELETE FROM outbox WHERE id IN (SELECT id FROM outbox
		WHERE state IN (?, ?) AND next_attempt_at < ? AND COALESCE(sent_at, next_attempt_at) < ? LIMIT ?)`,
		MailSent, MailFailed, before, before, limit)
	if err != nil {
		return 0, 0, fmt.Errorf("purge mail: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil || n >= int64(limit) {
		return int(n), 0, err
	}
	// NOT IN reads the outbox once (SQLite builds a temporary index of it,
	// PostgreSQL a hash); NOT EXISTS, with no index on body_hash (one more
	// index for every message queued), read it once per old body: 37 ms
	// against 710 ms on SQLite for 50,000 messages and 50 bodies.
	res, err = tx.exec(ctx, `DELETE FROM outbox_bodies WHERE stored_at < ?
		AND hash NOT IN (SELECT body_hash FROM outbox WHERE body_hash IS NOT NULL)`, before)
	if err != nil {
		return int(n), 0, fmt.Errorf("purge mail bodies: %w", err)
	}
	b, err := res.RowsAffected()
	return int(n), int(b), err
}

// PurgeAudit deletes the audit entries recorded before before and returns
// how many.
func (s *Store) PurgeAudit(ctx context.Context, before time.Time) (int, error) {
	total := 0
	for {
		var n int64
		err := s.Tx(ctx, func(tx *Tx) error {
			res, err := tx.exec(ctx, "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE at < ? LIMIT ?)", before.UTC(), purgeChunk)
			if err != nil {
				return fmt.Errorf("purge audit: %w", err)
			}
			n, err = res.RowsAffected()
			return err
		})
		total += int(n)
		if err != nil || n < purgeChunk {
			return total, err
		}
	}
}

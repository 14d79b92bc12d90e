package models

import (
	"context"
	"fmt"
	"time"
)

// IdempotencyTTL is how long an Idempotency-Key is remembered.
const IdempotencyTTL = 24 * time.Hour

// IdempotentResponse is the first answer given to a request that carried an
// Idempotency-Key; a retry with the same key and body gets it again.
type IdempotentResponse struct {
	RequestHash string // method, route and body of the first request
	Status      int
	Location    string
	Body        string
	CreatedAt   time.Time
}

// IdempotentResponse returns what was answered to userID's key, or ErrNotFound.
func (d *DB) IdempotentResponse(ctx context.Context, userID, key string) (IdempotentResponse, error) {
	var r IdempotentResponse
	err := d.queryRow(ctx, `SELECT request_hash, status, location, body, created_at FROM idempotency_keys
		WHERE user_id = ? AND idem_key = ? AND created_at > ?`, userID, key, d.Now().Add(-IdempotencyTTL)).
		Scan(&r.RequestHash, &r.Status, &r.Location, &r.Body, &r.CreatedAt)
	if err != nil {
		return IdempotentResponse{}, notFound(err, "get idempotency key")
	}
	return r, nil
}

// SaveIdempotentResponse remembers the answer to userID's key, in the
// transaction that made the change: ErrConflict when the key is already
// taken (a concurrent request with the same key won), so the change is
// rolled back with it.
func (tx *Tx) SaveIdempotentResponse(ctx context.Context, userID, key string, r IdempotentResponse) error {
	// An expired record with the same key makes room for the new one.
	if _, err := tx.exec(ctx, "DELETE FROM idempotency_keys WHERE user_id = ? AND idem_key = ? AND created_at <= ?",
		userID, key, tx.Now().Add(-IdempotencyTTL)); err != nil {
		return fmt.Errorf("save idempotency key: %w", err)
	}
	_, err := tx.exec(ctx, `INSERT INTO idempotency_keys (user_id, idem_key, request_hash, status, location, body, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, userID, key, r.RequestHash, r.Status, r.Location, r.Body, tx.Now())
	if isUniqueViolation(err) {
		return fmt.Errorf("save idempotency key: %w", ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("save idempotency key: %w", err)
	}
	return nil
}

package models

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Errors of login links.
var (
	ErrTokenExpired = errors.New("link expired")
	ErrTokenUsed    = errors.New("link already used")
)

// NewSecret returns a random URL-safe secret of 32 bytes and the hash under
// which it is stored. Only the hash is kept in the database.
func NewSecret() (plain, hash string) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err)) // never happens on supported systems
	}
	plain = base64.RawURLEncoding.EncodeToString(b)
	return plain, HashSecret(plain)
}

// HashSecret is the stored form of a secret. Secrets have 256 bits of
// entropy, so a plain SHA-256 is enough; lookups by hash are constant-time
// with respect to the secret.
func HashSecret(plain string) string {
	sum := sha256.Sum256([]byte(plain))
	return hex.EncodeToString(sum[:])
}

// LoginToken is a magic login link.
type LoginToken struct {
	Email     string
	NextPath  string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time // zero while unused
}

// CreateLoginToken stores a new single-use link for email and returns its secret.
func (tx *Tx) CreateLoginToken(ctx context.Context, email, nextPath string, ttl time.Duration) (string, error) {
	plain, hash := NewSecret()
	now := tx.Now()
	_, err := tx.exec(ctx, "INSERT INTO login_tokens (token_hash, email, next_path, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
		hash, NormaliseEmail(email), nextPath, now, now.Add(ttl))
	if err != nil {
		return "", fmt.Errorf("create login token: %w", err)
	}
	return plain, nil
}

// CountLoginTokensSince counts links asked for email since t (rate limiting).
func (d *DB) CountLoginTokensSince(ctx context.Context, email string, t time.Time) (int, error) {
	var n int
	err := d.queryRow(ctx, "SELECT COUNT(*) FROM login_tokens WHERE email = ? AND created_at > ?", NormaliseEmail(email), t.UTC()).Scan(&n)
	return n, err
}

// CheckLoginToken tells whether a link can still be used, without using it:
// link scanners open links before people do.
func (d *DB) CheckLoginToken(ctx context.Context, plain string) (LoginToken, error) {
	var t LoginToken
	var used nullTime
	err := d.queryRow(ctx, "SELECT email, next_path, created_at, expires_at, used_at FROM login_tokens WHERE token_hash = ?", HashSecret(plain)).
		Scan(&t.Email, &t.NextPath, &t.CreatedAt, &t.ExpiresAt, &used)
	if err != nil {
		return LoginToken{}, notFound(err, "check login token")
	}
	t.UsedAt = used.Time
	switch {
	case !t.UsedAt.IsZero():
		return t, ErrTokenUsed
	case !d.Now().Before(t.ExpiresAt):
		return t, ErrTokenExpired
	}
	return t, nil
}

// ConsumeLoginToken marks a link used and returns it; exactly one caller wins.
func (tx *Tx) ConsumeLoginToken(ctx context.Context, plain string) (LoginToken, error) {
	t, err := tx.CheckLoginToken(ctx, plain)
	if err != nil {
		return t, err
	}
	res, err := tx.exec(ctx, "UPDATE login_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL", tx.Now(), HashSecret(plain))
	if err != nil {
		return t, fmt.Errorf("consume login token: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return t, ErrTokenUsed
	}
	return t, nil
}

// WebSession is a logged-in browser.
type WebSession struct {
	UserID     string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
}

// CreateWebSession opens a session for userID and returns the cookie secret.
func (tx *Tx) CreateWebSession(ctx context.Context, userID string, absolute time.Duration) (string, error) {
	plain, hash := NewSecret()
	now := tx.Now()
	_, err := tx.exec(ctx, "INSERT INTO web_sessions (id_hash, user_id, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?)",
		hash, userID, now, now, now.Add(absolute))
	if err != nil {
		return "", fmt.Errorf("create web session: %w", err)
	}
	return plain, nil
}

// WebSessionUser returns the session behind a cookie secret and its user,
// or ErrNotFound when it does not exist, has expired or has been idle too long.
func (d *DB) WebSessionUser(ctx context.Context, plain string, idle time.Duration) (WebSession, User, error) {
	var s WebSession
	row := d.queryRow(ctx, `SELECT s.user_id, s.created_at, s.last_seen_at, s.expires_at,
		u.id, u.email, u.name, u.direction_code, u.role, u.notify_email, u.created_at, u.last_login_at
		FROM web_sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = ?`, HashSecret(plain))
	var u User
	var dir nullStr
	var last nullTime
	err := row.Scan(&s.UserID, &s.CreatedAt, &s.LastSeenAt, &s.ExpiresAt,
		&u.ID, &u.Email, &u.Name, &dir, &u.Role, &u.NotifyEmail, &u.CreatedAt, &last)
	if err != nil {
		return WebSession{}, User{}, notFound(err, "get web session")
	}
	u.DirectionCode, u.LastLoginAt = dir.String, last.Time
	now := d.Now()
	if !now.Before(s.ExpiresAt) || now.Sub(s.LastSeenAt) > idle {
		return WebSession{}, User{}, fmt.Errorf("web session expired: %w", ErrNotFound)
	}
	return s, u, nil
}

// TouchWebSession records activity on a session (keeps it from idling out).
func (tx *Tx) TouchWebSession(ctx context.Context, plain string) error {
	_, err := tx.exec(ctx, "UPDATE web_sessions SET last_seen_at = ? WHERE id_hash = ?", tx.Now(), HashSecret(plain))
	return err
}

// DeleteWebSession ends one session (logout).
func (tx *Tx) DeleteWebSession(ctx context.Context, plain string) error {
	_, err := tx.exec(ctx, "DELETE FROM web_sessions WHERE id_hash = ?", HashSecret(plain))
	return err
}

// DeleteUserWebSessions ends every session of a user.
func (tx *Tx) DeleteUserWebSessions(ctx context.Context, userID string) error {
	_, err := tx.exec(ctx, "DELETE FROM web_sessions WHERE user_id = ?", userID)
	return err
}

// PurgeExpired removes expired sessions and old login links.
func (tx *Tx) PurgeExpired(ctx context.Context) error {
	now := tx.Now()
	if _, err := tx.exec(ctx, "DELETE FROM web_sessions WHERE expires_at < ?", now); err != nil {
		return fmt.Errorf("purge web sessions: %w", err)
	}
	if _, err := tx.exec(ctx, "DELETE FROM login_tokens WHERE expires_at < ?", now.Add(-24*time.Hour)); err != nil {
		return fmt.Errorf("purge login tokens: %w", err)
	}
	return nil
}

package models

import (
	"context"
	"fmt"
	"time"
)

// OIDCLogin is a login started at the OpenID Connect provider and not yet
// come back: the state sent (stored hashed), the nonce expected in the ID
// token and the PKCE verifier. It can be completed once.
type OIDCLogin struct {
	Nonce     string
	Verifier  string
	NextPath  string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// CreateOIDCLogin stores a pending login and returns its state.
func (tx *Tx) CreateOIDCLogin(ctx context.Context, l OIDCLogin, ttl time.Duration) (string, error) {
	plain, hash := NewSecret()
	now := tx.Now()
	_, err := tx.exec(ctx, `INSERT INTO oidc_logins (state_hash, nonce, verifier, next_path, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?)`, hash, l.Nonce, l.Verifier, l.NextPath, now, now.Add(ttl))
	if err != nil {
		return "", fmt.Errorf("create oidc login: %w", err)
	}
	return plain, nil
}

// ConsumeOIDCLogin marks the login of state used and returns it: exactly one
// caller wins. ErrNotFound for an unknown state, ErrTokenUsed for a replayed
// one, ErrTokenExpired when the person took too long.
func (tx *Tx) ConsumeOIDCLogin(ctx context.Context, state string) (OIDCLogin, error) {
	var l OIDCLogin
	var used nullTime
	err := tx.queryRow(ctx, "SELECT nonce, verifier, next_path, created_at, expires_at, used_at FROM oidc_logins WHERE state_hash = ?",
		HashSecret(state)).Scan(&l.Nonce, &l.Verifier, &l.NextPath, &l.CreatedAt, &l.ExpiresAt, &used)
	if err != nil {
		return OIDCLogin{}, notFound(err, "get oidc login")
	}
	if used.Valid {
		return OIDCLogin{}, ErrTokenUsed
	}
	if !tx.Now().Before(l.ExpiresAt) {
		return OIDCLogin{}, ErrTokenExpired
	}
	res, err := tx.exec(ctx, "UPDATE oidc_logins SET used_at = ? WHERE state_hash = ? AND used_at IS NULL", tx.Now(), HashSecret(state))
	if err != nil {
		return OIDCLogin{}, fmt.Errorf("consume oidc login: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return OIDCLogin{}, ErrTokenUsed
	}
	return l, nil
}

// SetWebSessionIDToken keeps the provider's ID token with a web session, for
// the provider's logout (id_token_hint).
func (tx *Tx) SetWebSessionIDToken(ctx context.Context, sessionSecret, idToken string) error {
	res, err := tx.exec(ctx, "UPDATE web_sessions SET id_token = ? WHERE id_hash = ?", idToken, HashSecret(sessionSecret))
	return affectedOne(res, err, "set web session id token")
}

// WebSessionIDToken returns the ID token kept with a web session ("" when
// the session was not opened through a provider).
func (d *DB) WebSessionIDToken(ctx context.Context, sessionSecret string) (string, error) {
	var tok string
	err := d.queryRow(ctx, "SELECT id_token FROM web_sessions WHERE id_hash = ?", HashSecret(sessionSecret)).Scan(&tok)
	if err != nil {
		return "", notFound(err, "get web session id token")
	}
	return tok, nil
}

// PurgeLoginProviderData removes pending provider logins and idempotency
// records older than keep.
func (tx *Tx) PurgeLoginProviderData(ctx context.Context, keep time.Duration) error {
	before := tx.Now().Add(-keep)
	if _, err := tx.exec(ctx, "DELETE FROM oidc_logins WHERE expires_at < ?", before); err != nil {
		return fmt.Errorf("purge oidc logins: %w", err)
	}
	if _, err := tx.exec(ctx, "DELETE FROM idempotency_keys WHERE created_at < ?", before); err != nil {
		return fmt.Errorf("purge idempotency keys: %w", err)
	}
	return nil
}

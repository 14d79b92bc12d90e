package models

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// APIKeyPrefix starts every API key, so that secret scanners and people
// recognise one.
const APIKeyPrefix = "agora_"

// APIKey is a key with which a program calls the API as its owner. Only a
// hash of the secret is stored; the secret is shown once, at creation.
type APIKey struct {
	ID         string
	UserID     string
	OwnerEmail string
	OwnerName  string
	Name       string
	Prefix     string // the first characters of the secret, to recognise it
	CreatedAt  time.Time
	LastUsedAt time.Time // zero when never used
	RevokedAt  time.Time // zero while active
}

// Active tells whether the key still opens the API.
func (k APIKey) Active() bool { return k.RevokedAt.IsZero() }

const apiKeyColumns = "k.id, k.user_id, u.email, u.name, k.name, k.prefix, k.created_at, k.last_used_at, k.revoked_at"

func scanAPIKey(row interface{ Scan(...any) error }) (APIKey, error) {
	var k APIKey
	var used, revoked nullTime
	err := row.Scan(&k.ID, &k.UserID, &k.OwnerEmail, &k.OwnerName, &k.Name, &k.Prefix, &k.CreatedAt, &used, &revoked)
	k.LastUsedAt, k.RevokedAt = used.Time, revoked.Time
	return k, err
}

// CreateAPIKey makes a new key for userID and returns it with its secret,
// which is not stored and cannot be shown again.
func (tx *Tx) CreateAPIKey(ctx context.Context, userID, name string) (APIKey, string, error) {
	secret, _ := NewSecret()
	plain := APIKeyPrefix + secret
	k := APIKey{
		ID:        NewID(),
		UserID:    userID,
		Name:      strings.TrimSpace(name),
		Prefix:    plain[:len(APIKeyPrefix)+6],
		CreatedAt: tx.Now(),
	}
	_, err := tx.exec(ctx, `INSERT INTO api_keys (id, user_id, name, prefix, key_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		k.ID, k.UserID, k.Name, k.Prefix, HashSecret(plain), k.CreatedAt)
	if err != nil {
		return APIKey{}, "", fmt.Errorf("create api key: %w", err)
	}
	u, err := tx.UserByID(ctx, userID)
	if err != nil {
		return APIKey{}, "", err
	}
	k.OwnerEmail, k.OwnerName = u.Email, u.Name
	return k, plain, nil
}

// APIKeyUser returns the active key behind a secret and its owner, or
// ErrNotFound (unknown or revoked key).
func (d *DB) APIKeyUser(ctx context.Context, plain string) (APIKey, User, error) {
	if !strings.HasPrefix(plain, APIKeyPrefix) {
		return APIKey{}, User{}, fmt.Errorf("api key: %w", ErrNotFound)
	}
	k, err := scanAPIKey(d.queryRow(ctx, "SELECT "+apiKeyColumns+
		" FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.key_hash = ? AND k.revoked_at IS NULL", HashSecret(plain)))
	if err != nil {
		return APIKey{}, User{}, notFound(err, "api key")
	}
	u, err := d.UserByID(ctx, k.UserID)
	if err != nil {
		return APIKey{}, User{}, err
	}
	return k, u, nil
}

// APIKeyByID returns one key.
func (d *DB) APIKeyByID(ctx context.Context, id string) (APIKey, error) {
	k, err := scanAPIKey(d.queryRow(ctx, "SELECT "+apiKeyColumns+" FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.id = ?", id))
	if err != nil {
		return APIKey{}, notFound(err, "get api key %s", id)
	}
	return k, nil
}

// APIKeyFilter narrows ListAPIKeys.
type APIKeyFilter struct {
	UserID        string // empty: every user's keys (administration)
	ActiveOnly    bool
	Limit, Offset int
}

// ListAPIKeys returns keys newest first, and how many match.
func (d *DB) ListAPIKeys(ctx context.Context, f APIKeyFilter) ([]APIKey, int, error) {
	where := []string{"1 = 1"}
	var args []any
	if f.UserID != "" {
		where = append(where, "k.user_id = ?")
		args = append(args, f.UserID)
	}
	if f.ActiveOnly {
		where = append(where, "k.revoked_at IS NULL")
	}
	cond := strings.Join(where, " AND ")
	var total int
	if err := d.queryRow(ctx, "SELECT COUNT(*) FROM api_keys k WHERE "+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count api keys: %w", err)
	}
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	rows, err := d.query(ctx, "SELECT "+apiKeyColumns+" FROM api_keys k JOIN users u ON u.id = k.user_id WHERE "+cond+
		" ORDER BY k.created_at DESC, k.id DESC LIMIT ? OFFSET ?", append(args, limit, f.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("list api keys: %w", err)
	}
	defer rows.Close()
	var out []APIKey
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("scan api key: %w", err)
		}
		out = append(out, k)
	}
	return out, total, rows.Err()
}

// TouchAPIKey records that a key was used.
func (tx *Tx) TouchAPIKey(ctx context.Context, id string) error {
	_, err := tx.exec(ctx, "UPDATE api_keys SET last_used_at = ? WHERE id = ?", tx.Now(), id)
	return err
}

// RevokeAPIKey revokes a key. Its owner and administrators may; for anybody
// else the key does not exist (ErrNotFound). Revoking twice is harmless.
func (tx *Tx) RevokeAPIKey(ctx context.Context, by *User, id string) (APIKey, error) {
	k, err := tx.APIKeyByID(ctx, id)
	if err != nil {
		return APIKey{}, err
	}
	if by == nil || (k.UserID != by.ID && !by.IsAdmin()) {
		return APIKey{}, fmt.Errorf("revoke api key %s: %w", id, ErrNotFound)
	}
	if !k.Active() {
		return k, nil
	}
	k.RevokedAt = tx.Now()
	if _, err := tx.exec(ctx, "UPDATE api_keys SET revoked_at = ? WHERE id = ?", k.RevokedAt, id); err != nil {
		return APIKey{}, fmt.Errorf("revoke api key %s: %w", id, err)
	}
	return k, nil
}

package models

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// Identity links an account to a subject at an OpenID Connect provider
// (ProConnect): the provider's subject identifies the person even when their
// email changes.
type Identity struct {
	Issuer      string
	Subject     string
	UserID      string
	Email       string // as the provider gave it at the last login
	CreatedAt   time.Time
	LastLoginAt time.Time
}

// UserByIdentity returns the account linked to (issuer, subject).
func (d *DB) UserByIdentity(ctx context.Context, issuer, subject string) (User, error) {
	u, err := scanUser(d.queryRow(ctx, "SELECT "+prefixed("u", userColumns)+
		" FROM user_identities i JOIN users u ON u.id = i.user_id WHERE i.issuer = ? AND i.subject = ?", issuer, subject))
	if err != nil {
		return User{}, notFound(err, "get user by identity")
	}
	return u, nil
}

// IdentitiesOfUser lists the provider identities linked to an account.
func (d *DB) IdentitiesOfUser(ctx context.Context, userID string) ([]Identity, error) {
	rows, err := d.query(ctx, `SELECT issuer, subject, user_id, email, created_at, last_login_at
		FROM user_identities WHERE user_id = ? ORDER BY created_at`, userID)
	if err != nil {
		return nil, fmt.Errorf("list identities: %w", err)
	}
	defer rows.Close()
	var out []Identity
	for rows.Next() {
		var i Identity
		if err := rows.Scan(&i.Issuer, &i.Subject, &i.UserID, &i.Email, &i.CreatedAt, &i.LastLoginAt); err != nil {
			return nil, fmt.Errorf("scan identity: %w", err)
		}
		out = append(out, i)
	}
	return out, rows.Err()
}

// LinkIdentity links (issuer, subject) to an account; ErrConflict when that
// subject is already linked.
func (tx *Tx) LinkIdentity(ctx context.Context, issuer, subject, userID, email string) error {
	now := tx.Now()
	_, err := tx.exec(ctx, `INSERT INTO user_identities (issuer, subject, user_id, email, created_at, last_login_at)
		VALUES (?, ?, ?, ?, ?, ?)`, issuer, subject, userID, NormaliseEmail(email), now, now)
	if isUniqueViolation(err) {
		return fmt.Errorf("link identity: %w", ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("link identity: %w", err)
	}
	return nil
}

// TouchIdentity records a login through (issuer, subject) and the email the
// provider gave.
func (tx *Tx) TouchIdentity(ctx context.Context, issuer, subject, email string) error {
	res, err := tx.exec(ctx, "UPDATE user_identities SET last_login_at = ?, email = ? WHERE issuer = ? AND subject = ?",
		tx.Now(), NormaliseEmail(email), issuer, subject)
	return affectedOne(res, err, "touch identity")
}

// GuessDirection finds the active direction an organisational unit given by
// the identity provider names, by code ("DNUM", "DNUM/SDPSN") or by full
// name ("Direction du numérique"). It returns "" when nothing matches.
func (d *DB) GuessDirection(ctx context.Context, unit string) (string, error) {
	unit = strings.TrimSpace(unit)
	if unit == "" {
		return "", nil
	}
	dirs, err := d.ListDirections(ctx, false)
	if err != nil {
		return "", err
	}
	words := strings.FieldsFunc(strings.ToUpper(unit), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	for _, w := range words {
		for _, dir := range dirs {
			if w == dir.Code {
				return dir.Code, nil
			}
		}
	}
	for _, dir := range dirs {
		if strings.EqualFold(strings.TrimSpace(dir.Name), unit) {
			return dir.Code, nil
		}
	}
	return "", nil
}

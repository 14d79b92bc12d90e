package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Role is what a user may do across Agora.
type Role string

const (
	RoleAdmin     Role = "admin"
	RoleOrganiser Role = "organiser"
	RoleAgent     Role = "agent"
)

// Roles lists every role, most powerful first.
var Roles = []Role{RoleAdmin, RoleOrganiser, RoleAgent}

// Valid tells whether r is a known role.
func (r Role) Valid() bool {
	return r == RoleAdmin || r == RoleOrganiser || r == RoleAgent
}

// Label is the role's French name.
func (r Role) Label() string {
	switch r {
	case RoleAdmin:
		return "Administrateur"
	case RoleOrganiser:
		return "Organisateur"
	case RoleAgent:
		return "Agent"
	}
	return string(r)
}

// User is a person with an account.
type User struct {
	ID            string
	Email         string
	Name          string
	DirectionCode string // empty when not chosen yet
	Role          Role
	NotifyEmail   bool // wants notification emails beyond the essential ones
	CreatedAt     time.Time
	LastLoginAt   time.Time // zero when never logged in
}

// IsAdmin tells whether the user administers the instance.
func (u *User) IsAdmin() bool { return u != nil && u.Role == RoleAdmin }

// IsOrganiser tells whether the user may create groups and events directly.
func (u *User) IsOrganiser() bool {
	return u != nil && (u.Role == RoleOrganiser || u.Role == RoleAdmin)
}

// NeedsProfile tells whether the user must still give a name and a direction.
func (u *User) NeedsProfile() bool { return u.Name == "" || u.DirectionCode == "" }

// NormaliseEmail lowercases and trims an address; emails are unique case-insensitively.
func NormaliseEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

const userColumns = "id, email, name, direction_code, role, notify_email, created_at, last_login_at"

func scanUser(row interface{ Scan(...any) error }) (User, error) {
	var u User
	var dir sql.NullString
	var last sql.NullTime
	err := row.Scan(&u.ID, &u.Email, &u.Name, &dir, &u.Role, &u.NotifyEmail, &u.CreatedAt, &last)
	u.DirectionCode = dir.String
	u.LastLoginAt = last.Time
	return u, err
}

// UserByID returns one user.
func (d *DB) UserByID(ctx context.Context, id string) (User, error) {
	u, err := scanUser(d.queryRow(ctx, "SELECT "+userColumns+" FROM users WHERE id = ?", id))
	if err != nil {
		return User{}, notFound(err, "get user %s", id)
	}
	return u, nil
}

// UserByEmail returns the user with this address (any case).
func (d *DB) UserByEmail(ctx context.Context, email string) (User, error) {
	u, err := scanUser(d.queryRow(ctx, "SELECT "+userColumns+" FROM users WHERE email = ?", NormaliseEmail(email)))
	if err != nil {
		return User{}, notFound(err, "get user by email")
	}
	return u, nil
}

// UserFilter narrows ListUsers.
type UserFilter struct {
	Query  string // part of the name or email
	Role   Role
	Limit  int
	Offset int
}

// ListUsers returns users ordered by name, and how many match in all.
func (d *DB) ListUsers(ctx context.Context, f UserFilter) ([]User, int, error) {
	where := []string{"1 = 1"}
	var args []any
	if q := strings.TrimSpace(f.Query); q != "" {
		where = append(where, "(LOWER(name) LIKE ? ESCAPE '\\' OR email LIKE ? ESCAPE '\\')")
		like := "%" + escapeLike(strings.ToLower(q)) + "%"
		args = append(args, like, like)
	}
	if f.Role != "" {
		where = append(where, "role = ?")
		args = append(args, f.Role)
	}
	cond := strings.Join(where, " AND ")
	var total int
	if err := d.queryRow(ctx, "SELECT COUNT(*) FROM users WHERE "+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count users: %w", err)
	}
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	rows, err := d.query(ctx, "SELECT "+userColumns+" FROM users WHERE "+cond+" ORDER BY name, email LIMIT ? OFFSET ?",
		append(args, limit, f.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("scan user: %w", err)
		}
		out = append(out, u)
	}
	return out, total, rows.Err()
}

// CountAdmins counts users with the admin role.
func (d *DB) CountAdmins(ctx context.Context) (int, error) {
	var n int
	err := d.queryRow(ctx, "SELECT COUNT(*) FROM users WHERE role = ?", RoleAdmin).Scan(&n)
	return n, err
}

// NewUser is what CreateUser needs.
type NewUser struct {
	Email         string
	Name          string
	DirectionCode string
	Role          Role
}

// CreateUser adds an account; ErrConflict if the email is taken.
func (tx *Tx) CreateUser(ctx context.Context, in NewUser) (User, error) {
	u := User{
		ID:            NewID(),
		Email:         NormaliseEmail(in.Email),
		Name:          strings.TrimSpace(in.Name),
		DirectionCode: in.DirectionCode,
		Role:          in.Role,
		NotifyEmail:   true,
		CreatedAt:     tx.Now(),
	}
	if u.Role == "" {
		u.Role = RoleAgent
	}
	if !u.Role.Valid() {
		return User{}, fmt.Errorf("create user: unknown role %q", u.Role)
	}
	_, err := tx.exec(ctx, "INSERT INTO users ("+userColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		u.ID, u.Email, u.Name, nullString(u.DirectionCode), u.Role, u.NotifyEmail, u.CreatedAt, nil)
	if isUniqueViolation(err) {
		return User{}, fmt.Errorf("create user: email taken: %w", ErrConflict)
	}
	if err != nil {
		return User{}, fmt.Errorf("create user: %w", err)
	}
	return u, nil
}

// ProfileUpdate is what a user may change about themselves.
type ProfileUpdate struct {
	Name          string
	DirectionCode string
	NotifyEmail   bool
}

// UpdateProfile changes a user's own details.
func (tx *Tx) UpdateProfile(ctx context.Context, userID string, p ProfileUpdate) error {
	res, err := tx.exec(ctx, "UPDATE users SET name = ?, direction_code = ?, notify_email = ? WHERE id = ?",
		strings.TrimSpace(p.Name), nullString(p.DirectionCode), p.NotifyEmail, userID)
	return affectedOne(res, err, "update profile of %s", userID)
}

// ErrLastAdmin is returned when a change would leave no administrator.
var ErrLastAdmin = errors.New("the last administrator cannot lose the role")

// SetRole changes a user's role, refusing to demote the last admin. The
// admins' rows are locked before they are counted, so two admins demoting
// each other at the same time cannot both succeed (PostgreSQL; SQLite
// serialises write transactions anyway).
func (tx *Tx) SetRole(ctx context.Context, userID string, role Role) error {
	if !role.Valid() {
		return fmt.Errorf("set role: unknown role %q", role)
	}
	if role != RoleAdmin {
		if _, err := tx.exec(ctx, "UPDATE users SET role = role WHERE role = ?", RoleAdmin); err != nil {
			return fmt.Errorf("lock admins: %w", err)
		}
	}
	u, err := tx.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	if u.Role == RoleAdmin && role != RoleAdmin {
		n, err := tx.CountAdmins(ctx)
		if err != nil {
			return err
		}
		if n <= 1 {
			return ErrLastAdmin
		}
	}
	res, err := tx.exec(ctx, "UPDATE users SET role = ? WHERE id = ?", role, userID)
	return affectedOne(res, err, "set role of %s", userID)
}

// TouchLogin records a successful login.
func (tx *Tx) TouchLogin(ctx context.Context, userID string) error {
	_, err := tx.exec(ctx, "UPDATE users SET last_login_at = ? WHERE id = ?", tx.Now(), userID)
	return err
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func affectedOne(res sql.Result, err error, format string, args ...any) error {
	if err != nil {
		return fmt.Errorf(format+": %w", append(args, err)...)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf(format+": %w", append(args, err)...)
	}
	if n == 0 {
		return fmt.Errorf(format+": %w", append(args, ErrNotFound)...)
	}
	return nil
}

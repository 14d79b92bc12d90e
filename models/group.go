package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// Errors of groups and sessions. Handlers turn them into French messages.
var (
	ErrForbidden         = errors.New("not allowed")
	ErrNotMember         = errors.New("not a member of the group")
	ErrGroupFull         = errors.New("the group has reached its member limit")
	ErrJoinPolicy        = errors.New("the group's join policy does not allow this")
	ErrLastOrganiser     = errors.New("a group keeps at least one organiser")
	ErrAlreadyMember     = errors.New("already a member")
	ErrGroupInactive     = errors.New("the group is not active")
	ErrLimitBelowMembers = errors.New("member limit below the number of members")
)

// Theme is what a group is about.
type Theme string

const (
	ThemeRoleMetier  Theme = "role_metier"
	ThemeComitologie Theme = "comitologie"
	ThemeHackathon   Theme = "hackathon"
	ThemeOther       Theme = "autre"
)

// Themes lists every theme in display order.
var Themes = []Theme{ThemeRoleMetier, ThemeComitologie, ThemeHackathon, ThemeOther}

// Valid tells whether t is a known theme.
func (t Theme) Valid() bool {
	switch t {
	case ThemeRoleMetier, ThemeComitologie, ThemeHackathon, ThemeOther:
		return true
	}
	return false
}

// Label is the theme's French name.
func (t Theme) Label() string {
	switch t {
	case ThemeRoleMetier:
		return "Rôle métier"
	case ThemeComitologie:
		return "Comitologie"
	case ThemeHackathon:
		return "Hackathon des communs"
	case ThemeOther:
		return "Autre"
	}
	return string(t)
}

// JoinPolicy is how agents become members.
type JoinPolicy string

const (
	JoinOpen       JoinPolicy = "open"       // anyone joins in one click
	JoinApproval   JoinPolicy = "approval"   // agents ask, organisers accept or decline
	JoinInvitation JoinPolicy = "invitation" // organisers invite by email
)

// JoinPolicies lists every policy in display order.
var JoinPolicies = []JoinPolicy{JoinOpen, JoinApproval, JoinInvitation}

// Valid tells whether p is a known policy.
func (p JoinPolicy) Valid() bool { return p == JoinOpen || p == JoinApproval || p == JoinInvitation }

// Label is the policy's French name.
func (p JoinPolicy) Label() string {
	switch p {
	case JoinOpen:
		return "Ouvert à tous"
	case JoinApproval:
		return "Sur demande, validée par les organisateurs"
	case JoinInvitation:
		return "Sur invitation"
	}
	return string(p)
}

// GroupStatus is where a group stands.
type GroupStatus string

const (
	GroupProposed GroupStatus = "proposed" // proposed by an agent, waiting for an admin
	GroupActive   GroupStatus = "active"
	GroupArchived GroupStatus = "archived"
	GroupRejected GroupStatus = "rejected" // a proposal an admin declined
)

// Label is the status's French name.
func (s GroupStatus) Label() string {
	switch s {
	case GroupProposed:
		return "Proposé"
	case GroupActive:
		return "Actif"
	case GroupArchived:
		return "Archivé"
	case GroupRejected:
		return "Refusé"
	}
	return string(s)
}

// MemberRole is a member's role in a group.
type MemberRole string

const (
	RoleGroupOrganiser MemberRole = "organiser"
	RoleGroupMember    MemberRole = "member"
)

// Label is the role's French name.
func (r MemberRole) Label() string {
	if r == RoleGroupOrganiser {
		return "Organisateur"
	}
	return "Membre"
}

// Group is a working group.
type Group struct {
	ID          string
	Title       string
	Summary     string
	Description string // Markdown
	Theme       Theme
	JoinPolicy  JoinPolicy
	MemberLimit int // 0: no limit
	Status      GroupStatus
	FeedVersion int
	CreatedBy   string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Proposal tells whether the group is a proposal, pending or declined:
// it exists only for its author and the admins.
func (g Group) Proposal() bool { return g.Status == GroupProposed || g.Status == GroupRejected }

// VisibleTo tells whether u may see the group.
func (g Group) VisibleTo(u User) bool { return !g.Proposal() || u.IsAdmin() || g.CreatedBy == u.ID }

// GroupInput is what an organiser writes about a group.
type GroupInput struct {
	Title       string
	Summary     string
	Description string
	Theme       Theme
	JoinPolicy  JoinPolicy
	MemberLimit int // 0: no limit
}

func (in GroupInput) check() error {
	switch {
	case strings.TrimSpace(in.Title) == "" || strings.ContainsAny(in.Title, "\r\n"):
		return fmt.Errorf("group: invalid title %q", in.Title)
	case !in.Theme.Valid():
		return fmt.Errorf("group: unknown theme %q", in.Theme)
	case !in.JoinPolicy.Valid():
		return fmt.Errorf("group: unknown join policy %q", in.JoinPolicy)
	case in.MemberLimit < 0:
		return fmt.Errorf("group: negative member limit %d", in.MemberLimit)
	}
	return nil
}

const groupColumns = `g.id, g.title, g.summary, g.description, g.theme, g.join_policy, g.member_limit, g.status,
	g.feed_version, g.created_by, g.created_at, g.updated_at`

func scanGroup(row interface{ Scan(...any) error }, extra ...any) (Group, error) {
	var g Group
	var limit nullInt
	var by nullStr
	err := row.Scan(append([]any{&g.ID, &g.Title, &g.Summary, &g.Description, &g.Theme, &g.JoinPolicy, &limit, &g.Status,
		&g.FeedVersion, &by, &g.CreatedAt, &g.UpdatedAt}, extra...)...)
	g.MemberLimit = int(limit.Int64)
	g.CreatedBy = by.String
	return g, err
}

// FoldSearch lowercases s and removes its accents, for word search.
func FoldSearch(s string) string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	out, _, err := transform.String(t, s)
	if err != nil {
		out = s
	}
	return strings.ToLower(out)
}

func groupSearchText(in GroupInput) string {
	return FoldSearch(in.Title + "\n" + in.Summary + "\n" + in.Description)
}

// CreateGroup adds a group with by as its first organiser. A user with the
// organiser or admin role creates an active group; any other agent creates
// a proposal that an admin approves (see SetGroupStatus).
func (tx *Tx) CreateGroup(ctx context.Context, by User, in GroupInput) (Group, error) {
	if err := in.check(); err != nil {
		return Group{}, err
	}
	now := tx.Now()
	g := Group{
		ID: NewID(), Title: strings.TrimSpace(in.Title), Summary: in.Summary, Description: in.Description,
		Theme: in.Theme, JoinPolicy: in.JoinPolicy, MemberLimit: in.MemberLimit,
		Status: GroupProposed, FeedVersion: 1, CreatedBy: by.ID, CreatedAt: now, UpdatedAt: now,
	}
	if by.IsOrganiser() {
		g.Status = GroupActive
	}
	_, err := tx.exec(ctx, `INSERT INTO work_groups (id, title, summary, description, theme, join_policy, member_limit, status,
		feed_version, created_by, created_at, updated_at, search_text) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		g.ID, g.Title, g.Summary, g.Description, g.Theme, g.JoinPolicy, nullPositive(g.MemberLimit), g.Status,
		g.FeedVersion, by.ID, now, now, groupSearchText(in))
	if err != nil {
		return Group{}, fmt.Errorf("create group: %w", err)
	}
	if err := tx.insertMember(ctx, g.ID, by.ID, RoleGroupOrganiser); err != nil {
		return Group{}, err
	}
	return g, nil
}

// UpdateGroup changes a group's description and rules (organisers, admins).
func (tx *Tx) UpdateGroup(ctx context.Context, by User, id string, in GroupInput) (Group, error) {
	if err := in.check(); err != nil {
		return Group{}, err
	}
	if err := tx.lockRow(ctx, "work_groups", id); err != nil {
		return Group{}, fmt.Errorf("update group %s: %w", id, err)
	}
	if err := tx.mustManage(ctx, by, id); err != nil {
		return Group{}, err
	}
	if in.MemberLimit > 0 {
		n, err := tx.CountMembers(ctx, id)
		if err != nil {
			return Group{}, err
		}
		if n > in.MemberLimit {
			return Group{}, fmt.Errorf("update group %s: %d members: %w", id, n, ErrLimitBelowMembers)
		}
	}
	_, err := tx.exec(ctx, `UPDATE work_groups SET title = ?, summary = ?, description = ?, theme = ?, join_policy = ?,
		member_limit = ?, updated_at = ?, search_text = ? WHERE id = ?`,
		strings.TrimSpace(in.Title), in.Summary, in.Description, in.Theme, in.JoinPolicy, nullPositive(in.MemberLimit),
		tx.Now(), groupSearchText(in), id)
	if err != nil {
		return Group{}, fmt.Errorf("update group %s: %w", id, err)
	}
	return tx.GroupByID(ctx, id)
}

// SetGroupStatus archives or reactivates a group (organisers, admins), or
// approves or rejects a proposal (admins only).
func (tx *Tx) SetGroupStatus(ctx context.Context, by User, id string, status GroupStatus) error {
	g, err := tx.GroupByID(ctx, id)
	if err != nil {
		return err
	}
	switch {
	case g.Status == GroupProposed || g.Status == GroupRejected || status == GroupRejected || status == GroupProposed:
		if !by.IsAdmin() {
			return ErrForbidden
		}
	default:
		if err := tx.mustManage(ctx, by, id); err != nil {
			return err
		}
	}
	_, err = tx.exec(ctx, "UPDATE work_groups SET status = ?, updated_at = ? WHERE id = ?", status, tx.Now(), id)
	if err != nil {
		return fmt.Errorf("set status of group %s: %w", id, err)
	}
	return nil
}

// RotateGroupFeed changes the group's feed token: the old URL stops working.
func (tx *Tx) RotateGroupFeed(ctx context.Context, by User, id string) error {
	if err := tx.mustManage(ctx, by, id); err != nil {
		return err
	}
	res, err := tx.exec(ctx, "UPDATE work_groups SET feed_version = feed_version + 1, updated_at = ? WHERE id = ?", tx.Now(), id)
	return affectedOne(res, err, "rotate feed of group %s", id)
}

// GroupByID returns one group.
func (d *DB) GroupByID(ctx context.Context, id string) (Group, error) {
	g, err := scanGroup(d.queryRow(ctx, "SELECT "+groupColumns+" FROM work_groups g WHERE g.id = ?", id))
	if err != nil {
		return Group{}, notFound(err, "get group %s", id)
	}
	return g, nil
}

// GroupListItem is a group in the directory, seen by one viewer.
type GroupListItem struct {
	Group
	Members    int
	ViewerRole MemberRole // empty when the viewer is not a member
}

// GroupFilter narrows ListGroups.
type GroupFilter struct {
	Query    string      // words, all of which must appear in the title, summary or description
	Theme    Theme       // empty: any
	Status   GroupStatus // empty: active
	ViewerID string      // the viewer's groups come first
	Admin    bool        // the viewer may see every proposal (else only their own)
	Mine     bool        // only the viewer's groups
	Limit    int
	Offset   int
}

// ListGroups returns the directory: the viewer's groups first, then by title.
func (d *DB) ListGroups(ctx context.Context, f GroupFilter) ([]GroupListItem, int, error) {
	where := []string{"g.status = ?"}
	status := f.Status
	if status == "" {
		status = GroupActive
	}
	args := []any{f.ViewerID, status}
	if (status == GroupProposed || status == GroupRejected) && !f.Admin {
		where = append(where, "g.created_by = ?")
		args = append(args, f.ViewerID)
	}
	for _, w := range strings.Fields(FoldSearch(f.Query)) {
		where = append(where, "g.search_text LIKE ? ESCAPE '\\'")
		args = append(args, "%"+escapeLike(w)+"%")
	}
	if f.Theme != "" {
		where = append(where, "g.theme = ?")
		args = append(args, f.Theme)
	}
	if f.Mine {
		where = append(where, "m.user_id IS NOT NULL")
	}
	from := " FROM work_groups g LEFT JOIN group_members m ON m.group_id = g.id AND m.user_id = ? WHERE " + strings.Join(where, " AND ")
	var total int
	if err := d.queryRow(ctx, "SELECT COUNT(*)"+from, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count groups: %w", err)
	}
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	// Sort and cut the page on narrow rows first, then read the page's
	// groups and count their members: the sorter never carries descriptions
	// nor runs a count for rows that are not shown.
	pageQ := "SELECT g.id AS pid, CASE WHEN m.user_id IS NULL THEN 1 ELSE 0 END AS plast, g.title AS ptitle" + from +
		" ORDER BY plast, ptitle, pid LIMIT ? OFFSET ?"
	rows, err := d.query(ctx, "SELECT "+groupColumns+", COALESCE(m.role, ''), (SELECT COUNT(*) FROM group_members c WHERE c.group_id = g.id)"+
		" FROM ("+pageQ+") p JOIN work_groups g ON g.id = p.pid LEFT JOIN group_members m ON m.group_id = g.id AND m.user_id = ?"+
		" ORDER BY p.plast, p.ptitle, p.pid", append(args, limit, f.Offset, f.ViewerID)...)
	if err != nil {
		return nil, 0, fmt.Errorf("list groups: %w", err)
	}
	defer rows.Close()
	var out []GroupListItem
	for rows.Next() {
		var it GroupListItem
		it.Group, err = scanGroup(rows, &it.ViewerRole, &it.Members)
		if err != nil {
			return nil, 0, fmt.Errorf("scan group: %w", err)
		}
		out = append(out, it)
	}
	return out, total, rows.Err()
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// --- membership ---

// Member is a user's membership of a group.
type Member struct {
	GroupID     string
	User        User
	Role        MemberRole
	Invitations bool // receives calendar invitations
	JoinedAt    time.Time
}

// IsOrganiser tells whether the member organises the group.
func (m Member) IsOrganiser() bool { return m.Role == RoleGroupOrganiser }

// Membership returns userID's membership of groupID, or ErrNotMember.
func (d *DB) Membership(ctx context.Context, groupID, userID string) (Member, error) {
	m := Member{GroupID: groupID}
	err := d.queryRow(ctx, "SELECT role, invitations, joined_at FROM group_members WHERE group_id = ? AND user_id = ?",
		groupID, userID).Scan(&m.Role, &m.Invitations, &m.JoinedAt)
	if err != nil {
		err = notFound(err, "membership of %s in %s", userID, groupID)
		if errors.Is(err, ErrNotFound) {
			return Member{}, ErrNotMember
		}
		return Member{}, err
	}
	m.User.ID = userID
	return m, nil
}

// CanManageGroup tells whether u may edit the group and its sessions: an
// admin, or an organiser of the group.
func (d *DB) CanManageGroup(ctx context.Context, u User, groupID string) (bool, error) {
	if u.IsAdmin() {
		return true, nil
	}
	m, err := d.Membership(ctx, groupID, u.ID)
	if errors.Is(err, ErrNotMember) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return ManagesGroup(u, &m), nil
}

// ManagesGroup is CanManageGroup for a membership already read: m is u's
// membership of the group, nil when u is not a member.
func ManagesGroup(u User, m *Member) bool {
	return u.IsAdmin() || m != nil && m.IsOrganiser()
}

func (d *DB) mustManage(ctx context.Context, u User, groupID string) error {
	ok, err := d.CanManageGroup(ctx, u, groupID)
	if err != nil {
		return err
	}
	if !ok {
		return ErrForbidden
	}
	return nil
}

// CountMembers counts a group's members (organisers included).
func (d *DB) CountMembers(ctx context.Context, groupID string) (int, error) {
	var n int
	if err := d.queryRow(ctx, "SELECT COUNT(*) FROM group_members WHERE group_id = ?", groupID).Scan(&n); err != nil {
		return 0, fmt.Errorf("count members of %s: %w", groupID, err)
	}
	return n, nil
}

// ListMembers returns a group's members, organisers first, then by name.
func (d *DB) ListMembers(ctx context.Context, groupID string) ([]Member, error) {
	rows, err := d.query(ctx, `SELECT m.role, m.invitations, m.joined_at, `+prefixed("u", userColumns)+`
		FROM group_members m JOIN users u ON u.id = m.user_id WHERE m.group_id = ?
		ORDER BY CASE WHEN m.role = 'organiser' THEN 0 ELSE 1 END, u.name, u.email`, groupID)
	if err != nil {
		return nil, fmt.Errorf("list members of %s: %w", groupID, err)
	}
	defer rows.Close()
	var out []Member
	for rows.Next() {
		m := Member{GroupID: groupID}
		u, err := scanUserAfter(rows, &m.Role, &m.Invitations, &m.JoinedAt)
		if err != nil {
			return nil, fmt.Errorf("scan member: %w", err)
		}
		m.User = u
		out = append(out, m)
	}
	return out, rows.Err()
}

// Organisers returns a group's organisers.
func (d *DB) Organisers(ctx context.Context, groupID string) ([]User, error) {
	members, err := d.ListMembers(ctx, groupID)
	if err != nil {
		return nil, err
	}
	var out []User
	for _, m := range members {
		if m.IsOrganiser() {
			out = append(out, m.User)
		}
	}
	return out, nil
}

func (tx *Tx) insertMember(ctx context.Context, groupID, userID string, role MemberRole) error {
	_, err := tx.exec(ctx, "INSERT INTO group_members (group_id, user_id, role, invitations, joined_at) VALUES (?, ?, ?, ?, ?)",
		groupID, userID, role, true, tx.Now())
	if isUniqueViolation(err) {
		return ErrAlreadyMember
	}
	if err != nil {
		return fmt.Errorf("add member %s to %s: %w", userID, groupID, err)
	}
	return nil
}

// addMember adds userID under the group's lock, refusing beyond the limit.
func (tx *Tx) addMember(ctx context.Context, groupID, userID string) error {
	if err := tx.lockRow(ctx, "work_groups", groupID); err != nil {
		return fmt.Errorf("add member to %s: %w", groupID, err)
	}
	g, err := tx.GroupByID(ctx, groupID)
	if err != nil {
		return err
	}
	if g.Status != GroupActive {
		return ErrGroupInactive
	}
	if _, err := tx.Membership(ctx, groupID, userID); err == nil {
		return ErrAlreadyMember
	} else if !errors.Is(err, ErrNotMember) {
		return err
	}
	if g.MemberLimit > 0 {
		n, err := tx.CountMembers(ctx, groupID)
		if err != nil {
			return err
		}
		if n >= g.MemberLimit {
			return ErrGroupFull
		}
	}
	return tx.insertMember(ctx, groupID, userID, RoleGroupMember)
}

// Join makes u a member of an open group.
func (tx *Tx) Join(ctx context.Context, u User, groupID string) error {
	g, err := tx.GroupByID(ctx, groupID)
	if err != nil {
		return err
	}
	if g.JoinPolicy != JoinOpen {
		return ErrJoinPolicy
	}
	return tx.addMember(ctx, groupID, u.ID)
}

// JoinRequest is an agent's request to join a group on approval.
type JoinRequest struct {
	GroupID    string
	GroupTitle string
	User       User
	Message    string
	Status     string // pending, accepted, declined
	CreatedAt  time.Time
}

// RequestToJoin records u's request to join a group on approval; asking
// again replaces the message of a pending request or reopens a declined one.
func (tx *Tx) RequestToJoin(ctx context.Context, u User, groupID, message string) error {
	g, err := tx.GroupByID(ctx, groupID)
	if err != nil {
		return err
	}
	if g.JoinPolicy != JoinApproval {
		return ErrJoinPolicy
	}
	if g.Status != GroupActive {
		return ErrGroupInactive
	}
	if _, err := tx.Membership(ctx, groupID, u.ID); err == nil {
		return ErrAlreadyMember
	}
	_, err = tx.exec(ctx, `INSERT INTO group_requests (group_id, user_id, message, status, created_at) VALUES (?, ?, ?, 'pending', ?)
		ON CONFLICT (group_id, user_id) DO UPDATE SET message = excluded.message, status = 'pending', created_at = excluded.created_at,
		decided_at = NULL, decided_by = NULL`, groupID, u.ID, message, tx.Now())
	if err != nil {
		return fmt.Errorf("request to join %s: %w", groupID, err)
	}
	return nil
}

// PendingRequest returns u's pending request to join a group, if any.
func (d *DB) PendingRequest(ctx context.Context, groupID, userID string) (bool, error) {
	var n int
	err := d.queryRow(ctx, "SELECT COUNT(*) FROM group_requests WHERE group_id = ? AND user_id = ? AND status = 'pending'",
		groupID, userID).Scan(&n)
	return n > 0, err
}

// DecideRequest accepts or declines a pending request (organisers, admins).
// Accepting refuses with ErrGroupFull when the group is full.
func (tx *Tx) DecideRequest(ctx context.Context, by User, groupID, userID string, accept bool) error {
	if err := tx.mustManage(ctx, by, groupID); err != nil {
		return err
	}
	status := "declined"
	if accept {
		status = "accepted"
		if err := tx.addMember(ctx, groupID, userID); err != nil && !errors.Is(err, ErrAlreadyMember) {
			return err
		}
	}
	res, err := tx.exec(ctx, "UPDATE group_requests SET status = ?, decided_at = ?, decided_by = ? WHERE group_id = ? AND user_id = ? AND status = 'pending'",
		status, tx.Now(), by.ID, groupID, userID)
	return affectedOne(res, err, "decide request of %s to %s", userID, groupID)
}

// PendingRequests lists the pending requests of the groups userID organises
// (every group when groupID is empty), oldest first.
func (d *DB) PendingRequests(ctx context.Context, organiserID, groupID string) ([]JoinRequest, error) {
	q := `SELECT r.group_id, g.title, r.message, r.status, r.created_at, ` + prefixed("u", userColumns) + `
		FROM group_requests r JOIN work_groups g ON g.id = r.group_id JOIN users u ON u.id = r.user_id
		WHERE r.status = 'pending'`
	var args []any
	if organiserID != "" {
		q += " AND EXISTS (SELECT 1 FROM group_members o WHERE o.group_id = r.group_id AND o.user_id = ? AND o.role = 'organiser')"
		args = append(args, organiserID)
	}
	if groupID != "" {
		q += " AND r.group_id = ?"
		args = append(args, groupID)
	}
	rows, err := d.query(ctx, q+" ORDER BY r.created_at, u.email", args...)
	if err != nil {
		return nil, fmt.Errorf("list join requests: %w", err)
	}
	defer rows.Close()
	var out []JoinRequest
	for rows.Next() {
		var r JoinRequest
		r.User, err = scanUserAfter(rows, &r.GroupID, &r.GroupTitle, &r.Message, &r.Status, &r.CreatedAt)
		if err != nil {
			return nil, fmt.Errorf("scan join request: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Invite records an invitation of email to a group (organisers, admins). It
// reports false when the address was already invited and has not answered.
func (tx *Tx) Invite(ctx context.Context, by User, groupID, email string) (bool, error) {
	if err := tx.mustManage(ctx, by, groupID); err != nil {
		return false, err
	}
	email = NormaliseEmail(email)
	if u, err := tx.UserByEmail(ctx, email); err == nil {
		if _, err := tx.Membership(ctx, groupID, u.ID); err == nil {
			return false, ErrAlreadyMember
		}
	}
	res, err := tx.exec(ctx, `INSERT INTO group_invitations (group_id, email, invited_by, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (group_id, email) DO UPDATE SET invited_by = excluded.invited_by, created_at = excluded.created_at, accepted_at = NULL
		WHERE group_invitations.accepted_at IS NOT NULL`, groupID, email, by.ID, tx.Now())
	if err != nil {
		return false, fmt.Errorf("invite %s to %s: %w", email, groupID, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// HasInvitation tells whether email has an unanswered invitation to a group.
func (d *DB) HasInvitation(ctx context.Context, groupID, email string) (bool, error) {
	var n int
	err := d.queryRow(ctx, "SELECT COUNT(*) FROM group_invitations WHERE group_id = ? AND email = ? AND accepted_at IS NULL",
		groupID, NormaliseEmail(email)).Scan(&n)
	return n > 0, err
}

// PendingInvitation is an invitation waiting for its invitee.
type PendingInvitation struct {
	GroupID    string
	GroupTitle string
	CreatedAt  time.Time
}

// InvitationsFor lists the unanswered invitations to email.
func (d *DB) InvitationsFor(ctx context.Context, email string) ([]PendingInvitation, error) {
	rows, err := d.query(ctx, `SELECT i.group_id, g.title, i.created_at FROM group_invitations i JOIN work_groups g ON g.id = i.group_id
		WHERE i.email = ? AND i.accepted_at IS NULL AND g.status = 'active' ORDER BY i.created_at`, NormaliseEmail(email))
	if err != nil {
		return nil, fmt.Errorf("list invitations: %w", err)
	}
	defer rows.Close()
	var out []PendingInvitation
	for rows.Next() {
		var p PendingInvitation
		if err := rows.Scan(&p.GroupID, &p.GroupTitle, &p.CreatedAt); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// AcceptInvitation makes u a member of a group that invited u's address.
func (tx *Tx) AcceptInvitation(ctx context.Context, u User, groupID string) error {
	ok, err := tx.HasInvitation(ctx, groupID, u.Email)
	if err != nil {
		return err
	}
	if !ok {
		return ErrForbidden
	}
	if err := tx.addMember(ctx, groupID, u.ID); err != nil {
		return err
	}
	_, err = tx.exec(ctx, "UPDATE group_invitations SET accepted_at = ? WHERE group_id = ? AND email = ?", tx.Now(), groupID, u.Email)
	return err
}

// RemoveMember takes userID out of a group: by themselves (leaving) or by an
// organiser or admin. The last organiser cannot go. Their answers to the
// group's open polls and upcoming sessions are dropped, and the places they free go to the
// first on each waiting list (returned, to be told by email).
func (tx *Tx) RemoveMember(ctx context.Context, by User, groupID, userID string) ([]Promotion, error) {
	if by.ID != userID {
		if err := tx.mustManage(ctx, by, groupID); err != nil {
			return nil, err
		}
	}
	if err := tx.lockRow(ctx, "work_groups", groupID); err != nil {
		return nil, fmt.Errorf("remove member from %s: %w", groupID, err)
	}
	m, err := tx.Membership(ctx, groupID, userID)
	if err != nil {
		return nil, err
	}
	if m.IsOrganiser() {
		if err := tx.keepAnOrganiser(ctx, groupID); err != nil {
			return nil, err
		}
	}
	return tx.dropMember(ctx, groupID, userID)
}

// dropMember takes userID out of a group whose row the caller has locked,
// with their answers to its open polls and upcoming sessions; it returns
// who got the places freed.
func (tx *Tx) dropMember(ctx context.Context, groupID, userID string) ([]Promotion, error) {
	if _, err := tx.exec(ctx, "DELETE FROM group_members WHERE group_id = ? AND user_id = ?", groupID, userID); err != nil {
		return nil, fmt.Errorf("remove member %s from %s: %w", userID, groupID, err)
	}
	if err := tx.dropOpenPollVotes(ctx, groupID, userID); err != nil {
		return nil, err
	}
	// Upcoming sessions where the member held or awaited a place.
	rows, err := tx.query(ctx, `SELECT r.session_id FROM rsvps r JOIN sessions s ON s.id = r.session_id
		WHERE s.group_id = ? AND r.user_id = ? AND s.starts_at > ? ORDER BY s.starts_at`, groupID, userID, tx.Now())
	if err != nil {
		return nil, fmt.Errorf("answers of %s in %s: %w", userID, groupID, err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	var promos []Promotion
	for _, id := range ids {
		if err := tx.lockRow(ctx, "sessions", id); err != nil {
			return nil, err
		}
		if _, err := tx.exec(ctx, "DELETE FROM rsvps WHERE session_id = ? AND user_id = ?", id, userID); err != nil {
			return nil, fmt.Errorf("drop answer of %s to %s: %w", userID, id, err)
		}
		p, err := tx.promote(ctx, id)
		if err != nil {
			return nil, err
		}
		promos = append(promos, p...)
	}
	return promos, nil
}

func (tx *Tx) keepAnOrganiser(ctx context.Context, groupID string) error {
	var n int
	if err := tx.queryRow(ctx, "SELECT COUNT(*) FROM group_members WHERE group_id = ? AND role = 'organiser'", groupID).Scan(&n); err != nil {
		return fmt.Errorf("count organisers of %s: %w", groupID, err)
	}
	if n <= 1 {
		return ErrLastOrganiser
	}
	return nil
}

// SetMemberRole promotes a member to co-organiser or demotes an organiser
// (organisers, admins). The last organiser cannot be demoted.
func (tx *Tx) SetMemberRole(ctx context.Context, by User, groupID, userID string, role MemberRole) error {
	if role != RoleGroupOrganiser && role != RoleGroupMember {
		return fmt.Errorf("set member role: unknown role %q", role)
	}
	if err := tx.mustManage(ctx, by, groupID); err != nil {
		return err
	}
	if err := tx.lockRow(ctx, "work_groups", groupID); err != nil {
		return err
	}
	m, err := tx.Membership(ctx, groupID, userID)
	if err != nil {
		return err
	}
	if m.Role == role {
		return nil
	}
	if m.IsOrganiser() {
		if err := tx.keepAnOrganiser(ctx, groupID); err != nil {
			return err
		}
	}
	_, err = tx.exec(ctx, "UPDATE group_members SET role = ? WHERE group_id = ? AND user_id = ?", role, groupID, userID)
	if err != nil {
		return fmt.Errorf("set role of %s in %s: %w", userID, groupID, err)
	}
	return nil
}

// SetInvitations turns a member's calendar invitations for a group on or off.
func (tx *Tx) SetInvitations(ctx context.Context, u User, groupID string, on bool) error {
	res, err := tx.exec(ctx, "UPDATE group_members SET invitations = ? WHERE group_id = ? AND user_id = ?", on, groupID, u.ID)
	if err := affectedOne(res, err, "set invitations of %s in %s", u.ID, groupID); errors.Is(err, ErrNotFound) {
		return ErrNotMember
	} else if err != nil {
		return err
	}
	return nil
}

// UserGroups returns the active groups u belongs to, by title.
func (d *DB) UserGroups(ctx context.Context, userID string) ([]GroupListItem, error) {
	items, _, err := d.ListGroups(ctx, GroupFilter{ViewerID: userID, Mine: true, Limit: 500})
	return items, err
}

func nullPositive(n int) any {
	if n <= 0 {
		return nil
	}
	return n
}

// prefixed qualifies each column of a comma-separated list with alias.
func prefixed(alias, columns string) string {
	parts := strings.Split(columns, ",")
	for i, p := range parts {
		parts[i] = alias + "." + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}

// scanUserAfter scans leading columns into before, then the user columns.
func scanUserAfter(row interface{ Scan(...any) error }, before ...any) (User, error) {
	var u User
	var dir nullStr
	var last nullTime
	err := row.Scan(append(before, &u.ID, &u.Email, &u.Name, &dir, &u.Role, &u.NotifyEmail, &u.CreatedAt, &last)...)
	u.DirectionCode = dir.String
	u.LastLoginAt = last.Time
	return u, err
}

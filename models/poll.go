package models

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Errors of date polls. Handlers turn them into French messages.
var (
	ErrPollClosed   = errors.New("the poll is closed")
	ErrPollDeadline = errors.New("the poll's deadline has passed")
	ErrUnknownSlot  = errors.New("the slot is not one of the poll's")
	ErrInvalidPoll  = errors.New("invalid poll")
	ErrInvalidVote  = errors.New("invalid vote")
)

// Limits of a poll.
const (
	MinPollSlots    = 2
	MaxPollSlots    = 30
	MinPollDuration = 15 * time.Minute
	MaxPollDuration = 12 * time.Hour
)

// PollStatus is where a poll stands.
type PollStatus string

const (
	PollOpen      PollStatus = "open"      // members vote
	PollClosed    PollStatus = "closed"    // a slot was chosen and became a session
	PollCancelled PollStatus = "cancelled" // closed without choosing
)

// Label is the status's French name.
func (s PollStatus) Label() string {
	switch s {
	case PollOpen:
		return "En cours"
	case PollClosed:
		return "Date retenue"
	case PollCancelled:
		return "Annulé"
	}
	return string(s)
}

// Vote is a member's answer on one candidate slot.
type Vote string

const (
	VoteYes      Vote = "yes"       // oui
	VoteIfNeeded Vote = "if_needed" // si besoin
	VoteNo       Vote = "no"        // non
)

// Votes lists every answer in display order.
var Votes = []Vote{VoteYes, VoteIfNeeded, VoteNo}

// Valid tells whether v is a known answer.
func (v Vote) Valid() bool { return v == VoteYes || v == VoteIfNeeded || v == VoteNo }

// Label is the answer's French name.
func (v Vote) Label() string {
	switch v {
	case VoteYes:
		return "Oui"
	case VoteIfNeeded:
		return "Si besoin"
	case VoteNo:
		return "Non"
	}
	return "Pas de réponse"
}

// Poll is a date poll (sondage de dates) of a group.
type Poll struct {
	ID           string
	GroupID      string
	Title        string
	Description  string // Markdown
	Duration     time.Duration
	Room         string
	Address      string
	VideoURL     string
	Deadline     time.Time // votes are accepted before it; zero: until the poll is closed
	Status       PollStatus
	ChosenSlotID string // the slot retained, once closed
	SessionID    string // the session made from it (empty if that session was deleted)
	CreatedBy    string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	ClosedBy     string
	ClosedAt     time.Time
}

// Open tells whether the poll is still open (not closed nor cancelled).
func (p Poll) Open() bool { return p.Status == PollOpen }

// AcceptsVotes tells whether members may vote at now: the poll is open and
// its deadline, if any, has not passed.
func (p Poll) AcceptsVotes(now time.Time) bool {
	return p.Open() && (p.Deadline.IsZero() || now.Before(p.Deadline))
}

// LastDay is a moment of the last day votes are accepted (the deadline is
// the midnight that ends it), or zero without a deadline.
func (p Poll) LastDay() time.Time {
	if p.Deadline.IsZero() {
		return time.Time{}
	}
	return p.Deadline.Add(-time.Second)
}

// Place is the room and address on one line.
func (p Poll) Place() string {
	return Session{Room: p.Room, Address: p.Address}.Place()
}

// PollSlot is one candidate slot of a poll.
type PollSlot struct {
	ID       string
	PollID   string
	StartsAt time.Time // UTC
	EndsAt   time.Time // UTC
}

// PollInput is what an organiser writes to open a poll.
type PollInput struct {
	Title       string
	Description string
	Duration    time.Duration
	Room        string
	Address     string
	VideoURL    string
	Deadline    time.Time   // zero: none
	Starts      []time.Time // the candidate slots' starts
}

// check enforces the rules of a poll at now; the forms explain them in
// French before they get here.
func (in PollInput) check(now time.Time) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("poll: "+format+": %w", append(args, ErrInvalidPoll)...)
	}
	switch {
	case strings.TrimSpace(in.Title) == "" || strings.ContainsAny(in.Title+in.Room+in.Address+in.VideoURL, "\r\n"):
		return bad("a title is required and one-line fields have no line break")
	case in.Duration < MinPollDuration || in.Duration > MaxPollDuration:
		return bad("duration %s out of range", in.Duration)
	case len(in.Starts) < MinPollSlots || len(in.Starts) > MaxPollSlots:
		return bad("%d slots", len(in.Starts))
	}
	seen := map[int64]bool{}
	last := time.Time{}
	for _, st := range in.Starts {
		st = st.UTC().Truncate(time.Minute)
		switch {
		case !st.After(now):
			return bad("slot %s is not in the future", st)
		case seen[st.Unix()]:
			return bad("slot %s given twice", st)
		case !SameParisDay(st, st.Add(in.Duration)):
			return bad("slot %s ends on another day", st)
		}
		seen[st.Unix()] = true
		if st.After(last) {
			last = st
		}
	}
	if !in.Deadline.IsZero() && (!in.Deadline.After(now) || in.Deadline.After(last)) {
		return bad("deadline %s not between now and the last slot", in.Deadline)
	}
	return nil
}

// SameParisDay tells whether a slot from start to end stays within one day
// in Paris (a session starts and ends on the same day).
func SameParisDay(start, end time.Time) bool {
	ps := start.In(Paris)
	last := end.Add(-time.Nanosecond).In(Paris)
	return end.After(start) && ps.Year() == last.Year() && ps.YearDay() == last.YearDay()
}

const pollColumns = `p.id, p.group_id, p.title, p.description, p.duration_minutes, p.room, p.address, p.video_url, p.deadline,
	p.status, p.chosen_slot_id, p.session_id, p.created_by, p.created_at, p.updated_at, p.closed_by, p.closed_at`

func scanPoll(row interface{ Scan(...any) error }, extra ...any) (Poll, error) {
	var p Poll
	var minutes int
	var deadline, closedAt nullTime
	var chosen, session, by, closedBy nullStr
	err := row.Scan(append([]any{&p.ID, &p.GroupID, &p.Title, &p.Description, &minutes, &p.Room, &p.Address, &p.VideoURL, &deadline,
		&p.Status, &chosen, &session, &by, &p.CreatedAt, &p.UpdatedAt, &closedBy, &closedAt}, extra...)...)
	p.Duration = time.Duration(minutes) * time.Minute
	if deadline.Valid {
		p.Deadline = deadline.Time.UTC()
	}
	if closedAt.Valid {
		p.ClosedAt = closedAt.Time.UTC()
	}
	p.ChosenSlotID, p.SessionID, p.CreatedBy, p.ClosedBy = chosen.String, session.String, by.String, closedBy.String
	return p, err
}

func nullTimeOf(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

// CreatePoll opens a poll in a group (its organisers, admins; the group
// must be active). Slots are stored in order of time.
func (tx *Tx) CreatePoll(ctx context.Context, by User, groupID string, in PollInput) (Poll, []PollSlot, error) {
	if err := tx.mustManageActive(ctx, by, groupID); err != nil {
		return Poll{}, nil, err
	}
	now := tx.Now()
	if err := in.check(now); err != nil {
		return Poll{}, nil, err
	}
	p := Poll{
		ID: NewID(), GroupID: groupID, Title: strings.TrimSpace(in.Title), Description: in.Description,
		Duration: in.Duration.Truncate(time.Minute), Room: in.Room, Address: in.Address, VideoURL: in.VideoURL,
		Status: PollOpen, CreatedBy: by.ID, CreatedAt: now, UpdatedAt: now,
	}
	if !in.Deadline.IsZero() {
		p.Deadline = in.Deadline.UTC().Truncate(time.Second)
	}
	_, err := tx.exec(ctx, `INSERT INTO polls (id, group_id, title, description, duration_minutes, room, address, video_url, deadline,
		status, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, groupID, p.Title, p.Description, int(p.Duration/time.Minute), p.Room, p.Address, p.VideoURL, nullTimeOf(p.Deadline),
		p.Status, nullString(by.ID), now, now)
	if err != nil {
		return Poll{}, nil, fmt.Errorf("create poll: %w", err)
	}
	starts := make([]time.Time, len(in.Starts))
	for i, st := range in.Starts {
		starts[i] = st.UTC().Truncate(time.Minute)
	}
	slices.SortFunc(starts, func(a, b time.Time) int { return a.Compare(b) })
	slots := make([]PollSlot, len(starts))
	for i, st := range starts {
		slots[i] = PollSlot{ID: NewID(), PollID: p.ID, StartsAt: st, EndsAt: st.Add(p.Duration)}
		_, err := tx.exec(ctx, "INSERT INTO poll_slots (id, poll_id, starts_at, ends_at) VALUES (?, ?, ?, ?)",
			slots[i].ID, p.ID, slots[i].StartsAt, slots[i].EndsAt)
		if err != nil {
			return Poll{}, nil, fmt.Errorf("create poll slot: %w", err)
		}
	}
	return p, slots, nil
}

// PollByID returns one poll.
func (d *DB) PollByID(ctx context.Context, id string) (Poll, error) {
	p, err := scanPoll(d.queryRow(ctx, "SELECT "+pollColumns+" FROM polls p WHERE p.id = ?", id))
	if err != nil {
		return Poll{}, notFound(err, "get poll %s", id)
	}
	return p, nil
}

// PollSlots returns a poll's slots in order of time.
func (d *DB) PollSlots(ctx context.Context, pollID string) ([]PollSlot, error) {
	rows, err := d.query(ctx, "SELECT id, poll_id, starts_at, ends_at FROM poll_slots WHERE poll_id = ? ORDER BY starts_at, id", pollID)
	if err != nil {
		return nil, fmt.Errorf("slots of poll %s: %w", pollID, err)
	}
	defer rows.Close()
	var out []PollSlot
	for rows.Next() {
		var s PollSlot
		if err := rows.Scan(&s.ID, &s.PollID, &s.StartsAt, &s.EndsAt); err != nil {
			return nil, fmt.Errorf("scan poll slot: %w", err)
		}
		s.StartsAt, s.EndsAt = s.StartsAt.UTC(), s.EndsAt.UTC()
		out = append(out, s)
	}
	return out, rows.Err()
}

// SlotTally is a slot with its answers counted.
type SlotTally struct {
	PollSlot
	Yes, IfNeeded, No int
	// Best marks the slots that can still be chosen (not started) with the
	// most "oui", then the most "si besoin" among those; ties are all best.
	// No slot is best while nobody has answered oui or si besoin.
	Best bool
}

// PollTallies returns a poll's slots in order of time, with their answers
// counted and the best ones marked as of now.
func (d *DB) PollTallies(ctx context.Context, pollID string) ([]SlotTally, error) {
	rows, err := d.query(ctx, `SELECT s.id, s.poll_id, s.starts_at, s.ends_at,
		COALESCE(SUM(CASE WHEN v.answer = 'yes' THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN v.answer = 'if_needed' THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN v.answer = 'no' THEN 1 ELSE 0 END), 0)
		FROM poll_slots s LEFT JOIN poll_votes v ON v.slot_id = s.id
		WHERE s.poll_id = ? GROUP BY s.id, s.poll_id, s.starts_at, s.ends_at ORDER BY s.starts_at, s.id`, pollID)
	if err != nil {
		return nil, fmt.Errorf("tally poll %s: %w", pollID, err)
	}
	defer rows.Close()
	var out []SlotTally
	for rows.Next() {
		var t SlotTally
		if err := rows.Scan(&t.ID, &t.PollID, &t.StartsAt, &t.EndsAt, &t.Yes, &t.IfNeeded, &t.No); err != nil {
			return nil, fmt.Errorf("scan tally: %w", err)
		}
		t.StartsAt, t.EndsAt = t.StartsAt.UTC(), t.EndsAt.UTC()
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	MarkBestSlots(out, d.Now())
	return out, nil
}

// MarkBestSlots sets Best on the slots not started at now with the most
// "oui", then the most "si besoin".
func MarkBestSlots(tallies []SlotTally, now time.Time) {
	bestYes, bestIf := -1, -1
	for _, t := range tallies {
		if !t.StartsAt.After(now) || t.Yes+t.IfNeeded == 0 {
			continue
		}
		if t.Yes > bestYes || t.Yes == bestYes && t.IfNeeded > bestIf {
			bestYes, bestIf = t.Yes, t.IfNeeded
		}
	}
	for i := range tallies {
		t := &tallies[i]
		t.Best = bestYes >= 0 && t.StartsAt.After(now) && t.Yes == bestYes && t.IfNeeded == bestIf
	}
}

// PollVotes returns every answer of a poll: user id → slot id → answer.
func (d *DB) PollVotes(ctx context.Context, pollID string) (map[string]map[string]Vote, error) {
	rows, err := d.query(ctx, "SELECT user_id, slot_id, answer FROM poll_votes WHERE poll_id = ?", pollID)
	if err != nil {
		return nil, fmt.Errorf("votes of poll %s: %w", pollID, err)
	}
	defer rows.Close()
	out := map[string]map[string]Vote{}
	for rows.Next() {
		var user, slot string
		var v Vote
		if err := rows.Scan(&user, &slot, &v); err != nil {
			return nil, fmt.Errorf("scan vote: %w", err)
		}
		if out[user] == nil {
			out[user] = map[string]Vote{}
		}
		out[user][slot] = v
	}
	return out, rows.Err()
}

// UserPollVotes returns one user's answers on a poll: slot id → answer.
func (d *DB) UserPollVotes(ctx context.Context, pollID, userID string) (map[string]Vote, error) {
	rows, err := d.query(ctx, "SELECT slot_id, answer FROM poll_votes WHERE poll_id = ? AND user_id = ?", pollID, userID)
	if err != nil {
		return nil, fmt.Errorf("votes of %s on poll %s: %w", userID, pollID, err)
	}
	defer rows.Close()
	out := map[string]Vote{}
	for rows.Next() {
		var slot string
		var v Vote
		if err := rows.Scan(&slot, &v); err != nil {
			return nil, fmt.Errorf("scan vote: %w", err)
		}
		out[slot] = v
	}
	return out, rows.Err()
}

// PollVoters returns the users who answered on at least one slot, by email.
func (d *DB) PollVoters(ctx context.Context, pollID string) ([]User, error) {
	rows, err := d.query(ctx, "SELECT "+prefixed("u", userColumns)+` FROM users u
		WHERE EXISTS (SELECT 1 FROM poll_votes v WHERE v.poll_id = ? AND v.user_id = u.id) ORDER BY u.email`, pollID)
	if err != nil {
		return nil, fmt.Errorf("voters of poll %s: %w", pollID, err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("scan voter: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// lockPoll takes the poll's lock for the rest of the transaction and
// returns it. Votes, closing and cancelling all take it before looking at
// the status, so no vote lands on a closed poll and a poll closes once.
func (tx *Tx) lockPoll(ctx context.Context, pollID string) (Poll, error) {
	if err := tx.lockRow(ctx, "polls", pollID); err != nil {
		return Poll{}, fmt.Errorf("poll %s: %w", pollID, err)
	}
	return tx.PollByID(ctx, pollID)
}

// lockManagedOpenPoll is lockPoll for the group's organisers and admins,
// refusing with ErrPollClosed when the poll is no longer open.
func (tx *Tx) lockManagedOpenPoll(ctx context.Context, by User, pollID string) (Poll, error) {
	p, err := tx.lockPoll(ctx, pollID)
	if err != nil {
		return p, err
	}
	if err := tx.mustManage(ctx, by, p.GroupID); err != nil {
		return p, err
	}
	if !p.Open() {
		return p, ErrPollClosed
	}
	return p, nil
}

// VotePoll records u's answers on some slots of a poll (slot id → answer);
// other slots keep theirs. Only members vote, only while the poll is open
// and its deadline has not passed. It returns how many answers changed.
func (tx *Tx) VotePoll(ctx context.Context, u User, pollID string, votes map[string]Vote) (int, error) {
	if len(votes) == 0 {
		return 0, fmt.Errorf("vote on %s: no answer: %w", pollID, ErrInvalidVote)
	}
	for slot, v := range votes {
		if !v.Valid() {
			return 0, fmt.Errorf("vote on %s slot %s: unknown answer %q: %w", pollID, slot, v, ErrInvalidVote)
		}
	}
	// The group's lock first (as RemoveMember takes it), then the poll's:
	// someone leaving the group at this moment either goes after this vote
	// (and takes it along) or before it (and the vote is refused).
	p, err := tx.PollByID(ctx, pollID)
	if err != nil {
		return 0, err
	}
	if err := tx.lockRow(ctx, "work_groups", p.GroupID); err != nil {
		return 0, fmt.Errorf("vote on %s: %w", pollID, err)
	}
	if p, err = tx.lockPoll(ctx, pollID); err != nil {
		return 0, err
	}
	if _, err := tx.Membership(ctx, p.GroupID, u.ID); err != nil {
		return 0, err
	}
	if !p.Open() {
		return 0, ErrPollClosed
	}
	g, err := tx.GroupByID(ctx, p.GroupID)
	if err != nil {
		return 0, err
	}
	if g.Status != GroupActive {
		return 0, ErrGroupInactive
	}
	now := tx.Now()
	if !p.AcceptsVotes(now) {
		return 0, ErrPollDeadline
	}
	slots, err := tx.PollSlots(ctx, pollID)
	if err != nil {
		return 0, err
	}
	known := map[string]bool{}
	for _, s := range slots {
		known[s.ID] = true
	}
	ids := make([]string, 0, len(votes))
	for id := range votes {
		if !known[id] {
			return 0, fmt.Errorf("vote on %s: slot %q: %w", pollID, id, ErrUnknownSlot)
		}
		ids = append(ids, id)
	}
	slices.Sort(ids) // a fixed order of writes
	changed := 0
	for _, id := range ids {
		res, err := tx.exec(ctx, `INSERT INTO poll_votes (slot_id, user_id, poll_id, answer, voted_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (slot_id, user_id) DO UPDATE SET answer = excluded.answer, voted_at = excluded.voted_at
			WHERE poll_votes.answer <> excluded.answer`, id, u.ID, pollID, votes[id], now)
		if err != nil {
			return 0, fmt.Errorf("vote on %s slot %s: %w", pollID, id, err)
		}
		n, _ := res.RowsAffected()
		changed += int(n)
	}
	return changed, nil
}

// PollChoice is how an organiser closes a poll: the slot retained and what
// the session made from it says besides its time.
type PollChoice struct {
	SlotID   string
	Title    string
	Room     string
	Address  string
	VideoURL string
	Agenda   string
	Capacity int    // 0: unlimited
	UIDHost  string // host part of the session's calendar UID
}

// ClosePoll closes an open poll on one of its slots (the group's organisers,
// admins) and schedules the session of that slot through CreateSession,
// with the same rules (an active group, a start in the future). The poll is
// locked first: closing twice creates one session, the second attempt gets
// ErrPollClosed.
func (tx *Tx) ClosePoll(ctx context.Context, by User, pollID string, in PollChoice) (Poll, Session, error) {
	p, err := tx.lockManagedOpenPoll(ctx, by, pollID)
	if err != nil {
		return p, Session{}, err
	}
	slots, err := tx.PollSlots(ctx, pollID)
	if err != nil {
		return p, Session{}, err
	}
	i := slices.IndexFunc(slots, func(s PollSlot) bool { return s.ID == in.SlotID })
	if i < 0 {
		return p, Session{}, fmt.Errorf("close poll %s: slot %q: %w", pollID, in.SlotID, ErrUnknownSlot)
	}
	slot := slots[i]
	sess, err := tx.CreateSession(ctx, by, NewSession{GroupID: p.GroupID, UIDHost: in.UIDHost, SessionInput: SessionInput{
		Title: in.Title, StartsAt: slot.StartsAt, EndsAt: slot.EndsAt, Room: in.Room, Address: in.Address,
		VideoURL: in.VideoURL, Agenda: in.Agenda, Capacity: in.Capacity,
	}})
	if err != nil {
		return p, Session{}, err
	}
	now := tx.Now()
	res, err := tx.exec(ctx, `UPDATE polls SET status = ?, chosen_slot_id = ?, session_id = ?, closed_by = ?, closed_at = ?, updated_at = ?
		WHERE id = ? AND status = ?`, PollClosed, slot.ID, sess.ID, nullString(by.ID), now, now, pollID, PollOpen)
	if err := affectedOne(res, err, "close poll %s", pollID); err != nil {
		return p, Session{}, err
	}
	p, err = tx.PollByID(ctx, pollID)
	return p, sess, err
}

// CancelPoll closes an open poll without choosing a slot (the group's
// organisers, admins).
func (tx *Tx) CancelPoll(ctx context.Context, by User, pollID string) (Poll, error) {
	p, err := tx.lockManagedOpenPoll(ctx, by, pollID)
	if err != nil {
		return p, err
	}
	now := tx.Now()
	res, err := tx.exec(ctx, "UPDATE polls SET status = ?, closed_by = ?, closed_at = ?, updated_at = ? WHERE id = ? AND status = ?",
		PollCancelled, nullString(by.ID), now, now, pollID, PollOpen)
	if err := affectedOne(res, err, "cancel poll %s", pollID); err != nil {
		return p, err
	}
	return tx.PollByID(ctx, pollID)
}

// PollListItem is a poll in a list, with its counts for one viewer.
type PollListItem struct {
	Poll
	GroupTitle string
	Slots      int // candidate slots
	Voters     int // members who answered at least one slot
	MyVotes    int // slots the viewer answered
	Unanswered int // slots not started that the viewer has not answered
}

// AwaitsVote tells whether the viewer has not answered every slot still to come.
func (it PollListItem) AwaitsVote() bool { return it.Unanswered > 0 }

// unansweredSlots counts a poll's slots starting after ? that user ? has
// not answered (p is the poll, u the user).
const unansweredSlots = `(SELECT COUNT(*) FROM poll_slots us WHERE us.poll_id = p.id AND us.starts_at > ?
		AND NOT EXISTS (SELECT 1 FROM poll_votes uv WHERE uv.slot_id = us.id AND uv.user_id = %s))`

func pollListQuery(where string) string {
	return `SELECT ` + pollColumns + `, g.title,
		(SELECT COUNT(*) FROM poll_slots s WHERE s.poll_id = p.id),
		(SELECT COUNT(DISTINCT v.user_id) FROM poll_votes v WHERE v.poll_id = p.id),
		(SELECT COUNT(*) FROM poll_votes m WHERE m.poll_id = p.id AND m.user_id = ?),
		` + fmt.Sprintf(unansweredSlots, "?") + `
		FROM polls p JOIN work_groups g ON g.id = p.group_id WHERE ` + where
}

// listPolls runs a pollListQuery for viewerID; args are the where clause's.
func (d *DB) listPolls(ctx context.Context, q, viewerID string, args ...any) ([]PollListItem, error) {
	args = append([]any{viewerID, d.Now(), viewerID}, args...)
	rows, err := d.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list polls: %w", err)
	}
	defer rows.Close()
	var out []PollListItem
	for rows.Next() {
		var it PollListItem
		if it.Poll, err = scanPoll(rows, &it.GroupTitle, &it.Slots, &it.Voters, &it.MyVotes, &it.Unanswered); err != nil {
			return nil, fmt.Errorf("scan poll: %w", err)
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// GroupPolls returns a group's polls of one status, newest first, with the
// viewer's count of answers.
func (d *DB) GroupPolls(ctx context.Context, groupID, viewerID string, status PollStatus, limit int) ([]PollListItem, error) {
	if limit <= 0 {
		limit = 50
	}
	return d.listPolls(ctx, pollListQuery("p.group_id = ? AND p.status = ? ORDER BY p.created_at DESC, p.id DESC LIMIT ?"),
		viewerID, groupID, status, limit)
}

// PollsAwaitingVote returns the open polls of the active groups userID
// belongs to that still accept votes and where userID has not answered
// every slot still to come: the soonest deadline first, polls without one
// last.
func (d *DB) PollsAwaitingVote(ctx context.Context, userID string, limit int) ([]PollListItem, error) {
	if limit <= 0 {
		limit = 20
	}
	now := d.Now()
	return d.listPolls(ctx, pollListQuery(`p.status = 'open' AND g.status = 'active' AND (p.deadline IS NULL OR p.deadline > ?)
		AND EXISTS (SELECT 1 FROM group_members gm WHERE gm.group_id = p.group_id AND gm.user_id = ?)
		AND `+fmt.Sprintf(unansweredSlots, "?")+` > 0
		ORDER BY CASE WHEN p.deadline IS NULL THEN 1 ELSE 0 END, p.deadline, p.created_at, p.id LIMIT ?`),
		userID, now, userID, now, userID, limit)
}

// PollsToDecide returns the open polls of the active groups userID
// organises whose deadline has passed: a date is to be retained (or the
// poll cancelled). The oldest deadline first.
func (d *DB) PollsToDecide(ctx context.Context, userID string, limit int) ([]PollListItem, error) {
	if limit <= 0 {
		limit = 20
	}
	return d.listPolls(ctx, pollListQuery(`p.status = 'open' AND g.status = 'active' AND p.deadline IS NOT NULL AND p.deadline <= ?
		AND EXISTS (SELECT 1 FROM group_members gm WHERE gm.group_id = p.group_id AND gm.user_id = ? AND gm.role = 'organiser')
		ORDER BY p.deadline, p.id LIMIT ?`), userID, d.Now(), userID, limit)
}

// PollReminder is a member to remind of a poll they have not fully answered.
type PollReminder struct {
	Poll       Poll
	GroupTitle string
	User       User
}

// DuePollReminders returns, for the open polls of active groups whose
// deadline falls in (now, until] and that were opened before openedBefore,
// the members (but the poll's author) who accept news by email and have
// not answered every slot still to come.
func (d *DB) DuePollReminders(ctx context.Context, until, openedBefore time.Time) ([]PollReminder, error) {
	now := d.Now()
	rows, err := d.query(ctx, `SELECT `+pollColumns+`, g.title, `+prefixed("u", userColumns)+`
		FROM polls p JOIN work_groups g ON g.id = p.group_id
		JOIN group_members gm ON gm.group_id = p.group_id JOIN users u ON u.id = gm.user_id
		WHERE p.status = 'open' AND g.status = 'active' AND p.deadline > ? AND p.deadline <= ? AND p.created_at < ?
		AND u.notify_email AND (p.created_by IS NULL OR u.id <> p.created_by) AND `+fmt.Sprintf(unansweredSlots, "u.id")+` > 0
		ORDER BY p.deadline, p.id, u.email`, now, until.UTC(), openedBefore.UTC(), now)
	if err != nil {
		return nil, fmt.Errorf("due poll reminders: %w", err)
	}
	defer rows.Close()
	var out []PollReminder
	for rows.Next() {
		var r PollReminder
		var dir nullStr
		var last nullTime
		u := &r.User
		if r.Poll, err = scanPoll(rows, &r.GroupTitle, &u.ID, &u.Email, &u.Name, &dir, &u.Role, &u.NotifyEmail, &u.CreatedAt, &last); err != nil {
			return nil, fmt.Errorf("scan poll reminder: %w", err)
		}
		u.DirectionCode, u.LastLoginAt = dir.String, last.Time
		out = append(out, r)
	}
	return out, rows.Err()
}

// dropOpenPollVotes removes userID's answers on the open polls of a group
// (they left it): the totals count members only.
func (tx *Tx) dropOpenPollVotes(ctx context.Context, groupID, userID string) error {
	_, err := tx.exec(ctx, `DELETE FROM poll_votes WHERE user_id = ?
		AND poll_id IN (SELECT id FROM polls WHERE group_id = ? AND status = 'open')`, userID, groupID)
	if err != nil {
		return fmt.Errorf("drop poll answers of %s in %s: %w", userID, groupID, err)
	}
	return nil
}

package models_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dnum-sociaux/agora/models"
)

// pollInput is a valid poll on three Paris afternoons of December 2026,
// given out of order; the clock of the fixture is 30 November 2026.
func pollInput(edit func(*models.PollInput)) models.PollInput {
	in := models.PollInput{
		Title: "Atelier feuille de route", Description: "Choisissons **ensemble**.", Duration: 2 * time.Hour, Room: "Salle 4010",
		Starts: []time.Time{paris(2026, 12, 10, 14, 0), paris(2026, 12, 8, 10, 0), paris(2026, 12, 9, 14, 30)},
	}
	if edit != nil {
		edit(&in)
	}
	return in
}

func (f *fixture) poll(by models.User, groupID string, edit func(*models.PollInput)) (models.Poll, []models.PollSlot) {
	f.t.Helper()
	var p models.Poll
	var slots []models.PollSlot
	f.must(func(tx *models.Tx) error {
		var err error
		p, slots, err = tx.CreatePoll(f.ctx, by, groupID, pollInput(edit))
		return err
	})
	return p, slots
}

func (f *fixture) vote(u models.User, pollID string, votes map[string]models.Vote) (int, error) {
	var n int
	err := f.tx(func(tx *models.Tx) error {
		var err error
		n, err = tx.VotePoll(f.ctx, u, pollID, votes)
		return err
	})
	return n, err
}

func (f *fixture) closePoll(by models.User, pollID, slotID string) (models.Poll, models.Session, error) {
	var p models.Poll
	var s models.Session
	err := f.tx(func(tx *models.Tx) error {
		var err error
		p, s, err = tx.ClosePoll(f.ctx, by, pollID, models.PollChoice{SlotID: slotID, Title: "Atelier retenu", Room: "Salle 4010", UIDHost: "agora.test"})
		return err
	})
	return p, s, err
}

func TestPollCreationRules(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		org := f.user("org@example.org", models.RoleOrganiser)
		member := f.user("m@example.org", models.RoleAgent)
		g := f.group(org, models.GroupInput{})
		f.join(member, g.ID)

		p, slots := f.poll(org, g.ID, nil)
		if p.Status != models.PollOpen || p.Duration != 2*time.Hour || len(slots) != 3 || p.GroupID != g.ID {
			t.Fatalf("poll = %+v, %d slots", p, len(slots))
		}
		// Slots are stored in order of time, each lasting the duration.
		got, err := f.s.PollSlots(f.ctx, p.ID)
		if err != nil || len(got) != 3 {
			t.Fatalf("slots = %v, %v", got, err)
		}
		for i, s := range got {
			if i > 0 && !s.StartsAt.After(got[i-1].StartsAt) || s.EndsAt.Sub(s.StartsAt) != 2*time.Hour {
				t.Fatalf("slot %d = %+v", i, s)
			}
		}
		if !got[0].StartsAt.Equal(paris(2026, 12, 8, 10, 0)) {
			t.Fatalf("first slot %s", got[0].StartsAt)
		}
		read, err := f.s.PollByID(f.ctx, p.ID)
		if err != nil || read.Title != p.Title || !read.Deadline.IsZero() || read.Room != "Salle 4010" {
			t.Fatalf("read back %+v, %v", read, err)
		}

		many := make([]time.Time, 31)
		for i := range many {
			many[i] = paris(2026, 12, 1, 8, 0).Add(time.Duration(i) * 24 * time.Hour)
		}
		bad := []struct {
			name string
			edit func(*models.PollInput)
		}{
			{"no title", func(in *models.PollInput) { in.Title = "  " }},
			{"title with a line break", func(in *models.PollInput) { in.Title = "Atelier\r\nBcc: x@y" }},
			{"one slot", func(in *models.PollInput) { in.Starts = in.Starts[:1] }},
			{"31 slots", func(in *models.PollInput) { in.Starts = many }},
			{"a slot in the past", func(in *models.PollInput) { in.Starts[1] = paris(2026, 11, 30, 8, 0) }},
			{"a slot now", func(in *models.PollInput) { in.Starts[1] = f.clock.Now() }},
			{"the same slot twice", func(in *models.PollInput) { in.Starts[2] = in.Starts[0] }},
			{"zero duration (end before start)", func(in *models.PollInput) { in.Duration = 0 }},
			{"negative duration", func(in *models.PollInput) { in.Duration = -time.Hour }},
			{"too long", func(in *models.PollInput) { in.Duration = 13 * time.Hour }},
			{"ends the next day", func(in *models.PollInput) { in.Starts[0] = paris(2026, 12, 10, 23, 0) }},
			{"deadline in the past", func(in *models.PollInput) { in.Deadline = paris(2026, 11, 29, 0, 0) }},
			{"deadline after the last slot", func(in *models.PollInput) { in.Deadline = paris(2026, 12, 11, 0, 0) }},
		}
		for _, b := range bad {
			err := f.tx(func(tx *models.Tx) error { _, _, err := tx.CreatePoll(f.ctx, org, g.ID, pollInput(b.edit)); return err })
			if !errors.Is(err, models.ErrInvalidPoll) {
				t.Errorf("%s: %v, want ErrInvalidPoll", b.name, err)
			}
		}
		// Exactly 30 slots, ending at midnight, with a deadline: fine.
		f.poll(org, g.ID, func(in *models.PollInput) {
			in.Starts = many[:30]
			in.Starts[0] = paris(2026, 12, 20, 22, 0)
			in.Deadline = paris(2026, 12, 1, 0, 0)
		})

		// Only the group's organisers and admins open polls, in an active group.
		err = f.tx(func(tx *models.Tx) error { _, _, err := tx.CreatePoll(f.ctx, member, g.ID, pollInput(nil)); return err })
		if !errors.Is(err, models.ErrForbidden) {
			t.Fatalf("member opening a poll: %v", err)
		}
		other := f.user("other@example.org", models.RoleOrganiser)
		err = f.tx(func(tx *models.Tx) error { _, _, err := tx.CreatePoll(f.ctx, other, g.ID, pollInput(nil)); return err })
		if !errors.Is(err, models.ErrForbidden) {
			t.Fatalf("another group's organiser opening a poll: %v", err)
		}
		admin := f.user("admin@example.org", models.RoleAdmin)
		f.poll(admin, g.ID, nil)
		f.must(func(tx *models.Tx) error { return tx.SetGroupStatus(f.ctx, org, g.ID, models.GroupArchived) })
		err = f.tx(func(tx *models.Tx) error { _, _, err := tx.CreatePoll(f.ctx, org, g.ID, pollInput(nil)); return err })
		if !errors.Is(err, models.ErrGroupInactive) {
			t.Fatalf("poll in an archived group: %v", err)
		}
		if n := countRows(t, f, "SELECT COUNT(*) FROM polls"); n != 3 {
			t.Fatalf("%d polls stored, want 3", n)
		}
	})
}

func countRows(t *testing.T, f *fixture, q string, args ...any) int {
	t.Helper()
	read, _ := f.s.SQL()
	var n int
	if err := read.QueryRowContext(f.ctx, rebind(f, q), args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// rebind writes $n placeholders for PostgreSQL in test queries.
func rebind(f *fixture, q string) string {
	if f.s.Dialect() != models.Postgres {
		return q
	}
	out, n := []byte{}, 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			out = append(out, fmt.Sprintf("$%d", n)...)
			continue
		}
		out = append(out, q[i])
	}
	return string(out)
}

func TestPollVotes(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		org := f.user("org@example.org", models.RoleOrganiser)
		a := f.user("a@example.org", models.RoleAgent)
		b := f.user("b@example.org", models.RoleAgent)
		outsider := f.user("o@example.org", models.RoleAgent)
		g := f.group(org, models.GroupInput{})
		f.join(a, g.ID)
		f.join(b, g.ID)
		p, s := f.poll(org, g.ID, func(in *models.PollInput) { in.Deadline = paris(2026, 12, 5, 0, 0) })

		// Nobody has answered: no best slot.
		tallies, err := f.s.PollTallies(f.ctx, p.ID)
		if err != nil || len(tallies) != 3 || tallies[0].Best || tallies[1].Best || tallies[2].Best {
			t.Fatalf("tallies before any vote = %+v, %v", tallies, err)
		}

		if n, err := f.vote(a, p.ID, map[string]models.Vote{s[0].ID: models.VoteYes, s[1].ID: models.VoteIfNeeded, s[2].ID: models.VoteNo}); err != nil || n != 3 {
			t.Fatalf("a votes: %d, %v", n, err)
		}
		// Answering again the same way changes nothing; a new answer replaces the old one (an upsert).
		if n, err := f.vote(a, p.ID, map[string]models.Vote{s[0].ID: models.VoteYes, s[1].ID: models.VoteYes}); err != nil || n != 1 {
			t.Fatalf("a changes one answer: %d, %v", n, err)
		}
		if n, err := f.vote(b, p.ID, map[string]models.Vote{s[1].ID: models.VoteIfNeeded, s[2].ID: models.VoteYes}); err != nil || n != 2 {
			t.Fatalf("b votes: %d, %v", n, err)
		}
		if n, err := f.vote(org, p.ID, map[string]models.Vote{s[0].ID: models.VoteIfNeeded}); err != nil || n != 1 {
			t.Fatalf("the organiser votes: %d, %v", n, err)
		}
		tallies, err = f.s.PollTallies(f.ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		for _, tl := range tallies {
			got += fmt.Sprintf("[%d %d %d %v]", tl.Yes, tl.IfNeeded, tl.No, tl.Best)
		}
		// s0: 1 oui + 1 si besoin; s1: 1 oui + 1 si besoin; s2: 1 oui, 1 non → s0 and s1 tie as best.
		if want := "[1 1 0 true][1 1 0 true][1 0 1 false]"; got != want {
			t.Fatalf("tallies = %s, want %s", got, want)
		}
		votes, err := f.s.PollVotes(f.ctx, p.ID)
		if err != nil || len(votes) != 3 || votes[a.ID][s[1].ID] != models.VoteYes || votes[b.ID][s[0].ID] != "" {
			t.Fatalf("votes = %v, %v", votes, err)
		}
		mine, err := f.s.UserPollVotes(f.ctx, p.ID, b.ID)
		if err != nil || len(mine) != 2 || mine[s[2].ID] != models.VoteYes {
			t.Fatalf("b's votes = %v, %v", mine, err)
		}
		voters, err := f.s.PollVoters(f.ctx, p.ID)
		if err != nil || len(voters) != 3 {
			t.Fatalf("voters = %v, %v", voters, err)
		}

		// Refused: outsiders, unknown answers and slots, nothing at all.
		if _, err := f.vote(outsider, p.ID, map[string]models.Vote{s[0].ID: models.VoteYes}); !errors.Is(err, models.ErrNotMember) {
			t.Fatalf("outsider voting: %v", err)
		}
		if _, err := f.vote(a, p.ID, map[string]models.Vote{s[0].ID: "maybe"}); !errors.Is(err, models.ErrInvalidVote) {
			t.Fatalf("unknown answer: %v", err)
		}
		if _, err := f.vote(a, p.ID, nil); !errors.Is(err, models.ErrInvalidVote) {
			t.Fatalf("no answer: %v", err)
		}
		_, other := f.poll(org, g.ID, nil)
		if _, err := f.vote(a, p.ID, map[string]models.Vote{other[0].ID: models.VoteYes}); !errors.Is(err, models.ErrUnknownSlot) {
			t.Fatalf("another poll's slot: %v", err)
		}
		if _, err := f.vote(a, "01nopoll", map[string]models.Vote{s[0].ID: models.VoteYes}); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("unknown poll: %v", err)
		}
		// Refused answers changed nothing.
		if mine, _ := f.s.UserPollVotes(f.ctx, p.ID, a.ID); len(mine) != 3 || mine[s[0].ID] != models.VoteYes {
			t.Fatalf("a's votes after refusals = %v", mine)
		}

		// A member who leaves takes their answers to open polls along.
		if _, err := removeMember(f, b, g.ID, b.ID); err != nil {
			t.Fatal(err)
		}
		if votes, _ := f.s.PollVotes(f.ctx, p.ID); len(votes) != 2 || votes[b.ID] != nil {
			t.Fatalf("votes after b left = %v", votes)
		}

		// Past the deadline, answers are refused.
		f.clock.Set(paris(2026, 12, 5, 0, 0))
		if _, err := f.vote(a, p.ID, map[string]models.Vote{s[0].ID: models.VoteNo}); !errors.Is(err, models.ErrPollDeadline) {
			t.Fatalf("vote after the deadline: %v", err)
		}
	})
}

func TestMarkBestSlots(t *testing.T) {
	now := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	slot := func(day, yes, ifNeeded int) models.SlotTally {
		st := now.Add(time.Duration(day) * 24 * time.Hour)
		return models.SlotTally{PollSlot: models.PollSlot{StartsAt: st}, Yes: yes, IfNeeded: ifNeeded}
	}
	cases := []struct {
		name    string
		tallies []models.SlotTally
		want    string
	}{
		{"no answer", []models.SlotTally{slot(1, 0, 0), slot(2, 0, 0)}, "--"},
		{"most oui wins", []models.SlotTally{slot(1, 2, 0), slot(2, 3, 0), slot(3, 1, 5)}, "-B-"},
		{"si besoin breaks ties", []models.SlotTally{slot(1, 2, 1), slot(2, 2, 3), slot(3, 2, 3)}, "-BB"},
		{"only si besoin", []models.SlotTally{slot(1, 0, 1), slot(2, 0, 2)}, "-B"},
		{"a started slot is never best", []models.SlotTally{slot(-1, 9, 9), slot(0, 9, 9), slot(2, 1, 0)}, "--B"},
	}
	for _, c := range cases {
		models.MarkBestSlots(c.tallies, now)
		got := ""
		for _, tl := range c.tallies {
			if tl.Best {
				got += "B"
			} else {
				got += "-"
			}
		}
		if got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}

func TestClosePollSchedulesOneSession(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		org := f.user("org@example.org", models.RoleOrganiser)
		member := f.user("m@example.org", models.RoleAgent)
		g := f.group(org, models.GroupInput{})
		f.join(member, g.ID)
		p, s := f.poll(org, g.ID, nil)
		if _, err := f.vote(member, p.ID, map[string]models.Vote{s[1].ID: models.VoteYes}); err != nil {
			t.Fatal(err)
		}

		// A member does not close; an unknown slot is refused; neither changes anything.
		if _, _, err := f.closePoll(member, p.ID, s[1].ID); !errors.Is(err, models.ErrForbidden) {
			t.Fatalf("member closing: %v", err)
		}
		if _, _, err := f.closePoll(org, p.ID, "01unknown"); !errors.Is(err, models.ErrUnknownSlot) {
			t.Fatalf("unknown slot: %v", err)
		}
		// The session rules hold: a slot that has started cannot be chosen.
		f.clock.Set(s[0].StartsAt.Add(time.Minute))
		if _, _, err := f.closePoll(org, p.ID, s[0].ID); !errors.Is(err, models.ErrSessionStarted) {
			t.Fatalf("closing on a started slot: %v", err)
		}
		if n := countRows(t, f, "SELECT COUNT(*) FROM sessions"); n != 0 {
			t.Fatalf("%d sessions after refused closings", n)
		}
		if got, _ := f.s.PollByID(f.ctx, p.ID); got.Status != models.PollOpen {
			t.Fatalf("status after refused closings = %s", got.Status)
		}

		closed, sess, err := f.closePoll(org, p.ID, s[1].ID)
		if err != nil {
			t.Fatal(err)
		}
		if closed.Status != models.PollClosed || closed.ChosenSlotID != s[1].ID || closed.SessionID != sess.ID || closed.ClosedBy != org.ID || closed.ClosedAt.IsZero() {
			t.Fatalf("closed poll = %+v", closed)
		}
		if !sess.StartsAt.Equal(s[1].StartsAt) || !sess.EndsAt.Equal(s[1].EndsAt) || sess.GroupID != g.ID || sess.Title != "Atelier retenu" ||
			sess.Sequence != 0 || sess.UID != models.SessionUID(sess.ID, "agora.test") || sess.Room != "Salle 4010" {
			t.Fatalf("session = %+v", sess)
		}

		// Closed: no second session, no more votes, no cancellation.
		if _, _, err := f.closePoll(org, p.ID, s[2].ID); !errors.Is(err, models.ErrPollClosed) {
			t.Fatalf("closing twice: %v", err)
		}
		if _, err := f.vote(member, p.ID, map[string]models.Vote{s[1].ID: models.VoteNo}); !errors.Is(err, models.ErrPollClosed) {
			t.Fatalf("vote on a closed poll: %v", err)
		}
		if err := f.tx(func(tx *models.Tx) error { _, err := tx.CancelPoll(f.ctx, org, p.ID); return err }); !errors.Is(err, models.ErrPollClosed) {
			t.Fatalf("cancelling a closed poll: %v", err)
		}
		if n := countRows(t, f, "SELECT COUNT(*) FROM sessions WHERE group_id = ?", g.ID); n != 1 {
			t.Fatalf("%d sessions, want 1", n)
		}
	})
}

// Ten organisers' clicks close one poll at once: one session, nine ErrPollClosed.
func TestConcurrentClosingCreatesOneSession(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		org := f.user("org@example.org", models.RoleOrganiser)
		g := f.group(org, models.GroupInput{})
		p, s := f.poll(org, g.ID, nil)
		var wg sync.WaitGroup
		errs := make(chan error, 10)
		start := make(chan struct{})
		for i := range 10 {
			wg.Go(func() {
				<-start
				_, _, err := f.closePoll(org, p.ID, s[i%3].ID)
				errs <- err
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		ok, closed := 0, 0
		for err := range errs {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, models.ErrPollClosed):
				closed++
			default:
				t.Fatalf("close: %v", err)
			}
		}
		if ok != 1 || closed != 9 {
			t.Fatalf("%d closings succeeded, %d refused; want 1 and 9", ok, closed)
		}
		if n := countRows(t, f, "SELECT COUNT(*) FROM sessions"); n != 1 {
			t.Fatalf("%d sessions, want 1", n)
		}
		got, _ := f.s.PollByID(f.ctx, p.ID)
		if n := countRows(t, f, "SELECT COUNT(*) FROM sessions WHERE id = ?", got.SessionID); n != 1 {
			t.Fatalf("the poll points at session %q, which does not exist", got.SessionID)
		}
	})
}

// Members answering at once, each several times: one answer per member and
// slot, the last one kept, no error.
func TestConcurrentVotesAreUpserts(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		org := f.user("org@example.org", models.RoleOrganiser)
		g := f.group(org, models.GroupInput{})
		members := make([]models.User, 20)
		for i := range members {
			members[i] = f.user(fmt.Sprintf("m%02d@example.org", i), models.RoleAgent)
			f.join(members[i], g.ID)
		}
		p, s := f.poll(org, g.ID, nil)
		var wg sync.WaitGroup
		errs := make(chan error, len(members)*3)
		start := make(chan struct{})
		for _, u := range members {
			for _, v := range models.Votes {
				wg.Go(func() {
					<-start
					_, err := f.vote(u, p.ID, map[string]models.Vote{s[0].ID: v, s[1].ID: models.VoteYes})
					errs <- err
				})
			}
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("vote: %v", err)
			}
		}
		if n := countRows(t, f, "SELECT COUNT(*) FROM poll_votes WHERE poll_id = ?", p.ID); n != 2*len(members) {
			t.Fatalf("%d answers stored, want %d", n, 2*len(members))
		}
		tallies, _ := f.s.PollTallies(f.ctx, p.ID)
		if tallies[0].Yes+tallies[0].IfNeeded+tallies[0].No != len(members) || tallies[1].Yes != len(members) {
			t.Fatalf("tallies = %+v", tallies)
		}
	})
}

func TestCancelPollAndLists(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		org := f.user("org@example.org", models.RoleOrganiser)
		member := f.user("m@example.org", models.RoleAgent)
		g := f.group(org, models.GroupInput{Title: "Comitologie"})
		f.join(member, g.ID)
		later, ls := f.poll(org, g.ID, func(in *models.PollInput) { in.Title = "Sans date limite" })
		soon, ss := f.poll(org, g.ID, func(in *models.PollInput) {
			in.Title = "Date limite proche"
			in.Deadline = paris(2026, 12, 3, 0, 0)
		})
		gone, _ := f.poll(org, g.ID, func(in *models.PollInput) { in.Title = "Annulé" })

		// Cancelled by the organiser (not by a member); a cancelled poll takes no vote.
		if err := f.tx(func(tx *models.Tx) error { _, err := tx.CancelPoll(f.ctx, member, gone.ID); return err }); !errors.Is(err, models.ErrForbidden) {
			t.Fatalf("member cancelling: %v", err)
		}
		var cancelled models.Poll
		f.must(func(tx *models.Tx) error {
			var err error
			cancelled, err = tx.CancelPoll(f.ctx, org, gone.ID)
			return err
		})
		if cancelled.Status != models.PollCancelled || cancelled.SessionID != "" || cancelled.ClosedAt.IsZero() {
			t.Fatalf("cancelled = %+v", cancelled)
		}

		titles := func(items []models.PollListItem) string {
			out := ""
			for _, it := range items {
				out += fmt.Sprintf("[%s %d/%d]", it.Title, it.MyVotes, it.Slots)
			}
			return out
		}
		// Awaiting the member's answer: the soonest deadline first.
		waiting, err := f.s.PollsAwaitingVote(f.ctx, member.ID, 10)
		if err != nil || titles(waiting) != "[Date limite proche 0/3][Sans date limite 0/3]" || waiting[0].GroupTitle != "Comitologie" {
			t.Fatalf("awaiting = %s, %v", titles(waiting), err)
		}
		// Answering some slots keeps it waiting; answering all takes it off.
		if _, err := f.vote(member, later.ID, map[string]models.Vote{ls[0].ID: models.VoteYes}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.vote(member, soon.ID, map[string]models.Vote{ss[0].ID: models.VoteYes, ss[1].ID: models.VoteNo, ss[2].ID: models.VoteNo}); err != nil {
			t.Fatal(err)
		}
		if waiting, _ := f.s.PollsAwaitingVote(f.ctx, member.ID, 10); titles(waiting) != "[Sans date limite 1/3]" {
			t.Fatalf("awaiting after answers = %s", titles(waiting))
		}
		// An outsider awaits nothing; past a deadline, nothing is awaited there.
		outsider := f.user("o@example.org", models.RoleAgent)
		if waiting, _ := f.s.PollsAwaitingVote(f.ctx, outsider.ID, 10); len(waiting) != 0 {
			t.Fatalf("outsider awaits %s", titles(waiting))
		}
		if waiting, _ := f.s.PollsAwaitingVote(f.ctx, org.ID, 10); titles(waiting) != "[Date limite proche 0/3][Sans date limite 0/3]" {
			t.Fatalf("organiser awaits %s", titles(waiting))
		}
		if decide, _ := f.s.PollsToDecide(f.ctx, org.ID, 10); len(decide) != 0 {
			t.Fatalf("to decide before the deadline: %s", titles(decide))
		}
		f.clock.Set(paris(2026, 12, 3, 0, 0))
		if waiting, _ := f.s.PollsAwaitingVote(f.ctx, org.ID, 10); titles(waiting) != "[Sans date limite 0/3]" {
			t.Fatalf("organiser awaits after the deadline %s", titles(waiting))
		}
		// Past its deadline, an open poll is to be decided by its group's organisers (only).
		if decide, _ := f.s.PollsToDecide(f.ctx, org.ID, 10); titles(decide) != "[Date limite proche 0/3]" {
			t.Fatalf("to decide after the deadline: %s", titles(decide))
		}
		if decide, _ := f.s.PollsToDecide(f.ctx, member.ID, 10); len(decide) != 0 {
			t.Fatalf("a member has polls to decide: %s", titles(decide))
		}

		open, err := f.s.GroupPolls(f.ctx, g.ID, member.ID, models.PollOpen, 10)
		if err != nil || len(open) != 2 || open[0].Voters != 1 {
			t.Fatalf("open polls = %+v, %v", open, err)
		}
		if c, _ := f.s.GroupPolls(f.ctx, g.ID, member.ID, models.PollCancelled, 10); titles(c) != "[Annulé 0/3]" {
			t.Fatalf("cancelled polls = %s", titles(c))
		}
	})
}

// A slot that has started needs no answer: a member who answered the others
// is no longer awaited.
func TestPollAwaitsOnlySlotsToCome(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		org := f.user("org@example.org", models.RoleOrganiser)
		member := f.user("m@example.org", models.RoleAgent)
		g := f.group(org, models.GroupInput{})
		f.join(member, g.ID)
		p, s := f.poll(org, g.ID, nil)
		if _, err := f.vote(member, p.ID, map[string]models.Vote{s[1].ID: models.VoteYes, s[2].ID: models.VoteNo}); err != nil {
			t.Fatal(err)
		}
		if w, _ := f.s.PollsAwaitingVote(f.ctx, member.ID, 10); len(w) != 1 || w[0].Unanswered != 1 || w[0].MyVotes != 2 {
			t.Fatalf("awaiting before the first slot = %+v", w)
		}
		f.clock.Set(s[0].StartsAt)
		if w, _ := f.s.PollsAwaitingVote(f.ctx, member.ID, 10); len(w) != 0 {
			t.Fatalf("awaiting once the unanswered slot started = %+v", w)
		}
		if items, _ := f.s.GroupPolls(f.ctx, g.ID, member.ID, models.PollOpen, 10); len(items) != 1 || items[0].AwaitsVote() {
			t.Fatalf("group polls = %+v", items)
		}
	})
}

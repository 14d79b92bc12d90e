package models_test

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/dnum-sociaux/agora/models"
)

func TestWaitingListOrderAndPromotion(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		org := f.user("org@example.org", models.RoleOrganiser)
		g := f.group(org, models.GroupInput{})
		var m []models.User
		for i := range 5 {
			u := f.user(fmt.Sprintf("m%d@example.org", i), models.RoleAgent)
			f.join(u, g.ID)
			m = append(m, u)
		}
		s := f.session(org, g.ID, 2)

		for i, u := range m[:4] {
			r := f.answer(u, s.ID, models.AnswerYes)
			if want := i >= 2; r.RSVP.Waiting != want {
				t.Fatalf("answer %d waiting = %v, want %v", i, r.RSVP.Waiting, want)
			}
		}
		// Saying "oui" again keeps one's place in line.
		if r := f.answer(m[2], s.ID, models.AnswerYes); r.Changed || !r.RSVP.Waiting {
			t.Fatalf("repeated yes = %+v", r)
		}
		// A "maybe" on the waiting list leaves it without freeing a place.
		if r := f.answer(m[4], s.ID, models.AnswerMaybe); len(r.Promotions) != 0 {
			t.Fatalf("maybe promoted %+v", r.Promotions)
		}
		// A confirmed "non" frees a place: the first in line gets it.
		r := f.answer(m[0], s.ID, models.AnswerNo)
		if len(r.Promotions) != 1 || r.Promotions[0].UserID != m[2].ID {
			t.Fatalf("promotions after a no = %+v, want %s", r.Promotions, m[2].Email)
		}
		// A larger capacity promotes the next one.
		var ch models.SessionChange
		f.must(func(tx *models.Tx) error {
			var err error
			ch, err = tx.UpdateSession(f.ctx, org, s.ID, inputOf(s, func(in *models.SessionInput) { in.Capacity = 3 }))
			return err
		})
		if len(ch.Promotions) != 1 || ch.Promotions[0].UserID != m[3].ID || ch.Moved || ch.After.Sequence != 0 {
			t.Fatalf("capacity change = promotions %+v moved %v seq %d", ch.Promotions, ch.Moved, ch.After.Sequence)
		}
		// The capacity cannot go below the confirmed participants.
		err := f.tx(func(tx *models.Tx) error {
			_, err := tx.UpdateSession(f.ctx, org, s.ID, inputOf(s, func(in *models.SessionInput) { in.Capacity = 2 }))
			return err
		})
		if !errors.Is(err, models.ErrCapacityBelowConfirmed) {
			t.Fatalf("capacity below confirmed: %v", err)
		}
		// Leaving the group frees the place too.
		// m[0] is still a member: a new "oui" waits at the end of the line.
		if r := f.answer(m[0], s.ID, models.AnswerYes); !r.RSVP.Waiting {
			t.Fatalf("yes on a full session should wait")
		}
		p, err := removeMember(f, m[1], g.ID, m[1].ID)
		if err != nil || len(p) != 1 || p[0].UserID != m[0].ID {
			t.Fatalf("leaving promoted %+v (err %v), want %s", p, err, m[0].Email)
		}
		list, err := f.s.SessionRSVPs(f.ctx, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range list {
			got = append(got, fmt.Sprintf("%s:%s:%v", r.User.Email, r.Answer, r.Waiting))
		}
		want := "[m0@example.org:yes:false m2@example.org:yes:false m3@example.org:yes:false m4@example.org:maybe:false]"
		if fmt.Sprint(got) != want {
			t.Fatalf("answers = %v\nwant %s", got, want)
		}
	})
}

func inputOf(s models.Session, edit func(*models.SessionInput)) models.SessionInput {
	in := models.SessionInput{Title: s.Title, StartsAt: s.StartsAt, EndsAt: s.EndsAt, Room: s.Room, Address: s.Address,
		VideoURL: s.VideoURL, Agenda: s.Agenda, Capacity: s.Capacity}
	if edit != nil {
		edit(&in)
	}
	return in
}

func TestAnswerRules(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		org := f.user("org@example.org", models.RoleOrganiser)
		member := f.user("m@example.org", models.RoleAgent)
		outsider := f.user("o@example.org", models.RoleAgent)
		g := f.group(org, models.GroupInput{})
		f.join(member, g.ID)
		s := f.session(org, g.ID, 0)
		answer := func(u models.User, a models.Answer) error {
			return f.tx(func(tx *models.Tx) error { _, err := tx.Answer(f.ctx, u, s.ID, a); return err })
		}
		if err := answer(outsider, models.AnswerYes); !errors.Is(err, models.ErrNotMember) {
			t.Fatalf("outsider answering: %v", err)
		}
		if err := answer(member, "perhaps"); err == nil {
			t.Fatal("unknown answer accepted")
		}
		if err := answer(member, models.AnswerYes); err != nil {
			t.Fatal(err)
		}
		f.clock.T = s.StartsAt.Add(time.Minute)
		if err := answer(member, models.AnswerNo); !errors.Is(err, models.ErrSessionStarted) {
			t.Fatalf("answering after the start: %v", err)
		}
		f.clock.T = s.StartsAt.Add(-time.Hour)
		f.must(func(tx *models.Tx) error { _, err := tx.CancelSession(f.ctx, org, s.ID); return err })
		if err := answer(member, models.AnswerNo); !errors.Is(err, models.ErrSessionCancelled) {
			t.Fatalf("answering a cancelled session: %v", err)
		}
	})
}

// 200 members answer "oui" at once to a session with 50 places: exactly 50
// get a place, 150 wait, in the order their answers were recorded.
func TestConcurrentAnswersRespectCapacity(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		org := f.user("org@example.org", models.RoleOrganiser)
		g := f.group(org, models.GroupInput{})
		members := make([]models.User, 200)
		f.must(func(tx *models.Tx) error {
			for i := range members {
				u, err := tx.CreateUser(f.ctx, models.NewUser{Email: fmt.Sprintf("agent%03d@example.org", i), Name: "A", DirectionCode: "DNUM"})
				if err != nil {
					return err
				}
				if err := tx.Join(f.ctx, u, g.ID); err != nil {
					return err
				}
				members[i] = u
			}
			return nil
		})
		s := f.session(org, g.ID, 50)

		var wg sync.WaitGroup
		errs := make(chan error, len(members))
		start := make(chan struct{})
		for _, u := range members {
			wg.Go(func() {
				<-start
				errs <- f.s.Tx(f.ctx, func(tx *models.Tx) error { _, err := tx.Answer(f.ctx, u, s.ID, models.AnswerYes); return err })
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("answer failed: %v", err)
			}
		}
		list, err := f.s.SessionRSVPs(f.ctx, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		var confirmed, waiting []models.RSVP
		for _, r := range list {
			if r.Waiting {
				waiting = append(waiting, r)
			} else {
				confirmed = append(confirmed, r)
			}
		}
		if len(confirmed) != 50 || len(waiting) != 150 {
			t.Fatalf("confirmed %d, waiting %d; want 50 and 150", len(confirmed), len(waiting))
		}
		// Queue numbers are 1..200 without gap: the first 50 have the places.
		all := append(append([]models.RSVP{}, confirmed...), waiting...)
		sort.Slice(all, func(i, j int) bool { return all[i].QueueNo < all[j].QueueNo })
		for i, r := range all {
			if r.QueueNo != i+1 {
				t.Fatalf("queue numbers have a gap or a duplicate at %d: %d", i+1, r.QueueNo)
			}
			if r.Waiting != (i >= 50) {
				t.Fatalf("answer #%d waiting = %v", r.QueueNo, r.Waiting)
			}
		}
		// The waiting list is listed in order.
		for i := 1; i < len(waiting); i++ {
			if waiting[i].QueueNo < waiting[i-1].QueueNo {
				t.Fatalf("waiting list out of order at %d", i)
			}
		}
		// Freeing one place promotes exactly the first in line.
		r := f.answer(confirmed[0].User, s.ID, models.AnswerNo)
		if len(r.Promotions) != 1 || r.Promotions[0].QueueNo != 51 {
			t.Fatalf("promotions = %+v, want #51", r.Promotions)
		}
	})
}

func TestSequenceFollowsChanges(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		org := f.user("org@example.org", models.RoleOrganiser)
		g := f.group(org, models.GroupInput{})
		s := f.session(org, g.ID, 0)
		if s.Sequence != 0 || s.UID != "agora-"+s.ID+"@agora.test" {
			t.Fatalf("new session: seq %d uid %q", s.Sequence, s.UID)
		}
		update := func(edit func(*models.SessionInput)) models.SessionChange {
			t.Helper()
			var ch models.SessionChange
			f.must(func(tx *models.Tx) error {
				cur, err := tx.SessionByID(f.ctx, s.ID)
				if err != nil {
					return err
				}
				ch, err = tx.UpdateSession(f.ctx, org, s.ID, inputOf(cur, edit))
				return err
			})
			return ch
		}
		for i, tc := range []struct {
			edit    func(*models.SessionInput)
			moved   bool
			wantSeq int
		}{
			{func(in *models.SessionInput) { in.Agenda = "1. Tour de table" }, false, 0},
			{func(in *models.SessionInput) {
				in.StartsAt = in.StartsAt.Add(time.Hour)
				in.EndsAt = in.EndsAt.Add(time.Hour)
			}, true, 1},
			{func(in *models.SessionInput) { in.Room = "Salle 2" }, true, 2},
			{func(in *models.SessionInput) { in.VideoURL = "https://visio.example.org/abc" }, true, 3},
			{func(in *models.SessionInput) { in.Title = "Séance renommée" }, true, 4},
			{func(in *models.SessionInput) { in.Capacity = 10 }, false, 4},
		} {
			ch := update(tc.edit)
			if ch.Moved != tc.moved || ch.After.Sequence != tc.wantSeq || ch.After.UID != s.UID {
				t.Fatalf("change %d: moved %v seq %d uid %q; want %v %d", i, ch.Moved, ch.After.Sequence, ch.After.UID, tc.moved, tc.wantSeq)
			}
		}
		var c models.Session
		f.must(func(tx *models.Tx) error { var err error; c, err = tx.CancelSession(f.ctx, org, s.ID); return err })
		if c.Sequence != 5 || !c.Cancelled() {
			t.Fatalf("cancelled: seq %d status %s", c.Sequence, c.Status)
		}
		if err := f.tx(func(tx *models.Tx) error { _, err := tx.CancelSession(f.ctx, org, s.ID); return err }); !errors.Is(err, models.ErrSessionCancelled) {
			t.Fatalf("cancelling twice: %v", err)
		}
	})
}

func TestSessionPermissionsAndPast(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		org := f.user("org@example.org", models.RoleOrganiser)
		member := f.user("m@example.org", models.RoleAgent)
		admin := f.user("admin@example.org", models.RoleAdmin)
		g := f.group(org, models.GroupInput{})
		f.join(member, g.ID)
		in := models.NewSession{GroupID: g.ID, UIDHost: "agora.test", SessionInput: models.SessionInput{
			Title: "S", StartsAt: paris(2026, 12, 1, 10, 0), EndsAt: paris(2026, 12, 1, 11, 0)}}
		create := func(by models.User, in models.NewSession) error {
			return f.tx(func(tx *models.Tx) error { _, err := tx.CreateSession(f.ctx, by, in); return err })
		}
		if err := create(member, in); !errors.Is(err, models.ErrForbidden) {
			t.Fatalf("member creating a session: %v", err)
		}
		if err := create(admin, in); err != nil {
			t.Fatalf("admin creating a session: %v", err)
		}
		past := in
		past.StartsAt, past.EndsAt = paris(2026, 11, 29, 10, 0), paris(2026, 11, 29, 11, 0)
		if err := create(org, past); !errors.Is(err, models.ErrSessionStarted) {
			t.Fatalf("session in the past: %v", err)
		}
		bad := in
		bad.EndsAt = bad.StartsAt.Add(-time.Hour)
		if err := create(org, bad); err == nil {
			t.Fatal("end before start accepted")
		}
		bad = in
		bad.Capacity = -1
		if err := create(org, bad); err == nil {
			t.Fatal("negative capacity accepted")
		}
		bad = in
		bad.Title = "Titre\r\nBcc: x@example.org"
		if err := create(org, bad); err == nil {
			t.Fatal("title with CR/LF accepted")
		}
		var n int
		items, _ := f.s.GroupSessions(f.ctx, g.ID, "", true, 0)
		n = len(items)
		if n != 1 {
			t.Fatalf("sessions saved = %d, want 1", n)
		}
	})
}

func TestSeriesKeepsParisHourAcrossDaylightSaving(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		org := f.user("org@example.org", models.RoleOrganiser)
		g := f.group(org, models.GroupInput{})
		// Tuesdays at 10:00 Paris, from before to after the 28 March 2027 change.
		var series []models.Session
		f.must(func(tx *models.Tx) error {
			var err error
			series, err = tx.CreateSeries(f.ctx, org, models.NewSession{GroupID: g.ID, UIDHost: "agora.test", SessionInput: models.SessionInput{
				Title: "Hebdo", StartsAt: paris(2027, 3, 16, 10, 0), EndsAt: paris(2027, 3, 16, 11, 30)}},
				models.SeriesRule{Freq: models.Weekly, Count: 4})
			return err
		})
		wantUTC := []string{"2027-03-16T09:00:00Z", "2027-03-23T09:00:00Z", "2027-03-30T08:00:00Z", "2027-04-06T08:00:00Z"}
		if len(series) != 4 {
			t.Fatalf("series has %d sessions", len(series))
		}
		uids := map[string]bool{}
		for i, s := range series {
			if got := s.StartsAt.Format(time.RFC3339); got != wantUTC[i] {
				t.Errorf("occurrence %d starts %s, want %s", i, got, wantUTC[i])
			}
			if p := s.StartsAt.In(models.Paris); p.Hour() != 10 || s.EndsAt.Sub(s.StartsAt) != 90*time.Minute {
				t.Errorf("occurrence %d: %s Paris, %s long", i, p, s.EndsAt.Sub(s.StartsAt))
			}
			uids[s.UID] = true
			if s.SeriesID == "" || s.SeriesID != series[0].SeriesID {
				t.Errorf("occurrence %d series %q", i, s.SeriesID)
			}
		}
		if len(uids) != 4 {
			t.Fatalf("UIDs are not distinct: %v", uids)
		}
		rule, err := f.s.SeriesRRule(f.ctx, series[0].SeriesID)
		if err != nil || rule == "" {
			t.Fatalf("rrule %q %v", rule, err)
		}

		// "This and following" from the second: move to 14:00, Salle B.
		var changes []models.SessionChange
		f.must(func(tx *models.Tx) error {
			var err error
			changes, err = tx.UpdateSeriesFrom(f.ctx, org, series[1].ID, inputOf(series[1], func(in *models.SessionInput) {
				in.StartsAt, in.EndsAt, in.Room = paris(2027, 3, 23, 14, 0), paris(2027, 3, 23, 15, 0), "Salle B"
			}))
			return err
		})
		if len(changes) != 3 {
			t.Fatalf("changed %d sessions, want 3", len(changes))
		}
		all, _ := f.s.SeriesSessions(f.ctx, series[0].SeriesID, time.Time{})
		want := []string{"16/03 10:00 90m  0", "23/03 14:00 60m Salle B 1", "30/03 14:00 60m Salle B 1", "06/04 14:00 60m Salle B 1"}
		for i, s := range all {
			p := s.StartsAt.In(models.Paris)
			got := fmt.Sprintf("%s %dm %s %d", p.Format("02/01 15:04"), int(s.EndsAt.Sub(s.StartsAt).Minutes()), s.Room, s.Sequence)
			if got != want[i] {
				t.Errorf("after series edit, occurrence %d = %q, want %q", i, got, want[i])
			}
		}
		// "This occurrence" only.
		f.must(func(tx *models.Tx) error {
			_, err := tx.UpdateSession(f.ctx, org, all[3].ID, inputOf(all[3], func(in *models.SessionInput) { in.Room = "Salle C" }))
			return err
		})
		if s, _ := f.s.SessionByID(f.ctx, all[2].ID); s.Room != "Salle B" {
			t.Fatalf("editing one occurrence changed another: %q", s.Room)
		}
		// Cancel this and following from the third.
		var cancelled []models.Session
		f.must(func(tx *models.Tx) error {
			var err error
			cancelled, err = tx.CancelSeriesFrom(f.ctx, org, all[2].ID)
			return err
		})
		if len(cancelled) != 2 || !cancelled[0].Cancelled() || cancelled[1].Sequence != 3 {
			t.Fatalf("cancelled = %+v", cancelled)
		}
		if s, _ := f.s.SessionByID(f.ctx, all[1].ID); s.Cancelled() {
			t.Fatal("cancelling from the third cancelled the second")
		}
	})
}

func TestMonthlyAndBiweeklyOccurrences(t *testing.T) {
	start := paris(2027, 1, 15, 9, 30)
	for _, tc := range []struct {
		rule models.SeriesRule
		want []string
	}{
		{models.SeriesRule{Freq: models.Biweekly, Count: 3}, []string{"15/01 09:30", "29/01 09:30", "12/02 09:30"}},
		{models.SeriesRule{Freq: models.Monthly, Until: paris(2027, 4, 15, 0, 0)}, []string{"15/01 09:30", "15/02 09:30", "15/03 09:30", "15/04 09:30"}},
	} {
		occ, err := tc.rule.Occurrences(start)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, o := range occ {
			got = append(got, o.In(models.Paris).Format("02/01 15:04"))
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%+v = %v, want %v", tc.rule, got, tc.want)
		}
	}
	if _, err := (models.SeriesRule{Freq: models.Weekly}).Occurrences(start); err == nil {
		t.Error("a rule without count or end was accepted")
	}
	occ, _ := models.SeriesRule{Freq: models.Weekly, Count: 500}.Occurrences(start)
	if len(occ) != models.MaxSeriesOccurrences {
		t.Errorf("count 500 made %d occurrences", len(occ))
	}
}

func TestRecipientsAndReminders(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		org := f.user("org@example.org", models.RoleOrganiser)
		yes := f.user("yes@example.org", models.RoleAgent)
		no := f.user("no@example.org", models.RoleAgent)
		optout := f.user("optout@example.org", models.RoleAgent)
		quiet := f.user("quiet@example.org", models.RoleAgent)
		g := f.group(org, models.GroupInput{})
		for _, u := range []models.User{yes, no, optout, quiet} {
			f.join(u, g.ID)
		}
		f.must(func(tx *models.Tx) error { return tx.SetInvitations(f.ctx, optout, g.ID, false) })
		f.must(func(tx *models.Tx) error { return tx.SetReminders(f.ctx, quiet.ID, false) })
		s := f.session(org, g.ID, 0)
		f.answer(yes, s.ID, models.AnswerYes)
		f.answer(no, s.ID, models.AnswerNo)
		f.answer(quiet, s.ID, models.AnswerYes)
		f.answer(optout, s.ID, models.AnswerYes)

		emails := func(rs []models.Recipient) string {
			var out []string
			for _, r := range rs {
				out = append(out, r.User.Email+":"+string(r.Answer))
			}
			return fmt.Sprint(out)
		}
		rs, err := f.s.SessionRecipients(f.ctx, s, false)
		if err != nil || emails(rs) != "[org@example.org: quiet@example.org:yes yes@example.org:yes]" {
			t.Fatalf("recipients = %s (%v)", emails(rs), err)
		}
		rs, _ = f.s.SessionRecipients(f.ctx, s, true)
		if emails(rs) != "[no@example.org:no org@example.org: quiet@example.org:yes yes@example.org:yes]" {
			t.Fatalf("recipients with declined = %s", emails(rs))
		}

		day := s.StartsAt.Add(-24 * time.Hour)
		rem, err := f.s.DueReminders(f.ctx, day, day.Add(24*time.Hour+time.Second))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range rem {
			got = append(got, r.User.Email)
		}
		// optout turned invitations off, not reminders.
		if fmt.Sprint(got) != "[optout@example.org yes@example.org]" {
			t.Fatalf("reminders to %v", got)
		}
	})
}

func TestFeedStampChanges(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		org := f.user("org@example.org", models.RoleOrganiser)
		m := f.user("m@example.org", models.RoleAgent)
		g := f.group(org, models.GroupInput{})
		f.join(m, g.ID)
		s := f.session(org, g.ID, 0)
		st := func() models.FeedStamp {
			t.Helper()
			x, err := f.s.UserFeedStamp(f.ctx, m.ID)
			if err != nil {
				t.Fatal(err)
			}
			return x
		}
		a := st()
		if a.Count != 1 || a.LastModified.IsZero() {
			t.Fatalf("stamp = %+v", a)
		}
		if b := st(); b != a {
			t.Fatalf("stamp not stable: %+v %+v", a, b)
		}
		f.clock.Advance(time.Second)
		f.answer(m, s.ID, models.AnswerMaybe)
		b := st()
		if b == a {
			t.Fatal("an answer did not change the stamp")
		}
		f.clock.Advance(time.Second)
		f.must(func(tx *models.Tx) error {
			_, err := tx.UpdateSession(f.ctx, org, s.ID, inputOf(s, func(in *models.SessionInput) { in.Agenda = "x" }))
			return err
		})
		if c := st(); c == b || !c.LastModified.After(b.LastModified) {
			t.Fatalf("an edit did not change the stamp: %+v %+v", b, c)
		}
		// A promotion off the waiting list changes the answer shown: new stamp.
		f.must(func(tx *models.Tx) error {
			_, err := tx.UpdateSession(f.ctx, org, s.ID, inputOf(s, func(in *models.SessionInput) { in.Agenda = "x"; in.Capacity = 1 }))
			return err
		})
		f.answer(org, s.ID, models.AnswerYes)
		f.answer(m, s.ID, models.AnswerYes) // waits
		d := st()
		f.answer(org, s.ID, models.AnswerNo) // m is promoted, same second
		if e := st(); e == d {
			t.Fatalf("a promotion did not change the stamp: %+v", e)
		}
		gs, err := f.s.GroupFeedStamp(f.ctx, g.ID)
		if err != nil || gs.Count != 1 {
			t.Fatalf("group stamp %+v %v", gs, err)
		}
	})
}

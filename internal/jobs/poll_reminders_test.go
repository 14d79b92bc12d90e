package jobs_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dnum-sociaux/agora/internal/jobs"
	"github.com/dnum-sociaux/agora/internal/testutil"
	"github.com/dnum-sociaux/agora/models"
)

// On the eve of a poll's last day, the members who have not answered every
// slot (and accept news by email) get one reminder, once.
func TestPollRemindersOnTheEveOfTheLastDayOnce(t *testing.T) {
	clock := testutil.NewClock() // Monday 30 November 2026, 09:00 Paris
	for name, store := range testutil.Stores(t, clock.Now) {
		t.Run(name, func(t *testing.T) {
			clock.Set(testutil.NewClock().Now())
			ctx := context.Background()
			paris := func(m time.Month, d, h, min int) time.Time { return time.Date(2026, m, d, h, min, 0, 0, models.Paris) }
			users := map[string]models.User{}
			var poll models.Poll
			var slots []models.PollSlot
			testutil.MustTx(t, store, func(tx *models.Tx) error {
				for _, e := range []string{"org", "a", "b", "c", "d"} {
					u, err := tx.CreateUser(ctx, models.NewUser{Email: e + "@x.fr", Name: strings.ToUpper(e), DirectionCode: "DNUM", Role: models.RoleOrganiser})
					if err != nil {
						return err
					}
					users[e] = u
				}
				if err := tx.UpdateProfile(ctx, users["c"].ID, models.ProfileUpdate{Name: "C", DirectionCode: "DNUM", NotifyEmail: false}); err != nil {
					return err
				}
				g, err := tx.CreateGroup(ctx, users["org"], models.GroupInput{Title: "Communs", Theme: models.ThemeOther, JoinPolicy: models.JoinOpen})
				if err != nil {
					return err
				}
				for _, e := range []string{"a", "b", "c", "d"} {
					if err := tx.Join(ctx, users[e], g.ID); err != nil {
						return err
					}
				}
				in := models.PollInput{Title: "Atelier", Duration: time.Hour, Deadline: paris(12, 4, 0, 0),
					Starts: []time.Time{paris(12, 8, 10, 0), paris(12, 9, 10, 0)}}
				if poll, slots, err = tx.CreatePoll(ctx, users["org"], g.ID, in); err != nil {
					return err
				}
				// b answers everything, d one slot of two.
				if _, err := tx.VotePoll(ctx, users["b"], poll.ID, map[string]models.Vote{slots[0].ID: models.VoteYes, slots[1].ID: models.VoteNo}); err != nil {
					return err
				}
				_, err = tx.VotePoll(ctx, users["d"], poll.ID, map[string]models.Vote{slots[0].ID: models.VoteYes})
				return err
			})
			job := &jobs.PollReminders{Store: store, Mail: composer(t), BaseURL: "https://agora.test"}
			reminded := func() []string {
				msgs, _, err := store.ListOutbox(ctx, models.OutboxFilter{Kind: "poll.reminder", Limit: 100})
				if err != nil {
					t.Fatal(err)
				}
				var out []string
				for _, m := range msgs {
					out = append(out, m.Recipient)
					if !strings.Contains(m.TextBody, "https://agora.test/polls/"+poll.ID) || !strings.Contains(m.TextBody, "jusqu’au jeudi 3 décembre 2026 inclus") {
						t.Fatalf("reminder:\n%s", m.TextBody)
					}
				}
				slices.Sort(out)
				return out
			}
			for _, step := range []struct {
				at   time.Time
				want string
			}{
				{paris(11, 30, 9, 0), ""},              // the last day is in three days
				{paris(12, 2, 7, 30), ""},              // the eve, before 8:00
				{paris(12, 2, 8, 30), "a@x.fr d@x.fr"}, // the eve: not b (answered all), not c (no news by email)
				{paris(12, 2, 18, 0), "a@x.fr d@x.fr"}, // again: nothing new
				{paris(12, 3, 9, 0), "a@x.fr d@x.fr"},  // the last day: nothing new
				{paris(12, 4, 9, 0), "a@x.fr d@x.fr"},  // past the deadline
			} {
				clock.Set(step.at)
				if _, err := job.RunOnce(ctx); err != nil {
					t.Fatal(err)
				}
				// A restarted job (a new value) sends nothing twice either.
				if _, err := (&jobs.PollReminders{Store: store, Mail: job.Mail, BaseURL: job.BaseURL}).RunOnce(ctx); err != nil {
					t.Fatal(err)
				}
				if got := strings.Join(reminded(), " "); got != step.want {
					t.Fatalf("at %s: reminded %q, want %q", step.at, got, step.want)
				}
			}
			// A poll opened less than a day before its last day: its announcement is enough.
			clock.Set(paris(12, 5, 8, 0))
			testutil.MustTx(t, store, func(tx *models.Tx) error {
				g, err := tx.CreateGroup(ctx, users["org"], models.GroupInput{Title: "Autre", Theme: models.ThemeOther, JoinPolicy: models.JoinOpen})
				if err != nil {
					return err
				}
				if err := tx.Join(ctx, users["a"], g.ID); err != nil {
					return err
				}
				_, _, err = tx.CreatePoll(ctx, users["org"], g.ID, models.PollInput{Title: "Vite", Duration: time.Hour, Deadline: paris(12, 7, 0, 0),
					Starts: []time.Time{paris(12, 8, 10, 0), paris(12, 9, 10, 0)}})
				return err
			})
			clock.Set(paris(12, 5, 9, 0))
			if n, err := job.RunOnce(ctx); err != nil || n != 0 {
				t.Fatalf("reminders for a poll opened an hour ago: %d, %v", n, err)
			}
		})
	}
}

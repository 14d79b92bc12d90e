package jobs_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dnum-sociaux/agora/internal/ical"
	"github.com/dnum-sociaux/agora/internal/invite"
	"github.com/dnum-sociaux/agora/internal/jobs"
	"github.com/dnum-sociaux/agora/internal/testutil"
	"github.com/dnum-sociaux/agora/models"
)

func paris(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, models.Paris)
}

func TestRemindersTheDayBeforeOnce(t *testing.T) {
	clock := testutil.NewClock()
	store := testutil.SQLite(t, clock.Now)
	ctx := context.Background()
	sender := &invite.Sender{Mail: composer(t), Organizer: ical.Person{Email: "agora@agora.test"},
		BaseURL: "https://agora.test", Now: clock.Now}
	newJob := func() *jobs.Reminders { return &jobs.Reminders{Store: store, Invite: sender, Now: clock.Now} }

	var sess models.Session
	users := map[string]models.User{}
	testutil.MustTx(t, store, func(tx *models.Tx) error {
		for _, e := range []string{"org", "yes", "quiet", "maybe", "wait"} {
			role := models.RoleAgent
			if e == "org" {
				role = models.RoleOrganiser
			}
			u, err := tx.CreateUser(ctx, models.NewUser{Email: e + "@example.org", Name: e, DirectionCode: "DNUM", Role: role})
			if err != nil {
				return err
			}
			users[e] = u
		}
		g, err := tx.CreateGroup(ctx, users["org"], models.GroupInput{Title: "Groupe", Theme: models.ThemeOther, JoinPolicy: models.JoinOpen})
		if err != nil {
			return err
		}
		for _, e := range []string{"yes", "quiet", "maybe", "wait"} {
			if err := tx.Join(ctx, users[e], g.ID); err != nil {
				return err
			}
		}
		sess, err = tx.CreateSession(ctx, users["org"], models.NewSession{GroupID: g.ID, UIDHost: "agora.test", SessionInput: models.SessionInput{
			Title: "Séance", StartsAt: paris(2026, 12, 10, 14, 0), EndsAt: paris(2026, 12, 10, 16, 0), Room: "Salle 1",
			VideoURL: "https://visio.example.org/x", Agenda: "Point 1", Capacity: 2}})
		if err != nil {
			return err
		}
		for _, a := range []struct {
			who string
			ans models.Answer
		}{{"yes", models.AnswerYes}, {"quiet", models.AnswerYes}, {"maybe", models.AnswerMaybe}, {"wait", models.AnswerYes}} {
			if _, err := tx.Answer(ctx, users[a.who], sess.ID, a.ans); err != nil {
				return err
			}
		}
		return tx.SetReminders(ctx, users["quiet"].ID, false)
	})

	run := func(at time.Time) int {
		t.Helper()
		clock.T = at
		n, err := newJob().RunOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := run(paris(2026, 12, 8, 12, 0)); n != 0 {
		t.Fatalf("two days before: %d reminders", n)
	}
	if n := run(paris(2026, 12, 9, 7, 0)); n != 0 {
		t.Fatalf("the day before at 7:00: %d reminders (not before 8:00)", n)
	}
	if n := run(paris(2026, 12, 9, 8, 5)); n != 1 {
		t.Fatalf("the day before at 8:05: %d reminders, want 1 (yes; not quiet, maybe, or the waiting list)", n)
	}
	// Again, and after a "restart" (a new job): nothing more.
	if n := run(paris(2026, 12, 9, 8, 15)); n != 0 {
		t.Fatalf("second pass: %d", n)
	}
	msgs, _, err := store.ListOutbox(ctx, models.OutboxFilter{Kind: "session.reminder"})
	if err != nil || len(msgs) != 1 || msgs[0].Recipient != "yes@example.org" {
		t.Fatalf("reminders = %+v (%v)", msgs, err)
	}
	for _, want := range []string{"demain", "Salle 1", "https://visio.example.org/x", "Point 1", "https://agora.test/sessions/" + sess.ID} {
		if !strings.Contains(msgs[0].TextBody+msgs[0].Subject, want) {
			t.Errorf("reminder lacks %q:\n%s", want, msgs[0].TextBody)
		}
	}
	// Moved to the next day: a new reminder the day before the new date.
	testutil.MustTx(t, store, func(tx *models.Tx) error {
		_, err := tx.UpdateSession(ctx, users["org"], sess.ID, models.SessionInput{Title: "Séance", StartsAt: paris(2026, 12, 11, 14, 0),
			EndsAt: paris(2026, 12, 11, 16, 0), Room: "Salle 1", Capacity: 2})
		return err
	})
	if n := run(paris(2026, 12, 10, 9, 0)); n != 1 {
		t.Fatalf("after the move: %d reminders, want 1", n)
	}
}

package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/dnum-sociaux/agora/internal/jobs"
	"github.com/dnum-sociaux/agora/internal/testutil"
	"github.com/dnum-sociaux/agora/models"
)

func TestEventRemindersAWeekAndADayBeforeOnce(t *testing.T) {
	clock := testutil.NewClock()
	store := testutil.SQLite(t, clock.Now)
	ctx := context.Background()
	n := eventNotifier(t, clock)
	start := clock.Now().Add(10 * 24 * time.Hour)
	var e models.Event
	testutil.MustTx(t, store, func(tx *models.Tx) error {
		var err error
		if e, err = tx.CreateEvent(ctx, models.Actor{}, "agora.test", models.EventInput{Title: "Journée", StartsAt: start, EndsAt: start.Add(8 * time.Hour),
			Capacity: 1, Modes: models.ModesOnsite}); err != nil {
			return err
		}
		if e, err = tx.SetEventStatus(ctx, models.NoNotify, models.Actor{}, e.ID, models.EventPublished); err != nil {
			return err
		}
		for _, email := range []string{"a@x.fr", "w@x.fr"} { // w waits: no reminder
			if _, err := tx.Register(ctx, models.NoNotify, models.NewRegistration{EventID: e.ID, Email: email, Name: "N", DirectionCode: "DNUM", Mode: models.ModeOnsite}); err != nil {
				return err
			}
		}
		return nil
	})
	job := &jobs.EventReminders{Store: store, Notifier: n}
	count := func() int {
		msgs, _, err := store.ListOutbox(ctx, models.OutboxFilter{Kind: "event.reminder", Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		return len(msgs)
	}
	for _, step := range []struct {
		advance time.Duration
		want    int
	}{
		{0, 0},                  // 10 days before: nothing
		{3*24*time.Hour + 1, 1}, // a week before: the week reminder
		{time.Hour, 1},          // again: nothing new
		{6 * 24 * time.Hour, 2}, // a day before: the day reminder
		{time.Hour, 2},          // again: nothing new
	} {
		clock.Advance(step.advance)
		if _, err := job.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		// A restarted job (a new value) sends nothing twice either.
		if _, err := (&jobs.EventReminders{Store: store, Notifier: n}).RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if got := count(); got != step.want {
			t.Fatalf("after %v: %d reminders, want %d", step.advance, got, step.want)
		}
	}
	msgs, _, _ := store.ListOutbox(ctx, models.OutboxFilter{Kind: "event.reminder", Limit: 10})
	for _, m := range msgs {
		if m.Recipient != "a@x.fr" {
			t.Errorf("reminder to %s (waitlisted people get none)", m.Recipient)
		}
	}
}

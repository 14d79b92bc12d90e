package jobs

import (
	"context"
	"log/slog"
	"time"

	"github.com/dnum-sociaux/agora/internal/eventmail"
	"github.com/dnum-sociaux/agora/models"
)

// EventReminders emails every confirmed registrant of an event a week and
// a day before it starts. Each event's reminder of each kind is marked sent
// in the transaction that queues its emails (and each email has a dedupe
// key naming the event, the kind and the person), so it goes out once,
// across restarts and concurrent runs.
type EventReminders struct {
	Store    *models.Store
	Notifier *eventmail.Notifier
	Logger   *slog.Logger
	Notify   func()        // wakes the mail worker; may be nil
	Interval time.Duration // between passes (default 10 min)
}

func (r *EventReminders) defaults() {
	loopDefaults(&r.Logger, &r.Interval, &r.Notify)
}

// RunOnce queues the reminders that are due at the store's clock and
// returns how many emails it queued. A week reminder that falls due less
// than a day before the event (an event published late) is skipped: the
// day reminder follows.
func (r *EventReminders) RunOnce(ctx context.Context) (int, error) {
	r.defaults()
	queued := 0
	for _, kind := range []models.ReminderKind{models.ReminderWeek, models.ReminderDay} {
		events, err := r.Store.DueEventReminders(ctx, kind)
		if err != nil {
			return queued, err
		}
		for _, e := range events {
			skip := kind == models.ReminderWeek && e.StartsAt.Sub(r.Store.Now()) < 24*time.Hour
			err := r.Store.Tx(ctx, func(tx *models.Tx) error {
				_, n, err := tx.SendEventReminders(ctx, e.ID, kind, func(e models.Event, reg models.Registration) error {
					if skip {
						return nil
					}
					return r.Notifier.Reminder(ctx, tx, &e, &reg, string(kind))
				})
				if !skip {
					queued += n
				}
				return err
			})
			if err != nil {
				return queued, err
			}
		}
	}
	if queued > 0 {
		r.Notify()
	}
	return queued, nil
}

// Run does a pass now, then every Interval, until ctx ends.
func (r *EventReminders) Run(ctx context.Context) {
	r.defaults()
	runEvery(ctx, r.Logger, "event reminders", r.Interval, r.RunOnce)
}

// Package jobs holds Agora's scheduled work. Each job has a RunOnce that
// does one pass with the clock it is given (tests call it with a fixed
// clock), and a Run loop that main starts with the shared context and waits
// for at shutdown.
package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/dnum-sociaux/agora/internal/invite"
	"github.com/dnum-sociaux/agora/models"
)

// Reminders emails, the day before each group session, the members who
// answered "oui" and keep reminders on. Each reminder goes through the
// outbox with a dedupe key naming the session, its start and the member:
// it is sent once however often the job runs, across restarts, and again
// only if the session moves to another day.
type Reminders struct {
	Store    *models.Store
	Invite   *invite.Sender
	Logger   *slog.Logger
	Now      func() time.Time
	Notify   func()        // wakes the mail worker; may be nil
	Interval time.Duration // between passes (default 10 min)
	// FromHour is the Paris hour from which the day-before reminders go out
	// (default 8), so nobody gets one at midnight.
	FromHour int
}

func (r *Reminders) defaults() {
	if r.Now == nil {
		r.Now = time.Now
	}
	loopDefaults(&r.Logger, &r.Interval, &r.Notify)
	if r.FromHour <= 0 {
		r.FromHour = 8
	}
}

// ReminderDedupeKey names one reminder.
func ReminderDedupeKey(s models.Session, userID string) string {
	return fmt.Sprintf("reminder:%s:%d:%s", s.ID, s.StartsAt.Unix(), userID)
}

// RunOnce queues the reminders of the sessions that start tomorrow (Paris
// calendar day), once the Paris clock has passed FromHour. It returns how
// many new reminders it queued.
func (r *Reminders) RunOnce(ctx context.Context) (int, error) {
	r.defaults()
	now := r.Now().In(models.Paris)
	if now.Hour() < r.FromHour {
		return 0, nil
	}
	from := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, models.Paris)
	to := time.Date(now.Year(), now.Month(), now.Day()+2, 0, 0, 0, 0, models.Paris)
	due, err := r.Store.DueReminders(ctx, from, to)
	if err != nil {
		return 0, err
	}
	return enqueueAll(ctx, r.Store, due, r.Notify, func(d models.Reminder) (models.OutboxMessage, error) {
		url := r.Invite.SessionURL(d.Session)
		return r.Invite.Mail.Compose("session.reminder", ReminderDedupeKey(d.Session, d.User.ID), d.User.Email, "session_reminder",
			invite.SessionMail{Change: "reminder", Context: d.GroupTitle, Session: d.Session, URL: url, Recipient: d.User.Name})
	})
}

// Run does a pass now, then every Interval, until ctx ends.
func (r *Reminders) Run(ctx context.Context) {
	r.defaults()
	runEvery(ctx, r.Logger, "session reminders", r.Interval, r.RunOnce)
}

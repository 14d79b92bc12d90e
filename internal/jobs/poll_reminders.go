package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/dnum-sociaux/agora/internal/mail"
	"github.com/dnum-sociaux/agora/internal/render"
	"github.com/dnum-sociaux/agora/models"
)

// PollReminders emails, on the eve of a date poll's last day of answers,
// the members (but its author) who have not answered every slot still to
// come and accept news by email. A poll opened less than a day before is skipped: its
// announcement is fresh. Each reminder has a dedupe key naming the poll, its
// deadline and the member: it goes out once, across restarts and
// concurrent runs.
type PollReminders struct {
	Store    *models.Store
	Mail     *mail.Composer
	BaseURL  string // prefixes the link to the poll
	Logger   *slog.Logger
	Notify   func()        // wakes the mail worker; may be nil
	Interval time.Duration // between passes (default 10 min)
	// FromHour is the Paris hour from which reminders go out (default 8).
	FromHour int
}

func (r *PollReminders) defaults() {
	if r.Logger == nil {
		r.Logger = slog.New(slog.DiscardHandler)
	}
	if r.Interval <= 0 {
		r.Interval = 10 * time.Minute
	}
	if r.FromHour <= 0 {
		r.FromHour = 8
	}
	if r.Notify == nil {
		r.Notify = func() {}
	}
}

// PollReminderDedupeKey names one reminder.
func PollReminderDedupeKey(p models.Poll, userID string) string {
	return fmt.Sprintf("poll:%s:reminder:%d:%s", p.ID, p.Deadline.Unix(), userID)
}

// pollNotice is the .Data of the "notice" email template.
type pollNotice struct {
	Subject    string
	Name       string
	Paragraphs []string
	LinkLabel  string
	Link       string
}

// RunOnce queues the reminders due at the store's clock: polls whose last
// day of answers is today or tomorrow (Paris), once the Paris clock has
// passed FromHour. It returns how many new reminders it queued.
func (r *PollReminders) RunOnce(ctx context.Context) (int, error) {
	r.defaults()
	now := r.Store.Now().In(models.Paris)
	if now.Hour() < r.FromHour {
		return 0, nil
	}
	// A deadline is the midnight ending the last day: by the end of
	// tomorrow means a last day of today or tomorrow.
	until := time.Date(now.Year(), now.Month(), now.Day()+2, 0, 0, 0, 0, models.Paris)
	due, err := r.Store.DuePollReminders(ctx, until, now.Add(-24*time.Hour))
	if err != nil {
		return 0, err
	}
	queued := 0
	err = r.Store.Tx(ctx, func(tx *models.Tx) error {
		for _, d := range due {
			last := render.DateFR(d.Poll.LastDay())
			n := pollNotice{
				Subject: "Rappel : sondage de dates « " + d.Poll.Title + " »", Name: d.User.Name,
				Paragraphs: []string{
					"Vous n’avez pas encore répondu à tous les créneaux du sondage de dates « " + d.Poll.Title + " » du groupe « " + d.GroupTitle + " ».",
					"Les réponses sont acceptées jusqu’au " + last + " inclus. Indiquez pour chaque créneau si vous êtes disponible (oui, si besoin ou non).",
				},
				LinkLabel: "Répondre au sondage", Link: strings.TrimRight(r.BaseURL, "/") + "/polls/" + d.Poll.ID,
			}
			m, err := r.Mail.Compose("poll.reminder", PollReminderDedupeKey(d.Poll, d.User.ID), d.User.Email, "notice", n)
			if err != nil {
				return err
			}
			ok, err := tx.Enqueue(ctx, m)
			if err != nil {
				return err
			}
			if ok {
				queued++
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if queued > 0 {
		r.Notify()
	}
	return queued, nil
}

// Run does a pass now, then every Interval, until ctx ends.
func (r *PollReminders) Run(ctx context.Context) {
	r.defaults()
	t := time.NewTicker(r.Interval)
	defer t.Stop()
	for {
		n, err := r.RunOnce(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			r.Logger.Warn("poll reminders", "error", err)
		case n > 0:
			r.Logger.Info("poll reminders queued", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

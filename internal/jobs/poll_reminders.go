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
	loopDefaults(&r.Logger, &r.Interval, &r.Notify)
	if r.FromHour <= 0 {
		r.FromHour = 8
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
	return enqueueAll(ctx, r.Store, due, r.Notify, func(d models.PollReminder) (models.OutboxMessage, error) {
		last := render.DateFR(d.Poll.LastDay())
		n := pollNotice{
			Subject: "Rappel : sondage de dates « " + d.Poll.Title + " »", Name: d.User.Name,
			Paragraphs: []string{
				"Vous n’avez pas encore répondu à tous les créneaux du sondage de dates « " + d.Poll.Title + " » du groupe « " + d.GroupTitle + " ».",
				"Les réponses sont acceptées jusqu’au " + last + " inclus. Indiquez pour chaque créneau si vous êtes disponible (oui, si besoin ou non).",
			},
			LinkLabel: "Répondre au sondage", Link: strings.TrimRight(r.BaseURL, "/") + "/polls/" + d.Poll.ID,
		}
		return r.Mail.Compose("poll.reminder", PollReminderDedupeKey(d.Poll, d.User.ID), d.User.Email, "notice", n)
	})
}

// Run does a pass now, then every Interval, until ctx ends.
func (r *PollReminders) Run(ctx context.Context) {
	r.defaults()
	runEvery(ctx, r.Logger, "poll reminders", r.Interval, r.RunOnce)
}

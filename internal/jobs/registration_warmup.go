package jobs

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/dnum-sociaux/agora/internal/eventmail"
	"github.com/dnum-sociaux/agora/models"
)

// RegistrationWarmup renders ahead the emails of registration openings
// (eventmail.Notifier.Warm), and reads their workshops, quotas and
// questions into the store's cache (models.DB.WarmRules), so that the
// first registrations of a burst find them ready instead of rendering and
// reading them one after the other on the single SQLite writer. A pass
// now, then every Interval: the published events whose registration is
// open or opens within Ahead, soonest opening first, as many as half the
// notifier's cache holds (a pass must not push out what the registrations
// being made use).
type RegistrationWarmup struct {
	Store    *models.Store
	Notifier *eventmail.Notifier // the one the registration handlers use
	Logger   *slog.Logger
	Interval time.Duration // between passes (default 1 min)
	Ahead    time.Duration // how long before its opening an event is warmed (default 1 h)
}

// warmupBudget is how many emails a pass may render into the notifier's
// cache (half of its size).
const warmupBudget = eventmail.CacheSize / 2

func (w *RegistrationWarmup) defaults() {
	if w.Interval <= 0 {
		w.Interval = time.Minute
	}
	if w.Ahead <= 0 {
		w.Ahead = time.Hour
	}
	if w.Logger == nil {
		w.Logger = slog.New(slog.DiscardHandler)
	}
}

// RunOnce warms the events of a pass and returns how many emails it
// rendered (none when they were all ready).
func (w *RegistrationWarmup) RunOnce(ctx context.Context) (int, error) {
	w.defaults()
	now := w.Store.Now()
	events, err := w.Store.ListEvents(ctx, models.EventFilter{Visible: true, Upcoming: true, Limit: 500})
	if err != nil {
		return 0, err
	}
	opening := func(e *models.Event) time.Time { return cmp.Or(e.OpensAt, e.CreatedAt) }
	events = slices.DeleteFunc(events, func(e models.Event) bool {
		switch e.RegistrationState(now) {
		case models.RegOpen:
			return false
		case models.RegNotYet:
			return e.OpensAt.Sub(now) > w.Ahead
		}
		return true
	})
	distance := func(e *models.Event) time.Duration { d := opening(e).Sub(now); return max(d, -d) }
	slices.SortFunc(events, func(a, b models.Event) int { return cmp.Compare(distance(&a), distance(&b)) })
	rendered, budget := 0, warmupBudget
	for i := range events {
		e := &events[i]
		if err := w.Store.WarmRules(ctx, e); err != nil {
			return rendered, err
		}
		slots, err := w.Store.Programme(ctx, e.ID)
		if err != nil {
			return rendered, err
		}
		var workshops []models.Session
		for _, s := range slots {
			if s.Kind == models.SlotWorkshop {
				workshops = append(workshops, s.Session)
			}
		}
		if budget -= eventmail.WarmSize(e, workshops); budget < 0 {
			break
		}
		n, err := w.Notifier.Warm(e, workshops)
		rendered += n
		if err != nil {
			return rendered, err
		}
	}
	return rendered, nil
}

// Run does a pass now, then every Interval, until ctx ends.
func (w *RegistrationWarmup) Run(ctx context.Context) {
	w.defaults()
	runEveryDoing(ctx, w.Logger, "registration emails", "rendered ahead", w.Interval, w.RunOnce)
}

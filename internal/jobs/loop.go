package jobs

import (
	"context"
	"log/slog"
	"time"

	"github.com/dnum-sociaux/agora/models"
)

// loopDefaults fills the fields every job shares when they are unset: a
// logger that discards, a pass every 10 minutes, no mail worker to wake.
func loopDefaults(logger **slog.Logger, interval *time.Duration, notify *func()) {
	if *logger == nil {
		*logger = slog.New(slog.DiscardHandler)
	}
	if *interval <= 0 {
		*interval = 10 * time.Minute
	}
	if *notify == nil {
		*notify = func() {}
	}
}

// runEvery does a pass of once now, then one every interval, until ctx
// ends. A failed pass is logged as a warning (unless ctx has ended, which
// is how shutdown interrupts a pass), a pass that queued something as
// info; name ("session reminders") starts both lines.
func runEvery(ctx context.Context, logger *slog.Logger, name string, interval time.Duration, once func(context.Context) (int, error)) {
	runEveryDoing(ctx, logger, name, "queued", interval, once)
}

// runEveryDoing is runEvery for a job whose count is of something else
// than queued emails: done ("rendered") names it in the info line.
func runEveryDoing(ctx context.Context, logger *slog.Logger, name, done string, interval time.Duration, once func(context.Context) (int, error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := once(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			logger.Warn(name, "error", err)
		case n > 0:
			logger.Info(name+" "+done, "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// enqueueAll composes one email per item and queues them all in one
// transaction (the outbox skips those whose dedupe key is already there),
// then calls notify if any was new. It returns how many were new, or 0
// and the error that rolled the transaction back.
func enqueueAll[T any](ctx context.Context, store *models.Store, items []T, notify func(), compose func(T) (models.OutboxMessage, error)) (int, error) {
	queued := 0
	err := store.Tx(ctx, func(tx *models.Tx) error {
		for _, it := range items {
			m, err := compose(it)
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
		notify()
	}
	return queued, nil
}

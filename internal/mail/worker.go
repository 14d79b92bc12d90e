package mail

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/dnum-sociaux/agora/models"
)

// Worker delivers the outbox: it claims due messages oldest first, sends
// them, and records each outcome. Temporary failures are retried with
// exponential backoff; after MaxAttempts a message is marked failed.
type Worker struct {
	Store       *models.Store
	Sender      Sender
	Logger      *slog.Logger
	Batch       int           // messages claimed at once (default 50)
	Lease       time.Duration // how long a claim holds before another worker may retry (default 2 min)
	Poll        time.Duration // idle wait between looks at the queue (default 2 s)
	BaseBackoff time.Duration // first retry delay (default 30 s), doubled each attempt
	MaxBackoff  time.Duration // cap of the retry delay (default 1 h)
	MaxAttempts int           // attempts before giving up (default 8)
	Now         func() time.Time

	wake chan struct{}
}

func (w *Worker) defaults() {
	if w.Batch <= 0 {
		w.Batch = 50
	}
	if w.Lease <= 0 {
		w.Lease = 2 * time.Minute
	}
	if w.Poll <= 0 {
		w.Poll = 2 * time.Second
	}
	if w.BaseBackoff <= 0 {
		w.BaseBackoff = 30 * time.Second
	}
	if w.MaxBackoff <= 0 {
		w.MaxBackoff = time.Hour
	}
	if w.MaxAttempts <= 0 {
		w.MaxAttempts = 8
	}
	if w.Now == nil {
		w.Now = time.Now
	}
	if w.Logger == nil {
		w.Logger = slog.New(slog.DiscardHandler)
	}
	if w.wake == nil {
		w.wake = make(chan struct{}, 1)
	}
}

// Notify wakes the worker early (call it after committing new messages).
func (w *Worker) Notify() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Init prepares the worker; call it before Notify is used from elsewhere.
func (w *Worker) Init() *Worker { w.defaults(); return w }

// Run delivers until ctx ends.
func (w *Worker) Run(ctx context.Context) {
	w.defaults()
	pause := time.Duration(0)
	for {
		n, err := w.RunOnce(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			// The server is unreachable: wait (wake-ups are no news from the
			// server), doubling the pause each time it stays down.
			pause = w.backoff(pause)
			w.Logger.Warn("mail delivery paused", "error", err, "retry_in", pause.String())
			if !sleep(ctx, pause) {
				return
			}
			continue
		case n > 0:
			pause = 0
			continue // there may be more
		}
		pause = 0
		t := time.NewTimer(w.Poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-w.wake:
			t.Stop()
		case <-t.C:
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// RunOnce claims one batch and delivers it. It returns how many messages it
// handled, and the connection error that stopped it, if any.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	w.defaults()
	msgs, err := w.Store.ClaimDue(ctx, w.Batch, w.Lease)
	if err != nil {
		if ctx.Err() == nil {
			w.Logger.Error("claim outbox", "error", err)
		}
		return 0, nil
	}
	if len(msgs) == 0 {
		return 0, nil
	}
	// A context that outlives shutdown by a little, so outcomes get recorded.
	rec := context.WithoutCancel(ctx)
	tried := 0
	sendErr := w.Sender.Send(ctx, msgs, func(m models.OutboxMessage, err error) {
		tried++
		w.record(rec, m, err)
	})
	if sendErr != nil {
		// Everything not tried goes back to the queue, due after the same pause
		// the worker takes, so that order of creation is kept.
		next := w.Now().Add(w.backoff(0))
		for _, m := range msgs[tried:] {
			if err := w.Store.MarkRetry(rec, m.ID, sendErr.Error(), next); err != nil {
				w.Logger.Error("requeue mail", "mail_id", m.ID, "error", err)
			}
		}
		return tried, sendErr
	}
	return tried, nil
}

func (w *Worker) record(ctx context.Context, m models.OutboxMessage, err error) {
	log := w.Logger.With("mail_id", m.ID, "kind", m.Kind, "attempt", m.Attempts)
	switch {
	case err == nil:
		if err := w.Store.MarkSent(ctx, m.ID, w.Sender.Captures()); err != nil {
			log.Error("mark mail sent", "error", err)
			return
		}
		log.Info("mail sent", "captured", w.Sender.Captures())
	case errors.Is(err, ErrPermanent) || m.Attempts >= w.MaxAttempts:
		if err := w.Store.MarkFailed(ctx, m.ID, err.Error()); err != nil {
			log.Error("mark mail failed", "error", err)
			return
		}
		log.Warn("mail failed", "error", err)
	default:
		next := w.Now().Add(w.delay(m.Attempts))
		if err := w.Store.MarkRetry(ctx, m.ID, err.Error(), next); err != nil {
			log.Error("requeue mail", "error", err)
			return
		}
		log.Warn("mail will be retried", "error", err, "next_attempt_at", next)
	}
}

// delay is the wait before attempt n+1: BaseBackoff·2^(n-1), capped.
func (w *Worker) delay(attempts int) time.Duration {
	d := w.BaseBackoff
	for i := 1; i < attempts && d < w.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, w.MaxBackoff)
}

// backoff doubles the outage pause, from BaseBackoff up to MaxBackoff.
func (w *Worker) backoff(prev time.Duration) time.Duration {
	if prev <= 0 {
		return w.BaseBackoff
	}
	return min(prev*2, w.MaxBackoff)
}

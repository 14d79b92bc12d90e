package mail

import (
	"context"
	"errors"
	"fmt"
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
	// Busy tells whether a burst of writes is being served (nil: never);
	// delivery then waits, up to MaxDefer at a time (default 5 s).
	Busy     func() bool
	MaxDefer time.Duration
	Now      func() time.Time

	wake   chan struct{}
	outage time.Duration // current pause while the server is unreachable; 0 when it answers
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
	if w.MaxDefer <= 0 {
		w.MaxDefer = 5 * time.Second
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
	for {
		if !w.yield(ctx) {
			return
		}
		n, err := w.RunOnce(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			// The server (or the database) is unreachable: wait, doubling the
			// pause while it stays down. Wake-ups are no news from the server.
			w.Logger.Warn("mail delivery paused", "error", err, "retry_in", w.outage.String())
			if !sleep(ctx, w.outage) {
				return
			}
			continue
		case n > 0:
			continue // there may be more
		}
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

// yield waits while Busy says a burst of writes is being served, at most
// MaxDefer; it returns false when ctx ends. Delivering is work for the
// processor (drawing a confirmation's QR code alone takes 1–2 ms, in one
// piece) that competes with the requests of a registration opening: the
// emails can wait a few seconds, the people registering should not. A
// burst that goes on longer still gets a batch delivered every MaxDefer.
func (w *Worker) yield(ctx context.Context) bool {
	if w.Busy == nil {
		return true
	}
	const step = 50 * time.Millisecond
	for waited := time.Duration(0); waited < w.MaxDefer && w.Busy(); waited += step {
		if !sleep(ctx, step) {
			return false
		}
	}
	return true
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
// handled, and the error that stopped it when the SMTP server (or the
// database) could not be reached. After such an outage the messages not
// tried go back to the queue, their attempt not counted, all due at the
// same time, so that they still leave in order of creation; that time moves
// further away (BaseBackoff doubling up to MaxBackoff) while the outage lasts.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	w.defaults()
	msgs, err := w.Store.ClaimDue(ctx, w.Batch, w.Lease)
	if err != nil {
		if ctx.Err() != nil {
			return 0, nil
		}
		w.outage = w.backoff(w.outage)
		return 0, fmt.Errorf("claim outbox: %w", err)
	}
	if len(msgs) == 0 {
		return 0, nil
	}
	// Outcomes are recorded even when ctx ends during the batch.
	rec := context.WithoutCancel(ctx)
	// The batch stops well before the lease runs out, so that no other
	// worker takes a message this one is still sending.
	sendCtx, cancel := context.WithTimeout(ctx, w.Lease/2)
	defer cancel()
	tried := 0
	sendErr := w.Sender.Send(sendCtx, msgs, func(m models.OutboxMessage, err error) {
		tried++
		w.record(rec, m, err)
	})
	rest := msgs[tried:]
	if sendErr == nil && len(rest) == 0 {
		w.outage = 0
		return tried, nil
	}
	var next time.Time
	var ret error
	switch {
	case ctx.Err() != nil || sendCtx.Err() != nil:
		// Shutting down, or the batch ran out of time: the rest is due now.
		next = w.Now()
		if sendErr == nil {
			sendErr = context.Cause(sendCtx)
		}
	default:
		w.outage = w.backoff(w.outage)
		next = w.Now().Add(w.outage)
		ret = sendErr
	}
	ids := make([]string, len(rest))
	for i, m := range rest {
		ids[i] = m.ID
	}
	if err := w.Store.Release(rec, ids, sendErr.Error(), next); err != nil {
		w.Logger.Error("release mail", "count", len(ids), "error", err)
	}
	return tried, ret
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

package models

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// Batcher runs many small write transactions as one (group commit): writes
// that arrive while another batch is committing wait, then go together in
// the next transaction, each inside its own savepoint. A write whose
// function fails is rolled back to its savepoint alone and gets its error;
// the others commit. On SQLite, whose writes are serialised, this spreads
// the cost of BEGIN and COMMIT (the write-ahead log's page writes) over the
// batch: it is what lets the registration opening take thousands of
// registrations a second.
//
// Functions must be short, must not call the Batcher again, and must not
// change events or sessions (registrations read each once per batch).
// Every rule they enforce runs inside the shared transaction, after its own
// locks, as in Store.Tx; a function sees the writes of the functions before
// it.
type Batcher struct {
	store *Store
	max   int

	mu      sync.Mutex
	pending []*batchJob
	running bool
}

type batchJob struct {
	fn       func(tx *Tx) error
	err      error
	done     chan struct{}
	lead     chan struct{} // closed when this job's caller is to run the next batch
	detached bool          // queued by Later: nobody waits for it (or leads for it)
}

// NewBatcher returns a Batcher of at most max writes per transaction
// (64 when max <= 0).
func (s *Store) NewBatcher(max int) *Batcher {
	if max <= 0 {
		max = 64
	}
	return &Batcher{store: s, max: max}
}

// Do runs fn in a batch transaction and returns its error (or the
// transaction's). It returns once the batch is committed or rolled back.
func (b *Batcher) Do(ctx context.Context, fn func(tx *Tx) error) error {
	j := &batchJob{fn: fn, done: make(chan struct{}), lead: make(chan struct{})}
	b.mu.Lock()
	b.pending = append(b.pending, j)
	lead := !b.running
	if lead {
		b.running = true
	}
	b.mu.Unlock()
	if !lead {
		select {
		case <-j.done:
			return j.err
		case <-j.lead:
		}
	}
	b.lead(context.WithoutCancel(ctx), j)
	<-j.done
	return j.err
}

// Later queues fn for the batch being prepared and returns at once, when
// batches are being committed; otherwise it runs fn now, like Do. It is for
// writes whose loss in a crash harms nothing, such as a session's activity
// mark: the caller learns nothing of their outcome (fn reports its own
// errors), and a request that makes one does not wait for a batch before
// the write it came for.
func (b *Batcher) Later(ctx context.Context, fn func(tx *Tx) error) error {
	b.mu.Lock()
	if b.running {
		b.pending = append(b.pending, &batchJob{fn: fn, done: make(chan struct{}), detached: true})
		b.mu.Unlock()
		return nil
	}
	b.mu.Unlock()
	return b.Do(ctx, fn)
}

// Pending tells how many writes wait for a batch (tests, metrics).
func (b *Batcher) Pending() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.pending)
}

// call runs one write, turning a panic into its error (so that the
// transaction is rolled back, never left open).
func call(tx *Tx, j *batchJob) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("batched write: panic: %v", v)
		}
	}()
	return j.fn(tx)
}

// lead commits one batch (which holds the leader's own write, first in
// line), then hands the lead to the first write still waiting, if any. A
// leader that went on committing batches for the others would answer its
// own request only once the queue ran dry: seconds, in a burst.
//
// The leader goes on while its own write still waits (beyond the size of a
// batch) or while only writes queued by Later, whose callers do not wait,
// remain.
func (b *Batcher) lead(ctx context.Context, own *batchJob) {
	for {
		b.mu.Lock()
		n := min(len(b.pending), b.max)
		batch := b.pending[:n:n]
		b.pending = b.pending[n:]
		b.mu.Unlock()
		b.run(ctx, batch)
		b.mu.Lock()
		if len(b.pending) == 0 {
			b.running = false
			b.mu.Unlock()
			return
		}
		select {
		case <-own.done:
			for _, j := range b.pending {
				if !j.detached {
					close(j.lead)
					b.mu.Unlock()
					return
				}
			}
		default:
		}
		b.mu.Unlock()
	}
}

func (b *Batcher) run(ctx context.Context, batch []*batchJob) {
	// A panicking function fails its batch rather than leaving the other
	// callers waiting for ever.
	defer func() {
		if v := recover(); v != nil {
			for _, j := range batch {
				select {
				case <-j.done:
				default:
					j.err = fmt.Errorf("batched write: panic: %v", v)
					close(j.done)
				}
			}
		}
	}()
	if len(batch) == 1 {
		j := batch[0]
		j.err = b.store.Tx(ctx, func(tx *Tx) error { return call(tx, j) })
		close(j.done)
		return
	}
	err := b.store.Tx(ctx, func(tx *Tx) error {
		// Prepared once per batch: parsing them again for every write
		// is a measurable part of the single writer's time.
		var stmts [3]*sql.Stmt
		for i, q := range []string{"SAVEPOINT agora_batch", "ROLLBACK TO SAVEPOINT agora_batch", "RELEASE SAVEPOINT agora_batch"} {
			st, err := tx.prepare(ctx, q)
			if err != nil {
				return fmt.Errorf("prepare %q: %w", q, err)
			}
			defer st.Close()
			stmts[i] = st
		}
		savepoint, rollback, release := stmts[0], stmts[1], stmts[2]
		tx.sessions, tx.events = map[string]batchSession{}, map[string]Event{}
		for _, j := range batch {
			if _, err := savepoint.ExecContext(ctx); err != nil {
				return fmt.Errorf("savepoint: %w", err)
			}
			if j.err = call(tx, j); j.err != nil {
				if _, err := rollback.ExecContext(ctx); err != nil {
					return fmt.Errorf("rollback to savepoint: %w", err)
				}
				tx.bodies = nil // what the write stored is gone
			}
			if _, err := release.ExecContext(ctx); err != nil {
				return fmt.Errorf("release savepoint: %w", err)
			}
		}
		return nil
	})
	for _, j := range batch {
		if err != nil && j.err == nil {
			j.err = err
		}
		close(j.done)
	}
}

package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Batcher runs many small write transactions as one (group commit): writes
// that arrive while another batch is committing wait, then go together in
// the next transaction. A write whose function fails is rolled back alone
// and gets its error; the others commit. On SQLite, whose writes are
// serialised, this spreads the cost of BEGIN and COMMIT (the write-ahead
// log's page writes) over the batch: it is what lets the registration
// opening take thousands of registrations a second.
//
// A batch first runs its writes one after the other with nothing between
// them. When one fails, the batch starts over, each write in a savepoint of
// its own so that the failing one is rolled back alone: a savepoint per
// write costs the single SQLite writer about a fifth of its time (every
// page a write touches is copied first), and failures are rare (someone
// registering twice at the same second).
//
// Functions must be short, must not call the Batcher again, and must not
// change events or sessions (registrations read each once per batch). A
// function may run twice (when another write of its batch failed): it must
// have no effect but its writes through tx and what it returns (the second
// run overwrites it). Every rule they enforce runs inside the shared
// transaction, after its own locks, as in Store.Tx; a function sees the
// writes of the functions before it, except the rows of append-only inserts
// (audit log, registration links, outbox: see appendOnly), which are
// written together once every function has run.
type Batcher struct {
	store *Store
	max   int

	mu      sync.Mutex
	pending []*batchJob
	running bool // a batch is being committed, or a goroutine commits the queue

	busyUntil atomic.Int64 // unix ns: writes came together until then (see Busy)
}

// busyFor is how long the Batcher reports itself busy after a batch of
// several writes.
const busyFor = 250 * time.Millisecond

// Busy tells whether writes have been arriving together lately (a batch of
// several writes committed in the last quarter-second): a burst is being
// served, and background work such as email delivery can wait.
func (b *Batcher) Busy() bool { return time.Now().UnixNano() < b.busyUntil.Load() }

type batchJob struct {
	fn       func(tx *Tx) error
	err      error
	done     chan struct{}
	detached bool // queued by Later: nobody waits for it
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
//
// When nothing is being committed, the caller commits its write at once
// itself. Writes that arrived meanwhile are then committed, batch after
// batch, by a goroutine that stops when the queue is empty: during a burst
// the single writer goes from one batch to the next without waiting for a
// waiting caller to be woken up and scheduled (which, with a hundred
// requests being served on two cores, left it idle about a tenth of the
// time), and no caller answers later than its own batch.
func (b *Batcher) Do(ctx context.Context, fn func(tx *Tx) error) error {
	j := &batchJob{fn: fn, done: make(chan struct{})}
	b.mu.Lock()
	b.pending = append(b.pending, j)
	idle := !b.running
	b.running = true
	b.mu.Unlock()
	if idle {
		b.run(context.WithoutCancel(ctx), b.next())
		b.mu.Lock()
		if len(b.pending) == 0 {
			b.running = false
		} else {
			go b.drain()
		}
		b.mu.Unlock()
	}
	<-j.done
	return j.err
}

// next takes the next batch from the queue.
func (b *Batcher) next() []*batchJob {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := min(len(b.pending), b.max)
	batch := b.pending[:n:n]
	b.pending = b.pending[n:]
	return batch
}

// drain commits the queue, batch after batch, until it is empty.
func (b *Batcher) drain() {
	for {
		b.run(context.Background(), b.next())
		b.mu.Lock()
		if len(b.pending) == 0 {
			b.running = false
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
	}
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
	if len(batch) > 1 {
		b.busyUntil.Store(time.Now().Add(busyFor).UnixNano())
	}
	if len(batch) == 1 {
		j := batch[0]
		j.err = b.store.Tx(ctx, func(tx *Tx) error {
			tx.deferInserts()
			if err := call(tx, j); err != nil {
				return err
			}
			return tx.flushInserts(ctx)
		})
		close(j.done)
		return
	}
	err := b.store.Tx(ctx, func(tx *Tx) error {
		tx.events, tx.seats = map[string]Event{}, map[string]map[string]int{}
		tx.deferInserts()
		for _, j := range batch {
			if j.err = call(tx, j); j.err != nil {
				return errBatchReplay
			}
		}
		if err := tx.flushInserts(ctx); err != nil {
			return errBatchReplay // whose rows failed is found by the replay
		}
		return nil
	})
	if errors.Is(err, errBatchReplay) {
		err = b.runEachInSavepoint(ctx, batch)
	}
	for _, j := range batch {
		if err != nil && j.err == nil {
			j.err = err
		}
		close(j.done)
	}
}

// errBatchReplay rolls back a batch in which a write failed.
var errBatchReplay = errors.New("a write of the batch failed")

// runEachInSavepoint runs a batch again, each write in a savepoint of its
// own: a failing write is rolled back to its savepoint alone.
func (b *Batcher) runEachInSavepoint(ctx context.Context, batch []*batchJob) error {
	return b.store.Tx(ctx, func(tx *Tx) error {
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
		tx.events, tx.seats = map[string]Event{}, map[string]map[string]int{}
		tx.deferInserts()
		for _, j := range batch {
			if _, err := savepoint.ExecContext(ctx); err != nil {
				return fmt.Errorf("savepoint: %w", err)
			}
			if j.err = call(tx, j); j.err == nil {
				j.err = tx.flushInserts(ctx) // this write's rows, in its savepoint
			}
			if j.err != nil {
				if _, err := rollback.ExecContext(ctx); err != nil {
					return fmt.Errorf("rollback to savepoint: %w", err)
				}
				tx.bodies = nil // what the write stored is gone
				tx.seats = map[string]map[string]int{}
				tx.dropInserts()
			}
			if _, err := release.ExecContext(ctx); err != nil {
				return fmt.Errorf("release savepoint: %w", err)
			}
		}
		return nil
	})
}

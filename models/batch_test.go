package models_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dnum-sociaux/agora/internal/testutil"
	"github.com/dnum-sociaux/agora/models"
)

// A failing write of a batch is rolled back alone (even after a failed
// statement, which aborts a PostgreSQL transaction without its savepoint);
// the others commit; a panic fails its batch without blocking the callers.
func TestBatcherIsolatesFailures(t *testing.T) {
	eachEventStore(t, func(t *testing.T, s *models.Store, clock *testutil.Clock) {
		ctx := context.Background()
		b := s.NewBatcher(8)
		boom := errors.New("refused")
		var wg sync.WaitGroup
		errs := make([]error, 40)
		for i := range 40 {
			wg.Go(func() {
				errs[i] = b.Do(ctx, func(tx *models.Tx) error {
					if err := tx.SaveDirection(ctx, models.Direction{Code: fmt.Sprintf("T%02d", i), Name: "Test", Active: true}); err != nil {
						return err
					}
					switch i % 4 {
					case 1:
						return boom
					case 2: // a failing statement (duplicate key) after the write
						_, err := tx.CreateUser(ctx, models.NewUser{Email: "same@x.fr", Name: "A"})
						if err == nil {
							_, err = tx.CreateUser(ctx, models.NewUser{Email: "same@x.fr", Name: "B"})
						}
						return err
					}
					return nil
				})
			})
		}
		wg.Wait()
		for i, err := range errs {
			switch i % 4 {
			case 1:
				if !errors.Is(err, boom) {
					t.Errorf("write %d: %v, want its own error", i, err)
				}
			case 2:
				if !errors.Is(err, models.ErrConflict) {
					t.Errorf("write %d: %v, want a conflict", i, err)
				}
			default:
				if err != nil {
					t.Errorf("write %d: %v", i, err)
				}
			}
		}
		dirs, err := s.ListDirections(ctx, true)
		if err != nil {
			t.Fatal(err)
		}
		kept := 0
		for _, d := range dirs {
			if len(d.Code) == 3 && d.Code[0] == 'T' {
				var i int
				fmt.Sscanf(d.Code[1:], "%d", &i)
				if i%4 == 1 || i%4 == 2 {
					t.Errorf("write %d was kept although it failed", i)
				}
				kept++
			}
		}
		if kept != 20 {
			t.Errorf("%d writes kept, want 20", kept)
		}
		if _, err := s.UserByEmail(ctx, "same@x.fr"); !errors.Is(err, models.ErrNotFound) {
			t.Error("the user of a failed write was kept")
		}
		// A panic fails the batch; the batcher keeps working.
		err = b.Do(ctx, func(tx *models.Tx) error { panic("bug") })
		if err == nil {
			t.Error("a panicking write reported success")
		}
		if err := b.Do(ctx, func(tx *models.Tx) error { return nil }); err != nil {
			t.Errorf("after a panic: %v", err)
		}
	})
}

// The caller that commits a batch answers as soon as its batch commits: the
// next batches are committed by the Batcher's own goroutine, not by the
// same caller (which, in a burst, would answer its own request only when
// the queue ran dry).
func TestBatcherLeaderHandsOver(t *testing.T) {
	s := testutil.SQLite(t, nil)
	ctx := context.Background()
	b := s.NewBatcher(1)
	release, leaderDone := holdBatch(t, b, nil)
	secondRunning, secondRelease := make(chan struct{}), make(chan struct{})
	secondDone := make(chan error, 1)
	go func() {
		secondDone <- b.Do(ctx, func(tx *models.Tx) error {
			close(secondRunning)
			<-secondRelease
			return nil
		})
	}()
	// Wait until the second write is queued behind the first.
	for b.Pending() == 0 {
		time.Sleep(time.Millisecond)
	}
	release()
	select {
	case err := <-leaderDone:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the first caller is still leading the second write's batch")
	}
	<-secondRunning
	close(secondRelease)
	if err := <-secondDone; err != nil {
		t.Fatal(err)
	}
}

// Later returns at once while a batch is being committed; its write goes
// with a later batch, with the writes of callers who wait or alone. When
// nothing is being committed it writes now.
func TestBatcherLater(t *testing.T) {
	s := testutil.SQLite(t, nil)
	ctx := context.Background()
	b := s.NewBatcher(1)
	save := func(code string) func(tx *models.Tx) error {
		return func(tx *models.Tx) error {
			return tx.SaveDirection(ctx, models.Direction{Code: code, Name: code, Active: true})
		}
	}
	has := func(code string) bool {
		dirs, err := s.ListDirections(ctx, true)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range dirs {
			if d.Code == code {
				return true
			}
		}
		return false
	}
	// Idle: written before Later returns.
	if err := b.Later(ctx, save("IDLE")); err != nil || !has("IDLE") {
		t.Fatalf("later while idle: %v, written %v", err, has("IDLE"))
	}
	for _, waiter := range []bool{true, false} {
		suffix := map[bool]string{true: "W", false: "N"}[waiter]
		release, leaderDone := holdBatch(t, b, save("L"+suffix))
		if err := b.Later(ctx, save("D"+suffix)); err != nil { // returns while the batch is blocked
			t.Fatal(err)
		}
		waiterDone := make(chan error, 1)
		if waiter {
			go func() { waiterDone <- b.Do(ctx, save("M"+suffix)) }()
			for b.Pending() < 2 {
				time.Sleep(time.Millisecond)
			}
		}
		release()
		if err := <-leaderDone; err != nil {
			t.Fatal(err)
		}
		if waiter {
			if err := <-waiterDone; err != nil {
				t.Fatal(err)
			}
		}
		deadline := time.Now().Add(10 * time.Second)
		for !has("D" + suffix) {
			if time.Now().After(deadline) {
				t.Fatalf("with a waiting write %v: the write queued by Later was never committed", waiter)
			}
			time.Sleep(time.Millisecond)
		}
		if b.Pending() != 0 {
			t.Fatalf("%d writes left waiting", b.Pending())
		}
	}
}

// holdBatch starts a write on b that waits, inside its batch, until release
// is called, then runs then (when not nil); done gets its error. Writes
// queued meanwhile go in the next batch, together.
func holdBatch(t *testing.T, b *models.Batcher, then func(tx *models.Tx) error) (release func(), done <-chan error) {
	t.Helper()
	running, hold := make(chan struct{}), make(chan struct{})
	errs := make(chan error, 1)
	go func() {
		errs <- b.Do(context.Background(), func(tx *models.Tx) error {
			close(running)
			<-hold
			if then != nil {
				return then(tx)
			}
			return nil
		})
	}()
	<-running
	return func() { close(hold) }, errs
}

// In a SQLite write transaction, statements do not watch their context
// (go-sqlite3 would run each on a goroutine of its own), but a context
// already cancelled still stops the next statement (an exec, a query, a
// one-row query), and the transaction goes on with the others.
func TestTxStatementStopsOnCancelledContext(t *testing.T) {
	eachEventStore(t, func(t *testing.T, s *models.Store, _ *testutil.Clock) {
		bg := context.Background()
		cancelled, cancel := context.WithCancel(bg)
		cancel()
		err := s.Tx(bg, func(tx *models.Tx) error {
			if err := tx.SaveDirection(cancelled, models.Direction{Code: "GONE", Name: "Gone", Active: true}); !errors.Is(err, context.Canceled) {
				t.Errorf("a statement with a cancelled context: %v, want context.Canceled", err)
			}
			if _, err := tx.UserByEmail(cancelled, "nobody@x.fr"); !errors.Is(err, context.Canceled) {
				t.Errorf("a one-row query with a cancelled context: %v, want context.Canceled", err)
			}
			if _, err := tx.ListDirections(cancelled, true); !errors.Is(err, context.Canceled) {
				t.Errorf("a query with a cancelled context: %v, want context.Canceled", err)
			}
			return tx.SaveDirection(bg, models.Direction{Code: "KEPT", Name: "Kept", Active: true})
		})
		if err != nil {
			t.Fatal(err)
		}
		dirs, err := s.ListDirections(bg, true)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, d := range dirs {
			got[d.Code] = true
		}
		if got["GONE"] || !got["KEPT"] {
			t.Errorf("directions %v: want KEPT and not GONE", got)
		}
	})
}

// The Batcher is busy after a batch of several writes (a burst), for a
// moment; single writes do not make it busy.
func TestBatcherBusy(t *testing.T) {
	s := testutil.SQLite(t, nil)
	ctx := context.Background()
	b := s.NewBatcher(8)
	if err := b.Do(ctx, func(tx *models.Tx) error { return nil }); err != nil || b.Busy() {
		t.Fatalf("after a single write: busy %v, %v", b.Busy(), err)
	}
	release, done := holdBatch(t, b, nil)
	var wg sync.WaitGroup
	var busyInBatch [2]bool
	for i := range 2 {
		wg.Go(func() {
			if err := b.Do(ctx, func(tx *models.Tx) error { busyInBatch[i] = b.Busy(); return nil }); err != nil {
				t.Error(err)
			}
		})
	}
	for b.Pending() < 2 {
		time.Sleep(time.Millisecond)
	}
	release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if !busyInBatch[0] || !busyInBatch[1] {
		t.Fatal("not busy during a batch of two writes")
	}
	deadline := time.Now().Add(10 * time.Second)
	for b.Busy() {
		if time.Now().After(deadline) {
			t.Fatal("still busy long after the burst")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

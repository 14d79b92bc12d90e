package models

import (
	"context"
	"database/sql"
	"sync"
	"time"

	"github.com/mattn/go-sqlite3"
)

// sqliteWriterDriver opens the SQLite writer's connection without automatic
// checkpoints: by default the transaction whose commit fills the
// write-ahead log past 1,000 pages copies the log into the database and
// syncs the file, on the single writer, while every other write waits. The
// Store's checkpointer does that work from a reader connection instead,
// beside the writer (a PASSIVE checkpoint never blocks it). Measured on the
// registration opening's inserts: 40–46 µs per message with automatic
// checkpoints, 22–26 µs without (ADR 0008).
//
// Its temporary files (the statement and savepoint journals, which hold the
// pages a statement changes until it completes) stay in memory
// (temp_store): on disk, SQLite writes them to deleted files, a system call
// per page, and the registration burst took 4,500 registrations a second in
// process instead of 5,250.
const sqliteWriterDriver = "sqlite3_agora_writer"

func init() {
	sql.Register(sqliteWriterDriver, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		// journal_size_limit: once checkpointed, a log that grew during
		// a burst is truncated back when it starts over.
		_, err := c.Exec("PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = 67108864; PRAGMA temp_store = MEMORY", nil)
		return err
	}})
}

// checkpointer runs PASSIVE checkpoints of an SQLite database, at most one
// per interval, after writes (kick). It stops with stop.
type checkpointer struct {
	db       *sql.DB
	interval time.Duration
	kicks    chan struct{}
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

func startCheckpointer(db *sql.DB, interval time.Duration) *checkpointer {
	ctx, cancel := context.WithCancel(context.Background())
	c := &checkpointer{db: db, interval: interval, kicks: make(chan struct{}, 1), cancel: cancel}
	c.wg.Go(func() { c.run(ctx) })
	return c
}

// kick tells the checkpointer that the log has grown (it never blocks).
func (c *checkpointer) kick() {
	select {
	case c.kicks <- struct{}{}:
	default:
	}
}

func (c *checkpointer) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.kicks:
		}
		// A passive checkpoint copies what no reader still needs and
		// returns; the next kick does the rest.
		_, _ = c.db.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)")
		select {
		case <-ctx.Done():
			return
		case <-time.After(c.interval):
		}
	}
}

// stop ends the checkpointer and waits for it; a last checkpoint happens
// when the database closes.
func (c *checkpointer) stop() {
	c.cancel()
	c.wg.Wait()
}

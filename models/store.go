// Package models holds Agora's data types, their queries and the business
// rules that guard them. It knows nothing of HTTP.
package models

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL driver "pgx"
	"github.com/mattn/go-sqlite3"
	"github.com/oklog/ulid/v2"
)

// ErrNotFound is returned when a record does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a write would break a uniqueness rule.
var ErrConflict = errors.New("conflict")

// Dialect is the SQL flavour of the database behind a Store.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// DB runs queries written with '?' placeholders on either dialect. Read
// methods of every entity are defined on *DB, so they work both on the Store
// (outside a transaction) and on a Tx (inside one).
type DB struct {
	q       querier
	dialect Dialect
	now     func() time.Time
	// unwatched: statements do not watch their context for cancellation
	// (SQLite, reads and write transactions: see stmtCtx).
	unwatched bool
	rules     *rulesCache // shared by the store and its transactions
}

// Tx is a write transaction. Methods that change data are defined on *Tx
// only, so that every write happens inside a transaction with the rules that
// guard it.
type Tx struct {
	DB
	// bodies are the shared mail bodies this transaction has stored or
	// found (Enqueue), forgotten when a batched write rolls back.
	bodies map[string]bool
	// events are the events registered for in a group commit (Batcher),
	// read once per batch; nil elsewhere.
	events map[string]Event
	// seats are the seats taken by direction of those events, read once
	// per batch and kept by addSeats; forgotten when a write rolls back.
	seats map[string]map[string]int
	// pending are the rows of append-only inserts a group commit writes
	// together before it commits (see appendOnly); nil elsewhere.
	pending *pendingRows
}

// Store is the database handle built once in main.
type Store struct {
	DB
	read  *sql.DB // readers (SQLite: a pool over WAL)
	write *sql.DB // the writer (SQLite: one connection, so writers queue in Go rather than spin on SQLITE_BUSY)
	batch *Batcher
	ckpt  *checkpointer // SQLite only
}

// Options tunes a Store. Zero values are sensible defaults.
type Options struct {
	Now func() time.Time // clock; time.Now when nil
}

// Open connects to the database named by dsn: "sqlite://path/to/file.db"
// (the directory is created) or "postgres://…".
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	s := &Store{}
	switch u.Scheme {
	case "sqlite", "sqlite3", "file":
		path := strings.TrimPrefix(dsn, u.Scheme+"://")
		if path == "" {
			return nil, errors.New("sqlite database url has no path")
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return nil, fmt.Errorf("create database directory: %w", err)
		}
		params := "_journal_mode=WAL&_foreign_keys=on&_busy_timeout=10000&_synchronous=NORMAL&_txlock=immediate&_stmt_cache_size=64"
		// A "file:" URI decodes %XX and ends the path at ? or #: escape them,
		// or a folder named "a%2Fb" or "a?b" opens another file.
		conn := "file:" + strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23").Replace(path) + "?" + params
		if s.read, err = sql.Open("sqlite3", conn+"&mode=rw"); err != nil {
			return nil, err
		}
		if s.write, err = sql.Open(sqliteWriterDriver, conn); err != nil {
			return nil, err
		}
		s.write.SetMaxOpenConns(1)
		s.read.SetMaxOpenConns(8)
		s.read.SetMaxIdleConns(8)
		s.DB = DB{dialect: SQLite, unwatched: true}
		// The writer opens (and creates) the file before readers use it.
		if err := s.write.PingContext(ctx); err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", path, err)
		}
	case "postgres", "postgresql":
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, err
		}
		db.SetMaxOpenConns(20)
		db.SetMaxIdleConns(20)
		db.SetConnMaxIdleTime(5 * time.Minute)
		s.read, s.write = db, db
		s.DB = DB{dialect: Postgres}
	default:
		return nil, fmt.Errorf("unsupported database url scheme %q (want sqlite:// or postgres://)", u.Scheme)
	}
	s.DB.q = s.read
	s.DB.now = now
	s.DB.rules = &rulesCache{}
	s.batch = s.NewBatcher(64)
	if err := s.read.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	if s.dialect == SQLite {
		s.ckpt = startCheckpointer(s.read, 20*time.Millisecond)
	}
	return s, nil
}

// Batch runs fn in a write transaction shared with the other small writes
// that arrive meanwhile (group commit, see Batcher): for the frequent
// writes of the busiest moments, such as self-registrations and the mail
// worker's "sent" marks during the registration opening. Functions run
// here must not change events or sessions: registrations read each event
// and session once per batch (counts, choices and the registration order
// are read fresh).
func (s *Store) Batch(ctx context.Context, fn func(tx *Tx) error) error {
	return s.batch.Do(ctx, fn)
}

// BatchLater queues fn for the group commit without waiting for it when
// writes are being committed (see Batcher.Later): for writes whose loss
// in a crash harms nothing.
func (s *Store) BatchLater(ctx context.Context, fn func(tx *Tx) error) error {
	return s.batch.Later(ctx, fn)
}

// Dialect reports which database the store talks to.
func (d *DB) Dialect() Dialect { return d.dialect }

// Now is the store's clock, in UTC.
func (d *DB) Now() time.Time { return d.now().UTC() }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.read.PingContext(ctx); err != nil {
		return err
	}
	_, err := s.read.ExecContext(ctx, "SELECT 1")
	return err
}

// Close closes every connection.
func (s *Store) Close() error {
	var errs []error
	if s.ckpt != nil {
		s.ckpt.stop()
	}
	if s.read != nil {
		errs = append(errs, s.read.Close())
	}
	if s.write != nil && s.write != s.read {
		errs = append(errs, s.write.Close())
	}
	return errors.Join(errs...)
}

// Tx runs fn in a write transaction, committing when fn returns nil. On
// SQLite the transaction is BEGIN IMMEDIATE (writers are serialised), and on
// PostgreSQL rules that count rows first lock the parent row (see lockRow),
// so checks made inside fn hold when the transaction commits.
func (s *Store) Tx(ctx context.Context, fn func(tx *Tx) error) error {
	if s.dialect == SQLite {
		return s.sqliteTx(ctx, fn)
	}
	sqlTx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	tx := &Tx{DB: DB{q: sqlTx, dialect: s.dialect, now: s.now, rules: s.rules}}
	if err := fn(tx); err != nil {
		_ = sqlTx.Rollback()
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// sqliteTx is Tx on SQLite: BEGIN IMMEDIATE and COMMIT on the writer's one
// connection, taken from the pool for the transaction, rather than a
// database/sql Tx. A sql.Tx watches its context on a goroutine of its own,
// and so does each query run in it (Rows.awaitDone): the single writer
// started a goroutine for every query of every registration, which went
// into its processor's run queue; with work queued there, the Go runtime
// hands the processor to another thread during the writer's next long C
// call (the commit), and the writer, back from it, waits in the global run
// queue behind the requests being served — milliseconds at a time, at
// random points of a batch. Statements still stop when ctx is done before
// they start (stmtCtx).
func (s *Store) sqliteTx(ctx context.Context, fn func(tx *Tx) error) (err error) {
	conn, err := s.write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer conn.Close()
	free := context.WithoutCancel(ctx) // BEGIN, COMMIT and ROLLBACK always run to their end
	if _, err := conn.ExecContext(free, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	done := false
	defer func() {
		if !done { // fn failed or panicked, or COMMIT failed
			if _, rerr := conn.ExecContext(free, "ROLLBACK"); rerr != nil {
				// The connection may still hold the transaction: drop it
				// rather than give it back to the pool.
				_ = conn.Raw(func(any) error { return driver.ErrBadConn })
				err = errors.Join(err, fmt.Errorf("rollback: %w", rerr))
			}
		}
	}()
	tx := &Tx{DB: DB{q: writerConn{Conn: conn, pool: s.read}, dialect: s.dialect, now: s.now, unwatched: true, rules: s.rules}}
	if err := fn(tx); err != nil {
		return err
	}
	if _, err := conn.ExecContext(free, "COMMIT"); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	done = true
	s.ckpt.kick()
	return nil
}

// writerConn is the SQLite writer's connection during a transaction. A
// statement whose context is already done does not run: a sql.Tx checks
// that before each statement, a sql.Conn does not.
type writerConn struct {
	*sql.Conn
	pool *sql.DB // QueryRowContext on a done context returns its error without running anything
}

func (w writerConn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return w.Conn.ExecContext(ctx, query, args...)
}

func (w writerConn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return w.Conn.QueryContext(ctx, query, args...)
}

func (w writerConn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if ctx.Err() != nil {
		return w.pool.QueryRowContext(ctx, query, args...)
	}
	return w.Conn.QueryRowContext(ctx, query, args...)
}

// WritesBusy tells whether writes have been arriving together lately
// (Batcher.Busy): a burst is being served.
func (s *Store) WritesBusy() bool { return s.batch.Busy() }

// SQL returns the underlying handles, for migrations and tests.
func (s *Store) SQL() (read, write *sql.DB) { return s.read, s.write }

// rebind turns '?' placeholders into the dialect's own.
func (d *DB) rebind(query string) string {
	if d.dialect != Postgres || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(fmt.Sprint(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

// prepare prepares a statement on the transaction.
func (tx *Tx) prepare(ctx context.Context, query string) (*sql.Stmt, error) {
	return tx.q.(interface {
		PrepareContext(context.Context, string) (*sql.Stmt, error)
	}).PrepareContext(ctx, tx.rebind(query))
}

func (d *DB) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return d.q.ExecContext(d.stmtCtx(ctx), d.rebind(query), args...)
}

func (d *DB) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return d.q.QueryContext(d.stmtCtx(ctx), d.rebind(query), args...)
}

func (d *DB) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return d.q.QueryRowContext(d.stmtCtx(ctx), d.rebind(query), args...)
}

// stmtCtx is the context a statement runs with. On SQLite a statement does
// not watch ctx: go-sqlite3 runs each statement given a cancellable context
// on a goroutine of its own and waits for it, so the single writer, whose
// statements take microseconds, would queue for the scheduler after every
// one behind the requests being served (in a registration burst, half of
// the writer's time); and database/sql watches the context of each query's
// rows on another goroutine. Reads do without them too: two goroutines per
// query were a tenth of a registration's processor time in process
// (5,000 → 5,600 a second), and their goroutines queued on the writer's
// processor as well. A context already done still stops the statement
// before it runs (database/sql, or writerConn, checks it); one cancelled
// during a statement lets that statement finish (SQLite reads take
// milliseconds at most).
func (d *DB) stmtCtx(ctx context.Context) context.Context {
	if d.unwatched && ctx.Err() == nil {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

// lockRow takes the write lock of one row for the rest of the transaction
// (PostgreSQL row lock; SQLite already holds the database write lock). Use it
// on the parent row before counting children against a limit.
func (tx *Tx) lockRow(ctx context.Context, table, id string) error {
	if tx.dialect == SQLite {
		var one int
		err := tx.queryRow(ctx, "SELECT 1 FROM "+table+" WHERE id = ?", id).Scan(&one)
		return notFound(err, "lock %s %s", table, id)
	}
	res, err := tx.exec(ctx, "UPDATE "+table+" SET id = id WHERE id = ?", id)
	if err != nil {
		return fmt.Errorf("lock %s %s: %w", table, id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// NewID returns a new opaque, sortable identifier.
func NewID() string { return strings.ToLower(ulid.Make().String()) }

// isUniqueViolation tells whether err is a uniqueness violation on either dialect.
func isUniqueViolation(err error) bool {
	var se sqlite3.Error
	if errors.As(err, &se) {
		return se.ExtendedCode == sqlite3.ErrConstraintUnique || se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey
	}
	var pe interface{ SQLState() string }
	if errors.As(err, &pe) {
		return pe.SQLState() == "23505"
	}
	return false
}

// notFound maps sql.ErrNoRows to ErrNotFound, wrapping with context.
func notFound(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

// rowScanner is a *sql.Row or *sql.Rows.
type rowScanner = interface{ Scan(...any) error }

// queryStrings runs a query of one text column and returns its values.
func (d *DB) queryStrings(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := d.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanString)
}

func scanString(row rowScanner) (string, error) {
	var s string
	err := row.Scan(&s)
	return s, err
}

// anys are ss as query arguments.
func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, v := range ss {
		out[i] = v
	}
	return out
}

// collect reads every row of rows with scan, then closes rows.
func collect[T any](rows *sql.Rows, scan func(rowScanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

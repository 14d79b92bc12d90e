// Package testutil opens real databases for tests: a SQLite file in the
// test's temporary folder, and PostgreSQL when AGORA_TEST_POSTGRES_URL is set
// (each test gets its own schema, dropped afterwards).
package testutil

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/dnum-sociaux/agora/models"
)

// PostgresEnv names the variable holding the test PostgreSQL URL.
const PostgresEnv = "AGORA_TEST_POSTGRES_URL"

// Clock is a settable clock for tests. Now, Advance and Set may be called
// from several goroutines (a test and the HTTP server it drives); writing T
// directly is fine only while nothing else reads the clock.
type Clock struct {
	mu sync.Mutex
	T  time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.T
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.T = c.T.Add(d)
}

// Set puts the clock at t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.T = t
}

// NewClock starts a clock at a fixed instant: Monday 30 November 2026, 09:00 in Paris.
func NewClock() *Clock {
	return &Clock{T: time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)}
}

// SQLite opens a migrated SQLite store in a temporary folder.
func SQLite(t testing.TB, now func() time.Time) *models.Store {
	t.Helper()
	return open(t, "sqlite://"+filepath.Join(t.TempDir(), "agora.db"), now)
}

// Postgres opens a migrated store in a fresh schema of the test PostgreSQL,
// or skips the test when none is configured (make test configures it, and
// fails under CI=true when it cannot).
func Postgres(t testing.TB, now func() time.Time) *models.Store {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		t.Skipf("PostgreSQL not configured (%s is empty)", PostgresEnv)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err == nil {
			_, _ = db.Exec("DROP SCHEMA " + schema + " CASCADE")
			db.Close()
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return open(t, u.String(), now)
}

// Stores returns a store per available database, named, for table tests
// that must hold on both.
func Stores(t *testing.T, now func() time.Time) map[string]*models.Store {
	t.Helper()
	out := map[string]*models.Store{"sqlite": SQLite(t, now)}
	if os.Getenv(PostgresEnv) != "" {
		out["postgres"] = Postgres(t, now)
	}
	return out
}

// EachStore runs fn as a subtest on every available database.
func EachStore(t *testing.T, now func() time.Time, fn func(t *testing.T, s *models.Store)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t, now)) })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t, now)) })
}

func open(t testing.TB, dsn string, now func() time.Time) *models.Store {
	t.Helper()
	ctx := context.Background()
	s, err := models.Open(ctx, dsn, models.Options{Now: now})
	if err != nil {
		t.Fatalf("open %s: %v", dsn, err)
	}
	t.Cleanup(func() { s.Close() })
	m, err := s.Migrator(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Up(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if err := s.Tx(ctx, func(tx *models.Tx) error { _, err := tx.SeedDirections(ctx); return err }); err != nil {
		t.Fatalf("seed: %v", err)
	}
	return s
}

// MustTx runs fn in a transaction and fails the test on error.
func MustTx(t testing.TB, s *models.Store, fn func(tx *models.Tx) error) {
	t.Helper()
	if err := s.Tx(context.Background(), fn); err != nil {
		t.Fatal(fmt.Errorf("transaction: %w", err))
	}
}

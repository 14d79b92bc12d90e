package models

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"

	"github.com/pressly/goose/v3"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrator applies the embedded, versioned migrations.
type Migrator struct {
	p *goose.Provider
}

// MigrationStatus is one migration and whether it is applied.
type MigrationStatus struct {
	Version int64
	Name    string
	Applied bool
}

// Migrator returns the migration runner of this store.
func (s *Store) Migrator(logger *slog.Logger) (*Migrator, error) {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	dialect, other := goose.DialectSQLite3, ".postgres.sql"
	if s.dialect == Postgres {
		dialect, other = goose.DialectPostgres, ".sqlite.sql"
	}
	skip, err := otherDialectFiles(sub, other)
	if err != nil {
		return nil, err
	}
	// Each area of the product numbers its migrations in its own range
	// (README): a foundation migration merged after the events' ones is
	// "out of order" on databases that already have the events' tables, and
	// must still be applied.
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true), goose.WithAllowOutofOrder(true),
		goose.WithGoMigrations(migration0003()), goose.WithExcludeNames(skip)}
	if logger != nil {
		opts = append(opts, goose.WithSlog(logger))
	}
	p, err := goose.NewProvider(dialect, s.write, sub, opts...)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return &Migrator{p: p}, nil
}

// Most migrations are one NNNN_name.sql file, portable SQL. One whose SQL
// must differ between the databases (a constraint SQLite cannot add, say)
// comes as two files of the same number, NNNN_name.sqlite.sql and
// NNNN_name.postgres.sql: each database leaves out the other's.
// otherDialectFiles lists the files to leave out (those ending in other),
// after checking that every such file has its twin, so that no database
// silently misses a migration.
func otherDialectFiles(fsys fs.FS, other string) ([]string, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	have := map[string]bool{}
	for _, e := range entries {
		have[e.Name()] = true
	}
	var skip []string
	for name := range have {
		for _, pair := range [][2]string{{".sqlite.sql", ".postgres.sql"}, {".postgres.sql", ".sqlite.sql"}} {
			if base, ok := strings.CutSuffix(name, pair[0]); ok && !have[base+pair[1]] {
				return nil, fmt.Errorf("migrations: %s has no %s twin", name, pair[1])
			}
		}
		if strings.HasSuffix(name, other) {
			skip = append(skip, name)
		}
	}
	return skip, nil
}

// Up applies every pending migration.
func (m *Migrator) Up(ctx context.Context) (int, error) {
	res, err := m.p.Up(ctx)
	if err != nil {
		return len(res), fmt.Errorf("migrate up: %w", err)
	}
	return len(res), nil
}

// Down rolls back the last applied migration.
func (m *Migrator) Down(ctx context.Context) error {
	if _, err := m.p.Down(ctx); err != nil {
		return fmt.Errorf("migrate down: %w", err)
	}
	return nil
}

// DownTo rolls back to version (0: everything).
func (m *Migrator) DownTo(ctx context.Context, version int64) error {
	if _, err := m.p.DownTo(ctx, version); err != nil {
		return fmt.Errorf("migrate down to %d: %w", version, err)
	}
	return nil
}

// Status lists every migration.
func (m *Migrator) Status(ctx context.Context) ([]MigrationStatus, error) {
	st, err := m.p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migration status: %w", err)
	}
	out := make([]MigrationStatus, 0, len(st))
	for _, s := range st {
		out = append(out, MigrationStatus{Version: s.Source.Version, Name: s.Source.Path, Applied: s.State == goose.StateApplied})
	}
	return out, nil
}

// Pending tells whether migrations remain to apply.
func (m *Migrator) Pending(ctx context.Context) (bool, error) {
	return m.p.HasPending(ctx)
}

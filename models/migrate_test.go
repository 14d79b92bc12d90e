package models_test

import (
	"context"
	"testing"

	"github.com/dnum-sociaux/agora/internal/testutil"
	"github.com/dnum-sociaux/agora/models"
)

// Every migration goes down and up again cleanly, on every database.
func TestMigrationsReversible(t *testing.T) {
	testutil.EachStore(t, nil, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		m, err := s.Migrator(nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.DownTo(ctx, 0); err != nil {
			t.Fatalf("down to 0: %v", err)
		}
		if pending, err := m.Pending(ctx); err != nil || !pending {
			t.Fatalf("after down: pending=%v err=%v, want pending", pending, err)
		}
		if _, err := m.Up(ctx); err != nil {
			t.Fatalf("up again: %v", err)
		}
		if pending, err := m.Pending(ctx); err != nil || pending {
			t.Fatalf("after up: pending=%v err=%v", pending, err)
		}
	})
}

// A migration of a lower range merged after higher ones were applied (the
// ranges of the README) is still applied on existing databases.
func TestMigrationMergedOutOfOrder(t *testing.T) {
	testutil.EachStore(t, nil, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		_, w := s.SQL()
		// As if 0002 had not existed when this database was last migrated.
		if _, err := w.ExecContext(ctx, "DROP INDEX users_email_lower"); err != nil {
			t.Fatal(err)
		}
		if _, err := w.ExecContext(ctx, "DELETE FROM goose_db_version WHERE version_id = 2"); err != nil {
			t.Fatal(err)
		}
		m, err := s.Migrator(nil)
		if err != nil {
			t.Fatal(err)
		}
		if pending, err := m.Pending(ctx); err != nil || !pending {
			t.Fatalf("pending = %v, %v; want the missing migration pending", pending, err)
		}
		if n, err := m.Up(ctx); err != nil || n != 1 {
			t.Fatalf("up = %d, %v; want the missing migration applied", n, err)
		}
		if pending, _ := m.Pending(ctx); pending {
			t.Fatal("still pending")
		}
	})
}

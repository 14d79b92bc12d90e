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

package models_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dnum-sociaux/agora/internal/testutil"
	"github.com/dnum-sociaux/agora/models"
)

// The SQLite writer never checkpoints itself; the store's checkpointer
// copies the log into the database file beside it, so the file grows with
// the writes and the log does not keep them all.
func TestSQLiteCheckpointsBesideTheWriter(t *testing.T) {
	path := t.TempDir() + "/agora.db"
	s, err := models.Open(context.Background(), "sqlite://"+path, models.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	m, err := s.Migrator(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Up(ctx); err != nil {
		t.Fatal(err)
	}
	_, w := s.SQL()
	var auto int
	if err := w.QueryRowContext(ctx, "PRAGMA wal_autocheckpoint").Scan(&auto); err != nil || auto != 0 {
		t.Fatalf("writer's wal_autocheckpoint = %d (%v), want 0", auto, err)
	}
	size := func(name string) int64 {
		st, err := os.Stat(name)
		if err != nil {
			return 0
		}
		return st.Size()
	}
	// Wait for the migrations' own log to be copied, then write 4 MB.
	time.Sleep(100 * time.Millisecond)
	before := size(path)
	for i := range 40 {
		testutil.MustTx(t, s, func(tx *models.Tx) error {
			for j := range 25 {
				if _, err := tx.Enqueue(ctx, models.OutboxMessage{DedupeKey: fmt.Sprintf("k%d-%d", i, j), Kind: "test", Recipient: "a@x.fr",
					Subject: "S", TextBody: strings.Repeat("x", 4000)}); err != nil {
					return err
				}
			}
			return nil
		})
	}
	deadline := time.Now().Add(10 * time.Second)
	for size(path)-before < 3<<20 {
		if time.Now().After(deadline) {
			t.Fatalf("database file %d → %d bytes, log %d bytes: the writes were not checkpointed", before, size(path), size(path+"-wal"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

package models_test

import (
	"context"
	"strings"
	"testing"
	"time"

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

// sessions.event_id references events(id) (0213): a real foreign key on
// PostgreSQL, triggers on SQLite, with the same effects: a session cannot
// name an event that does not exist, an event deleted takes its sessions
// (and their places) with it; the migration refuses while orphans exist,
// and goes down and up again.
func TestSessionsEventForeignKey(t *testing.T) {
	clock := testutil.NewClock()
	testutil.EachStore(t, clock.Now, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		_, w := s.SQL()
		f := newEventFixture(t, s, clock, 0, models.ModesOnsite, nil)
		ws := f.slot("Atelier", models.SlotWorkshop, time.Hour, 2*time.Hour, 10)
		if _, err := f.registerWith("p@x.fr", ws.ID); err != nil {
			t.Fatal(err)
		}
		insert := func(id, eventID string) error {
			ev := "NULL"
			if eventID != "" {
				ev = "'" + eventID + "'"
			}
			_, err := w.ExecContext(ctx, `INSERT INTO sessions (id, uid, title, starts_at, ends_at, status, created_at, updated_at, event_id)
				VALUES ('`+id+`', '`+id+`@agora.test', 'S', '2027-01-14 09:00:00', '2027-01-14 10:00:00', 'scheduled',
				'2026-11-30 08:00:00', '2026-11-30 08:00:00', `+ev+`)`)
			return err
		}
		isFK := func(err error) bool {
			return err != nil && strings.Contains(strings.ToLower(err.Error()), "foreign key")
		}
		count := func(q string) int {
			t.Helper()
			var n int
			if err := w.QueryRowContext(ctx, q).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}

		if err := insert("orphan", "no-such-event"); !isFK(err) {
			t.Errorf("session of an unknown event: %v, want a foreign key error", err)
		}
		if err := insert("of-event", f.event.ID); err != nil {
			t.Errorf("session of the event: %v", err)
		}
		if err := insert("of-no-event", ""); err != nil {
			t.Errorf("session without an event (a group's): %v", err)
		}
		if _, err := w.ExecContext(ctx, "UPDATE sessions SET event_id = 'no-such-event' WHERE id = '"+ws.ID+"'"); !isFK(err) {
			t.Errorf("moving a session to an unknown event: %v, want a foreign key error", err)
		}
		if _, err := w.ExecContext(ctx, "UPDATE events SET id = 'renamed' WHERE id = '"+f.event.ID+"'"); !isFK(err) {
			t.Errorf("changing the id of an event with sessions: %v, want a foreign key error", err)
		}

		// Down: the rule is gone; up again refuses while the orphan is there.
		m, err := s.Migrator(nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.DownTo(ctx, 212); err != nil {
			t.Fatalf("down to 212: %v", err)
		}
		if err := insert("orphan", "no-such-event"); err != nil {
			t.Fatalf("after down, a session of an unknown event: %v", err)
		}
		if _, err := m.Up(ctx); err == nil {
			t.Fatal("up with a session of an unknown event succeeded")
		}
		if st := status(t, m, 213); st.Applied {
			t.Fatalf("0213 applied over an orphan: %+v", st)
		}
		if count("SELECT COUNT(*) FROM sessions WHERE id = 'orphan'") != 1 {
			t.Fatal("the failed migration changed the data")
		}
		if _, err := w.ExecContext(ctx, "DELETE FROM sessions WHERE id = 'orphan'"); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Up(ctx); err != nil {
			t.Fatalf("up: %v", err)
		}
		want := map[models.Dialect]string{models.SQLite: "0213_sessions_event_fk.sqlite.sql", models.Postgres: "0213_sessions_event_fk.postgres.sql"}[s.Dialect()]
		if st := status(t, m, 213); !st.Applied || !strings.HasSuffix(st.Name, want) {
			t.Fatalf("0213: %+v, want %s applied", st, want)
		}
		if err := insert("orphan", "no-such-event"); !isFK(err) {
			t.Errorf("after down and up, a session of an unknown event: %v, want a foreign key error", err)
		}

		// ON DELETE CASCADE: the event's sessions and their places go with it.
		if _, err := w.ExecContext(ctx, "DELETE FROM events WHERE id = '"+f.event.ID+"'"); err != nil {
			t.Fatalf("delete the event: %v", err)
		}
		if n := count("SELECT COUNT(*) FROM sessions WHERE event_id = '" + f.event.ID + "'"); n != 0 {
			t.Errorf("%d sessions of the deleted event left", n)
		}
		if n := count("SELECT COUNT(*) FROM registration_workshops WHERE session_id = '" + ws.ID + "'"); n != 0 {
			t.Errorf("%d workshop places of the deleted event left", n)
		}
		if n := count("SELECT COUNT(*) FROM sessions WHERE id = 'of-no-event'"); n != 1 {
			t.Errorf("the session without an event went too (%d left)", n)
		}
	})
}

func status(t *testing.T, m *models.Migrator, version int64) models.MigrationStatus {
	t.Helper()
	st, err := m.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		if s.Version == version {
			return s
		}
	}
	t.Fatalf("no migration %d", version)
	return models.MigrationStatus{}
}

package models_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/dnum-sociaux/agora/internal/testutil"
	"github.com/dnum-sociaux/agora/models"
)

const day = 24 * time.Hour

// setMail puts messages in a state, as the worker would have (raw SQL: the
// same statement on both databases).
func setMail(t *testing.T, s *models.Store, state models.MailState, sent any, keys ...string) {
	t.Helper()
	_, write := s.SQL()
	for _, k := range keys {
		if _, err := write.Exec("UPDATE outbox SET state = $1, sent_at = $2 WHERE dedupe_key = $3", state, sent, k); err != nil {
			t.Fatal(err)
		}
	}
}

func enqueueMail(t *testing.T, s *models.Store, body *models.MailBody, keys ...string) {
	t.Helper()
	testutil.MustTx(t, s, func(tx *models.Tx) error {
		for _, k := range keys {
			m := models.OutboxMessage{DedupeKey: k, Kind: "test", Recipient: "p@example.org", Subject: "S", TextBody: "propre " + k}
			if body != nil {
				m.Body, m.Vars = body, []string{"PhKey", k}
			}
			if _, err := tx.Enqueue(context.Background(), m); err != nil {
				return err
			}
		}
		return nil
	})
}

func outboxKeys(t *testing.T, s *models.Store) map[string]bool {
	t.Helper()
	read, _ := s.SQL()
	rows, err := read.Query("SELECT dedupe_key FROM outbox")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		out[k] = true
	}
	return out
}

// The retention job deletes messages sent or failed before the limit, in
// chunks, and then the shared bodies older than the limit that no message
// uses; pending messages (however old), messages being sent, recent ones
// and the bodies they use stay.
func TestPurgeMail(t *testing.T) {
	onEachStore(t, func(t *testing.T, s *models.Store, clock *testutil.Clock) {
		ctx := context.Background()
		old := models.NewMailBody("ancien PhKey", "<p>ancien PhKey</p>")      // only old sent messages use it
		shared := models.NewMailBody("partagé PhKey", "<p>partagé PhKey</p>") // old and recent messages
		t0 := clock.Now()
		var oldKeys []string
		for i := range 501 { // more than one chunk
			oldKeys = append(oldKeys, fmt.Sprintf("old-%03d", i))
		}
		enqueueMail(t, s, old, oldKeys...)
		enqueueMail(t, s, shared, "shared-old", "shared-pending", "shared-sending")
		enqueueMail(t, s, nil, "own-failed", "own-sent-late")
		setMail(t, s, models.MailSent, t0, oldKeys...)
		setMail(t, s, models.MailSent, t0, "shared-old")
		setMail(t, s, models.MailFailed, nil, "own-failed")
		setMail(t, s, models.MailSending, nil, "shared-sending")
		// Due long ago, sent only recently (after many retries): kept.
		setMail(t, s, models.MailSent, t0.Add(85*day), "own-sent-late")

		clock.Advance(91 * day)
		enqueueMail(t, s, shared, "shared-recent")
		setMail(t, s, models.MailSent, clock.Now(), "shared-recent")
		// A body stored after the limit is kept even when nothing uses it.
		fresh := models.NewMailBody("récent PhKey", "")
		enqueueMail(t, s, fresh, "fresh")
		_, write := s.SQL()
		if _, err := write.Exec("DELETE FROM outbox WHERE dedupe_key = 'fresh'"); err != nil {
			t.Fatal(err)
		}

		mail, bodies, err := s.PurgeMail(ctx, clock.Now().Add(-90*day))
		if err != nil {
			t.Fatal(err)
		}
		if mail != 503 || bodies != 1 {
			t.Errorf("deleted %d messages and %d bodies, want 503 and 1", mail, bodies)
		}
		want := map[string]bool{"shared-pending": true, "shared-sending": true, "own-sent-late": true, "shared-recent": true}
		if got := outboxKeys(t, s); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("kept %v, want %v", got, want)
		}
		read, _ := s.SQL()
		var n int
		if err := read.QueryRow("SELECT COUNT(*) FROM outbox_bodies").Scan(&n); err != nil || n != 2 {
			t.Errorf("%d bodies kept (%v), want 2 (shared, fresh)", n, err)
		}
		// What stays reads whole.
		list, _, err := s.ListOutbox(ctx, models.OutboxFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range list {
			if m.TextBody == "" {
				t.Errorf("%s lost its body", m.DedupeKey)
			}
		}
		// A second pass finds nothing more.
		if mail, bodies, err := s.PurgeMail(ctx, clock.Now().Add(-90*day)); err != nil || mail != 0 || bodies != 0 {
			t.Errorf("second pass: %d, %d, %v", mail, bodies, err)
		}
	})
}

// startBlocked runs run in the background and waits until it is waiting
// for the transaction the caller holds (PostgreSQL: a server process
// blocked by the one of pid; SQLite: a writer waiting for the one
// connection), or has finished. It reports whether run was seen waiting,
// and gives the channel of its result (already read when run finished).
// The SQLite writer's count of waits is read before run starts: read after,
// a run that queued at once would never be seen waiting.
func startBlocked(t *testing.T, s *models.Store, pid int, run func() error) (waited bool, done <-chan error) {
	t.Helper()
	read, write := s.SQL()
	waits := write.Stats().WaitCount
	result := make(chan error, 1)
	go func() { result <- run() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-result:
			if err != nil {
				t.Fatal(err)
			}
			return false, result
		default:
		}
		if s.Dialect() == models.Postgres {
			var n int
			if err := read.QueryRow("SELECT COUNT(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))", pid).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n > 0 {
				return true, result
			}
		} else if write.Stats().WaitCount > waits {
			return true, result
		}
		if time.Now().After(deadline) {
			t.Fatal("the background write neither waited nor finished within 30 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A purge that runs while a transaction enqueues a message using an old
// body nothing else uses waits for that transaction, then keeps the body:
// the message reads whole once committed.
func TestPurgeMailWaitsForEnqueue(t *testing.T) {
	onEachStore(t, func(t *testing.T, s *models.Store, clock *testutil.Clock) {
		ctx := context.Background()
		body := sentLongAgo(t, s, clock)
		before := clock.Now().Add(-90 * day)

		var waited bool
		var done <-chan error
		testutil.MustTx(t, s, func(tx *models.Tx) error {
			if _, err := tx.Enqueue(ctx, secondMail(body)); err != nil {
				return err
			}
			pid := 0
			if s.Dialect() == models.Postgres {
				var err error
				if pid, err = tx.BackendPID(ctx); err != nil {
					return err
				}
			}
			waited, done = startBlocked(t, s, pid, func() error { _, _, err := s.PurgeMail(ctx, before); return err })
			return nil
		})
		if waited {
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
		if got := outboxKeys(t, s); !got["second"] || got["first"] {
			t.Errorf("outbox after the purge: %v", got)
		}
		secondReadsWhole(t, s, "the message lost its body", "the purge", waited)
	})
}

// An enqueue that arrives while a purge has deleted a body, not yet
// committed, waits for it and stores the body again.
func TestEnqueueAfterPurgeStoresBodyAgain(t *testing.T) {
	onEachStore(t, func(t *testing.T, s *models.Store, clock *testutil.Clock) {
		ctx := context.Background()
		body := sentLongAgo(t, s, clock)

		// The purge's transaction, stopped after deleting the body.
		_, write := s.SQL()
		purge, err := write.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		pid := 0
		if s.Dialect() == models.Postgres {
			if _, err := purge.Exec("SELECT pg_advisory_xact_lock($1)", models.OutboxBodiesLock); err != nil {
				t.Fatal(err)
			}
			if err := purge.QueryRow("SELECT pg_backend_pid()").Scan(&pid); err != nil {
				t.Fatal(err)
			}
		}
		for _, q := range []string{"DELETE FROM outbox", "DELETE FROM outbox_bodies"} {
			if _, err := purge.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		waited, done := startBlocked(t, s, pid, func() error {
			return s.Tx(ctx, func(tx *models.Tx) error {
				_, err := tx.Enqueue(ctx, secondMail(body))
				return err
			})
		})
		if err := purge.Commit(); err != nil {
			t.Fatal(err)
		}
		if waited {
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
		secondReadsWhole(t, s, "the message has no body", "the enqueue", waited)
	})
}

// sentLongAgo queues a message "first" with a shared body, sent, then
// moves the clock past the mail retention: the body is nothing else's.
func sentLongAgo(t *testing.T, s *models.Store, clock *testutil.Clock) *models.MailBody {
	t.Helper()
	body := models.NewMailBody("Bonjour PhKey", "<p>Bonjour PhKey</p>")
	enqueueMail(t, s, body, "first")
	setMail(t, s, models.MailSent, clock.Now(), "first")
	clock.Advance(91 * day)
	return body
}

// secondMail is a message "second" using body.
func secondMail(body *models.MailBody) models.OutboxMessage {
	return models.OutboxMessage{DedupeKey: "second", Kind: "test", Recipient: "p@example.org", Subject: "S",
		Body: body, Vars: []string{"PhKey", "second"}}
}

// secondReadsWhole checks that the message "second" reads with its body
// (problem and who says what went wrong; waited, whether who waited).
func secondReadsWhole(t *testing.T, s *models.Store, problem, who string, waited bool) {
	t.Helper()
	m, err := s.OutboxByID(context.Background(), onlyID(t, s, "second"))
	if err != nil {
		t.Fatal(err)
	}
	if m.TextBody != "Bonjour second" || m.HTMLBody != "<p>Bonjour second</p>" {
		t.Errorf("%s: %q %q (%s waited: %v)", problem, m.TextBody, m.HTMLBody, who, waited)
	}
}

func onlyID(t *testing.T, s *models.Store, key string) string {
	t.Helper()
	read, _ := s.SQL()
	var id string
	if err := read.QueryRow("SELECT id FROM outbox WHERE dedupe_key = $1", key).Scan(&id); err != nil {
		t.Fatalf("message %s: %v", key, sql.ErrNoRows)
	}
	return id
}

// Audit entries older than the limit go, in chunks; newer ones stay.
func TestPurgeAudit(t *testing.T) {
	onEachStore(t, func(t *testing.T, s *models.Store, clock *testutil.Clock) {
		ctx := context.Background()
		testutil.MustTx(t, s, func(tx *models.Tx) error {
			for i := range 502 {
				if err := tx.Audit(ctx, models.Actor{Email: "system"}, "test.old", "test", fmt.Sprint(i), ""); err != nil {
					return err
				}
			}
			return nil
		})
		clock.Advance(366 * day)
		testutil.MustTx(t, s, func(tx *models.Tx) error {
			return tx.Audit(ctx, models.Actor{Email: "system"}, "test.new", "test", "new", "")
		})
		n, err := s.PurgeAudit(ctx, clock.Now().Add(-365*day))
		if err != nil || n != 502 {
			t.Fatalf("purged %d (%v), want 502", n, err)
		}
		left, total, err := s.ListAudit(ctx, models.AuditFilter{})
		if err != nil || total != 1 || left[0].Action != "test.new" {
			t.Fatalf("left %+v (%d, %v)", left, total, err)
		}
	})
}

package models_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dnum-sociaux/agora/internal/testutil"
	"github.com/dnum-sociaux/agora/models"
)

// In a group commit, the audit entries, registration links and emails of
// the batch's writes are written together before it commits: all of them,
// once each (batches of more rows than one statement takes), and a write
// whose rows are refused at that point (here a link to a registration that
// does not exist) fails alone while the others keep theirs.
func TestBatchedAppendOnlyRows(t *testing.T) {
	eachEventStore(t, func(t *testing.T, s *models.Store, clock *testutil.Clock) {
		ctx := context.Background()
		b := s.NewBatcher(200)
		const writes = 150
		bad := func(i int) bool { return i%37 == 5 }
		// The writes queue behind a held one, so that they go in one batch.
		release, held := holdBatch(t, b, nil)
		var wg sync.WaitGroup
		errs := make([]error, writes)
		for i := range writes {
			wg.Go(func() {
				errs[i] = b.Do(ctx, func(tx *models.Tx) error {
					if err := tx.Audit(ctx, models.Actor{}, "test.bulk", "test", fmt.Sprint(i), ""); err != nil {
						return err
					}
					for k := range 2 { // the second is the first again: queued once
						if err := tx.Queue(ctx, models.OutboxMessage{DedupeKey: fmt.Sprintf("bulk-%d", i), Kind: "test.bulk",
							Recipient: fmt.Sprintf("p%d@x.fr", i), Subject: fmt.Sprintf("Message %d-%d", i, k), TextBody: "Bonjour"}); err != nil {
							return err
						}
					}
					if bad(i) {
						_, err := tx.NewRegistrationLink(ctx, "no-such-registration")
						return err
					}
					return nil
				})
			})
		}
		deadline := time.Now().Add(30 * time.Second)
		for b.Pending() < writes {
			if time.Now().After(deadline) {
				t.Fatalf("%d writes queued of %d", b.Pending(), writes)
			}
			time.Sleep(time.Millisecond)
		}
		release()
		if err := <-held; err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		failed := 0
		for i, err := range errs {
			if bad(i) != (err != nil) {
				t.Errorf("write %d: error %v", i, err)
			}
			if err != nil {
				failed++
			}
		}
		entries, total, err := s.ListAudit(ctx, models.AuditFilter{Action: "test.bulk", Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		mails, mailTotal, err := s.ListOutbox(ctx, models.OutboxFilter{Kind: "test.bulk", Limit: 1000, Summary: true})
		if err != nil {
			t.Fatal(err)
		}
		if total != writes-failed || mailTotal != writes-failed {
			t.Fatalf("%d audit entries and %d emails, want %d of each", total, mailTotal, writes-failed)
		}
		seen := map[string]bool{}
		for _, e := range entries {
			seen["audit "+e.TargetID] = true
		}
		for _, m := range mails {
			seen["mail "+m.DedupeKey] = true
			if m.Subject[len(m.Subject)-2:] != "-0" {
				t.Errorf("%s: %q, want the first message queued under its key", m.DedupeKey, m.Subject)
			}
		}
		for i := range writes {
			if seen[fmt.Sprintf("audit %d", i)] == bad(i) || seen[fmt.Sprintf("mail bulk-%d", i)] == bad(i) {
				t.Errorf("write %d (failed %v): audit %v, mail %v", i, bad(i), seen[fmt.Sprintf("audit %d", i)], seen[fmt.Sprintf("mail bulk-%d", i)])
			}
		}
	})
}

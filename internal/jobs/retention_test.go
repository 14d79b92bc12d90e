package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/dnum-sociaux/agora/internal/jobs"
	"github.com/dnum-sociaux/agora/internal/testutil"
	"github.com/dnum-sociaux/agora/models"
)

// A pass deletes the emails sent before the mail limit, their unused
// shared body and the audit entries before the audit limit, at the store's
// clock; a zero limit keeps its kind.
func TestRetentionPass(t *testing.T) {
	clock := testutil.NewClock()
	for name, store := range testutil.Stores(t, clock.Now) {
		t.Run(name, func(t *testing.T) {
			clock.Set(testutil.NewClock().Now())
			ctx := context.Background()
			body := models.NewMailBody("Bonjour PhName", "")
			queue := func(key string) {
				testutil.MustTx(t, store, func(tx *models.Tx) error {
					if _, err := tx.Enqueue(ctx, models.OutboxMessage{DedupeKey: key, Kind: "test", Recipient: "a@x.fr", Subject: "S",
						Body: body, Vars: []string{"PhName", key}}); err != nil {
						return err
					}
					return tx.Audit(ctx, models.Actor{Email: "system"}, "test", "mail", key, "")
				})
				msgs, err := store.ClaimDue(ctx, 10, time.Minute)
				if err != nil || len(msgs) != 1 {
					t.Fatalf("claim %s: %v %v", key, msgs, err)
				}
				if err := store.MarkSent(ctx, msgs[0].ID, true); err != nil {
					t.Fatal(err)
				}
			}
			queue("janvier")
			clock.Advance(40 * 24 * time.Hour)
			queue("mars")

			r := &jobs.Retention{Store: store, Mail: 30 * 24 * time.Hour, Audit: 0}
			p, err := r.RunOnce(ctx)
			if err != nil || p != (jobs.Purged{Mail: 1}) {
				t.Fatalf("first pass: %+v %v, want one email (its body is still used)", p, err)
			}
			clock.Advance(40 * 24 * time.Hour)
			r.Audit = 60 * 24 * time.Hour
			p, err = r.RunOnce(ctx)
			if err != nil || p != (jobs.Purged{Mail: 1, MailBodies: 1, Audit: 1}) {
				t.Fatalf("second pass: %+v %v", p, err)
			}
			if _, n, _ := store.ListOutbox(ctx, models.OutboxFilter{}); n != 0 {
				t.Errorf("%d emails left", n)
			}
			if entries, n, _ := store.ListAudit(ctx, models.AuditFilter{}); n != 1 || entries[0].TargetID != "mars" {
				t.Errorf("audit left: %+v", entries)
			}
		})
	}
}

package mail_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dnum-sociaux/agora/internal/mail"
	"github.com/dnum-sociaux/agora/internal/testutil"
	"github.com/dnum-sociaux/agora/models"
)

// While a burst of writes is being served (Busy), delivery waits; it goes
// on once the burst is over, or after MaxDefer when the burst goes on.
func TestWorkerWaitsWhileWritesAreBusy(t *testing.T) {
	for _, c := range []struct {
		name     string
		maxDefer time.Duration
		endBurst bool // the burst ends while the message waits
	}{
		{"the burst ends", time.Hour, true},
		{"the burst goes on", 100 * time.Millisecond, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			store := testutil.SQLite(t, nil)
			var busy atomic.Bool
			busy.Store(true)
			ids := enqueue(t, store, models.OutboxMessage{Recipient: "a@x.fr", Subject: "Inscription"})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			w := &mail.Worker{Store: store, Sender: mail.CaptureSender{}, Busy: busy.Load, MaxDefer: c.maxDefer, Poll: 10 * time.Millisecond}
			go func() { defer close(done); w.Run(ctx) }()
			defer func() { cancel(); <-done }()
			if c.endBurst {
				time.Sleep(300 * time.Millisecond)
				if m := mustGet(t, store, ids[0]); m.State != models.MailPending {
					t.Fatalf("delivered during the burst: %s", m.State)
				}
				busy.Store(false)
			}
			deadline := time.Now().Add(10 * time.Second)
			for mustGet(t, store, ids[0]).State != models.MailSent {
				if time.Now().After(deadline) {
					t.Fatal("never delivered")
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

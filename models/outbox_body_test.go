package models_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dnum-sociaux/agora/internal/testutil"
	"github.com/dnum-sociaux/agora/models"
)

// Messages that share a body store it once; each reads back whole, with
// its own values in the text and, escaped, in the HTML; a migration down
// gives every message its own bodies again.
func TestOutboxSharedBody(t *testing.T) {
	onEachStore(t, func(t *testing.T, s *models.Store, clock *testutil.Clock) {
		ctx := context.Background()
		body := models.NewMailBody("Bonjour PhName,\nvotre code : PhCode.\n", "<p>Bonjour PhName, votre code : <b>PhCode</b></p>")
		people := []struct{ name, code string }{
			{`Zoé <b>"O'Hara"</b> & co`, "AB12CD34"},
			{"PhCode", "ZZ99ZZ99"}, // a value that looks like a placeholder is not replaced again
		}
		testutil.MustTx(t, s, func(tx *models.Tx) error {
			for i, p := range people {
				if _, err := tx.Enqueue(ctx, models.OutboxMessage{DedupeKey: "shared:" + p.code, Kind: "test", Recipient: "p@example.org",
					Subject: "Sujet", Body: body, Vars: []string{"PhName", p.name, "PhCode", p.code}, ICSMethod: "REQUEST", ICSBody: "ics" + p.code}); err != nil {
					return err
				}
				if i == 0 { // a message with its own bodies, beside them
					if _, err := tx.Enqueue(ctx, models.OutboxMessage{DedupeKey: "own", Kind: "test", Recipient: "q@example.org", Subject: "S",
						TextBody: "texte propre", HTMLBody: "<p>propre</p>"}); err != nil {
						return err
					}
				}
			}
			return nil
		})
		// A placeholder without its value is refused.
		err := s.Tx(ctx, func(tx *models.Tx) error {
			_, err := tx.Enqueue(ctx, models.OutboxMessage{DedupeKey: "odd", Kind: "test", Recipient: "p@example.org", Subject: "S",
				Body: body, Vars: []string{"PhName"}})
			return err
		})
		if err == nil {
			t.Fatal("odd values accepted")
		}
		read, _ := s.SQL()
		var bodies, inline int
		if err := read.QueryRow("SELECT COUNT(*) FROM outbox_bodies").Scan(&bodies); err != nil || bodies != 1 {
			t.Fatalf("%d shared bodies stored (%v), want 1", bodies, err)
		}
		if err := read.QueryRow("SELECT COUNT(*) FROM outbox WHERE text_body <> ''").Scan(&inline); err != nil || inline != 1 {
			t.Fatalf("%d messages with their own text (%v), want 1", inline, err)
		}
		want := map[string][2]string{
			"shared:AB12CD34": {"Bonjour Zoé <b>\"O'Hara\"</b> & co,\nvotre code : AB12CD34.\n",
				"<p>Bonjour Zoé &lt;b&gt;&#34;O&#39;Hara&#34;&lt;/b&gt; &amp; co, votre code : <b>AB12CD34</b></p>"},
			"shared:ZZ99ZZ99": {"Bonjour PhCode,\nvotre code : ZZ99ZZ99.\n", "<p>Bonjour PhCode, votre code : <b>ZZ99ZZ99</b></p>"},
			"own":             {"texte propre", "<p>propre</p>"},
		}
		check := func(how string, msgs []models.OutboxMessage) {
			t.Helper()
			if len(msgs) != len(want) {
				t.Fatalf("%s: %d messages", how, len(msgs))
			}
			for _, m := range msgs {
				w := want[m.DedupeKey]
				if m.TextBody != w[0] || m.HTMLBody != w[1] {
					t.Errorf("%s %s:\ntext %q\nhtml %q\nwant %q\n     %q", how, m.DedupeKey, m.TextBody, m.HTMLBody, w[0], w[1])
				}
			}
		}
		list, _, err := s.ListOutbox(ctx, models.OutboxFilter{})
		if err != nil {
			t.Fatal(err)
		}
		check("list", list)
		byID, err := s.OutboxByID(ctx, list[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if w := want[byID.DedupeKey]; byID.TextBody != w[0] || byID.HTMLBody != w[1] {
			t.Errorf("by id: %+v", byID)
		}
		claimed, err := s.ClaimDue(ctx, 10, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		check("claimed", claimed)

		// Down past 0003: every message has its own bodies, values in place.
		m, err := s.Migrator(nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.DownTo(ctx, 2); err != nil {
			t.Fatal(err)
		}
		rows, err := read.Query("SELECT dedupe_key, text_body, html_body FROM outbox")
		if err != nil {
			t.Fatal(err)
		}
		var down []models.OutboxMessage
		for rows.Next() {
			var msg models.OutboxMessage
			if err := rows.Scan(&msg.DedupeKey, &msg.TextBody, &msg.HTMLBody); err != nil {
				t.Fatal(err)
			}
			down = append(down, msg)
		}
		rows.Close()
		check("after migrating down", down)
		if _, err := m.Up(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// In a group commit, a write that stored a shared body and then failed
// takes the body with it: the next writes of the batch store it again, and
// every committed message reads back whole.
func TestOutboxSharedBodyInFailedBatchedWrite(t *testing.T) {
	onEachStore(t, func(t *testing.T, s *models.Store, clock *testutil.Clock) {
		ctx := context.Background()
		b := s.NewBatcher(8)
		boom := errors.New("refused")
		var wg sync.WaitGroup
		for i := range 40 {
			wg.Go(func() {
				// A new body every 8 writes, so that many batches begin with it.
				body := models.NewMailBody(fmt.Sprintf("Corps %d : PhCode", i/8), "<p>PhCode</p>")
				err := b.Do(ctx, func(tx *models.Tx) error {
					if _, err := tx.Enqueue(ctx, models.OutboxMessage{DedupeKey: fmt.Sprintf("m%02d", i), Kind: "test", Recipient: "p@example.org",
						Subject: "S", Body: body, Vars: []string{"PhCode", fmt.Sprint(i)}}); err != nil {
						return err
					}
					if i%2 == 0 {
						return boom
					}
					return nil
				})
				if (i%2 == 0) != errors.Is(err, boom) {
					t.Errorf("write %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		msgs, n, err := s.ListOutbox(ctx, models.OutboxFilter{Limit: 100})
		if err != nil || n != 20 {
			t.Fatalf("%d messages (%v), want the 20 that committed", n, err)
		}
		for _, m := range msgs {
			var i int
			fmt.Sscanf(m.DedupeKey, "m%d", &i)
			if want := fmt.Sprintf("Corps %d : %d", i/8, i); i%2 == 0 || m.TextBody != want || m.HTMLBody != fmt.Sprintf("<p>%d</p>", i) {
				t.Errorf("%s: %q %q, want %q", m.DedupeKey, m.TextBody, m.HTMLBody, want)
			}
		}
	})
}

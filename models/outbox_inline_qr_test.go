package models_test

import (
	"context"
	"testing"

	"github.com/dnum-sociaux/agora/internal/testutil"
	"github.com/dnum-sociaux/agora/models"
)

// The text of an inline QR code is stored with the message and comes back
// on every read path (the message, the admin list, the worker's claim); a
// message without one, or a row written without the column, reads as empty.
func TestOutboxInlineQR(t *testing.T) {
	testutil.EachStore(t, nil, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		const qr = "https://agora.example.gouv.fr/events/01J/checkin?code=QZ7XW9KJ"
		testutil.MustTx(t, s, func(tx *models.Tx) error {
			if _, err := tx.Enqueue(ctx, models.OutboxMessage{DedupeKey: "with", Kind: "event.registered", Recipient: "a@example.org",
				Subject: "Inscription confirmée", TextBody: "texte", HTMLBody: `<img src="cid:x">`, InlineQR: qr}); err != nil {
				return err
			}
			_, err := tx.Enqueue(ctx, models.OutboxMessage{DedupeKey: "without", Kind: "login", Recipient: "b@example.org",
				Subject: "Lien", TextBody: "texte"})
			return err
		})
		_, db := s.SQL()
		if _, err := db.ExecContext(ctx, `INSERT INTO outbox (id, dedupe_key, kind, recipient, subject, text_body, next_attempt_at, created_at)
			VALUES ('raw', 'raw', 'test', 'c@example.org', 'Objet', 'texte', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)`); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"a@example.org": qr, "b@example.org": "", "c@example.org": ""}

		list, n, err := s.ListOutbox(ctx, models.OutboxFilter{Summary: true})
		if err != nil || n != 3 {
			t.Fatalf("list: %d %v", n, err)
		}
		for _, m := range list {
			if m.InlineQR != want[m.Recipient] {
				t.Errorf("list: %s inline QR %q, want %q", m.Recipient, m.InlineQR, want[m.Recipient])
			}
			full, err := s.OutboxByID(ctx, m.ID)
			if err != nil || full.InlineQR != want[m.Recipient] {
				t.Errorf("by id: %s inline QR %q (%v), want %q", m.Recipient, full.InlineQR, err, want[m.Recipient])
			}
		}
		claimed, err := s.ClaimDue(ctx, 10, 0)
		if err != nil || len(claimed) != 3 {
			t.Fatalf("claimed %d (%v)", len(claimed), err)
		}
		for _, m := range claimed {
			if m.InlineQR != want[m.Recipient] {
				t.Errorf("claim: %s inline QR %q, want %q", m.Recipient, m.InlineQR, want[m.Recipient])
			}
		}
	})
}

package models_test

import (
	"context"
	"testing"

	"github.com/dnum-sociaux/agora/internal/testutil"
	"github.com/dnum-sociaux/agora/models"
)

// The admin list reads no bodies; the message itself has them.
func TestListOutboxSummaryLeavesBodiesOut(t *testing.T) {
	testutil.EachStore(t, nil, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		testutil.MustTx(t, s, func(tx *models.Tx) error {
			_, err := tx.Enqueue(ctx, models.OutboxMessage{DedupeKey: "k1", Kind: "test", Recipient: "a@example.org",
				Subject: "Objet", TextBody: "texte", HTMLBody: "<p>html</p>", ICSMethod: "REQUEST", ICSBody: "BEGIN:VCALENDAR"})
			return err
		})
		list, n, err := s.ListOutbox(ctx, models.OutboxFilter{Summary: true})
		if err != nil || n != 1 || len(list) != 1 {
			t.Fatalf("list: %d %v", n, err)
		}
		m := list[0]
		if m.Subject != "Objet" || m.ICSMethod != "REQUEST" || m.Recipient != "a@example.org" {
			t.Fatalf("summary lost listed fields: %+v", m)
		}
		if m.TextBody != "" || m.HTMLBody != "" || m.ICSBody != "" {
			t.Fatalf("summary carries bodies: %+v", m)
		}
		full, err := s.OutboxByID(ctx, m.ID)
		if err != nil || full.TextBody != "texte" || full.HTMLBody != "<p>html</p>" || full.ICSBody != "BEGIN:VCALENDAR" {
			t.Fatalf("full message: %+v %v", full, err)
		}
	})
}

package models_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/dnum-sociaux/agora/internal/testutil"
	"github.com/dnum-sociaux/agora/models"
)

// BenchmarkAnswerYesFullSession is one "oui" to a session of 50 places
// that is already full, each from another member, in its own write
// transaction: the session row locked, the queue number and the count of
// confirmed taken under the lock, the answer written (the waiting list
// grows by one). It is the unit of the RSVP burst of make bench.
func BenchmarkAnswerYesFullSession(b *testing.B) {
	ctx := context.Background()
	clock := testutil.NewClock()
	store := testutil.SQLite(b, clock.Now)
	const places = 50
	var members []models.User
	var sessionID string
	n := b.N + places
	testutil.MustTx(b, store, func(tx *models.Tx) error {
		org, err := tx.CreateUser(ctx, models.NewUser{Email: "orga@example.org", Name: "Orga", DirectionCode: "DNUM", Role: models.RoleOrganiser})
		if err != nil {
			return err
		}
		g, err := tx.CreateGroup(ctx, org, models.GroupInput{Title: "Comité produit", Summary: "Résumé", Theme: models.Themes[1], JoinPolicy: models.JoinOpen})
		if err != nil {
			return err
		}
		at := clock.Now().Add(7 * 24 * time.Hour)
		s, err := tx.CreateSession(ctx, org, models.NewSession{GroupID: g.ID, UIDHost: "agora.test",
			SessionInput: models.SessionInput{Title: "Comité", StartsAt: at, EndsAt: at.Add(time.Hour), Room: "Salle", Capacity: places}})
		if err != nil {
			return err
		}
		sessionID = s.ID
		for i := range n {
			u, err := tx.CreateUser(ctx, models.NewUser{Email: fmt.Sprintf("m%06d@example.org", i), Name: fmt.Sprintf("Membre %d", i), DirectionCode: "DNUM", Role: models.RoleAgent})
			if err != nil {
				return err
			}
			if err := tx.Join(ctx, u, g.ID); err != nil {
				return err
			}
			members = append(members, u)
		}
		for _, u := range members[:places] {
			if _, err := tx.Answer(ctx, u, sessionID, models.AnswerYes); err != nil {
				return err
			}
		}
		return nil
	})
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		err := store.Tx(ctx, func(tx *models.Tx) error {
			res, err := tx.Answer(ctx, members[places+i], sessionID, models.AnswerYes)
			if err == nil && !res.RSVP.Waiting {
				err = fmt.Errorf("answer %d got a place in a full session", i)
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSeatAvailable is the seat rule alone (capacity, quotas of four
// directions, confirmed seats of fourteen).
func BenchmarkSeatAvailable(b *testing.B) {
	quotas := map[string]int{"DNUM": 250, "DGCS": 150, "DGOS": 150, "DSS": 100}
	confirmed := map[string]int{}
	for i, d := range []string{"DNUM", "DGCS", "DGOS", "DSS", "DGS", "DSS2", "DGT", "DGEFP", "DREES", "DARES", "DAJ", "DFAS", "DRH", "DICOM"} {
		confirmed[d] = 100 + i
	}
	for b.Loop() {
		if !models.SeatAvailable(2000, quotas, confirmed, "DGCS") {
			b.Fatal("no seat")
		}
	}
}

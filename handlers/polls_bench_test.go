package handlers_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/dnum-sociaux/agora/internal/testutil"
	"github.com/dnum-sociaux/agora/models"
)

// BenchmarkPollPage: the page of a poll with 30 slots that the 200 members
// of its group have all answered (a 200 × 30 table), seen by a member.
func BenchmarkPollPage(b *testing.B) {
	bs := newBenchServer(b, models.RoleOrganiser)
	ctx := context.Background()
	var pollID string
	testutil.MustTx(b, bs.store, func(tx *models.Tx) error {
		g, err := tx.CreateGroup(ctx, bs.user, models.GroupInput{Title: "Comitologie", Theme: models.ThemeComitologie, JoinPolicy: models.JoinOpen})
		if err != nil {
			return err
		}
		starts := make([]time.Time, models.MaxPollSlots)
		for i := range starts {
			starts[i] = time.Date(2026, 12, 1, 9+i%8, 0, 0, 0, models.Paris).AddDate(0, 0, i/8)
		}
		p, slots, err := tx.CreatePoll(ctx, bs.user, g.ID, models.PollInput{Title: "Atelier", Description: "Un **atelier**.", Duration: time.Hour, Starts: starts})
		if err != nil {
			return err
		}
		pollID = p.ID
		members := []models.User{bs.user}
		for i := range 199 {
			u, err := tx.CreateUser(ctx, models.NewUser{Email: fmt.Sprintf("m%03d@example.org", i), Name: fmt.Sprintf("Membre %03d", i), DirectionCode: "DNUM"})
			if err != nil {
				return err
			}
			if err := tx.Join(ctx, u, g.ID); err != nil {
				return err
			}
			members = append(members, u)
		}
		for i, u := range members {
			votes := map[string]models.Vote{}
			for j, s := range slots {
				votes[s.ID] = models.Votes[(i+j)%3]
			}
			if _, err := tx.VotePoll(ctx, u, p.ID, votes); err != nil {
				return err
			}
		}
		return nil
	})
	bs.measure(b, "/polls/"+pollID, nil, 200)
}

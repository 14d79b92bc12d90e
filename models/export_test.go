package models_test

import (
	"testing"

	"github.com/dnum-sociaux/agora/models"
)

// TestUserOwnDataReads checks the reads behind the export of one's own data:
// a user's session answers and poll votes, and nobody else's.
func TestUserOwnDataReads(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		org := f.user("orga@agora.test", models.RoleOrganiser)
		alice := f.user("alice@agora.test", models.RoleAgent)
		bob := f.user("bob@agora.test", models.RoleAgent)
		g := f.group(org, models.GroupInput{Title: "Groupe données"})
		f.join(alice, g.ID)
		f.join(bob, g.ID)
		s := f.session(org, g.ID, 0)
		f.answer(alice, s.ID, models.AnswerYes)
		f.answer(bob, s.ID, models.AnswerNo)
		p, slots := f.poll(org, g.ID, nil)
		if _, err := f.vote(alice, p.ID, map[string]models.Vote{slots[0].ID: models.VoteYes, slots[1].ID: models.VoteNo}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.vote(bob, p.ID, map[string]models.Vote{slots[0].ID: models.VoteNo}); err != nil {
			t.Fatal(err)
		}

		answers, err := f.s.UserSessionAnswers(f.ctx, alice.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(answers) != 1 || answers[0].SessionID != s.ID || answers[0].Answer != models.AnswerYes ||
			answers[0].SessionTitle != s.Title || answers[0].GroupID != g.ID || !answers[0].StartsAt.Equal(s.StartsAt) {
			t.Fatalf("alice's session answers: %+v", answers)
		}
		votes, err := f.s.UserAllPollVotes(f.ctx, alice.ID)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]models.Vote{}
		for _, v := range votes {
			if v.PollID != p.ID || v.PollTitle != p.Title || v.GroupID != g.ID {
				t.Fatalf("vote on the wrong poll: %+v", v)
			}
			got[v.SlotID] = v.Vote
		}
		if len(votes) != 2 || got[slots[0].ID] != models.VoteYes || got[slots[1].ID] != models.VoteNo {
			t.Fatalf("alice's votes: %+v", votes)
		}
		if none, err := f.s.UserSessionAnswers(f.ctx, org.ID); err != nil || len(none) != 0 {
			t.Fatalf("organiser answered nothing: %+v %v", none, err)
		}
		if none, err := f.s.UserAllPollVotes(f.ctx, org.ID); err != nil || len(none) != 0 {
			t.Fatalf("organiser voted nothing: %+v %v", none, err)
		}
	})
}

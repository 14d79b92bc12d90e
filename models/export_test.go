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

// The export's other reads: every membership whatever the group's status,
// every join request with its decision, and the audit entries a user made
// apart from those made about their account.
func TestUserMembershipsRequestsAndAudit(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		org := f.user("orga@agora.test", models.RoleOrganiser)
		alice := f.user("alice@agora.test", models.RoleAgent)
		archived := f.group(org, models.GroupInput{Title: "Archivé"})
		f.join(alice, archived.ID)
		approval := f.group(org, models.GroupInput{Title: "Sur demande", JoinPolicy: models.JoinApproval})
		f.must(func(tx *models.Tx) error {
			if err := tx.SetGroupStatus(f.ctx, org, archived.ID, models.GroupArchived); err != nil {
				return err
			}
			if err := tx.RequestToJoin(f.ctx, alice, approval.ID, "Bonjour"); err != nil {
				return err
			}
			if err := tx.DecideRequest(f.ctx, org, approval.ID, alice.ID, false); err != nil {
				return err
			}
			if err := tx.Audit(f.ctx, models.Actor{UserID: alice.ID, Email: alice.Email}, "group.join", "group", archived.ID, ""); err != nil {
				return err
			}
			if err := tx.Audit(f.ctx, models.Actor{UserID: org.ID, Email: org.Email}, "user.role", "user", alice.ID, "agent → organiser"); err != nil {
				return err
			}
			return tx.Audit(f.ctx, models.Actor{UserID: org.ID, Email: org.Email}, "group.create", "group", approval.ID, "")
		})
		ms, err := f.s.UserMemberships(f.ctx, alice.ID)
		if err != nil || len(ms) != 1 || ms[0].GroupID != archived.ID || ms[0].GroupStatus != models.GroupArchived ||
			ms[0].Role != models.RoleGroupMember || !ms[0].Invitations || ms[0].JoinedAt.IsZero() {
			t.Fatalf("memberships: %+v %v", ms, err)
		}
		rs, err := f.s.UserJoinRequests(f.ctx, alice.ID)
		if err != nil || len(rs) != 1 || rs[0].GroupTitle != "Sur demande" || rs[0].Status != "declined" || rs[0].Message != "Bonjour" ||
			rs[0].DecidedAt.IsZero() {
			t.Fatalf("join requests: %+v %v", rs, err)
		}
		made, about, err := f.s.UserAuditEntries(f.ctx, alice.ID)
		if err != nil || len(made) != 1 || made[0].Action != "group.join" || len(about) != 1 || about[0].Action != "user.role" {
			t.Fatalf("audit: made %+v, about %+v, %v", made, about, err)
		}
	})
}

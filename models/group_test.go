package models_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/dnum-sociaux/agora/internal/testutil"
	"github.com/dnum-sociaux/agora/models"
)

// fixture is a store with a clock and helpers to make users, groups and sessions.
type fixture struct {
	t     *testing.T
	s     *models.Store
	clock *testutil.Clock
	ctx   context.Context
}

func newFixture(t *testing.T, s *models.Store, clock *testutil.Clock) *fixture {
	return &fixture{t: t, s: s, clock: clock, ctx: context.Background()}
}

func eachStore(t *testing.T, fn func(t *testing.T, f *fixture)) {
	t.Helper()
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			clock := testutil.NewClock()
			var s *models.Store
			if name == "sqlite" {
				s = testutil.SQLite(t, clock.Now)
			} else {
				s = testutil.Postgres(t, clock.Now)
			}
			fn(t, newFixture(t, s, clock))
		})
	}
}

func (f *fixture) tx(fn func(tx *models.Tx) error) error { return f.s.Tx(f.ctx, fn) }

func (f *fixture) must(fn func(tx *models.Tx) error) {
	f.t.Helper()
	if err := f.tx(fn); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) user(email string, role models.Role) models.User {
	f.t.Helper()
	var u models.User
	f.must(func(tx *models.Tx) error {
		var err error
		u, err = tx.CreateUser(f.ctx, models.NewUser{Email: email, Name: "Nom " + email, DirectionCode: "DNUM", Role: role})
		return err
	})
	return u
}

func (f *fixture) group(by models.User, in models.GroupInput) models.Group {
	f.t.Helper()
	if in.Title == "" {
		in.Title = "Groupe"
	}
	if in.Theme == "" {
		in.Theme = models.ThemeRoleMetier
	}
	if in.JoinPolicy == "" {
		in.JoinPolicy = models.JoinOpen
	}
	var g models.Group
	f.must(func(tx *models.Tx) error {
		var err error
		g, err = tx.CreateGroup(f.ctx, by, in)
		return err
	})
	return g
}

func (f *fixture) join(u models.User, groupID string) {
	f.t.Helper()
	f.must(func(tx *models.Tx) error { return tx.Join(f.ctx, u, groupID) })
}

// paris makes a Paris wall-clock time.
func paris(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, models.Paris)
}

func (f *fixture) session(by models.User, groupID string, capacity int) models.Session {
	f.t.Helper()
	var s models.Session
	f.must(func(tx *models.Tx) error {
		var err error
		s, err = tx.CreateSession(f.ctx, by, models.NewSession{GroupID: groupID, UIDHost: "agora.test", SessionInput: models.SessionInput{
			Title: "Séance", StartsAt: paris(2026, 12, 10, 14, 0), EndsAt: paris(2026, 12, 10, 16, 0), Room: "Salle 1", Capacity: capacity,
		}})
		return err
	})
	return s
}

func (f *fixture) answer(u models.User, sessionID string, a models.Answer) models.AnswerResult {
	f.t.Helper()
	var res models.AnswerResult
	f.must(func(tx *models.Tx) error {
		var err error
		res, err = tx.Answer(f.ctx, u, sessionID, a)
		return err
	})
	return res
}

func TestGroupCreationRule(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		org := f.user("org@example.org", models.RoleOrganiser)
		agent := f.user("agent@example.org", models.RoleAgent)
		admin := f.user("admin@example.org", models.RoleAdmin)

		if g := f.group(org, models.GroupInput{Title: "Direct"}); g.Status != models.GroupActive {
			t.Fatalf("organiser's group status = %s, want active", g.Status)
		}
		p := f.group(agent, models.GroupInput{Title: "Proposition"})
		if p.Status != models.GroupProposed {
			t.Fatalf("agent's group status = %s, want proposed", p.Status)
		}
		// The proposer organises it, but cannot approve it; an admin can.
		if m, err := f.s.Membership(f.ctx, p.ID, agent.ID); err != nil || !m.IsOrganiser() {
			t.Fatalf("proposer membership = %+v, %v", m, err)
		}
		if err := f.tx(func(tx *models.Tx) error { return tx.SetGroupStatus(f.ctx, agent, p.ID, models.GroupActive) }); !errors.Is(err, models.ErrForbidden) {
			t.Fatalf("proposer approving own group: %v, want ErrForbidden", err)
		}
		f.must(func(tx *models.Tx) error { return tx.SetGroupStatus(f.ctx, admin, p.ID, models.GroupActive) })
		if g, _ := f.s.GroupByID(f.ctx, p.ID); g.Status != models.GroupActive {
			t.Fatalf("approved status = %s", g.Status)
		}
		// Proposals are seen by admins and their author only.
		f.group(agent, models.GroupInput{Title: "Autre proposition"})
		for _, tc := range []struct {
			viewer models.User
			admin  bool
			want   int
		}{{agent, false, 1}, {org, false, 0}, {admin, true, 1}} {
			_, n, err := f.s.ListGroups(f.ctx, models.GroupFilter{Status: models.GroupProposed, ViewerID: tc.viewer.ID, Admin: tc.admin})
			if err != nil || n != tc.want {
				t.Errorf("%s sees %d proposals (err %v), want %d", tc.viewer.Email, n, err, tc.want)
			}
		}
	})
}

func TestMembershipRules(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		org := f.user("org@example.org", models.RoleOrganiser)
		a := f.user("a@example.org", models.RoleAgent)
		b := f.user("b@example.org", models.RoleAgent)
		c := f.user("c@example.org", models.RoleAgent)

		open := f.group(org, models.GroupInput{Title: "Ouvert", MemberLimit: 2})
		f.join(a, open.ID)
		if err := f.tx(func(tx *models.Tx) error { return tx.Join(f.ctx, a, open.ID) }); !errors.Is(err, models.ErrAlreadyMember) {
			t.Fatalf("joining twice: %v", err)
		}
		if err := f.tx(func(tx *models.Tx) error { return tx.Join(f.ctx, b, open.ID) }); !errors.Is(err, models.ErrGroupFull) {
			t.Fatalf("joining a full group: %v, want ErrGroupFull", err)
		}
		if n, _ := f.s.CountMembers(f.ctx, open.ID); n != 2 {
			t.Fatalf("members = %d, want 2", n)
		}
		// The limit cannot go below the members.
		err := f.tx(func(tx *models.Tx) error {
			_, err := tx.UpdateGroup(f.ctx, org, open.ID, models.GroupInput{Title: "Ouvert", Theme: models.ThemeOther, JoinPolicy: models.JoinOpen, MemberLimit: 1})
			return err
		})
		if !errors.Is(err, models.ErrLimitBelowMembers) {
			t.Fatalf("limit below members: %v", err)
		}

		// Approval: ask, then accept; a decline is final until asked again.
		appr := f.group(org, models.GroupInput{Title: "Sur demande", JoinPolicy: models.JoinApproval})
		if err := f.tx(func(tx *models.Tx) error { return tx.Join(f.ctx, b, appr.ID) }); !errors.Is(err, models.ErrJoinPolicy) {
			t.Fatalf("joining an approval group directly: %v", err)
		}
		f.must(func(tx *models.Tx) error { return tx.RequestToJoin(f.ctx, b, appr.ID, "Bonjour") })
		f.must(func(tx *models.Tx) error { return tx.RequestToJoin(f.ctx, c, appr.ID, "") })
		reqs, err := f.s.PendingRequests(f.ctx, org.ID, "")
		if err != nil || len(reqs) != 2 || reqs[0].User.ID != b.ID || reqs[0].Message != "Bonjour" {
			t.Fatalf("pending requests = %+v, %v", reqs, err)
		}
		if err := f.tx(func(tx *models.Tx) error { return tx.DecideRequest(f.ctx, a, appr.ID, b.ID, true) }); !errors.Is(err, models.ErrForbidden) {
			t.Fatalf("non-organiser deciding: %v", err)
		}
		f.must(func(tx *models.Tx) error { return tx.DecideRequest(f.ctx, org, appr.ID, b.ID, true) })
		f.must(func(tx *models.Tx) error { return tx.DecideRequest(f.ctx, org, appr.ID, c.ID, false) })
		if _, err := f.s.Membership(f.ctx, appr.ID, b.ID); err != nil {
			t.Fatalf("accepted member: %v", err)
		}
		if _, err := f.s.Membership(f.ctx, appr.ID, c.ID); !errors.Is(err, models.ErrNotMember) {
			t.Fatalf("declined member: %v", err)
		}
		if reqs, _ := f.s.PendingRequests(f.ctx, org.ID, ""); len(reqs) != 0 {
			t.Fatalf("requests left: %+v", reqs)
		}

		// Invitation by email, accepted after the invitee's first login.
		inv := f.group(org, models.GroupInput{Title: "Sur invitation", JoinPolicy: models.JoinInvitation})
		f.must(func(tx *models.Tx) error {
			_, err := tx.Invite(f.ctx, org, inv.ID, "New.Person@Example.org")
			return err
		})
		if err := f.tx(func(tx *models.Tx) error { return tx.AcceptInvitation(f.ctx, c, inv.ID) }); !errors.Is(err, models.ErrForbidden) {
			t.Fatalf("accepting someone else's invitation: %v", err)
		}
		np := f.user("new.person@example.org", models.RoleAgent)
		if list, _ := f.s.InvitationsFor(f.ctx, np.Email); len(list) != 1 || list[0].GroupID != inv.ID {
			t.Fatalf("invitations for the invitee = %+v", list)
		}
		f.must(func(tx *models.Tx) error { return tx.AcceptInvitation(f.ctx, np, inv.ID) })
		if _, err := f.s.Membership(f.ctx, inv.ID, np.ID); err != nil {
			t.Fatalf("invitee is not a member: %v", err)
		}

		// A group never has zero organisers.
		if _, err := removeMember(f, org, open.ID, org.ID); !errors.Is(err, models.ErrLastOrganiser) {
			t.Fatalf("last organiser leaving: %v", err)
		}
		if err := f.tx(func(tx *models.Tx) error {
			return tx.SetMemberRole(f.ctx, org, open.ID, org.ID, models.RoleGroupMember)
		}); !errors.Is(err, models.ErrLastOrganiser) {
			t.Fatalf("demoting the last organiser: %v", err)
		}
		f.must(func(tx *models.Tx) error {
			return tx.SetMemberRole(f.ctx, org, open.ID, a.ID, models.RoleGroupOrganiser)
		})
		if _, err := removeMember(f, org, open.ID, org.ID); err != nil {
			t.Fatalf("organiser leaving with a co-organiser: %v", err)
		}
		if _, err := removeMember(f, a, open.ID, a.ID); !errors.Is(err, models.ErrLastOrganiser) {
			t.Fatalf("new last organiser leaving: %v", err)
		}
		// A member cannot remove another.
		f.join(b, open.ID)
		f.must(func(tx *models.Tx) error { return tx.SetMemberRole(f.ctx, a, open.ID, b.ID, models.RoleGroupMember) })
		if _, err := removeMember(f, b, open.ID, a.ID); !errors.Is(err, models.ErrForbidden) {
			t.Fatalf("member removing an organiser: %v", err)
		}
	})
}

func removeMember(f *fixture, by models.User, groupID, userID string) ([]models.Promotion, error) {
	var p []models.Promotion
	err := f.tx(func(tx *models.Tx) error {
		var err error
		p, err = tx.RemoveMember(f.ctx, by, groupID, userID)
		return err
	})
	return p, err
}

func TestDirectorySearchAndOrder(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		org := f.user("org@example.org", models.RoleOrganiser)
		viewer := f.user("v@example.org", models.RoleAgent)
		f.group(org, models.GroupInput{Title: "Accessibilité numérique", Summary: "RGAA et bonnes pratiques", Theme: models.ThemeOther})
		mine := f.group(org, models.GroupInput{Title: "Zèbre des communs", Theme: models.ThemeHackathon})
		f.group(org, models.GroupInput{Title: "Évaluation des comités", Theme: models.ThemeComitologie, Description: "Réinventer la comitologie"})
		f.join(viewer, mine.ID)

		items, n, err := f.s.ListGroups(f.ctx, models.GroupFilter{ViewerID: viewer.ID})
		if err != nil || n != 3 || items[0].ID != mine.ID || items[0].ViewerRole != models.RoleGroupMember || items[0].Members != 2 {
			t.Fatalf("directory = %+v (n %d, err %v), want the viewer's group first", items, n, err)
		}
		if items[1].Title != "Accessibilité numérique" {
			t.Fatalf("second = %q, want by title", items[1].Title)
		}
		for _, tc := range []struct {
			q     string
			theme models.Theme
			want  []string
		}{
			{"evaluation", "", []string{"Évaluation des comités"}},
			{"ÉVALUATION comités", "", []string{"Évaluation des comités"}},
			{"comitologie", "", []string{"Évaluation des comités"}},
			{"rgaa", "", []string{"Accessibilité numérique"}},
			{"", models.ThemeHackathon, []string{"Zèbre des communs"}},
			{"des", models.ThemeComitologie, []string{"Évaluation des comités"}},
			{"100%", "", nil},
			{"_", "", nil},
		} {
			items, _, err := f.s.ListGroups(f.ctx, models.GroupFilter{Query: tc.q, Theme: tc.theme, ViewerID: viewer.ID})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, it := range items {
				got = append(got, it.Title)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("search %q/%s = %v, want %v", tc.q, tc.theme, got, tc.want)
			}
		}
	})
}

// Who sees a group and who manages it, from what the handlers read once.
func TestGroupVisibleToAndManagesGroup(t *testing.T) {
	author := models.User{ID: "author", Role: models.RoleAgent}
	other := models.User{ID: "other", Role: models.RoleOrganiser}
	admin := models.User{ID: "admin", Role: models.RoleAdmin}
	for _, c := range []struct {
		status models.GroupStatus
		who    models.User
		want   bool
	}{
		{models.GroupActive, other, true}, {models.GroupArchived, other, true},
		{models.GroupProposed, other, false}, {models.GroupRejected, other, false},
		{models.GroupProposed, author, true}, {models.GroupRejected, author, true},
		{models.GroupProposed, admin, true}, {models.GroupRejected, admin, true},
	} {
		g := models.Group{Status: c.status, CreatedBy: author.ID}
		if got := g.VisibleTo(c.who); got != c.want {
			t.Errorf("%s group seen by %s: %v, want %v", c.status, c.who.ID, got, c.want)
		}
	}
	organiser := &models.Member{Role: models.RoleGroupOrganiser}
	member := &models.Member{Role: models.RoleGroupMember}
	for _, c := range []struct {
		who  models.User
		m    *models.Member
		want bool
	}{
		{other, nil, false}, {other, member, false}, {author, organiser, true}, {admin, nil, true}, {admin, member, true},
	} {
		if got := models.ManagesGroup(c.who, c.m); got != c.want {
			t.Errorf("ManagesGroup(%s, %+v) = %v, want %v", c.who.ID, c.m, got, c.want)
		}
	}
}

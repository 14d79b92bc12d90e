package models_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dnum-sociaux/agora/models"
)

// erasureWorld is an agent, Alice, with something of everything: a group
// (a place in a full session Bob waits for, a vote in an open poll), an
// archived group she alone organised, an invitation, a registration to an
// event to come (with an answer; Bob waiting for her seat) and to an event
// over, an API key, a web session, a login link, emails and audit entries.
type erasureWorld struct {
	org, alice, bob           models.User
	group, archived           models.Group
	session                   models.Session
	poll                      models.Poll
	event, past               models.Event
	aliceReg, bobReg, pastReg models.Registration
}

func newErasureWorld(t *testing.T, f *fixture, rec models.Notifier) *erasureWorld {
	t.Helper()
	w := &erasureWorld{}
	w.org = f.user("org@agora.test", models.RoleOrganiser)
	w.alice = f.user("alice@agora.test", models.RoleOrganiser)
	w.bob = f.user("bob@agora.test", models.RoleAgent)
	w.group = f.group(w.org, models.GroupInput{Title: "Communs"})
	f.join(w.alice, w.group.ID)
	f.join(w.bob, w.group.ID)
	w.session = f.session(w.org, w.group.ID, 1)
	f.answer(w.alice, w.session.ID, models.AnswerYes)
	if res := f.answer(w.bob, w.session.ID, models.AnswerYes); !res.RSVP.Waiting {
		t.Fatal("Bob should wait")
	}
	var slots []models.PollSlot
	w.poll, slots = f.poll(w.org, w.group.ID, nil)
	if _, err := f.vote(w.alice, w.poll.ID, map[string]models.Vote{slots[0].ID: models.VoteYes}); err != nil {
		t.Fatal(err)
	}
	w.archived = f.group(w.alice, models.GroupInput{Title: "Ancien groupe"})
	invitational := f.group(w.org, models.GroupInput{Title: "Sur invitation", JoinPolicy: models.JoinInvitation})
	f.must(func(tx *models.Tx) error {
		if err := tx.SetGroupStatus(f.ctx, w.alice, w.archived.ID, models.GroupArchived); err != nil {
			return err
		}
		if _, err := tx.Invite(f.ctx, w.org, invitational.ID, w.alice.Email); err != nil {
			return err
		}
		a := models.Actor{UserID: w.org.ID, Email: w.org.Email}
		start := f.clock.Now().Add(20 * 24 * time.Hour)
		var err error
		if w.event, err = tx.CreateEvent(f.ctx, a, "agora.test", models.EventInput{Title: "Journée produit", StartsAt: start,
			EndsAt: start.Add(8 * time.Hour), Capacity: 1, Modes: models.ModesOnsite, VenueName: "Ministère"}); err != nil {
			return err
		}
		q, err := tx.AddQuestion(f.ctx, a, w.event.ID, models.QuestionInput{Label: "Régime alimentaire", Kind: models.QuestionShort})
		if err != nil {
			return err
		}
		if w.event, err = tx.SetEventStatus(f.ctx, models.NoNotify, a, w.event.ID, models.EventPublished); err != nil {
			return err
		}
		soon := f.clock.Now().Add(24 * time.Hour)
		if w.past, err = tx.CreateEvent(f.ctx, a, "agora.test", models.EventInput{Title: "Petit-déjeuner", StartsAt: soon,
			EndsAt: soon.Add(2 * time.Hour), Capacity: 10, Modes: models.ModesOnsite, VenueName: "Ministère"}); err != nil {
			return err
		}
		if w.past, err = tx.SetEventStatus(f.ctx, models.NoNotify, a, w.past.ID, models.EventPublished); err != nil {
			return err
		}
		for _, r := range []struct {
			u     models.User
			event string
			into  *models.Registration
		}{{w.alice, w.event.ID, &w.aliceReg}, {w.bob, w.event.ID, &w.bobReg}, {w.alice, w.past.ID, &w.pastReg}} {
			reg, err := tx.Register(f.ctx, rec, models.NewRegistration{EventID: r.event, Email: r.u.Email, Name: r.u.Name,
				DirectionCode: "DNUM", Mode: models.ModeOnsite, UserID: r.u.ID, Answers: map[string]string{q.ID: "sans gluten"},
				Actor: models.Actor{UserID: r.u.ID, Email: r.u.Email}})
			if err != nil {
				return err
			}
			*r.into = reg
			if _, err := tx.NewRegistrationLink(f.ctx, reg.ID); err != nil {
				return err
			}
		}
		if _, _, err := tx.CreateAPIKey(f.ctx, w.alice.ID, "Grist"); err != nil {
			return err
		}
		if _, err := tx.CreateWebSession(f.ctx, w.alice.ID, time.Hour); err != nil {
			return err
		}
		if _, err := tx.CreateLoginToken(f.ctx, w.alice.Email, "/", time.Hour); err != nil {
			return err
		}
		for _, k := range []string{"pending", "sending"} {
			if _, err := tx.Enqueue(f.ctx, models.OutboxMessage{DedupeKey: "alice-" + k, Kind: "test", Recipient: w.alice.Email,
				Subject: "Pour Alice", TextBody: "Bonjour Alice"}); err != nil {
				return err
			}
		}
		return tx.Audit(f.ctx, models.Actor{UserID: w.org.ID, Email: w.org.Email}, "group.invite", "group", invitational.ID, w.alice.Email)
	})
	if w.bobReg.State != models.RegWaitlisted || w.aliceReg.State != models.RegConfirmed {
		t.Fatalf("Alice %s, Bob %s", w.aliceReg.State, w.bobReg.State)
	}
	_, write := f.s.SQL()
	if _, err := write.Exec("UPDATE outbox SET state = 'sending' WHERE dedupe_key = 'alice-sending'"); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(2 * 24 * time.Hour) // the breakfast is over
	return w
}

// Erasing an account frees what the person held (seats and places go to
// the waiting lists, their calendar gets the cancellations), removes what
// names them, keeps their past registrations without name nor address, and
// leaves an audit entry without personal data.
func TestEraseUser(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		rec := &noticeRecorder{}
		w := newErasureWorld(t, f, rec)
		rec.reset()
		var er models.Erasure
		f.must(func(tx *models.Tx) error {
			var err error
			er, err = tx.EraseUser(f.ctx, rec, models.Actor{UserID: w.alice.ID, Email: w.alice.Email, RequestID: "req-1"}, w.alice.ID)
			return err
		})

		if _, err := f.s.UserByID(f.ctx, w.alice.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("the account is still there: %v", err)
		}
		if er.User.Email != w.alice.Email || er.Cancelled != 1 || er.Anonymised != 2 || er.MailDropped != 1 {
			t.Errorf("erasure = %+v", er)
		}
		var left []string
		for _, l := range er.Left {
			left = append(left, l.Title)
			if l.GroupID == w.group.ID && (len(l.Upcoming) != 1 || l.Upcoming[0].ID != w.session.ID) {
				t.Errorf("upcoming sessions to cancel in Alice's calendar: %+v", l.Upcoming)
			}
		}
		slices.Sort(left)
		if strings.Join(left, ", ") != "Ancien groupe, Communs" {
			t.Errorf("groups left: %v", left)
		}
		// Bob gets Alice's place in the session and her seat at the event.
		if len(er.Promotions) != 1 || er.Promotions[0].UserID != w.bob.ID {
			t.Errorf("promotions = %+v", er.Promotions)
		}
		if r, err := f.s.RSVPByUser(f.ctx, w.session.ID, w.bob.ID); err != nil || r.Waiting {
			t.Errorf("Bob's answer: %+v %v", r, err)
		}
		if got := strings.Join(rec.kinds(), " "); got != "cancelled:alice@agora.test promoted:bob@agora.test" {
			t.Errorf("notices = %s", got)
		}
		if r, err := f.s.RegistrationByID(f.ctx, w.bobReg.ID); err != nil || r.State != models.RegConfirmed {
			t.Errorf("Bob's registration: %s %v", r.State, err)
		}
		// Her registrations stay, cancelled or attended, naming nobody.
		for _, id := range []string{w.aliceReg.ID, w.pastReg.ID} {
			r, err := f.s.RegistrationByID(f.ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if r.Name != models.ErasedName || !strings.HasSuffix(r.Email, "@agora.invalid") || r.UserID != "" {
				t.Errorf("registration %s: %q %q %q", id, r.Name, r.Email, r.UserID)
			}
			if answers, err := f.s.RegistrationAnswers(f.ctx, id); err != nil || len(answers) != 0 {
				t.Errorf("answers of %s kept: %v %v", id, answers, err)
			}
		}
		if r, _ := f.s.RegistrationByID(f.ctx, w.aliceReg.ID); r.State != models.RegCancelled {
			t.Errorf("registration to the event to come: %s", r.State)
		}
		if r, _ := f.s.RegistrationByID(f.ctx, w.pastReg.ID); r.State != models.RegConfirmed {
			t.Errorf("registration to the event over: %s", r.State)
		}
		for q, want := range map[string]int{
			"SELECT COUNT(*) FROM group_members WHERE user_id = ?":    0,
			"SELECT COUNT(*) FROM rsvps WHERE user_id = ?":            0,
			"SELECT COUNT(*) FROM poll_votes WHERE user_id = ?":       0,
			"SELECT COUNT(*) FROM api_keys WHERE user_id = ?":         0,
			"SELECT COUNT(*) FROM web_sessions WHERE user_id = ?":     0,
			"SELECT COUNT(*) FROM event_organisers WHERE user_id = ?": 0,
			"SELECT COUNT(*) FROM registrations WHERE user_id = ?":    0,
		} {
			if n := countRows(t, f, q, w.alice.ID); n != want {
				t.Errorf("%s: %d, want %d", q, n, want)
			}
		}
		for q, want := range map[string]int{
			"SELECT COUNT(*) FROM registration_links": 1, // Bob's
			"SELECT COUNT(*) FROM work_groups":        3, // the archived group stays, with no organiser
		} {
			if n := countRows(t, f, q); n != want {
				t.Errorf("%s: %d, want %d", q, n, want)
			}
		}
		for _, q := range []string{"SELECT COUNT(*) FROM login_tokens WHERE email = ?", "SELECT COUNT(*) FROM group_invitations WHERE email = ?",
			"SELECT COUNT(*) FROM audit_log WHERE actor_email = ?", "SELECT COUNT(*) FROM audit_log WHERE detail LIKE '%' || ? || '%'"} {
			if n := countRows(t, f, q, w.alice.Email); n != 0 {
				t.Errorf("%s: %d", q, n)
			}
		}
		// Of the emails to her, the one being sent stays, and the
		// cancellation just queued goes out.
		msgs, _, err := f.s.ListOutbox(f.ctx, models.OutboxFilter{Recipient: w.alice.Email})
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, m := range msgs {
			keys = append(keys, m.DedupeKey)
		}
		if !slices.Contains(keys, "alice-sending") || slices.Contains(keys, "alice-pending") {
			t.Errorf("emails to Alice: %v", keys)
		}
		// What she did stays traceable by id; the erasure says what, not who.
		entries, _, err := f.s.ListAudit(f.ctx, models.AuditFilter{ActorID: w.alice.ID, Limit: 100})
		if err != nil || len(entries) == 0 {
			t.Fatalf("audit by Alice: %d %v", len(entries), err)
		}
		e := entries[0]
		if e.Action != "user.erase" || e.TargetID != w.alice.ID || e.ActorEmail != "" || e.RequestID != "req-1" ||
			e.Detail != "2 groupe(s) quitté(s), 1 inscription(s) annulée(s), 2 anonymisée(s), 1 courriel(s) supprimé(s)" {
			t.Errorf("erasure entry: %+v", e)
		}
		// The group she was in still reads well.
		if _, err := f.s.GroupByID(f.ctx, w.archived.ID); err != nil {
			t.Error(err)
		}
	})
}

// An account is not erased while its owner alone organises a group or an
// event that goes on, or is the last administrator; a co-organiser, a
// second administrator, an archived group or an event over lift the block.
func TestEraseUserBlocked(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		admin := f.user("admin@agora.test", models.RoleAdmin)
		alice := f.user("alice@agora.test", models.RoleOrganiser)
		bob := f.user("bob@agora.test", models.RoleOrganiser)
		g := f.group(alice, models.GroupInput{Title: "Rôle métier"})
		var ev models.Event
		f.must(func(tx *models.Tx) error {
			start := f.clock.Now().Add(24 * time.Hour)
			var err error
			ev, err = tx.CreateEvent(f.ctx, models.Actor{UserID: alice.ID, Email: alice.Email}, "agora.test",
				models.EventInput{Title: "Hackathon", StartsAt: start, EndsAt: start.Add(time.Hour), Capacity: 5, Modes: models.ModesOnsite})
			return err
		})
		erase := func(u models.User) error {
			return f.tx(func(tx *models.Tx) error {
				_, err := tx.EraseUser(f.ctx, models.NoNotify, models.Actor{UserID: admin.ID, Email: admin.Email}, u.ID)
				return err
			})
		}
		var b *models.ErasureBlocked
		if err := erase(alice); !errors.As(err, &b) || fmt_(b.Groups) != "Rôle métier" || fmt_(b.Events) != "Hackathon" || b.LastAdmin {
			t.Fatalf("erasing the only organiser: %v %+v", err, b)
		}
		if read, err := f.s.ErasureBlockers(f.ctx, alice); err != nil || read == nil || fmt_(read.Groups) != "Rôle métier" {
			t.Errorf("blockers read for the page: %+v %v", read, err)
		}
		if _, err := f.s.UserByID(f.ctx, alice.ID); err != nil {
			t.Fatalf("refused, yet: %v", err)
		}
		if err := erase(admin); !errors.As(err, &b) || !b.LastAdmin || len(b.Groups)+len(b.Events) != 0 {
			t.Fatalf("erasing the last admin: %v %+v", err, b)
		}
		// Bob co-organises the group; the event is over.
		f.join(bob, g.ID)
		f.must(func(tx *models.Tx) error {
			return tx.SetMemberRole(f.ctx, alice, g.ID, bob.ID, models.RoleGroupOrganiser)
		})
		f.clock.Advance(3 * 24 * time.Hour)
		if b, err := f.s.ErasureBlockers(f.ctx, alice); err != nil || b != nil {
			t.Fatalf("still blocked: %+v %v", b, err)
		}
		if err := erase(alice); err != nil {
			t.Fatal(err)
		}
		if orgs, err := f.s.EventOrganisers(f.ctx, ev.ID); err != nil || len(orgs) != 0 {
			t.Errorf("organisers of the event over: %v %v", orgs, err)
		}
		// A second admin lets the first go.
		f.must(func(tx *models.Tx) error { return tx.SetRole(f.ctx, bob.ID, models.RoleAdmin) })
		if err := erase(admin); err != nil {
			t.Fatal(err)
		}
		if n, _ := f.s.CountAdmins(f.ctx); n != 1 {
			t.Errorf("%d admins left", n)
		}
	})
}

func fmt_(s []string) string { return strings.Join(s, ", ") }

// The two organisers of a group erasing their accounts at the same time:
// one goes, the other is told the group would have no organiser left.
func TestEraseUserConcurrentLastOrganisers(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		alice := f.user("alice@agora.test", models.RoleOrganiser)
		bob := f.user("bob@agora.test", models.RoleOrganiser)
		g := f.group(alice, models.GroupInput{Title: "Binôme"})
		f.join(bob, g.ID)
		f.must(func(tx *models.Tx) error {
			return tx.SetMemberRole(f.ctx, alice, g.ID, bob.ID, models.RoleGroupOrganiser)
		})
		errs := make(chan error, 2)
		for _, u := range []models.User{alice, bob} {
			go func() {
				errs <- f.tx(func(tx *models.Tx) error {
					_, err := tx.EraseUser(f.ctx, models.NoNotify, models.Actor{UserID: u.ID}, u.ID)
					return err
				})
			}()
		}
		var blocked, ok int
		for range 2 {
			var b *models.ErasureBlocked
			switch err := <-errs; {
			case err == nil:
				ok++
			case errors.As(err, &b) && fmt_(b.Groups) == "Binôme":
				blocked++
			default:
				t.Fatal(err)
			}
		}
		if ok != 1 || blocked != 1 {
			t.Fatalf("%d erased, %d refused; want one of each", ok, blocked)
		}
		if orgs, err := f.s.Organisers(f.ctx, g.ID); err != nil || len(orgs) != 1 {
			t.Fatalf("organisers left: %v %v", orgs, err)
		}
	})
}

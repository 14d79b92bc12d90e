package models_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dnum-sociaux/agora/internal/testutil"
	"github.com/dnum-sociaux/agora/models"
)

// onEachStore runs fn on SQLite and PostgreSQL, each with its own clock.
func onEachStore(t *testing.T, fn func(t *testing.T, s *models.Store, clock *testutil.Clock)) {
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
			fn(t, s, clock)
		})
	}
}

func foundUser(t *testing.T, s *models.Store, email string, role models.Role) models.User {
	t.Helper()
	var u models.User
	testutil.MustTx(t, s, func(tx *models.Tx) error {
		var err error
		u, err = tx.CreateUser(context.Background(), models.NewUser{Email: email, Name: "Nom " + email, DirectionCode: "DNUM", Role: role})
		return err
	})
	return u
}

func TestUsers(t *testing.T) {
	onEachStore(t, func(t *testing.T, s *models.Store, clock *testutil.Clock) {
		ctx := context.Background()
		u := foundUser(t, s, "  Marie.Curie@Example.ORG ", models.RoleAgent)
		if u.Email != "marie.curie@example.org" || u.Role != models.RoleAgent || !u.NotifyEmail || !u.CreatedAt.Equal(clock.Now()) {
			t.Fatalf("created: %+v", u)
		}
		// Unique whatever the case.
		err := s.Tx(ctx, func(tx *models.Tx) error {
			_, err := tx.CreateUser(ctx, models.NewUser{Email: "MARIE.CURIE@example.org"})
			return err
		})
		if !errors.Is(err, models.ErrConflict) {
			t.Fatalf("duplicate email in another case: %v, want ErrConflict", err)
		}
		got, err := s.UserByEmail(ctx, "marie.CURIE@EXAMPLE.org")
		if err != nil || got.ID != u.ID || got.DirectionCode != "DNUM" || !got.LastLoginAt.IsZero() {
			t.Fatalf("by email: %+v %v", got, err)
		}
		if _, err := s.UserByEmail(ctx, "personne@example.org"); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("unknown email: %v", err)
		}
		if _, err := s.UserByID(ctx, "nope"); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("unknown id: %v", err)
		}
		// Unknown role and unknown direction are refused.
		if err := s.Tx(ctx, func(tx *models.Tx) error {
			_, err := tx.CreateUser(ctx, models.NewUser{Email: "x@example.org", Role: "chef"})
			return err
		}); err == nil {
			t.Fatal("unknown role accepted")
		}
		if err := s.Tx(ctx, func(tx *models.Tx) error {
			_, err := tx.CreateUser(ctx, models.NewUser{Email: "x@example.org", DirectionCode: "ZZZ"})
			return err
		}); err == nil {
			t.Fatal("unknown direction accepted (foreign key)")
		}
		// Profile, login time, listing.
		testutil.MustTx(t, s, func(tx *models.Tx) error {
			if err := tx.UpdateProfile(ctx, u.ID, models.ProfileUpdate{Name: " Marie Curie ", DirectionCode: "DGS", NotifyEmail: false}); err != nil {
				return err
			}
			return tx.TouchLogin(ctx, u.ID)
		})
		got, _ = s.UserByID(ctx, u.ID)
		if got.Name != "Marie Curie" || got.DirectionCode != "DGS" || got.NotifyEmail || !got.LastLoginAt.Equal(clock.Now()) {
			t.Fatalf("after profile: %+v", got)
		}
		foundUser(t, s, "pierre@example.org", models.RoleOrganiser)
		foundUser(t, s, "admin@example.org", models.RoleAdmin)
		list, total, err := s.ListUsers(ctx, models.UserFilter{Query: "CURIE"})
		if err != nil || total != 1 || list[0].ID != u.ID {
			t.Fatalf("search: %d %v", total, err)
		}
		_, total, _ = s.ListUsers(ctx, models.UserFilter{Role: models.RoleOrganiser})
		if total != 1 {
			t.Fatalf("organisers: %d", total)
		}
		page, total, _ := s.ListUsers(ctx, models.UserFilter{Limit: 2, Offset: 2})
		if total != 3 || len(page) != 1 {
			t.Fatalf("page 2: %d of %d", len(page), total)
		}
	})
}

func TestLastAdminKeepsTheRole(t *testing.T) {
	onEachStore(t, func(t *testing.T, s *models.Store, _ *testutil.Clock) {
		ctx := context.Background()
		a := foundUser(t, s, "a@example.org", models.RoleAdmin)
		setRole := func(id string, r models.Role) error {
			return s.Tx(ctx, func(tx *models.Tx) error { return tx.SetRole(ctx, id, r) })
		}
		if err := setRole(a.ID, models.RoleAgent); !errors.Is(err, models.ErrLastAdmin) {
			t.Fatalf("demoting the last admin: %v", err)
		}
		b := foundUser(t, s, "b@example.org", models.RoleAgent)
		if err := setRole(b.ID, models.RoleAdmin); err != nil {
			t.Fatal(err)
		}
		if err := setRole(a.ID, models.RoleOrganiser); err != nil {
			t.Fatalf("demoting one of two admins: %v", err)
		}
		if err := setRole(b.ID, models.RoleAgent); !errors.Is(err, models.ErrLastAdmin) {
			t.Fatalf("demoting the new last admin: %v", err)
		}
		if err := setRole(b.ID, "chef"); err == nil {
			t.Fatal("unknown role accepted")
		}
		if n, _ := s.CountAdmins(ctx); n != 1 {
			t.Fatalf("%d admins", n)
		}
	})
}

// Two admins demoting each other at the same time cannot leave no admin.
func TestLastAdminUnderConcurrency(t *testing.T) {
	onEachStore(t, func(t *testing.T, s *models.Store, _ *testutil.Clock) {
		ctx := context.Background()
		a := foundUser(t, s, "a@example.org", models.RoleAdmin)
		b := foundUser(t, s, "b@example.org", models.RoleAdmin)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, id := range []string{a.ID, b.ID} {
			wg.Go(func() {
				errs[i] = s.Tx(ctx, func(tx *models.Tx) error { return tx.SetRole(ctx, id, models.RoleAgent) })
			})
		}
		wg.Wait()
		if n, _ := s.CountAdmins(ctx); n != 1 {
			t.Fatalf("%d admins left (errors %v)", n, errs)
		}
	})
}

func TestDirections(t *testing.T) {
	onEachStore(t, func(t *testing.T, s *models.Store, _ *testutil.Clock) {
		ctx := context.Background()
		dirs, err := s.ListDirections(ctx, false)
		if err != nil || len(dirs) != len(models.DefaultDirections) {
			t.Fatalf("seeded %d directions (%v), want %d", len(dirs), err, len(models.DefaultDirections))
		}
		for _, code := range []string{"DNUM", "DGCS", "DGOS", "DGS", "DSS", "DGT", "DGEFP", "DREES", "DARES", "DAJ", "DFAS", "DRH", "DICOM", "IGAS"} {
			if d, err := s.DirectionByCode(ctx, code); err != nil || !d.Active || d.Name == "" {
				t.Errorf("direction %s: %+v %v", code, d, err)
			}
		}
		// Seeding again adds nothing, even after an admin's edits.
		testutil.MustTx(t, s, func(tx *models.Tx) error {
			return tx.SaveDirection(ctx, models.Direction{Code: " dgcs ", Name: "Cohésion sociale", Active: false})
		})
		testutil.MustTx(t, s, func(tx *models.Tx) error {
			n, err := tx.SeedDirections(ctx)
			if n != 0 {
				return fmt.Errorf("seeded %d again", n)
			}
			return err
		})
		d, _ := s.DirectionByCode(ctx, "dgcs")
		if d.Name != "Cohésion sociale" || d.Active {
			t.Fatalf("edited direction: %+v", d)
		}
		active, _ := s.ListDirections(ctx, false)
		all, _ := s.ListDirections(ctx, true)
		if len(active) != len(all)-1 || slices.ContainsFunc(active, func(d models.Direction) bool { return d.Code == "DGCS" }) {
			t.Fatalf("active %d of %d", len(active), len(all))
		}
		if _, err := s.DirectionByCode(ctx, "ZZZ"); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("unknown: %v", err)
		}
	})
}

func TestLoginTokens(t *testing.T) {
	onEachStore(t, func(t *testing.T, s *models.Store, clock *testutil.Clock) {
		ctx := context.Background()
		var plain string
		testutil.MustTx(t, s, func(tx *models.Tx) error {
			var err error
			plain, err = tx.CreateLoginToken(ctx, "A@Example.org", "/groups", 15*time.Minute)
			return err
		})
		// Stored hashed only.
		read, _ := s.SQL()
		var n int
		if err := read.QueryRow("SELECT COUNT(*) FROM login_tokens WHERE token_hash = '" + plain + "'").Scan(&n); err != nil || n != 0 {
			t.Fatalf("secret stored in clear (%d, %v)", n, err)
		}
		// Checking does not use it (link scanners).
		for range 3 {
			tok, err := s.CheckLoginToken(ctx, plain)
			if err != nil || tok.Email != "a@example.org" || tok.NextPath != "/groups" {
				t.Fatalf("check: %+v %v", tok, err)
			}
		}
		if n, _ := s.CountLoginTokensSince(ctx, "a@EXAMPLE.org", clock.Now().Add(-time.Minute)); n != 1 {
			t.Fatalf("count: %d", n)
		}
		consume := func() error {
			return s.Tx(ctx, func(tx *models.Tx) error { _, err := tx.ConsumeLoginToken(ctx, plain); return err })
		}
		if err := consume(); err != nil {
			t.Fatal(err)
		}
		if err := consume(); !errors.Is(err, models.ErrTokenUsed) {
			t.Fatalf("second use: %v", err)
		}
		if _, err := s.CheckLoginToken(ctx, plain); !errors.Is(err, models.ErrTokenUsed) {
			t.Fatalf("check after use: %v", err)
		}
		if _, err := s.CheckLoginToken(ctx, "inconnu"); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("unknown: %v", err)
		}
		// Expiry at exactly 15 minutes.
		var late string
		testutil.MustTx(t, s, func(tx *models.Tx) error {
			var err error
			late, err = tx.CreateLoginToken(ctx, "b@example.org", "/", 15*time.Minute)
			return err
		})
		clock.Advance(15*time.Minute - time.Second)
		if _, err := s.CheckLoginToken(ctx, late); err != nil {
			t.Fatalf("before expiry: %v", err)
		}
		clock.Advance(time.Second)
		err := s.Tx(ctx, func(tx *models.Tx) error { _, err := tx.ConsumeLoginToken(ctx, late); return err })
		if !errors.Is(err, models.ErrTokenExpired) {
			t.Fatalf("expired: %v", err)
		}
		// Purge keeps a day of history, then removes old links.
		clock.Advance(25 * time.Hour)
		testutil.MustTx(t, s, func(tx *models.Tx) error { return tx.PurgeExpired(ctx) })
		if _, err := s.CheckLoginToken(ctx, late); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("after purge: %v", err)
		}
	})
}

// Two browsers posting the same link at once: exactly one logs in.
func TestLoginTokenSingleUseUnderConcurrency(t *testing.T) {
	onEachStore(t, func(t *testing.T, s *models.Store, _ *testutil.Clock) {
		ctx := context.Background()
		for round := range 10 {
			var plain string
			testutil.MustTx(t, s, func(tx *models.Tx) error {
				var err error
				plain, err = tx.CreateLoginToken(ctx, fmt.Sprintf("r%d@example.org", round), "/", time.Hour)
				return err
			})
			const racers = 4
			errs := make([]error, racers)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range racers {
				wg.Go(func() {
					<-start
					errs[i] = s.Tx(ctx, func(tx *models.Tx) error { _, err := tx.ConsumeLoginToken(ctx, plain); return err })
				})
			}
			close(start)
			wg.Wait()
			won := 0
			for _, err := range errs {
				switch {
				case err == nil:
					won++
				case !errors.Is(err, models.ErrTokenUsed):
					t.Fatalf("round %d: unexpected error %v", round, err)
				}
			}
			if won != 1 {
				t.Fatalf("round %d: %d winners, want exactly 1", round, won)
			}
		}
	})
}

func TestWebSessions(t *testing.T) {
	onEachStore(t, func(t *testing.T, s *models.Store, clock *testutil.Clock) {
		ctx := context.Background()
		u := foundUser(t, s, "a@example.org", models.RoleAgent)
		open := func() string {
			var plain string
			testutil.MustTx(t, s, func(tx *models.Tx) error {
				var err error
				plain, err = tx.CreateWebSession(ctx, u.ID, 3*time.Hour)
				return err
			})
			return plain
		}
		a := open()
		sess, got, err := s.WebSessionUser(ctx, a, time.Hour)
		if err != nil || got.ID != u.ID || !sess.ExpiresAt.Equal(clock.Now().Add(3*time.Hour)) {
			t.Fatalf("session: %+v %+v %v", sess, got, err)
		}
		// Idle: activity keeps it, silence ends it.
		clock.Advance(50 * time.Minute)
		testutil.MustTx(t, s, func(tx *models.Tx) error { return tx.TouchWebSession(ctx, a) })
		clock.Advance(50 * time.Minute)
		if _, _, err := s.WebSessionUser(ctx, a, time.Hour); err != nil {
			t.Fatalf("touched session: %v", err)
		}
		clock.Advance(11 * time.Minute)
		if _, _, err := s.WebSessionUser(ctx, a, time.Hour); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("idle session: %v", err)
		}
		// Absolute: ends 3 h after login whatever the activity.
		b := open()
		for range 3 {
			clock.Advance(59 * time.Minute)
			testutil.MustTx(t, s, func(tx *models.Tx) error { return tx.TouchWebSession(ctx, b) })
		}
		clock.Advance(3 * time.Minute)
		if _, _, err := s.WebSessionUser(ctx, b, time.Hour); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("session past its absolute lifetime: %v", err)
		}
		// Logout ends one; ending a user's sessions ends all; purge cleans.
		c, d := open(), open()
		testutil.MustTx(t, s, func(tx *models.Tx) error { return tx.DeleteWebSession(ctx, c) })
		if _, _, err := s.WebSessionUser(ctx, c, time.Hour); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("deleted session: %v", err)
		}
		if _, _, err := s.WebSessionUser(ctx, d, time.Hour); err != nil {
			t.Fatalf("other session: %v", err)
		}
		testutil.MustTx(t, s, func(tx *models.Tx) error { return tx.DeleteUserWebSessions(ctx, u.ID) })
		if _, _, err := s.WebSessionUser(ctx, d, time.Hour); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("session after ending all: %v", err)
		}
		if _, _, err := s.WebSessionUser(ctx, "inconnu", time.Hour); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("unknown: %v", err)
		}
		clock.Advance(4 * time.Hour)
		testutil.MustTx(t, s, func(tx *models.Tx) error { return tx.PurgeExpired(ctx) })
		read, _ := s.SQL()
		var n int
		if err := read.QueryRow("SELECT COUNT(*) FROM web_sessions").Scan(&n); err != nil || n != 0 {
			t.Fatalf("%d sessions after purge (%v)", n, err)
		}
	})
}

func enqueueOne(t *testing.T, s *models.Store, key, to string) bool {
	t.Helper()
	var queued bool
	testutil.MustTx(t, s, func(tx *models.Tx) error {
		var err error
		queued, err = tx.Enqueue(context.Background(), models.OutboxMessage{DedupeKey: key, Kind: "test", Recipient: to, Subject: "Sujet " + key, TextBody: "x"})
		return err
	})
	return queued
}

func TestOutboxDedupeAndStates(t *testing.T) {
	onEachStore(t, func(t *testing.T, s *models.Store, clock *testutil.Clock) {
		ctx := context.Background()
		if !enqueueOne(t, s, "registration:42:confirmed", "a@example.org") {
			t.Fatal("first message not queued")
		}
		// The same cause again (a retried request, a double click) sends nothing more.
		if enqueueOne(t, s, "registration:42:confirmed", "a@example.org") {
			t.Fatal("same dedupe key queued twice")
		}
		msgs, n, err := s.ListOutbox(ctx, models.OutboxFilter{})
		if err != nil || n != 1 {
			t.Fatalf("%d messages (%v)", n, err)
		}
		m := msgs[0]
		if m.State != models.MailPending || m.Attempts != 0 || !m.NextAttemptAt.Equal(clock.Now()) || m.Recipient != "a@example.org" {
			t.Fatalf("queued: %+v", m)
		}
		// Claim → retry → claim → fail → admin retry → claim → sent.
		claimed, _ := s.ClaimDue(ctx, 10, time.Minute)
		if len(claimed) != 1 || claimed[0].State != models.MailSending || claimed[0].Attempts != 1 {
			t.Fatalf("claimed: %+v", claimed)
		}
		if err := s.MarkRetry(ctx, m.ID, "451 try later", clock.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if c, _ := s.ClaimDue(ctx, 10, time.Minute); len(c) != 0 {
			t.Fatal("claimed before its retry time")
		}
		clock.Advance(time.Minute)
		claimed, _ = s.ClaimDue(ctx, 10, time.Minute)
		if len(claimed) != 1 || claimed[0].Attempts != 2 {
			t.Fatalf("retry claim: %+v", claimed)
		}
		if err := s.MarkFailed(ctx, m.ID, "550 no"); err != nil {
			t.Fatal(err)
		}
		counts, _ := s.OutboxCounts(ctx)
		if counts[models.MailFailed] != 1 || counts[models.MailPending] != 0 {
			t.Fatalf("counts %v", counts)
		}
		testutil.MustTx(t, s, func(tx *models.Tx) error { return tx.RetryMail(ctx, m.ID) })
		err = s.Tx(ctx, func(tx *models.Tx) error { return tx.RetryMail(ctx, m.ID) })
		if !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("retrying a pending message: %v", err)
		}
		claimed, _ = s.ClaimDue(ctx, 10, time.Minute)
		if len(claimed) != 1 || claimed[0].Attempts != 1 {
			t.Fatalf("claim after admin retry: %+v", claimed)
		}
		if err := s.MarkSent(ctx, m.ID, true); err != nil {
			t.Fatal(err)
		}
		got, _ := s.OutboxByID(ctx, m.ID)
		if got.State != models.MailSent || !got.Captured || !got.SentAt.Equal(clock.Now()) || got.LastError != "" || !got.LockedUntil.IsZero() {
			t.Fatalf("sent: %+v", got)
		}
		// Release gives an untried claim back without counting the attempt.
		enqueueOne(t, s, "other", "b@example.org")
		claimed, _ = s.ClaimDue(ctx, 10, time.Minute)
		if err := s.Release(ctx, []string{claimed[0].ID}, "connection refused", clock.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		got, _ = s.OutboxByID(ctx, claimed[0].ID)
		if got.State != models.MailPending || got.Attempts != 0 || got.LastError != "connection refused" {
			t.Fatalf("released: %+v", got)
		}
		// Filters.
		if _, n, _ := s.ListOutbox(ctx, models.OutboxFilter{Recipient: "B@example.org"}); n != 1 {
			t.Fatalf("by recipient: %d", n)
		}
		if _, n, _ := s.ListOutbox(ctx, models.OutboxFilter{State: models.MailSent}); n != 1 {
			t.Fatalf("by state: %d", n)
		}
		if _, err := s.OutboxByID(ctx, "nope"); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("unknown: %v", err)
		}
	})
}

// Several workers claiming at once never get the same message, and
// between them they get every message, oldest first per claim.
func TestClaimDueConcurrentClaimers(t *testing.T) {
	onEachStore(t, func(t *testing.T, s *models.Store, clock *testutil.Clock) {
		ctx := context.Background()
		const total = 40
		for i := range total {
			enqueueOne(t, s, fmt.Sprintf("k%02d", i), fmt.Sprintf("a%02d@example.org", i))
		}
		var mu sync.Mutex
		seen := map[string]int{}
		claimedTotal := 0
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 4 {
			wg.Go(func() {
				for range 200 {
					msgs, err := s.ClaimDue(ctx, 3, time.Hour)
					if err != nil {
						errs <- err
						return
					}
					mu.Lock()
					for _, m := range msgs {
						seen[m.ID]++
					}
					claimedTotal += len(msgs)
					done := claimedTotal >= total
					mu.Unlock()
					if done {
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("claim: %v", err)
		}
		if len(seen) != total || claimedTotal != total {
			t.Fatalf("%d distinct messages claimed %d times, want %d once each", len(seen), claimedTotal, total)
		}
		for id, n := range seen {
			if n != 1 {
				t.Fatalf("message %s handed out %d times", id, n)
			}
		}
	})
}

func TestAuditFilters(t *testing.T) {
	onEachStore(t, func(t *testing.T, s *models.Store, clock *testutil.Clock) {
		ctx := context.Background()
		a := foundUser(t, s, "a@example.org", models.RoleAdmin)
		b := foundUser(t, s, "b@example.org", models.RoleAgent)
		write := func(actor models.User, action, target string) {
			testutil.MustTx(t, s, func(tx *models.Tx) error {
				return tx.Audit(ctx, models.Actor{UserID: actor.ID, Email: actor.Email, RequestID: "req-" + action}, action, "user", target, "détail")
			})
			clock.Advance(time.Second)
		}
		write(a, "login", a.ID)
		write(a, "user.role", b.ID)
		write(b, "login", b.ID)
		write(b, "user.profile", b.ID)
		testutil.MustTx(t, s, func(tx *models.Tx) error {
			return tx.Audit(ctx, models.Actor{Email: "system"}, "user.bootstrap_admin", "user", a.ID, "")
		})
		all, n, err := s.ListAudit(ctx, models.AuditFilter{})
		if err != nil || n != 5 || all[0].Action != "user.bootstrap_admin" || all[0].ActorID != "" || all[4].Action != "login" {
			t.Fatalf("all, newest first: %d %v %+v", n, err, all)
		}
		if all[4].ActorID != a.ID || all[4].ActorEmail != "a@example.org" || all[4].RequestID != "req-login" || all[4].Detail != "détail" {
			t.Fatalf("entry: %+v", all[4])
		}
		for _, c := range []struct {
			f    models.AuditFilter
			want int
		}{
			{models.AuditFilter{Action: "user."}, 3},
			{models.AuditFilter{Action: "login"}, 2},
			{models.AuditFilter{ActorID: b.ID}, 2},
			{models.AuditFilter{Target: b.ID}, 3},
			{models.AuditFilter{Action: "user.", Target: b.ID}, 2},
			{models.AuditFilter{Action: "%"}, 0},
		} {
			if _, n, err := s.ListAudit(ctx, c.f); err != nil || n != c.want {
				t.Errorf("filter %+v: %d (%v), want %d", c.f, n, err, c.want)
			}
		}
		page, n, _ := s.ListAudit(ctx, models.AuditFilter{Limit: 2, Offset: 4})
		if n != 5 || len(page) != 1 || page[0].Action != "login" {
			t.Fatalf("last page: %d of %d", len(page), n)
		}
	})
}

// A data folder whose name looks like URI syntax still opens the right file.
func TestOpenSQLiteOddPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a%2Fb?c#d")
	s, err := models.Open(context.Background(), "sqlite://"+filepath.Join(dir, "agora.db"), models.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := filepath.Glob(filepath.Join(dir, "agora.db")); err != nil {
		t.Fatal(err)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "agora.db")); len(m) != 1 {
		t.Fatalf("database file not where asked: %v", m)
	}
}

// Searching users takes % and _ literally.
func TestUserSearchIsLiteral(t *testing.T) {
	onEachStore(t, func(t *testing.T, s *models.Store, _ *testutil.Clock) {
		foundUser(t, s, "jean_dupont@example.org", models.RoleAgent)
		foundUser(t, s, "jeanXdupont@example.org", models.RoleAgent)
		for q, want := range map[string]int{"jean_dupont": 1, "%": 0, "_": 1, "jean": 2, `\\`: 0} {
			if _, n, err := s.ListUsers(context.Background(), models.UserFilter{Query: q}); err != nil || n != want {
				t.Errorf("search %q: %d (%v), want %d", q, n, err, want)
			}
		}
	})
}

// The database itself refuses a second account whose email differs only by case.
func TestEmailUniqueInTheDatabase(t *testing.T) {
	onEachStore(t, func(t *testing.T, s *models.Store, clock *testutil.Clock) {
		foundUser(t, s, "marie@example.org", models.RoleAgent)
		_, w := s.SQL()
		q := "INSERT INTO users (id, email, name, role, created_at) VALUES ('x', 'Marie@Example.org', '', 'agent', $1)"
		if s.Dialect() == models.SQLite {
			q = strings.Replace(q, "$1", "?", 1)
		}
		if _, err := w.Exec(q, clock.Now()); err == nil {
			t.Fatal("a second account with the same email in another case was stored")
		}
	})
}

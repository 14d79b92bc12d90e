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

// noticeRecorder is a Notifier that keeps the notices.
type noticeRecorder struct {
	mu      sync.Mutex
	notices []models.Notice
}

// Notify keeps n. A notice given again (same kind, event, person, arrival
// number and workshop) replaces the first: a batch of the group commit in
// which a write failed rolls back and runs its other writes again
// (models.Batcher), and the real notifier's emails go in that transaction.
func (r *noticeRecorder) Notify(_ context.Context, _ *models.Tx, n models.Notice) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, o := range r.notices {
		if o.Kind == n.Kind && o.Event.ID == n.Event.ID && o.Registration.Email == n.Registration.Email && o.Registration.Seq == n.Registration.Seq &&
			(o.Workshop == nil) == (n.Workshop == nil) && (o.Workshop == nil || o.Workshop.Session.ID == n.Workshop.Session.ID) {
			r.notices[i] = n
			return nil
		}
	}
	r.notices = append(r.notices, n)
	return nil
}

func (r *noticeRecorder) kinds() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, n := range r.notices {
		out = append(out, string(n.Kind)+":"+n.Registration.Email)
	}
	return out
}

func (r *noticeRecorder) reset() { r.mu.Lock(); r.notices = nil; r.mu.Unlock() }

type evFixture struct {
	t     *testing.T
	s     *models.Store
	clock *testutil.Clock
	org   models.User
	event models.Event
	rec   *noticeRecorder
	// batcher, when set, runs registrations through group commit.
	batcher *models.Batcher
}

// newEventFixture opens a store and creates a published event with capacity
// seats and the quotas given, organised by org@….
func newEventFixture(t *testing.T, s *models.Store, clock *testutil.Clock, capacity int, modes models.Modes, quotas map[string]int) *evFixture {
	t.Helper()
	f := &evFixture{t: t, s: s, clock: clock, rec: &noticeRecorder{}}
	ctx := context.Background()
	// Whatever the test did, the kept seat counts match the registrations.
	t.Cleanup(func() {
		diffs, err := s.CheckSeatCounts(ctx, f.event.ID)
		if err != nil || len(diffs) > 0 {
			t.Errorf("seat counts out of step: %v %v", diffs, err)
		}
		diffs, err = s.CheckWorkshopCounts(ctx, f.event.ID)
		if err != nil || len(diffs) > 0 {
			t.Errorf("workshop counts out of step: %v %v", diffs, err)
		}
	})
	testutil.MustTx(t, s, func(tx *models.Tx) error {
		var err error
		f.org, err = tx.CreateUser(ctx, models.NewUser{Email: "org@sg.social.gouv.fr", Name: "Orga", DirectionCode: "DNUM", Role: models.RoleOrganiser})
		if err != nil {
			return err
		}
		a := models.Actor{UserID: f.org.ID, Email: f.org.Email}
		start := clock.Now().Add(30 * 24 * time.Hour)
		f.event, err = tx.CreateEvent(ctx, a, "agora.example.fr:8443", models.EventInput{
			Title: "Journée produit", StartsAt: start, EndsAt: start.Add(8 * time.Hour), Capacity: capacity, Modes: modes,
			VenueName: "Ministère", VenueAddress: "14 avenue Duquesne\n75007 Paris",
		})
		if err != nil {
			return err
		}
		if len(quotas) > 0 {
			if err := tx.SetEventQuotas(ctx, models.NoNotify, a, f.event.ID, quotas); err != nil {
				return err
			}
		}
		f.event, err = tx.SetEventStatus(ctx, models.NoNotify, a, f.event.ID, models.EventPublished)
		return err
	})
	return f
}

func (f *evFixture) register(email, dir string, mode models.Mode) (models.Registration, error) {
	var r models.Registration
	run := f.s.Tx
	if f.batcher != nil {
		run = f.batcher.Do
	}
	err := run(context.Background(), func(tx *models.Tx) error {
		var err error
		r, err = tx.Register(context.Background(), f.rec, models.NewRegistration{
			EventID: f.event.ID, Email: email, Name: "Agent " + email, DirectionCode: dir, Mode: mode,
		})
		return err
	})
	return r, err
}

func (f *evFixture) mustRegister(email, dir string, mode models.Mode) models.Registration {
	f.t.Helper()
	r, err := f.register(email, dir, mode)
	if err != nil {
		f.t.Fatalf("register %s: %v", email, err)
	}
	return r
}

func (f *evFixture) cancel(id string) models.Registration {
	f.t.Helper()
	var r models.Registration
	testutil.MustTx(f.t, f.s, func(tx *models.Tx) error {
		var err error
		r, err = tx.CancelRegistration(context.Background(), f.rec, models.Actor{}, id, false)
		return err
	})
	return r
}

func (f *evFixture) state(id string) models.RegState {
	f.t.Helper()
	r, err := f.s.RegistrationByID(context.Background(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	return r.State
}

func TestSeatAvailable(t *testing.T) {
	q := map[string]int{"DGCS": 3, "DGOS": 2} // 5 reserved of 10: 5 unreserved
	for _, tc := range []struct {
		name      string
		confirmed map[string]int
		dir       string
		want      bool
	}{
		{"empty event", nil, "DNUM", true},
		{"quota direction, quota free", map[string]int{"DGCS": 2}, "DGCS", true},
		{"quota full, unreserved free", map[string]int{"DGCS": 3}, "DGCS", true},
		{"unreserved used by others, quota free", map[string]int{"DNUM": 5}, "DGCS", true},
		{"unreserved used by others, no quota", map[string]int{"DNUM": 5}, "DSS", false},
		{"unreserved used by overflow of a quota direction", map[string]int{"DGCS": 8}, "DNUM", false},
		{"overflow 4 of DGCS, one unreserved left", map[string]int{"DGCS": 7}, "DNUM", true},
		{"quota seats stay reserved", map[string]int{"DNUM": 5, "DGCS": 1}, "DGOS", true},
		{"everything taken", map[string]int{"DNUM": 5, "DGCS": 3, "DGOS": 2}, "DGOS", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := models.SeatAvailable(10, q, tc.confirmed, tc.dir); got != tc.want {
				t.Errorf("SeatAvailable(%v, %s) = %v, want %v", tc.confirmed, tc.dir, got, tc.want)
			}
		})
	}
	if !models.SeatAvailable(0, nil, map[string]int{"DNUM": 1000}, "DNUM") {
		t.Error("capacity 0 means unlimited")
	}
}

func TestRegisterWaitlistAndPromotion(t *testing.T) {
	eachEventStore(t, func(t *testing.T, s *models.Store, clock *testutil.Clock) {
		f := newEventFixture(t, s, clock, 2, models.ModesBoth, nil)
		a := f.mustRegister("a@x.fr", "DNUM", models.ModeOnsite)
		b := f.mustRegister("B@X.fr", "DGCS", models.ModeOnsite)
		c := f.mustRegister("c@x.fr", "DGOS", models.ModeOnsite)
		d := f.mustRegister("d@x.fr", "DGOS", models.ModeOnsite)
		remote := f.mustRegister("r@x.fr", "DSS", models.ModeRemote)
		if a.State != models.RegConfirmed || b.State != models.RegConfirmed || c.State != models.RegWaitlisted || d.State != models.RegWaitlisted {
			t.Fatalf("states %s %s %s %s, want confirmed confirmed waitlisted waitlisted", a.State, b.State, c.State, d.State)
		}
		if remote.State != models.RegConfirmed || remote.Seat {
			t.Errorf("remote attendee: state %s seat %v, want confirmed without seat", remote.State, remote.Seat)
		}
		if b.Email != "b@x.fr" {
			t.Errorf("email %q not normalised", b.Email)
		}
		if _, err := f.register("b@x.fr", "DGCS", models.ModeOnsite); !errors.Is(err, models.ErrAlreadyRegistered) {
			t.Errorf("second registration of the same address: %v, want ErrAlreadyRegistered", err)
		}
		f.rec.reset()
		f.cancel(a.ID)
		if got := f.state(c.ID); got != models.RegConfirmed {
			t.Errorf("first in line after a cancellation: %s, want confirmed", got)
		}
		if got := f.state(d.ID); got != models.RegWaitlisted {
			t.Errorf("second in line: %s, want still waitlisted", got)
		}
		want := []string{"cancelled:a@x.fr", "promoted:c@x.fr"}
		if got := f.rec.kinds(); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("notices %v, want %v", got, want)
		}
		if !f.rec.notices[0].WasConfirmed {
			t.Error("the cancellation of a confirmed place must say so (calendar CANCEL)")
		}
		// The promoted agent declines the offer: the next one gets it.
		f.rec.reset()
		f.cancel(c.ID)
		if got := f.state(d.ID); got != models.RegConfirmed {
			t.Errorf("after the promoted agent declined: %s, want confirmed", got)
		}
		// Cancelling twice is refused.
		err := s.Tx(context.Background(), func(tx *models.Tx) error {
			_, err := tx.CancelRegistration(context.Background(), f.rec, models.Actor{}, c.ID, false)
			return err
		})
		if !errors.Is(err, models.ErrAlreadyCancelled) {
			t.Errorf("second cancellation: %v", err)
		}
		// Registering again after cancelling reuses the registration, with a
		// later calendar revision, at the end of the line.
		again := f.mustRegister("a@x.fr", "DNUM", models.ModeOnsite)
		if again.ID != a.ID || again.State != models.RegWaitlisted || again.ICSBump != 2 || again.Seq <= d.Seq {
			t.Errorf("registering again: id same=%v state %s bump %d seq %d (after %d)", again.ID == a.ID, again.State, again.ICSBump, again.Seq, d.Seq)
		}
	})
}

// eachEventStore runs fn on SQLite and PostgreSQL, each with its own fixed clock.
func eachEventStore(t *testing.T, fn func(t *testing.T, s *models.Store, clock *testutil.Clock)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { c := testutil.NewClock(); fn(t, testutil.SQLite(t, c.Now), c) })
	t.Run("postgres", func(t *testing.T) { c := testutil.NewClock(); fn(t, testutil.Postgres(t, c.Now), c) })
}

func TestQuotaThenUnreserved(t *testing.T) {
	clock := testutil.NewClock()
	s := testutil.SQLite(t, clock.Now)
	// 6 seats: 2 reserved for DGCS, 1 for DGOS, 3 unreserved.
	f := newEventFixture(t, s, clock, 6, models.ModesOnsite, map[string]int{"DGCS": 2, "DGOS": 1})
	var states []models.RegState
	for i, dir := range []string{"DNUM", "DNUM", "DNUM", "DNUM", "DGCS", "DGCS", "DGCS", "DGOS", "DGOS"} {
		r := f.mustRegister(fmt.Sprintf("p%d@x.fr", i), dir, models.ModeOnsite)
		states = append(states, r.State)
	}
	// DNUM takes the 3 unreserved seats, its 4th waits; DGCS fills its 2
	// reserved seats, its 3rd waits (no unreserved left); DGOS gets its seat, the 2nd waits.
	want := "[confirmed confirmed confirmed waitlisted confirmed confirmed waitlisted confirmed waitlisted]"
	if fmt.Sprint(states) != want {
		t.Errorf("states %v\nwant   %s", states, want)
	}
	left, err := s.SeatsLeftFor(context.Background(), &f.event, "DGCS")
	if err != nil || left.Total != 0 || left.Quota != 2 {
		t.Errorf("seats left for DGCS: %+v %v", left, err)
	}
	// A DNUM cancellation frees an unreserved seat: it goes to the first
	// waiting person, whatever the direction (DNUM's 4th, who came first).
	dnum, _ := s.RegistrationByEmail(context.Background(), f.event.ID, "p0@x.fr")
	f.cancel(dnum.ID)
	if st := f.state(mustReg(t, s, f.event.ID, "p3@x.fr").ID); st != models.RegConfirmed {
		t.Errorf("p3 after an unreserved seat was freed: %s", st)
	}
	// A DGCS cancellation frees a DGCS quota seat: only DGCS's waiting person may take it.
	f.cancel(mustReg(t, s, f.event.ID, "p4@x.fr").ID)
	if st := f.state(mustReg(t, s, f.event.ID, "p6@x.fr").ID); st != models.RegConfirmed {
		t.Errorf("DGCS waiting person after a DGCS seat was freed: %s", st)
	}
	if st := f.state(mustReg(t, s, f.event.ID, "p8@x.fr").ID); st != models.RegWaitlisted {
		t.Errorf("DGOS waiting person must not take a DGCS seat: %s", st)
	}
	// Raising the capacity promotes.
	testutil.MustTx(t, s, func(tx *models.Tx) error {
		in := eventInput(f.event)
		in.Capacity = 7
		_, err := tx.UpdateEvent(context.Background(), f.rec, models.Actor{}, f.event.ID, in)
		return err
	})
	if st := f.state(mustReg(t, s, f.event.ID, "p8@x.fr").ID); st != models.RegConfirmed {
		t.Errorf("after raising the capacity: %s", st)
	}
	// Quotas above the capacity are refused.
	err = s.Tx(context.Background(), func(tx *models.Tx) error {
		return tx.SetEventQuotas(context.Background(), f.rec, models.Actor{}, f.event.ID, map[string]int{"DGCS": 5, "DGOS": 3})
	})
	if !errors.Is(err, models.ErrQuotaOverCapacity) {
		t.Errorf("quotas over capacity: %v", err)
	}
}

func mustReg(t *testing.T, s *models.Store, eventID, email string) models.Registration {
	t.Helper()
	r, err := s.RegistrationByEmail(context.Background(), eventID, email)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func eventInput(e models.Event) models.EventInput {
	return models.EventInput{Title: e.Title, Description: e.Description, VenueName: e.VenueName, VenueAddress: e.VenueAddress,
		VenueAccess: e.VenueAccess, VenueAccessibility: e.VenueAccessibility, OnlineURL: e.OnlineURL, StartsAt: e.StartsAt,
		EndsAt: e.EndsAt, OpensAt: e.OpensAt, ClosesAt: e.ClosesAt, Capacity: e.Capacity, Modes: e.Modes}
}

// A burst of concurrent registrations never oversells the capacity, a quota
// or the unreserved seats, and everybody else is waitlisted in order; with
// one transaction each, and with group commit (where the refused double
// registrations roll back to their savepoint only).
func TestConcurrentRegistrationBurst(t *testing.T) {
	t.Run("one transaction each", func(t *testing.T) { registrationBurst(t, false) })
	t.Run("group commit", func(t *testing.T) { registrationBurst(t, true) })
}

func registrationBurst(t *testing.T, batched bool) {
	eachEventStore(t, func(t *testing.T, s *models.Store, clock *testutil.Clock) {
		quotas := map[string]int{"DGCS": 10, "DGOS": 5}
		f := newEventFixture(t, s, clock, 40, models.ModesBoth, quotas) // 25 unreserved
		if batched {
			f.batcher = s.NewBatcher(16)
		}
		dirs := []string{"DNUM", "DGCS", "DGOS", "DSS", "DGCS"}
		const n = 200
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				email := fmt.Sprintf("agent%03d@x.fr", i)
				if _, err := f.register(email, dirs[i%len(dirs)], models.ModeOnsite); err != nil {
					errs <- err
				}
				if i%10 == 0 { // the same person clicking twice
					if _, err := f.register(email, dirs[i%len(dirs)], models.ModeOnsite); !errors.Is(err, models.ErrAlreadyRegistered) {
						errs <- fmt.Errorf("double registration of %s: %v", email, err)
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		st, err := s.EventStatistics(context.Background(), &f.event)
		if err != nil {
			t.Fatal(err)
		}
		if st.Counts.Confirmed != 40 || st.Counts.Waitlisted != n-40 {
			t.Errorf("confirmed %d waitlisted %d, want 40 and %d", st.Counts.Confirmed, st.Counts.Waitlisted, n-40)
		}
		overflow := 0
		for _, d := range st.ByDirection {
			if q := quotas[d.Code]; d.Seats > q {
				overflow += d.Seats - q
			}
		}
		if overflow != 25 {
			t.Errorf("unreserved seats used %d, want exactly 25", overflow)
		}
		for _, d := range st.ByDirection {
			if q := quotas[d.Code]; q > 0 && d.Seats < q {
				t.Errorf("%s: %d seats, its quota of %d must be full (it had enough candidates)", d.Code, d.Seats, q)
			}
		}
		// Arrival numbers are unique.
		regs, total, err := s.ListRegistrations(context.Background(), models.RegistrationFilter{EventID: f.event.ID, Limit: 1000})
		if err != nil || total != n {
			t.Fatalf("list: %d %v", total, err)
		}
		seen := map[int64]bool{}
		for _, r := range regs {
			if seen[r.Seq] {
				t.Fatalf("arrival number %d used twice", r.Seq)
			}
			seen[r.Seq] = true
		}
		if len(f.rec.notices) != n {
			t.Errorf("%d notices for %d registrations", len(f.rec.notices), n)
		}
	})
}

func TestRegistrationWindowAndPermissions(t *testing.T) {
	clock := testutil.NewClock()
	s := testutil.SQLite(t, clock.Now)
	f := newEventFixture(t, s, clock, 10, models.ModesOnsite, nil)
	ctx := context.Background()
	var corr, other models.User
	testutil.MustTx(t, s, func(tx *models.Tx) error {
		var err error
		if corr, err = tx.CreateUser(ctx, models.NewUser{Email: "ref@x.fr", Name: "Réf", DirectionCode: "DGCS"}); err != nil {
			return err
		}
		if other, err = tx.CreateUser(ctx, models.NewUser{Email: "other@x.fr", Name: "Autre", DirectionCode: "DGCS"}); err != nil {
			return err
		}
		return tx.AddCorrespondent(ctx, models.Actor{}, f.event.ID, corr.ID, "dgcs")
	})
	reg := func(by *models.User, dir string) error {
		return s.Tx(ctx, func(tx *models.Tx) error {
			_, err := tx.Register(ctx, models.NoNotify, models.NewRegistration{EventID: f.event.ID, Email: dir + fmt.Sprint(clock.Now().UnixNano()) + "@x.fr",
				Name: "N", DirectionCode: dir, Mode: models.ModeOnsite, By: by})
			clock.Advance(time.Second)
			return err
		})
	}
	if err := reg(&corr, "DGCS"); err != nil {
		t.Errorf("correspondent for own direction: %v", err)
	}
	if err := reg(&corr, "DGOS"); !errors.Is(err, models.ErrForbidden) {
		t.Errorf("correspondent for another direction: %v, want ErrForbidden", err)
	}
	if err := reg(&other, "DGCS"); !errors.Is(err, models.ErrForbidden) {
		t.Errorf("plain agent registering someone else: %v, want ErrForbidden", err)
	}
	if err := s.Tx(ctx, func(tx *models.Tx) error {
		_, err := tx.Register(ctx, models.NoNotify, models.NewRegistration{EventID: f.event.ID, Email: "x@x.fr", Name: "N", DirectionCode: "DNUM", Mode: models.ModeRemote})
		return err
	}); !errors.Is(err, models.ErrModeNotOffered) {
		t.Errorf("remote at an on-site event: %v", err)
	}
	testutil.MustTx(t, s, func(tx *models.Tx) error { return tx.SetRegistrationClosed(ctx, models.Actor{}, f.event.ID, true) })
	if _, err := f.register("late@x.fr", "DNUM", models.ModeOnsite); !errors.Is(err, models.ErrRegistrationClosed) {
		t.Errorf("after closing: %v", err)
	}
	if err := reg(&corr, "DGCS"); !errors.Is(err, models.ErrRegistrationClosed) {
		t.Errorf("correspondent after closing: %v", err)
	}
	if err := reg(&f.org, "DGOS"); err != nil {
		t.Errorf("organiser after closing: %v", err)
	}
	acc, err := s.EventAccessFor(ctx, f.event.ID, &corr)
	if err != nil || acc.Organiser || fmt.Sprint(acc.Directions) != "[DGCS]" {
		t.Errorf("correspondent access %+v %v", acc, err)
	}
	acc, _ = s.EventAccessFor(ctx, f.event.ID, &other)
	if acc.Organiser || acc.Correspondent() {
		t.Errorf("agent access %+v", acc)
	}
	// Not open yet.
	testutil.MustTx(t, s, func(tx *models.Tx) error {
		if err := tx.SetRegistrationClosed(ctx, models.Actor{}, f.event.ID, false); err != nil {
			return err
		}
		in := eventInput(f.event)
		in.OpensAt = clock.Now().Add(time.Hour)
		_, err := tx.UpdateEvent(ctx, models.NoNotify, models.Actor{}, f.event.ID, in)
		return err
	})
	if _, err := f.register("early@x.fr", "DNUM", models.ModeOnsite); !errors.Is(err, models.ErrRegistrationClosed) {
		t.Errorf("before opening: %v", err)
	}
	clock.Advance(time.Hour)
	if _, err := f.register("early@x.fr", "DNUM", models.ModeOnsite); err != nil {
		t.Errorf("at opening: %v", err)
	}
}

func TestManagementLinks(t *testing.T) {
	eachEventStore(t, func(t *testing.T, s *models.Store, clock *testutil.Clock) {
		f := newEventFixture(t, s, clock, 10, models.ModesOnsite, nil)
		r := f.mustRegister("a@x.fr", "DNUM", models.ModeOnsite)
		ctx := context.Background()
		var token string
		testutil.MustTx(t, s, func(tx *models.Tx) error {
			var err error
			token, err = tx.NewRegistrationLink(ctx, r.ID)
			return err
		})
		if len(token) < 60 {
			t.Errorf("token %q too short", token)
		}
		got, _, err := s.RegistrationByLink(ctx, token)
		if err != nil || got.ID != r.ID {
			t.Fatalf("valid link: %v", err)
		}
		id, _, _ := cut(token)
		for _, bad := range []string{"", "x", token + "x", id + ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "aaaaaaaaaaaaaaaaaa." + token[19:]} {
			if _, _, err := s.RegistrationByLink(ctx, bad); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("link %q: %v, want ErrNotFound", bad, err)
			}
		}
		testutil.MustTx(t, s, func(tx *models.Tx) error {
			_, err := tx.SetEventStatus(ctx, models.NoNotify, models.Actor{}, f.event.ID, models.EventArchived)
			return err
		})
		if _, _, err := s.RegistrationByLink(ctx, token); !errors.Is(err, models.ErrLinkExpired) {
			t.Errorf("link of an archived event: %v, want ErrLinkExpired", err)
		}
	})
}

func cut(s string) (string, string, bool) {
	for i := range s {
		if s[i] == '.' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func TestCheckIn(t *testing.T) {
	eachEventStore(t, func(t *testing.T, s *models.Store, clock *testutil.Clock) {
		f := newEventFixture(t, s, clock, 1, models.ModesOnsite, nil)
		a := f.mustRegister("a@x.fr", "DNUM", models.ModeOnsite)
		w := f.mustRegister("w@x.fr", "DNUM", models.ModeOnsite)
		ctx := context.Background()
		check := func(code string) (models.Registration, error) {
			var r models.Registration
			err := s.Tx(ctx, func(tx *models.Tx) error {
				var err error
				r, err = tx.CheckIn(ctx, models.Actor{UserID: f.org.ID}, f.event.ID, code)
				return err
			})
			return r, err
		}
		typed := " " + a.DisplayCode() + " "
		if r, err := check(typed); err != nil || !r.CheckedIn() {
			t.Fatalf("check-in with the printed code %q: %v", typed, err)
		}
		if r, err := check("https://agora.example.fr/events/x/checkin?code=" + a.Code); !errors.Is(err, models.ErrAlreadyCheckedIn) || r.Name != a.Name {
			t.Errorf("second check-in: %v (%q)", err, r.Name)
		}
		if _, err := check(w.Code); !errors.Is(err, models.ErrNotConfirmed) {
			t.Errorf("waitlisted: %v", err)
		}
		if _, err := check("ZZZZZZZZ"); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("unknown code: %v", err)
		}
		c, err := s.CountRegistrations(ctx, f.event.ID, nil)
		if err != nil || c.CheckedIn != 1 {
			t.Errorf("arrivals %d %v", c.CheckedIn, err)
		}
		// Concurrent double scan: exactly one wins.
		testutil.MustTx(t, s, func(tx *models.Tx) error { return tx.UndoCheckIn(ctx, models.Actor{}, f.event.ID, a.ID) })
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok, already := 0, 0
		for range 8 {
			wg.Go(func() {
				_, err := check(a.Code)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ok++
				case errors.Is(err, models.ErrAlreadyCheckedIn):
					already++
				default:
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if ok != 1 || already != 7 {
			t.Errorf("concurrent check-ins: %d ok, %d refused, want 1 and 7", ok, already)
		}
	})
}

func TestNormaliseCode(t *testing.T) {
	for in, want := range map[string]string{
		"k7m2-q9xa":                     "K7M2Q9XA",
		" K7M2 Q9XA ":                   "K7M2Q9XA",
		"o1lI":                          "0111",
		"https://h/e/1/checkin?code=AB": "AB",
		"https://h/c/K7M2Q9XA":          "K7M2Q9XA",
	} {
		if got := models.NormaliseCode(in); got != want {
			t.Errorf("NormaliseCode(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestChangeMode(t *testing.T) {
	clock := testutil.NewClock()
	s := testutil.SQLite(t, clock.Now)
	f := newEventFixture(t, s, clock, 1, models.ModesBoth, nil)
	a := f.mustRegister("a@x.fr", "DNUM", models.ModeOnsite)
	w := f.mustRegister("w@x.fr", "DNUM", models.ModeOnsite)
	r := f.mustRegister("r@x.fr", "DNUM", models.ModeRemote)
	ctx := context.Background()
	change := func(id string, m models.Mode) error {
		return s.Tx(ctx, func(tx *models.Tx) error {
			_, err := tx.UpdateRegistration(ctx, f.rec, models.Actor{}, id, models.RegistrationChange{Mode: m})
			return err
		})
	}
	if err := change(r.ID, models.ModeOnsite); !errors.Is(err, models.ErrNoSeat) {
		t.Errorf("remote to on-site when full: %v, want ErrNoSeat", err)
	}
	f.rec.reset()
	if err := change(a.ID, models.ModeRemote); err != nil {
		t.Fatal(err)
	}
	if f.state(w.ID) != models.RegConfirmed {
		t.Error("a seat freed by a switch to remote goes to the next in line")
	}
	if got := fmt.Sprint(f.rec.kinds()); got != "[promoted:w@x.fr]" {
		t.Errorf("notices %s", got)
	}
	// A waitlisted person switching to remote is confirmed at once.
	x := f.mustRegister("x@x.fr", "DNUM", models.ModeOnsite)
	if x.State != models.RegWaitlisted {
		t.Fatal(x.State)
	}
	if err := change(x.ID, models.ModeRemote); err != nil || f.state(x.ID) != models.RegConfirmed {
		t.Errorf("waitlisted to remote: %v %s", err, f.state(x.ID))
	}
}

func TestEventChangeNotifiesConfirmed(t *testing.T) {
	clock := testutil.NewClock()
	s := testutil.SQLite(t, clock.Now)
	f := newEventFixture(t, s, clock, 1, models.ModesOnsite, nil)
	f.mustRegister("a@x.fr", "DNUM", models.ModeOnsite)
	f.mustRegister("w@x.fr", "DNUM", models.ModeOnsite)
	f.rec.reset()
	ctx := context.Background()
	var e models.Event
	testutil.MustTx(t, s, func(tx *models.Tx) error {
		in := eventInput(f.event)
		in.Description = "Nouveau texte"
		var err error
		e, err = tx.UpdateEvent(ctx, f.rec, models.Actor{}, f.event.ID, in)
		return err
	})
	if e.Sequence != 0 || len(f.rec.notices) != 0 {
		t.Errorf("a description change: sequence %d, %d notices; want 0 and none", e.Sequence, len(f.rec.notices))
	}
	testutil.MustTx(t, s, func(tx *models.Tx) error {
		in := eventInput(e)
		in.StartsAt = in.StartsAt.Add(time.Hour)
		var err error
		e, err = tx.UpdateEvent(ctx, f.rec, models.Actor{}, f.event.ID, in)
		return err
	})
	if e.Sequence != 1 || fmt.Sprint(f.rec.kinds()) != "[event_changed:a@x.fr]" {
		t.Errorf("a time change: sequence %d, notices %v", e.Sequence, f.rec.kinds())
	}
	if e.UID != "agora-event-"+e.ID+"@agora.example.fr" {
		t.Errorf("UID %q", e.UID)
	}
	f.rec.reset()
	testutil.MustTx(t, s, func(tx *models.Tx) error {
		var err error
		e, err = tx.SetEventStatus(ctx, f.rec, models.Actor{}, e.ID, models.EventCancelled)
		return err
	})
	if e.Sequence != 2 || fmt.Sprint(f.rec.kinds()) != "[event_cancelled:a@x.fr event_cancelled:w@x.fr]" {
		t.Errorf("cancelling the event: sequence %d, notices %v", e.Sequence, f.rec.kinds())
	}
}

func TestQuestionCheck(t *testing.T) {
	single := models.Question{Kind: models.QuestionSingle, Options: []string{"Oui", "Non", "Peut-être"}, Required: true}
	multi := models.Question{Kind: models.QuestionMultiple, Options: []string{"Végétarien", "Sans gluten", "Halal"}}
	for _, tc := range []struct {
		name    string
		q       models.Question
		in      []string
		want    string
		problem bool
	}{
		{"required short empty", models.Question{Kind: models.QuestionShort, Required: true}, []string{"  "}, "", true},
		{"optional short empty", models.Question{Kind: models.QuestionShort}, nil, "", false},
		{"short trimmed", models.Question{Kind: models.QuestionShort}, []string{" salut "}, "salut", false},
		{"short with line break", models.Question{Kind: models.QuestionShort}, []string{"a\nb"}, "", true},
		{"long with line break", models.Question{Kind: models.QuestionLong}, []string{"a\r\nb"}, "a\nb", false},
		{"single valid", single, []string{"Non"}, "Non", false},
		{"single unknown", single, []string{"Autre"}, "", true},
		{"single two", single, []string{"Oui", "Non"}, "", true},
		{"multiple in options order", multi, []string{"Halal", "Végétarien"}, "Végétarien\nHalal", false},
		{"multiple unknown", multi, []string{"Halal", "Vegan"}, "", true},
		{"yes/no", models.Question{Kind: models.QuestionYesNo}, []string{"oui"}, "oui", false},
		{"yes/no other", models.Question{Kind: models.QuestionYesNo}, []string{"bof"}, "", true},
		{"required yes/no", models.Question{Kind: models.QuestionYesNo, Required: true}, nil, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, problem := tc.q.Check(tc.in)
			if got != tc.want || (problem != "") != tc.problem {
				t.Errorf("Check(%q) = %q, %q", tc.in, got, problem)
			}
		})
	}
}

func TestExportStreamsAnswers(t *testing.T) {
	clock := testutil.NewClock()
	s := testutil.SQLite(t, clock.Now)
	f := newEventFixture(t, s, clock, 0, models.ModesOnsite, nil)
	ctx := context.Background()
	var q1, q2 models.Question
	testutil.MustTx(t, s, func(tx *models.Tx) error {
		var err error
		if q1, err = tx.AddQuestion(ctx, models.Actor{}, f.event.ID, models.QuestionInput{Label: "Régime", Kind: models.QuestionShort}); err != nil {
			return err
		}
		q2, err = tx.AddQuestion(ctx, models.Actor{}, f.event.ID, models.QuestionInput{Label: "Accès", Kind: models.QuestionYesNo})
		return err
	})
	for i := range 5 {
		answers := map[string]string{q1.ID: fmt.Sprint("r", i)}
		if i%2 == 0 {
			answers[q2.ID] = "oui"
		}
		if i == 3 {
			answers = nil
		}
		testutil.MustTx(t, s, func(tx *models.Tx) error {
			_, err := tx.Register(ctx, models.NoNotify, models.NewRegistration{EventID: f.event.ID, Email: fmt.Sprintf("p%d@x.fr", i),
				Name: "P", DirectionCode: "DNUM", Mode: models.ModeOnsite, Answers: answers})
			return err
		})
	}
	var got []string
	err := s.EachRegistration(ctx, models.RegistrationFilter{EventID: f.event.ID}, func(r models.Registration, a map[string]string, _ []string) error {
		got = append(got, r.Email+"="+a[q1.ID]+"/"+a[q2.ID])
		return nil
	})
	want := "[p0@x.fr=r0/oui p1@x.fr=r1/ p2@x.fr=r2/oui p3@x.fr=/ p4@x.fr=r4/oui]"
	if err != nil || fmt.Sprint(got) != want {
		t.Errorf("export %v %v\nwant %s", got, err, want)
	}
}

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

func (f *evFixture) slot(title string, kind models.SlotKind, from, to time.Duration, capacity int) models.Slot {
	f.t.Helper()
	var sl models.Slot
	testutil.MustTx(f.t, f.s, func(tx *models.Tx) error {
		var err error
		sl, err = tx.AddSlot(context.Background(), models.Actor{}, f.org, f.event.ID, "agora.example.fr", models.SlotInput{
			Kind: kind, SessionInput: models.SessionInput{Title: title, StartsAt: f.event.StartsAt.Add(from), EndsAt: f.event.StartsAt.Add(to),
				Room: "Salle " + title, Capacity: capacity}})
		return err
	})
	return sl
}

func (f *evFixture) registerWith(email string, workshops ...string) (models.Registration, error) {
	var r models.Registration
	err := f.s.Tx(context.Background(), func(tx *models.Tx) error {
		var err error
		r, err = tx.Register(context.Background(), f.rec, models.NewRegistration{EventID: f.event.ID, Email: email, Name: "Agent " + email,
			DirectionCode: "DNUM", Mode: models.ModeOnsite, Workshops: workshops})
		return err
	})
	return r, err
}

func (f *evFixture) choices(id string) string {
	f.t.Helper()
	cs, err := f.s.RegistrationWorkshops(context.Background(), id, false)
	if err != nil {
		f.t.Fatal(err)
	}
	out := ""
	for _, c := range cs {
		out += c.Session.Title + "=" + string(c.State) + " "
	}
	return out
}

func TestWorkshopChoices(t *testing.T) {
	clock := testutil.NewClock()
	s := testutil.SQLite(t, clock.Now)
	f := newEventFixture(t, s, clock, 2, models.ModesOnsite, nil)
	a := f.slot("A", models.SlotWorkshop, time.Hour, 2*time.Hour, 1)
	b := f.slot("B", models.SlotWorkshop, 90*time.Minute, 3*time.Hour, 0)
	c := f.slot("C", models.SlotWorkshop, 4*time.Hour, 5*time.Hour, 2)
	talk := f.slot("Plénière", models.SlotTalk, 0, time.Hour, 50)
	if talk.Capacity != 0 {
		t.Errorf("a talk has no capacity, got %d", talk.Capacity)
	}
	if _, err := f.registerWith("x@x.fr", a.ID, b.ID); !errors.Is(err, models.ErrWorkshopOverlap) {
		t.Errorf("overlapping workshops: %v", err)
	}
	if _, err := f.registerWith("x@x.fr", talk.ID); !errors.Is(err, models.ErrUnknownWorkshop) {
		t.Errorf("a talk as a workshop: %v", err)
	}
	p1, err := f.registerWith("p1@x.fr", a.ID, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.choices(p1.ID); got != "A=confirmed C=confirmed " {
		t.Errorf("p1 choices %q", got)
	}
	want := "[registered:p1@x.fr workshop_confirmed:p1@x.fr workshop_confirmed:p1@x.fr]"
	if got := fmt.Sprint(f.rec.kinds()); got != want {
		t.Errorf("notices %s, want %s", got, want)
	}
	if n := f.rec.notices[0]; len(n.Workshops) != 2 {
		t.Errorf("the confirmation lists %d workshops", len(n.Workshops))
	}
	p2, _ := f.registerWith("p2@x.fr", a.ID)
	if got := f.choices(p2.ID); got != "A=waitlisted " {
		t.Errorf("p2 choices %q", got)
	}
	// p3 waits for the event itself: the workshop choice is pending.
	p3, _ := f.registerWith("p3@x.fr", c.ID)
	if p3.State != models.RegWaitlisted || f.choices(p3.ID) != "C=pending " {
		t.Errorf("p3 %s %q", p3.State, f.choices(p3.ID))
	}
	// p1 drops A: p2 gets it, p1's calendar loses A.
	f.rec.reset()
	testutil.MustTx(t, s, func(tx *models.Tx) error {
		ids := []string{c.ID}
		_, err := tx.UpdateRegistration(context.Background(), f.rec, models.Actor{}, p1.ID, models.RegistrationChange{Workshops: &ids})
		return err
	})
	if got := f.choices(p2.ID); got != "A=confirmed " {
		t.Errorf("p2 after p1 dropped A: %q", got)
	}
	if got := fmt.Sprint(f.rec.kinds()); got != "[workshop_cancelled:p1@x.fr workshop_promoted:p2@x.fr]" {
		t.Errorf("notices %s", got)
	}
	if f.rec.notices[0].Workshop.ICSBump != 1 {
		t.Error("a workshop CANCEL is a new revision of the person's entry")
	}
	// p1 cancels: p3 gets the event seat, then C (one place left).
	f.rec.reset()
	f.cancel(p1.ID)
	if got := f.choices(p3.ID); got != "C=confirmed " || f.state(p3.ID) != models.RegConfirmed {
		t.Errorf("p3 after p1 cancelled: %s %q", f.state(p3.ID), got)
	}
	want = "[cancelled:p1@x.fr workshop_cancelled:p1@x.fr promoted:p3@x.fr workshop_confirmed:p3@x.fr]"
	if got := fmt.Sprint(f.rec.kinds()); got != want {
		t.Errorf("notices %s\nwant %s", got, want)
	}
	// Moving C updates the calendars of its participants; cancelling A cancels them.
	f.rec.reset()
	testutil.MustTx(t, s, func(tx *models.Tx) error {
		_, err := tx.UpdateSlot(context.Background(), f.rec, models.Actor{}, f.event.ID, c.ID, models.SlotInput{Kind: models.SlotWorkshop,
			SessionInput: models.SessionInput{Title: "C", StartsAt: c.StartsAt.Add(30 * time.Minute), EndsAt: c.EndsAt.Add(30 * time.Minute), Room: c.Room, Capacity: 2}})
		return err
	})
	if got := fmt.Sprint(f.rec.kinds()); got != "[workshop_changed:p3@x.fr]" {
		t.Errorf("notices after moving C: %s", got)
	}
	if n := f.rec.notices[0]; n.Workshop.ICSSequence() != 1 {
		t.Errorf("updated workshop SEQUENCE %d, want 1", n.Workshop.ICSSequence())
	}
	f.rec.reset()
	testutil.MustTx(t, s, func(tx *models.Tx) error {
		return tx.CancelSlot(context.Background(), f.rec, models.Actor{}, f.event.ID, a.ID)
	})
	if got := fmt.Sprint(f.rec.kinds()); got != "[workshop_cancelled:p2@x.fr]" {
		t.Errorf("notices after cancelling A: %s", got)
	}
	if got := f.choices(p2.ID); got != "" {
		t.Errorf("p2 keeps %q", got)
	}
	slots, err := s.Programme(context.Background(), f.event.ID)
	if err != nil || len(slots) != 4 || slots[0].Title != "Plénière" {
		t.Fatalf("programme %v %v", slots, err)
	}
	for _, sl := range slots {
		if sl.Title == "C" && (sl.Confirmed != 1 || sl.Waitlisted != 0 || sl.Left() != 1) {
			t.Errorf("C fill %d/%d, left %d", sl.Confirmed, sl.Waitlisted, sl.Left())
		}
	}
	// A capacity below the places taken is refused.
	err = s.Tx(context.Background(), func(tx *models.Tx) error {
		_, err := tx.UpdateSlot(context.Background(), f.rec, models.Actor{}, f.event.ID, c.ID, models.SlotInput{Kind: models.SlotTalk,
			SessionInput: models.SessionInput{Title: "C", StartsAt: c.StartsAt, EndsAt: c.EndsAt}})
		return err
	})
	if !errors.Is(err, models.ErrWorkshopHasChoices) {
		t.Errorf("turning a workshop with participants into a talk: %v", err)
	}
}

// A burst of registrations choosing the same workshop never oversells it.
func TestConcurrentWorkshopBurst(t *testing.T) {
	eachEventStore(t, func(t *testing.T, s *models.Store, clock *testutil.Clock) {
		f := newEventFixture(t, s, clock, 0, models.ModesOnsite, nil)
		w := f.slot("W", models.SlotWorkshop, time.Hour, 2*time.Hour, 10)
		v := f.slot("V", models.SlotWorkshop, 3*time.Hour, 4*time.Hour, 25)
		var wg sync.WaitGroup
		for i := range 60 {
			wg.Go(func() {
				if _, err := f.registerWith(fmt.Sprintf("w%02d@x.fr", i), w.ID, v.ID); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		slots, err := s.Programme(context.Background(), f.event.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, sl := range slots {
			if sl.Confirmed != sl.Capacity || sl.Waitlisted != 60-sl.Capacity {
				t.Errorf("%s: %d confirmed, %d waiting; want %d and %d", sl.Title, sl.Confirmed, sl.Waitlisted, sl.Capacity, 60-sl.Capacity)
			}
		}
	})
}

func TestDuplicateEventForNextYear(t *testing.T) {
	clock := testutil.NewClock()
	s := testutil.SQLite(t, clock.Now)
	f := newEventFixture(t, s, clock, 10, models.ModesOnsite, map[string]int{"DGCS": 3})
	w := f.slot("Atelier", models.SlotWorkshop, time.Hour, 2*time.Hour, 12)
	f.mustRegister("a@x.fr", "DNUM", models.ModeOnsite)
	ctx := context.Background()
	testutil.MustTx(t, s, func(tx *models.Tx) error {
		_, err := tx.AddQuestion(ctx, models.Actor{}, f.event.ID, models.QuestionInput{Label: "Régime", Kind: models.QuestionShort})
		return err
	})
	var next models.Event
	testutil.MustTx(t, s, func(tx *models.Tx) error {
		var err error
		next, err = tx.DuplicateEvent(ctx, models.Actor{UserID: f.org.ID}, f.org, "agora.test", f.event.ID, 1)
		return err
	})
	if next.ID == f.event.ID || next.UID == f.event.UID || next.Status != models.EventDraft ||
		!next.StartsAt.Equal(f.event.StartsAt.In(models.Paris).AddDate(1, 0, 0).UTC()) || next.Capacity != 10 {
		t.Fatalf("copy %+v", next)
	}
	q, _ := s.EventQuotas(ctx, next.ID)
	qs, _ := s.EventQuestions(ctx, next.ID)
	slots, _ := s.Programme(ctx, next.ID)
	c, _ := s.CountRegistrations(ctx, next.ID, nil)
	if q["DGCS"] != 3 || len(qs) != 1 || len(slots) != 1 || slots[0].UID == w.UID || slots[0].Capacity != 12 || c.Active() != 0 {
		t.Errorf("copy: quotas %v, %d questions, slots %+v, %d registrations", q, len(qs), slots, c.Active())
	}
	acc, _ := s.EventAccessFor(ctx, next.ID, &f.org)
	if !acc.Organiser {
		t.Error("the organisers organise the copy")
	}
}

// EachWorkshopParticipant streams a workshop's people, confirmed first then
// waiting, each by name; cancelled places and other workshops are left out;
// an error from the callback stops the reading and comes back.
func TestEachWorkshopParticipant(t *testing.T) {
	clock := testutil.NewClock()
	testutil.EachStore(t, clock.Now, func(t *testing.T, s *models.Store) {
		f := newEventFixture(t, s, clock, 0, models.ModesOnsite, nil)
		a := f.slot("A", models.SlotWorkshop, time.Hour, 2*time.Hour, 2)
		b := f.slot("B", models.SlotWorkshop, 3*time.Hour, 4*time.Hour, 0)
		for _, email := range []string{"d@x.fr", "b@x.fr", "e@x.fr", "c@x.fr", "a@x.fr"} {
			if _, err := f.registerWith(email, a.ID); err != nil {
				t.Fatal(err)
			}
		}
		gone, err := f.registerWith("f@x.fr", a.ID, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		f.cancel(gone.ID)
		var got []string
		err = s.EachWorkshopParticipant(context.Background(), a.ID, func(r models.Registration, st models.RegState) error {
			got = append(got, r.Email+"="+string(st))
			return nil
		})
		want := "[b@x.fr=confirmed d@x.fr=confirmed a@x.fr=waitlisted c@x.fr=waitlisted e@x.fr=waitlisted]"
		if err != nil || fmt.Sprint(got) != want {
			t.Errorf("A: %v %v\nwant %s", got, err, want)
		}
		stop := errors.New("stop")
		n := 0
		err = s.EachWorkshopParticipant(context.Background(), a.ID, func(models.Registration, models.RegState) error { n++; return stop })
		if !errors.Is(err, stop) || n != 1 {
			t.Errorf("stopping: %d calls, %v", n, err)
		}
		err = s.EachWorkshopParticipant(context.Background(), b.ID, func(r models.Registration, _ models.RegState) error {
			return fmt.Errorf("unexpected %s", r.Email)
		})
		if err != nil {
			t.Error(err)
		}
	})
}

// otherEventWorkshop adds another event, by the same organiser, with a
// workshop at the same time as f's first hours, and returns the workshop.
func (f *evFixture) otherEventWorkshop() models.Slot {
	f.t.Helper()
	other := *f
	testutil.MustTx(f.t, f.s, func(tx *models.Tx) error {
		var err error
		other.event, err = tx.CreateEvent(context.Background(), models.Actor{UserID: f.org.ID}, "agora.example.fr", models.EventInput{
			Title: "Autre journée", StartsAt: f.event.StartsAt, EndsAt: f.event.EndsAt, Capacity: 10, Modes: models.ModesOnsite})
		return err
	})
	return other.slot("Ailleurs", models.SlotWorkshop, time.Hour, 2*time.Hour, 5)
}

// Neither an unknown session, a workshop of another event, nor a cancelled
// workshop can be chosen (the sessions are read by id, the rest checked).
func TestWorkshopChoiceMustBeOfTheEvent(t *testing.T) {
	clock := testutil.NewClock()
	s := testutil.SQLite(t, clock.Now)
	f := newEventFixture(t, s, clock, 2, models.ModesOnsite, nil)
	elsewhere := f.otherEventWorkshop()
	gone := f.slot("Annulé", models.SlotWorkshop, 6*time.Hour, 7*time.Hour, 5)
	testutil.MustTx(t, s, func(tx *models.Tx) error {
		return tx.CancelSlot(context.Background(), models.NoNotify, models.Actor{}, f.event.ID, gone.ID)
	})
	for name, id := range map[string]string{"unknown": "01NOTASESSION0000000000000", "other-event": elsewhere.ID, "cancelled": gone.ID} {
		if _, err := f.registerWith(name+"@x.fr", id); !errors.Is(err, models.ErrUnknownWorkshop) {
			t.Errorf("%s workshop: %v, want ErrUnknownWorkshop", name, err)
		}
	}
	ok := f.slot("Ouvert", models.SlotWorkshop, time.Hour, 2*time.Hour, 5)
	if _, err := f.registerWith("ok@x.fr", ok.ID); err != nil {
		t.Fatalf("a scheduled workshop of the event: %v", err)
	}
}

// In one group-commit batch, the event and the sessions read by the first
// registrations serve the next ones: the checks (event, kind, status)
// still apply to each, and seats and places are counted fresh, so the
// capacities hold.
func TestWorkshopChoicesInOneBatch(t *testing.T) {
	clock := testutil.NewClock()
	s := testutil.SQLite(t, clock.Now)
	f := newEventFixture(t, s, clock, 3, models.ModesOnsite, nil)
	a := f.slot("A", models.SlotWorkshop, time.Hour, 2*time.Hour, 2)
	elsewhere := f.otherEventWorkshop()
	ctx := context.Background()
	b := s.NewBatcher(64)
	release, first := holdBatch(t, b, nil)
	choices := []string{a.ID, elsewhere.ID, a.ID, elsewhere.ID, a.ID, a.ID}
	errs := make([]error, len(choices))
	regs := make([]models.Registration, len(choices))
	var wg sync.WaitGroup
	for i, id := range choices {
		wg.Go(func() {
			errs[i] = b.Do(ctx, func(tx *models.Tx) error {
				var err error
				regs[i], err = tx.Register(ctx, f.rec, models.NewRegistration{EventID: f.event.ID, Email: fmt.Sprintf("p%d@x.fr", i),
					Name: "P", DirectionCode: "DNUM", Mode: models.ModeOnsite, Workshops: []string{id}})
				return err
			})
		})
	}
	for b.Pending() < len(choices) {
		time.Sleep(time.Millisecond)
	}
	release() // the six registrations go in the next batch, together
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for i, id := range choices {
		switch {
		case id == elsewhere.ID:
			if !errors.Is(errs[i], models.ErrUnknownWorkshop) {
				t.Errorf("registration %d chose another event's workshop: %v", i, errs[i])
			}
		case errs[i] != nil:
			t.Errorf("registration %d: %v", i, errs[i])
		default:
			got[f.choices(regs[i].ID)]++
		}
	}
	// Three seats at the event (read once for the batch, counted fresh):
	// the first three get one, two of them a place in A.
	if got["A=confirmed "] != 2 || got["A=waitlisted "] != 1 || got["A=pending "] != 1 {
		t.Errorf("event of 3 seats, workshop A of 2 places: %v", got)
	}
	st, err := s.EventStatistics(ctx, &f.event)
	if err != nil || st.Counts.Confirmed != 3 || st.Counts.Waitlisted != 1 {
		t.Errorf("event of 3 seats: %+v (%v)", st.Counts, err)
	}
}

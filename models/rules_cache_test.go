package models_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dnum-sociaux/agora/internal/testutil"
	"github.com/dnum-sociaux/agora/models"
)

// The event's rules version moves with every change to its workshops,
// quotas and questions, whatever writes them (database triggers), and not
// with registrations (which would empty the cache at the opening).
func TestRulesVersionMoves(t *testing.T) {
	eachEventStore(t, func(t *testing.T, s *models.Store, clock *testutil.Clock) {
		ctx := context.Background()
		f := newEventFixture(t, s, clock, 10, models.ModesOnsite, nil)
		a := models.Actor{UserID: f.org.ID}
		version := func() int64 {
			t.Helper()
			e, err := s.EventByID(ctx, f.event.ID)
			if err != nil {
				t.Fatal(err)
			}
			return e.RulesVersion
		}
		last := version()
		moved := func(what string, want bool) {
			t.Helper()
			v := version()
			if (v != last) != want {
				t.Errorf("%s: rules version %d → %d, moved %v, want %v", what, last, v, v != last, want)
			}
			last = v
		}
		ws := f.slot("A", models.SlotWorkshop, time.Hour, 2*time.Hour, 1)
		moved("workshop added", true)
		testutil.MustTx(t, s, func(tx *models.Tx) error {
			_, err := tx.UpdateSlot(ctx, f.rec, a, f.event.ID, ws.ID, models.SlotInput{Kind: models.SlotWorkshop, SessionInput: models.SessionInput{
				Title: "A", StartsAt: ws.StartsAt, EndsAt: ws.EndsAt, Room: ws.Room, Capacity: 2}})
			return err
		})
		moved("workshop capacity changed", true)
		f.mustRegister("p1@x.fr", "DNUM", models.ModeOnsite)
		if _, err := f.registerWith("p2@x.fr", ws.ID); err != nil {
			t.Fatal(err)
		}
		moved("registrations", false)
		testutil.MustTx(t, s, func(tx *models.Tx) error {
			return tx.SetEventQuotas(ctx, models.NoNotify, a, f.event.ID, map[string]int{"DGCS": 2})
		})
		moved("quotas set", true)
		var q models.Question
		testutil.MustTx(t, s, func(tx *models.Tx) error {
			var err error
			q, err = tx.AddQuestion(ctx, a, f.event.ID, models.QuestionInput{Label: "Régime", Kind: models.QuestionShort})
			return err
		})
		moved("question added", true)
		testutil.MustTx(t, s, func(tx *models.Tx) error {
			return tx.UpdateQuestion(ctx, a, f.event.ID, q.ID, models.QuestionInput{Label: "Régime alimentaire", Kind: models.QuestionShort})
		})
		moved("question changed", true)
		testutil.MustTx(t, s, func(tx *models.Tx) error { return tx.DeleteQuestion(ctx, a, f.event.ID, q.ID) })
		moved("question deleted", true)
		testutil.MustTx(t, s, func(tx *models.Tx) error { return tx.CancelSlot(ctx, f.rec, a, f.event.ID, ws.ID) })
		moved("workshop cancelled", true)
	})
}

// Registrations follow the organisers' changes at once, although the
// workshops, quotas and questions they read are kept in the process:
// a workshop's new capacity, a cancelled workshop, quotas removed, a new
// question on the form.
func TestRegistrationsFollowRuleChanges(t *testing.T) {
	eachEventStore(t, func(t *testing.T, s *models.Store, clock *testutil.Clock) {
		ctx := context.Background()
		f := newEventFixture(t, s, clock, 4, models.ModesOnsite, map[string]int{"DGCS": 2})
		f.batcher = s.NewBatcher(8)
		a := models.Actor{UserID: f.org.ID}
		ws := f.slot("A", models.SlotWorkshop, time.Hour, 2*time.Hour, 1)
		// Through the group commit, as the registration form does.
		register := func(email, dir string, workshops ...string) (models.Registration, error) {
			var r models.Registration
			err := f.batcher.Do(ctx, func(tx *models.Tx) error {
				var err error
				r, err = tx.Register(ctx, f.rec, models.NewRegistration{EventID: f.event.ID, Email: email, Name: "Agent",
					DirectionCode: dir, Mode: models.ModeOnsite, Workshops: workshops})
				return err
			})
			return r, err
		}
		if _, err := register("p1@x.fr", "DNUM", ws.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := register("p2@x.fr", "DNUM", ws.ID); err != nil {
			t.Fatal(err)
		}
		if got := f.choices(mustReg(t, s, f.event.ID, "p2@x.fr").ID); got != "A=waitlisted " {
			t.Fatalf("workshop full: %q", got)
		}
		testutil.MustTx(t, s, func(tx *models.Tx) error {
			_, err := tx.UpdateSlot(ctx, f.rec, a, f.event.ID, ws.ID, models.SlotInput{Kind: models.SlotWorkshop, SessionInput: models.SessionInput{
				Title: "A", StartsAt: ws.StartsAt, EndsAt: ws.EndsAt, Room: ws.Room, Capacity: 5}})
			return err
		})
		// Two seats are open to DNUM (4 seats, 2 reserved for DGCS): p1 and
		// p2 hold them, so p3 waits for the event; the quota goes, p4 gets
		// a seat, and a place in the grown workshop.
		r3, err := register("p3@x.fr", "DNUM", ws.ID)
		if err != nil || r3.State != models.RegWaitlisted {
			t.Fatalf("p3: %v %v, want waitlisted (DGCS's seats reserved)", r3.State, err)
		}
		testutil.MustTx(t, s, func(tx *models.Tx) error {
			return tx.SetEventQuotas(ctx, models.NoNotify, a, f.event.ID, map[string]int{})
		})
		r4, err := register("p4@x.fr", "DNUM", ws.ID)
		if err != nil || r4.State != models.RegConfirmed {
			t.Fatalf("p4 after the quota was removed: %v %v, want confirmed", r4.State, err)
		}
		if got := f.choices(r4.ID); got != "A=confirmed " {
			t.Errorf("p4 after the workshop grew: %q, want a place", got)
		}
		testutil.MustTx(t, s, func(tx *models.Tx) error { return tx.CancelSlot(ctx, f.rec, a, f.event.ID, ws.ID) })
		if _, err := register("p5@x.fr", "DNUM", ws.ID); !errors.Is(err, models.ErrUnknownWorkshop) {
			t.Errorf("a cancelled workshop chosen: %v, want ErrUnknownWorkshop", err)
		}
		e, err := s.EventByID(ctx, f.event.ID)
		if err != nil {
			t.Fatal(err)
		}
		if qs, err := s.FormQuestions(ctx, &e); err != nil || len(qs) != 0 {
			t.Fatalf("questions: %v %v, want none", qs, err)
		}
		testutil.MustTx(t, s, func(tx *models.Tx) error {
			_, err := tx.AddQuestion(ctx, a, f.event.ID, models.QuestionInput{Label: "Régime", Kind: models.QuestionShort})
			return err
		})
		if e, err = s.EventByID(ctx, f.event.ID); err != nil {
			t.Fatal(err)
		}
		if qs, err := s.FormQuestions(ctx, &e); err != nil || len(qs) != 1 || qs[0].Label != "Régime" {
			t.Errorf("questions after one was added: %v %v", qs, err)
		}
	})
}

package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/dnum-sociaux/agora/internal/eventmail"
	"github.com/dnum-sociaux/agora/internal/jobs"
	"github.com/dnum-sociaux/agora/internal/testutil"
	"github.com/dnum-sociaux/agora/models"
)

// The warm-up renders the emails of the events whose registration is open
// or opens within the hour, once, and reads their workshops, quotas and
// questions into the store's cache; not those of drafts, of events opening
// later, or of closed registrations.
func TestRegistrationWarmupRendersOpeningsAhead(t *testing.T) {
	clock := testutil.NewClock()
	store := testutil.SQLite(t, clock.Now)
	ctx := context.Background()
	n := eventNotifier(t, clock)
	var org models.User
	start := clock.Now().Add(30 * 24 * time.Hour)
	type event struct {
		name    string
		opens   time.Duration // from now; 0: open since published
		status  models.EventStatus
		closed  bool
		warmed  bool
		created models.Event
		shops   []models.Session
	}
	events := []*event{
		{name: "ouverte", status: models.EventPublished, warmed: true},
		{name: "ouvre dans 30 min", opens: 30 * time.Minute, status: models.EventPublished, warmed: true},
		{name: "ouvre dans 3 h", opens: 3 * time.Hour, status: models.EventPublished},
		{name: "brouillon", status: models.EventDraft},
		{name: "close", status: models.EventPublished, closed: true},
	}
	testutil.MustTx(t, store, func(tx *models.Tx) error {
		var err error
		if org, err = tx.CreateUser(ctx, models.NewUser{Email: "org@x.fr", Name: "Orga", DirectionCode: "DNUM", Role: models.RoleOrganiser}); err != nil {
			return err
		}
		for _, ev := range events {
			in := models.EventInput{Title: ev.name, StartsAt: start, EndsAt: start.Add(8 * time.Hour), Capacity: 10, Modes: models.ModesBoth}
			if ev.opens > 0 {
				in.OpensAt = clock.Now().Add(ev.opens)
			}
			e, err := tx.CreateEvent(ctx, models.Actor{UserID: org.ID}, "agora.test", in)
			if err != nil {
				return err
			}
			for i := range 3 { // two at the same time, one after
				at := start.Add(time.Duration(1+i/2) * 2 * time.Hour)
				sl, err := tx.AddSlot(ctx, models.Actor{}, org, e.ID, "agora.test", models.SlotInput{Kind: models.SlotWorkshop,
					SessionInput: models.SessionInput{Title: "Atelier", StartsAt: at, EndsAt: at.Add(time.Hour), Room: "Salle", Capacity: 5}})
				if err != nil {
					return err
				}
				ev.shops = append(ev.shops, sl.Session)
			}
			if ev.status != models.EventDraft {
				if e, err = tx.SetEventStatus(ctx, models.NoNotify, models.Actor{}, e.ID, ev.status); err != nil {
					return err
				}
			}
			if ev.closed {
				if err := tx.SetRegistrationClosed(ctx, models.Actor{}, e.ID, true); err != nil {
					return err
				}
				if e, err = tx.EventByID(ctx, e.ID); err != nil {
					return err
				}
			}
			ev.created = e
		}
		return nil
	})
	want := 0
	for _, ev := range events {
		if ev.warmed {
			want += eventmail.WarmSize(&ev.created, ev.shops)
		}
	}
	job := &jobs.RegistrationWarmup{Store: store, Notifier: n}
	if got, err := job.RunOnce(ctx); err != nil || got != want || want == 0 {
		t.Fatalf("first pass: %d emails rendered, %v; want %d", got, err, want)
	}
	if got, err := job.RunOnce(ctx); err != nil || got != 0 {
		t.Fatalf("second pass: %d emails rendered, %v; want none", got, err)
	}
	// What was left out is still to render; what was warmed is not.
	for _, ev := range events {
		e, err := store.EventByID(ctx, ev.created.ID)
		if err != nil {
			t.Fatal(err)
		}
		sessions, quotas, questions := store.RulesCached(&e)
		if cached := sessions == len(ev.shops) && quotas && questions; cached != ev.warmed || !ev.warmed && sessions > 0 {
			t.Errorf("%s: %d of %d workshops cached, quotas %v, questions %v (warmed by the job: %v)",
				ev.name, sessions, len(ev.shops), quotas, questions, ev.warmed)
		}
		got, err := n.Warm(&ev.created, ev.shops)
		if err != nil {
			t.Fatal(err)
		}
		if ev.warmed != (got == 0) {
			t.Errorf("%s: %d emails still to render (warmed by the job: %v)", ev.name, got, ev.warmed)
		}
	}
}

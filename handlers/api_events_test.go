package handlers_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/dnum-sociaux/agora/internal/testutil"
	"github.com/dnum-sociaux/agora/models"
)

type registrationJSON struct {
	ID, EventID, Email, Name, Mode, State string
	Direction                             *string
	Position                              *int
}

// apiNewEvent publishes an event with 2 seats, one reserved for DGS, organised
// by org, with corr as the DGS correspondent.
func (ts *testServer) apiNewEvent(org, corr models.User) models.Event {
	ts.t.Helper()
	ctx := context.Background()
	var e models.Event
	start := time.Date(2027, 3, 10, 9, 0, 0, 0, models.Paris)
	testutil.MustTx(ts.t, ts.Store, func(tx *models.Tx) error {
		a := models.Actor{UserID: org.ID, Email: org.Email}
		var err error
		e, err = tx.CreateEvent(ctx, a, "agora.test", models.EventInput{Title: "Journée produit", VenueName: "Ministère", VenueAddress: "14 avenue Duquesne, Paris",
			StartsAt: start.UTC(), EndsAt: start.Add(8 * time.Hour).UTC(), Capacity: 2, Modes: models.ModesBoth})
		if err != nil {
			return err
		}
		if err := tx.SetEventQuotas(ctx, models.NotifierFunc(func(context.Context, *models.Tx, models.Notice) error { return nil }), a, e.ID, map[string]int{"DGS": 1}); err != nil {
			return err
		}
		if err := tx.AddCorrespondent(ctx, a, e.ID, corr.ID, "DGS"); err != nil {
			return err
		}
		e, err = tx.SetEventStatus(ctx, models.NotifierFunc(func(context.Context, *models.Tx, models.Notice) error { return nil }), a, e.ID, models.EventPublished)
		return err
	})
	return e
}

func TestAPIEventRegistrations(t *testing.T) {
	ts := newTestServer(t)
	orgUser := ts.createUser("organiser@example.org", models.RoleOrganiser)
	var corrUser models.User
	testutil.MustTx(t, ts.Store, func(tx *models.Tx) error {
		var err error
		corrUser, err = tx.CreateUser(context.Background(), models.NewUser{Email: "referent@dgs.example.org", Name: "Référente DGS", DirectionCode: "DGS"})
		return err
	})
	e := ts.apiNewEvent(orgUser, corrUser)
	org := ts.api(ts.apiKey(orgUser, "o"))
	corr := ts.api(ts.apiKey(corrUser, "c"))
	agent := ts.api(ts.apiKey(ts.createUser("agent@example.org", models.RoleAgent), "a"))
	late := ts.api(ts.apiKey(ts.createUser("late@example.org", models.RoleAgent), "l"))

	var ev struct {
		ID, Status string
		Capacity   *int
		Quotas     []struct {
			Direction string
			Seats     int
		}
		RegistrationOpen bool `json:"registration_open"`
	}
	agent.get("/api/v1/events/"+e.ID).must(t, http.StatusOK).JSON(t, &ev)
	if ev.Status != "published" || !ev.RegistrationOpen || len(ev.Quotas) != 1 || ev.Quotas[0].Direction != "DGS" {
		t.Fatalf("event = %+v", ev)
	}
	var list struct{ Items []struct{ ID string } }
	agent.get("/api/v1/events").must(t, http.StatusOK).JSON(t, &list)
	if len(list.Items) != 1 {
		t.Fatalf("events = %+v", list)
	}

	// An agent registers themselves (DNUM: the one unreserved seat), with a
	// retry after a timeout that must not register twice.
	var mine registrationJSON
	first := agent.call(http.MethodPost, "/api/v1/events/"+e.ID+"/registrations", map[string]any{"mode": "on_site"}, "Idempotency-Key", "k-1").must(t, http.StatusCreated)
	first.JSON(t, &mine)
	if mine.State != "confirmed" || mine.Email != "agent@example.org" || mine.Mode != "on_site" || first.Header.Get("Location") != ts.Config.URL("/api/v1/registrations/"+mine.ID) {
		t.Fatalf("registration = %+v", mine)
	}
	again := agent.call(http.MethodPost, "/api/v1/events/"+e.ID+"/registrations", map[string]any{"mode": "on_site"}, "Idempotency-Key", "k-1").must(t, http.StatusCreated)
	if again.Header.Get("Idempotent-Replayed") != "true" || string(again.Body) != string(first.Body) {
		t.Fatalf("retry = %s", again.Body)
	}
	agent.call(http.MethodPost, "/api/v1/events/"+e.ID+"/registrations", map[string]any{"mode": "on_site"}).must(t, http.StatusConflict).Problem(t)
	if n := ts.outboxCount("event.registered", "agent@example.org"); n != 1 {
		t.Fatalf("agent got %d confirmation emails", n)
	}
	// An agent may not register someone else.
	agent.call(http.MethodPost, "/api/v1/events/"+e.ID+"/registrations", map[string]any{"email": "x@example.org", "name": "X", "direction": "DNUM", "mode": "on_site"}).
		must(t, http.StatusForbidden).Problem(t)
	// The DGS correspondent registers a DGS agent (the DGS seat), not a DNUM one.
	var dgs registrationJSON
	corr.call(http.MethodPost, "/api/v1/events/"+e.ID+"/registrations", map[string]any{"email": "paul@dgs.example.org", "name": "Paul", "direction": "DGS", "mode": "on_site"}).
		must(t, http.StatusCreated).JSON(t, &dgs)
	if dgs.State != "confirmed" || dgs.Direction == nil || *dgs.Direction != "DGS" {
		t.Fatalf("dgs = %+v", dgs)
	}
	corr.call(http.MethodPost, "/api/v1/events/"+e.ID+"/registrations", map[string]any{"email": "y@example.org", "name": "Y", "direction": "DNUM", "mode": "on_site"}).
		must(t, http.StatusForbidden)
	// Full: the next agent waits, first in line.
	var w registrationJSON
	late.call(http.MethodPost, "/api/v1/events/"+e.ID+"/registrations", map[string]any{"mode": "on_site"}).must(t, http.StatusCreated).JSON(t, &w)
	if w.State != "waitlisted" || w.Position == nil || *w.Position != 1 {
		t.Fatalf("late = %+v", w)
	}
	// Validation: mode required when both are offered.
	p := ts.api(ts.apiKey(ts.createUser("z@example.org", models.RoleAgent), "z")).
		call(http.MethodPost, "/api/v1/events/"+e.ID+"/registrations", map[string]any{}).must(t, http.StatusUnprocessableEntity).Problem(t)
	if p.field("mode") == "" {
		t.Fatalf("problem = %+v", p)
	}
	// Lists: organisers all, the correspondent DGS only, an agent their own.
	var regs struct{ Items []registrationJSON }
	org.get("/api/v1/events/"+e.ID+"/registrations").must(t, http.StatusOK).JSON(t, &regs)
	if len(regs.Items) != 3 {
		t.Fatalf("organiser sees %d", len(regs.Items))
	}
	corr.get("/api/v1/events/"+e.ID+"/registrations").must(t, http.StatusOK).JSON(t, &regs)
	if len(regs.Items) != 1 || regs.Items[0].Email != "paul@dgs.example.org" {
		t.Fatalf("correspondent sees %+v", regs.Items)
	}
	agent.get("/api/v1/events/"+e.ID+"/registrations").must(t, http.StatusOK).JSON(t, &regs)
	if len(regs.Items) != 1 || regs.Items[0].ID != mine.ID {
		t.Fatalf("agent sees %+v", regs.Items)
	}
	late.get("/api/v1/registrations/"+mine.ID).must(t, http.StatusNotFound)
	corr.get("/api/v1/registrations/"+mine.ID).must(t, http.StatusNotFound)
	// The agent cancels: the waiting person gets the seat and the email.
	var cancelled registrationJSON
	agent.call(http.MethodDelete, "/api/v1/registrations/"+mine.ID, nil).must(t, http.StatusOK).JSON(t, &cancelled)
	if cancelled.State != "cancelled" {
		t.Fatalf("cancelled = %+v", cancelled)
	}
	late.get("/api/v1/registrations/"+w.ID).must(t, http.StatusOK).JSON(t, &w)
	if w.State != "confirmed" || w.Position != nil {
		t.Fatalf("promoted = %+v", w)
	}
	if n := ts.outboxCount("event.promoted", "late@example.org"); n != 1 {
		t.Fatalf("late got %d promotion emails", n)
	}
	agent.call(http.MethodDelete, "/api/v1/registrations/"+mine.ID, nil).must(t, http.StatusConflict)
}

func TestAPIEventWrites(t *testing.T) {
	ts := newTestServer(t)
	orgUser := ts.createUser("organiser@example.org", models.RoleOrganiser)
	org := ts.api(ts.apiKey(orgUser, "o"))
	agentUser := ts.createUser("agent@example.org", models.RoleAgent)
	agent := ts.api(ts.apiKey(agentUser, "a"))

	body := map[string]any{"title": "Hackathon des communs", "venue_name": "Ségur", "starts_at": "2027-04-01T09:00:00+02:00",
		"ends_at": "2027-04-01T18:00:00+02:00", "registration_closes_at": "2027-03-25T18:00:00+01:00", "capacity": 1, "modes": "both"}
	agent.call(http.MethodPost, "/api/v1/events", body).must(t, http.StatusForbidden).Problem(t)
	var ev struct {
		ID, Status, Venue string
		Capacity          *int
		Modes             []string
		Closes            *string `json:"registration_closes_at"`
	}
	org.call(http.MethodPost, "/api/v1/events", body).must(t, http.StatusCreated).JSON(t, &ev)
	if ev.Status != "draft" || *ev.Capacity != 1 || len(ev.Modes) != 2 || ev.Closes == nil || *ev.Closes != "2027-03-25T18:00:00+01:00" {
		t.Fatalf("event = %+v", ev)
	}
	// A draft does not exist for agents.
	agent.get("/api/v1/events/"+ev.ID).must(t, http.StatusNotFound)
	p := org.call(http.MethodPost, "/api/v1/events", map[string]any{"title": "x", "starts_at": "demain", "ends_at": "2027-04-01T18:00:00+02:00", "modes": "partout"}).
		must(t, http.StatusUnprocessableEntity).Problem(t)
	if p.field("starts_at") == "" || p.field("modes") == "" {
		t.Fatalf("problem = %+v", p)
	}
	// Patch: capacity up, closing bound removed.
	org.call(http.MethodPatch, "/api/v1/events/"+ev.ID, map[string]any{"capacity": 3, "registration_closes_at": nil}).must(t, http.StatusOK).JSON(t, &ev)
	if *ev.Capacity != 3 || ev.Closes != nil || ev.Venue != "Ségur" {
		t.Fatalf("patched = %+v", ev)
	}
	agent.call(http.MethodPatch, "/api/v1/events/"+ev.ID, map[string]any{"capacity": 9}).must(t, http.StatusNotFound)

	// Publish (on the web's model), register, change the mode.
	testutil.MustTx(t, ts.Store, func(tx *models.Tx) error {
		_, err := tx.SetEventStatus(context.Background(), models.NotifierFunc(func(context.Context, *models.Tx, models.Notice) error { return nil }),
			models.Actor{UserID: orgUser.ID}, ev.ID, models.EventPublished)
		return err
	})
	var reg registrationJSON
	agent.call(http.MethodPost, "/api/v1/events/"+ev.ID+"/registrations", map[string]any{"mode": "on_site"}).must(t, http.StatusCreated).JSON(t, &reg)
	agent.call(http.MethodPatch, "/api/v1/registrations/"+reg.ID, map[string]any{"mode": "remote", "name": "Agent Renommé"}).must(t, http.StatusOK).JSON(t, &reg)
	if reg.Mode != "remote" || reg.Name != "Agent Renommé" || reg.State != "confirmed" {
		t.Fatalf("patched registration = %+v", reg)
	}
	p = agent.call(http.MethodPatch, "/api/v1/registrations/"+reg.ID, map[string]any{"mode": "par pigeon"}).must(t, http.StatusUnprocessableEntity).Problem(t)
	if p.field("mode") == "" {
		t.Fatalf("problem = %+v", p)
	}
	ts.api(ts.apiKey(ts.createUser("other@example.org", models.RoleAgent), "x")).
		call(http.MethodPatch, "/api/v1/registrations/"+reg.ID, map[string]any{"name": "Pirate"}).must(t, http.StatusNotFound)
}

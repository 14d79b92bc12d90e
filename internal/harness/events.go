package harness

import (
	"context"
	"fmt"
	"time"

	"github.com/dnum-sociaux/agora/models"
)

// Events is what the event scenarios need.
type Events struct {
	Programme     string // published event with the data set's workshops
	Export        string // published event with ExportRegs registrations (answers, a workshop each)
	ExportRegs    int    //
	Burst         string // published event, empty, for the registration burst
	BurstCapacity int    // its seats (with quotas)
	BurstQuotas   map[string]int
	BurstSessions []string // one logged-in agent per registration of the burst
}

// seedEvents creates the events of the data set through the models.
func seedEvents(ctx context.Context, store *models.Store, ds DataSet, out *Seeded) error {
	admin, err := store.UserByEmail(ctx, out.AdminEmail)
	if err != nil {
		return err
	}
	a := models.Actor{UserID: admin.ID, Email: admin.Email}
	start := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 1, 0).Add(8 * time.Hour)
	event := func(tx *models.Tx, title string, capacity int) (models.Event, error) {
		e, err := tx.CreateEvent(ctx, a, "agora.test", models.EventInput{Title: title, StartsAt: start, EndsAt: start.Add(9 * time.Hour),
			Capacity: capacity, Modes: models.ModesBoth, VenueName: "Ministère", VenueAddress: "14 avenue Duquesne, 75007 Paris",
			Description: "La journée produit de la DNUM avec les directions métier."})
		if err != nil {
			return e, err
		}
		if _, err := tx.AddQuestion(ctx, a, e.ID, models.QuestionInput{Label: "Régime alimentaire", Kind: models.QuestionShort}); err != nil {
			return e, err
		}
		return tx.SetEventStatus(ctx, models.NoNotify, a, e.ID, models.EventPublished)
	}
	ev := &out.Events
	ev.ExportRegs = ds.ExportRegs
	ev.BurstCapacity = ds.BurstAgents * 3 / 8
	ev.BurstQuotas = map[string]int{"DGCS": ev.BurstCapacity / 10, "DGOS": ev.BurstCapacity / 10, "DSS": ev.BurstCapacity / 20}
	err = store.Tx(ctx, func(tx *models.Tx) error {
		p, err := event(tx, "Journée produit (programme)", 0)
		if err != nil {
			return err
		}
		ev.Programme = p.ID
		for i := range ds.Workshops {
			at := start.Add(time.Duration(i/10) * 50 * time.Minute)
			if _, err := tx.AddSlot(ctx, a, admin, p.ID, "agora.test", models.SlotInput{Kind: models.SlotWorkshop,
				SessionInput: models.SessionInput{Title: fmt.Sprintf("Atelier %d : données, design et communs", i+1), StartsAt: at,
					EndsAt: at.Add(45 * time.Minute), Room: fmt.Sprintf("Salle %d", i%10+1), Capacity: 30,
					Agenda: "Un atelier pour **avancer** ensemble :\n\n- cadrer\n- prototyper"}}); err != nil {
				return err
			}
		}
		b, err := event(tx, "Journée produit (ouverture des inscriptions)", ev.BurstCapacity)
		if err != nil {
			return err
		}
		ev.Burst = b.ID
		if err := tx.SetEventQuotas(ctx, models.NoNotify, a, b.ID, ev.BurstQuotas); err != nil {
			return err
		}
		x, err := event(tx, "Journée produit (export)", 0)
		if err != nil {
			return err
		}
		ev.Export = x.ID
		// Every agent of the burst gets a logged-in browser.
		for i := range min(ds.BurstAgents, ds.Agents) {
			u, err := tx.UserByEmail(ctx, AgentEmail(i))
			if err != nil {
				return err
			}
			secret, err := tx.CreateWebSession(ctx, u.ID, 24*time.Hour)
			if err != nil {
				return err
			}
			ev.BurstSessions = append(ev.BurstSessions, secret)
		}
		return nil
	})
	if err != nil {
		return err
	}
	qs, err := store.EventQuestions(ctx, ev.Export)
	if err != nil {
		return err
	}
	for first := 0; first < ds.ExportRegs; first += 1000 {
		err := store.Tx(ctx, func(tx *models.Tx) error {
			for i := first; i < min(first+1000, ds.ExportRegs); i++ {
				if _, err := tx.Register(ctx, models.NoNotify, models.NewRegistration{EventID: ev.Export,
					Email: fmt.Sprintf("inscrit%05d@bench.test", i), Name: fmt.Sprintf("Inscrit %05d Martin", i), DirectionCode: "DNUM",
					Mode: models.ModeOnsite, Answers: map[string]string{qs[0].ID: "Végétarien"}, By: &admin, Actor: a}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// BurstOutcome counts the burst event's registrations after the burst and
// checks the seat rules: exactly the capacity confirmed, every quota
// filled, the kept seat counts equal to a count of the registrations.
func BurstOutcome(ctx context.Context, dsn string, ev Events) (confirmed, waitlisted int, problems []string, err error) {
	store, err := models.Open(ctx, dsn, models.Options{})
	if err != nil {
		return 0, 0, nil, err
	}
	defer store.Close()
	e, err := store.EventByID(ctx, ev.Burst)
	if err != nil {
		return 0, 0, nil, err
	}
	st, err := store.EventStatistics(ctx, &e)
	if err != nil {
		return 0, 0, nil, err
	}
	if st.SeatsTaken != ev.BurstCapacity {
		problems = append(problems, fmt.Sprintf("%d seats taken for a capacity of %d", st.SeatsTaken, ev.BurstCapacity))
	}
	for _, d := range st.ByDirection {
		if q := ev.BurstQuotas[d.Code]; q > 0 && d.Seats < q {
			problems = append(problems, fmt.Sprintf("%s: %d seats for a quota of %d", d.Code, d.Seats, q))
		}
	}
	diffs, err := store.CheckSeatCounts(ctx, ev.Burst)
	if err != nil {
		return 0, 0, nil, err
	}
	problems = append(problems, diffs...)
	return st.Counts.Confirmed, st.Counts.Waitlisted, problems, nil
}

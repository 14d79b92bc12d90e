package harness

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/dnum-sociaux/agora/models"
)

// Event is the product event of the data set, as the registration burst
// needs it: its capacity and quotas, its workshops by time block (one form
// field per block), and the id of its one question.
type Event struct {
	ID         string
	Capacity   int
	Quotas     map[string]int
	Blocks     [][]Workshop // Blocks[b] holds the workshops of time block b (form field ws_<b+1>)
	QuestionID string
}

// Form is what agent seq posts to register (without the CSRF token): on
// site (one in ten remote), the question answered, and a workshop in three
// of the time blocks, rooms spread.
func (e *Event) Form(seq int) url.Values {
	form := url.Values{"mode": {"onsite"}, "q_" + e.QuestionID: {"Végétarien"}}
	if seq%10 == 9 {
		form.Set("mode", "remote")
	}
	nb := len(e.Blocks)
	for k := range 3 {
		blk := (seq + 3*k) % nb
		if form.Has(fmt.Sprintf("ws_%d", blk+1)) {
			continue
		}
		room := (seq/nb + k) % len(e.Blocks[blk])
		form.Set(fmt.Sprintf("ws_%d", blk+1), e.Blocks[blk][room].ID)
	}
	return form
}

// Workshop is one workshop of the seeded event.
type Workshop struct {
	ID       string
	Capacity int
}

// Workshops lists every workshop of the event.
func (e *Event) Workshops() []Workshop {
	var out []Workshop
	for _, b := range e.Blocks {
		out = append(out, b...)
	}
	return out
}

// eventDay is a Paris day some weeks ahead (the server runs on the real
// clock: the event must be in the future).
func eventDay(weeks int) time.Time {
	d := time.Now().In(models.Paris).AddDate(0, 0, 7*weeks)
	return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, models.Paris)
}

// seedEvent creates a published event organised by the admin: capacity
// seats with EventQuotas, a plenary, blocks×rooms workshops (capacities 20,
// 30 or 40), a closing talk, and one optional question.
func seedEvent(ctx context.Context, store *models.Store, admin models.User, title string, weeks, capacity, blocks, rooms int, quotas map[string]int) (Event, error) {
	out := Event{Capacity: capacity, Quotas: quotas, Blocks: make([][]Workshop, blocks)}
	a := models.Actor{UserID: admin.ID, Email: admin.Email}
	err := store.Tx(ctx, func(tx *models.Tx) error {
		day := eventDay(weeks)
		start, end := day.Add(8*time.Hour+30*time.Minute), day.Add(18*time.Hour+30*time.Minute)
		e, err := tx.CreateEvent(ctx, a, "agora.test", models.EventInput{
			Title: title, Description: "## La journée des produits\n\nAteliers, retours d'expérience et **communs**.",
			VenueName: "Ministère des Solidarités", VenueAddress: "14 avenue Duquesne\n75007 Paris",
			VenueAccess: "Métro Saint-François-Xavier", VenueAccessibility: "Salles accessibles en fauteuil, boucle magnétique en plénière.",
			OnlineURL: "https://webconf.numerique.gouv.fr/journee-produit", StartsAt: start, EndsAt: end,
			Capacity: capacity, Modes: models.ModesBoth,
		})
		if err != nil {
			return err
		}
		out.ID = e.ID
		if len(quotas) > 0 {
			if err := tx.SetEventQuotas(ctx, models.NoNotify, a, e.ID, quotas); err != nil {
				return err
			}
		}
		q, err := tx.AddQuestion(ctx, a, e.ID, models.QuestionInput{Label: "Régime alimentaire", Kind: models.QuestionShort})
		if err != nil {
			return err
		}
		out.QuestionID = q.ID
		slot := func(kind models.SlotKind, title, room string, from time.Time, d time.Duration, capacity int) (models.Slot, error) {
			return tx.AddSlot(ctx, a, admin, e.ID, "agora.test", models.SlotInput{Kind: kind, SessionInput: models.SessionInput{
				Title: title, StartsAt: from, EndsAt: from.Add(d), Room: room, Capacity: capacity,
				Agenda: "Un atelier pour **avancer** ensemble :\n\n- cadrer\n- prototyper\n- décider"}})
		}
		if _, err := slot(models.SlotTalk, "Ouverture de la journée", "Amphithéâtre", start.Add(15*time.Minute), 40*time.Minute, 0); err != nil {
			return err
		}
		for b := range blocks {
			from := start.Add(time.Hour + time.Duration(b)*50*time.Minute)
			for r := range rooms {
				capacity := 20 + 10*((b*rooms+r)%3)
				s, err := slot(models.SlotWorkshop, fmt.Sprintf("Atelier %d.%d : données, design et communs", b+1, r+1),
					fmt.Sprintf("Salle %d", r+1), from, 40*time.Minute, capacity)
				if err != nil {
					return err
				}
				out.Blocks[b] = append(out.Blocks[b], Workshop{ID: s.ID, Capacity: capacity})
			}
		}
		if _, err := slot(models.SlotTalk, "Clôture", "Amphithéâtre", end.Add(-45*time.Minute), 30*time.Minute, 0); err != nil {
			return err
		}
		_, err = tx.SetEventStatus(ctx, models.NoNotify, a, e.ID, models.EventPublished)
		return err
	})
	return out, err
}

// seedExportEvent creates an event with n registrations (people without
// an account, an answer and a workshop each), for the export scenario.
func seedExportEvent(ctx context.Context, store *models.Store, admin models.User, n int) (string, error) {
	ev, err := seedEvent(ctx, store, admin, "Séminaire des référents (export)", 10, 0, 1, 2, nil)
	if err != nil {
		return "", err
	}
	for first := 0; first < n; first += 2000 {
		err := store.Tx(ctx, func(tx *models.Tx) error {
			for i := first; i < min(first+2000, n); i++ {
				_, err := tx.Register(ctx, models.NoNotify, models.NewRegistration{EventID: ev.ID,
					Email: fmt.Sprintf("export%05d@bench.test", i), Name: fmt.Sprintf("Personne %05d Export", i), DirectionCode: "DNUM",
					Mode: models.ModeOnsite, Answers: map[string]string{ev.QuestionID: "Végétarien; sans gluten, \"merci\""},
					Workshops: []string{ev.Blocks[0][i%2].ID}, Actor: models.Actor{Email: "bench"}})
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return "", err
		}
	}
	return ev.ID, nil
}

// seedCommittee creates the weekly product committee: an open group whose
// members are the first `members` agents, with a session for the RSVP burst
// and one for its warm-up, `capacity` places each.
func seedCommittee(ctx context.Context, store *models.Store, ds DataSet, out *Seeded) error {
	return store.Tx(ctx, func(tx *models.Tx) error {
		org, err := tx.UserByEmail(ctx, out.AdminEmail)
		if err != nil {
			return err
		}
		g, err := tx.CreateGroup(ctx, org, models.GroupInput{Title: "Comité produit", Summary: "Le comité produit hebdomadaire de la sous-direction.",
			Description: "Revue des produits à chaque phase.", Theme: models.Themes[1], JoinPolicy: models.JoinOpen})
		if err != nil {
			return err
		}
		out.CommitteeGroup, out.RSVPCapacity = g.ID, ds.RSVPCapacity
		for i := range min(ds.CommitteeMembers, ds.Agents) {
			u, err := tx.UserByEmail(ctx, AgentEmail(i))
			if err != nil {
				return err
			}
			if err := tx.Join(ctx, u, g.ID); err != nil && !errors.Is(err, models.ErrAlreadyMember) {
				return err
			}
			out.CommitteeMembers = append(out.CommitteeMembers, i)
		}
		day := eventDay(3)
		for k, dst := range []*string{&out.RSVPSession, &out.RSVPWarmupSession} {
			at := day.Add(time.Duration(14+k) * time.Hour)
			s, err := tx.CreateSession(ctx, org, models.NewSession{GroupID: g.ID, UIDHost: "agora.test", SessionInput: models.SessionInput{
				Title: []string{"Comité produit de rentrée", "Comité produit (échauffement)"}[k], StartsAt: at, EndsAt: at.Add(2 * time.Hour),
				Room: "Salle 4010", Capacity: ds.RSVPCapacity, Agenda: "1. Revue des demandes\n2. Décisions"}})
			if err != nil {
				return err
			}
			*dst = s.ID
		}
		return nil
	})
}

// seedFeedUsers makes each of the last ds.FeedUsers agents a member of
// ds.FeedGroups groups, so that their personal feed holds about
// FeedGroups × (GroupSess/Groups) sessions.
func seedFeedUsers(ctx context.Context, store *models.Store, ds DataSet, out *Seeded) error {
	if len(out.Groups) == 0 {
		return nil
	}
	return store.Tx(ctx, func(tx *models.Tx) error {
		for k := range min(ds.FeedUsers, ds.Agents) {
			i := ds.Agents - 1 - k
			u, err := tx.UserByEmail(ctx, AgentEmail(i))
			if err != nil {
				return err
			}
			for j := range min(ds.FeedGroups, len(out.Groups)) {
				g := out.Groups[(k*7+j*37)%len(out.Groups)]
				if err := tx.Join(ctx, u, g); err != nil && !errors.Is(err, models.ErrAlreadyMember) {
					return err
				}
			}
			out.FeedUsers = append(out.FeedUsers, i)
		}
		return nil
	})
}

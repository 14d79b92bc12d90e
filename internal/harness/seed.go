package harness

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dnum-sociaux/agora/assets"
	"github.com/dnum-sociaux/agora/internal/mail"
	"github.com/dnum-sociaux/agora/internal/render"
	"github.com/dnum-sociaux/agora/models"
	"github.com/dnum-sociaux/agora/templates"
)

// DataSet is the size of the realistic data set the benchmark runs on.
type DataSet struct {
	Agents    int // accounts with a name and a direction
	Outbox    int // delivered emails in the outbox (what the admin pages list)
	Sessions  int // logged-in browsers among the agents (the first ones)
	Groups    int // working groups
	GroupSess int // sessions of those groups

	// The product event: Blocks time blocks of Rooms workshops each, a
	// capacity of EventCapacity seats with EventQuotas.
	EventCapacity, Blocks, Rooms int
	Quotas                       map[string]int
	// ExportRegistrations are the registrations of a second event, for the
	// export scenario.
	ExportRegistrations int

	// The product committee: an open group of the first CommitteeMembers
	// agents, with a session of RSVPCapacity places for the RSVP burst.
	CommitteeMembers, RSVPCapacity int

	// FeedUsers agents (the last ones) belong to FeedGroups groups each:
	// their personal calendar feeds hold FeedGroups × GroupSess/Groups
	// sessions.
	FeedUsers, FeedGroups int
}

// FullDataSet is the data set: directions, 5,000 agents, 1,000
// groups, 20,000 sessions, one event with quotas and 100 workshops (10
// blocks of 10 rooms); beside it, the product committee of 2,000 members,
// 300 agents whose feeds hold 500 sessions, and an event with 10,000
// registrations to export.
var FullDataSet = DataSet{Agents: 5000, Outbox: 5000, Sessions: 5000, Groups: 1000, GroupSess: 20000,
	EventCapacity: 2000, Quotas: map[string]int{"DNUM": 250, "DGCS": 150, "DGOS": 150, "DSS": 100}, Blocks: 10, Rooms: 10, ExportRegistrations: 10000,
	CommitteeMembers: 2000, RSVPCapacity: 50, FeedUsers: 300, FeedGroups: 25}

// SmallDataSet is a smoke test of the harness.
var SmallDataSet = DataSet{Agents: 400, Outbox: 300, Sessions: 400, Groups: 40, GroupSess: 400,
	EventCapacity: 150, Quotas: map[string]int{"DNUM": 20, "DGCS": 10, "DGOS": 10, "DSS": 5}, Blocks: 3, Rooms: 4, ExportRegistrations: 500,
	CommitteeMembers: 200, RSVPCapacity: 20, FeedUsers: 40, FeedGroups: 10}

// Seeded is what Seed made and what the load needs to replay it.
type Seeded struct {
	Directions    int
	Agents        int
	Outbox        int
	AdminEmail    string
	AdminSession  string   // cookie value of a logged-in admin
	AgentSessions []string // cookie values of logged-in agents: AgentSessions[i] is agent i's
	Groups        []string // ids of the seeded groups (open, active)
	GroupSessions int

	Event          Event  // the product event (registration burst, programme)
	WarmupEvent    Event  // the same shape, for the burst's warm-up
	PacedEvent     Event  // the same shape, for registrations at a set rate
	ExportEvent    string // id of the event with ExportRegistrations registrations
	ExportRegs     int
	CommitteeGroup string
	// CommitteeMembers are the agent numbers of the committee's members.
	CommitteeMembers  []int
	RSVPSession       string
	RSVPCapacity      int
	RSVPWarmupSession string
	FeedUsers         []int // agent numbers whose feeds are large

	Took time.Duration

	admin models.User
}

// Seed migrates the database at dsn and fills it through the models (the
// same code paths and rules as the application), in a few large transactions.
func Seed(ctx context.Context, dsn string, ds DataSet) (Seeded, error) {
	t0 := time.Now()
	var out Seeded
	store, err := models.Open(ctx, dsn, models.Options{})
	if err != nil {
		return out, err
	}
	defer store.Close()
	m, err := store.Migrator(nil)
	if err != nil {
		return out, err
	}
	if _, err := m.Up(ctx); err != nil {
		return out, err
	}
	composer, err := Composer("http://agora.test")
	if err != nil {
		return out, err
	}
	err = store.Tx(ctx, func(tx *models.Tx) error {
		if _, err := tx.SeedDirections(ctx); err != nil {
			return err
		}
		dirs, err := tx.ListDirections(ctx, false)
		if err != nil {
			return err
		}
		out.Directions = len(dirs)
		admin, err := tx.CreateUser(ctx, models.NewUser{Email: "admin@bench.test", Name: "Admin Bench", DirectionCode: "DNUM", Role: models.RoleAdmin})
		if err != nil {
			return err
		}
		out.AdminEmail = admin.Email
		out.admin = admin
		if out.AdminSession, err = tx.CreateWebSession(ctx, admin.ID, 24*time.Hour); err != nil {
			return err
		}
		for i := range ds.Agents {
			u, err := tx.CreateUser(ctx, models.NewUser{
				Email:         AgentEmail(i),
				Name:          fmt.Sprintf("Agent %05d Dupont", i),
				DirectionCode: dirs[i%len(dirs)].Code,
				Role:          models.RoleAgent,
			})
			if err != nil {
				return err
			}
			if i < ds.Sessions {
				secret, err := tx.CreateWebSession(ctx, u.ID, 24*time.Hour)
				if err != nil {
					return err
				}
				out.AgentSessions = append(out.AgentSessions, secret)
			}
			out.Agents++
		}
		for i := range ds.Outbox {
			msg, err := LoginMail(composer, fmt.Sprintf("seed:%d", i), AgentEmail(i%max(ds.Agents, 1)))
			if err != nil {
				return err
			}
			if _, err := tx.Enqueue(ctx, msg); err != nil {
				return err
			}
			out.Outbox++
		}
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("seed: %w", err)
	}
	// The seeded emails are history: delivered long ago, not for the worker.
	_, w := store.SQL()
	if _, err := w.ExecContext(ctx, "UPDATE outbox SET state = 'sent', sent_at = created_at, captured = TRUE WHERE dedupe_key LIKE 'seed:%'"); err != nil {
		return out, err
	}
	if ds.Groups > 0 {
		if err := seedGroups(ctx, store, ds, &out); err != nil {
			return out, fmt.Errorf("seed groups: %w", err)
		}
	}
	if ds.CommitteeMembers > 0 {
		if err := seedCommittee(ctx, store, ds, &out); err != nil {
			return out, fmt.Errorf("seed committee: %w", err)
		}
	}
	if err := seedFeedUsers(ctx, store, ds, &out); err != nil {
		return out, fmt.Errorf("seed feed users: %w", err)
	}
	if ds.Blocks > 0 {
		if out.Event, err = seedEvent(ctx, store, out.admin, "Journée produit", 8, ds.EventCapacity, ds.Blocks, ds.Rooms, ds.Quotas); err != nil {
			return out, fmt.Errorf("seed event: %w", err)
		}
		if out.WarmupEvent, err = seedEvent(ctx, store, out.admin, "Journée produit (échauffement)", 9, ds.EventCapacity, ds.Blocks, ds.Rooms, ds.Quotas); err != nil {
			return out, fmt.Errorf("seed warm-up event: %w", err)
		}
		if out.PacedEvent, err = seedEvent(ctx, store, out.admin, "Journée produit (au rythme)", 10, ds.EventCapacity, ds.Blocks, ds.Rooms, ds.Quotas); err != nil {
			return out, fmt.Errorf("seed paced event: %w", err)
		}
	}
	if ds.ExportRegistrations > 0 {
		if out.ExportEvent, err = seedExportEvent(ctx, store, out.admin, ds.ExportRegistrations); err != nil {
			return out, fmt.Errorf("seed export event: %w", err)
		}
		out.ExportRegs = ds.ExportRegistrations
	}
	out.Took = time.Since(t0)
	return out, nil
}

// AgentEmail is the address of seeded agent i.
func AgentEmail(i int) string { return fmt.Sprintf("agent%05d@bench.test", i) }

// Composer renders Agora's real email templates.
func Composer(baseURL string) (*mail.Composer, error) {
	static, err := assets.New()
	if err != nil {
		return nil, err
	}
	r, err := render.New(templates.FS, map[string]any{"asset": static.URL})
	if err != nil {
		return nil, err
	}
	return mail.NewComposer(r, baseURL), nil
}

// LoginMail composes a login email like the one Agora sends.
func LoginMail(c *mail.Composer, key, to string) (models.OutboxMessage, error) {
	_, hash := models.NewSecret()
	return c.Compose("login", key, to, "login", struct {
		Link    string
		Minutes int
	}{Link: "http://agora.test/login/" + hash[:43], Minutes: 15})
}

// EnqueueMails adds n pending login emails to the outbox of a running
// Agora's database, in one transaction; the worker picks them up.
func EnqueueMails(ctx context.Context, dsn, prefix string, n int) error {
	store, err := models.Open(ctx, dsn, models.Options{})
	if err != nil {
		return err
	}
	defer store.Close()
	composer, err := Composer("http://agora.test")
	if err != nil {
		return err
	}
	return store.Tx(ctx, func(tx *models.Tx) error {
		for i := range n {
			msg, err := LoginMail(composer, fmt.Sprintf("%s:%d", prefix, i), fmt.Sprintf("%s%05d@bench.test", prefix, i))
			if err != nil {
				return err
			}
			if _, err := tx.Enqueue(ctx, msg); err != nil {
				return err
			}
		}
		return nil
	})
}

// seedGroups creates ds.Groups open groups (organised by agents, ten
// members each) holding ds.GroupSess sessions in all, weekly from now on.
func seedGroups(ctx context.Context, store *models.Store, ds DataSet, out *Seeded) error {
	perGroup := max(ds.GroupSess/ds.Groups, 1)
	start := time.Now().UTC().Truncate(24 * time.Hour).Add(7*24*time.Hour + 8*time.Hour)
	const chunk = 100 // groups per transaction
	for first := 0; first < ds.Groups; first += chunk {
		err := store.Tx(ctx, func(tx *models.Tx) error {
			for i := first; i < min(first+chunk, ds.Groups); i++ {
				org, err := tx.UserByEmail(ctx, AgentEmail(i%max(ds.Agents, 1)))
				if err != nil {
					return err
				}
				if org.Role != models.RoleOrganiser {
					if err := tx.SetRole(ctx, org.ID, models.RoleOrganiser); err != nil {
						return err
					}
					org.Role = models.RoleOrganiser
				}
				g, err := tx.CreateGroup(ctx, org, models.GroupInput{
					Title:       fmt.Sprintf("Groupe de travail %04d", i),
					Summary:     "Un groupe de travail de la DNUM sur les communs et le rôle métier.",
					Description: "## Objectif\n\nPartager les pratiques.\n\n- un point\n- un autre",
					Theme:       models.Themes[i%len(models.Themes)],
					JoinPolicy:  models.JoinOpen,
				})
				if err != nil {
					return err
				}
				out.Groups = append(out.Groups, g.ID)
				for m := 1; m <= 10 && ds.Agents > 10; m++ {
					u, err := tx.UserByEmail(ctx, AgentEmail((i*10+m)%ds.Agents))
					if err != nil {
						return err
					}
					if err := tx.Join(ctx, u, g.ID); err != nil && !errors.Is(err, models.ErrAlreadyMember) {
						return err
					}
				}
				for k := range perGroup {
					at := start.Add(time.Duration(k)*7*24*time.Hour + time.Duration(i%8)*time.Hour)
					if _, err := tx.CreateSession(ctx, org, models.NewSession{GroupID: g.ID, UIDHost: "agora.test",
						SessionInput: models.SessionInput{Title: fmt.Sprintf("Séance %d", k+1), StartsAt: at, EndsAt: at.Add(90 * time.Minute),
							Room: "Salle 1", Agenda: "Tour de table"}}); err != nil {
						return err
					}
					out.GroupSessions++
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

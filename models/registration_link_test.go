package models_test

import (
	"context"
	"errors"
	"testing"

	"github.com/dnum-sociaux/agora/internal/testutil"
	"github.com/dnum-sociaux/agora/models"
)

// Asking for a management link again finds a registration that is not
// cancelled, by address, at a visible event; an archived event's links have
// expired, whoever asks.
func TestRegistrationForNewLink(t *testing.T) {
	eachEventStore(t, func(t *testing.T, s *models.Store, clock *testutil.Clock) {
		f := newEventFixture(t, s, clock, 10, models.ModesOnsite, nil)
		ctx := context.Background()
		a := f.mustRegister("a@x.fr", "DNUM", models.ModeOnsite)
		c := f.mustRegister("c@x.fr", "DNUM", models.ModeOnsite)
		f.cancel(c.ID)
		r, e, err := s.RegistrationForNewLink(ctx, f.event.ID, "A@X.fr")
		if err != nil || r.ID != a.ID || e.ID != f.event.ID {
			t.Fatalf("registered address: %v (%s)", err, r.ID)
		}
		for _, email := range []string{"c@x.fr", "inconnu@x.fr"} {
			if _, _, err := s.RegistrationForNewLink(ctx, f.event.ID, email); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("%s: %v, want ErrNotFound", email, err)
			}
		}
		if _, _, err := s.RegistrationForNewLink(ctx, "inconnu", "a@x.fr"); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("unknown event: %v, want ErrNotFound", err)
		}

		// The event of a link, from its id alone.
		var token string
		testutil.MustTx(t, s, func(tx *models.Tx) error {
			var err error
			token, err = tx.NewRegistrationLink(ctx, a.ID)
			return err
		})
		id, _, _ := cut(token)
		for _, good := range []string{token, id, id + ".tronqu"} {
			if e, err := s.EventOfLinkID(ctx, good); err != nil || e.ID != f.event.ID {
				t.Errorf("event of %q: %v", good, err)
			}
		}
		for _, bad := range []string{"", "abc", id[:17], "zzzzzzzzzzzzzzzzzz.x", "0123456789abcdef01." + token[19:]} {
			if _, err := s.EventOfLinkID(ctx, bad); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("event of %q: %v, want ErrNotFound", bad, err)
			}
		}

		testutil.MustTx(t, s, func(tx *models.Tx) error {
			_, err := tx.SetEventStatus(ctx, models.NoNotify, models.Actor{}, f.event.ID, models.EventArchived)
			return err
		})
		for _, email := range []string{"a@x.fr", "c@x.fr", "inconnu@x.fr"} {
			if _, e, err := s.RegistrationForNewLink(ctx, f.event.ID, email); !errors.Is(err, models.ErrLinkExpired) || e.ID != f.event.ID {
				t.Errorf("archived event, %s: %v, want ErrLinkExpired", email, err)
			}
		}
		testutil.MustTx(t, s, func(tx *models.Tx) error {
			_, err := tx.SetEventStatus(ctx, models.NoNotify, models.Actor{}, f.event.ID, models.EventDraft)
			return err
		})
		if _, _, err := s.RegistrationForNewLink(ctx, f.event.ID, "a@x.fr"); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("draft event: %v, want ErrNotFound", err)
		}
	})
}

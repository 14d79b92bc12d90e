package models_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dnum-sociaux/agora/internal/testutil"
	"github.com/dnum-sociaux/agora/models"
)

func mustUser(t *testing.T, s *models.Store, email string, role models.Role) models.User {
	t.Helper()
	var u models.User
	testutil.MustTx(t, s, func(tx *models.Tx) error {
		var err error
		u, err = tx.CreateUser(context.Background(), models.NewUser{Email: email, Name: "Nom " + email, DirectionCode: "DNUM", Role: role})
		return err
	})
	return u
}

func TestAPIKeyLifecycle(t *testing.T) {
	clock := testutil.NewClock()
	testutil.EachStore(t, clock.Now, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		owner := mustUser(t, s, "owner@example.org", models.RoleAgent)
		other := mustUser(t, s, "other@example.org", models.RoleAgent)
		admin := mustUser(t, s, "admin@example.org", models.RoleAdmin)

		var key models.APIKey
		var secret string
		testutil.MustTx(t, s, func(tx *models.Tx) error {
			var err error
			key, secret, err = tx.CreateAPIKey(ctx, owner.ID, "  Grist  ")
			return err
		})
		if !strings.HasPrefix(secret, models.APIKeyPrefix) || len(secret) != len(models.APIKeyPrefix)+43 {
			t.Fatalf("secret %q has the wrong shape", secret)
		}
		if key.Name != "Grist" || !strings.HasPrefix(secret, key.Prefix) || key.OwnerEmail != owner.Email {
			t.Fatalf("key = %+v", key)
		}
		// Only the hash is stored.
		read, _ := s.SQL()
		var n int
		if err := read.QueryRow("SELECT COUNT(*) FROM api_keys WHERE key_hash = '" + models.HashSecret(secret) + "'").Scan(&n); err != nil || n != 1 {
			t.Fatalf("stored hash count = %d, %v", n, err)
		}
		if err := read.QueryRow("SELECT COUNT(*) FROM api_keys WHERE key_hash LIKE '%" + secret[10:30] + "%'").Scan(&n); err != nil || n != 0 {
			t.Fatalf("the secret is stored in clear (%d, %v)", n, err)
		}

		k, u, err := s.APIKeyUser(ctx, secret)
		if err != nil || k.ID != key.ID || u.ID != owner.ID {
			t.Fatalf("APIKeyUser = %+v %+v %v", k, u, err)
		}
		for _, bad := range []string{"", "agora_", secret + "x", strings.TrimPrefix(secret, models.APIKeyPrefix)} {
			if _, _, err := s.APIKeyUser(ctx, bad); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("APIKeyUser(%q) err = %v, want ErrNotFound", bad, err)
			}
		}

		// Someone else cannot revoke it, nor learn it exists.
		err = s.Tx(ctx, func(tx *models.Tx) error { _, err := tx.RevokeAPIKey(ctx, &other, key.ID); return err })
		if !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("revoke by another user: %v", err)
		}
		if _, _, err := s.APIKeyUser(ctx, secret); err != nil {
			t.Fatalf("key stopped working after a refused revocation: %v", err)
		}
		// An admin can.
		clock.Advance(time.Minute)
		testutil.MustTx(t, s, func(tx *models.Tx) error { _, err := tx.RevokeAPIKey(ctx, &admin, key.ID); return err })
		if _, _, err := s.APIKeyUser(ctx, secret); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("revoked key still works: %v", err)
		}
		all, total, err := s.ListAPIKeys(ctx, models.APIKeyFilter{UserID: owner.ID})
		if err != nil || total != 1 || all[0].Active() {
			t.Fatalf("list = %+v %d %v", all, total, err)
		}
		active, _, _ := s.ListAPIKeys(ctx, models.APIKeyFilter{ActiveOnly: true})
		if len(active) != 0 {
			t.Fatalf("active keys after revocation: %d", len(active))
		}
	})
}

func TestIdempotencyKeyConflict(t *testing.T) {
	clock := testutil.NewClock()
	testutil.EachStore(t, clock.Now, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		u := mustUser(t, s, "a@example.org", models.RoleAgent)
		if _, err := s.IdempotentResponse(ctx, u.ID, "k1"); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("unknown key: %v", err)
		}
		first := models.IdempotentResponse{RequestHash: "h1", Status: 201, Location: "/api/v1/x/1", Body: `{"id":"1"}`}
		testutil.MustTx(t, s, func(tx *models.Tx) error { return tx.SaveIdempotentResponse(ctx, u.ID, "k1", first) })
		got, err := s.IdempotentResponse(ctx, u.ID, "k1")
		if err != nil || got.Status != 201 || got.Body != first.Body || got.RequestHash != "h1" || got.Location != first.Location {
			t.Fatalf("stored = %+v, %v", got, err)
		}
		// A second save with the same key fails and rolls back its transaction.
		err = s.Tx(ctx, func(tx *models.Tx) error {
			if _, err := tx.CreateUser(ctx, models.NewUser{Email: "rolled-back@example.org"}); err != nil {
				return err
			}
			return tx.SaveIdempotentResponse(ctx, u.ID, "k1", first)
		})
		if !errors.Is(err, models.ErrConflict) {
			t.Fatalf("second save: %v, want ErrConflict", err)
		}
		if _, err := s.UserByEmail(ctx, "rolled-back@example.org"); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("the change made with a taken key was kept: %v", err)
		}
		// After a day the key is forgotten and can be used again.
		clock.Advance(models.IdempotencyTTL + time.Second)
		if _, err := s.IdempotentResponse(ctx, u.ID, "k1"); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("expired key still answers: %v", err)
		}
		testutil.MustTx(t, s, func(tx *models.Tx) error { return tx.SaveIdempotentResponse(ctx, u.ID, "k1", first) })
	})
}

func TestOIDCLoginIsSingleUse(t *testing.T) {
	clock := testutil.NewClock()
	testutil.EachStore(t, clock.Now, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		var state, late string
		testutil.MustTx(t, s, func(tx *models.Tx) error {
			var err error
			if state, err = tx.CreateOIDCLogin(ctx, models.OIDCLogin{Nonce: "n", Verifier: "v", NextPath: "/groups"}, 10*time.Minute); err != nil {
				return err
			}
			late, err = tx.CreateOIDCLogin(ctx, models.OIDCLogin{Nonce: "n2", Verifier: "v2"}, time.Minute)
			return err
		})
		var l models.OIDCLogin
		testutil.MustTx(t, s, func(tx *models.Tx) error {
			var err error
			l, err = tx.ConsumeOIDCLogin(ctx, state)
			return err
		})
		if l.Nonce != "n" || l.Verifier != "v" || l.NextPath != "/groups" {
			t.Fatalf("login = %+v", l)
		}
		consume := func(st string) error {
			return s.Tx(ctx, func(tx *models.Tx) error { _, err := tx.ConsumeOIDCLogin(ctx, st); return err })
		}
		if err := consume(state); !errors.Is(err, models.ErrTokenUsed) {
			t.Fatalf("replayed state: %v", err)
		}
		if err := consume("unknown"); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("unknown state: %v", err)
		}
		clock.Advance(2 * time.Minute)
		if err := consume(late); !errors.Is(err, models.ErrTokenExpired) {
			t.Fatalf("late state: %v", err)
		}
	})
}

func TestIdentityLinkAndDirectionGuess(t *testing.T) {
	testutil.EachStore(t, nil, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		u := mustUser(t, s, "a@example.org", models.RoleAgent)
		const iss = "https://proconnect.example"
		if _, err := s.UserByIdentity(ctx, iss, "sub-1"); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("unlinked identity: %v", err)
		}
		testutil.MustTx(t, s, func(tx *models.Tx) error { return tx.LinkIdentity(ctx, iss, "sub-1", u.ID, "A@Example.org") })
		got, err := s.UserByIdentity(ctx, iss, "sub-1")
		if err != nil || got.ID != u.ID || got.Email != u.Email {
			t.Fatalf("UserByIdentity = %+v, %v", got, err)
		}
		if _, err := s.UserByIdentity(ctx, "https://other.example", "sub-1"); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("same subject at another issuer matched: %v", err)
		}
		other := mustUser(t, s, "b@example.org", models.RoleAgent)
		err = s.Tx(ctx, func(tx *models.Tx) error { return tx.LinkIdentity(ctx, iss, "sub-1", other.ID, "b@example.org") })
		if !errors.Is(err, models.ErrConflict) {
			t.Fatalf("linking a taken subject: %v", err)
		}
		for unit, want := range map[string]string{
			"DNUM":                            "DNUM",
			"dnum/sdpsn/bureau":               "DNUM",
			"SG - DNUM - SDPSN":               "DNUM",
			"Direction générale de la santé":  "DGS",
			"direction générale de la santé ": "DGS",
			"Bureau des applications":         "",
			"":                                "",
			"DNUMERIQUE":                      "",
		} {
			if got, err := s.GuessDirection(ctx, unit); err != nil || got != want {
				t.Errorf("GuessDirection(%q) = %q, %v; want %q", unit, got, err, want)
			}
		}
	})
}

package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/dnum-sociaux/agora/internal/oidc"
	"github.com/dnum-sociaux/agora/models"
)

// Each error of a ProConnect login, wrapped as the store and the client
// wrap them, shows its own problem; Agora's own errors show none.
func TestOIDCKind(t *testing.T) {
	for err, want := range map[error]string{
		models.ErrTokenUsed: "replayed", models.ErrTokenExpired: "slow", models.ErrNotFound: "state",
		oidc.ErrInvalidGrant: "code", oidc.ErrUnavailable: "unavailable", oidc.ErrRejected: "rejected", oidc.ErrVerification: "verification",
	} {
		if got := oidcKind(fmt.Errorf("step: %w", err)); got != want {
			t.Errorf("oidcKind(%v) = %q, want %q", err, got, want)
		}
		if p := oidcProblemOf(want); p.Kind != want || p.Status < http.StatusBadRequest || p.Heading == "" || p.Message == "" {
			t.Errorf("problem %q = %+v", want, p)
		}
	}
	if got := oidcKind(errors.New("disk full")); got != "" {
		t.Errorf("an error of Agora's own is a %q problem", got)
	}
	if got := oidcKind(nil); got != "" {
		t.Errorf("no error is a %q problem", got)
	}
	if p := oidcProblemOf("no such kind"); p.Kind != "provider_error" {
		t.Errorf("an unknown kind shows %q, want provider_error", p.Kind)
	}
}

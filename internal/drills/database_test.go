//go:build drills

package drills

import (
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dnum-sociaux/agora/internal/harness"
)

// TestDatabaseGone runs Agora on a PostgreSQL cluster of its own, stops the
// cluster under it, and checks: /readyz says 503, /healthz still 200 (the
// process is fine, do not restart it), pages that need the database answer
// the 503 page, and when the database is back Agora serves again by itself,
// with the same login session, without a restart.
func TestDatabaseGone(t *testing.T) {
	t.Parallel()
	if _, err := harness.PGBinDir(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true needs PostgreSQL's server binaries for this drill: %v", err)
		}
		t.Skipf("left out: %v", err)
	}
	pg, err := harness.NewPGCluster()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pg.Destroy)
	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	a := startAgora(t, map[string]string{"AGORA_DATABASE_URL": pg.URL()})

	admin := harness.NewBrowser(a.URL(""))
	if _, err := admin.LoginWithLink(a.AdminLink()); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/", "/admin/outbox"} {
		if p, err := admin.Get(path); err != nil || p.Status != http.StatusOK {
			t.Fatalf("GET %s before the outage: %v %d", path, err, p.Status)
		}
	}

	// The database goes away (immediate: like a crash of the server).
	if err := pg.Stop("immediate"); err != nil {
		t.Fatal(err)
	}
	probe := harness.NewBrowser(a.URL(""))
	if !eventually(5*time.Second, func() bool {
		p, err := probe.Get("/readyz")
		return err == nil && p.Status == http.StatusServiceUnavailable
	}) {
		t.Fatal("/readyz does not answer 503 with the database stopped")
	}
	if p, err := probe.Get("/healthz"); err != nil || p.Status != http.StatusOK {
		t.Errorf("/healthz with the database stopped: %v %d, want 200 (the process itself is fine)", err, p.Status)
	}
	for _, path := range []string{"/", "/admin/outbox", "/admin/users"} {
		p, err := admin.Get(path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		if p.Status != http.StatusServiceUnavailable || !strings.Contains(p.Body, "Service indisponible") {
			t.Errorf("GET %s with the database stopped: status %d, want the 503 page", path, p.Status)
		}
		if strings.Contains(p.Body, "pgx") || strings.Contains(p.Body, "connect:") {
			t.Errorf("GET %s shows a technical error to the user", path)
		}
	}
	p, err := probe.Post("/login", url.Values{"email": {"during-outage@drill.test"}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != http.StatusServiceUnavailable || !strings.Contains(p.Body, "Service indisponible") {
		t.Errorf("POST /login with the database stopped: status %d, want the 503 page", p.Status)
	}

	// The database comes back: Agora recovers without a restart.
	pid := a.PID()
	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	if !eventually(15*time.Second, func() bool {
		p, err := probe.Get("/readyz")
		return err == nil && p.Status == http.StatusOK
	}) {
		t.Fatal("/readyz did not come back to 200 after the database restarted")
	}
	if !eventually(5*time.Second, func() bool {
		p, err := admin.Get("/admin/outbox")
		return err == nil && p.Status == http.StatusOK
	}) {
		t.Error("the admin's session does not work again after the database came back")
	}
	if p, err := probe.Post("/login", url.Values{"email": {"after-outage@drill.test"}}); err != nil || p.Status != http.StatusSeeOther {
		t.Errorf("POST /login after recovery: %v %d, want 303", err, p.Status)
	}
	if a.PID() != pid || !a.Running() {
		t.Error("Agora restarted; it should have recovered in place")
	}
}

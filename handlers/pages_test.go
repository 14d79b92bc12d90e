package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dnum-sociaux/agora/internal/testutil"
	"github.com/dnum-sociaux/agora/models"
)

// Every page renders for every kind of visitor, with its status and its
// French heading, inside the DSFR layout.
func TestEveryPageRenders(t *testing.T) {
	ts := newTestServer(t)
	agent, _ := ts.loginAs("agent@example.org", models.RoleAgent)
	organiser, _ := ts.loginAs("organisatrice@example.org", models.RoleOrganiser)
	admin, _ := ts.loginAs("admin@example.org", models.RoleAdmin)
	browsers := map[string]*client{"anonymous": ts.newClient(), "agent": agent, "organiser": organiser, "admin": admin}

	var token string
	testutil.MustTx(t, ts.Store, func(tx *models.Tx) error {
		var err error
		token, err = tx.CreateLoginToken(context.Background(), "x@example.org", "/", 15*time.Minute)
		return err
	})
	mails, _, err := ts.Store.ListOutbox(context.Background(), models.OutboxFilter{Limit: 1})
	if err != nil || len(mails) == 0 {
		t.Fatal("no email to show")
	}
	mailPath := "/admin/outbox/" + mails[0].ID

	type want struct {
		status int
		h1     string
	}
	login := want{http.StatusSeeOther, ""}
	forbidden := want{http.StatusForbidden, "Accès refusé"}
	adminOnly := func(h string) map[string]want {
		return map[string]want{"anonymous": login, "agent": forbidden, "organiser": forbidden, "admin": {200, h}}
	}
	loggedIn := func(h string) map[string]want {
		return map[string]want{"anonymous": login, "agent": {200, h}, "organiser": {200, h}, "admin": {200, h}}
	}
	all := func(status int, h string) map[string]want {
		return map[string]want{"anonymous": {status, h}, "agent": {status, h}, "organiser": {status, h}, "admin": {status, h}}
	}
	pages := []struct {
		path string
		want map[string]want
	}{
		{"/", map[string]want{"anonymous": {200, "Agora"}, "agent": {200, "Mon espace"}, "organiser": {200, "Mon espace"}, "admin": {200, "Mon espace"}}},
		{"/login", map[string]want{"anonymous": {200, "Connexion à Agora"}, "agent": login, "organiser": login, "admin": login}},
		{"/login/sent", all(200, "Vérifiez votre messagerie")},
		{"/login/" + token, all(200, "Se connecter à Agora")},
		{"/profile", loggedIn("Mon profil")},
		{"/profile/delete", loggedIn("Supprimer mon compte")},
		{"/welcome", map[string]want{"anonymous": login, "agent": login, "organiser": login, "admin": login}},
		{"/admin", adminOnly("Administration")},
		{"/admin/users", adminOnly("Utilisateurs")},
		{"/admin/users?q=agent&role=agent&page=2", adminOnly("Utilisateurs")},
		{"/admin/users/new", adminOnly("Ajouter un utilisateur")},
		{"/admin/directions", adminOnly("Directions")},
		{"/admin/outbox", adminOnly("Courriels")},
		{"/admin/outbox?state=failed", adminOnly("Courriels")},
		{mailPath, adminOnly(mails[0].Subject)},
		{"/admin/audit", adminOnly("Journal d'audit")},
		{"/admin/audit?action=login", adminOnly("Journal d'audit")},
		{"/nulle-part", all(404, "Page non trouvée")},
		{"/admin/outbox/inconnu", map[string]want{"anonymous": login, "agent": forbidden, "organiser": forbidden, "admin": {404, "Page non trouvée"}}},
		{"/admin/users/inconnu/delete", map[string]want{"anonymous": login, "agent": forbidden, "organiser": forbidden, "admin": {404, "Page non trouvée"}}},
	}
	for _, pg := range pages {
		for who, w := range pg.want {
			t.Run(who+" "+pg.path, func(t *testing.T) {
				p := browsers[who].get(pg.path)
				if p.Status != w.status {
					t.Fatalf("status %d, want %d (Location %q)", p.Status, w.status, p.Header.Get("Location"))
				}
				if w.status == http.StatusSeeOther {
					if loc := p.Header.Get("Location"); !strings.HasPrefix(loc, "/") {
						t.Fatalf("redirect to %q", loc)
					}
					return
				}
				if got := h1(p.Body); got != w.h1 {
					t.Fatalf("h1 %q, want %q", got, w.h1)
				}
				if !strings.Contains(p.Body, `<html lang="fr"`) || !strings.Contains(p.Body, "</html>") || !strings.Contains(p.Body, "<title>") {
					t.Fatal("not a complete French page")
				}
				if strings.Count(p.Body, "<h1") != 1 {
					t.Fatalf("%d h1 headings", strings.Count(p.Body, "<h1"))
				}
			})
		}
	}

	// A first login asks for name and direction.
	newcomer := ts.newClient()
	newcomer.post("/login", url.Values{"email": {"nouveau@example.org"}})
	newcomer.post(ts.lastLoginLink("nouveau@example.org"), nil)
	if p := newcomer.get("/welcome"); p.Status != 200 || h1(p.Body) != "Bienvenue sur Agora" {
		t.Fatalf("welcome = %d %q", p.Status, h1(p.Body))
	}
	for _, path := range []string{"/", "/profile", "/admin"} {
		if p := newcomer.get(path); p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Header.Get("Location"), "/welcome") {
			t.Fatalf("%s before the profile is complete: %d %q", path, p.Status, p.Header.Get("Location"))
		}
	}
}

var routeParam = regexp.MustCompile(`:[a-z]+|\*[a-z]+`)

// An agent (and an organiser) gets 403 on every /admin route, GET or POST,
// and changes nothing.
func TestAdminRoutesForbiddenToOthers(t *testing.T) {
	ts := newTestServer(t)
	agent, _ := ts.loginAs("agent@example.org", models.RoleAgent)
	organiser, _ := ts.loginAs("organisatrice@example.org", models.RoleOrganiser)
	_, target := ts.loginAs("cible@example.org", models.RoleAgent)
	before := ts.count("SELECT COUNT(*) FROM audit_log")
	n := 0
	for _, r := range ts.Srv.Routes() {
		if !strings.HasPrefix(r.Path, "/admin") {
			continue
		}
		path := routeParam.ReplaceAllString(r.Path, target.ID)
		for name, c := range map[string]*client{"agent": agent, "organiser": organiser} {
			var p page
			switch r.Method {
			case http.MethodGet:
				p = c.get(path)
			case http.MethodPost:
				p = c.post(path, url.Values{"role": {"admin"}, "code": {"XX"}, "name": {"X"}, "email": {"x@example.org"}})
			default:
				continue
			}
			n++
			if p.Status != http.StatusForbidden || h1(p.Body) != "Accès refusé" {
				t.Errorf("%s %s %s = %d %q, want 403", name, r.Method, path, p.Status, h1(p.Body))
			}
		}
	}
	if n < 20 {
		t.Fatalf("only %d admin requests tried", n)
	}
	if got, _ := ts.Store.UserByID(t.Context(), target.ID); got.Role != models.RoleAgent {
		t.Fatalf("role changed to %s", got.Role)
	}
	if after := ts.count("SELECT COUNT(*) FROM audit_log"); after != before {
		t.Fatalf("%d audit entries written by refused requests", after-before)
	}
	if n := ts.count("SELECT COUNT(*) FROM directions WHERE code = 'XX'"); n != 0 {
		t.Fatal("a direction was created")
	}
}

func TestProbes(t *testing.T) {
	ts := newTestServer(t)
	c := ts.newClient()
	if p := c.get("/healthz"); p.Status != 200 {
		t.Fatalf("/healthz = %d", p.Status)
	}
	if p := c.get("/readyz"); p.Status != 200 {
		t.Fatalf("/readyz = %d", p.Status)
	}
	ts.Store.Close()
	if p := c.get("/readyz"); p.Status != http.StatusServiceUnavailable {
		t.Fatalf("/readyz with the database closed = %d", p.Status)
	}
	if p := c.get("/healthz"); p.Status != 200 {
		t.Fatalf("/healthz with the database closed = %d", p.Status)
	}
}

// Pending migrations make the instance not ready.
func TestReadyzReportsPendingMigrations(t *testing.T) {
	ts := newTestServerWith(t, func(s *serverSetup) {
		s.ready = func(context.Context) error { return errTest("migrations pending") }
	})
	if p := ts.newClient().get("/readyz"); p.Status != http.StatusServiceUnavailable || !strings.Contains(p.Body, "migrations pending") {
		t.Fatalf("/readyz = %d %q", p.Status, p.Body)
	}
}

type errTest string

func (e errTest) Error() string { return string(e) }

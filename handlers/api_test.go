package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/dnum-sociaux/agora/models"
)

func TestAPIRequiresAValidKey(t *testing.T) {
	ts := newTestServer(t)
	u := ts.createUser("agent@example.org", models.RoleAgent)
	key := ts.apiKey(u, "script")

	r := ts.api("").get("/api/v1/me").must(t, http.StatusUnauthorized)
	if p := r.Problem(t); !strings.Contains(p.Detail, "Authorization: Bearer") || !strings.HasSuffix(p.Type, "/api#non-authentifie") {
		t.Fatalf("problem = %+v", p)
	}
	if r.Header.Get("WWW-Authenticate") != `Bearer realm="agora"` {
		t.Fatalf("WWW-Authenticate = %q", r.Header.Get("WWW-Authenticate"))
	}
	for _, bad := range []string{"agora_notakey", key + "x", strings.TrimPrefix(key, "agora_")} {
		r := ts.api(bad).get("/api/v1/me").must(t, http.StatusUnauthorized)
		if !strings.Contains(r.Header.Get("WWW-Authenticate"), `error="invalid_token"`) || !strings.Contains(r.Problem(t).Detail, "révoquée") {
			t.Fatalf("bad key %q: %s", bad, r.Body)
		}
	}
	// A browser session does not open the API.
	c := ts.newClient()
	c.login("agent@example.org")
	if p := c.get("/api/v1/me"); p.Status != http.StatusUnauthorized {
		t.Fatalf("API with a session cookie = %d", p.Status)
	}
	ts.api(key).get("/api/v1/me").must(t, http.StatusOK)
}

func TestAPIMe(t *testing.T) {
	ts := newTestServer(t)
	u := ts.createUser("organiser@example.org", models.RoleOrganiser)
	var me struct {
		ID, Email, Name, Role string
		Direction             *string
		CalendarFeedURL       *string `json:"calendar_feed_url"`
	}
	r := ts.api(ts.apiKey(u, "grist")).get("/api/v1/me").must(t, http.StatusOK)
	r.JSON(t, &me)
	if me.ID != u.ID || me.Email != u.Email || me.Name != u.Name || me.Role != "organiser" || me.Direction == nil || *me.Direction != "DNUM" {
		t.Fatalf("me = %+v", me)
	}
	// The feed URL is the user's private feed: it answers with a calendar.
	if me.CalendarFeedURL == nil || !strings.HasPrefix(*me.CalendarFeedURL, ts.Config.URL("/feeds/users/"+u.ID+"/")) {
		t.Fatalf("calendar_feed_url = %v", me.CalendarFeedURL)
	}
	if p := ts.newClient().get(strings.TrimPrefix(*me.CalendarFeedURL, ts.Config.URL(""))); p.Status != http.StatusOK || !strings.Contains(p.Body, "BEGIN:VCALENDAR") {
		t.Fatalf("GET feed = %d", p.Status)
	}
	if r.Header.Get("Cache-Control") != "no-store" || r.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("headers = %v", r.Header)
	}
}

func TestAPIUnknownRoutesAnswerProblems(t *testing.T) {
	ts := newTestServer(t)
	key := ts.apiKey(ts.createUser("a@example.org", models.RoleAgent), "k")
	r := ts.api(key).get("/api/v1/nothing-here").must(t, http.StatusNotFound)
	r.Problem(t)
	r = ts.api(key).call(http.MethodDelete, "/api/v1/me", nil).must(t, http.StatusMethodNotAllowed)
	r.Problem(t)
	// Outside the API, the HTML error page as before.
	if p := ts.newClient().get("/nothing-here"); p.Status != http.StatusNotFound || !strings.Contains(p.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /nothing-here = %d %s", p.Status, p.Header.Get("Content-Type"))
	}
}

func TestAPIRateLimitPerKey(t *testing.T) {
	ts := newTestServer(t, "AGORA_API_RATE_LIMIT", "3")
	u := ts.createUser("a@example.org", models.RoleAgent)
	k1, k2 := ts.apiKey(u, "one"), ts.apiKey(u, "two")
	for i := 0; i < 3; i++ {
		ts.api(k1).get("/api/v1/me").must(t, http.StatusOK)
	}
	r := ts.api(k1).get("/api/v1/me").must(t, http.StatusTooManyRequests)
	if r.Header.Get("Retry-After") != "20" {
		t.Fatalf("Retry-After = %q, want 20 (3 per minute)", r.Header.Get("Retry-After"))
	}
	r.Problem(t)
	// Another key has its own budget.
	ts.api(k2).get("/api/v1/me").must(t, http.StatusOK)
	// Time passes: the first key works again.
	ts.Clock.Advance(20 * 1e9)
	ts.api(k1).get("/api/v1/me").must(t, http.StatusOK)
}

func TestAPICallsAreAudited(t *testing.T) {
	ts := newTestServer(t)
	u := ts.createUser("a@example.org", models.RoleAgent)
	ts.api(ts.apiKey(u, "Grist inscriptions")).get("/api/v1/me").must(t, http.StatusOK)
	entries, _, err := ts.Store.ListAudit(context.Background(), models.AuditFilter{Action: "api."})
	if err != nil || len(entries) != 1 {
		t.Fatalf("audit = %+v, %v", entries, err)
	}
	e := entries[0]
	if e.ActorID != u.ID || e.Detail != "GET /api/v1/me → 200 (clé « Grist inscriptions »)" || e.RequestID == "" {
		t.Fatalf("audit entry = %+v", e)
	}
}

// The OpenAPI document describes every route of the router under /api/v1,
// and nothing else.
func TestOpenAPIMatchesRouter(t *testing.T) {
	ts := newTestServer(t)
	spec := ts.spec()
	var documented []string
	for path, ops := range spec.doc["paths"].(map[string]any) {
		for method, op := range ops.(map[string]any) {
			documented = append(documented, strings.ToUpper(method)+" /api/v1"+regexp.MustCompile(`\{([a-z_]+)\}`).ReplaceAllString(path, ":$1"))
			o := op.(map[string]any)
			if o["summary"] == "" || o["operationId"] == "" || len(o["responses"].(map[string]any)) < 2 {
				t.Errorf("%s %s is not fully documented", method, path)
			}
		}
	}
	var routed []string
	for _, r := range ts.Srv.Routes() {
		if strings.HasPrefix(r.Path, "/api/v1/") {
			routed = append(routed, r.Method+" "+r.Path)
		}
	}
	sort.Strings(documented)
	sort.Strings(routed)
	if !slices.Equal(documented, routed) {
		t.Fatalf("OpenAPI and router disagree:\ndocumented %v\nrouted     %v", documented, routed)
	}
	if len(routed) < 2 {
		t.Fatalf("only %d API routes", len(routed))
	}
	// Every component schema compiles, and every $ref resolves.
	for name := range spec.doc["components"].(map[string]any)["schemas"].(map[string]any) {
		spec.schema(t, "/components/schemas/"+name)
	}
	if spec.doc["openapi"] != "3.1.0" {
		t.Fatalf("openapi = %v", spec.doc["openapi"])
	}
	var ids []string
	for _, ops := range spec.doc["paths"].(map[string]any) {
		for _, op := range ops.(map[string]any) {
			ids = append(ids, op.(map[string]any)["operationId"].(string))
		}
	}
	sort.Strings(ids)
	if len(slices.Compact(slices.Clone(ids))) != len(ids) {
		t.Fatalf("duplicate operationIds: %v", ids)
	}
}

func TestAPIReferencePage(t *testing.T) {
	ts := newTestServer(t)
	p := ts.newClient().get("/api")
	if p.Status != http.StatusOK {
		t.Fatalf("GET /api = %d", p.Status)
	}
	var doc map[string]any
	_ = json.Unmarshal(ts.spec().raw, &doc)
	for path, ops := range doc["paths"].(map[string]any) {
		for method := range ops.(map[string]any) {
			if !strings.Contains(p.Body, strings.ToUpper(method)+" "+path) {
				t.Errorf("reference page lacks %s %s", strings.ToUpper(method), path)
			}
		}
	}
	for name := range doc["components"].(map[string]any)["schemas"].(map[string]any) {
		if !strings.Contains(p.Body, `id="schema-`+name+`"`) {
			t.Errorf("reference page lacks the schema %s", name)
		}
	}
	for _, anchor := range []string{`id="non-authentifie"`, `id="validation"`, `id="trop-de-requetes"`, "Idempotency-Key", "Retry-After"} {
		if !strings.Contains(p.Body, anchor) {
			t.Errorf("reference page lacks %s", anchor)
		}
	}
}

func TestAPIKeysOnProfile(t *testing.T) {
	ts := newTestServer(t)
	c := ts.newClient()
	c.login("agent@example.org")
	if p := c.post("/profile/api-keys", url.Values{"name": {"  "}}); p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "obligatoire") {
		t.Fatalf("empty name = %d", p.Status)
	}
	p := c.post("/profile/api-keys", url.Values{"name": {"Grist suivi"}})
	if p.Status != http.StatusCreated || p.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("create = %d %q", p.Status, p.Header.Get("Cache-Control"))
	}
	secret := regexp.MustCompile(`value="(agora_[A-Za-z0-9_-]{43})"`).FindStringSubmatch(p.Body)
	if secret == nil {
		t.Fatalf("the new key is not shown:\n%s", p.Body)
	}
	var me struct{ Email string }
	ts.api(secret[1]).get("/api/v1/me").must(t, http.StatusOK).JSON(t, &me)
	if me.Email != "agent@example.org" {
		t.Fatalf("the key acts as %q", me.Email)
	}
	// Listed afterwards by name and prefix, never in full.
	list := c.get("/profile/api-keys")
	if !strings.Contains(list.Body, "Grist suivi") || !strings.Contains(list.Body, secret[1][:12]+"…") || strings.Contains(list.Body, secret[1]) {
		t.Fatalf("list shows the key wrongly:\n%s", list.Body)
	}
	keys, _, _ := ts.Store.ListAPIKeys(context.Background(), models.APIKeyFilter{})
	// Another user cannot revoke it.
	other := ts.newClient()
	other.login("other@example.org")
	if p := other.post("/profile/api-keys/"+keys[0].ID+"/revoke", nil); p.Status != http.StatusNotFound {
		t.Fatalf("revoke by another user = %d", p.Status)
	}
	ts.api(secret[1]).get("/api/v1/me").must(t, http.StatusOK)
	if p := c.post("/profile/api-keys/"+keys[0].ID+"/revoke", nil); p.Status != http.StatusSeeOther {
		t.Fatalf("revoke = %d", p.Status)
	}
	ts.api(secret[1]).get("/api/v1/me").must(t, http.StatusUnauthorized)
	if l := c.get("/profile/api-keys"); !strings.Contains(l.Body, "révoquée le") {
		t.Fatal("revoked key not shown as revoked")
	}
}

func TestAdminListsAndRevokesAnyKey(t *testing.T) {
	ts := newTestServer(t)
	agent := ts.createUser("agent@example.org", models.RoleAgent)
	ts.createUser("admin@example.org", models.RoleAdmin)
	secret := ts.apiKey(agent, "tableau de bord")
	keys, _, _ := ts.Store.ListAPIKeys(context.Background(), models.APIKeyFilter{})

	c := ts.newClient()
	c.login("agent@example.org")
	if p := c.get("/admin/api-keys"); p.Status != http.StatusForbidden {
		t.Fatalf("agent on /admin/api-keys = %d", p.Status)
	}
	admin := ts.newClient()
	admin.login("admin@example.org")
	p := admin.get("/admin/api-keys")
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "tableau de bord") || !strings.Contains(p.Body, "agent@example.org") {
		t.Fatalf("admin list = %d\n%s", p.Status, p.Body)
	}
	if p := admin.post("/admin/api-keys/"+keys[0].ID+"/revoke", nil); p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/admin/api-keys" {
		t.Fatalf("admin revoke = %d %q", p.Status, p.Header.Get("Location"))
	}
	ts.api(secret).get("/api/v1/me").must(t, http.StatusUnauthorized)
	entries, _, _ := ts.Store.ListAudit(context.Background(), models.AuditFilter{Action: "api_key.revoke"})
	if len(entries) != 1 || !strings.Contains(entries[0].Detail, "agent@example.org") {
		t.Fatalf("audit = %+v", entries)
	}
}

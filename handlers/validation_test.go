package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/dnum-sociaux/agora/models"
)

// Bad input in every form: a clear French message next to the field, in
// DSFR's error markup, the form shown again with status 422, and nothing
// changed in the database.
func TestBadInputIsRefusedNextToTheField(t *testing.T) {
	ts := newTestServer(t)
	admin, _ := ts.loginAs("admin@example.org", models.RoleAdmin)
	agent, agentUser := ts.loginAs("agent@example.org", models.RoleAgent)
	newcomer := ts.newClient()
	newcomer.post("/login", url.Values{"email": {"nouveau@example.org"}})
	newcomer.post(ts.lastLoginLink("nouveau@example.org"), nil)
	ts.createUser("existe@example.org", models.RoleAgent)

	long := strings.Repeat("é", 101)
	injected := "Marie Curie\r\nBcc: x@y.example"
	cases := []struct {
		name  string
		c     *client
		path  string
		form  url.Values
		field string
		want  string // part of the message
	}{
		{"login: empty email", ts.newClient(), "/login", url.Values{"email": {""}}, "email", "Saisissez une adresse électronique"},
		{"login: not an email", ts.newClient(), "/login", url.Values{"email": {"marie.curie"}}, "email", "adresse électronique valide"},
		{"login: no domain dot", ts.newClient(), "/login", url.Values{"email": {"marie@curie"}}, "email", "adresse électronique valide"},
		{"login: header injection", ts.newClient(), "/login", url.Values{"email": {"a@example.org\r\nBcc: x@y.example"}}, "email", "adresse électronique valide"},
		{"login: two addresses", ts.newClient(), "/login", url.Values{"email": {"a@example.org,x@y.example"}}, "email", "adresse électronique valide"},
		{"login: display name", ts.newClient(), "/login", url.Values{"email": {"Eve <x@y.example>"}}, "email", "adresse électronique valide"},
		{"login: overlong", ts.newClient(), "/login", url.Values{"email": {strings.Repeat("a", 250) + "@example.org"}}, "email", "adresse électronique valide"},

		{"welcome: empty name", newcomer, "/welcome", url.Values{"name": {" "}, "direction": {"DNUM"}}, "name", "obligatoire"},
		{"welcome: overlong name", newcomer, "/welcome", url.Values{"name": {long}, "direction": {"DNUM"}}, "name", "100 caractères"},
		{"welcome: header injection in name", newcomer, "/welcome", url.Values{"name": {injected}, "direction": {"DNUM"}}, "name", "retour à la ligne"},
		{"welcome: no direction", newcomer, "/welcome", url.Values{"name": {"Marie"}, "direction": {""}}, "direction", "Choisissez votre direction"},
		{"welcome: unknown direction", newcomer, "/welcome", url.Values{"name": {"Marie"}, "direction": {"ZZZ"}}, "direction", "n'existe pas"},

		{"profile: header injection in name", agent, "/profile", url.Values{"name": {injected}, "direction": {"DGS"}}, "name", "retour à la ligne"},
		{"profile: control character", agent, "/profile", url.Values{"name": {"Marie\x00Curie"}, "direction": {"DGS"}}, "name", "caractère de contrôle"},
		{"profile: overlong name", agent, "/profile", url.Values{"name": {long}, "direction": {"DGS"}}, "name", "100 caractères"},
		{"profile: unknown direction", agent, "/profile", url.Values{"name": {"Marie"}, "direction": {"'; DROP TABLE users; --"}}, "direction", "n'existe pas"},

		{"admin user: invalid email", admin, "/admin/users", url.Values{"email": {"x"}, "name": {"X"}, "role": {"agent"}}, "email", "adresse électronique valide"},
		{"admin user: taken email", admin, "/admin/users", url.Values{"email": {"EXISTE@example.org"}, "name": {"X"}, "role": {"agent"}}, "email", "existe déjà"},
		{"admin user: header injection in name", admin, "/admin/users", url.Values{"email": {"n@example.org"}, "name": {injected}, "role": {"agent"}}, "name", "retour à la ligne"},
		{"admin user: overlong name", admin, "/admin/users", url.Values{"email": {"n@example.org"}, "name": {long}, "role": {"agent"}}, "name", "100 caractères"},
		{"admin user: unknown direction", admin, "/admin/users", url.Values{"email": {"n@example.org"}, "name": {"N"}, "role": {"agent"}, "direction": {"ZZZ"}}, "direction", "n'existe pas"},
		{"admin user: unknown role", admin, "/admin/users", url.Values{"email": {"n@example.org"}, "name": {"N"}, "role": {"superadmin"}}, "role", "Choisissez un rôle"},

		{"direction: short code", admin, "/admin/directions", url.Values{"code": {"a"}, "name": {"Nom"}}, "code", "de 2 à 12"},
		{"direction: code with a space", admin, "/admin/directions", url.Values{"code": {"DG CS"}, "name": {"Nom"}}, "code", "de 2 à 12"},
		{"direction: overlong code", admin, "/admin/directions", url.Values{"code": {"ABCDEFGHIJKLM"}, "name": {"Nom"}}, "code", "de 2 à 12"},
		{"direction: empty name", admin, "/admin/directions", url.Values{"code": {"DGCS"}, "name": {""}}, "name", "obligatoire"},
		{"direction: header injection in name", admin, "/admin/directions", url.Values{"code": {"DGCS"}, "name": {"Nom\r\nBcc: x@y.example"}}, "name", "retour à la ligne"},
		{"direction: overlong name", admin, "/admin/directions", url.Values{"code": {"DGCS"}, "name": {strings.Repeat("x", 201)}}, "name", "200 caractères"},
	}
	snapshot := func() string {
		read, _ := ts.Store.SQL()
		var b strings.Builder
		for _, q := range []string{
			"SELECT id || email || name || COALESCE(direction_code, '') || role || notify_email FROM users ORDER BY id",
			"SELECT code || name || active FROM directions ORDER BY code",
			"SELECT token_hash FROM login_tokens ORDER BY token_hash",
			"SELECT id FROM outbox ORDER BY id",
			"SELECT id FROM audit_log ORDER BY id",
		} {
			rows, err := read.Query(q)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var s string
				_ = rows.Scan(&s)
				b.WriteString(s + "\n")
			}
			rows.Close()
		}
		return b.String()
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot()
			p := tc.c.post(tc.path, tc.form)
			if p.Status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422 (Location %q)", p.Status, p.Header.Get("Location"))
			}
			msg := fieldError(p.Body, tc.field)
			if !strings.Contains(msg, tc.want) {
				t.Fatalf("message next to %s: %q, want it to say %q", tc.field, msg, tc.want)
			}
			if !strings.Contains(p.Body, `aria-describedby="`+tc.field+`-error"`) ||
				!(strings.Contains(p.Body, "fr-input-group--error") || strings.Contains(p.Body, "fr-select-group--error")) {
				t.Fatal("field not in DSFR error state")
			}
			if h1(p.Body) == "" {
				t.Fatal("form page has no heading")
			}
			if after := snapshot(); after != before {
				t.Fatalf("the database changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
	if u, _ := ts.Store.UserByID(t.Context(), agentUser.ID); u.Name != agentUser.Name {
		t.Fatalf("profile changed: %q", u.Name)
	}
}

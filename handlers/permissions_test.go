package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/dnum-sociaux/agora/models"
)

// The people a permissions table tries, and who an action lets through:
// the status each allowed role gets (the others get 403, anonymous a
// redirect to the login page).
var (
	roles     = []string{"anonymous", "outsider", "other-organiser", "member", "organiser", "admin"}
	managers  = map[string]int{"organiser": http.StatusSeeOther, "admin": http.StatusSeeOther}
	managersG = map[string]int{"organiser": http.StatusOK, "admin": http.StatusOK}
	members   = map[string]int{"member": http.StatusSeeOther, "organiser": http.StatusSeeOther}
	readers   = map[string]int{"member": http.StatusOK, "organiser": http.StatusOK, "admin": http.StatusOK}
)

// roleClients is a browser for each of roles around the group gid that org
// organises (on approval): the member joined by invitation.
func (ts *testServer) roleClients(org *client, gid string) map[string]*client {
	ts.t.Helper()
	clients := map[string]*client{"anonymous": ts.newClient(), "organiser": org}
	clients["outsider"], _ = ts.loginAs("outsider@example.org", models.RoleAgent)
	clients["other-organiser"], _ = ts.loginAs("other@example.org", models.RoleOrganiser)
	clients["admin"], _ = ts.loginAs("admin@example.org", models.RoleAdmin)
	clients["member"], _ = ts.invitedMember(org, gid, "member@example.org")
	return clients
}

// invitedMember is a browser logged in as email, an agent org invited to
// the group gid and who accepted, and the agent.
func (ts *testServer) invitedMember(org *client, gid, email string) (*client, models.User) {
	ts.t.Helper()
	c, u := ts.loginAs(email, models.RoleAgent)
	org.post("/groups/"+gid+"/invitations", url.Values{"email": {email}})
	mustRedirect(ts.t, c.post("/groups/"+gid+"/invitation/accept", nil), "accept invitation")
	return c, u
}

// tryRoles sends method path (a copy of form for a POST) as each role and
// checks the status against allowed; then, if not nil, calls after.
func tryRoles(t *testing.T, clients map[string]*client, method, path string, form url.Values, allowed map[string]int, after func(role string)) {
	t.Helper()
	for _, role := range roles {
		c := clients[role]
		var p page
		if method == "GET" {
			p = c.get(path)
		} else {
			f := url.Values{}
			for k, v := range form {
				f[k] = v
			}
			p = c.post(path, f)
		}
		want, ok := allowed[role]
		switch {
		case role == "anonymous":
			if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Header.Get("Location"), "/login") {
				t.Errorf("%s %s: anonymous got %d %s, want a redirect to /login", method, path, p.Status, p.Header.Get("Location"))
			}
		case ok && p.Status != want:
			t.Errorf("%s %s: %s got %d, want %d", method, path, role, p.Status, want)
		case !ok && p.Status != http.StatusForbidden:
			t.Errorf("%s %s: %s got %d, want 403", method, path, role, p.Status)
		}
		if after != nil {
			after(role)
		}
	}
}

// Each role against each action on a group with approval policy: only its
// organisers and admins manage it; only members answer and see members; a
// user with the organiser role gets no rights over someone else's group.
func TestGroupPermissionsByRole(t *testing.T) {
	groupForm := url.Values{"title": {"Renommé"}, "theme": {"autre"}, "join_policy": {"approval"}}
	for _, a := range []struct {
		name, method, path string // {g}: group, {s}: session, {m}: another member
		form               url.Values
		allowed            map[string]int
	}{
		{"edit group form", "GET", "/groups/{g}/edit", nil, managersG},
		{"update group", "POST", "/groups/{g}", groupForm, managers},
		{"archive group", "POST", "/groups/{g}/status", url.Values{"status": {"archived"}}, managers},
		{"new session form", "GET", "/groups/{g}/sessions/new", nil, managersG},
		{"create session", "POST", "/groups/{g}/sessions", sessionForm(nil), managers},
		{"edit session form", "GET", "/sessions/{s}/edit", nil, managersG},
		{"update session", "POST", "/sessions/{s}", sessionForm(nil), managers},
		{"cancel session", "POST", "/sessions/{s}/cancel", nil, managers},
		{"attendance", "POST", "/sessions/{s}/attendance", nil, managers}, // 303 with a flash: not started
		{"answer", "POST", "/sessions/{s}/answer", url.Values{"answer": {"yes"}}, members},
		{"invite", "POST", "/groups/{g}/invitations", url.Values{"email": {"x@example.org"}}, managers},
		{"remove member", "POST", "/groups/{g}/members/{m}/remove", nil, managers},
		{"promote member", "POST", "/groups/{g}/members/{m}/role", url.Values{"role": {"organiser"}}, managers},
		{"rotate group feed", "POST", "/groups/{g}/feed", nil, managers},
		{"download group calendar", "GET", "/groups/{g}/calendar.ics", nil, readers},
		{"download session", "GET", "/sessions/{s}/session.ics", nil, readers},
	} {
		t.Run(a.name, func(t *testing.T) {
			ts := newTestServer(t)
			org, _ := ts.loginAs("orga@example.org", models.RoleOrganiser)
			gid := org.createGroup("Groupe fermé", models.JoinApproval, "")
			sid := org.createSession(gid, nil)
			clients := ts.roleClients(org, gid)
			_, other := ts.invitedMember(org, gid, "member2@example.org")
			path := strings.NewReplacer("{g}", gid, "{s}", sid, "{m}", other.ID).Replace(a.path)
			tryRoles(t, clients, a.method, path, a.form, a.allowed, nil)
		})
	}
}

// The member list is shown to members, organisers and admins only.
func TestMemberListVisibility(t *testing.T) {
	ts := newTestServer(t)
	org, _ := ts.loginAs("orga@example.org", models.RoleOrganiser)
	gid := org.createGroup("Ouvert", models.JoinOpen, "")
	m, _ := ts.loginAs("member@example.org", models.RoleAgent)
	m.post("/groups/"+gid+"/join", nil)
	out, _ := ts.loginAs("outsider@example.org", models.RoleAgent)
	adm, _ := ts.loginAs("admin@example.org", models.RoleAdmin)
	for who, c := range map[string]*client{"member": m, "organiser": org, "admin": adm, "outsider": out} {
		p := c.get("/groups/" + gid)
		shown := strings.Contains(p.Body, `id="membres"`)
		if p.Status != http.StatusOK || shown != (who != "outsider") {
			t.Errorf("%s: status %d, member list shown %v", who, p.Status, shown)
		}
	}
	// Proposals are hidden from everyone but their author and admins.
	agent, _ := ts.loginAs("agent@example.org", models.RoleAgent)
	pid := agent.createGroup("Ma proposition", models.JoinOpen, "")
	if p := out.get("/groups/" + pid); p.Status != http.StatusNotFound {
		t.Errorf("outsider sees a proposal: %d", p.Status)
	}
	if p := adm.get("/groups/" + pid); p.Status != http.StatusOK || !strings.Contains(p.Body, "Valider le groupe") {
		t.Errorf("admin cannot validate the proposal: %d", p.Status)
	}
	if p := agent.post("/groups/"+pid+"/status", url.Values{"status": {"active"}}); p.Status != http.StatusForbidden {
		t.Errorf("author approving own proposal: %d", p.Status)
	}
	mustRedirect(t, adm.post("/groups/"+pid+"/status", url.Values{"status": {"active"}}), "approve")
	if mails := ts.outbox("group.proposal_decided"); len(mails) != 1 || mails[0].Recipient != "agent@example.org" {
		t.Errorf("decision email = %+v", mails)
	}
	if mails := ts.outbox("group.proposal"); len(mails) != 1 || mails[0].Recipient != "admin@example.org" {
		t.Errorf("proposal email = %+v", mails)
	}
}

// Every page of the groups renders for the people who see it.
func TestGroupPagesRender(t *testing.T) {
	ts := newTestServer(t)
	org, _ := ts.loginAs("orga@example.org", models.RoleOrganiser)
	gid := org.createGroup("Pages", models.JoinOpen, "")
	sid := org.createSession(gid, func(v url.Values) { v.Set("capacity", "10") })
	for _, path := range []string{"/", "/groups", "/groups?q=pages&theme=role_metier", "/groups?status=archived", "/groups/new",
		"/groups/" + gid, "/groups/" + gid + "/edit", "/groups/" + gid + "/sessions/new", "/groups/" + gid + "/sessions", "/sessions/" + sid, "/sessions/" + sid + "/edit", "/calendar"} {
		if p := org.get(path); p.Status != http.StatusOK || !strings.Contains(p.Body, "</html>") {
			t.Errorf("GET %s: %d", path, p.Status)
		}
	}
	if p := org.get("/groups/01aaaaaaaaaaaaaaaaaaaaaaaa"); p.Status != http.StatusNotFound {
		t.Errorf("unknown group: %d", p.Status)
	}
	if p := org.get("/sessions/01aaaaaaaaaaaaaaaaaaaaaaaa"); p.Status != http.StatusNotFound {
		t.Errorf("unknown session: %d", p.Status)
	}
}

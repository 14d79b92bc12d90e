package handlers_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/dnum-sociaux/agora/models"
)

// TestProfileDataExport downloads one's own data from the profile page: the
// file holds the user's account, group, session answer, registration (with
// its answer) and poll votes, and nothing of another member nor any secret.
func TestProfileDataExport(t *testing.T) {
	ts := newTestServer(t)
	org, orgUser := ts.loginAs("orga@example.org", models.RoleOrganiser)
	gid := org.createGroup("Groupe RGPD", models.JoinOpen, "")
	sid := org.createSession(gid, nil)
	pid := org.createPoll(gid, nil)
	slots := ts.pollSlots(pid)
	ev := ts.newEvent(orgUser, "Journée données", 10, models.ModesBoth)

	alice, aliceUser := ts.loginAs("alice@example.org", models.RoleAgent)
	bob, _ := ts.loginAs("bob@example.org", models.RoleAgent)
	for _, c := range []*client{alice, bob} {
		mustRedirect(t, c.post("/groups/"+gid+"/join", nil), "join")
	}
	mustRedirect(t, alice.post("/sessions/"+sid+"/answer", url.Values{"answer": {"yes"}}), "alice answers")
	mustRedirect(t, bob.post("/sessions/"+sid+"/answer", url.Values{"answer": {"no"}}), "bob answers")
	mustRedirect(t, alice.post("/polls/"+pid+"/votes", votesForm(slots, "yes", "if_needed", "no")), "alice votes")
	mustRedirect(t, bob.post("/polls/"+pid+"/votes", votesForm(slots, "no", "no", "yes")), "bob votes")
	for _, c := range []*client{alice, bob} {
		p := c.post("/events/"+ev.Event.ID+"/register", url.Values{"mode": {"onsite"}, "q_" + ev.Question.ID: {"Végétarien"}})
		if p.Status != http.StatusSeeOther {
			t.Fatalf("register: %d\n%s", p.Status, p.Body)
		}
	}
	if p := alice.post("/profile/api-keys", url.Values{"name": {"Grist"}}); p.Status != http.StatusCreated {
		t.Fatalf("alice creates an API key: %d", p.Status)
	}

	if p := alice.get("/profile"); !strings.Contains(p.Body, "Mes données") || !strings.Contains(p.Body, `href="/profile/data"`) ||
		!strings.Contains(p.Body, "Télécharger mes données (JSON)") {
		t.Fatalf("no data section on the profile page:\n%s", p.Body)
	}

	p := alice.get("/profile/data")
	if p.Status != http.StatusOK {
		t.Fatalf("GET /profile/data: %d\n%s", p.Status, p.Body)
	}
	if ct := p.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := p.Header.Get("Content-Disposition"); cd != `attachment; filename="agora-mes-donnees.json"` {
		t.Errorf("Content-Disposition %q", cd)
	}
	if cc := p.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
	var got struct {
		Account struct {
			Email, Name, Direction, Role string
			NotifyEmail                  bool   `json:"notify_email"`
			CreatedAt                    string `json:"created_at"`
			LastLoginAt                  string `json:"last_login_at"`
		}
		Memberships []struct {
			GroupID string `json:"group_id"`
			Role    string
		}
		SessionAnswers []struct {
			SessionID string `json:"session_id"`
			Answer    string
		} `json:"session_answers"`
		Registrations []struct {
			EventID    string `json:"event_id"`
			EventTitle string `json:"event_title"`
			Email      string
			Answers    map[string]string
		} `json:"event_registrations"`
		PollVotes []struct {
			PollID string `json:"poll_id"`
			Vote   string
		} `json:"poll_votes"`
	}
	if err := json.Unmarshal([]byte(p.Body), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, p.Body)
	}
	a := got.Account
	if a.Email != aliceUser.Email || a.Name != aliceUser.Name || a.Direction != "DNUM" || a.Role != "agent" || !a.NotifyEmail ||
		a.CreatedAt == "" || a.LastLoginAt == "" {
		t.Errorf("account: %+v", a)
	}
	if len(got.Memberships) != 1 || got.Memberships[0].GroupID != gid || got.Memberships[0].Role != string(models.RoleGroupMember) {
		t.Errorf("memberships: %+v", got.Memberships)
	}
	if len(got.SessionAnswers) != 1 || got.SessionAnswers[0].SessionID != sid || got.SessionAnswers[0].Answer != "yes" {
		t.Errorf("session answers: %+v", got.SessionAnswers)
	}
	if len(got.Registrations) != 1 || got.Registrations[0].EventID != ev.Event.ID || got.Registrations[0].EventTitle != "Journée données" ||
		got.Registrations[0].Email != aliceUser.Email || got.Registrations[0].Answers["Régime alimentaire"] != "Végétarien" {
		t.Errorf("registrations: %+v", got.Registrations)
	}
	votes := map[string]int{}
	for _, v := range got.PollVotes {
		if v.PollID != pid {
			t.Errorf("vote on another poll: %+v", v)
		}
		votes[v.Vote]++
	}
	if len(got.PollVotes) != 3 || votes["yes"] != 1 || votes["if_needed"] != 1 || votes["no"] != 1 {
		t.Errorf("poll votes: %+v", got.PollVotes)
	}
	for _, other := range []string{"bob@example.org", "orga@example.org", "agora_", "hash", "token", "code"} {
		if strings.Contains(strings.ToLower(p.Body), other) {
			t.Errorf("the export holds %q:\n%s", other, p.Body)
		}
	}
	if n := ts.count("SELECT COUNT(*) FROM audit_log WHERE action = 'user.export' AND target_id = ?", aliceUser.ID); n != 1 {
		t.Errorf("%d user.export audit entries for alice", n)
	}

	// Anonymous: sent to the login page, no file.
	anon := ts.newClient().get("/profile/data")
	if anon.Status != http.StatusSeeOther || !strings.HasPrefix(anon.Header.Get("Location"), "/login") ||
		strings.Contains(anon.Body, "alice@example.org") {
		t.Fatalf("anonymous: %d %q", anon.Status, anon.Header.Get("Location"))
	}
}

// The export also holds the groups since archived, the join requests
// (pending and declined), and the audit entries: what the person did, and
// what was done to their account, without saying by whom.
func TestProfileDataExportArchivedGroupsRequestsAudit(t *testing.T) {
	ts := newTestServer(t)
	admin, _ := ts.loginAs("admin@example.org", models.RoleAdmin)
	org, _ := ts.loginAs("orga@example.org", models.RoleOrganiser)
	alice, aliceUser := ts.loginAs("alice@example.org", models.RoleAgent)
	old := org.createGroup("Ancien groupe", models.JoinOpen, "")
	mustRedirect(t, alice.post("/groups/"+old+"/join", nil), "join")
	mustRedirect(t, org.post("/groups/"+old+"/status", url.Values{"status": {"archived"}}), "archive")
	pending := org.createGroup("Sur demande", models.JoinApproval, "")
	declined := org.createGroup("Refusé", models.JoinApproval, "")
	for _, gid := range []string{pending, declined} {
		mustRedirect(t, alice.post("/groups/"+gid+"/request", url.Values{"message": {"Je voudrais participer."}}), "request")
	}
	mustRedirect(t, org.post("/groups/"+declined+"/requests/"+aliceUser.ID, url.Values{"decision": {"decline"}}), "decline")
	mustRedirect(t, admin.post("/admin/users/"+aliceUser.ID+"/role", url.Values{"role": {"organiser"}}), "role")

	p := alice.get("/profile/data")
	var got struct {
		Memberships []struct {
			GroupID     string `json:"group_id"`
			GroupStatus string `json:"group_status"`
			Role        string
			JoinedAt    string `json:"joined_at"`
		}
		JoinRequests []struct {
			GroupID   string `json:"group_id"`
			Status    string
			Message   string
			DecidedAt *string `json:"decided_at"`
		} `json:"join_requests"`
		ByYou []struct {
			Action   string
			TargetID string `json:"target_id"`
		} `json:"audit_entries_by_you"`
		AboutYou []struct {
			Action, Detail string
		} `json:"audit_entries_about_your_account"`
	}
	if err := json.Unmarshal([]byte(p.Body), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, p.Body)
	}
	if len(got.Memberships) != 1 || got.Memberships[0].GroupID != old || got.Memberships[0].GroupStatus != "archived" ||
		got.Memberships[0].Role != "member" || got.Memberships[0].JoinedAt == "" {
		t.Errorf("memberships: %+v", got.Memberships)
	}
	requests := map[string]string{}
	for _, r := range got.JoinRequests {
		requests[r.GroupID] = r.Status
		if r.Message != "Je voudrais participer." || (r.Status == "declined") != (r.DecidedAt != nil) {
			t.Errorf("request: %+v", r)
		}
	}
	if len(requests) != 2 || requests[pending] != "pending" || requests[declined] != "declined" {
		t.Errorf("join requests: %+v", got.JoinRequests)
	}
	by := map[string]bool{}
	for _, e := range got.ByYou {
		by[e.Action+" "+e.TargetID] = true
	}
	if !by["group.join "+old] || !by["group.request "+pending] || !by["login "+aliceUser.ID] {
		t.Errorf("entries by alice: %+v", got.ByYou)
	}
	var role bool
	for _, e := range got.AboutYou {
		role = role || e.Action == "user.role" && e.Detail == "agent → organiser"
	}
	if !role {
		t.Errorf("entries about alice's account: %+v", got.AboutYou)
	}
	if strings.Contains(p.Body, "admin@example.org") || strings.Contains(p.Body, "orga@example.org") {
		t.Errorf("the export names who acted on the account:\n%s", p.Body)
	}
}

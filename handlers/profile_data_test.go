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

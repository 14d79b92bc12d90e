package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dnum-sociaux/agora/models"
)

type apiPollBody struct {
	ID, Title, Status, URL string
	GroupID                string  `json:"group_id"`
	DurationMinutes        int     `json:"duration_minutes"`
	Deadline               *string `json:"deadline"`
	AcceptsVotes           bool    `json:"accepts_votes"`
	SessionID              *string `json:"session_id"`
	ChosenSlotID           *string `json:"chosen_slot_id"`
	VotersCount            int     `json:"voters_count"`
	Slots                  []struct {
		ID       string
		StartsAt string `json:"starts_at"`
		Yes      int
		IfNeeded int `json:"if_needed"`
		No       int
		Best     bool
		MyVote   *string `json:"my_vote"`
	}
}

func (b apiPollBody) summary() string {
	var out []string
	for _, s := range b.Slots {
		mine := "-"
		if s.MyVote != nil {
			mine = *s.MyVote
		}
		best := ""
		if s.Best {
			best = "*"
		}
		out = append(out, fmt.Sprintf("%d/%d/%d/%s", s.Yes, s.IfNeeded, s.No, mine)+best)
	}
	return strings.Join(out, " ")
}

// A script reads a poll and answers it with a member's key; every answer is
// checked against the OpenAPI document by the test client.
func TestAPIPollReadAndVote(t *testing.T) {
	ts := newTestServer(t, "AGORA_SESSION_IDLE", "700h")
	org, _ := ts.loginAs("orga@example.org", models.RoleOrganiser)
	alice, aliceUser := ts.loginAs("alice@example.org", models.RoleAgent)
	bob, _ := ts.loginAs("bob@example.org", models.RoleAgent)
	outsider := ts.createUser("outsider@example.org", models.RoleAgent)
	admin := ts.createUser("admin@example.org", models.RoleAdmin)
	gid := org.createGroup("Comitologie", models.JoinOpen, "")
	for _, c := range []*client{alice, bob} {
		mustRedirect(t, c.post("/groups/"+gid+"/join", nil), "join")
	}
	pid := org.createPoll(gid, func(v url.Values) { v.Set("deadline", "2026-12-06") })
	slots := ts.pollSlots(pid)
	mustRedirect(t, bob.post("/polls/"+pid+"/votes", votesForm(slots, "yes", "if_needed", "no")), "bob votes on the web")

	key := ts.apiKey(aliceUser, "script")
	api := ts.api(key)
	var got apiPollBody
	api.get("/api/v1/polls/"+pid).must(t, http.StatusOK).JSON(t, &got)
	if got.ID != pid || got.GroupID != gid || got.Status != "open" || !got.AcceptsVotes || got.DurationMinutes != 120 || got.Deadline == nil ||
		*got.Deadline != "2026-12-07T00:00:00+01:00" || got.VotersCount != 1 || got.SessionID != nil || len(got.Slots) != 3 ||
		got.Slots[0].ID != slots[0].ID || got.Slots[0].StartsAt != "2026-12-08T10:00:00+01:00" || got.URL != ts.Config.URL("/polls/"+pid) {
		t.Fatalf("poll = %+v", got)
	}
	if s := got.summary(); s != "1/0/0/-* 0/1/0/- 0/0/1/-" {
		t.Fatalf("slots = %s", s)
	}

	// Alice answers two slots, then changes one: the totals follow, her answers are upserts.
	r := api.call(http.MethodPut, "/api/v1/polls/"+pid+"/votes/me", map[string]any{"votes": map[string]string{
		slots[0].ID: "yes", slots[1].ID: "if_needed"}}).must(t, http.StatusOK)
	r.JSON(t, &got)
	if s := got.summary(); s != "2/0/0/yes* 0/2/0/if_needed 0/0/1/-" || got.VotersCount != 2 {
		t.Fatalf("after alice's answers: %s (%d voters)", got.summary(), got.VotersCount)
	}
	api.call(http.MethodPut, "/api/v1/polls/"+pid+"/votes/me", map[string]any{"votes": map[string]string{slots[0].ID: "no"}}).
		must(t, http.StatusOK).JSON(t, &got)
	// The most "oui" wins over the most "si besoin".
	if s := got.summary(); s != "1/0/1/no* 0/2/0/if_needed 0/0/1/-" {
		t.Fatalf("after alice's change: %s", s)
	}
	if n := ts.count("SELECT COUNT(*) FROM poll_votes WHERE user_id = ?", aliceUser.ID); n != 2 {
		t.Fatalf("%d answers stored for alice, want 2", n)
	}
	// The web page shows the answers given through the API.
	if p := alice.get("/polls/" + pid); !strings.Contains(p.Body, `name="slot_`+slots[1].ID+`" value="if_needed" checked`) {
		t.Fatal("the web page does not show the API's answers")
	}

	// Validation: the fields at fault, nothing changed.
	cases := []struct {
		name  string
		body  any
		field string
	}{
		{"unknown answer", map[string]any{"votes": map[string]string{slots[2].ID: "maybe"}}, "votes." + slots[2].ID},
		{"unknown slot", map[string]any{"votes": map[string]string{"01aaaaaaaaaaaaaaaaaaaaaaaa": "yes"}}, "votes.01aaaaaaaaaaaaaaaaaaaaaaaa"},
		{"no answer", map[string]any{"votes": map[string]string{}}, "votes"},
		{"no votes field", map[string]any{}, "votes"},
		{"unknown field", map[string]any{"votes": map[string]string{slots[2].ID: "yes"}, "comment": "x"}, "comment"},
		{"answer not a string", map[string]any{"votes": map[string]any{slots[2].ID: 1}}, "votes"},
	}
	for _, c := range cases {
		r := api.call(http.MethodPut, "/api/v1/polls/"+pid+"/votes/me", c.body).must(t, http.StatusUnprocessableEntity)
		if p := r.Problem(t); p.field(c.field) == "" {
			t.Errorf("%s: problem %+v does not name %s", c.name, p, c.field)
		}
	}
	api.call(http.MethodPut, "/api/v1/polls/"+pid+"/votes/me", "not json").must(t, http.StatusBadRequest).Problem(t)
	if n := ts.count("SELECT COUNT(*) FROM poll_votes WHERE user_id = ?", aliceUser.ID); n != 2 {
		t.Fatalf("refused requests changed alice's answers: %d", n)
	}

	// Permissions: outsiders 403, admins read but do not vote unless members, unknown 404, no key 401.
	ts.api(ts.apiKey(outsider, "k")).get("/api/v1/polls/"+pid).must(t, http.StatusForbidden).Problem(t)
	ts.api(ts.apiKey(outsider, "k2")).call(http.MethodPut, "/api/v1/polls/"+pid+"/votes/me",
		map[string]any{"votes": map[string]string{slots[0].ID: "yes"}}).must(t, http.StatusForbidden).Problem(t)
	adm := ts.api(ts.apiKey(admin, "k"))
	adm.get("/api/v1/polls/"+pid).must(t, http.StatusOK)
	adm.call(http.MethodPut, "/api/v1/polls/"+pid+"/votes/me", map[string]any{"votes": map[string]string{slots[0].ID: "yes"}}).
		must(t, http.StatusForbidden).Problem(t)
	api.get("/api/v1/polls/01aaaaaaaaaaaaaaaaaaaaaaaa").must(t, http.StatusNotFound).Problem(t)
	ts.api("").get("/api/v1/polls/"+pid).must(t, http.StatusUnauthorized).Problem(t)

	// Past the deadline: 409, and accepts_votes is false.
	ts.Clock.Set(time.Date(2026, 12, 6, 23, 0, 0, 0, time.UTC))
	r = api.call(http.MethodPut, "/api/v1/polls/"+pid+"/votes/me", map[string]any{"votes": map[string]string{slots[2].ID: "yes"}}).
		must(t, http.StatusConflict)
	if !strings.Contains(r.Problem(t).Detail, "date limite") {
		t.Fatalf("deadline problem: %s", r.Body)
	}
	api.get("/api/v1/polls/"+pid).must(t, http.StatusOK).JSON(t, &got)
	if got.AcceptsVotes || got.Status != "open" {
		t.Fatalf("after the deadline: %+v", got)
	}

	// Closed on a slot: the poll names the session; answers are refused with 409.
	org2 := ts.relogin("orga@example.org")
	mustRedirect(t, org2.post("/polls/"+pid+"/close", url.Values{"slot": {slots[1].ID}, "title": {"Atelier"}, "room": {"Salle 1"}}), "close")
	api.get("/api/v1/polls/"+pid).must(t, http.StatusOK).JSON(t, &got)
	if got.Status != "closed" || got.SessionID == nil || got.ChosenSlotID == nil || *got.ChosenSlotID != slots[1].ID || got.AcceptsVotes {
		t.Fatalf("closed poll = %+v", got)
	}
	for _, s := range got.Slots {
		if s.Best {
			t.Fatal("a closed poll still marks a best slot")
		}
	}
	api.get("/api/v1/sessions/"+*got.SessionID).must(t, http.StatusOK)
	r = api.call(http.MethodPut, "/api/v1/polls/"+pid+"/votes/me", map[string]any{"votes": map[string]string{slots[2].ID: "yes"}}).
		must(t, http.StatusConflict)
	if !strings.Contains(r.Problem(t).Detail, "clos") {
		t.Fatalf("closed problem: %s", r.Body)
	}
}

package handlers_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dnum-sociaux/agora/models"
)

type groupJSON struct {
	ID, Title, Theme, Status string
	JoinPolicy               string  `json:"join_policy"`
	MemberLimit              *int    `json:"member_limit"`
	MemberCount              int     `json:"member_count"`
	MyRole                   *string `json:"my_role"`
	Organisers               []struct{ ID, Name string }
}

type sessionJSON struct {
	ID, Title, Status, Location string
	GroupID                     *string `json:"group_id"`
	StartsAt                    string  `json:"starts_at"`
	Capacity                    *int
	Sequence                    int
	Confirmed                   int `json:"confirmed_count"`
	Waitlist                    int `json:"waitlist_count"`
}

type rsvpJSON struct {
	Answer, State string
	Position      *int
}

func (ts *testServer) outboxCount(kind, to string) int {
	ts.t.Helper()
	msgs, _, err := ts.Store.ListOutbox(context.Background(), models.OutboxFilter{Kind: kind, Recipient: to, Limit: 100})
	if err != nil {
		ts.t.Fatal(err)
	}
	return len(msgs)
}

// The script of the issue: create a group, schedule a session, RSVP with a
// waiting list, read the lists; with the web UI's rules and emails.
func TestAPIGroupSessionRSVPScript(t *testing.T) {
	ts := newTestServer(t)
	org := ts.api(ts.apiKey(ts.createUser("organiser@example.org", models.RoleOrganiser), "script"))
	alice := ts.api(ts.apiKey(ts.createUser("alice@example.org", models.RoleAgent), "a"))
	bob := ts.api(ts.apiKey(ts.createUser("bob@example.org", models.RoleAgent), "b"))

	var g groupJSON
	r := org.call(http.MethodPost, "/api/v1/groups", map[string]any{"title": "Rôle du PM", "summary": "Le métier de PM",
		"theme": "role_metier", "join_policy": "open"}).must(t, http.StatusCreated)
	r.JSON(t, &g)
	if g.Status != "active" || g.JoinPolicy != "open" || len(g.Organisers) != 1 || g.MyRole == nil || *g.MyRole != "organiser" ||
		r.Header.Get("Location") != ts.Config.URL("/api/v1/groups/"+g.ID) {
		t.Fatalf("group = %+v, Location %q", g, r.Header.Get("Location"))
	}
	for _, who := range []*apiClient{alice, bob} {
		var m struct{ State string }
		who.call(http.MethodPost, "/api/v1/groups/"+g.ID+"/members", nil).must(t, http.StatusCreated).JSON(t, &m)
		if m.State != "member" {
			t.Fatalf("join = %+v", m)
		}
	}
	alice.call(http.MethodPost, "/api/v1/groups/"+g.ID+"/members", nil).must(t, http.StatusConflict).Problem(t)

	start := ts.Clock.Now().Add(7 * 24 * time.Hour).In(models.Paris)
	start = time.Date(start.Year(), start.Month(), start.Day(), 14, 0, 0, 0, models.Paris)
	var sess sessionJSON
	org.call(http.MethodPost, "/api/v1/groups/"+g.ID+"/sessions", map[string]any{
		"title": "Séance 1", "starts_at": start.Format(time.RFC3339), "ends_at": start.Add(2 * time.Hour).Format(time.RFC3339),
		"room": "Salle 101", "capacity": 1}).must(t, http.StatusCreated).JSON(t, &sess)
	if sess.Status != "scheduled" || sess.Sequence != 0 || sess.Capacity == nil || *sess.Capacity != 1 || sess.StartsAt != start.Format(time.RFC3339) {
		t.Fatalf("session = %+v", sess)
	}
	// Members got the calendar invitation, as from the web.
	for _, to := range []string{"alice@example.org", "bob@example.org"} {
		if n := ts.outboxCount("session.invitation", to); n != 1 {
			t.Fatalf("%s got %d invitations", to, n)
		}
	}
	var rs rsvpJSON
	alice.call(http.MethodPut, "/api/v1/sessions/"+sess.ID+"/rsvp", map[string]string{"answer": "yes"}).must(t, http.StatusOK).JSON(t, &rs)
	if rs.State != "confirmed" || rs.Position != nil {
		t.Fatalf("alice = %+v", rs)
	}
	bob.call(http.MethodPut, "/api/v1/sessions/"+sess.ID+"/rsvp", map[string]string{"answer": "yes"}).must(t, http.StatusOK).JSON(t, &rs)
	if rs.State != "waitlisted" || rs.Position == nil || *rs.Position != 1 {
		t.Fatalf("bob = %+v", rs)
	}
	var list struct {
		Items []struct {
			Name, State string
			Position    *int
		}
		NextCursor *string `json:"next_cursor"`
	}
	org.get("/api/v1/sessions/"+sess.ID+"/attendees").must(t, http.StatusOK).JSON(t, &list)
	if len(list.Items) != 2 || list.Items[0].State != "confirmed" || list.Items[1].State != "waitlisted" || *list.Items[1].Position != 1 || list.NextCursor != nil {
		t.Fatalf("attendees = %+v", list)
	}
	// Alice says no: Bob gets the place and the email.
	alice.call(http.MethodPut, "/api/v1/sessions/"+sess.ID+"/rsvp", map[string]string{"answer": "no"}).must(t, http.StatusOK).JSON(t, &rs)
	if rs.State != "declined" {
		t.Fatalf("alice = %+v", rs)
	}
	if n := ts.outboxCount("session.promoted", "bob@example.org"); n != 1 {
		t.Fatalf("bob got %d promotion emails", n)
	}
	bob.get("/api/v1/sessions/"+sess.ID).must(t, http.StatusOK).JSON(t, &sess)
	if sess.Confirmed != 1 || sess.Waitlist != 0 {
		t.Fatalf("counts = %+v", sess)
	}
	// Move it: participants get the update, SEQUENCE goes up.
	later := start.Add(time.Hour)
	org.call(http.MethodPatch, "/api/v1/sessions/"+sess.ID, map[string]any{"starts_at": later.Format(time.RFC3339),
		"ends_at": later.Add(time.Hour).Format(time.RFC3339)}).must(t, http.StatusOK).JSON(t, &sess)
	if sess.Sequence != 1 || sess.StartsAt != later.Format(time.RFC3339) {
		t.Fatalf("moved = %+v", sess)
	}
	if n := ts.outboxCount("session.update", "bob@example.org"); n != 1 {
		t.Fatalf("bob got %d updates", n)
	}
	// Lists.
	var sessions struct{ Items []sessionJSON }
	alice.get("/api/v1/groups/"+g.ID+"/sessions").must(t, http.StatusOK).JSON(t, &sessions)
	if len(sessions.Items) != 1 || sessions.Items[0].ID != sess.ID {
		t.Fatalf("sessions = %+v", sessions)
	}
	var members struct {
		Items []struct{ Email, Role string }
	}
	alice.get("/api/v1/groups/"+g.ID+"/members").must(t, http.StatusOK).JSON(t, &members)
	if len(members.Items) != 3 {
		t.Fatalf("members = %+v", members)
	}
	// Cancel: everyone gets the cancellation.
	org.call(http.MethodPost, "/api/v1/sessions/"+sess.ID+"/cancel", nil).must(t, http.StatusOK).JSON(t, &sess)
	if sess.Status != "cancelled" || sess.Sequence != 2 {
		t.Fatalf("cancelled = %+v", sess)
	}
	if n := ts.outboxCount("session.cancel", "bob@example.org"); n != 1 {
		t.Fatalf("bob got %d cancellations", n)
	}
	bob.call(http.MethodPut, "/api/v1/sessions/"+sess.ID+"/rsvp", map[string]string{"answer": "yes"}).must(t, http.StatusConflict).Problem(t)
	org.call(http.MethodPost, "/api/v1/sessions/"+sess.ID+"/cancel", nil).must(t, http.StatusConflict)
	// Leave the group.
	bob.call(http.MethodDelete, "/api/v1/groups/"+g.ID+"/members/me", nil).must(t, http.StatusNoContent)
	org.call(http.MethodDelete, "/api/v1/groups/"+g.ID+"/members/me", nil).must(t, http.StatusConflict).Problem(t)
}

func TestAPIGroupPermissions(t *testing.T) {
	ts := newTestServer(t)
	orgUser := ts.createUser("organiser@example.org", models.RoleOrganiser)
	ts.createUser("admin@example.org", models.RoleAdmin)
	org := ts.api(ts.apiKey(orgUser, "o"))
	agent := ts.api(ts.apiKey(ts.createUser("agent@example.org", models.RoleAgent), "a"))
	other := ts.api(ts.apiKey(ts.createUser("other@example.org", models.RoleAgent), "x"))

	var g groupJSON
	org.call(http.MethodPost, "/api/v1/groups", map[string]any{"title": "Comité produit", "theme": "comitologie", "join_policy": "approval"}).
		must(t, http.StatusCreated).JSON(t, &g)
	// Non-organisers may not change it, nor schedule, nor see its members.
	agent.call(http.MethodPatch, "/api/v1/groups/"+g.ID, map[string]any{"title": "Pris"}).must(t, http.StatusForbidden).Problem(t)
	agent.call(http.MethodPost, "/api/v1/groups/"+g.ID+"/sessions", map[string]any{"title": "x", "starts_at": "2027-01-01T10:00:00+01:00",
		"ends_at": "2027-01-01T11:00:00+01:00", "room": "A"}).must(t, http.StatusForbidden)
	agent.get("/api/v1/groups/"+g.ID+"/members").must(t, http.StatusForbidden)
	// On approval: a request, and the organiser is told by email.
	var m struct{ State string }
	agent.call(http.MethodPost, "/api/v1/groups/"+g.ID+"/members", map[string]string{"message": "Je suis PM à la DGS"}).must(t, http.StatusAccepted).JSON(t, &m)
	if m.State != "requested" || ts.outboxCount("group.request", "organiser@example.org") != 1 {
		t.Fatalf("request = %+v, emails %d", m, ts.outboxCount("group.request", "organiser@example.org"))
	}
	// The organiser changes it; the answer reflects the change.
	org.call(http.MethodPatch, "/api/v1/groups/"+g.ID, map[string]any{"member_limit": 10, "theme": "hackathon_communs"}).must(t, http.StatusOK).JSON(t, &g)
	if g.MemberLimit == nil || *g.MemberLimit != 10 || g.Theme != "hackathon_communs" || g.Title != "Comité produit" {
		t.Fatalf("patched = %+v", g)
	}
	// An agent's group is a proposal: the admins are told, others cannot see it.
	var p groupJSON
	agent.call(http.MethodPost, "/api/v1/groups", map[string]any{"title": "Communs numériques"}).must(t, http.StatusCreated).JSON(t, &p)
	if p.Status != "proposed" || p.Theme != "role_metier" || p.JoinPolicy != "open" {
		t.Fatalf("proposal = %+v", p)
	}
	if n := ts.outboxCount("group.proposal", "admin@example.org"); n != 1 {
		t.Fatalf("admin got %d proposal emails", n)
	}
	other.get("/api/v1/groups/"+p.ID).must(t, http.StatusNotFound).Problem(t)
	agent.get("/api/v1/groups/"+p.ID).must(t, http.StatusOK)
	other.get("/api/v1/groups/nope").must(t, http.StatusNotFound)
	// Non-members do not answer sessions.
	start := time.Date(2027, 1, 15, 14, 0, 0, 0, models.Paris)
	var sess sessionJSON
	org.call(http.MethodPost, "/api/v1/groups/"+g.ID+"/sessions", map[string]any{"title": "S", "starts_at": start.Format(time.RFC3339),
		"ends_at": start.Add(time.Hour).Format(time.RFC3339), "video_url": "https://visio.example/s"}).must(t, http.StatusCreated).JSON(t, &sess)
	other.call(http.MethodPut, "/api/v1/sessions/"+sess.ID+"/rsvp", map[string]string{"answer": "yes"}).must(t, http.StatusForbidden).Problem(t)
	other.get("/api/v1/sessions/"+sess.ID+"/attendees").must(t, http.StatusForbidden)
}

func TestAPIValidationErrors(t *testing.T) {
	ts := newTestServer(t, "AGORA_MAX_BODY_BYTES", "2048")
	org := ts.api(ts.apiKey(ts.createUser("organiser@example.org", models.RoleOrganiser), "o"))

	r := org.call(http.MethodPost, "/api/v1/groups", map[string]any{"title": "", "theme": "cuisine", "member_limit": 0}).must(t, http.StatusUnprocessableEntity)
	p := r.Problem(t)
	if !strings.Contains(p.field("title"), "obligatoire") || p.field("theme") == "" || p.field("member_limit") == "" {
		t.Fatalf("field errors = %+v", p.Errors)
	}
	p = org.call(http.MethodPost, "/api/v1/groups", map[string]any{"title": "x", "colour": "blue"}).must(t, http.StatusUnprocessableEntity).Problem(t)
	if p.field("colour") == "" {
		t.Fatalf("unknown field not named: %+v", p)
	}
	p = org.call(http.MethodPost, "/api/v1/groups", map[string]any{"title": 12}).must(t, http.StatusUnprocessableEntity).Problem(t)
	if p.field("title") == "" {
		t.Fatalf("mistyped field not named: %+v", p)
	}
	org.call(http.MethodPost, "/api/v1/groups", `{"title": "x"`).must(t, http.StatusBadRequest).Problem(t)
	org.call(http.MethodPost, "/api/v1/groups", `{"title":"x"}`, "Content-Type", "text/plain").must(t, http.StatusUnsupportedMediaType).Problem(t)
	org.call(http.MethodPost, "/api/v1/groups", map[string]any{"title": strings.Repeat("x", 3000)}).must(t, http.StatusRequestEntityTooLarge).Problem(t)
	if _, n, _ := ts.Store.ListGroups(context.Background(), models.GroupFilter{Limit: 1}); n != 0 {
		t.Fatalf("%d groups created by bad requests", n)
	}
	var g groupJSON
	org.call(http.MethodPost, "/api/v1/groups", map[string]any{"title": "G"}).must(t, http.StatusCreated).JSON(t, &g)
	// Sessions: times in RFC 3339, in the future, same day, a place.
	for _, tc := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"title": "S", "starts_at": "15/01/2027 14:00", "ends_at": "2027-01-15T15:00:00+01:00", "room": "A"}, "starts_at"},
		{map[string]any{"title": "S", "starts_at": "2027-01-15T14:00:00+01:00", "ends_at": "2027-01-15T13:00:00+01:00", "room": "A"}, "ends_at"},
		{map[string]any{"title": "S", "starts_at": "2027-01-15T14:00:00+01:00", "ends_at": "2027-01-16T13:00:00+01:00", "room": "A"}, "ends_at"},
		{map[string]any{"title": "S", "starts_at": "2020-01-15T14:00:00+01:00", "ends_at": "2020-01-15T15:00:00+01:00", "room": "A"}, "starts_at"},
		{map[string]any{"title": "S", "starts_at": "2027-01-15T14:00:00+01:00", "ends_at": "2027-01-15T15:00:00+01:00"}, "room"},
		{map[string]any{"title": "S", "starts_at": "2027-01-15T14:00:00+01:00", "ends_at": "2027-01-15T15:00:00+01:00", "video_url": "javascript:x"}, "video_url"},
	} {
		p := org.call(http.MethodPost, "/api/v1/groups/"+g.ID+"/sessions", tc.body).must(t, http.StatusUnprocessableEntity).Problem(t)
		if p.field(tc.field) == "" {
			t.Errorf("%v: no error on %s: %+v", tc.body, tc.field, p.Errors)
		}
	}
	var sess sessionJSON
	org.call(http.MethodPost, "/api/v1/groups/"+g.ID+"/sessions", map[string]any{"title": "S", "starts_at": "2027-01-15T14:00:00+01:00",
		"ends_at": "2027-01-15T15:00:00+01:00", "room": "A"}).must(t, http.StatusCreated).JSON(t, &sess)
	p = org.call(http.MethodPut, "/api/v1/sessions/"+sess.ID+"/rsvp", map[string]string{"answer": "oui"}).must(t, http.StatusUnprocessableEntity).Problem(t)
	if p.field("answer") == "" {
		t.Fatalf("answer error = %+v", p)
	}
}

// apiSessionWithAgent is a session of a group that an organiser created
// through the API and an agent joined: their API clients and the session.
func (ts *testServer) apiSessionWithAgent(t *testing.T) (org, agent *apiClient, sess sessionJSON) {
	t.Helper()
	org = ts.api(ts.apiKey(ts.createUser("organiser@example.org", models.RoleOrganiser), "o"))
	agent = ts.api(ts.apiKey(ts.createUser("agent@example.org", models.RoleAgent), "a"))
	var g groupJSON
	org.call(http.MethodPost, "/api/v1/groups", map[string]any{"title": "G"}).must(t, http.StatusCreated).JSON(t, &g)
	agent.call(http.MethodPost, "/api/v1/groups/"+g.ID+"/members", nil).must(t, http.StatusCreated)
	org.call(http.MethodPost, "/api/v1/groups/"+g.ID+"/sessions", map[string]any{"title": "S", "starts_at": "2027-01-15T14:00:00+01:00",
		"ends_at": "2027-01-15T15:00:00+01:00", "room": "A"}).must(t, http.StatusCreated).JSON(t, &sess)
	return org, agent, sess
}

func TestAPIRSVPIdempotency(t *testing.T) {
	ts := newTestServer(t)
	org, agent, sess := ts.apiSessionWithAgent(t)

	path := "/api/v1/sessions/" + sess.ID + "/rsvp"
	first := agent.call(http.MethodPut, path, map[string]string{"answer": "yes"}, "Idempotency-Key", "retry-1").must(t, http.StatusOK)
	if first.Header.Get("Idempotent-Replayed") != "" {
		t.Fatal("first answer marked as replayed")
	}
	// The client did not see the answer and changed its mind meanwhile in
	// the web UI: the retry replays, it does not answer again.
	testutil := func() int {
		entries, _, _ := ts.Store.ListAudit(context.Background(), models.AuditFilter{Action: "session.answer"})
		return len(entries)
	}
	before := testutil()
	again := agent.call(http.MethodPut, path, map[string]string{"answer": "yes"}, "Idempotency-Key", "retry-1").must(t, http.StatusOK)
	if again.Header.Get("Idempotent-Replayed") != "true" || string(again.Body) != string(first.Body) {
		t.Fatalf("replay = %q %s", again.Header.Get("Idempotent-Replayed"), again.Body)
	}
	if testutil() != before {
		t.Fatal("the replay answered again")
	}
	p := agent.call(http.MethodPut, path, map[string]string{"answer": "no"}, "Idempotency-Key", "retry-1").must(t, http.StatusUnprocessableEntity).Problem(t)
	if p.field("Idempotency-Key") == "" {
		t.Fatalf("problem = %+v", p)
	}
	// Keys belong to their user: another user's same key is independent.
	org.call(http.MethodPost, "/api/v1/groups/"+*sess.GroupID+"/members", nil).must(t, http.StatusConflict)
	var rs rsvpJSON
	org.call(http.MethodPut, path, map[string]string{"answer": "maybe"}, "Idempotency-Key", "retry-1").must(t, http.StatusOK).JSON(t, &rs)
	if rs.State != "maybe" {
		t.Fatalf("organiser's answer = %+v", rs)
	}
	agent.call(http.MethodPut, path, map[string]string{"answer": "no"}, "Idempotency-Key", strings.Repeat("k", 300)).must(t, http.StatusBadRequest)
}

func TestAPIPagination(t *testing.T) {
	ts := newTestServer(t)
	org := ts.api(ts.apiKey(ts.createUser("organiser@example.org", models.RoleOrganiser), "o"))
	for _, title := range []string{"A", "B", "C", "D", "E"} {
		org.call(http.MethodPost, "/api/v1/groups", map[string]any{"title": "Groupe " + title}).must(t, http.StatusCreated)
	}
	var seen []string
	path := "/api/v1/groups?limit=2"
	for i := 0; i < 5 && path != ""; i++ {
		var page struct {
			Items      []groupJSON
			NextCursor *string `json:"next_cursor"`
		}
		org.get(path).must(t, http.StatusOK).JSON(t, &page)
		for _, g := range page.Items {
			seen = append(seen, g.Title)
		}
		path = ""
		if page.NextCursor != nil {
			path = "/api/v1/groups?limit=2&cursor=" + *page.NextCursor
		}
	}
	if strings.Join(seen, ",") != "Groupe A,Groupe B,Groupe C,Groupe D,Groupe E" {
		t.Fatalf("pages gave %v", seen)
	}
	org.get("/api/v1/groups?limit=0").must(t, http.StatusBadRequest).Problem(t)
	org.get("/api/v1/groups?cursor=bm9wZQ").must(t, http.StatusBadRequest)
	org.get("/api/v1/groups?theme=cuisine").must(t, http.StatusBadRequest)
	var found struct{ Items []groupJSON }
	org.get("/api/v1/groups?q=groupe+c").must(t, http.StatusOK).JSON(t, &found)
	if len(found.Items) != 1 || found.Items[0].Title != "Groupe C" {
		t.Fatalf("search = %+v", found)
	}
}

// Concurrent retries with the same Idempotency-Key act once and all get the
// first answer.
func TestAPIRSVPIdempotencyConcurrent(t *testing.T) {
	ts := newTestServer(t)
	_, agent, sess := ts.apiSessionWithAgent(t)
	const n = 6
	bodies := make(chan string, n)
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	var fresh atomic.Int32
	for i := 0; i < n; i++ {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodPut, ts.URL+"/api/v1/sessions/"+sess.ID+"/rsvp", strings.NewReader(`{"answer":"yes"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+agent.key)
			req.Header.Set("Idempotency-Key", "same-key")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			statuses <- resp.StatusCode
			bodies <- string(b)
			if resp.Header.Get("Idempotent-Replayed") != "true" {
				fresh.Add(1)
			}
		})
	}
	wg.Wait()
	close(bodies)
	close(statuses)
	for st := range statuses {
		if st != http.StatusOK {
			t.Fatalf("a concurrent retry got %d", st)
		}
	}
	var first string
	for b := range bodies {
		if first == "" {
			first = b
		}
		if b != first {
			t.Fatalf("answers differ: %s vs %s", b, first)
		}
	}
	if fresh.Load() != 1 {
		t.Fatalf("%d requests acted, want 1 (the others replay its answer)", fresh.Load())
	}
	entries, _, _ := ts.Store.ListAudit(context.Background(), models.AuditFilter{Action: "session.answer"})
	if len(entries) != 1 {
		t.Fatalf("%d answers recorded, want 1", len(entries))
	}
}

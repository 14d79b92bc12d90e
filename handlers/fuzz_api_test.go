package handlers_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dnum-sociaux/agora/handlers"
	"github.com/dnum-sociaux/agora/internal/testutil"
	"github.com/dnum-sociaux/agora/models"
)

// fuzzAPI is the real router over a SQLite store with a group, a session,
// a published event with a workshop and a question, and a registration,
// all organised by the owner of the API key.
type fuzzAPI struct {
	h     http.Handler
	store *models.Store
	key   string
	ops   []fuzzOp
	// bodies are valid bodies that name the fixture's ids, by path template.
	bodies map[string][]string
}

type fuzzOp struct {
	method, template, path string
}

// fuzzTables are the tables a request body can change; the audit log and
// the API's own bookkeeping (key use, idempotency) are left out.
var fuzzTables = []string{"users", "work_groups", "group_members", "group_requests", "group_invitations", "session_series", "sessions",
	"rsvps", "events", "event_organisers", "event_quotas", "event_correspondents", "event_questions", "registrations",
	"registration_answers", "registration_workshops", "registration_links", "outbox", "polls", "poll_slots", "poll_votes"}

func newFuzzAPI(tb testing.TB) *fuzzAPI {
	tb.Helper()
	clock := testutil.NewClock()
	store := testutil.SQLite(tb, clock.Now)
	h, _ := newHandler(tb, store, map[string]string{"AGORA_API_RATE_LIMIT": "0"}, func(d *handlers.Deps) { d.Now = clock.Now })
	fa := &fuzzAPI{store: store, h: h}
	ctx := context.Background()
	ids := map[string]string{}
	testutil.MustTx(tb, store, func(tx *models.Tx) error {
		org, err := tx.CreateUser(ctx, models.NewUser{Email: "orga@sg.social.gouv.fr", Name: "Orga Nisatrice", DirectionCode: "DNUM", Role: models.RoleOrganiser})
		if err != nil {
			return err
		}
		if _, fa.key, err = tx.CreateAPIKey(ctx, org.ID, "fuzz"); err != nil {
			return err
		}
		g, err := tx.CreateGroup(ctx, org, models.GroupInput{Title: "Groupe", Summary: "Résumé", Theme: models.Themes[0], JoinPolicy: models.JoinOpen})
		if err != nil {
			return err
		}
		at := time.Date(2026, 12, 10, 10, 0, 0, 0, models.Paris)
		s, err := tx.CreateSession(ctx, org, models.NewSession{GroupID: g.ID, UIDHost: "agora.test",
			SessionInput: models.SessionInput{Title: "Séance", StartsAt: at, EndsAt: at.Add(time.Hour), Room: "Salle 1", Capacity: 2}})
		if err != nil {
			return err
		}
		a := models.Actor{UserID: org.ID, Email: org.Email}
		day := time.Date(2027, 1, 14, 9, 0, 0, 0, models.Paris)
		e, err := tx.CreateEvent(ctx, a, "agora.test", models.EventInput{Title: "Journée", StartsAt: day, EndsAt: day.Add(8 * time.Hour),
			Capacity: 3, Modes: models.ModesBoth})
		if err != nil {
			return err
		}
		if _, err := tx.AddSlot(ctx, a, org, e.ID, "agora.test", models.SlotInput{Kind: models.SlotWorkshop,
			SessionInput: models.SessionInput{Title: "Atelier", StartsAt: day.Add(time.Hour), EndsAt: day.Add(2 * time.Hour), Capacity: 1}}); err != nil {
			return err
		}
		if _, err := tx.AddQuestion(ctx, a, e.ID, models.QuestionInput{Label: "Régime", Kind: models.QuestionShort}); err != nil {
			return err
		}
		if _, err := tx.SetEventStatus(ctx, models.NoNotify, a, e.ID, models.EventPublished); err != nil {
			return err
		}
		reg, err := tx.Register(ctx, models.NoNotify, models.NewRegistration{EventID: e.ID, Email: "inscrite@sg.social.gouv.fr", Name: "Inscrite",
			DirectionCode: "DGCS", Mode: models.ModeOnsite, By: &org, Actor: a})
		if err != nil {
			return err
		}
		poll, slots, err := tx.CreatePoll(ctx, org, g.ID, models.PollInput{Title: "Sondage", Duration: time.Hour,
			Starts: []time.Time{at.Add(-48 * time.Hour), at.Add(-24 * time.Hour)}})
		if err != nil {
			return err
		}
		fa.bodies = map[string][]string{"/polls/{id}/votes/me": {
			fmt.Sprintf(`{"votes":{%q:"yes",%q:"if_needed"}}`, slots[0].ID, slots[1].ID),
			fmt.Sprintf(`{"votes":{%q:"peut-être"}}`, slots[0].ID), `{"votes":{"nope":"yes"}}`, `{"votes":{}}`, `{"votes":null}`}}
		ids["groups"], ids["sessions"], ids["events"], ids["registrations"], ids["polls"] = g.ID, s.ID, e.ID, reg.ID, poll.ID
		return nil
	})
	// Every operation of the OpenAPI document that takes a body.
	w := fa.do(http.MethodGet, "/api/v1/openapi.json", "")
	var doc struct {
		Paths map[string]map[string]struct {
			RequestBody any `json:"requestBody"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		tb.Fatal(err)
	}
	for _, tmpl := range slices.Sorted(func(yield func(string) bool) {
		for p := range doc.Paths {
			if !yield(p) {
				return
			}
		}
	}) {
		for _, method := range []string{"post", "put", "patch"} {
			if op, ok := doc.Paths[tmpl][method]; ok && op.RequestBody != nil {
				path := tmpl
				if seg := strings.Split(strings.TrimPrefix(tmpl, "/"), "/"); len(seg) > 1 && seg[1] == "{id}" {
					path = strings.Replace(tmpl, "{id}", ids[seg[0]], 1)
				}
				fa.ops = append(fa.ops, fuzzOp{method: strings.ToUpper(method), template: tmpl, path: "/api/v1" + path})
			}
		}
	}
	if len(fa.ops) < 6 {
		tb.Fatalf("only %d API operations take a body: %+v", len(fa.ops), fa.ops)
	}
	return fa
}

func (fa *fuzzAPI) do(method, path, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+fa.key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	fa.h.ServeHTTP(w, req)
	return w
}

// fingerprint hashes every row of the tables a body can change.
func (fa *fuzzAPI) fingerprint(t *testing.T) [32]byte {
	t.Helper()
	db, _ := fa.store.SQL()
	h := sha256.New()
	for _, table := range fuzzTables {
		rows, err := db.Query("SELECT * FROM " + table)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		var all []string
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			all = append(all, fmt.Sprintf("%v", vals))
		}
		rows.Close()
		slices.Sort(all)
		fmt.Fprintf(h, "%s:%d:%s\n", table, len(all), strings.Join(all, "\n"))
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

// fuzzBodies are valid bodies by path template, and the corpus's malformed ones.
var fuzzBodies = map[string][]string{
	"/groups":              {`{"title":"Communs numériques","summary":"Partager","theme":"autre","join_policy":"open"}`},
	"/groups/{id}":         {`{"title":"Nouveau titre","member_limit":10}`, `{"join_policy":"approval"}`},
	"/groups/{id}/members": {`{"message":"Bonjour"}`},
	"/groups/{id}/sessions": {`{"title":"Séance 2","starts_at":"2026-12-17T10:00:00+01:00","ends_at":"2026-12-17T12:00:00+01:00","room":"Salle 2","capacity":5}`,
		`{"title":"Bad","starts_at":"2026-12-17T12:00:00+01:00","ends_at":"2026-12-17T10:00:00+01:00","room":"x"}`},
	"/sessions/{id}":      {`{"starts_at":"2026-12-11T10:00:00+01:00","ends_at":"2026-12-11T11:00:00+01:00"}`, `{"capacity":-1}`, `{"title":"a\r\nBcc: x@y.z"}`},
	"/sessions/{id}/rsvp": {`{"answer":"yes"}`, `{"answer":"peut-être"}`},
	"/events/{id}/registrations": {`{"email":"autre@sg.social.gouv.fr","name":"Autre","direction":"DGOS","mode":"on_site"}`,
		`{"mode":"remote","answers":{"x":["a","b"]},"workshops":["nope"]}`},
	"": {`{}`, `null`, `[]`, `"x"`, `{"title":12}`, `{"unknown":true}`, `{"title":"a"`, `{"title":"\u0000"}`, `{"capacity":1e400}`, `{} {}`, "\xff\xfe"},
}

// FuzzAPIBodies sends any body to every API operation that takes one,
// through the real router with an organiser's key. Whatever the body: never
// a 5xx; every answer is JSON; an error is an RFC 9457 problem in French
// (its status, a title, a detail; a 422 names the fields at fault); and an
// error changes nothing in the database.
func FuzzAPIBodies(f *testing.F) {
	fa := newFuzzAPI(f)
	for i, op := range fa.ops {
		for _, body := range append(append(fuzzBodies[op.template], fa.bodies[op.template]...), fuzzBodies[""]...) {
			f.Add(uint8(i), []byte(body))
		}
	}
	f.Fuzz(func(t *testing.T, opNo uint8, body []byte) {
		op := fa.ops[int(opNo)%len(fa.ops)]
		before := fa.fingerprint(t)
		w := fa.do(op.method, op.path, string(body))
		where := fmt.Sprintf("%s %s with %q: %d", op.method, op.template, body, w.Code)
		if w.Code >= 500 || w.Code < 200 {
			t.Fatalf("%s\n%s", where, w.Body.String())
		}
		if w.Code != http.StatusNoContent && !json.Valid(w.Body.Bytes()) {
			t.Fatalf("%s: the answer is not JSON: %q", where, w.Body.String())
		}
		if w.Code < 300 {
			if w.Code == http.StatusCreated && w.Header().Get("Location") == "" {
				t.Fatalf("%s: created without a Location", where)
			}
			return
		}
		var p handlers.Problem
		if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
			t.Fatalf("%s: error answered as %q", where, ct)
		}
		if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || p.Status != w.Code || p.Title == "" || p.Detail == "" {
			t.Fatalf("%s: not a complete problem detail: %s", where, w.Body.String())
		}
		if w.Code == http.StatusUnprocessableEntity {
			if len(p.Errors) == 0 {
				t.Fatalf("%s: a validation error names no field: %s", where, w.Body.String())
			}
			for _, e := range p.Errors {
				if e.Detail == "" {
					t.Fatalf("%s: field %q without a message: %s", where, e.Field, w.Body.String())
				}
			}
		}
		if after := fa.fingerprint(t); after != before {
			t.Fatalf("%s: the request was refused but the database changed", where)
		}
	})
}

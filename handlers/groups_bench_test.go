package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/dnum-sociaux/agora/handlers"
	"github.com/dnum-sociaux/agora/internal/testutil"
	"github.com/dnum-sociaux/agora/models"
)

// benchServer is the real handler over a SQLite file, called in process
// (server time only, no network), with a logged-in agent.
type benchServer struct {
	h      http.Handler
	store  *models.Store
	cookie *http.Cookie
	user   models.User
}

func newBenchServer(b *testing.B, role models.Role, cacheBytes ...int) *benchServer {
	b.Helper()
	clock := testutil.NewClock()
	store := testutil.SQLite(b, clock.Now)
	h, _ := newHandler(b, store, nil, func(d *handlers.Deps) { d.Now, d.FeedCacheBytes = clock.Now, append(cacheBytes, 0)[0] })
	bs := &benchServer{h: h, store: store}
	ctx := context.Background()
	testutil.MustTx(b, store, func(tx *models.Tx) error {
		var err error
		if bs.user, err = tx.CreateUser(ctx, models.NewUser{Email: "agent@example.org", Name: "Agent", DirectionCode: "DNUM", Role: role}); err != nil {
			return err
		}
		secret, err := tx.CreateWebSession(ctx, bs.user.ID, 24*time.Hour)
		bs.cookie = &http.Cookie{Name: "agora_session", Value: secret}
		return err
	})
	return bs
}

func (bs *benchServer) get(b *testing.B, path string, header map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.AddCookie(bs.cookie)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	bs.h.ServeHTTP(w, req)
	return w
}

// measure runs path b.N times, checking the status, and reports the median.
func (bs *benchServer) measure(b *testing.B, path string, header map[string]string, status int) {
	b.Helper()
	if w := bs.get(b, path, header); w.Code != status {
		b.Fatalf("GET %s: %d, want %d\n%s", path, w.Code, status, w.Body.String())
	}
	times := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		w := bs.get(b, path, header)
		times = append(times, time.Since(start))
		if w.Code != status {
			b.Fatalf("GET %s: %d", path, w.Code)
		}
	}
	b.StopTimer()
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "p50-ms")
}

// groups adds n active groups (the agent belongs to every tenth).
func (bs *benchServer) groups(b *testing.B, n int) []models.Group {
	ctx := context.Background()
	org := bs.user
	out := make([]models.Group, 0, n)
	testutil.MustTx(b, bs.store, func(tx *models.Tx) error {
		other, err := tx.CreateUser(ctx, models.NewUser{Email: "other@example.org", Name: "Autre", DirectionCode: "DNUM", Role: models.RoleOrganiser})
		if err != nil {
			return err
		}
		for i := range n {
			by := other
			if i%10 == 0 {
				by = org
			}
			g, err := tx.CreateGroup(ctx, by, models.GroupInput{Title: fmt.Sprintf("Groupe de travail n°%04d sur les communs", i),
				Summary: "Un résumé d’une phrase pour l’annuaire.", Description: strings.Repeat("Une description en **Markdown**. ", 20),
				Theme: models.Themes[i%len(models.Themes)], JoinPolicy: models.JoinOpen})
			if err != nil {
				return err
			}
			out = append(out, g)
		}
		return nil
	})
	return out
}

// sessions adds n weekly sessions to group g from 1 December 2026, with the
// agent answering each.
func (bs *benchServer) sessions(b *testing.B, g models.Group, n int, answer bool) {
	ctx := context.Background()
	testutil.MustTx(b, bs.store, func(tx *models.Tx) error {
		for i := range n {
			start := time.Date(2026, 12, 1, 10, 0, 0, 0, models.Paris).AddDate(0, 0, i)
			s, err := tx.CreateSession(ctx, bs.user, models.NewSession{GroupID: g.ID, UIDHost: "agora.test", SessionInput: models.SessionInput{
				Title: fmt.Sprintf("Séance %d", i), StartsAt: start, EndsAt: start.Add(2 * time.Hour), Room: "Salle 4010",
				Address: "14 avenue Duquesne, Paris", VideoURL: "https://webconf.example.gouv.fr/x", Agenda: "1. Point\n2. Autre point", Capacity: 30}})
			if err != nil {
				return err
			}
			if answer {
				if _, err := tx.Answer(ctx, bs.user, s.ID, models.Answer([]string{"yes", "maybe", "no"}[i%3])); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// The directory with 1,000 groups (first page, the agent's groups first).
func BenchmarkGroupDirectory1000(b *testing.B) {
	bs := newBenchServer(b, models.RoleOrganiser)
	bs.groups(b, 1000)
	bs.measure(b, "/groups", nil, http.StatusOK)
}

// A word search through the 1,000 groups.
func BenchmarkGroupDirectorySearch1000(b *testing.B) {
	bs := newBenchServer(b, models.RoleOrganiser)
	bs.groups(b, 1000)
	bs.measure(b, "/groups?q=communs+n%C2%B00042&theme=role_metier", nil, http.StatusOK)
}

// A group page with 200 sessions.
func BenchmarkGroupPage200Sessions(b *testing.B) {
	bs := newBenchServer(b, models.RoleOrganiser)
	g := bs.groups(b, 1)[0]
	bs.sessions(b, g, 200, true)
	bs.measure(b, "/groups/"+g.ID, nil, http.StatusOK)
}

// The whole schedule of a group with 200 sessions (every row rendered).
func BenchmarkGroupSchedule200Sessions(b *testing.B) {
	bs := newBenchServer(b, models.RoleOrganiser)
	g := bs.groups(b, 1)[0]
	bs.sessions(b, g, 200, true)
	bs.measure(b, "/groups/"+g.ID+"/sessions", nil, http.StatusOK)
}

var benchFeed = regexp.MustCompile(`/feeds/users/[0-9a-z]{26}/[A-Za-z0-9_-]{32}\.ics`)

func (bs *benchServer) feed500(b *testing.B) string {
	gs := bs.groups(b, 5)
	for _, g := range gs {
		if _, err := bs.store.Membership(context.Background(), g.ID, bs.user.ID); err != nil {
			testutil.MustTx(b, bs.store, func(tx *models.Tx) error { return tx.Join(context.Background(), bs.user, g.ID) })
		}
	}
	for _, g := range gs {
		bs.sessions(b, g, 100, true)
	}
	url := benchFeed.FindString(bs.get(b, "/calendar", nil).Body.String())
	if url == "" {
		b.Fatal("no feed URL")
	}
	return url
}

// A personal feed with 500 sessions, rendered on every request (no cache).
func BenchmarkUserFeed500(b *testing.B) {
	bs := newBenchServer(b, models.RoleAdmin, -1) // an admin may schedule in every group
	url := bs.feed500(b)
	w := bs.get(b, url, nil)
	if n := strings.Count(w.Body.String(), "BEGIN:VEVENT"); n != 500 {
		b.Fatalf("feed has %d events", n)
	}
	bs.measure(b, url, nil, http.StatusOK)
}

// The same feed polled without a conditional request, unchanged: the body
// rendered the first time is served again.
func BenchmarkUserFeed500Cached(b *testing.B) {
	bs := newBenchServer(b, models.RoleAdmin)
	url := bs.feed500(b)
	bs.measure(b, url, nil, http.StatusOK)
}

// The same feed answered 304 to a conditional request: no rendering.
func BenchmarkUserFeed500NotModified(b *testing.B) {
	bs := newBenchServer(b, models.RoleAdmin) // an admin may schedule in every group
	url := bs.feed500(b)
	etag := bs.get(b, url, nil).Header().Get("ETag")
	bs.measure(b, url, map[string]string{"If-None-Match": etag}, http.StatusNotModified)
}

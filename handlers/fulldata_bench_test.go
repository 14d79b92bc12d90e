package handlers_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/dnum-sociaux/agora/internal/harness"
	"github.com/dnum-sociaux/agora/models"
)

// Hot paths of `make bench`, in process on the same data set, to profile
// with -cpuprofile. The data set is harness.SmallDataSet unless
// AGORA_BENCH_DATA=full (harness.FullDataSet, about 10 s to seed before
// each benchmark):
//
//	AGORA_BENCH_DATA=full go test -run '^$' -bench 'FullData/home' -benchtime 200x -cpuprofile cpu.out ./handlers/
//	go tool pprof -top -cum handlers.test cpu.out
type dataServer struct {
	h      http.Handler
	seeded harness.Seeded
}

func newDataServer(b *testing.B) *dataServer {
	b.Helper()
	ds := harness.SmallDataSet
	if os.Getenv("AGORA_BENCH_DATA") == "full" {
		ds = harness.FullDataSet
	}
	ds.ExportRegistrations = 0 // the export has its own benchmark (events)
	dsn := "sqlite://" + filepath.Join(b.TempDir(), "agora.db")
	ctx := context.Background()
	seeded, err := harness.Seed(ctx, dsn, ds)
	if err != nil {
		b.Fatal(err)
	}
	store, err := models.Open(ctx, dsn, models.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	h, _ := newHandler(b, store, nil, nil)
	return &dataServer{h: h, seeded: seeded}
}

func (d *dataServer) serve(req *http.Request, agent int) *httptest.ResponseRecorder {
	switch {
	case agent >= 0:
		req.AddCookie(&http.Cookie{Name: "agora_session", Value: d.seeded.AgentSessions[agent]})
	case agent == -2:
		req.AddCookie(&http.Cookie{Name: "agora_session", Value: d.seeded.AdminSession})
	}
	w := httptest.NewRecorder()
	d.h.ServeHTTP(w, req)
	return w
}

// run calls fn b.N times and reports the median server time.
func (d *dataServer) run(b *testing.B, fn func(i int) (*httptest.ResponseRecorder, int)) {
	b.Helper()
	if w, want := fn(0); w.Code != want {
		b.Fatalf("status %d, want %d\n%.2000s", w.Code, want, w.Body.String())
	}
	times := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		w, want := fn(i + 1)
		times = append(times, time.Since(t0))
		if w.Code != want {
			b.Fatalf("iteration %d: status %d, want %d\n%.2000s", i, w.Code, want, w.Body.String())
		}
	}
	b.StopTimer()
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "p50-ms")
}

func (d *dataServer) page(b *testing.B, agent func(i int) int, path func(i int) string, want int) {
	d.run(b, func(i int) (*httptest.ResponseRecorder, int) {
		return d.serve(httptest.NewRequest(http.MethodGet, path(i), nil), agent(i)), want
	})
}

var dataFeedURL = regexp.MustCompile(`/feeds/users/[0-9a-z]+/[A-Za-z0-9_-]+\.ics`)

// BenchmarkFullData runs the scenarios of `make bench` that missed their
// target, each on a freshly seeded data set.
func BenchmarkFullData(b *testing.B) {
	plain := func(d *dataServer) func(int) int {
		n := len(d.seeded.AgentSessions)
		return func(i int) int { return (n*2/5 + i%32) % n }
	}
	fixed := func(p string) func(int) string { return func(int) string { return p } }
	b.Run("home", func(b *testing.B) {
		d := newDataServer(b)
		d.page(b, plain(d), fixed("/"), http.StatusOK)
	})
	b.Run("groups", func(b *testing.B) {
		d := newDataServer(b)
		d.page(b, plain(d), fixed("/groups"), http.StatusOK)
	})
	b.Run("group", func(b *testing.B) {
		d := newDataServer(b)
		d.page(b, plain(d), func(i int) string { return "/groups/" + d.seeded.Groups[i%len(d.seeded.Groups)] }, http.StatusOK)
	})
	b.Run("outbox", func(b *testing.B) {
		d := newDataServer(b)
		d.page(b, func(int) int { return -2 }, fixed("/admin/outbox"), http.StatusOK)
	})
	b.Run("programme", func(b *testing.B) {
		d := newDataServer(b)
		d.registerAll(b, d.seeded.Event)
		d.page(b, func(int) int { return -1 }, fixed("/events/"+d.seeded.Event.ID+"/programme"), http.StatusOK)
	})
	feeds := func(d *dataServer, b *testing.B) ([]string, []string) {
		var urls, etags []string
		for _, a := range d.seeded.FeedUsers {
			u := dataFeedURL.FindString(d.serve(httptest.NewRequest(http.MethodGet, "/calendar", nil), a).Body.String())
			w := d.serve(httptest.NewRequest(http.MethodGet, u, nil), -1)
			if u == "" || w.Code != http.StatusOK {
				b.Fatalf("feed of agent %d: %q %d", a, u, w.Code)
			}
			urls, etags = append(urls, u), append(etags, w.Header().Get("ETag"))
		}
		return urls, etags
	}
	b.Run("feed-rendered", func(b *testing.B) {
		d := newDataServer(b)
		urls, _ := feeds(d, b)
		d.page(b, func(int) int { return -1 }, func(i int) string { return urls[i%len(urls)] }, http.StatusOK)
	})
	b.Run("feed-304", func(b *testing.B) {
		d := newDataServer(b)
		urls, etags := feeds(d, b)
		d.run(b, func(i int) (*httptest.ResponseRecorder, int) {
			req := httptest.NewRequest(http.MethodGet, urls[i%len(urls)], nil)
			req.Header.Set("If-None-Match", etags[i%len(urls)])
			return d.serve(req, -1), http.StatusNotModified
		})
	})
	// One registration through the web form (b.N at most the number of
	// agents: -benchtime 2000x on the full data set).
	b.Run("register", func(b *testing.B) {
		d := newDataServer(b)
		if b.N > len(d.seeded.AgentSessions) {
			b.Skipf("%d registrations asked, %d agents", b.N, len(d.seeded.AgentSessions))
		}
		ev := d.seeded.Event
		d.run(b, func(i int) (*httptest.ResponseRecorder, int) {
			i %= len(d.seeded.AgentSessions)
			if i == 0 {
				return d.register(&d.seeded.WarmupEvent, 0), http.StatusSeeOther
			}
			return d.register(&ev, i-1), http.StatusSeeOther
		})
	})
}

func (d *dataServer) register(ev *harness.Event, agent int) *httptest.ResponseRecorder {
	form := ev.Form(agent)
	form.Set("csrf_token", strings.Repeat("c", 43))
	req := httptest.NewRequest(http.MethodPost, "/events/"+ev.ID+"/register", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: "agora_csrf", Value: strings.Repeat("c", 43)})
	return d.serve(req, agent)
}

// registerAll registers every agent for ev (the fills the programme shows).
func (d *dataServer) registerAll(b *testing.B, ev harness.Event) {
	b.Helper()
	for i := range d.seeded.AgentSessions {
		if w := d.register(&ev, i); w.Code != http.StatusSeeOther {
			b.Fatalf("register agent %d: %d", i, w.Code)
		}
	}
}

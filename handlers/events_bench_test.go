package handlers_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dnum-sociaux/agora/handlers"

	"github.com/dnum-sociaux/agora/internal/testutil"
	"github.com/dnum-sociaux/agora/models"
)

// benchEvent creates a published event organised by the bench user.
func (bs *benchServer) benchEvent(b *testing.B, capacity int, quotas map[string]int) models.Event {
	b.Helper()
	ctx := context.Background()
	var e models.Event
	testutil.MustTx(b, bs.store, func(tx *models.Tx) error {
		a := models.Actor{UserID: bs.user.ID}
		start := time.Date(2027, 1, 14, 9, 0, 0, 0, models.Paris)
		var err error
		e, err = tx.CreateEvent(ctx, a, "agora.test", models.EventInput{Title: "Journée produit", StartsAt: start, EndsAt: start.Add(9 * time.Hour),
			Capacity: capacity, Modes: models.ModesBoth, VenueName: "Ministère", VenueAddress: "14 avenue Duquesne, 75007 Paris",
			Description: strings.Repeat("La journée des **communs**. ", 10)})
		if err != nil {
			return err
		}
		if len(quotas) > 0 {
			if err := tx.SetEventQuotas(ctx, models.NoNotify, a, e.ID, quotas); err != nil {
				return err
			}
		}
		if _, err := tx.AddQuestion(ctx, a, e.ID, models.QuestionInput{Label: "Régime", Kind: models.QuestionShort}); err != nil {
			return err
		}
		e, err = tx.SetEventStatus(ctx, models.NoNotify, a, e.ID, models.EventPublished)
		return err
	})
	return e
}

// The public programme page of an event with 100 workshops (10 slots of 10
// rooms), with fills, as an agent sees it. Target: p50 under 5 ms.
func BenchmarkProgramme100Workshops(b *testing.B) {
	bs := newBenchServer(b, models.RoleOrganiser)
	e := bs.benchEvent(b, 0, nil)
	ctx := context.Background()
	testutil.MustTx(b, bs.store, func(tx *models.Tx) error {
		for i := range 100 {
			start := e.StartsAt.Add(time.Duration(i/10) * 50 * time.Minute)
			if _, err := tx.AddSlot(ctx, models.Actor{}, bs.user, e.ID, "agora.test", models.SlotInput{Kind: models.SlotWorkshop,
				SessionInput: models.SessionInput{Title: fmt.Sprintf("Atelier %d : données, design et communs", i), StartsAt: start,
					EndsAt: start.Add(45 * time.Minute), Room: fmt.Sprintf("Salle %d", i%10), Capacity: 30,
					Agenda: "Un atelier pour **avancer** ensemble :\n\n- cadrer\n- prototyper"}}); err != nil {
				return err
			}
		}
		return nil
	})
	// 5,000 registrations with 3 workshops each: the fills count 15,000 choices.
	slots, err := bs.store.Programme(ctx, e.ID)
	if err != nil {
		b.Fatal(err)
	}
	for first := 0; first < 5000; first += 1000 {
		testutil.MustTx(b, bs.store, func(tx *models.Tx) error {
			for i := first; i < first+1000; i++ {
				_, err := tx.Register(ctx, models.NoNotify, models.NewRegistration{EventID: e.ID, Email: fmt.Sprintf("p%05d@x.fr", i), Name: "P",
					DirectionCode: "DNUM", Mode: models.ModeOnsite, Workshops: []string{slots[i%10].ID, slots[10+i%10].ID, slots[20+i%10].ID}})
				if err != nil {
					return err
				}
			}
			return nil
		})
	}
	bs.measure(b, "/events/"+e.ID+"/programme", nil, http.StatusOK)
}

// registrationLoad runs `total` registrations through the real handler
// (session cookie, CSRF, form, transaction with its emails) from `clients`
// concurrent clients, in process (server time, no network), and returns the
// latencies and the wall time.
func registrationLoad(b *testing.B, bs *benchServer, e models.Event, cookies []*http.Cookie, clients int, workshops ...[]models.Slot) ([]time.Duration, time.Duration, int64) {
	var next, failed atomic.Int64
	lat := make([]time.Duration, len(cookies))
	forms := make([]string, len(cookies))
	for i := range cookies {
		f := url.Values{"mode": {"onsite"}, "csrf_token": {"benchmark-csrf-token-0123456789abcdef"}}
		for g, slot := range workshops { // one workshop per time slot, spread over the agents
			f.Set(fmt.Sprintf("ws_%d", g+1), slot[(i+g)%len(slot)].ID)
		}
		forms[i] = f.Encode()
	}
	csrf := &http.Cookie{Name: "agora_csrf", Value: "benchmark-csrf-token-0123456789abcdef"}
	path := "/events/" + e.ID + "/register"
	var wg sync.WaitGroup
	start := time.Now()
	for range clients {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(cookies) {
					return
				}
				req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(forms[i]))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.AddCookie(cookies[i])
				req.AddCookie(csrf)
				w := httptest.NewRecorder()
				t0 := time.Now()
				bs.h.ServeHTTP(w, req)
				lat[i] = time.Since(t0)
				if w.Code != http.StatusSeeOther {
					if failed.Add(1) == 1 {
						b.Errorf("registration %d: %d\n%s", i, w.Code, w.Body.String())
					}
				}
			}
		})
	}
	wg.Wait()
	return lat, time.Since(start), failed.Load()
}

// The registration opening: 4,000 agents of 5 directions register through
// the HTTP handler from 100 concurrent clients on SQLite, each getting
// their confirmation email (with its calendar part and management link) in
// the outbox. Capacity 1,500 with quotas: exactly 1,500 are confirmed,
// every quota filled, the rest waitlisted. Reports registrations per second
// and the p50/p99 latency. Targets: ≥ 2,000/s, p99 < 50 ms.
func BenchmarkRegistrationBurst100Clients(b *testing.B) {
	bs := newBenchServer(b, models.RoleOrganiser)
	const agents, capacity = 4000, 1500
	quotas := map[string]int{"DGCS": 200, "DGOS": 200, "DSS": 100}
	dirs := []string{"DNUM", "DGCS", "DGOS", "DSS", "DREES"}
	ctx := context.Background()
	cookies := bs.agents(b, agents, dirs)
	var all []time.Duration
	var wall time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		e := bs.benchEvent(b, capacity, quotas)
		b.StartTimer()
		lat, d, failed := registrationLoad(b, bs, e, cookies, 100)
		b.StopTimer()
		if failed > 0 {
			b.Fatalf("%d registrations failed", failed)
		}
		all, wall = append(all, lat...), wall+d
		st, err := bs.store.EventStatistics(ctx, &e)
		if err != nil {
			b.Fatal(err)
		}
		if st.Counts.Confirmed != capacity || st.Counts.Waitlisted != agents-capacity {
			b.Fatalf("confirmed %d, waitlisted %d: want %d and %d", st.Counts.Confirmed, st.Counts.Waitlisted, capacity, agents-capacity)
		}
		for _, d := range st.ByDirection {
			if q := quotas[d.Code]; q > 0 && d.Seats < q {
				b.Fatalf("%s: %d seats for a quota of %d", d.Code, d.Seats, q)
			}
		}
		b.StartTimer()
	}
	b.StopTimer()
	reportBurst(b, all, wall)
}

// The same burst where every agent also chooses 3 workshops (one in each of
// 3 time slots of 10 workshops of 40 places): 4 emails each (the event and
// 3 workshop invitations).
func BenchmarkRegistrationBurstWithWorkshops(b *testing.B) {
	bs := newBenchServer(b, models.RoleOrganiser)
	const agents, capacity = 4000, 1500
	ctx := context.Background()
	cookies := bs.agents(b, agents, []string{"DNUM"})
	var all []time.Duration
	var wall time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		e := bs.benchEvent(b, capacity, nil)
		groups := make([][]models.Slot, 3)
		testutil.MustTx(b, bs.store, func(tx *models.Tx) error {
			for g := range 3 {
				for w := range 10 {
					at := e.StartsAt.Add(time.Duration(g) * 2 * time.Hour)
					sl, err := tx.AddSlot(ctx, models.Actor{}, bs.user, e.ID, "agora.test", models.SlotInput{Kind: models.SlotWorkshop,
						SessionInput: models.SessionInput{Title: fmt.Sprintf("Atelier %d-%d", g, w), StartsAt: at, EndsAt: at.Add(90 * time.Minute),
							Room: fmt.Sprintf("Salle %d", w), Capacity: 40}})
					if err != nil {
						return err
					}
					groups[g] = append(groups[g], sl)
				}
			}
			return nil
		})
		b.StartTimer()
		lat, d, failed := registrationLoad(b, bs, e, cookies, 100, groups...)
		b.StopTimer()
		if failed > 0 {
			b.Fatalf("%d registrations failed", failed)
		}
		all, wall = append(all, lat...), wall+d
		slots, err := bs.store.Programme(ctx, e.ID)
		if err != nil {
			b.Fatal(err)
		}
		for _, sl := range slots {
			if sl.Confirmed != sl.Capacity {
				b.Fatalf("%s: %d places taken of %d", sl.Title, sl.Confirmed, sl.Capacity)
			}
		}
		b.StartTimer()
	}
	b.StopTimer()
	reportBurst(b, all, wall)
}

// agents adds n agents, in dirs in turn, each logged in: their session cookies.
func (bs *benchServer) agents(b *testing.B, n int, dirs []string) []*http.Cookie {
	b.Helper()
	ctx := context.Background()
	cookies := make([]*http.Cookie, n)
	testutil.MustTx(b, bs.store, func(tx *models.Tx) error {
		for i := range n {
			u, err := tx.CreateUser(ctx, models.NewUser{Email: fmt.Sprintf("agent%05d@sg.social.gouv.fr", i), Name: fmt.Sprintf("Agent %05d", i),
				DirectionCode: dirs[i%len(dirs)], Role: models.RoleAgent})
			if err != nil {
				return err
			}
			secret, err := tx.CreateWebSession(ctx, u.ID, 24*time.Hour)
			if err != nil {
				return err
			}
			cookies[i] = &http.Cookie{Name: "agora_session", Value: secret}
		}
		return nil
	})
	return cookies
}

// reportBurst reports a registration burst: registrations per second over
// wall, and the p50 and p99 of the latencies all.
func reportBurst(b *testing.B, all []time.Duration, wall time.Duration) {
	slices.Sort(all)
	b.ReportMetric(float64(len(all))/wall.Seconds(), "registrations/s")
	b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
}

// seedRegistrations adds n registrations with answers and a workshop each.
func seedRegistrations(b *testing.B, bs *benchServer, e models.Event, n int) {
	b.Helper()
	ctx := context.Background()
	qs, err := bs.store.EventQuestions(ctx, e.ID)
	if err != nil {
		b.Fatal(err)
	}
	var ws models.Slot
	testutil.MustTx(b, bs.store, func(tx *models.Tx) error {
		ws, err = tx.AddSlot(ctx, models.Actor{}, bs.user, e.ID, "agora.test", models.SlotInput{Kind: models.SlotWorkshop,
			SessionInput: models.SessionInput{Title: "Atelier", StartsAt: e.StartsAt, EndsAt: e.StartsAt.Add(time.Hour)}})
		return err
	})
	for batch := 0; batch < n; batch += 1000 {
		testutil.MustTx(b, bs.store, func(tx *models.Tx) error {
			for i := batch; i < min(n, batch+1000); i++ {
				_, err := tx.Register(ctx, models.NoNotify, models.NewRegistration{EventID: e.ID, Email: fmt.Sprintf("p%05d@sg.social.gouv.fr", i),
					Name: fmt.Sprintf("Personne %05d", i), DirectionCode: "DNUM", Mode: models.ModeOnsite,
					Answers: map[string]string{qs[0].ID: "Végétarien, sans gluten"}, Workshops: []string{ws.ID}})
				if err != nil {
					return err
				}
			}
			return nil
		})
	}
}

// peakHeap samples the heap in use while fn runs; it returns the heap in
// use after a GC before fn (what the process holds anyway) and the highest
// value seen while fn ran (garbage not yet collected included).
func peakHeap(fn func()) (base, peak uint64) {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	base = m.HeapInuse
	var top atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > top.Load() {
				top.Store(m.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	})
	fn()
	close(done)
	wg.Wait()
	return base, top.Load()
}

// peakRSS runs fn with the process's resident-memory high-water mark reset
// first (Linux clear_refs 5), as agora-bench measures the server, and
// returns the resident memory before fn (VmRSS) and the mark after it
// (VmHWM); zeros where /proc does not allow it.
func peakRSS(fn func()) (before, peak uint64) {
	if os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) != nil {
		fn()
		return 0, 0
	}
	before = procStatus("VmRSS")
	fn()
	return before, procStatus("VmHWM")
}

func procStatus(key string) uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func benchmarkExport(b *testing.B, format string) {
	bs := newBenchServer(b, models.RoleOrganiser)
	e := bs.benchEvent(b, 0, nil)
	seedRegistrations(b, bs, e, 10000)
	path := "/events/" + e.ID + "/export/" + format
	var size int64
	var base, peak, rssBase, rss uint64
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		rb, r := peakRSS(func() {
			bp, p := peakHeap(func() {
				req := httptest.NewRequest(http.MethodGet, path, nil)
				req.AddCookie(bs.cookie)
				rec := &countingWriter{header: http.Header{}}
				bs.h.ServeHTTP(rec, req)
				if rec.status != http.StatusOK {
					b.Fatalf("export: %d", rec.status)
				}
				size = rec.n
			})
			if p-bp > peak-base {
				base, peak = bp, p
			}
		})
		if r > rss {
			rssBase, rss = rb, r
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(size)/1e6, "MB-out")
	b.ReportMetric(float64(peak)/1e6, "peak-heap-MB")
	b.ReportMetric(float64(peak-base)/1e6, "export-heap-MB")
	if rss > 0 {
		b.ReportMetric(float64(rssBase)/1e6, "RSS-before-MB")
		b.ReportMetric(float64(rss)/1e6, "peak-RSS-MB")
	}
}

// countingWriter is a ResponseWriter that only counts what is written, so
// the response itself is not held in memory.
type countingWriter struct {
	header http.Header
	status int
	n      int64
}

func (w *countingWriter) Header() http.Header { return w.header }
func (w *countingWriter) WriteHeader(s int) {
	if w.status == 0 {
		w.status = s
	}
}
func (w *countingWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.n += int64(len(p))
	return len(p), nil
}

var _ io.Writer = (*countingWriter)(nil)

// Exports of 10,000 registrations (with answers and workshops). Target:
// under 2 s each, streamed (peak heap reported).
func BenchmarkExportCSV10000(b *testing.B)  { benchmarkExport(b, "csv") }
func BenchmarkExportXLSX10000(b *testing.B) { benchmarkExport(b, "xlsx") }

// One registration transaction alone (lock, seat rule, insert, answers,
// audit, confirmation email with its calendar part and link), one after the
// other: the writer's share of the burst. 1/op is the ceiling of the
// registration rate on SQLite, whose writes are serialised.
func BenchmarkRegisterTransaction(b *testing.B) {
	bs := newBenchServer(b, models.RoleOrganiser)
	e := bs.benchEvent(b, 1_000_000, map[string]int{"DGCS": 1000})
	n := bs.h.(*handlers.Server).EventNotifierForTests()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		err := bs.store.Tx(ctx, func(tx *models.Tx) error {
			_, err := tx.Register(ctx, n, models.NewRegistration{EventID: e.ID, Email: fmt.Sprintf("t%07d@sg.social.gouv.fr", i),
				Name: "Agent", DirectionCode: []string{"DNUM", "DGCS"}[i%2], Mode: models.ModeOnsite})
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

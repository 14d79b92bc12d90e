// Command agora-bench measures Agora against the ceiling of the machine it
// runs on: it builds the real binary, seeds a realistic data set into a
// fresh SQLite database through the models, starts Agora, drives each
// scenario at a fixed concurrency with the same closed-loop generator it
// first points at a bare gin handler (the ceiling), and prints a table and
// bench/results.json. Run it with `make bench`.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/dnum-sociaux/agora/internal/harness"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "ceiling-server" {
		if err := ceilingServer(os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, "ceiling-server:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "agora-bench:", err)
		os.Exit(1)
	}
}

type options struct {
	duration    time.Duration
	warmup      time.Duration
	concurrency int
	burst       int
	mails       int
	starts      int
	out         string
	keep        bool
	small       bool
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	var o options
	fs := flag.NewFlagSet("agora-bench", flag.ContinueOnError)
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "measured time of each scenario")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured warm-up before each scenario")
	fs.IntVar(&o.concurrency, "c", 32, "concurrent clients of the page scenarios")
	fs.IntVar(&o.burst, "burst", 100, "concurrent clients of the write bursts")
	fs.IntVar(&o.mails, "mails", 5000, "emails queued for the delivery scenario")
	fs.IntVar(&o.starts, "starts", 5, "restarts measured for start-to-ready")
	fs.StringVar(&o.out, "o", "bench/results.json", "where to write the JSON results")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary folder (database, logs)")
	fs.BoolVar(&o.small, "small", false, "a small data set and short scenarios (a smoke test of the harness)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ds := harness.FullDataSet
	if o.small {
		ds = harness.DataSet{Agents: 300, Outbox: 300, Sessions: 50}
		o.duration, o.warmup, o.mails, o.starts = time.Second, 200*time.Millisecond, 300, 2
	}
	ds.Sessions = max(ds.Sessions, o.concurrency)

	dir, err := os.MkdirTemp("", "agora-bench-")
	if err != nil {
		return err
	}
	if o.keep {
		fmt.Fprintln(stdout, "temporary folder:", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	b := &bench{o: o, dir: dir, stdout: stdout, res: Results{
		Machine: machine(), Started: time.Now().UTC(),
		Settings: Settings{Duration: o.duration.String(), Warmup: o.warmup.String(), Concurrency: o.concurrency, Burst: o.burst,
			Database: "SQLite (WAL) in a temporary folder", RateLimit: "AGORA_RATE_LIMIT=0 (per-IP limits off: every request comes from 127.0.0.1)",
			LogLevel: "info (JSON access log to a file, as in production)"},
	}}
	err = b.all(ctx)
	if werr := b.write(); werr != nil && err == nil {
		err = werr
	}
	return err
}

type bench struct {
	o       options
	dir     string
	stdout  io.Writer
	res     Results
	agora   *harness.Agora
	smtp    *harness.SMTPServer
	ceiling string // address of the ceiling server, kept running
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.stdout, "· "+format+"\n", args...)
}

func (b *bench) all(ctx context.Context) error {
	b.logf("building agora")
	bin, err := harness.Build(ctx, b.dir)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}

	// 1. The ceiling: a bare gin handler in its own process, same generator.
	b.logf("ceiling: bare gin handler")
	stopCeiling, err := b.startCeiling(ctx, self)
	if err != nil {
		return err
	}
	defer stopCeiling()

	// 2. Agora on the full data set.
	ds := harness.FullDataSet
	if b.o.small {
		ds = harness.DataSet{Agents: 300, Outbox: 300, Sessions: max(50, b.o.concurrency), Groups: 20, GroupSess: 200,
			Workshops: 20, BurstAgents: 200, ExportRegs: 500}
	}
	ds.Sessions = max(ds.Sessions, b.o.concurrency, b.o.burst)
	if b.smtp, err = harness.StartSMTP(); err != nil {
		return err
	}
	defer b.smtp.Close()
	if b.agora, err = harness.NewAgora(bin, filepath.Join(b.dir, "agora"), map[string]string{
		"AGORA_SMTP_URL":  b.smtp.URL(),
		"AGORA_MAIL_FROM": "Agora <agora@bench.test>",
	}); err != nil {
		return err
	}
	b.logf("seeding %d agents, %d outbox emails, %d groups with %d sessions through the models", ds.Agents, ds.Outbox, ds.Groups, ds.GroupSess)
	seeded, err := harness.Seed(ctx, b.agora.DatabaseURL(), ds)
	if err != nil {
		return err
	}
	b.res.DataSet = DataSetInfo{Directions: seeded.Directions, Agents: seeded.Agents, Outbox: seeded.Outbox,
		Groups: len(seeded.Groups), Sessions: seeded.GroupSessions,
		NotYet: seeded.Pending, SeedSeconds: seeded.Took.Seconds()}
	startup, err := b.agora.StartReady(20 * time.Second)
	if err != nil {
		return err
	}
	defer b.agora.Stop(10 * time.Second)
	b.logf("agora ready in %s", startup.Round(time.Millisecond))

	client := harness.LoadClient(max(b.o.concurrency, b.o.burst))
	pages := []struct {
		name, path, cookie string
		status             int
		perWorker          bool
	}{
		{"login page (anonymous)", "/login", "", http.StatusOK, false},
		{"home of a logged-in agent", "/", "agent", http.StatusOK, true},
		{"admin outbox page (50 of " + fmt.Sprint(seeded.Outbox) + ")", "/admin/outbox", "admin", http.StatusOK, false},
	}
	for _, p := range pages {
		b.logf("scenario: %s", p.name)
		fn := func(ctx context.Context, worker, _ int) error {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, b.agora.URL(p.path), nil)
			switch p.cookie {
			case "agent":
				req.AddCookie(&http.Cookie{Name: "agora_session", Value: seeded.AgentSessions[worker%len(seeded.AgentSessions)]})
			case "admin":
				req.AddCookie(&http.Cookie{Name: "agora_session", Value: seeded.AdminSession})
			}
			return harness.Expect(client, req, p.status)
		}
		b.scenario(ctx, p.name, "page", b.o.concurrency, 0, fn)
	}

	if len(seeded.Groups) > 0 {
		agentGet := func(path func(seq int) string, status int, etag string) func(ctx context.Context, worker, seq int) error {
			return func(ctx context.Context, worker, seq int) error {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, b.agora.URL(path(seq)), nil)
				req.AddCookie(&http.Cookie{Name: "agora_session", Value: seeded.AgentSessions[worker%len(seeded.AgentSessions)]})
				if etag != "" {
					req.Header.Set("If-None-Match", etag)
				}
				return harness.Expect(client, req, status)
			}
		}
		group := func(seq int) string { return seeded.Groups[seq%len(seeded.Groups)] }
		b.logf("scenario: groups directory")
		b.scenario(ctx, fmt.Sprintf("groups directory page (%d groups)", len(seeded.Groups)), "page", b.o.concurrency, 0,
			agentGet(func(int) string { return "/groups" }, http.StatusOK, ""))
		b.logf("scenario: group page")
		b.scenario(ctx, "group page (rotating over the groups)", "page", b.o.concurrency, 0,
			agentGet(func(seq int) string { return "/groups/" + group(seq) }, http.StatusOK, ""))
		b.logf("scenario: group feed, cold")
		b.scenario(ctx, "group calendar feed, cold (200, rotating groups)", "feed", b.o.concurrency, 0,
			agentGet(func(seq int) string { return "/feeds/groups/" + group(seq) }, http.StatusOK, ""))
		resp, err := client.Get(b.agora.URL("/feeds/groups/" + seeded.Groups[0]))
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if etag := resp.Header.Get("ETag"); etag != "" {
			b.logf("scenario: group feed, 304")
			b.scenario(ctx, "group calendar feed, unchanged (304)", "feed", b.o.concurrency, 0,
				agentGet(func(int) string { return "/feeds/groups/" + seeded.Groups[0] }, http.StatusNotModified, etag))
		}
	}

	if err := b.eventScenarios(ctx, client, seeded); err != nil {
		return err
	}

	// A write burst: login-link requests (a transaction with a token and an
	// outbox email each), 100 concurrent clients, distinct addresses.
	name := fmt.Sprintf("login-link burst (%d clients, write + outbox)", b.o.burst)
	b.logf("scenario: %s", name)
	csrf := strings.Repeat("c", 43)
	b.scenario(ctx, name, "write", b.o.burst, 0, func(ctx context.Context, _, seq int) error {
		form := "csrf_token=" + csrf + "&email=" + fmt.Sprintf("burst%07d@bench.test", seq)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, b.agora.URL("/login"), strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", b.agora.URL(""))
		req.AddCookie(&http.Cookie{Name: "agora_csrf", Value: csrf})
		return harness.Expect(client, req, http.StatusSeeOther)
	})
	// Let the worker deliver the burst's emails before measuring delivery alone.
	b.drainSMTP(30 * time.Second)

	if err := b.mailScenario(ctx); err != nil {
		return err
	}
	if err := b.startScenario(ctx); err != nil {
		return err
	}
	b.addPending()
	b.table()
	return nil
}

// scenario runs one load scenario with warm-up, peak RSS reset before it.
func (b *bench) scenario(ctx context.Context, name, kind string, conc, total int, fn func(ctx context.Context, worker, seq int) error) Scenario {
	// The machine is shared: its ceiling is measured again right before each
	// scenario, at the same concurrency, and the ratio is to that figure.
	ceiling := b.measureCeiling(ctx, conc)
	if b.o.warmup > 0 {
		harness.Load(ctx, conc, b.o.warmup, total, fn)
	}
	_ = b.agora.ResetPeakRSS()
	r := harness.Load(ctx, conc, b.o.duration, total, fn)
	peak, _ := b.agora.PeakRSS()
	s := Scenario{Name: name, Kind: kind, Result: r, PeakRSSMB: mb(peak), CeilingPerSecond: ceiling.PerSecond}
	if ceiling.PerSecond > 0 {
		s.RatioToCeiling = r.PerSecond / ceiling.PerSecond
	}
	b.res.Scenarios = append(b.res.Scenarios, s)
	return s
}

// measureCeiling drives the bare gin handler with conc clients.
func (b *bench) measureCeiling(ctx context.Context, conc int) harness.LoadResult {
	client := harness.LoadClient(conc)
	defer client.CloseIdleConnections()
	fn := func(ctx context.Context, _, _ int) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+b.ceiling+"/", nil)
		return harness.Expect(client, req, http.StatusOK)
	}
	if b.o.warmup > 0 {
		harness.Load(ctx, conc, b.o.warmup, 0, fn)
	}
	return harness.Load(ctx, conc, b.o.duration, 0, fn)
}

// startCeiling starts the ceiling server (this same program, in its own
// process like Agora) and measures it once for the table's first line.
func (b *bench) startCeiling(ctx context.Context, self string) (stop func(), err error) {
	addr, err := harness.FreeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, self, "ceiling-server", addr)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	stop = func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			stop()
			return nil, errors.New("ceiling server did not start")
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.ceiling = addr
	r := b.measureCeiling(ctx, b.o.concurrency)
	peak, _ := procPeak(cmd.Process.Pid)
	b.res.Scenarios = append(b.res.Scenarios, Scenario{Name: "ceiling: bare gin handler, constant body", Kind: "ceiling",
		Result: r, RatioToCeiling: 1, CeilingPerSecond: r.PerSecond, PeakRSSMB: mb(peak)})
	return stop, nil
}

// ceilingServer serves a constant from a bare gin engine, with the same
// http.Server settings as Agora.
func ceilingServer(addr string) error {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	body := []byte("ok\n")
	r.GET("/", func(c *gin.Context) { c.Data(http.StatusOK, "text/plain; charset=utf-8", body) })
	srv := &http.Server{Addr: addr, Handler: r, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second,
		WriteTimeout: 120 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(slog.DiscardHandler, slog.LevelError)}
	return srv.ListenAndServe()
}

func (b *bench) drainSMTP(timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	last, stable := -1, 0
	for time.Now().Before(deadline) && stable < 10 {
		n := b.smtp.Count()
		if n == last {
			stable++
		} else {
			stable, last = 0, n
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// mailScenario queues emails straight into the outbox of the running Agora
// and times their delivery to the local SMTP server.
func (b *bench) mailScenario(ctx context.Context) error {
	name := fmt.Sprintf("email delivery to local SMTP (%d messages, one connection per batch of 50)", b.o.mails)
	b.logf("scenario: %s", name)
	before := b.smtp.Count()
	_ = b.agora.ResetPeakRSS()
	if err := harness.EnqueueMails(ctx, b.agora.DatabaseURL(), "mailbench", b.o.mails); err != nil {
		return err
	}
	ok := b.smtp.WaitCount(before+b.o.mails, 120*time.Second)
	rec := b.smtp.Received()[before:]
	s := Scenario{Name: name, Kind: "mail"}
	if len(rec) > 1 {
		first, last := rec[0].At, rec[len(rec)-1].At
		s.Result.Requests = len(rec)
		s.Result.Elapsed = last.Sub(first)
		s.Result.PerSecond = float64(len(rec)-1) / last.Sub(first).Seconds()
		s.Result.Concurrency = 1
	}
	if !ok {
		s.Result.Errors = b.o.mails - len(rec)
		s.Result.FirstError = "not every email arrived within 120 s"
	}
	peak, _ := b.agora.PeakRSS()
	s.PeakRSSMB = mb(peak)
	b.res.Scenarios = append(b.res.Scenarios, s)
	return nil
}

// startScenario stops Agora and times exec → first 200 of /readyz on the
// full data set, several times.
func (b *bench) startScenario(ctx context.Context) error {
	b.logf("scenario: start to ready (%d restarts)", b.o.starts)
	var times []time.Duration
	for range b.o.starts {
		if err := b.agora.Stop(10 * time.Second); err != nil {
			return err
		}
		d, err := b.agora.StartReady(20 * time.Second)
		if err != nil {
			return err
		}
		times = append(times, d)
	}
	slices.Sort(times)
	s := Scenario{Name: "start to ready on the full data set (exec → /readyz 200)", Kind: "startup"}
	s.Result.Requests = len(times)
	s.Result.P50 = times[len(times)/2]
	s.Result.Max = times[len(times)-1]
	peak, _ := b.agora.PeakRSS()
	s.PeakRSSMB = mb(peak)
	b.res.Scenarios = append(b.res.Scenarios, s)
	b.res.StartToReadyMs = float64(s.Result.P50.Microseconds()) / 1000
	return nil
}

func (b *bench) addPending() {
	b.res.NotYet = []string{
		"RSVP burst on one session: needs sessions/RSVP (issue 3)",
	}
}

func procPeak(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb int64
			_, err := fmt.Sscan(v, &kb)
			return kb * 1024, err
		}
	}
	return 0, errors.New("no VmHWM")
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

func machine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				m.CPU = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	return m
}

func (b *bench) write() error {
	b.res.Finished = time.Now().UTC()
	b.res.Targets = targets(b.res)
	if err := os.MkdirAll(filepath.Dir(b.o.out), 0o755); err != nil {
		return err
	}
	data, err := json.MarshalIndent(b.res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(b.o.out, append(data, '\n'), 0o644); err != nil {
		return err
	}
	md := strings.TrimSuffix(b.o.out, filepath.Ext(b.o.out)) + ".md"
	if err := os.WriteFile(md, []byte(markdown(b.res)), 0o644); err != nil {
		return err
	}
	b.targetsTable()
	fmt.Fprintf(b.stdout, "\nresults written to %s and %s\n", b.o.out, md)
	return nil
}

func (b *bench) table() {
	fmt.Fprintf(b.stdout, "\nAgora benchmark — %s, %d CPUs, %s — %s per scenario after %s warm-up\n",
		b.res.Machine.CPU, b.res.Machine.CPUs, b.res.Machine.GoVersion, b.o.duration, b.o.warmup)
	fmt.Fprintf(b.stdout, "data set: %d directions, %d agents, %d outbox emails (seeded in %.1fs)\n\n",
		b.res.DataSet.Directions, b.res.DataSet.Agents, b.res.DataSet.Outbox, b.res.DataSet.SeedSeconds)
	w := tabwriter.NewWriter(b.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "scenario\tconc\trequests\t/s\tceiling /s\tvs ceiling\tp50\tp99\tmax\terrors\tpeak RSS\t")
	for _, s := range b.res.Scenarios {
		r := s.Result
		ratio := "—"
		if s.Kind != "mail" && s.Kind != "startup" && s.RatioToCeiling > 0 {
			ratio = fmt.Sprintf("%.1f%%", s.RatioToCeiling*100)
		}
		rate := fmt.Sprintf("%.0f", r.PerSecond)
		if s.Kind == "startup" {
			rate = "—"
		}
		ceil := "—"
		if s.CeilingPerSecond > 0 {
			ceil = fmt.Sprintf("%.0f", s.CeilingPerSecond)
		}
		fmt.Fprintf(w, "%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%.0f MB\t\n", s.Name, r.Concurrency, r.Requests, rate, ceil, ratio,
			ms(r.P50), ms(r.P99), ms(r.Max), r.Errors, s.PeakRSSMB)
	}
	w.Flush()
	for _, s := range b.res.Scenarios {
		if s.Result.FirstError != "" {
			fmt.Fprintf(b.stdout, "first error of %q: %s\n", s.Name, s.Result.FirstError)
		}
	}
}

func (b *bench) targetsTable() {
	if len(b.res.Targets) == 0 {
		return
	}
	fmt.Fprintln(b.stdout, "\ntargets (issue 6):")
	w := tabwriter.NewWriter(b.stdout, 0, 0, 2, ' ', 0)
	for _, t := range b.res.Targets {
		fmt.Fprintf(w, "  %s\t%s\t%s\t%s\n", t.Status, t.Name, t.Target, t.Measured)
	}
	w.Flush()
	if len(b.res.NotYet) > 0 {
		fmt.Fprintln(b.stdout, "\nscenarios waiting for their feature:")
		for _, s := range b.res.NotYet {
			fmt.Fprintln(b.stdout, "  -", s)
		}
	}
}

func ms(d time.Duration) string {
	if d == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000)
}

// eventScenarios: the programme page of an event with its workshops, the
// exports of its registrations, and the registration opening: every agent
// of the burst registers once, from b.o.burst concurrent clients, through
// the real form; afterwards exactly the capacity must be confirmed.
func (b *bench) eventScenarios(ctx context.Context, client *http.Client, seeded harness.Seeded) error {
	ev := seeded.Events
	if ev.Programme == "" {
		return nil
	}
	get := func(path, session string, status int) func(ctx context.Context, worker, seq int) error {
		return func(ctx context.Context, worker, _ int) error {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, b.agora.URL(path), nil)
			if session == "" {
				session = seeded.AgentSessions[worker%len(seeded.AgentSessions)]
			}
			req.AddCookie(&http.Cookie{Name: "agora_session", Value: session})
			return harness.Expect(client, req, status)
		}
	}
	b.logf("scenario: event programme page")
	b.scenario(ctx, "event programme page (workshops with their fill)", "page", b.o.concurrency, 0,
		get("/events/"+ev.Programme+"/programme", "", http.StatusOK))
	for _, format := range []string{"csv", "xlsx"} {
		name := fmt.Sprintf("%s export of %d registrations (answers, workshops)", strings.ToUpper(format), ev.ExportRegs)
		b.logf("scenario: %s", name)
		b.scenario(ctx, name, "export", 1, 0, get("/events/"+ev.Export+"/export/"+format, seeded.AdminSession, http.StatusOK))
	}

	name := fmt.Sprintf("registration burst: %d agents, %d clients, %d seats with quotas", len(ev.BurstSessions), b.o.burst, ev.BurstCapacity)
	b.logf("scenario: %s", name)
	csrf := strings.Repeat("r", 43)
	path := "/events/" + ev.Burst + "/register"
	ceiling := b.measureCeiling(ctx, b.o.burst)
	_ = b.agora.ResetPeakRSS()
	r := harness.Load(ctx, b.o.burst, 10*time.Minute, len(ev.BurstSessions), func(ctx context.Context, _, seq int) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, b.agora.URL(path), strings.NewReader("mode=onsite&csrf_token="+csrf))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", b.agora.URL(""))
		req.AddCookie(&http.Cookie{Name: "agora_csrf", Value: csrf})
		req.AddCookie(&http.Cookie{Name: "agora_session", Value: ev.BurstSessions[seq]})
		return harness.Expect(client, req, http.StatusSeeOther)
	})
	peak, _ := b.agora.PeakRSS()
	confirmed, waitlisted, problems, err := harness.BurstOutcome(ctx, b.agora.DatabaseURL(), ev)
	if err != nil {
		return err
	}
	s := Scenario{Name: fmt.Sprintf("%s → %d confirmed, %d waitlisted", name, confirmed, waitlisted), Kind: "burst",
		Result: r, PeakRSSMB: mb(peak), CeilingPerSecond: ceiling.PerSecond}
	if ceiling.PerSecond > 0 {
		s.RatioToCeiling = r.PerSecond / ceiling.PerSecond
	}
	if len(problems) > 0 {
		s.Result.Errors += len(problems)
		if s.Result.FirstError == "" {
			s.Result.FirstError = "seat rules broken: " + strings.Join(problems, "; ")
		}
	}
	b.res.Scenarios = append(b.res.Scenarios, s)
	// Let the worker deliver the confirmations before the next scenarios.
	b.drainSMTP(60 * time.Second)
	return nil
}

// Command agora-bench measures Agora against the ceiling of the machine it
// runs on: it builds the real binary, seeds a realistic data set into a
// fresh SQLite database through the models, starts Agora, drives each
// scenario at a fixed concurrency with the same closed-loop generator it
// first points at a bare gin handler (the ceiling), and prints a table and
// bench/results.json. Run it with `make bench`.
package main

import (
	"cmp"
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
	"regexp"
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
	ceilingTime time.Duration
	concurrency int
	burst       int
	rate        float64
	mails       int
	starts      int
	out         string
	keep        bool
	small       bool
	seedOnly    string
	env         envFlags
	only        *regexp.Regexp
}

// envFlags are extra NAME=value variables for the Agora process (-env,
// repeatable), to try a setting: -env GOMEMLIMIT=120MiB.
type envFlags map[string]string

func (e envFlags) String() string { return fmt.Sprint(map[string]string(e)) }
func (e envFlags) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("want NAME=value, got %q", v)
	}
	e[k] = val
	return nil
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	o := options{env: envFlags{}}
	fs := flag.NewFlagSet("agora-bench", flag.ContinueOnError)
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "measured time of each scenario")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured warm-up before each scenario")
	fs.DurationVar(&o.ceilingTime, "ceiling", 2*time.Second, "measured time of the ceiling before each scenario (after a quarter of it as warm-up)")
	fs.IntVar(&o.concurrency, "c", 32, "concurrent clients of the page scenarios")
	fs.IntVar(&o.burst, "burst", 100, "concurrent clients of the write bursts")
	fs.Float64Var(&o.rate, "rate", 2000, "registrations a second of the paced registration scenario (0: none)")
	fs.IntVar(&o.mails, "mails", 5000, "emails queued for the delivery scenario")
	fs.IntVar(&o.starts, "starts", 5, "restarts measured for start-to-ready")
	fs.StringVar(&o.out, "o", "bench/results.json", "where to write the JSON results")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary folder (database, logs)")
	fs.BoolVar(&o.small, "small", false, "a small data set and short scenarios (a smoke test of the harness)")
	fs.Var(o.env, "env", "NAME=value for the Agora process (repeatable), e.g. -env GOMEMLIMIT=120MiB")
	only := fs.String("run", "", "only the scenario groups matching this regexp: pages, feeds, login, registration, programme, rsvp, export, mail, start")
	fs.StringVar(&o.seedOnly, "seed", "", "only seed the data set into this SQLite file, then exit (to explore or profile it)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *only != "" {
		re, err := regexp.Compile(*only)
		if err != nil {
			return fmt.Errorf("-run: %w", err)
		}
		o.only = re
	}
	if o.seedOnly != "" {
		ds := harness.FullDataSet
		if o.small {
			ds = harness.SmallDataSet
		}
		s, err := harness.Seed(ctx, "sqlite://"+o.seedOnly, ds)
		if err == nil {
			fmt.Fprintf(stdout, "seeded %s in %s; admin session cookie agora_session=%s\n", o.seedOnly, s.Took.Round(time.Millisecond), s.AdminSession)
		}
		return err
	}
	if o.small {
		o.duration, o.warmup, o.ceilingTime, o.mails, o.starts = time.Second, 200*time.Millisecond, 500*time.Millisecond, 300, 2
	}

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
		Settings: Settings{Duration: o.duration.String(), Warmup: o.warmup.String(), Ceiling: o.ceilingTime.String(), Concurrency: o.concurrency, Burst: o.burst, Rate: o.rate,
			Database: "SQLite (WAL) in a temporary folder", RateLimit: "AGORA_RATE_LIMIT=0 (per-IP limits off: every request comes from 127.0.0.1)",
			LogLevel: "info (JSON access log to a file, as in production)"},
	}}
	err = b.all(ctx)
	if werr := b.write(); werr != nil && err == nil {
		err = werr
	}
	if err == nil {
		for _, c := range b.res.Checks {
			if !c.OK {
				err = fmt.Errorf("correctness check failed: %s", c.Name)
			}
		}
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
	client  *http.Client
	seeded  harness.Seeded
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.stdout, "· "+format+"\n", args...)
}

func (b *bench) all(ctx context.Context) error {
	t0 := time.Now()
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
		ds = harness.SmallDataSet
	}
	if b.smtp, err = harness.StartSMTP(); err != nil {
		return err
	}
	defer b.smtp.Close()
	env := map[string]string{"AGORA_SMTP_URL": b.smtp.URL(), "AGORA_MAIL_FROM": "Agora <agora@bench.test>"}
	for k, v := range b.o.env {
		env[k] = v
	}
	b.res.Settings.Env = b.o.env
	if b.agora, err = harness.NewAgora(bin, filepath.Join(b.dir, "agora"), env); err != nil {
		return err
	}
	b.logf("seeding through the models: %d agents, %d outbox emails, %d groups with %d sessions, an event of %d seats with %d workshops, "+
		"an event with %d registrations, a committee of %d members, %d agents in %d groups each",
		ds.Agents, ds.Outbox, ds.Groups, ds.GroupSess, ds.EventCapacity, ds.Blocks*ds.Rooms, ds.ExportRegistrations, ds.CommitteeMembers, ds.FeedUsers, ds.FeedGroups)
	seeded, err := harness.Seed(ctx, b.agora.DatabaseURL(), ds)
	if err != nil {
		return err
	}
	b.seeded = seeded
	b.res.DataSet = DataSetInfo{Directions: seeded.Directions, Agents: seeded.Agents, Outbox: seeded.Outbox,
		Groups: len(seeded.Groups), Sessions: seeded.GroupSessions, EventSeats: ds.EventCapacity, EventQuotas: ds.Quotas,
		Workshops: len(seeded.Event.Workshops()), ExportRegistrations: seeded.ExportRegs, CommitteeMembers: len(seeded.CommitteeMembers),
		FeedUsers: len(seeded.FeedUsers), FeedGroups: ds.FeedGroups, SeedSeconds: seeded.Took.Seconds()}
	b.logf("seeded in %s", seeded.Took.Round(100*time.Millisecond))
	startup, err := b.agora.StartReady(20 * time.Second)
	if err != nil {
		return err
	}
	defer b.agora.Stop(10 * time.Second)
	b.logf("agora ready in %s", startup.Round(time.Millisecond))
	b.client = harness.LoadClient(max(b.o.concurrency, b.o.burst))

	for _, g := range []struct {
		name string
		run  func(context.Context) error
	}{
		{"pages", b.pageScenarios}, {"feeds", b.feedScenarios}, {"login", b.loginBurst}, {"registration", b.registrationBurst},
		{"programme", b.programmeScenario}, {"rsvp", b.rsvpBurst}, {"export", b.exportScenario}, {"mail", b.mailScenario},
		{"start", b.startScenario},
	} {
		if b.o.only != nil && !b.o.only.MatchString(g.name) {
			continue
		}
		if err := g.run(ctx); err != nil {
			return err
		}
	}
	b.res.TotalSeconds = time.Since(t0).Seconds()
	b.table()
	return nil
}

// load is one load scenario: conc clients calling fn in a closed loop for
// the scenario's duration, or until total calls (total > 0: a burst of
// distinct writes). warm, when set, replaces the warm-up with fn (a burst
// warms up on other rows than the ones it measures).
type load struct {
	name, kind string
	conc       int
	total      int
	duration   time.Duration // 0: the run's -duration
	rate       float64       // > 0: calls paced at this rate a second (harness.LoadPaced), total of them
	warm       func(ctx context.Context)
	fn         func(ctx context.Context, worker, seq int) error
}

// scenario runs one load scenario with warm-up, peak RSS reset before it.
func (b *bench) scenario(ctx context.Context, l load) *Scenario {
	b.logf("scenario: %s", l.name)
	// The machine is shared: its ceiling is measured again right before each
	// scenario, at the same concurrency, and the ratio is to that figure.
	ceiling := b.measureCeiling(ctx, l.conc)
	switch {
	case l.warm != nil:
		l.warm(ctx)
	case b.o.warmup > 0:
		harness.Load(ctx, l.conc, b.o.warmup, l.total, l.fn)
	}
	_ = b.agora.ResetPeakRSS()
	var r harness.LoadResult
	if l.rate > 0 {
		r = harness.LoadPaced(ctx, l.conc, l.rate, l.total, l.fn)
	} else {
		r = harness.Load(ctx, l.conc, cmp.Or(l.duration, b.o.duration), l.total, l.fn)
	}
	peak, _ := b.agora.PeakRSS()
	s := Scenario{Name: l.name, Kind: l.kind, Result: r, PeakRSSMB: mb(peak), CeilingPerSecond: ceiling.PerSecond}
	if ceiling.PerSecond > 0 {
		s.RatioToCeiling = r.PerSecond / ceiling.PerSecond
	}
	b.res.Scenarios = append(b.res.Scenarios, s)
	return &b.res.Scenarios[len(b.res.Scenarios)-1]
}

// measureCeiling drives the bare gin handler with conc clients.
func (b *bench) measureCeiling(ctx context.Context, conc int) harness.LoadResult {
	client := harness.LoadClient(conc)
	defer client.CloseIdleConnections()
	fn := func(ctx context.Context, _, _ int) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+b.ceiling+"/", nil)
		return harness.Expect(client, req, http.StatusOK)
	}
	harness.Load(ctx, conc, b.o.ceilingTime/4, 0, fn)
	return harness.Load(ctx, conc, b.o.ceilingTime, 0, fn)
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
	saved := b.o.ceilingTime
	b.o.ceilingTime = b.o.duration
	r := b.measureCeiling(ctx, b.o.concurrency)
	b.o.ceilingTime = saved
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
	d := b.res.DataSet
	fmt.Fprintf(b.stdout, "data set: %d directions, %d agents, %d outbox emails, %d groups with %d sessions, an event of %d seats with %d workshops, "+
		"%d registrations to export (seeded in %.1fs)\n\n", d.Directions, d.Agents, d.Outbox, d.Groups, d.Sessions, d.EventSeats, d.Workshops,
		d.ExportRegistrations, d.SeedSeconds)
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
		if s.Kind == "export" {
			rate = fmt.Sprintf("%.2f", r.PerSecond)
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
		if s.Notes != "" {
			fmt.Fprintf(b.stdout, "· %s: %s\n", s.Name, s.Notes)
		}
	}
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
	if len(b.res.Checks) > 0 {
		fmt.Fprintln(b.stdout, "\ncorrectness checks (the database after each burst):")
		for _, c := range b.res.Checks {
			fmt.Fprintf(b.stdout, "  %s\t%s — %s\n", map[bool]string{true: "ok", false: "FAILED"}[c.OK], c.Name, c.Detail)
		}
	}
}

func ms(d time.Duration) string {
	if d == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000)
}

package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/dnum-sociaux/agora/internal/harness"
)

// Results is bench/results.json: enough to compare two runs.
type Results struct {
	Machine        Machine     `json:"machine"`
	Settings       Settings    `json:"settings"`
	DataSet        DataSetInfo `json:"data_set"`
	Started        time.Time   `json:"started"`
	Finished       time.Time   `json:"finished"`
	Scenarios      []Scenario  `json:"scenarios"`
	StartToReadyMs float64     `json:"start_to_ready_ms"`
	Targets        []Target    `json:"targets"`
	NotYet         []string    `json:"scenarios_not_yet"`
}

// Machine describes where the run happened.
type Machine struct {
	CPU       string `json:"cpu"`
	CPUs      int    `json:"cpus"`
	OS        string `json:"os"`
	GoVersion string `json:"go"`
}

// Settings are the knobs of the run.
type Settings struct {
	Duration    string `json:"duration"`
	Warmup      string `json:"warmup"`
	Concurrency int    `json:"concurrency"`
	Burst       int    `json:"burst"`
	Database    string `json:"database"`
	RateLimit   string `json:"rate_limit"`
	LogLevel    string `json:"log"`
}

// DataSetInfo is what was seeded.
type DataSetInfo struct {
	Directions  int      `json:"directions"`
	Agents      int      `json:"agents"`
	Outbox      int      `json:"outbox_emails"`
	Groups      int      `json:"groups"`
	Sessions    int      `json:"group_sessions"`
	NotYet      []string `json:"not_yet"`
	SeedSeconds float64  `json:"seed_seconds"`
}

// Scenario is one measured line of the table.
type Scenario struct {
	Name           string             `json:"name"`
	Kind           string             `json:"kind"` // ceiling, page, write, mail, startup
	Result         harness.LoadResult `json:"result"`
	RatioToCeiling float64            `json:"ratio_to_ceiling,omitempty"`
	// CeilingPerSecond is the bare handler measured right before, same concurrency.
	CeilingPerSecond float64 `json:"ceiling_per_second,omitempty"`
	PeakRSSMB        float64 `json:"peak_rss_mb"`
}

// Target is one of the targets, met or not.
type Target struct {
	Name     string `json:"name"`
	Target   string `json:"target"`
	Measured string `json:"measured"`
	Status   string `json:"status"` // met, GAP, not yet
}

func status(ok bool) string {
	if ok {
		return "met"
	}
	return "GAP"
}

// targets compares the run with the targets.
func targets(r Results) []Target {
	var out []Target
	var peak float64
	worstPage, worstName := 2.0, ""
	for _, s := range r.Scenarios {
		if s.Kind != "ceiling" {
			peak = max(peak, s.PeakRSSMB)
		}
		if s.Kind == "feed" {
			out = append(out, Target{Name: "calendar feed: " + s.Name, Target: "≥ 20% of the ceiling",
				Measured: fmt.Sprintf("%.1f%%", s.RatioToCeiling*100), Status: status(s.RatioToCeiling >= 0.20 && s.Result.Errors == 0)})
		}
		if s.Kind == "page" && s.RatioToCeiling < worstPage {
			worstPage, worstName = s.RatioToCeiling, s.Name
		}
		if s.Kind == "mail" {
			out = append(out, Target{Name: "email delivery", Target: "≥ 500 messages/s",
				Measured: fmt.Sprintf("%.0f messages/s", s.Result.PerSecond), Status: status(s.Result.PerSecond >= 500 && s.Result.Errors == 0)})
		}
	}
	if worstName != "" {
		out = append(out, Target{Name: "pages", Target: "≥ 20% of the ceiling",
			Measured: fmt.Sprintf("lowest %.1f%% (%s)", worstPage*100, worstName), Status: status(worstPage >= 0.20)})
	}
	if r.StartToReadyMs > 0 {
		out = append(out, Target{Name: "start to ready", Target: "< 300 ms on the full data set",
			Measured: fmt.Sprintf("%.0f ms (median)", r.StartToReadyMs), Status: status(r.StartToReadyMs < 300)})
	}
	if peak > 0 {
		out = append(out, Target{Name: "peak RSS", Target: "< 150 MB", Measured: fmt.Sprintf("%.0f MB", peak), Status: status(peak < 150)})
	}
	burst := Target{Name: "registration burst", Target: "≥ 2,000/s, p99 < 50 ms, exactly the capacity confirmed", Measured: "—", Status: "not yet"}
	for _, s := range r.Scenarios {
		switch {
		case s.Kind == "burst":
			burst.Measured = fmt.Sprintf("%.0f/s, p99 %s, %d errors", s.Result.PerSecond, ms(s.Result.P99), s.Result.Errors)
			if s.Result.FirstError != "" {
				burst.Measured += " (" + s.Result.FirstError + ")"
			}
			burst.Status = status(s.Result.PerSecond >= 2000 && s.Result.P99 < 50*time.Millisecond && s.Result.Errors == 0)
		case s.Kind == "export":
			out = append(out, Target{Name: s.Name, Target: "< 2 s", Measured: "p50 " + ms(s.Result.P50),
				Status: status(s.Result.P50 < 2*time.Second && s.Result.Errors == 0)})
		case strings.HasPrefix(s.Name, "event programme page"):
			out = append(out, Target{Name: "programme page with its workshops", Target: "< 5 ms at p50 (server time; here through loopback HTTP)",
				Measured: "p50 " + ms(s.Result.P50), Status: status(s.Result.P50 < 5*time.Millisecond)})
		}
	}
	return append(out, burst)
}

// markdown renders the results as the README's tables.
func markdown(r Results) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Run of %s on %s (%d CPUs, %s), %s per scenario after %s warm-up; data set: %d directions, %d agents, %d outbox emails.\n\n",
		r.Started.Format("2006-01-02"), r.Machine.CPU, r.Machine.CPUs, r.Machine.GoVersion, r.Settings.Duration, r.Settings.Warmup,
		r.DataSet.Directions, r.DataSet.Agents, r.DataSet.Outbox)
	if r.DataSet.Groups > 0 {
		fmt.Fprintf(&b, "Groups: %d with %d sessions.\n\n", r.DataSet.Groups, r.DataSet.Sessions)
	}
	b.WriteString("| scenario | clients | per second | ceiling /s | vs ceiling | p50 | p99 | max | errors | peak RSS |\n")
	b.WriteString("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, s := range r.Scenarios {
		x := s.Result
		rate, ceil, ratio := fmt.Sprintf("%.0f", x.PerSecond), "—", "—"
		if s.CeilingPerSecond > 0 {
			ceil = fmt.Sprintf("%.0f", s.CeilingPerSecond)
		}
		if s.RatioToCeiling > 0 && s.Kind != "mail" {
			ratio = fmt.Sprintf("%.1f%%", s.RatioToCeiling*100)
		}
		if s.Kind == "startup" {
			rate = "—"
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %s | %s | %d | %.0f MB |\n", s.Name, x.Concurrency, rate, ceil, ratio,
			ms(x.P50), ms(x.P99), ms(x.Max), x.Errors, s.PeakRSSMB)
	}
	b.WriteString("\n| target | wanted | measured | status |\n| --- | --- | --- | --- |\n")
	for _, t := range r.Targets {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", t.Name, t.Target, t.Measured, t.Status)
	}
	return b.String()
}

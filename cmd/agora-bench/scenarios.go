package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dnum-sociaux/agora/internal/harness"
)

// csrfToken is the double-submit token every form of the load carries (the
// agora_csrf cookie and the csrf_token field hold the same value).
var csrfToken = strings.Repeat("c", 43)

// get builds a GET of path as agent (-1: anonymous, -2: the admin).
func (b *bench) get(ctx context.Context, path string, agent int) *http.Request {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, b.agora.URL(path), nil)
	b.authenticate(req, agent)
	return req
}

// post builds a form POST of path as agent, with the CSRF token.
func (b *bench) post(ctx context.Context, path string, agent int, form url.Values) *http.Request {
	form.Set("csrf_token", csrfToken)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, b.agora.URL(path), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.agora.URL(""))
	req.AddCookie(&http.Cookie{Name: "agora_csrf", Value: csrfToken})
	b.authenticate(req, agent)
	return req
}

func (b *bench) authenticate(req *http.Request, agent int) {
	switch {
	case agent >= 0:
		req.AddCookie(&http.Cookie{Name: "agora_session", Value: b.seeded.AgentSessions[agent]})
	case agent == -2:
		req.AddCookie(&http.Cookie{Name: "agora_session", Value: b.seeded.AdminSession})
	}
}

// expectRedirect sends req and wants a 303 to location.
func (b *bench) expectRedirect(req *http.Request, location string) error {
	resp, err := b.client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != location {
		return fmt.Errorf("%s %s: %d → %q, want 303 → %q", req.Method, req.URL.Path, resp.StatusCode, resp.Header.Get("Location"), location)
	}
	return nil
}

// plainAgent is the agent a page worker logs in as: neither organiser,
// committee member nor feed user, a member of a couple of groups.
func (b *bench) plainAgent(worker int) int {
	n := len(b.seeded.AgentSessions)
	return (n*2/5 + worker) % n
}

func (b *bench) pageScenarios(ctx context.Context) error {
	s := b.seeded
	pages := []struct {
		name  string
		path  func(seq int) string
		agent func(worker int) int
	}{
		{"login page (anonymous)", func(int) string { return "/login" }, func(int) int { return -1 }},
		{"home of a logged-in agent (Mon espace)", func(int) string { return "/" }, b.plainAgent},
		{fmt.Sprintf("admin outbox page (50 of %d+)", s.Outbox), func(int) string { return "/admin/outbox" }, func(int) int { return -2 }},
		{fmt.Sprintf("groups directory page (%d groups, first page)", len(s.Groups)), func(int) string { return "/groups" }, b.plainAgent},
		{fmt.Sprintf("group page (rotating over %d groups)", len(s.Groups)), func(seq int) string { return "/groups/" + s.Groups[seq%len(s.Groups)] }, b.plainAgent},
	}
	for _, p := range pages {
		b.scenario(ctx, load{name: p.name, kind: "page", conc: b.o.concurrency, fn: func(ctx context.Context, worker, seq int) error {
			return harness.Expect(b.client, b.get(ctx, p.path(seq), p.agent(worker)), http.StatusOK)
		}})
	}
	return nil
}

var feedURLRE = regexp.MustCompile(`/feeds/users/[0-9a-z]+/[A-Za-z0-9_-]+\.ics`)

// feedScenarios measures personal calendar feeds of FeedGroups groups:
// rendered (rotating over more feeds than the server's cache holds),
// served again unchanged without a conditional request (the cache), and
// answered 304.
func (b *bench) feedScenarios(ctx context.Context) error {
	users := b.seeded.FeedUsers
	if len(users) == 0 {
		return nil
	}
	urls := make([]string, len(users))
	etags := make([]string, len(users))
	var size, events int
	for i, agent := range users {
		p, err := b.read(b.get(ctx, "/calendar", agent))
		if err != nil {
			return err
		}
		urls[i] = feedURLRE.FindString(p.body)
		if urls[i] == "" {
			return fmt.Errorf("no feed URL on /calendar of agent %d (status %d)", agent, p.status)
		}
		f, err := b.read(b.get(ctx, urls[i], -1))
		if err != nil {
			return err
		}
		if f.status != http.StatusOK {
			return fmt.Errorf("feed %s: status %d", urls[i], f.status)
		}
		etags[i] = f.header.Get("ETag")
		size += len(f.body)
		events += strings.Count(f.body, "BEGIN:VEVENT")
	}
	perFeed := float64(size) / float64(len(users))
	const cache = 64 << 20 // handlers.Deps.FeedCacheBytes default
	note := fmt.Sprintf("%d feeds of %d events on average (%.0f KB each); together %.0f MB", len(users), events/len(users), perFeed/1024, float64(size)/(1<<20))
	cold := b.scenario(ctx, load{name: fmt.Sprintf("personal calendar feed, rendered (%d events, rotating over %d feeds)", events/len(users), len(users)),
		kind: "feed", conc: b.o.concurrency, fn: func(ctx context.Context, _, seq int) error {
			return harness.Expect(b.client, b.get(ctx, urls[seq%len(urls)], -1), http.StatusOK)
		}})
	if size > cache {
		cold.Notes = note + fmt.Sprintf(", more than the server's 64 MiB feed cache: taken in turn, every request misses it and renders")
	} else {
		cold.Notes = note + ", which fits the server's 64 MiB feed cache: some requests may have been served from it (use more -feed users)"
	}
	b.scenario(ctx, load{name: "personal calendar feed, polled unchanged without If-None-Match (server cache)", kind: "feed", conc: b.o.concurrency,
		fn: func(ctx context.Context, worker, _ int) error {
			return harness.Expect(b.client, b.get(ctx, urls[worker%len(urls)], -1), http.StatusOK)
		}})
	b.scenario(ctx, load{name: "personal calendar feed, unchanged (304 to If-None-Match)", kind: "feed", conc: b.o.concurrency,
		fn: func(ctx context.Context, worker, _ int) error {
			req := b.get(ctx, urls[worker%len(urls)], -1)
			req.Header.Set("If-None-Match", etags[worker%len(urls)])
			return harness.Expect(b.client, req, http.StatusNotModified)
		}})
	return nil
}

type page struct {
	status int
	header http.Header
	body   string
}

func (b *bench) read(req *http.Request) (page, error) {
	resp, err := b.client.Do(req)
	if err != nil {
		return page{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, header: resp.Header, body: string(body)}, err
}

// loginBurst: login-link requests (a transaction with a token and an outbox
// email each) from 100 clients, distinct addresses.
func (b *bench) loginBurst(ctx context.Context) error {
	b.scenario(ctx, load{name: fmt.Sprintf("login-link burst (%d clients, write + outbox)", b.o.burst), kind: "write", conc: b.o.burst,
		fn: func(ctx context.Context, _, seq int) error {
			req := b.post(ctx, "/login", -1, url.Values{"email": {fmt.Sprintf("burst%07d@bench.test", seq)}})
			return b.expectRedirect(req, "/login/sent")
		}})
	// Let the worker deliver the burst's emails before the next scenario.
	b.drainSMTP(60 * time.Second)
	return nil
}

// registrationBurst: every agent registers for the product event, 100 at a
// time, through the web form, as fast as the server answers; then every
// agent registers for another event of the same shape, 100 at a time again,
// at the rate (2,000 a second), which the server must keep with a
// p99 under 50 ms. The outcome of each is checked in the database.
func (b *bench) registrationBurst(ctx context.Context) error {
	ev, warm, paced := b.seeded.Event, b.seeded.WarmupEvent, b.seeded.PacedEvent
	if ev.ID == "" {
		return nil
	}
	n := len(b.seeded.AgentSessions)
	register := func(ev *harness.Event) func(ctx context.Context, _, seq int) error {
		return func(ctx context.Context, _, seq int) error {
			return b.expectRedirect(b.post(ctx, "/events/"+ev.ID+"/register", seq, ev.Form(seq)), "/events/"+ev.ID)
		}
	}
	var before int
	s := b.scenario(ctx, load{
		name: fmt.Sprintf("registration burst: %d agents register for an event of %d seats with quotas, 3 of %d workshops each (%d clients)",
			n, ev.Capacity, len(ev.Workshops()), b.o.burst),
		kind: "registration", conc: b.o.burst, total: n, duration: 2 * time.Minute,
		warm: func(ctx context.Context) {
			harness.Load(ctx, b.o.burst, b.o.warmup, n, register(&warm))
			b.drainSMTP(60 * time.Second) // the warm-up's emails must not compete with the burst
			before = b.smtp.Count()
		},
		fn: register(&ev),
	})
	if err := b.checkRegistrations(ctx, s, &ev, n, before, "registration burst"); err != nil {
		return err
	}
	if paced.ID == "" || b.o.rate <= 0 {
		return nil
	}
	before = b.smtp.Count()
	s = b.scenario(ctx, load{
		name: fmt.Sprintf("registration at %.0f/s: %d agents register for an event of %d seats with quotas, 3 of %d workshops each (%d clients)",
			b.o.rate, n, paced.Capacity, len(paced.Workshops()), b.o.burst),
		kind: "registration-paced", conc: b.o.burst, total: n, rate: b.o.rate,
		warm: func(context.Context) {}, // the burst before warmed everything
		fn:   register(&paced),
	})
	return b.checkRegistrations(ctx, s, &paced, n, before, "registration at rate")
}

// checkRegistrations checks an event's registrations after a load (checks
// named after what, notes on s) and waits for their emails.
func (b *bench) checkRegistrations(ctx context.Context, s *Scenario, ev *harness.Event, n, before int, what string) error {
	end := time.Now()
	b.drainSMTP(120 * time.Second)
	rec := b.smtp.Received()[before:]
	sent, lastAt := len(rec), end
	if sent > 0 {
		lastAt = rec[sent-1].At
	}
	checks, summary, err := harness.VerifyRegistrations(ctx, b.agora.DatabaseURL(), ev, n, s.Result.Errors)
	if err != nil {
		return err
	}
	for i := range checks {
		checks[i].Name = strings.Replace(checks[i].Name, "registration burst", what, 1)
	}
	b.res.Checks = append(b.res.Checks, checks...)
	s.Notes = fmt.Sprintf("%s; %d emails (confirmations with the event invitation, one per workshop place) queued, the last delivered %.1f s after the last registration",
		summary, sent, lastAt.Sub(end).Seconds())
	return nil
}

// programmeScenario: the public programme page of the event, with the
// workshops' fills after the registration burst.
func (b *bench) programmeScenario(ctx context.Context) error {
	ev := b.seeded.Event
	if ev.ID == "" {
		return nil
	}
	b.scenario(ctx, load{name: fmt.Sprintf("event programme page (%d workshops with their fills, anonymous)", len(ev.Workshops())), kind: "page",
		conc: b.o.concurrency, fn: func(ctx context.Context, _, _ int) error {
			return harness.Expect(b.client, b.get(ctx, "/events/"+ev.ID+"/programme", -1), http.StatusOK)
		}})
	return nil
}

// rsvpBurst: every member of the committee answers "oui" to one session
// with few places, 100 at a time.
func (b *bench) rsvpBurst(ctx context.Context) error {
	members := b.seeded.CommitteeMembers
	if len(members) == 0 {
		return nil
	}
	answer := func(session string) func(ctx context.Context, _, seq int) error {
		return func(ctx context.Context, _, seq int) error {
			req := b.post(ctx, "/sessions/"+session+"/answer", members[seq], url.Values{"answer": {"yes"}})
			return b.expectRedirect(req, "/sessions/"+session)
		}
	}
	s := b.scenario(ctx, load{
		name: fmt.Sprintf("RSVP burst: %d members answer oui to one session of %d places (%d clients)", len(members), b.seeded.RSVPCapacity, b.o.burst),
		kind: "rsvp", conc: b.o.burst, total: len(members), duration: 2 * time.Minute,
		warm: func(ctx context.Context) {
			harness.Load(ctx, b.o.burst, b.o.warmup, len(members), answer(b.seeded.RSVPWarmupSession))
		},
		fn: answer(b.seeded.RSVPSession),
	})
	checks, summary, err := harness.VerifyRSVPs(ctx, b.agora.DatabaseURL(), b.seeded.RSVPSession, len(members), s.Result.Errors)
	if err != nil {
		return err
	}
	b.res.Checks = append(b.res.Checks, checks...)
	s.Notes = summary
	b.drainSMTP(30 * time.Second)
	return nil
}

// exportScenario: an organiser downloads the CSV, then the XLSX, of
// 10,000 registrations; each download is checked complete and the CSV
// streamed (chunked, first byte long before the last).
func (b *bench) exportScenario(ctx context.Context) error {
	for _, format := range []string{"csv", "xlsx"} {
		if err := b.export(ctx, format); err != nil {
			return err
		}
	}
	return nil
}

func (b *bench) export(ctx context.Context, format string) error {
	id, regs := b.seeded.ExportEvent, b.seeded.ExportRegs
	if id == "" {
		return nil
	}
	var mu sync.Mutex
	var ttfb []time.Duration
	var size int64
	chunked := true
	s := b.scenario(ctx, load{name: fmt.Sprintf("%s export of %d registrations (one organiser)", strings.ToUpper(format), regs), kind: "export", conc: 1,
		fn: func(ctx context.Context, _, _ int) error {
			t0 := time.Now()
			resp, err := b.client.Do(b.get(ctx, "/events/"+id+"/export/"+format, -2))
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			br := bufio.NewReaderSize(resp.Body, 64<<10)
			head, err := br.Peek(2)
			if err != nil {
				return fmt.Errorf("export: no first bytes: %w", err)
			}
			first := time.Since(t0)
			workbook := string(head) == "PK" // a zip
			var n, lines int64
			buf := make([]byte, 64<<10)
			for {
				k, err := br.Read(buf)
				n += int64(k)
				lines += int64(bytes.Count(buf[:k], []byte{'\n'}))
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					return err
				}
			}
			isChunked := resp.ContentLength < 0 && slices.Contains(resp.TransferEncoding, "chunked")
			switch {
			case resp.StatusCode != http.StatusOK:
				return fmt.Errorf("export: status %d", resp.StatusCode)
			case format == "csv" && !isChunked:
				return fmt.Errorf("export: sent with a Content-Length (%d): not streamed", resp.ContentLength)
			case format == "csv" && lines != int64(regs)+1:
				return fmt.Errorf("export: %d lines, want %d registrations and a header", lines, regs)
			case format == "xlsx" && !workbook:
				return fmt.Errorf("export: %d bytes, not a workbook", n)
			}
			mu.Lock()
			ttfb = append(ttfb, first)
			size, chunked = n, chunked && isChunked
			mu.Unlock()
			return nil
		}})
	if len(ttfb) > 0 {
		slices.Sort(ttfb)
		how := "chunked transfer (no Content-Length)"
		if !chunked {
			how = "sent with a Content-Length"
		}
		s.Notes = fmt.Sprintf("%.1f MB each; %s; first byte after %s (median), last after %s",
			float64(size)/1e6, how, ms(ttfb[len(ttfb)/2]), ms(s.Result.P50))
		if format == "csv" {
			s.Notes += fmt.Sprintf(", %d lines: streamed", regs+1)
		}
	}
	b.res.Checks = append(b.res.Checks, harness.Check{Name: "every " + strings.ToUpper(format) + " export is complete" + map[bool]string{true: " and streamed", false: ""}[format == "csv"],
		OK:     s.Result.Errors == 0 && s.Result.Requests > 0,
		Detail: fmt.Sprintf("%d exports, %d errors %s", s.Result.Requests, s.Result.Errors, s.Result.FirstError)})
	return nil
}

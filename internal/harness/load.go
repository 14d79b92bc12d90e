package harness

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// LoadResult is what one run of Load or LoadPaced measured.
type LoadResult struct {
	Requests    int           `json:"requests"`
	Errors      int           `json:"errors"`
	FirstError  string        `json:"first_error,omitempty"`
	Concurrency int           `json:"concurrency"`
	Elapsed     time.Duration `json:"elapsed_ns"`
	PerSecond   float64       `json:"per_second"`
	P50         time.Duration `json:"p50_ns"`
	P90         time.Duration `json:"p90_ns"`
	P99         time.Duration `json:"p99_ns"`
	Max         time.Duration `json:"max_ns"`
}

// Load drives fn from `concurrency` workers in a closed loop (each worker
// sends its next request when the previous one is answered) until duration
// has passed or `total` calls were made (total <= 0: no limit). Requests in
// flight at the deadline are let finish (cutting them would make the server
// log cancelled requests). fn gets the worker number and a sequence number
// unique across workers. Every latency is kept and sorted, so percentiles
// are exact.
func Load(ctx context.Context, concurrency int, duration time.Duration, total int, fn func(ctx context.Context, worker, seq int) error) LoadResult {
	deadline := time.Now().Add(duration)
	return drive(ctx, concurrency, total, fn, func(time.Time, int) (time.Time, bool) {
		now := time.Now()
		return now, now.Before(deadline)
	})
}

// LoadPaced drives fn from `concurrency` workers at a fixed rate (open
// loop): call k (k < total) is due at start + k/rate, whenever a worker is
// free; a worker that is free early waits for it. Each latency runs from
// when the call was due, not from when a worker could send it, so that a
// server falling behind the rate is charged for the wait it caused (no
// coordinated omission). PerSecond is the rate achieved.
func LoadPaced(ctx context.Context, concurrency int, rate float64, total int, fn func(ctx context.Context, worker, seq int) error) LoadResult {
	return drive(ctx, concurrency, total, fn, func(start time.Time, n int) (time.Time, bool) {
		return start.Add(time.Duration(float64(n) / rate * float64(time.Second))), true
	})
}

// drive runs fn from concurrency workers, call n when due(start, n) says
// (waiting for it if need be; no call once it says false), at most total
// calls (total <= 0: no limit). A latency runs from when the call was due.
func drive(ctx context.Context, concurrency, total int, fn func(ctx context.Context, worker, seq int) error,
	due func(start time.Time, n int) (time.Time, bool)) LoadResult {
	var seq atomic.Int64
	lats := make([][]time.Duration, concurrency)
	errs := make([]int, concurrency)
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for w := range concurrency {
		lats[w] = make([]time.Duration, 0, 4096)
		wg.Go(func() {
			for ctx.Err() == nil {
				n := int(seq.Add(1)) - 1
				at, ok := due(start, n)
				if !ok || total > 0 && n >= total {
					return
				}
				if wait := time.Until(at); wait > 0 {
					select {
					case <-ctx.Done():
						return
					case <-time.After(wait):
					}
				}
				err := fn(ctx, w, n)
				d := time.Since(at)
				if err != nil {
					if ctx.Err() != nil {
						return // interrupted: not the server's fault
					}
					errs[w]++
					firstErr.CompareAndSwap(nil, err.Error())
				}
				lats[w] = append(lats[w], d)
			}
		})
	}
	wg.Wait()
	return summarise(concurrency, time.Since(start), lats, errs, &firstErr)
}

// summarise turns the latencies and errors of each worker into a result.
func summarise(concurrency int, elapsed time.Duration, lats [][]time.Duration, errs []int, firstErr *atomic.Value) LoadResult {
	var all []time.Duration
	r := LoadResult{Concurrency: concurrency, Elapsed: elapsed}
	for w := range concurrency {
		all = append(all, lats[w]...)
		r.Errors += errs[w]
	}
	if v := firstErr.Load(); v != nil {
		r.FirstError = v.(string)
	}
	r.Requests = len(all)
	if r.Requests == 0 {
		return r
	}
	slices.Sort(all)
	r.PerSecond = float64(r.Requests) / elapsed.Seconds()
	r.P50 = percentile(all, 0.50)
	r.P90 = percentile(all, 0.90)
	r.P99 = percentile(all, 0.99)
	r.Max = all[len(all)-1]
	return r
}

// percentile of sorted latencies (nearest rank).
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(float64(len(sorted))*p+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// LoadClient is an HTTP client for load: keep-alive connections enough for
// every worker, no cookie jar, no redirects followed.
func LoadClient(concurrency int) *http.Client {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        concurrency * 2,
		MaxIdleConnsPerHost: concurrency * 2,
		MaxConnsPerHost:     0,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &http.Client{
		Transport:     tr,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Expect sends req and returns an error unless the status is want; the body
// is read to the end so the connection is reused.
func Expect(c *http.Client, req *http.Request, want int) error {
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: status %d, want %d", req.Method, req.URL.Path, resp.StatusCode, want)
	}
	return nil
}

// Package ratelimit limits requests per key (an IP, a user, an email) with
// token buckets from golang.org/x/time/rate.
package ratelimit

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter holds one token bucket per key. Buckets idle for longer than it
// takes to refill are dropped as new keys arrive, so memory stays bounded
// without a background goroutine.
type Limiter struct {
	mu      sync.Mutex
	every   rate.Limit
	burst   int
	idle    time.Duration
	buckets map[string]*bucket
	now     func() time.Time
	sweepAt time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// New allows n events per period per key, in bursts of up to n.
// n <= 0 disables the limiter (every event is allowed).
func New(n int, period time.Duration, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	l := &Limiter{burst: n, idle: 2 * period, buckets: map[string]*bucket{}, now: now}
	if n > 0 {
		l.every = rate.Limit(float64(n) / period.Seconds())
	}
	return l
}

// Allow takes one token for key. When none is left it returns false and how
// long until one is.
func (l *Limiter) Allow(key string) (bool, time.Duration) {
	if l == nil || l.burst <= 0 {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.After(l.sweepAt) {
		for k, b := range l.buckets {
			if now.Sub(b.seen) > l.idle {
				delete(l.buckets, k)
			}
		}
		l.sweepAt = now.Add(l.idle)
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{lim: rate.NewLimiter(l.every, l.burst)}
		l.buckets[key] = b
	}
	b.seen = now
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

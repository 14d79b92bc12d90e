package ratelimit

import (
	"testing"
	"time"
)

func TestLimiterPerKey(t *testing.T) {
	now := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	l := New(3, time.Minute, func() time.Time { return now })
	for i := 0; i < 3; i++ {
		if ok, _ := l.Allow("a"); !ok {
			t.Fatalf("event %d refused within the burst", i+1)
		}
	}
	ok, wait := l.Allow("a")
	if ok || wait <= 0 || wait > 20*time.Second+time.Millisecond {
		t.Fatalf("4th event: ok=%v wait=%v, want refused with about 20s to wait", ok, wait)
	}
	if ok, _ := l.Allow("b"); !ok {
		t.Fatal("another key shares the bucket")
	}
	now = now.Add(21 * time.Second)
	if ok, _ := l.Allow("a"); !ok {
		t.Fatal("a token did not come back after its period")
	}
}

func TestLimiterDisabledAndSweep(t *testing.T) {
	if ok, _ := New(0, time.Minute, nil).Allow("x"); !ok {
		t.Fatal("a disabled limiter refused")
	}
	now := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	l := New(1, time.Second, func() time.Time { return now })
	for _, k := range []string{"a", "b", "c"} {
		l.Allow(k)
	}
	now = now.Add(time.Minute)
	l.Allow("d")
	if len(l.buckets) != 1 {
		t.Fatalf("idle buckets kept: %d, want 1", len(l.buckets))
	}
}

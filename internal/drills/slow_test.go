//go:build drills

package drills

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dnum-sociaux/agora/internal/harness"
)

// TestSlowClientsAndOversizedRequests holds hundreds of connections that
// send their headers or their body one byte at a time (slowloris), and sends
// bodies and headers over the limits. Agora keeps answering everyone else
// quickly, closes the slow connections at its timeouts (header 10 s, whole
// request 60 s), refuses big bodies with 413 and big headers with 431, and
// its memory stays small.
func TestSlowClientsAndOversizedRequests(t *testing.T) {
	t.Parallel()
	a := startAgora(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// Oversized requests first (they must not need the slow ones to finish).
	t.Run("oversized", func(t *testing.T) {
		big := bytes.Repeat([]byte("a"), 2<<20) // 2 MiB, the limit is 1 MiB
		req, _ := http.NewRequest(http.MethodPost, a.URL("/login"), bytes.NewReader(big))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("declared 2 MiB body: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("declared 2 MiB body: status %d, want 413", resp.StatusCode)
		}

		// The same without Content-Length (chunked): cut at the limit while reading.
		b := harness.NewBrowser(a.URL(""))
		token, err := b.CSRF()
		if err != nil {
			t.Fatal(err)
		}
		body := io.MultiReader(strings.NewReader("csrf_token="+token+"&email="), bytes.NewReader(big))
		req, _ = http.NewRequest(http.MethodPost, a.URL("/login"), body)
		req.ContentLength = -1
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", a.URL(""))
		req.AddCookie(&http.Cookie{Name: "agora_csrf", Value: token})
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("chunked 2 MiB body: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("chunked 2 MiB body: status %d, want 413", resp.StatusCode)
		}

		req, _ = http.NewRequest(http.MethodGet, a.URL("/login"), nil)
		req.Header.Set("X-Padding", strings.Repeat("p", 100<<10))
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("100 KiB header: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("100 KiB header: status %d, want 431", resp.StatusCode)
		}
	})

	// Slow clients: 300 send headers a byte a second, 100 send a body a byte a second.
	const slowHeaders, slowBodies = 300, 100
	closed := make(chan time.Duration, slowHeaders+slowBodies)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range slowHeaders + slowBodies {
		conn, err := net.Dial("tcp", a.Addr)
		if err != nil {
			t.Fatalf("slow connection %d: %v", i, err)
		}
		defer conn.Close()
		first := "GET /login HTTP/1.1\r\nHost: " + a.Addr + "\r\nX-Slow: "
		if i >= slowHeaders {
			first = "POST /login HTTP/1.1\r\nHost: " + a.Addr + "\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\nemail="
		}
		if _, err := conn.Write([]byte(first)); err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { closed <- dripUntilClosed(ctx, conn, start) })
	}

	// Meanwhile everyone else is served, quickly.
	client := harness.LoadClient(8)
	r := harness.Load(ctx, 8, 3*time.Second, 0, func(ctx context.Context, _, _ int) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, a.URL("/login"), nil)
		return harness.Expect(client, req, http.StatusOK)
	})
	t.Logf("with %d slow connections open: %d requests, %.0f/s, p99 %s, %d errors", slowHeaders+slowBodies, r.Requests, r.PerSecond, r.P99, r.Errors)
	if r.Errors > 0 || r.Requests < 100 || r.P99 > time.Second {
		t.Errorf("normal clients suffered from the slow ones: %d requests, %d errors (%s), p99 %s", r.Requests, r.Errors, r.FirstError, r.P99)
	}

	// Agora closes them at its timeouts: headers by 10 s, whole requests by 60 s.
	var headerMax, bodyMax time.Duration
	deadline := time.After(75 * time.Second)
	for i := range slowHeaders + slowBodies {
		select {
		case d := <-closed:
			if d < 0 {
				t.Fatalf("a slow connection was not closed by the server")
			}
			if i < slowHeaders {
				headerMax = max(headerMax, d)
			} else {
				bodyMax = max(bodyMax, d)
			}
		case <-deadline:
			t.Fatalf("after 75 s, %d slow connections are still open", slowHeaders+slowBodies-i)
		}
	}
	cancel()
	wg.Wait()
	t.Logf("slow connections closed by the server: first %d by %s, all by %s", slowHeaders, headerMax.Round(time.Millisecond), bodyMax.Round(time.Millisecond))
	if headerMax > 20*time.Second {
		t.Errorf("slow-header connections lasted up to %s; ReadHeaderTimeout should close them by ~10 s", headerMax)
	}

	rss, err := a.PeakRSS()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("peak RSS over the drill: %d MB", rss>>20)
	if rss > 150<<20 {
		t.Errorf("peak RSS %d MB over the drill, want < 150 MB", rss>>20)
	}
	if p, err := harness.NewBrowser(a.URL("")).Get("/healthz"); err != nil || p.Status != http.StatusOK {
		t.Errorf("/healthz after the drill: %v", err)
	}
}

// dripUntilClosed writes one byte a second until the server closes the
// connection, and returns how long after start that happened (-1 if ctx
// ended first).
func dripUntilClosed(ctx context.Context, conn net.Conn, start time.Time) time.Duration {
	gone := make(chan struct{})
	go func() {
		// The server either answers (408/400) then closes, or just closes.
		_, _ = io.Copy(io.Discard, bufio.NewReader(conn))
		close(gone)
	}()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-gone:
			return time.Since(start)
		case <-ctx.Done():
			return -1
		case <-tick.C:
			if _, err := conn.Write([]byte("x")); err != nil {
				<-gone
				return time.Since(start)
			}
		}
	}
}

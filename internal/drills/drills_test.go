//go:build drills

// Package drills holds the fault drills of `make drills`: each one runs the
// real agora binary, breaks something (kill -9, SMTP server down or
// refusing, database stopped, slow or oversized clients) and checks that
// nothing was lost, nothing was done twice, and Agora recovers by itself.
// They are built only with -tags drills (they take about a minute).
package drills

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dnum-sociaux/agora/internal/harness"
	"github.com/dnum-sociaux/agora/models"
)

var agoraBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "agora-drills-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	agoraBin, err = harness.Build(context.Background(), dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// startAgora runs the binary in t's temporary folder; on failure its log is
// printed. The process is killed at the end of the test.
func startAgora(t *testing.T, env map[string]string) *harness.Agora {
	t.Helper()
	a, err := harness.NewAgora(agoraBin, filepath.Join(t.TempDir(), "agora"), env)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = a.Kill()
		if t.Failed() {
			t.Logf("agora log (tail):\n%s", tail(a.Logs(), 6000))
		}
	})
	if err := a.WaitReady(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	return a
}

// openStore opens the database of a run, beside the running server.
func openStore(t *testing.T, dsn string) *models.Store {
	t.Helper()
	s, err := models.Open(context.Background(), dsn, models.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// outbox lists every message of kind, oldest first.
func outbox(t *testing.T, s *models.Store, kind string) []models.OutboxMessage {
	t.Helper()
	var all []models.OutboxMessage
	for offset := 0; ; offset += 1000 {
		page, _, err := s.ListOutbox(context.Background(), models.OutboxFilter{Kind: kind, Limit: 1000, Offset: offset})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if len(page) < 1000 {
			break
		}
	}
	// ListOutbox is newest first.
	for i, j := 0, len(all)-1; i < j; i, j = i+1, j-1 {
		all[i], all[j] = all[j], all[i]
	}
	return all
}

// eventually polls cond every 50 ms until it holds or timeout passes.
func eventually(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return cond()
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

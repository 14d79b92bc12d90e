// Package harness runs the real Agora binary for the load generator
// (cmd/agora-bench) and the fault drills (internal/drills): build it, start
// it on a temporary database, wait until it is ready, kill it, read its
// memory, talk to it like a browser, and stand up a real SMTP server and a
// throwaway PostgreSQL cluster beside it.
package harness

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// RepoRoot returns the folder holding go.mod, walking up from the working
// directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// Build compiles ./cmd/agora into dir and returns the binary's path.
func Build(ctx context.Context, dir string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "bin", "agora")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, "./cmd/agora")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/agora: %v\n%s", err, out)
	}
	return bin, nil
}

// FreeAddr returns a loopback address with a port nobody listens on now.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// Agora is one run of the real binary.
type Agora struct {
	Bin  string
	Dir  string            // its own folder: database, secret key, logs
	Addr string            // 127.0.0.1:port
	Env  map[string]string // AGORA_* variables on top of the defaults below

	cmd       *exec.Cmd
	exited    chan struct{}
	exitErr   error
	mu        sync.Mutex
	stdout    []string
	adminLink string
	logFile   *os.File
}

// NewAgora prepares a run in dir on a fresh port with a SQLite database in
// dir, emails captured, rate limits off; env overrides any variable.
func NewAgora(bin, dir string, env map[string]string) (*Agora, error) {
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	a := &Agora{Bin: bin, Dir: dir, Addr: addr, Env: map[string]string{
		"AGORA_ENV":          "development",
		"AGORA_ADDR":         addr,
		"AGORA_BASE_URL":     "http://" + addr,
		"AGORA_DATABASE_URL": "sqlite://" + filepath.Join(dir, "agora.db"),
		"AGORA_DATA_DIR":     filepath.Join(dir, "data"),
		"AGORA_SECRET_KEY":   "harness-secret-key-harness-secret-key",
		"AGORA_RATE_LIMIT":   "0",
		"AGORA_LOG_FORMAT":   "json",
	}}
	for k, v := range env {
		a.Env[k] = v
	}
	return a, nil
}

// DatabaseURL is the database this run uses.
func (a *Agora) DatabaseURL() string { return a.Env["AGORA_DATABASE_URL"] }

// URL is the absolute URL of path on this run.
func (a *Agora) URL(path string) string { return "http://" + a.Addr + path }

// Start launches the process (stdout is kept in memory, the JSON log goes to
// Dir/agora-N.log). It does not wait for readiness.
func (a *Agora) Start() error {
	if a.cmd != nil && a.Running() {
		return errors.New("agora is already running")
	}
	env := make([]string, 0, len(a.Env)+8)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AGORA_") {
			env = append(env, kv)
		}
	}
	for k, v := range a.Env {
		env = append(env, k+"="+v)
	}
	if err := os.MkdirAll(a.Dir, 0o750); err != nil {
		return err
	}
	n := 1
	for ; ; n++ {
		if _, err := os.Stat(a.logPath(n)); errors.Is(err, os.ErrNotExist) {
			break
		}
	}
	logFile, err := os.Create(a.logPath(n))
	if err != nil {
		return err
	}
	cmd := exec.Command(a.Bin, "serve")
	cmd.Env = env
	cmd.Dir = a.Dir
	cmd.Stderr = logFile
	out, err := cmd.StdoutPipe()
	if err != nil {
		logFile.Close()
		return err
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("start %s: %w", a.Bin, err)
	}
	a.cmd, a.logFile, a.exited = cmd, logFile, make(chan struct{})
	go a.readStdout(out)
	go func() {
		a.exitErr = cmd.Wait()
		logFile.Close()
		close(a.exited)
	}()
	return nil
}

func (a *Agora) logPath(n int) string { return filepath.Join(a.Dir, fmt.Sprintf("agora-%d.log", n)) }

var adminLinkRE = regexp.MustCompile(`https?://\S+/login/[A-Za-z0-9_-]{43}`)

func (a *Agora) readStdout(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		a.mu.Lock()
		a.stdout = append(a.stdout, line)
		if m := adminLinkRE.FindString(line); m != "" && a.adminLink == "" {
			a.adminLink = m
		}
		a.mu.Unlock()
	}
}

// AdminLink is the one-time login link the first start printed, if any.
func (a *Agora) AdminLink() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.adminLink
}

// Logs returns every log line written so far by every start of this run.
func (a *Agora) Logs() string {
	var b strings.Builder
	for n := 1; ; n++ {
		data, err := os.ReadFile(a.logPath(n))
		if err != nil {
			break
		}
		b.Write(data)
	}
	return b.String()
}

// PID is the process id of the running server.
func (a *Agora) PID() int { return a.cmd.Process.Pid }

// Running tells whether the process has not exited.
func (a *Agora) Running() bool {
	select {
	case <-a.exited:
		return false
	default:
		return true
	}
}

// WaitReady polls /readyz every 2 ms until it answers 200.
func (a *Agora) WaitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		if !a.Running() {
			return fmt.Errorf("agora exited before being ready (%v); log:\n%s", a.exitErr, tail(a.Logs(), 2000))
		}
		resp, err := client.Get(a.URL("/readyz"))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	return fmt.Errorf("agora not ready after %s; log:\n%s", timeout, tail(a.Logs(), 2000))
}

// StartReady starts the process and returns the time from exec to the first
// 200 of /readyz.
func (a *Agora) StartReady(timeout time.Duration) (time.Duration, error) {
	t0 := time.Now()
	if err := a.Start(); err != nil {
		return 0, err
	}
	if err := a.WaitReady(timeout); err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}

// Kill ends the process with SIGKILL (no shutdown at all) and waits for it.
func (a *Agora) Kill() error {
	if !a.Running() {
		return nil
	}
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	<-a.exited
	return nil
}

// Stop asks for a clean shutdown (SIGTERM) and waits up to timeout, then kills.
func (a *Agora) Stop(timeout time.Duration) error {
	if a.cmd == nil || !a.Running() {
		return nil
	}
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.exited:
		return nil
	case <-time.After(timeout):
		_ = a.Kill()
		return fmt.Errorf("agora did not stop within %s after SIGTERM", timeout)
	}
}

// PeakRSS is the process's high-water resident memory (VmHWM), in bytes.
func (a *Agora) PeakRSS() (int64, error) { return procStatus(a.PID(), "VmHWM") }

// RSS is the process's resident memory now (VmRSS), in bytes.
func (a *Agora) RSS() (int64, error) { return procStatus(a.PID(), "VmRSS") }

// ResetPeakRSS sets the high-water mark back to the current RSS (Linux
// clear_refs 5), so that the next PeakRSS is the peak of what follows.
func (a *Agora) ResetPeakRSS() error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", a.PID()), []byte("5"), 0)
}

func procStatus(pid int, key string) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			f := strings.Fields(v)
			if len(f) == 0 {
				break
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("%s not in /proc/%d/status", key, pid)
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

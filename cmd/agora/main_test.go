package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dnum-sociaux/agora/internal/config"
	"github.com/dnum-sociaux/agora/models"
)

// env is a configuration for one test: its own data folder and database.
func testEnv(t *testing.T, kv ...string) func(string) string {
	t.Helper()
	dir := t.TempDir()
	vars := map[string]string{
		"AGORA_DATA_DIR":     filepath.Join(dir, "data"),
		"AGORA_DATABASE_URL": "sqlite://" + filepath.Join(dir, "data", "agora.db"),
		"AGORA_ADDR":         "127.0.0.1:0",
		"AGORA_LOG_FORMAT":   "json",
	}
	for i := 0; i+1 < len(kv); i += 2 {
		vars[kv[i]] = kv[i+1]
	}
	return func(k string) string { return vars[k] }
}

func runCmd(t *testing.T, getenv func(string) string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, getenv, &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestHelpListsEveryVariable(t *testing.T) {
	out, _, err := runCmd(t, testEnv(t), "help")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range config.Vars {
		if !strings.Contains(out, v.Name) {
			t.Errorf("help does not list %s", v.Name)
		}
		if !strings.Contains(string(readme), "`"+v.Name+"`") {
			t.Errorf("README does not document %s", v.Name)
		}
	}
	for _, cmd := range []string{"serve", "migrate up|down|status", "user create --email E --name N --role admin|organiser|agent", "version"} {
		if !strings.Contains(out, cmd) {
			t.Errorf("help does not show %q", cmd)
		}
	}
	if _, _, err := runCmd(t, testEnv(t), "frobnicate"); !errors.As(err, new(usageError)) {
		t.Fatalf("unknown command: %v", err)
	}
}

func TestVersion(t *testing.T) {
	out, _, err := runCmd(t, testEnv(t), "version")
	if err != nil || !strings.HasPrefix(out, "agora "+version) {
		t.Fatalf("version: %q %v", out, err)
	}
}

// openTestStore opens the database of a test environment.
func openTestStore(t *testing.T, getenv func(string) string) *models.Store {
	t.Helper()
	s, err := models.Open(context.Background(), getenv("AGORA_DATABASE_URL"), models.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestUserCreate(t *testing.T) {
	env := testEnv(t)
	out, _, err := runCmd(t, env, "user", "create", "--email", "Marie.Curie@sg.social.gouv.fr", "--name", "Marie Curie", "--role", "admin", "--direction", "dgs")
	if err != nil || !strings.HasPrefix(out, "created admin marie.curie@sg.social.gouv.fr") {
		t.Fatalf("user create: %q %v", out, err)
	}
	// Without a mail server the new account gets a login link.
	link := regexp.MustCompile(`http://localhost:8080/login/[A-Za-z0-9_-]{43}`).FindString(out)
	if link == "" {
		t.Fatalf("no login link printed:\n%s", out)
	}
	s := openTestStore(t, env)
	u, err := s.UserByEmail(context.Background(), "marie.curie@sg.social.gouv.fr")
	if err != nil || u.Role != models.RoleAdmin || u.Name != "Marie Curie" || u.DirectionCode != "DGS" {
		t.Fatalf("user: %+v %v", u, err)
	}
	if _, err := s.CheckLoginToken(context.Background(), link[strings.LastIndex(link, "/")+1:]); err != nil {
		t.Fatalf("printed link: %v", err)
	}
	if e, n, _ := s.ListAudit(context.Background(), models.AuditFilter{Action: "user.create"}); n != 1 || e[0].ActorEmail != "cli" {
		t.Fatalf("audit: %+v", e)
	}

	cases := []struct {
		name  string
		args  []string
		usage bool
		want  string
	}{
		{"duplicate", []string{"--email", "MARIE.CURIE@sg.social.gouv.fr", "--name", "Autre", "--role", "agent"}, false, "already exists"},
		{"bad role", []string{"--email", "b@example.org", "--name", "B", "--role", "chef"}, true, "--role"},
		{"bad email", []string{"--email", "pas-une-adresse", "--name", "B", "--role", "agent"}, true, "--email"},
		{"no email", []string{"--name", "B", "--role", "agent"}, true, "--email"},
		{"header injection in name", []string{"--email", "b@example.org", "--name", "B\r\nBcc: x@y.example", "--role", "agent"}, true, "--name"},
		{"unknown direction", []string{"--email", "b@example.org", "--name", "B", "--role", "agent", "--direction", "ZZZ"}, false, "--direction"},
		{"unknown flag", []string{"--mail", "b@example.org"}, true, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := runCmd(t, env, append([]string{"user", "create"}, c.args...)...)
			if err == nil || !strings.Contains(err.Error(), c.want) || errors.As(err, new(usageError)) != c.usage {
				t.Fatalf("err = %v, want one mentioning %q (usage %v)", err, c.want, c.usage)
			}
			if strings.Contains(errorLine(err), "\n") {
				t.Fatalf("error on several lines: %q", err)
			}
		})
	}
	if _, n, _ := s.ListUsers(context.Background(), models.UserFilter{}); n != 1 {
		t.Fatalf("%d users after refused creations", n)
	}
}

func TestMigrateCommands(t *testing.T) {
	env := testEnv(t)
	out, _, err := runCmd(t, env, "migrate", "status")
	if err != nil || !strings.Contains(out, "pending") || strings.Contains(out, "applied") {
		t.Fatalf("status of a new database: %q %v", out, err)
	}
	// One migration per number: SQL files (a SQLite/PostgreSQL twin is one)
	// and 0003, written in Go (models/migration_0003.go).
	sqlFiles, _ := filepath.Glob("../../models/migrations/*.sql")
	versions := map[string]bool{"0003": true}
	for _, f := range sqlFiles {
		versions[filepath.Base(f)[:4]] = true
	}
	files := make([]string, 0, len(versions))
	for v := range versions {
		files = append(files, v)
	}
	out, _, err = runCmd(t, env, "migrate", "up")
	if err != nil || out != fmt.Sprintf("%d migration(s) applied\n", len(files)) {
		t.Fatalf("up: %q %v (%d files)", out, err, len(files))
	}
	out, _, _ = runCmd(t, env, "migrate", "status")
	if strings.Count(out, "applied") != len(files) || strings.Contains(out, "pending") {
		t.Fatalf("status after up:\n%s", out)
	}
	out, _, err = runCmd(t, env, "migrate", "down")
	if err != nil || !strings.Contains(out, "rolled back") {
		t.Fatalf("down: %q %v", out, err)
	}
	out, _, _ = runCmd(t, env, "migrate", "status")
	if strings.Count(out, "pending") != 1 || strings.Count(out, "applied") != len(files)-1 {
		t.Fatalf("status after down:\n%s", out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !strings.HasPrefix(lines[len(lines)-1], "pending") {
		t.Fatalf("the last migration should be the pending one:\n%s", out)
	}
	if out, _, err = runCmd(t, env, "migrate", "up"); err != nil || out != "1 migration(s) applied\n" {
		t.Fatalf("up again: %q %v", out, err)
	}
	if _, _, err := runCmd(t, env, "migrate", "sideways"); !errors.As(err, new(usageError)) {
		t.Fatalf("unknown migrate action: %v", err)
	}
}

// A bad value stops the start with one line naming the variable.
func TestBadConfigurationStops(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cases := []struct{ name, value string }{
		{"AGORA_ENV", "staging"},
		{"AGORA_BASE_URL", "agora.example.gouv.fr"},
		{"AGORA_DATABASE_URL", "mysql://x"},
		{"AGORA_DATABASE_URL", "postgres://nobody@127.0.0.1:1/none?connect_timeout=2"},
		{"AGORA_SMTP_URL", "http://mail.example"},
		{"AGORA_SMTP_URL", "smtp://mail.example:587?tls=maybe"},
		{"AGORA_MAIL_FROM", "pas une adresse"},
		{"AGORA_ALLOWED_EMAIL_DOMAINS", "gouv.fr, pas un domaine"},
		{"AGORA_SECRET_KEY", "court"},
		{"AGORA_LOG_FORMAT", "xml"},
		{"AGORA_LOG_LEVEL", "bavard"},
		{"AGORA_RATE_LIMIT", "beaucoup"},
		{"AGORA_MAX_BODY_BYTES", "12"},
		{"AGORA_MAGIC_LINK", "peut-être"},
		{"AGORA_SESSION_IDLE", "12"},
		{"AGORA_SESSION_MAX", "1m"},
		{"AGORA_ADDR", busy.Addr().String()},
	}
	for _, c := range cases {
		t.Run(c.name+"="+c.value, func(t *testing.T) {
			_, _, err := runCmd(t, testEnv(t, c.name, c.value), "serve")
			if err == nil {
				t.Fatal("started")
			}
			if msg := errorLine(err); !strings.HasPrefix(msg, "agora: "+c.name+":") || strings.Contains(msg, "\n") {
				t.Fatalf("error %q, want one line starting with %s:", msg, c.name)
			}
		})
	}
	// Production refuses to start without what it requires.
	for _, name := range []string{"AGORA_SECRET_KEY", "AGORA_ALLOWED_EMAIL_DOMAINS"} {
		env := []string{"AGORA_ENV", "production", "AGORA_SECRET_KEY", strings.Repeat("s", 32), "AGORA_ALLOWED_EMAIL_DOMAINS", "gouv.fr", name, ""}
		if _, _, err := runCmd(t, testEnv(t, env...), "serve"); err == nil || !strings.HasPrefix(err.Error(), name+":") {
			t.Errorf("production without %s: %v", name, err)
		}
	}
}

// syncWriter is a buffer written by the server's goroutines.
type syncWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// startServe runs `agora serve` until the returned cancel is called; it
// waits for the "agora ready" log line and returns the address.
func startServe(t *testing.T, env func(string) string) (addr string, stdout, stderr *syncWriter, cancel func(), done chan error) {
	t.Helper()
	stdout, stderr = &syncWriter{}, &syncWriter{}
	ctx, cancel := context.WithCancel(context.Background())
	done = make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve"}, env, stdout, stderr) }()
	deadline := time.Now().Add(20 * time.Second)
	for addr == "" {
		select {
		case err := <-done:
			t.Fatalf("serve stopped: %v\n%s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no ready line:\n%s", stderr.String())
		}
		sc := bufio.NewScanner(strings.NewReader(stderr.String()))
		for sc.Scan() {
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "agora ready" {
				addr = line.Addr
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Cleanup(cancel)
	return addr, stdout, stderr, cancel, done
}

// The first start prints a one-time admin link that works; serve stops on
// its context after finishing the request in flight, stops the workers,
// then returns; a second start prints a new link while the admin has not
// logged in yet.
func TestServeFirstStartAndGracefulShutdown(t *testing.T) {
	env := testEnv(t)
	addr, stdout, stderr, cancel, done := startServe(t, env)
	link := regexp.MustCompile(`http://localhost:8080(/login/[A-Za-z0-9_-]{43})`).FindStringSubmatch(stdout.String())
	if link == nil || !strings.Contains(stdout.String(), "admin@localhost") {
		t.Fatalf("no admin link on first start:\n%s", stdout.String())
	}
	resp, err := http.Get("http://" + addr + link[1])
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Se connecter") {
		t.Fatalf("admin link: %d", resp.StatusCode)
	}
	for _, probe := range []string{"/healthz", "/readyz"} {
		if st := status(t, "http://"+addr+probe); st != 200 {
			t.Fatalf("%s: %d", probe, st)
		}
	}

	// user create works while the server runs (same SQLite file).
	if out, _, err := runCmd(t, env, "user", "create", "--email", "chef@example.org", "--name", "Chef", "--role", "admin"); err != nil || !strings.HasPrefix(out, "created admin") {
		t.Fatalf("user create while serving: %q %v", out, err)
	}

	// A migration rolled back by hand makes the instance not ready.
	if _, _, err := runCmd(t, env, "migrate", "down"); err != nil {
		t.Fatal(err)
	}
	if st := status(t, "http://"+addr+"/readyz"); st != http.StatusServiceUnavailable {
		t.Fatalf("/readyz with a pending migration: %d", st)
	}
	if _, _, err := runCmd(t, env, "migrate", "up"); err != nil {
		t.Fatal(err)
	}
	if st := status(t, "http://"+addr+"/readyz"); st != http.StatusOK {
		t.Fatalf("/readyz after migrate up: %d", st)
	}

	// A request in flight: its handler runs and waits for the body. With
	// "Expect: 100-continue" the server says when the handler starts reading.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(conn)
	form := "email=a%40example.org&csrf_token=x"
	fmt.Fprintf(conn, "POST /login HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", addr, len(form))
	if r, err := http.ReadResponse(br, nil); err != nil || r.StatusCode != http.StatusContinue {
		t.Fatalf("no 100 Continue: %v %v", r, err)
	}

	cancel()
	// The server stops accepting…
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("still accepting connections after shutdown began")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("serve returned before the request in flight finished: %v", err)
	default:
	}
	// …and answers the request in flight completely.
	if _, err := conn.Write([]byte(form)); err != nil {
		t.Fatal(err)
	}
	r, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("request in flight lost: %v", err)
	}
	b, _ := io.ReadAll(r.Body)
	if r.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "</html>") {
		t.Fatalf("request in flight: %d (%d bytes)", r.StatusCode, len(b))
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not return after shutdown")
	}
	logs := stderr.String()
	if !strings.Contains(logs, `"msg":"shutting down"`) || !strings.Contains(logs, `"msg":"stopped"`) {
		t.Fatalf("shutdown not logged:\n%s", logs)
	}

	// Second start: the admin never logged in, so a fresh link is printed.
	_, stdout2, _, cancel2, done2 := startServe(t, env)
	if !strings.Contains(stdout2.String(), "/login/") || strings.Contains(stdout2.String(), "Premier démarrage") {
		t.Fatalf("second start:\n%s", stdout2.String())
	}
	cancel2()
	if err := <-done2; err != nil {
		t.Fatal(err)
	}
	s := openTestStore(t, env)
	if n, _ := s.CountAdmins(context.Background()); n != 2 {
		t.Fatalf("%d admins, want admin@localhost and the one made while serving", n)
	}
}

// In production: JSON logs, no admin made up, no link printed.
func TestServeProduction(t *testing.T) {
	env := testEnv(t, "AGORA_ENV", "production", "AGORA_SECRET_KEY", strings.Repeat("s", 32),
		"AGORA_ALLOWED_EMAIL_DOMAINS", "social.gouv.fr", "AGORA_LOG_FORMAT", "", "AGORA_BASE_URL", "https://agora.example.gouv.fr")
	addr, stdout, stderr, cancel, done := startServe(t, env)
	if stdout.String() != "" {
		t.Fatalf("production printed:\n%s", stdout.String())
	}
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Strict-Transport-Security") == "" {
		t.Fatal("no HSTS in production on https")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(strings.NewReader(stderr.String()))
	n := 0
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("production log line is not JSON: %q", sc.Text())
		}
		if m["msg"] == "request" && m["request_id"] == nil {
			t.Fatalf("access line without request_id: %v", m)
		}
		n++
	}
	if n < 3 {
		t.Fatalf("%d log lines", n)
	}
	s := openTestStore(t, env)
	if n, _ := s.CountAdmins(context.Background()); n != 0 {
		t.Fatalf("production made %d admins", n)
	}
}

func status(t *testing.T, url string) int {
	t.Helper()
	r, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, r.Body)
	r.Body.Close()
	return r.StatusCode
}

package handlers_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/dnum-sociaux/agora/assets"
	"github.com/dnum-sociaux/agora/handlers"
	"github.com/dnum-sociaux/agora/internal/config"
	"github.com/dnum-sociaux/agora/internal/mail"
	"github.com/dnum-sociaux/agora/internal/render"
	"github.com/dnum-sociaux/agora/internal/testutil"
	"github.com/dnum-sociaux/agora/models"
	"github.com/dnum-sociaux/agora/templates"
)

// testServer is Agora's real router over a real SQLite store, with a fixed
// clock and emails captured in the outbox.
type testServer struct {
	*httptest.Server
	t      *testing.T
	Store  *models.Store
	Clock  *testutil.Clock
	Config *config.Config
	Logs   *syncBuffer // what the server logged, as JSON lines
}

// syncBuffer is a buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string { b.mu.Lock(); defer b.mu.Unlock(); return b.b.String() }

// newTestServer starts Agora; env overrides configuration variables.
func newTestServer(t *testing.T, env ...string) *testServer {
	t.Helper()
	clock := testutil.NewClock()
	store := testutil.SQLite(t, clock.Now)
	vars := map[string]string{"AGORA_SECRET_KEY": strings.Repeat("k", 32), "AGORA_RATE_LIMIT": "0"}
	for i := 0; i+1 < len(env); i += 2 {
		vars[env[i]] = env[i+1]
	}
	cfg, err := config.Load(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	static, err := assets.New()
	if err != nil {
		t.Fatal(err)
	}
	r, err := render.New(templates.FS, map[string]any{"asset": static.URL})
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	srv := handlers.New(handlers.Deps{
		Config: &cfg, Store: store, Render: r, Assets: static,
		Mail: mail.NewComposer(r, cfg.BaseURL.String()), Now: clock.Now,
		Logger: slog.New(slog.NewJSONHandler(logs, nil)),
	})
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return &testServer{Server: ts, t: t, Store: store, Clock: clock, Config: &cfg, Logs: logs}
}

// client is a browser: a cookie jar, no automatic redirects.
type client struct {
	ts   *testServer
	http *http.Client
}

func (ts *testServer) newClient() *client {
	jar, _ := cookiejar.New(nil)
	return &client{ts: ts, http: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// page is a fetched response with its body read.
type page struct {
	Status int
	Header http.Header
	Body   string
}

func (c *client) do(req *http.Request) page {
	c.ts.t.Helper()
	resp, err := c.http.Do(req)
	if err != nil {
		c.ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return page{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

func (c *client) get(path string) page {
	c.ts.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.ts.URL+path, nil)
	return c.do(req)
}

var csrfInput = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// csrf returns the form token of this browser (loading a page if needed).
func (c *client) csrf() string {
	c.ts.t.Helper()
	u, _ := url.Parse(c.ts.URL)
	for _, ck := range c.http.Jar.Cookies(u) {
		if ck.Name == "agora_csrf" {
			return ck.Value
		}
	}
	p := c.get("/login")
	m := csrfInput.FindStringSubmatch(p.Body)
	if m == nil {
		c.ts.t.Fatalf("no CSRF token on /login:\n%s", p.Body)
	}
	return m[1]
}

// post submits a form with this browser's CSRF token (unless the form has one).
func (c *client) post(path string, form url.Values) page {
	c.ts.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf_token"]; !ok {
		form.Set("csrf_token", c.csrf())
	}
	req, _ := http.NewRequest(http.MethodPost, c.ts.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

var loginLink = regexp.MustCompile(`/login/([A-Za-z0-9_-]{43})`)

// lastLoginLink reads the newest login email to email from the outbox.
func (ts *testServer) lastLoginLink(email string) string {
	ts.t.Helper()
	msgs, _, err := ts.Store.ListOutbox(context.Background(), models.OutboxFilter{Recipient: email, Kind: "login", Limit: 1})
	if err != nil || len(msgs) == 0 {
		ts.t.Fatalf("no login email for %s (err %v)", email, err)
	}
	m := loginLink.FindString(msgs[0].TextBody)
	if m == "" {
		ts.t.Fatalf("no link in login email:\n%s", msgs[0].TextBody)
	}
	return m
}

// login logs this browser in as email through the magic link, creating the
// account (with a name and direction) when needed.
func (c *client) login(email string) {
	c.ts.t.Helper()
	if p := c.post("/login", url.Values{"email": {email}}); p.Status != http.StatusSeeOther {
		c.ts.t.Fatalf("POST /login: %d\n%s", p.Status, p.Body)
	}
	link := c.ts.lastLoginLink(email)
	p := c.post(link, nil)
	if p.Status != http.StatusSeeOther {
		c.ts.t.Fatalf("POST %s: %d\n%s", link, p.Status, p.Body)
	}
	if strings.HasPrefix(p.Header.Get("Location"), "/welcome") {
		if p := c.post("/welcome", url.Values{"name": {"Agent " + email}, "direction": {"DNUM"}}); p.Status != http.StatusSeeOther {
			c.ts.t.Fatalf("POST /welcome: %d\n%s", p.Status, p.Body)
		}
	}
}

// createUser adds an account directly.
func (ts *testServer) createUser(email string, role models.Role) models.User {
	ts.t.Helper()
	var u models.User
	testutil.MustTx(ts.t, ts.Store, func(tx *models.Tx) error {
		var err error
		u, err = tx.CreateUser(context.Background(), models.NewUser{Email: email, Name: "Nom " + email, DirectionCode: "DNUM", Role: role})
		return err
	})
	return u
}

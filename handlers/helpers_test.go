package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
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
	Logs   *logBuffer // what the server logged, as JSON lines
	Srv    *handlers.Server
	// apiSpec is the OpenAPI document, loaded on the first API call.
	apiSpec *apiSpec
}

// serverOption changes how newTestServerWith starts Agora.
type serverOption func(*serverSetup)

type serverSetup struct {
	env   map[string]string
	ready func(context.Context) error
}

// withEnv sets configuration variables (name, value, name, value…).
func withEnv(kv ...string) serverOption {
	return func(s *serverSetup) {
		for i := 0; i+1 < len(kv); i += 2 {
			s.env[kv[i]] = kv[i+1]
		}
	}
}

// newTestServer starts Agora; env overrides configuration variables.
func newTestServer(t *testing.T, env ...string) *testServer {
	t.Helper()
	return newTestServerWith(t, withEnv(env...))
}

func newTestServerWith(t *testing.T, opts ...serverOption) *testServer {
	t.Helper()
	setup := serverSetup{env: map[string]string{}}
	for _, o := range opts {
		o(&setup)
	}
	clock := testutil.NewClock()
	store := testutil.SQLite(t, clock.Now)
	ts := &testServer{t: t, Store: store, Clock: clock}
	ts.Logs = &logBuffer{}
	logger := slog.New(slog.NewJSONHandler(ts.Logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ts.Srv, ts.Config = newHandler(t, store, setup.env, func(d *handlers.Deps) {
		d.Now, d.Logger, d.Ready = clock.Now, logger, setup.ready
	})
	ts.Server = httptest.NewServer(ts.Srv)
	t.Cleanup(ts.Close)
	return ts
}

// newHandler is Agora's real handler over store (tests, fuzzing and
// benchmarks), configured by env over a secret key and no rate limit, with
// the real templates, assets and mail composer; deps, if not nil, sets the
// other dependencies.
func newHandler(tb testing.TB, store *models.Store, env map[string]string, deps func(*handlers.Deps)) (*handlers.Server, *config.Config) {
	tb.Helper()
	vars := map[string]string{"AGORA_SECRET_KEY": strings.Repeat("k", 32), "AGORA_RATE_LIMIT": "0"}
	for k, v := range env {
		vars[k] = v
	}
	cfg, err := config.Load(func(k string) string { return vars[k] })
	if err != nil {
		tb.Fatal(err)
	}
	static, err := assets.New()
	if err != nil {
		tb.Fatal(err)
	}
	r, err := render.New(templates.FS, map[string]any{"asset": static.URL})
	if err != nil {
		tb.Fatal(err)
	}
	d := handlers.Deps{Config: &cfg, Store: store, Render: r, Assets: static, Mail: mail.NewComposer(r, cfg.BaseURL.String())}
	if deps != nil {
		deps(&d)
	}
	return handlers.New(d), &cfg
}

// logBuffer collects log output written from several goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Lines returns every JSON log line decoded.
func (b *logBuffer) Lines(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		out = append(out, m)
	}
	return out
}

// String is the raw log output.
func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
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

// postRaw sends a body as is, with headers (no CSRF token added).
func (c *client) postRaw(path, contentType string, body io.Reader, header map[string]string) page {
	c.ts.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.ts.URL+path, body)
	req.Header.Set("Content-Type", contentType)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return c.do(req)
}

// cookie returns this browser's cookie called name, or nil.
func (c *client) cookie(name string) *http.Cookie {
	u, _ := url.Parse(c.ts.URL)
	for _, ck := range c.http.Jar.Cookies(u) {
		if ck.Name == name {
			return ck
		}
	}
	return nil
}

// loginAs creates an account with role and returns a browser logged in with it.
func (ts *testServer) loginAs(email string, role models.Role) (*client, models.User) {
	ts.t.Helper()
	u := ts.createUser(email, role)
	c := ts.newClient()
	c.login(email)
	return c, u
}

var h1Re = regexp.MustCompile(`(?s)<h1[^>]*>(.*?)</h1>`)
var tagRe = regexp.MustCompile(`<[^>]+>`)

// h1 is the text of the page's first heading.
func h1(body string) string {
	m := h1Re.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return strings.Join(strings.Fields(html.UnescapeString(tagRe.ReplaceAllString(m[1], ""))), " ")
}

// fieldError returns the DSFR error message shown under the field id, or "".
func fieldError(body, id string) string {
	re := regexp.MustCompile(`(?s)<p class="fr-error-text" id="` + regexp.QuoteMeta(id) + `-error">(.*?)</p>`)
	m := re.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return strings.TrimSpace(html.UnescapeString(m[1]))
}

// count runs a COUNT(*) query on the test database.
func (ts *testServer) count(query string, args ...any) int {
	ts.t.Helper()
	read, _ := ts.Store.SQL()
	var n int
	if err := read.QueryRow(query, args...).Scan(&n); err != nil {
		ts.t.Fatalf("%s: %v", query, err)
	}
	return n
}

// plainJar keeps every cookie and sends it back whatever its attributes, so
// a test can drive over http a server configured for https (Secure cookies).
type plainJar struct {
	mu      sync.Mutex
	cookies map[string]*http.Cookie
}

func (j *plainJar) SetCookies(_ *url.URL, cs []*http.Cookie) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, c := range cs {
		if c.MaxAge < 0 {
			delete(j.cookies, c.Name)
			continue
		}
		j.cookies[c.Name] = &http.Cookie{Name: c.Name, Value: c.Value}
	}
}

func (j *plainJar) Cookies(*url.URL) []*http.Cookie {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []*http.Cookie
	for _, c := range j.cookies {
		out = append(out, c)
	}
	return out
}

// newPlainClient is a browser that ignores the Secure attribute.
func (ts *testServer) newPlainClient() *client {
	return &client{ts: ts, http: &http.Client{
		Jar:           &plainJar{cookies: map[string]*http.Cookie{}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// setCookies are the cookies a response sets, by name.
func setCookies(p page) map[string]*http.Cookie {
	out := map[string]*http.Cookie{}
	for _, c := range (&http.Response{Header: p.Header}).Cookies() {
		out[c.Name] = c
	}
	return out
}

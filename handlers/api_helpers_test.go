package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/dnum-sociaux/agora/internal/testutil"
	"github.com/dnum-sociaux/agora/models"
)

// apiSpec is the server's own OpenAPI document, used to check every API
// answer a test receives: its status must be documented for the route and
// its body must match the documented schema.
type apiSpec struct {
	raw   []byte
	doc   map[string]any
	comp  *jsonschema.Compiler
	mu    sync.Mutex
	cache map[string]*jsonschema.Schema
	paths []specPath
}

type specPath struct {
	template string
	re       *regexp.Regexp
}

const specURL = "https://agora.test/openapi.json"

func (ts *testServer) spec() *apiSpec {
	ts.t.Helper()
	if ts.apiSpec != nil {
		return ts.apiSpec
	}
	resp, err := http.Get(ts.URL + "/api/v1/openapi.json")
	if err != nil {
		ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		ts.t.Fatalf("GET openapi.json = %d", resp.StatusCode)
	}
	s := &apiSpec{raw: raw, cache: map[string]*jsonschema.Schema{}}
	if err := json.Unmarshal(raw, &s.doc); err != nil {
		ts.t.Fatalf("openapi.json is not JSON: %v", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		ts.t.Fatal(err)
	}
	s.comp = jsonschema.NewCompiler()
	s.comp.DefaultDraft(jsonschema.Draft2020)
	if err := s.comp.AddResource(specURL, inst); err != nil {
		ts.t.Fatal(err)
	}
	for p := range s.doc["paths"].(map[string]any) {
		re := regexp.MustCompile("^" + regexp.MustCompile(`\\\{[a-z_]+\\\}`).ReplaceAllString(regexp.QuoteMeta(p), `[^/]+`) + "$")
		s.paths = append(s.paths, specPath{template: p, re: re})
	}
	ts.apiSpec = s
	return s
}

func pointerEscape(s string) string {
	return url.PathEscape(strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1"))
}

// schema compiles the schema at a JSON pointer of the document.
func (s *apiSpec) schema(t *testing.T, pointer string) *jsonschema.Schema {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if sch, ok := s.cache[pointer]; ok {
		return sch
	}
	sch, err := s.comp.Compile(specURL + "#" + pointer)
	if err != nil {
		t.Fatalf("compile %s: %v", pointer, err)
	}
	s.cache[pointer] = sch
	return sch
}

// check validates one API answer against the document.
func (s *apiSpec) check(t *testing.T, method, path string, status int, header http.Header, body []byte) {
	t.Helper()
	path, _, _ = strings.Cut(path, "?")
	path = strings.TrimPrefix(path, "/api/v1")
	var tmpl string
	for _, p := range s.paths {
		if p.re.MatchString(path) && (tmpl == "" || strings.Count(p.template, "{") < strings.Count(tmpl, "{")) {
			tmpl = p.template
		}
	}
	if tmpl == "" {
		if status != http.StatusNotFound && status != http.StatusMethodNotAllowed {
			t.Fatalf("%s %s answered %d but the path is not in the OpenAPI document", method, path, status)
		}
		return
	}
	op, ok := s.doc["paths"].(map[string]any)[tmpl].(map[string]any)[strings.ToLower(method)].(map[string]any)
	if !ok {
		if status != http.StatusMethodNotAllowed {
			t.Fatalf("%s %s answered %d but the method is not documented", method, tmpl, status)
		}
		return
	}
	resp, ok := op["responses"].(map[string]any)[strconv.Itoa(status)].(map[string]any)
	if !ok {
		t.Fatalf("%s %s answered %d, which the OpenAPI document does not list\n%s", method, tmpl, status, body)
	}
	content, _ := resp["content"].(map[string]any)
	if len(content) == 0 {
		if len(bytes.TrimSpace(body)) != 0 {
			t.Fatalf("%s %s %d: documented without a body, answered %q", method, tmpl, status, body)
		}
		return
	}
	mt, _, _ := mime.ParseMediaType(header.Get("Content-Type"))
	if _, ok := content[mt]; !ok {
		t.Fatalf("%s %s %d: Content-Type %q not documented", method, tmpl, status, mt)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("%s %s %d: body is not JSON: %v\n%s", method, tmpl, status, err, body)
	}
	ptr := "/paths/" + pointerEscape(tmpl) + "/" + strings.ToLower(method) + "/responses/" + strconv.Itoa(status) + "/content/" + pointerEscape(mt) + "/schema"
	if err := s.schema(t, ptr).Validate(inst); err != nil {
		t.Fatalf("%s %s %d: body does not match the OpenAPI schema: %v\n%s", method, tmpl, status, err, body)
	}
}

// apiClient calls the API with one key.
type apiClient struct {
	ts  *testServer
	key string
}

// apiResp is an API answer.
type apiResp struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v.
func (r apiResp) JSON(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// Problem decodes a problem detail.
func (r apiResp) Problem(t *testing.T) problem {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json\n%s", ct, r.Body)
	}
	var p problem
	r.JSON(t, &p)
	if p.Status != r.Status || p.Detail == "" || p.Title == "" || p.RequestID != r.Header.Get("X-Request-ID") {
		t.Fatalf("problem = %+v (status %d)", p, r.Status)
	}
	return p
}

type problem struct {
	Type, Title, Detail, Instance string
	Status                        int
	RequestID                     string `json:"request_id"`
	Errors                        []struct{ Field, Detail string }
}

// field returns the detail of one field error ("" when absent).
func (p problem) field(name string) string {
	for _, e := range p.Errors {
		if e.Field == name {
			return e.Detail
		}
	}
	return ""
}

func (ts *testServer) api(key string) *apiClient { return &apiClient{ts: ts, key: key} }

// call sends a request; body may be nil, a string (sent as is) or a value
// (sent as JSON). Extra headers come in pairs.
func (a *apiClient) call(method, path string, body any, headers ...string) apiResp {
	a.ts.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		r = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, a.ts.URL+path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.key != "" {
		req.Header.Set("Authorization", "Bearer "+a.key)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a.ts.spec().check(a.ts.t, method, path, resp.StatusCode, resp.Header, b)
	return apiResp{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

func (a *apiClient) get(path string) apiResp {
	a.ts.t.Helper()
	return a.call(http.MethodGet, path, nil)
}

// mustStatus fails unless r has status want.
func (r apiResp) must(t *testing.T, want int) apiResp {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status %d, want %d\n%s", r.Status, want, r.Body)
	}
	return r
}

// apiKey makes a key for u directly in the store.
func (ts *testServer) apiKey(u models.User, name string) string {
	ts.t.Helper()
	var secret string
	testutil.MustTx(ts.t, ts.Store, func(tx *models.Tx) error {
		var err error
		_, secret, err = tx.CreateAPIKey(context.Background(), u.ID, name)
		return err
	})
	return secret
}

var _ = fmt.Sprint

package assets

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
)

func newAssets(t *testing.T) *Assets {
	t.Helper()
	a, err := New()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

func get(t *testing.T, h http.Handler, target string, header map[string]string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, res *http.Response) []byte {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVersionIsStableAndShapedForURLs(t *testing.T) {
	a, b := newAssets(t), newAssets(t)
	if a.Version() != b.Version() {
		t.Fatalf("version changed between two starts: %s, %s", a.Version(), b.Version())
	}
	if !regexp.MustCompile(`^[0-9a-f]{12}$`).MatchString(a.Version()) {
		t.Fatalf("version %q is not 12 hex digits", a.Version())
	}
	want := "/assets/" + a.Version() + "/dsfr/dsfr.min.css"
	if got := a.URL("dsfr/dsfr.min.css"); got != want {
		t.Errorf("URL = %q, want %q", got, want)
	}
	if got := a.URL("/dsfr/dsfr.min.css"); got != want {
		t.Errorf("URL with a leading slash = %q, want %q", got, want)
	}
}

func TestVersionFollowsContent(t *testing.T) {
	one := fstest.MapFS{"css/a.css": {Data: []byte("a{}")}, "js/a.js": {Data: []byte("1")}}
	two := fstest.MapFS{"css/a.css": {Data: []byte("b{}")}, "js/a.js": {Data: []byte("1")}}
	renamed := fstest.MapFS{"css/b.css": {Data: []byte("a{}")}, "js/a.js": {Data: []byte("1")}}
	v := func(fsys fs.FS) string {
		a, err := newFromFS(fsys)
		if err != nil {
			t.Fatal(err)
		}
		return a.Version()
	}
	if v(one) == v(two) {
		t.Error("changing a file's content kept the version")
	}
	if v(one) == v(renamed) {
		t.Error("renaming a file kept the version")
	}
	if _, err := newFromFS(fstest.MapFS{}); err == nil {
		t.Error("an empty tree should be an error")
	}
}

func TestServeCurrentVersion(t *testing.T) {
	a := newAssets(t)
	h := a.Handler()
	for name, ctype := range map[string]string{
		"dsfr/dsfr.min.css":                   "text/css; charset=utf-8",
		"dsfr/dsfr.module.min.js":             "text/javascript; charset=utf-8",
		"dsfr/dsfr.nomodule.min.js":           "text/javascript; charset=utf-8",
		"dsfr/utility/icons/icons.min.css":    "text/css; charset=utf-8",
		"dsfr/icons/system/fr--info-fill.svg": "image/svg+xml",
		"dsfr/fonts/Marianne-Regular.woff2":   "font/woff2",
		"dsfr/favicon/favicon.ico":            "image/vnd.microsoft.icon",
		"dsfr/favicon/apple-touch-icon.png":   "image/png",
		"css/agora.css":                       "text/css; charset=utf-8",
		"js/agora.js":                         "text/javascript; charset=utf-8",
	} {
		t.Run(name, func(t *testing.T) {
			res := get(t, h, a.URL(name), nil)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d", res.StatusCode)
			}
			if got := res.Header.Get("Content-Type"); got != ctype {
				t.Errorf("Content-Type = %q, want %q", got, ctype)
			}
			if got := res.Header.Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
				t.Errorf("Cache-Control = %q", got)
			}
			if res.Header.Get("ETag") == "" {
				t.Error("no ETag")
			}
			if res.Header.Get("Content-Encoding") != "" {
				t.Error("encoded although the client did not ask")
			}
			want, err := fs.ReadFile(embedded, name)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(body(t, res), want) {
				t.Error("body differs from the embedded file")
			}
		})
	}
}

func TestConditionalRequest(t *testing.T) {
	a := newAssets(t)
	h := a.Handler()
	url := a.URL("css/agora.css")
	etag := get(t, h, url, nil).Header.Get("ETag")
	res := get(t, h, url, map[string]string{"If-None-Match": etag})
	if res.StatusCode != http.StatusNotModified {
		t.Fatalf("If-None-Match with the current ETag: status %d, want 304", res.StatusCode)
	}
	if len(body(t, res)) != 0 {
		t.Error("304 with a body")
	}
	res = get(t, h, url, map[string]string{"If-None-Match": `"something-else"`})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("If-None-Match with another ETag: status %d, want 200", res.StatusCode)
	}
}

func TestOldVersionIsServedButRevalidated(t *testing.T) {
	a := newAssets(t)
	old := "0123456789ab"
	if old == a.Version() {
		old = "ba9876543210"
	}
	res := get(t, a.Handler(), "/assets/"+old+"/css/agora.css", nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", res.StatusCode)
	}
	if got := res.Header.Get("Cache-Control"); got != "no-cache" {
		t.Errorf("Cache-Control = %q, want no-cache", got)
	}
	if got := res.Header.Get("Content-Type"); got != "text/css; charset=utf-8" {
		t.Errorf("Content-Type = %q", got)
	}
}

func TestNotFound(t *testing.T) {
	a := newAssets(t)
	v := a.Version()
	for _, target := range []string{
		"/assets/" + v + "/css/missing.css",
		"/assets/" + v + "/dsfr",                // a directory
		"/assets/" + v + "/dsfr/",               // a directory
		"/assets/" + v + "/",                    // the root
		"/assets/" + v,                          // no file at all
		"/assets/css/agora.css",                 // no version
		"/assets/NOT-A-HASH!!/css/agora.css",    // not a version
		"/assets/" + v + "/js/../css/agora.css", // unclean path
		"/assets/" + v + "/dsfr/README.md/x",
		"/other/" + v + "/css/agora.css",
	} {
		if res := get(t, a.Handler(), target, nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", target, res.StatusCode)
		}
	}
}

func TestMethods(t *testing.T) {
	a := newAssets(t)
	url := a.URL("js/agora.js")

	req := httptest.NewRequest(http.MethodHead, url, nil)
	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
		t.Errorf("HEAD: status %d, %d bytes of body", rec.Code, rec.Body.Len())
	}
	if rec.Header().Get("ETag") == "" {
		t.Error("HEAD: no ETag")
	}

	req = httptest.NewRequest(http.MethodPost, url, nil)
	rec = httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: status %d, want 405", rec.Code)
	}
	if got := rec.Header().Get("Allow"); got != "GET, HEAD" {
		t.Errorf("POST: Allow = %q", got)
	}
}

func TestGzip(t *testing.T) {
	a := newAssets(t)
	url := a.URL("dsfr/dsfr.min.css")
	plain := get(t, a.Handler(), url, nil)
	res := get(t, a.Handler(), url, map[string]string{"Accept-Encoding": "br, gzip;q=0.8"})
	if got := res.Header.Get("Content-Encoding"); got != "gzip" {
		t.Fatalf("Content-Encoding = %q, want gzip", got)
	}
	if !strings.Contains(res.Header.Get("Vary"), "Accept-Encoding") {
		t.Error("no Vary: Accept-Encoding")
	}
	if res.Header.Get("ETag") == plain.Header.Get("ETag") {
		t.Error("the gzip representation has the same ETag as the plain one")
	}
	zr, err := gzip.NewReader(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, body(t, plain)) {
		t.Error("decompressed body differs")
	}

	// Fonts are already compressed; q=0 refuses gzip.
	if res := get(t, a.Handler(), a.URL("dsfr/fonts/Marianne-Bold.woff2"), map[string]string{"Accept-Encoding": "gzip"}); res.Header.Get("Content-Encoding") != "" {
		t.Error("woff2 was gzip-encoded")
	}
	if res := get(t, a.Handler(), url, map[string]string{"Accept-Encoding": "gzip;q=0"}); res.Header.Get("Content-Encoding") != "" {
		t.Error("gzip;q=0 was answered with gzip")
	}
}

func TestAcceptsGzip(t *testing.T) {
	for header, want := range map[string]bool{
		"":                      false,
		"gzip":                  true,
		"GZIP":                  true,
		"deflate, gzip":         true,
		"gzip;q=0":              false,
		"gzip; q=0.000":         false,
		"gzip;q=0.5":            true,
		"*":                     true,
		"br":                    false,
		"identity, gzip ;q=1.0": true,
	} {
		if got := acceptsGzip(header); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", header, got, want)
		}
	}
}

// Every url() in the vendored CSS must resolve to a vendored file, except the
// .woff fallbacks that are left out on purpose next to their .woff2.
func TestCSSReferencesResolve(t *testing.T) {
	a := newAssets(t)
	urlRe := regexp.MustCompile(`url\(\s*['"]?([^'")]+)['"]?\s*\)`)
	for _, css := range []string{"dsfr/dsfr.min.css", "dsfr/utility/icons/icons.min.css", "css/agora.css"} {
		data, err := fs.ReadFile(embedded, css)
		if err != nil {
			t.Fatal(err)
		}
		refs := 0
		for _, m := range urlRe.FindAllStringSubmatch(string(data), -1) {
			ref := m[1]
			if strings.HasPrefix(ref, "data:") || strings.HasPrefix(ref, "#") {
				continue
			}
			ref, _, _ = strings.Cut(ref, "?")
			ref, _, _ = strings.Cut(ref, "#")
			target := path.Join(path.Dir(css), ref)
			refs++
			if a.Has(target) {
				continue
			}
			if strings.HasSuffix(target, ".woff") && a.Has(target+"2") {
				continue
			}
			t.Errorf("%s refers to %s, which is not vendored", css, target)
		}
		if strings.HasPrefix(css, "dsfr/") && refs == 0 {
			t.Errorf("%s: found no url() at all; did the regexp break?", css)
		}
	}
}

// The first gzip request compresses; concurrent first requests must agree.
func TestGzipConcurrentFirstRequests(t *testing.T) {
	a := newAssets(t)
	url := a.URL("js/agora.js")
	want, err := fs.ReadFile(embedded, "js/agora.js")
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan string, 8)
	for range 8 {
		go func() {
			req := httptest.NewRequest(http.MethodGet, url, nil)
			req.Header.Set("Accept-Encoding", "gzip")
			rec := httptest.NewRecorder()
			a.Handler().ServeHTTP(rec, req)
			got := rec.Body.Bytes()
			if rec.Header().Get("Content-Encoding") == "gzip" {
				zr, err := gzip.NewReader(bytes.NewReader(got))
				if err != nil {
					errs <- err.Error()
					return
				}
				if got, err = io.ReadAll(zr); err != nil {
					errs <- err.Error()
					return
				}
			}
			if !bytes.Equal(got, want) {
				errs <- "body differs"
				return
			}
			errs <- ""
		}()
	}
	for range 8 {
		if e := <-errs; e != "" {
			t.Error(e)
		}
	}
}

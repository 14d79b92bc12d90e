// Package assets embeds Agora's static files (the vendored DSFR in dsfr/, our
// own css/ and js/) and serves them under content-hashed URLs.
//
// One hash covers the whole tree, computed once at start: every URL is
// /assets/<hash>/<path>, so the relative url()s inside DSFR's CSS (fonts/…,
// icons/…) resolve under the same hash and change with it. Files served under
// the current hash are cached for a year as immutable; a request carrying another
// hash (a page cached before a deployment) still gets the file, revalidated on
// every use.
//
// Text files (CSS, JS, SVG) are gzip-compressed once, on their first request
// by a client that accepts gzip, and kept; so /assets must not be wrapped in a
// compression middleware.
package assets

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Prefix is the URL path under which Handler must be mounted.
const Prefix = "/assets/"

//go:embed css js dsfr vendor
var embedded embed.FS

const (
	versionLen     = 12
	cacheImmutable = "public, max-age=31536000, immutable"
	cacheRevalid   = "no-cache"
)

// Assets is the embedded tree, indexed by path, with its version hash.
type Assets struct {
	version string
	files   map[string]*file
}

type file struct {
	data        []byte
	contentType string
	etag        string
	compress    bool // a text format worth trying gzip on

	gzOnce sync.Once
	gz     []byte // gzip-encoded data, nil when not worth it
	gzETag string
}

// gzipped returns the gzip-encoded data and its ETag, or nil when the file is
// not worth compressing. The first call compresses; the result is kept.
func (f *file) gzipped() ([]byte, string) {
	f.gzOnce.Do(func() {
		gz, err := gzipBytes(f.data)
		if err == nil && len(gz) < len(f.data)*9/10 {
			f.gz = gz
			f.gzETag = strings.TrimSuffix(f.etag, `"`) + `-gz"`
		}
	})
	return f.gz, f.gzETag
}

// New indexes the embedded files and computes their version hash.
func New() (*Assets, error) {
	return newFromFS(embedded)
}

func newFromFS(fsys fs.FS) (*Assets, error) {
	a := &Assets{files: make(map[string]*file)}
	tree := sha256.New()
	// WalkDir visits entries in lexical order, so the hash is stable.
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(name)))
		tree.Write(n[:])
		tree.Write([]byte(name))
		tree.Write(sum[:])

		a.files[name] = &file{
			data:        data,
			contentType: contentType(name),
			etag:        `"` + hex.EncodeToString(sum[:8]) + `"`,
			compress:    compressible(name),
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("index assets: %w", err)
	}
	if len(a.files) == 0 {
		return nil, fmt.Errorf("index assets: no file embedded")
	}
	a.version = hex.EncodeToString(tree.Sum(nil))[:versionLen]
	return a, nil
}

// Version is the content hash of the whole tree (12 hex digits).
func (a *Assets) Version() string { return a.version }

// URL returns the versioned URL of an asset given by its path in the tree,
// such as "dsfr/dsfr.min.css" or "css/agora.css".
func (a *Assets) URL(name string) string {
	return Prefix + a.version + "/" + strings.TrimPrefix(name, "/")
}

// Has tells whether the tree holds a file at that path.
func (a *Assets) Has(name string) bool {
	_, ok := a.files[strings.TrimPrefix(name, "/")]
	return ok
}

// Handler serves GET and HEAD /assets/<hash>/<path>. It expects the full
// request path, so mount it on the Prefix without stripping it.
func (a *Assets) Handler() http.Handler {
	return http.HandlerFunc(a.serve)
}

func (a *Assets) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, Prefix)
	if !ok {
		http.NotFound(w, r)
		return
	}
	version, name, ok := strings.Cut(rest, "/")
	if !ok || !isVersion(version) || name != path.Clean(name) {
		http.NotFound(w, r)
		return
	}
	f, ok := a.files[name]
	if !ok {
		http.NotFound(w, r)
		return
	}

	h := w.Header()
	if version == a.version {
		h.Set("Cache-Control", cacheImmutable)
	} else {
		h.Set("Cache-Control", cacheRevalid)
	}
	h.Set("Content-Type", f.contentType)
	body, etag := f.data, f.etag
	if f.compress {
		h.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Get("Accept-Encoding")) {
			if gz, gzETag := f.gzipped(); gz != nil {
				body, etag = gz, gzETag
				h.Set("Content-Encoding", "gzip")
			}
		}
	}
	h.Set("ETag", etag)
	// ServeContent answers If-None-Match (304), HEAD and Range requests.
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(body))
}

func isVersion(s string) bool {
	if len(s) != versionLen {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// contentType is set from the extension, never sniffed nor read from the
// machine's MIME tables, so that it is the same everywhere.
func contentType(name string) string {
	switch strings.ToLower(path.Ext(name)) {
	case ".css":
		return "text/css; charset=utf-8"
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".woff2":
		return "font/woff2"
	case ".woff":
		return "font/woff"
	case ".png":
		return "image/png"
	case ".ico":
		return "image/vnd.microsoft.icon"
	case ".json":
		return "application/json"
	case ".webmanifest":
		return "application/manifest+json"
	case ".md":
		return "text/markdown; charset=utf-8"
	case ".txt", "":
		return "text/plain; charset=utf-8"
	}
	return "application/octet-stream"
}

func compressible(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".css", ".js", ".mjs", ".svg", ".ico", ".json", ".webmanifest", ".md", ".txt":
		return true
	}
	return false
}

func gzipBytes(data []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(data); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// acceptsGzip reads an Accept-Encoding header: gzip (or *) with a non-zero q.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(part, ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" && coding != "*" {
			continue
		}
		if k, v, ok := strings.Cut(params, "="); ok && strings.EqualFold(strings.TrimSpace(k), "q") {
			if q, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err != nil || q <= 0 {
				continue
			}
		}
		return true
	}
	return false
}

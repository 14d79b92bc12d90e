// Package assets embeds the DSFR and Agora's own CSS/JS.
// (Placeholder until the DSFR shell lands: same API.)
package assets

import (
	"embed"
	"net/http"
	"strings"
)

//go:embed css
var files embed.FS

// Assets serves embedded files under a content-hashed prefix.
type Assets struct{ prefix string }

// New builds the asset set.
func New() (*Assets, error) { return &Assets{prefix: "/assets/dev"}, nil }

// URL returns the URL of an asset.
func (a *Assets) URL(name string) string { return a.prefix + "/" + strings.TrimPrefix(name, "/") }

// Handler serves /assets/.
func (a *Assets) Handler() http.Handler {
	return http.StripPrefix(a.prefix, http.FileServerFS(files))
}

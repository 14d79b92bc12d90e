// Package markdown renders the Markdown that users write (group
// descriptions, agendas, minutes) into safe HTML: goldmark turns CommonMark
// (with tables, strikethrough and autolinks) into HTML without raw HTML, and
// bluemonday keeps only the elements and attributes of a user-content
// allow-list, so no script, event handler, style or javascript: link gets
// through, whatever the input.
package markdown

import (
	"bytes"
	"html/template"
	"strings"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/renderer/html"
)

// Renderer converts Markdown to sanitised HTML. It is safe for concurrent use.
type Renderer struct {
	md     goldmark.Markdown
	policy *bluemonday.Policy
}

// New returns a Renderer.
func New() *Renderer {
	md := goldmark.New(
		goldmark.WithExtensions(extension.Table, extension.Strikethrough, extension.Linkify),
		// Raw HTML in the source is dropped (not WithUnsafe); the sanitiser
		// below is a second wall, not the only one.
		goldmark.WithRendererOptions(html.WithHardWraps()),
	)
	p := bluemonday.UGCPolicy()
	p.AllowURLSchemes("http", "https", "mailto")
	p.RequireNoFollowOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(false)
	return &Renderer{md: md, policy: p}
}

// HTML renders src; an empty source gives an empty result.
func (r *Renderer) HTML(src string) template.HTML {
	if strings.TrimSpace(src) == "" {
		return ""
	}
	var buf bytes.Buffer
	if err := r.md.Convert([]byte(src), &buf); err != nil {
		// goldmark only fails on writer errors; fall back to escaped text.
		return template.HTML("<p>" + template.HTMLEscapeString(src) + "</p>")
	}
	// #nosec G203 -- sanitised by the bluemonday policy just above.
	return template.HTML(r.policy.SanitizeBytes(buf.Bytes()))
}

// Text renders src to plain text for emails and calendars: Markdown is
// readable as is, so it is kept, with line endings normalised.
func Text(src string) string {
	return strings.TrimSpace(strings.ReplaceAll(src, "\r\n", "\n"))
}

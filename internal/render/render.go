// Package render turns templates into pages and emails. Each page is parsed
// once, at start, as its own set (layouts + partials + the page), so pages
// never overwrite each other's blocks; output goes to a buffer first, so a
// template error is a clean error, never half a page.
package render

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"sync"
	texttemplate "text/template"
)

// Renderer holds the parsed templates.
type Renderer struct {
	pages  map[string]*htmltemplate.Template
	emails map[string]emailSet
	bufs   sync.Pool
}

type emailSet struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

// Email is a rendered message.
type Email struct {
	Subject, Text, HTML string
}

// New parses every page under pages/ and every email under email/ of fsys.
func New(fsys fs.FS, funcs map[string]any) (*Renderer, error) {
	all := htmltemplate.FuncMap{}
	for k, v := range Funcs() {
		all[k] = v
	}
	for k, v := range FormFuncs() {
		all[k] = v
	}
	for k, v := range funcs {
		all[k] = v
	}
	r := &Renderer{
		pages:  map[string]*htmltemplate.Template{},
		emails: map[string]emailSet{},
		bufs:   sync.Pool{New: func() any { return new(bytes.Buffer) }},
	}
	shared, err := globs(fsys, "layouts/*.html", "partials/*.html")
	if err != nil {
		return nil, err
	}
	pages, err := fs.Glob(fsys, "pages/*.html")
	if err != nil {
		return nil, err
	}
	for _, p := range pages {
		name := strings.TrimSuffix(path.Base(p), ".html")
		t, err := htmltemplate.New(name).Funcs(all).ParseFS(fsys, append(shared, p)...)
		if err != nil {
			return nil, fmt.Errorf("parse page %s: %w", name, err)
		}
		r.pages[name] = t
	}
	texts, err := fs.Glob(fsys, "email/*.txt")
	if err != nil {
		return nil, err
	}
	emailShared, err := globs(fsys, "email/layout*.html")
	if err != nil {
		return nil, err
	}
	for _, p := range texts {
		name := strings.TrimSuffix(path.Base(p), ".txt")
		var set emailSet
		if set.text, err = texttemplate.New(name).Funcs(texttemplate.FuncMap(all)).ParseFS(fsys, p); err != nil {
			return nil, fmt.Errorf("parse email %s: %w", name, err)
		}
		htmlPath := "email/" + name + ".html"
		if _, err := fs.Stat(fsys, htmlPath); err == nil {
			if set.html, err = htmltemplate.New(name).Funcs(all).ParseFS(fsys, append(emailShared, htmlPath)...); err != nil {
				return nil, fmt.Errorf("parse email %s: %w", name, err)
			}
		}
		r.emails[name] = set
	}
	return r, nil
}

func globs(fsys fs.FS, patterns ...string) ([]string, error) {
	var out []string
	for _, p := range patterns {
		m, err := fs.Glob(fsys, p)
		if err != nil {
			return nil, err
		}
		out = append(out, m...)
	}
	return out, nil
}

// Has tells whether a page exists.
func (r *Renderer) Has(page string) bool { _, ok := r.pages[page]; return ok }

// Page renders page with data (executing the layout "base") and writes it
// with status. On a template error nothing is written and the error is returned.
func (r *Renderer) Page(w http.ResponseWriter, status int, page string, data any) error {
	t, ok := r.pages[page]
	if !ok {
		return fmt.Errorf("render: no page %q", page)
	}
	buf := r.bufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer r.bufs.Put(buf)
	if err := t.ExecuteTemplate(buf, "base", data); err != nil {
		return fmt.Errorf("render page %s: %w", page, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err := buf.WriteTo(w)
	return err
}

// Email renders the email name: its .txt file defines "subject" and "text",
// its optional .html file defines "email-body" inside the email layout.
func (r *Renderer) Email(name string, data any) (Email, error) {
	set, ok := r.emails[name]
	if !ok {
		return Email{}, fmt.Errorf("render: no email %q", name)
	}
	var subject, text, html bytes.Buffer
	if err := set.text.ExecuteTemplate(&subject, "subject", data); err != nil {
		return Email{}, fmt.Errorf("render email %s subject: %w", name, err)
	}
	if err := set.text.ExecuteTemplate(&text, "text", data); err != nil {
		return Email{}, fmt.Errorf("render email %s text: %w", name, err)
	}
	if set.html != nil {
		if err := set.html.ExecuteTemplate(&html, "email-layout", data); err != nil {
			return Email{}, fmt.Errorf("render email %s html: %w", name, err)
		}
	}
	// A subject is one line: collapse any line break coming from data.
	subj := strings.Join(strings.Fields(subject.String()), " ")
	return Email{Subject: subj, Text: strings.TrimSpace(text.String()) + "\n", HTML: html.String()}, nil
}

package mail_test

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/dnum-sociaux/agora/internal/mail"
	"github.com/dnum-sociaux/agora/internal/render"
	"github.com/dnum-sociaux/agora/internal/testutil"
	"github.com/dnum-sociaux/agora/models"
	"github.com/dnum-sociaux/agora/templates"
)

// A subject built from user data (a group's name, a person's name) stays
// one line whatever the data holds, so it can be queued and sent.
func TestComposedSubjectIsOneLine(t *testing.T) {
	fsys := fstest.MapFS{
		"email/hello.txt":   {Data: []byte(`{{define "subject"}}Invitation : {{.Data}}{{end}}{{define "text"}}Bonjour {{.Data}}{{end}}`)},
		"email/hello.html":  {Data: []byte(`{{define "email-body"}}<p>{{.Data}}</p>{{end}}`)},
		"email/layout.html": {Data: []byte(`{{define "email-layout"}}<html>{{block "email-body" .}}{{end}}</html>{{end}}`)},
	}
	r, err := render.New(fsys, map[string]any{"asset": func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	c := mail.NewComposer(r, "http://localhost:8080")
	m, err := c.Compose("test", "k", "A@Example.org", "hello", "Comité\r\nBcc: x@y.example")
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(m.Subject, "\r\n") || m.Subject != "Invitation : Comité Bcc: x@y.example" || m.Recipient != "a@example.org" {
		t.Fatalf("composed: %q to %q", m.Subject, m.Recipient)
	}
	if !strings.Contains(m.HTMLBody, "<p>Comité\r\nBcc: x@y.example</p>") {
		t.Fatalf("html: %q", m.HTMLBody)
	}
	store := testutil.SQLite(t, nil)
	testutil.MustTx(t, store, func(tx *models.Tx) error { _, err := tx.Enqueue(context.Background(), m); return err })
}

// The real login email: French subject, the link in both bodies.
func TestLoginEmailTemplate(t *testing.T) {
	r, err := render.New(templates.FS, map[string]any{"asset": func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	link := "http://localhost:8080/login/abc"
	m, err := mail.NewComposer(r, "http://localhost:8080").Compose("login", "login:x", "a@example.org", "login",
		struct {
			Link    string
			Minutes int
		}{link, 15})
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "Votre lien de connexion à Agora" || !strings.Contains(m.TextBody, link) || !strings.Contains(m.HTMLBody, `href="`+link+`"`) ||
		!strings.Contains(m.TextBody, "15 minutes") {
		t.Fatalf("login email: %+v", m)
	}
}

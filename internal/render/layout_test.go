package render_test

import (
	"bytes"
	"fmt"
	"html/template"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/dnum-sociaux/agora/assets"
	"github.com/dnum-sociaux/agora/internal/render"
)

// Stand-ins for the server's page data: the same field names and methods as
// the layout contract (Layout, models.User, Flash, Crumb).

type stubUser struct {
	Name, Email string
	Admin       bool
	Organiser   bool
}

func (u *stubUser) IsAdmin() bool     { return u.Admin }
func (u *stubUser) IsOrganiser() bool { return u.Organiser }

type stubFlash struct{ Kind, Title, Message string }

type stubCrumb struct{ Label, URL string }

type stubLayout struct {
	Title       string
	User        *stubUser
	CSRFToken   string
	Flash       *stubFlash
	Breadcrumbs []stubCrumb
	Nav         string
}

type errorPage struct {
	stubLayout
	Status  int
	Heading string
	Message string
	Action  struct{ Label, URL string }
}

// parsePage parses layouts, partials and one page the way the server does,
// with an "asset" function that fails on a file that is not embedded.
func parsePage(t *testing.T, page string) *template.Template {
	t.Helper()
	a, err := assets.New()
	if err != nil {
		t.Fatal(err)
	}
	funcs := template.FuncMap{
		"asset": func(name string) (string, error) {
			if !a.Has(name) {
				return "", fmt.Errorf("asset %q is not embedded", name)
			}
			return a.URL(name), nil
		},
	}
	maps.Copy(funcs, render.Funcs())
	maps.Copy(funcs, render.FormFuncs())
	files := globs(t, filepath.Join(templatesDir, "layouts", "*.html"), filepath.Join(templatesDir, "partials", "*.html"))
	files = append(files, page)
	tpl, err := template.New("").Funcs(funcs).ParseFiles(files...)
	if err != nil {
		t.Fatalf("parse %s: %v", page, err)
	}
	return tpl
}

func globs(t *testing.T, patterns ...string) []string {
	t.Helper()
	var out []string
	for _, p := range patterns {
		m, err := filepath.Glob(p)
		if err != nil || len(m) == 0 {
			t.Fatalf("glob %s: %v (%d files)", p, err, len(m))
		}
		out = append(out, m...)
	}
	return out
}

func execute(t *testing.T, tpl *template.Template, data any) string {
	t.Helper()
	var buf bytes.Buffer
	if err := tpl.ExecuteTemplate(&buf, "base", data); err != nil {
		t.Fatalf("execute base: %v", err)
	}
	return buf.String()
}

var (
	scriptTagRe = regexp.MustCompile(`(?i)<script\b[^>]*>`)
	h1Re        = regexp.MustCompile(`(?i)<h1[\s>]`)
	idRe        = regexp.MustCompile(`\sid="([^"]*)"`)
	refRe       = regexp.MustCompile(`\s(for|aria-describedby|aria-labelledby|aria-controls)="([^"]*)"`)
	anchorRe    = regexp.MustCompile(`\shref="#([^"]+)"`)
	navLinkRe   = regexp.MustCompile(`<a class="fr-nav__link"[^>]*>`)
)

// checkPage asserts what every page must satisfy, whatever its content.
func checkPage(t *testing.T, out string) {
	t.Helper()
	for _, want := range []string{
		`<html lang="fr" data-fr-scheme="system">`,
		`<main id="contenu" role="main"`,
		`<header role="banner" class="fr-header">`,
		`role="contentinfo" id="pied-de-page"`,
		`<p class="fr-logo">Ministères<br>sociaux</p>`,
		`<p class="fr-header__service-title">Agora</p>`,
		`Groupes de travail, comités et événements de la DNUM`,
		`Agora est un logiciel libre`,
		`Accessibilité : non conforme`,
		`Mentions légales`,
		`Données personnelles`,
		`href="#contenu"`, `href="#navigation-principale"`, `href="#pied-de-page"`,
		`class="fr-skiplinks"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if n := len(h1Re.FindAllString(out, -1)); n != 1 {
		t.Errorf("%d <h1> on the page, want exactly 1", n)
	}
	for _, tag := range scriptTagRe.FindAllString(out, -1) {
		if !strings.Contains(tag, ` src="`) {
			t.Errorf("inline script: %s", tag)
		}
	}
	if strings.Contains(out, "style=") {
		t.Error("a style attribute is on the page; the CSP forbids inline styles")
	}
	if m := regexp.MustCompile(`\son[a-z]+=`).FindString(out); m != "" {
		t.Errorf("inline event handler %q; the CSP forbids it", m)
	}
	if m := regexp.MustCompile(`(?i)<style[\s>]`).FindString(out); m != "" {
		t.Error("a <style> element is on the page")
	}

	ids := map[string]int{}
	for _, m := range idRe.FindAllStringSubmatch(out, -1) {
		ids[m[1]]++
	}
	for id, n := range ids {
		if n > 1 {
			t.Errorf("id %q used %d times", id, n)
		}
	}
	for _, m := range refRe.FindAllStringSubmatch(out, -1) {
		for _, id := range strings.Fields(m[2]) {
			if ids[id] == 0 {
				t.Errorf("%s points at #%s, which is not on the page", m[1], id)
			}
		}
	}
	for _, m := range anchorRe.FindAllStringSubmatch(out, -1) {
		if ids[m[1]] == 0 {
			t.Errorf("link to #%s, which is not on the page", m[1])
		}
	}
}

func TestErrorPageAnonymous(t *testing.T) {
	tpl := parsePage(t, filepath.Join(templatesDir, "pages", "error.html"))
	out := execute(t, tpl, errorPage{
		stubLayout: stubLayout{Title: "ignored", CSRFToken: "tok-anon", Nav: ""},
		Status:     404,
	})
	checkPage(t, out)
	for _, want := range []string{
		`<title>Page non trouvée (erreur 404) — Agora</title>`,
		`<h1>Page non trouvée</h1>`,
		`Erreur 404`,
		`La page que vous cherchez est introuvable.`,
		`href="/login">Se connecter</a>`,
		`<a class="fr-btn" href="/">Page d’accueil</a>`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	for _, absent := range []string{`name="csrf_token"`, `action="/logout"`, `Mon profil`, `href="/admin"`, `aria-current`, `fr-breadcrumb`, `fr-alert`} {
		if strings.Contains(out, absent) {
			t.Errorf("anonymous error page has %s", absent)
		}
	}
}

// An error page with an action leads on with it first (a bad management
// link's page offers a new link), then home.
func TestErrorPageAction(t *testing.T) {
	tpl := parsePage(t, filepath.Join(templatesDir, "pages", "error.html"))
	p := errorPage{stubLayout: stubLayout{CSRFToken: "t"}, Status: 404, Message: "Ce lien n'est pas valable."}
	p.Action.Label, p.Action.URL = "Retrouver mon lien d'inscription", "/events/e1/inscription/lien"
	out := execute(t, tpl, p)
	checkPage(t, out)
	action := strings.Index(out, `<a class="fr-btn" href="/events/e1/inscription/lien">Retrouver mon lien d&#39;inscription</a>`)
	home := strings.Index(out, `<a class="fr-btn fr-btn--secondary" href="/">Page d’accueil</a>`)
	if action < 0 || home < action || strings.Contains(out, `<a class="fr-btn" href="/login">Se connecter</a>`) {
		t.Errorf("action button at %d, home at %d:\n%s", action, home, out)
	}
}

func TestErrorPageWithUserFlashAndCrumbs(t *testing.T) {
	tpl := parsePage(t, filepath.Join(templatesDir, "pages", "error.html"))
	out := execute(t, tpl, errorPage{
		stubLayout: stubLayout{
			Title:     "Accès refusé",
			User:      &stubUser{Name: "Camille Martin", Email: "camille.martin@sg.social.gouv.fr", Admin: true},
			CSRFToken: `tok-"<&>`,
			Flash:     &stubFlash{Kind: "error", Title: "Action impossible", Message: "Vous n’êtes pas organisateur de ce groupe."},
			Breadcrumbs: []stubCrumb{
				{Label: "Groupes de travail", URL: "/groups"},
				{Label: "Comitologie", URL: ""},
			},
			Nav: "groups",
		},
		Status:  403,
		Heading: "Accès réservé aux organisateurs",
		Message: "Seuls les organisateurs peuvent modifier ce groupe.",
	})
	checkPage(t, out)
	for _, want := range []string{
		`<title>Accès réservé aux organisateurs (erreur 403) — Agora</title>`,
		`<h1>Accès réservé aux organisateurs</h1>`,
		`Seuls les organisateurs peuvent modifier ce groupe.`,
		// CSRF field, escaped, in the logout form.
		`<form method="post" action="/logout"`,
		`<input type="hidden" name="csrf_token" value="tok-&#34;&lt;&amp;&gt;">`,
		`Se déconnecter</button>`,
		`href="/profile">Mon profil</a>`,
		// Admin sees the admin entry; the active entry is marked.
		`<a class="fr-nav__link" href="/groups" aria-current="page">Groupes de travail</a>`,
		`<a class="fr-nav__link" href="/admin">Administration</a>`,
		// Breadcrumb with Accueil in front and the current page last.
		`<a class="fr-breadcrumb__link" href="/">Accueil</a>`,
		`<a class="fr-breadcrumb__link" href="/groups">Groupes de travail</a>`,
		`<a class="fr-breadcrumb__link" aria-current="page">Comitologie</a>`,
		// Flash as an assertive DSFR alert.
		`class="fr-alert fr-alert--error fr-mt-4w" role="alert"`,
		`<p class="fr-alert__title">Action impossible</p>`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if strings.Contains(out, `href="/login"`) {
		t.Error("logged-in page offers to log in")
	}
	if n := strings.Count(out, `aria-current="page"`); n != 2 { // nav + breadcrumb
		t.Errorf("aria-current appears %d times, want 2 (nav and breadcrumb)", n)
	}
}

func TestNavigation(t *testing.T) {
	tpl := parsePage(t, filepath.Join(templatesDir, "pages", "error.html"))
	for _, tc := range []struct {
		nav     string
		admin   bool
		current string // href of the entry marked current, "" for none
	}{
		{"home", false, "/"},
		{"groups", false, "/groups"},
		{"events", false, "/events"},
		{"admin", true, "/admin"},
		{"", true, ""},
		{"admin", false, ""}, // not an admin: no admin entry to mark
	} {
		out := execute(t, tpl, errorPage{
			stubLayout: stubLayout{User: &stubUser{Name: "A", Admin: tc.admin}, CSRFToken: "t", Nav: tc.nav},
			Status:     500,
		})
		links := navLinkRe.FindAllString(out, -1)
		wantLinks := 3
		if tc.admin {
			wantLinks = 4
		}
		if len(links) != wantLinks {
			t.Errorf("nav=%q admin=%v: %d nav links, want %d", tc.nav, tc.admin, len(links), wantLinks)
		}
		var current []string
		for _, l := range links {
			if strings.Contains(l, `aria-current="page"`) {
				current = append(current, l)
			}
		}
		switch {
		case tc.current == "" && len(current) != 0:
			t.Errorf("nav=%q: %v marked current, want none", tc.nav, current)
		case tc.current != "" && (len(current) != 1 || !strings.Contains(current[0], `href="`+tc.current+`"`)):
			t.Errorf("nav=%q: marked %v, want only %s", tc.nav, current, tc.current)
		}
	}
}

func TestErrorPageDefaultsForEveryStatus(t *testing.T) {
	tpl := parsePage(t, filepath.Join(templatesDir, "pages", "error.html"))
	for status, heading := range map[int]string{
		403: "Accès refusé", 404: "Page non trouvée", 413: "Envoi trop volumineux",
		429: "Trop de requêtes", 500: "Erreur inattendue", 503: "Service indisponible",
	} {
		out := execute(t, tpl, errorPage{stubLayout: stubLayout{CSRFToken: "t"}, Status: status})
		checkPage(t, out)
		if want := fmt.Sprintf("<title>%s (erreur %d) — Agora</title>", heading, status); !strings.Contains(out, want) {
			t.Errorf("%d: lacks %s", status, want)
		}
		if want := "<h1>" + heading + "</h1>"; !strings.Contains(out, want) {
			t.Errorf("%d: lacks %s", status, want)
		}
	}
}

func TestFlashKinds(t *testing.T) {
	tpl := parsePage(t, filepath.Join(templatesDir, "pages", "error.html"))
	for kind, want := range map[string]string{
		"success": `class="fr-alert fr-alert--success fr-alert--sm fr-mt-4w" role="status"`,
		"info":    `class="fr-alert fr-alert--info fr-alert--sm fr-mt-4w" role="status"`,
		"warning": `class="fr-alert fr-alert--warning fr-alert--sm fr-mt-4w" role="status"`,
		"error":   `class="fr-alert fr-alert--error fr-alert--sm fr-mt-4w" role="alert"`,
		"bogus":   `class="fr-alert fr-alert--info fr-alert--sm fr-mt-4w" role="status"`,
	} {
		out := execute(t, tpl, errorPage{
			stubLayout: stubLayout{Flash: &stubFlash{Kind: kind, Message: "Message <b>échappé</b>"}},
			Status:     404,
		})
		if !strings.Contains(out, want) {
			t.Errorf("kind %q: lacks %s", kind, want)
		}
		if !strings.Contains(out, "<p>Message &lt;b&gt;échappé&lt;/b&gt;</p>") {
			t.Errorf("kind %q: message missing or unescaped", kind)
		}
		if !strings.Contains(out, `data-agora-dismiss`) {
			t.Errorf("kind %q: no close button", kind)
		}
	}
}

// The sample form page exercises every form partial inside the layout.
func TestFormPageInLayout(t *testing.T) {
	tpl := parsePage(t, filepath.Join("testdata", "form.html"))
	out := execute(t, tpl, sampleFormPage(true))
	checkPage(t, out)
	if !strings.Contains(out, `<input type="hidden" name="csrf_token" value="tok">`) {
		t.Error("no CSRF field in the form")
	}
	if n := strings.Count(out, `aria-invalid="true"`); n != 5 { // name, email, description, direction, open
		t.Errorf("%d fields marked invalid, want 5", n)
	}
	out = execute(t, tpl, sampleFormPage(false))
	checkPage(t, out)
	if strings.Contains(out, "fr-error-text") || strings.Contains(out, "aria-invalid") || strings.Contains(out, "--error") {
		t.Error("a form without errors shows an error")
	}
}

// Templates that reach the browser carry no inline style, script or handler
// (the CSP would block them); emails are exempt.
func TestTemplatesHaveNoInlineStyleOrScript(t *testing.T) {
	files := globs(t, filepath.Join(templatesDir, "layouts", "*.html"), filepath.Join(templatesDir, "partials", "*.html"), filepath.Join(templatesDir, "pages", "*.html"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		if strings.Contains(s, "style=") || regexp.MustCompile(`(?i)<style[\s>]`).MatchString(s) {
			t.Errorf("%s: inline style", f)
		}
		for _, tag := range scriptTagRe.FindAllString(s, -1) {
			if !strings.Contains(tag, " src=") {
				t.Errorf("%s: inline script %s", f, tag)
			}
		}
		if m := regexp.MustCompile(`\son[a-z]+=`).FindString(s); m != "" {
			t.Errorf("%s: inline event handler %q", f, m)
		}
	}
}

// The email layout parses and wraps a body.
func TestEmailLayout(t *testing.T) {
	tpl, err := template.ParseFiles(filepath.Join(templatesDir, "email", "layout.html"))
	if err != nil {
		t.Fatal(err)
	}
	tpl, err = tpl.Parse(`{{define "email-title"}}Invitation{{end}}{{define "email-body"}}<p>Bonjour {{.Name}},</p>{{end}}`)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := tpl.ExecuteTemplate(&buf, "email-layout", struct{ Name string }{"Camille <3"}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{`<html lang="fr">`, `<title>Invitation</title>`, `<p>Bonjour Camille &lt;3,</p>`, `Ministères<br>sociaux`, `Agora`, `role="presentation"`} {
		if !strings.Contains(out, want) {
			t.Errorf("email lacks %s", want)
		}
	}
}

// fieldErrors stands in for the handlers' per-field error messages.
type fieldErrors map[string]string

func (e fieldErrors) Get(name string) string { return e[name] }

type groupForm struct {
	Name, Email, Description, Direction, Theme string
	Capacity                                   int
	Days                                       []string
	Open                                       bool
}

type formPage struct {
	stubLayout
	Form       groupForm
	Errors     fieldErrors
	Directions []render.Option
}

func sampleFormPage(withErrors bool) formPage {
	p := formPage{
		stubLayout: stubLayout{
			Title:       "Créer un groupe de travail",
			User:        &stubUser{Name: "Camille Martin", Organiser: true},
			CSRFToken:   "tok",
			Breadcrumbs: []stubCrumb{{Label: "Groupes de travail", URL: "/groups"}, {Label: "Créer un groupe"}},
			Nav:         "groups",
		},
		Form: groupForm{Name: "Rôle du PM", Email: "pas-une-adresse", Capacity: 30, Theme: "comitologie", Days: []string{"mon", "thu"}},
		Directions: []render.Option{
			{Value: "dnum", Label: "DNUM"}, {Value: "dgcs", Label: "DGCS"}, {Value: "dgos", Label: "DGOS"}, {Value: "drees", Label: "DREES"},
		},
	}
	if withErrors {
		p.Flash = &stubFlash{Kind: "error", Title: "Le formulaire contient des erreurs", Message: "Corrigez les champs signalés, puis enregistrez à nouveau."}
		p.Errors = fieldErrors{
			"name":        "Le nom doit compter au moins 5 caractères.",
			"email":       "Saisissez une adresse électronique valide, par exemple prenom.nom@sg.social.gouv.fr.",
			"description": "Décrivez le groupe en quelques phrases.",
			"direction":   "Choisissez la direction qui pilote le groupe.",
			"theme":       "Choisissez un thème.",
			"days":        "Cochez au moins un jour.",
			"open":        "Précisez si le groupe est ouvert.",
		}
	}
	return p
}

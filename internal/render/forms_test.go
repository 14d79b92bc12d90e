package render_test

import (
	"bytes"
	"html/template"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/dnum-sociaux/agora/internal/render"
)

const templatesDir = "../../templates"

// partials parses the partials alone, plus the given page text.
func partials(t *testing.T, text string) *template.Template {
	t.Helper()
	// Other partials use the shared functions (render.Funcs) too.
	tpl, err := template.New("").Funcs(render.Funcs()).Funcs(render.FormFuncs()).ParseGlob(filepath.Join(templatesDir, "partials", "*.html"))
	if err != nil {
		t.Fatal(err)
	}
	if tpl, err = tpl.New("page").Parse(text); err != nil {
		t.Fatal(err)
	}
	return tpl
}

func run(t *testing.T, tpl *template.Template, data any) string {
	t.Helper()
	var buf bytes.Buffer
	if err := tpl.ExecuteTemplate(&buf, "page", data); err != nil {
		t.Fatalf("execute: %v", err)
	}
	return buf.String()
}

func containsAll(t *testing.T, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %s\n--- output ---\n%s", w, out)
		}
	}
}

func containsNone(t *testing.T, out string, unwanted ...string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(out, w) {
			t.Errorf("output has %s\n--- output ---\n%s", w, out)
		}
	}
}

func TestFieldConstructorAndMethods(t *testing.T) {
	f := render.NewField("email", "Adresse électronique", "a@b.fr", "")
	if f.ID != "email" || f.Name != "email" || f.Type != "text" || f.Value != "a@b.fr" || f.ErrorID() != "email-error" {
		t.Fatalf("unexpected field %+v", f)
	}
	g := f.WithType("email").WithAutocomplete("email").WithHint("h").WithRequired().WithDisabled().
		WithMin(1).WithMax("2026-12-31").WithMaxLength(80).WithRows(3).WithInputMode("email").WithID("contact email")
	if f.Type != "text" || f.Hint != "" || f.Required {
		t.Error("With… methods modified the original")
	}
	want := render.Field{ID: "contact-email", Name: "email", Label: "Adresse électronique", Value: "a@b.fr", Hint: "h",
		Type: "email", Autocomplete: "email", InputMode: "email", Min: "1", Max: "2026-12-31", MaxLength: 80, Rows: 3,
		Required: true, Disabled: true}
	if !reflect.DeepEqual(g, want) {
		t.Errorf("got %+v\nwant %+v", g, want)
	}
}

type code string

func (c code) String() string { return "code:" + string(c) }

func TestValuesAndIDs(t *testing.T) {
	var nilInt *int
	seven := 7
	for _, tc := range []struct {
		value any
		want  string
	}{
		{nil, ""}, {"x", "x"}, {42, "42"}, {int64(-3), "-3"}, {3.5, "3.5"}, {true, "true"},
		{code("a"), "code:a"}, {nilInt, ""}, {&seven, "7"},
	} {
		if got := render.NewField("n", "l", tc.value, "").Value; got != tc.want {
			t.Errorf("value %#v rendered %q, want %q", tc.value, got, tc.want)
		}
	}
	for name, id := range map[string]string{
		"email": "email", "workshops[]": "workshops", "slot.start": "slot-start", "a  b": "a-b",
		"2fa": "champ-2fa", "": "champ", "[]": "champ", "first_name": "first_name",
	} {
		if got := render.NewField(name, "l", "", "").ID; got != id {
			t.Errorf("name %q gave id %q, want %q", name, got, id)
		}
	}
}

func TestChoiceAndOptions(t *testing.T) {
	opts, err := render.NewOptions("a", "A", "b", "B")
	if err != nil {
		t.Fatal(err)
	}
	if want := []render.Option{{Value: "a", Label: "A"}, {Value: "b", Label: "B"}}; !reflect.DeepEqual(opts, want) {
		t.Errorf("options %+v", opts)
	}
	if _, err := render.NewOptions("a"); err == nil {
		t.Error("odd number of arguments accepted")
	}

	c := render.NewChoice("ids", "Identifiants", []int64{3, 5}, "", opts)
	if !c.Selected("3") || !c.Selected("5") || c.Selected("4") || !c.HasValue() {
		t.Errorf("slice value: %+v", c.Values)
	}
	if c := render.NewChoice("x", "X", "", "", opts); c.HasValue() || c.Selected("a") {
		t.Error("empty value counts as selected")
	}
	if c := render.NewChoice("x", "X", nil, "", opts); c.HasValue() {
		t.Error("nil value counts as selected")
	}
	if got := c.OptionID(0); got != "ids-1" {
		t.Errorf("OptionID(0) = %q", got)
	}
	d := c.WithInline().WithHint("h").WithPlaceholder("").WithRequired()
	if c.Inline || c.Hint != "" || c.Placeholder != "Sélectionner une option" {
		t.Error("With… methods modified the original")
	}
	if !d.Inline || d.Hint != "h" || d.Placeholder != "" || !d.Required {
		t.Errorf("methods not applied: %+v", d)
	}
}

func TestInputPartial(t *testing.T) {
	tpl := partials(t, `{{template "input" (((field "email" "Adresse électronique" .Value .Err).WithType "email").WithAutocomplete "email").WithHint "Format attendu : nom@exemple.fr"}}`)

	out := run(t, tpl, map[string]string{"Value": `a"<b>`, "Err": ""})
	containsAll(t, out,
		`<div class="fr-input-group">`,
		`<label class="fr-label" for="email">Adresse électronique <span class="fr-hint-text">Format attendu : nom@exemple.fr</span></label>`,
		`<input class="fr-input" type="email" id="email" name="email" value="a&#34;&lt;b&gt;" autocomplete="email">`,
	)
	containsNone(t, out, "error", "aria-invalid", "aria-describedby")

	out = run(t, tpl, map[string]string{"Value": "x", "Err": "Saisissez une adresse valide."})
	containsAll(t, out,
		`<div class="fr-input-group fr-input-group--error">`,
		`class="fr-input fr-input--error"`,
		`aria-invalid="true" aria-describedby="email-error">`,
		`<p class="fr-error-text" id="email-error">Saisissez une adresse valide.</p>`,
	)
}

func TestTextareaPartial(t *testing.T) {
	tpl := partials(t, `{{template "textarea" ((field "agenda" "Ordre du jour" .V .E).WithRows 8).WithRequired}}`)
	out := run(t, tpl, map[string]string{"V": "1. Accueil\n2. <Tour de table>", "E": "Trop long."})
	containsAll(t, out,
		`<textarea class="fr-input fr-input--error" id="agenda" name="agenda" rows="8" required aria-invalid="true" aria-describedby="agenda-error">1. Accueil
2. &lt;Tour de table&gt;</textarea>`,
		`<p class="fr-error-text" id="agenda-error">Trop long.</p>`,
	)
	out = run(t, partials(t, `{{template "textarea" (field "agenda" "Ordre du jour" "" "")}}`), nil)
	containsAll(t, out, `rows="5"`)
}

func TestSelectPartial(t *testing.T) {
	tpl := partials(t, `{{template "select" (choice "direction" "Direction" .V .E (options "dnum" "DNUM" "dgcs" "DGCS"))}}`)
	out := run(t, tpl, map[string]string{"V": "", "E": "Choisissez une direction."})
	containsAll(t, out,
		`<div class="fr-select-group fr-select-group--error">`,
		`<select class="fr-select fr-select--error" id="direction" name="direction" aria-invalid="true" aria-describedby="direction-error">`,
		`<option value="" selected disabled hidden>Sélectionner une option</option>`,
		`<option value="dnum">DNUM</option>`,
		`<p class="fr-error-text" id="direction-error">Choisissez une direction.</p>`,
	)
	out = run(t, tpl, map[string]string{"V": "dgcs", "E": ""})
	containsAll(t, out, `<option value="" disabled hidden>`, `<option value="dgcs" selected>DGCS</option>`, `<option value="dnum">DNUM</option>`)
	containsNone(t, out, "error")
}

func TestRadiosPartial(t *testing.T) {
	tpl := partials(t, `{{template "radios" ((choice "theme" "Thème" .V .E (options "role" "Rôle métier" "autre" "Autre")).WithInline)}}`)
	out := run(t, tpl, map[string]string{"V": "autre", "E": "Choisissez un thème."})
	containsAll(t, out,
		`<fieldset class="fr-fieldset fr-fieldset--error" id="theme" aria-labelledby="theme-legend theme-error">`,
		`<legend class="fr-fieldset__legend fr-fieldset__legend--regular" id="theme-legend">Thème</legend>`,
		`<div class="fr-fieldset__element fr-fieldset__element--inline">`,
		`<input type="radio" id="theme-1" name="theme" value="role">`,
		`<label class="fr-label" for="theme-1">Rôle métier</label>`,
		`<input type="radio" id="theme-2" name="theme" value="autre" checked>`,
		`<div class="fr-messages-group">
    <p class="fr-message fr-message--error fr-error-text" id="theme-error">Choisissez un thème.</p>
  </div>
</fieldset>`,
	)
	out = run(t, tpl, map[string]string{"V": "", "E": ""})
	containsAll(t, out, `aria-labelledby="theme-legend">`)
	containsNone(t, out, "checked", "error")
}

func TestCheckboxesPartial(t *testing.T) {
	tpl := partials(t, `{{template "checkboxes" ((choice "days" "Jours" .V "" (options "mon" "Lundi" "tue" "Mardi" "thu" "Jeudi")).WithHint "Au moins un")}}`)
	out := run(t, tpl, map[string][]string{"V": {"mon", "thu"}})
	containsNone(t, out, "error")
	containsAll(t, out,
		`<legend class="fr-fieldset__legend fr-fieldset__legend--regular" id="days-legend">Jours <span class="fr-hint-text">Au moins un</span></legend>`,
		`<input type="checkbox" id="days-1" name="days" value="mon" checked>`,
		`<input type="checkbox" id="days-2" name="days" value="tue">`,
		`<input type="checkbox" id="days-3" name="days" value="thu" checked>`,
	)

	tpl = partials(t, `{{template "checkboxes" (choice "days" "Jours" nil "Cochez au moins un jour." (options "mon" "Lundi"))}}`)
	out = run(t, tpl, nil)
	containsAll(t, out,
		`<fieldset class="fr-fieldset fr-fieldset--error" id="days" aria-labelledby="days-legend days-error">`,
		`<p class="fr-message fr-message--error fr-error-text" id="days-error">Cochez au moins un jour.</p>`,
	)
	containsNone(t, out, "checked")
}

func TestCheckboxPartial(t *testing.T) {
	tpl := partials(t, `{{template "checkbox" ((checkbox "open" "Groupe ouvert" .C .E).WithHint "Tout agent peut rejoindre")}}`)
	out := run(t, tpl, struct {
		C bool
		E string
	}{true, ""})
	containsAll(t, out,
		`<div class="fr-checkbox-group fr-mb-3w">`,
		`<input type="checkbox" id="open" name="open" value="true" checked>`,
		`<label class="fr-label" for="open">Groupe ouvert <span class="fr-hint-text">Tout agent peut rejoindre</span></label>`,
	)
	out = run(t, tpl, struct {
		C bool
		E string
	}{false, "Obligatoire."})
	containsAll(t, out,
		`<div class="fr-checkbox-group fr-checkbox-group--error fr-mb-3w">`,
		`<input type="checkbox" id="open" name="open" value="true" aria-invalid="true" aria-describedby="open-error">`,
		`<p class="fr-error-text" id="open-error">Obligatoire.</p>`,
	)
}

func TestSubmitAndCSRFPartials(t *testing.T) {
	out := run(t, partials(t, `{{template "csrf" .}}{{template "submit" ((submit "Enregistrer").WithCancel "/groups/3")}}`), struct{ CSRFToken string }{"abc"})
	containsAll(t, out,
		`<input type="hidden" name="csrf_token" value="abc">`,
		`<li><button type="submit" class="fr-btn">Enregistrer</button></li>`,
		`<li><a class="fr-btn fr-btn--secondary" href="/groups/3">Annuler</a></li>`,
	)
	out = run(t, partials(t, `{{template "submit" ((submit "Refuser").WithNameValue "decision" "no")}}`), nil)
	containsAll(t, out, `<button type="submit" class="fr-btn" name="decision" value="no">Refuser</button>`)
	containsNone(t, out, "fr-btn--secondary")
}

// A template error surfaces as an execution error, not as half a page.
func TestOptionsErrorFailsExecution(t *testing.T) {
	tpl := partials(t, `{{template "select" (choice "x" "X" "" "" (options "only-a-value"))}}`)
	if err := tpl.ExecuteTemplate(&bytes.Buffer{}, "page", nil); err == nil {
		t.Error("odd options did not fail")
	}
}

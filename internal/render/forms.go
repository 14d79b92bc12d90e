// Form fields for the DSFR partials in templates/partials.
//
// A page template builds a small value with one of the constructors below and
// hands it to the partial of the same family. The constructors take what every
// field has (name, label, current value, error message); everything optional is
// set with chainable With… methods, each returning a modified copy, so a value
// can be shared and refined without surprises.
//
//	{{template "input" (field "email" "Adresse électronique" .Form.Email (.Errors.Get "email"))}}
//
//	{{template "input" ((field "email" "Adresse électronique" .Form.Email (.Errors.Get "email")).WithType "email").WithAutocomplete "email"}}
//
//	{{template "textarea" ((field "agenda" "Ordre du jour" .Form.Agenda (.Errors.Get "agenda")).WithRows 8)}}
//
//	{{template "select" (choice "direction" "Direction" .Form.Direction (.Errors.Get "direction") .Directions)}}
//
//	{{template "radios" ((choice "theme" "Thème" .Form.Theme (.Errors.Get "theme")
//	    (options "role" "Rôle métier" "comitologie" "Comitologie" "hackathon" "Hackathon des communs" "autre" "Autre")).WithInline)}}
//
//	{{template "checkboxes" (choice "workshops" "Ateliers" .Form.Workshops (.Errors.Get "workshops") .WorkshopOptions)}}
//
//	{{template "checkbox" (checkbox "consent" "J’accepte d’être recontacté" .Form.Consent (.Errors.Get "consent"))}}
//
//	{{template "submit" ((submit "Enregistrer").WithCancel "/groups")}}
//
//	{{template "csrf" .}}   (inside every POST form; the page data has .CSRFToken)
//
// In Go code the same values are built directly, for instance
// render.NewField("email", "Adresse électronique", f.Email, errs.Get("email")).WithType("email").
//
// Template functions (FormFuncs):
//
//	field    name label value error              → Field   for "input" and "textarea"
//	choice   name label value error []Option     → Choice  for "select", "radios" and "checkboxes"
//	options  value label [value label …]         → []Option (static lists written in the template)
//	checkbox name label checked error            → Check   for "checkbox" (a single box, sent as value "true")
//	submit   label                               → Submit  for "submit"
//
// Values may be a string, any number, a bool, a fmt.Stringer or nil; a Choice also
// takes a slice (the selected values of "checkboxes"). The error is the French
// message shown under the field; an empty string means no error. Element ids are
// derived from the name ("email", "theme-1" …); use WithID when one page holds two
// forms with the same field names.
//
// The partials follow DSFR markup: the hint sits in the label (or legend); an
// error puts the group in its error state (fr-input-group--error …), adds
// aria-invalid and points aria-describedby at the fr-error-text paragraph. A
// radio or checkbox group names its error in the fieldset's aria-labelledby,
// inside a fr-messages-group as DSFR 1.12+ does.
package render

import (
	"errors"
	"fmt"
	"html/template"
	"reflect"
	"strconv"
	"strings"
)

// FormFuncs returns the template functions that build form field values.
func FormFuncs() template.FuncMap {
	return template.FuncMap{
		"field":    NewField,
		"choice":   NewChoice,
		"options":  NewOptions,
		"checkbox": NewCheck,
		"submit":   NewSubmit,
	}
}

// Field is a text-like control: an <input> ("input" partial) or a <textarea>
// ("textarea" partial).
type Field struct {
	ID           string
	Name         string
	Label        string
	Value        string
	Error        string
	Hint         string // help text shown under the label
	Type         string // input type: text (default), email, date, time, datetime-local, number, url, tel, search
	Autocomplete string // autocomplete token: email, name, given-name, family-name, organization, off …
	InputMode    string
	Min, Max     string // for date, time and number inputs
	MaxLength    int
	Rows         int // textarea height
	Required     bool
	Disabled     bool
}

// NewField builds a Field; it is the "field" template function.
func NewField(name, label string, value any, errMsg string) Field {
	return Field{ID: idFor(name), Name: name, Label: label, Value: stringify(value), Error: errMsg, Type: "text"}
}

// ErrorID is the id of the error paragraph that aria-describedby points at.
func (f Field) ErrorID() string { return f.ID + "-error" }

// WithHint sets the help text shown under the label.
func (f Field) WithHint(hint string) Field { f.Hint = hint; return f }

// WithType sets the input type (email, date, number …).
func (f Field) WithType(typ string) Field { f.Type = typ; return f }

// WithAutocomplete sets the autocomplete token, required by RGAA for the user's
// own data (email, name, organization …).
func (f Field) WithAutocomplete(token string) Field { f.Autocomplete = token; return f }

// WithInputMode sets the virtual keyboard hint (numeric, email, tel …).
func (f Field) WithInputMode(mode string) Field { f.InputMode = mode; return f }

// WithMin sets the min attribute (dates, times, numbers).
func (f Field) WithMin(v any) Field { f.Min = stringify(v); return f }

// WithMax sets the max attribute (dates, times, numbers).
func (f Field) WithMax(v any) Field { f.Max = stringify(v); return f }

// WithMaxLength sets the maxlength attribute.
func (f Field) WithMaxLength(n int) Field { f.MaxLength = n; return f }

// WithRows sets the height of a textarea.
func (f Field) WithRows(n int) Field { f.Rows = n; return f }

// WithRequired adds the required attribute.
func (f Field) WithRequired() Field { f.Required = true; return f }

// WithDisabled disables the control.
func (f Field) WithDisabled() Field { f.Disabled = true; return f }

// WithID overrides the element id derived from the name.
func (f Field) WithID(id string) Field { f.ID = idFor(id); return f }

// Option is one entry of a select, a radio group or a checkbox group.
type Option struct {
	Value    string
	Label    string
	Hint     string // shown under the option's label (radios and checkboxes only)
	Disabled bool
}

// NewOptions builds options from value/label pairs; it is the "options"
// template function, for short static lists.
func NewOptions(pairs ...string) ([]Option, error) {
	if len(pairs)%2 != 0 {
		return nil, errors.New("options: want value/label pairs, got an odd number of arguments")
	}
	opts := make([]Option, 0, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		opts = append(opts, Option{Value: pairs[i], Label: pairs[i+1]})
	}
	return opts, nil
}

// Choice is a control picking among options: a <select> ("select" partial), a
// radio group ("radios") or a checkbox group ("checkboxes"). Radio and
// checkbox groups are fieldsets whose legend is the label.
type Choice struct {
	ID          string
	Name        string
	Label       string
	Values      []string // selected values (one for select and radios)
	Error       string
	Hint        string
	Options     []Option
	Placeholder string // first, empty entry of a select; "" for none
	Inline      bool   // radios and checkboxes side by side
	Required    bool
	Disabled    bool
	Kind        string // "radio" or "checkbox": set by the "radios" and "checkboxes" partials
}

// NewChoice builds a Choice; it is the "choice" template function. value is the
// selected value, or a slice of them for a checkbox group.
func NewChoice(name, label string, value any, errMsg string, opts []Option) Choice {
	return Choice{
		ID: idFor(name), Name: name, Label: label, Values: stringifyAll(value), Error: errMsg,
		Options: opts, Placeholder: "Sélectionner une option",
	}
}

// Selected tells whether the option with this value is selected.
func (c Choice) Selected(value string) bool {
	for _, v := range c.Values {
		if v == value {
			return true
		}
	}
	return false
}

// HasValue tells whether anything is selected.
func (c Choice) HasValue() bool {
	for _, v := range c.Values {
		if v != "" {
			return true
		}
	}
	return false
}

// ErrorID is the id of the error paragraph.
func (c Choice) ErrorID() string { return c.ID + "-error" }

// LegendID is the id of a fieldset's legend.
func (c Choice) LegendID() string { return c.ID + "-legend" }

// OptionID is the id of the i-th radio or checkbox (counting from 0).
func (c Choice) OptionID(i int) string { return c.ID + "-" + strconv.Itoa(i+1) }

// WithHint sets the help text shown under the label or legend.
func (c Choice) WithHint(hint string) Choice { c.Hint = hint; return c }

// WithPlaceholder sets the label of a select's empty first entry ("" removes it).
func (c Choice) WithPlaceholder(label string) Choice { c.Placeholder = label; return c }

// WithInline puts radios or checkboxes on one line.
func (c Choice) WithInline() Choice { c.Inline = true; return c }

// WithRequired adds the required attribute (select and radios).
func (c Choice) WithRequired() Choice { c.Required = true; return c }

// WithDisabled disables the control.
func (c Choice) WithDisabled() Choice { c.Disabled = true; return c }

// WithID overrides the id derived from the name.
func (c Choice) WithID(id string) Choice { c.ID = idFor(id); return c }

// OfKind makes the choice a group of radios ("radio") or checkboxes
// ("checkbox"): the "radios" and "checkboxes" partials both render through
// "choices" with it.
func (c Choice) OfKind(kind string) Choice { c.Kind = kind; return c }

// Check is a single checkbox ("checkbox" partial), sent as value "true" when
// ticked and not sent at all otherwise.
type Check struct {
	ID       string
	Name     string
	Label    string
	Checked  bool
	Error    string
	Hint     string
	Required bool
	Disabled bool
}

// NewCheck builds a Check; it is the "checkbox" template function.
func NewCheck(name, label string, checked bool, errMsg string) Check {
	return Check{ID: idFor(name), Name: name, Label: label, Checked: checked, Error: errMsg}
}

// ErrorID is the id of the error paragraph.
func (c Check) ErrorID() string { return c.ID + "-error" }

// WithHint sets the help text shown under the label.
func (c Check) WithHint(hint string) Check { c.Hint = hint; return c }

// WithRequired adds the required attribute.
func (c Check) WithRequired() Check { c.Required = true; return c }

// WithDisabled disables the checkbox.
func (c Check) WithDisabled() Check { c.Disabled = true; return c }

// WithID overrides the id derived from the name.
func (c Check) WithID(id string) Check { c.ID = idFor(id); return c }

// Submit is a form's button group ("submit" partial): the primary submit
// button and an optional secondary link back, usually "Annuler".
type Submit struct {
	Label       string
	Name, Value string // optional name=value sent with the button
	CancelURL   string
	CancelLabel string
}

// NewSubmit builds a Submit; it is the "submit" template function.
func NewSubmit(label string) Submit { return Submit{Label: label, CancelLabel: "Annuler"} }

// WithCancel adds a secondary "Annuler" link to url.
func (s Submit) WithCancel(url string) Submit { s.CancelURL = url; return s }

// WithCancelLabel changes the text of the secondary link.
func (s Submit) WithCancelLabel(label string) Submit { s.CancelLabel = label; return s }

// WithNameValue makes the button send name=value, to tell several submit
// buttons of one form apart.
func (s Submit) WithNameValue(name, value string) Submit { s.Name, s.Value = name, value; return s }

// idFor turns a field name such as "workshops[]" or "slot.start" into a valid,
// readable element id.
func idFor(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_'
		if ok {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
		} else {
			dash = true
		}
	}
	if b.Len() == 0 {
		return "champ"
	}
	id := b.String()
	if c := id[0]; c >= '0' && c <= '9' {
		id = "champ-" + id
	}
	return id
}

// stringify renders a form value the way it is sent back by the browser.
func stringify(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case fmt.Stringer:
		if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && rv.IsNil() {
			return ""
		}
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return ""
		}
		return stringify(rv.Elem().Interface())
	}
	return fmt.Sprint(v)
}

// stringifyAll renders a single value or a slice of values.
func stringifyAll(v any) []string {
	if v == nil {
		return nil
	}
	if s, ok := v.([]string); ok {
		return append([]string(nil), s...)
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Slice || rv.Kind() == reflect.Array {
		out := make([]string, rv.Len())
		for i := range out {
			out[i] = stringify(rv.Index(i).Interface())
		}
		return out
	}
	if s := stringify(v); s != "" {
		return []string{s}
	}
	return nil
}

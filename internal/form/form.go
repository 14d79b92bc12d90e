// Package form holds what every form's Validate() needs: a set of French
// error messages keyed by field, and checks shared by many forms.
package form

import (
	"net/mail"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Errors maps a field name to its French error message.
type Errors map[string]string

// Add records msg for field, keeping the first message per field.
func (e *Errors) Add(field, msg string) {
	if *e == nil {
		*e = Errors{}
	}
	if _, ok := (*e)[field]; !ok {
		(*e)[field] = msg
	}
}

// Get returns the message for field ("" when it is fine).
func (e Errors) Get(field string) string { return e[field] }

// Any tells whether there is at least one error.
func (e Errors) Any() bool { return len(e) > 0 }

// Email checks an address; it returns it normalised, or adds an error.
func (e *Errors) Email(field, value string) string {
	v := strings.TrimSpace(value)
	switch {
	case v == "":
		e.Add(field, "Saisissez une adresse électronique.")
		return ""
	case len(v) > 254 || strings.ContainsAny(v, "\r\n<>,; \"") || !ValidEmail(v):
		e.Add(field, "Saisissez une adresse électronique valide, par exemple prenom.nom@sg.social.gouv.fr.")
		return ""
	}
	return strings.ToLower(v)
}

// ValidEmail tells whether v is a bare address with a domain containing a dot.
func ValidEmail(v string) bool {
	a, err := mail.ParseAddress(v)
	if err != nil || a.Address != v || a.Name != "" {
		return false
	}
	at := strings.LastIndexByte(v, '@')
	return at > 0 && (strings.Contains(v[at+1:], ".") || v[at+1:] == "localhost")
}

// Text checks a one-line text: required or not, at most max characters,
// no line break, no control character. It returns the trimmed value.
func (e *Errors) Text(field, value string, required bool, max int) string {
	v := strings.TrimSpace(value)
	switch {
	case v == "" && required:
		e.Add(field, "Ce champ est obligatoire.")
	case utf8.RuneCountInString(v) > max:
		e.Add(field, "Ce champ ne doit pas dépasser "+strconv.Itoa(max)+" caractères.")
	case strings.ContainsFunc(v, isControl):
		e.Add(field, "Ce champ ne doit contenir ni retour à la ligne ni caractère de contrôle.")
	}
	return v
}

// LongText checks a multi-line text (line breaks allowed).
func (e *Errors) LongText(field, value string, required bool, max int) string {
	v := strings.TrimSpace(strings.ReplaceAll(value, "\r\n", "\n"))
	switch {
	case v == "" && required:
		e.Add(field, "Ce champ est obligatoire.")
	case utf8.RuneCountInString(v) > max:
		e.Add(field, "Ce texte ne doit pas dépasser "+strconv.Itoa(max)+" caractères.")
	case strings.ContainsFunc(v, func(r rune) bool { return r != '\n' && r != '\t' && isControl(r) }):
		e.Add(field, "Ce texte contient un caractère de contrôle.")
	case !utf8.ValidString(v):
		e.Add(field, "Ce texte n'est pas de l'UTF-8 valide.")
	}
	return v
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || r == 0x2028 || r == 0x2029 }

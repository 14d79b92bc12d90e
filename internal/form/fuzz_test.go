package form_test

import (
	"net/mail"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/dnum-sociaux/agora/internal/form"
)

// FuzzEmail: whatever is typed in an email field, the check either refuses
// it with a message or returns one bare, lowercase address that the mail
// library reads back unchanged and that cannot carry a header.
func FuzzEmail(f *testing.F) {
	for _, s := range []string{
		"prenom.nom@sg.social.gouv.fr", " Prenom.Nom@Travail.Gouv.FR ", "a@localhost", "", "pas une adresse",
		"a@b", "\"quoted name\"@example.org", "a@example.org\r\nBcc: x@evil.example", "Nom <a@example.org>",
		"a@example.org, b@example.org", "é@exemple.fr", "a@[127.0.0.1]", strings.Repeat("a", 250) + "@b.fr",
		"a..b@example.org", "(comment)a@example.org", "a@example.org.", "=?utf-8?q?x?=@example.org",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var errs form.Errors
		got := errs.Email("email", in)
		if errs.Any() {
			if got != "" {
				t.Fatalf("Email(%q) = %q with error %q; want \"\"", in, got, errs.Get("email"))
			}
			if errs.Get("email") == "" {
				t.Fatalf("Email(%q): error without a message", in)
			}
			return
		}
		if got == "" || got != strings.ToLower(got) || got != strings.TrimSpace(got) {
			t.Fatalf("Email(%q) = %q: not a trimmed lowercase address", in, got)
		}
		if strings.ContainsAny(got, "\r\n<>,;\" ") || len(got) > 254 {
			t.Fatalf("Email(%q) = %q: holds a character that could break a header", in, got)
		}
		a, err := mail.ParseAddress(got)
		if err != nil || a.Address != got || a.Name != "" {
			t.Fatalf("Email(%q) = %q, which net/mail reads as %v, %v", in, got, a, err)
		}
	})
}

// FuzzText: a one-line text accepted by Text has no line break or control
// character and respects the length; LongText keeps line breaks but no
// other control character, no CR, and only valid UTF-8.
func FuzzText(f *testing.F) {
	for _, s := range []string{"Comité produit", "  espaces  ", "ligne\nsuivante", "tab\tulation", "\x00nul", "\u2028sep",
		strings.Repeat("é", 101), "\xff\xfe invalide", "a\r\nb", "🎉 fête"} {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, in string, required bool) {
		const max = 100
		var errs form.Errors
		got := errs.Text("name", in, required, max)
		if !errs.Any() {
			if strings.ContainsFunc(got, func(r rune) bool { return r < 0x20 || r == 0x7f || r == 0x2028 || r == 0x2029 }) {
				t.Fatalf("Text accepted %q with a control character", got)
			}
			if utf8.RuneCountInString(got) > max {
				t.Fatalf("Text accepted %d characters, max %d", utf8.RuneCountInString(got), max)
			}
			if required && got == "" {
				t.Fatal("Text accepted an empty required value")
			}
		}
		var long form.Errors
		got = long.LongText("body", in, required, 5*max)
		if !long.Any() {
			if strings.Contains(got, "\r") || !utf8.ValidString(got) {
				t.Fatalf("LongText accepted %q (CR or invalid UTF-8)", got)
			}
			if strings.ContainsFunc(got, func(r rune) bool { return r != '\n' && r != '\t' && (r < 0x20 || r == 0x7f) }) {
				t.Fatalf("LongText accepted %q with a control character", got)
			}
			if utf8.RuneCountInString(got) > 5*max {
				t.Fatalf("LongText accepted %d characters", utf8.RuneCountInString(got))
			}
		}
	})
}

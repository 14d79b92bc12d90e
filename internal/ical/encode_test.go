package ical

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestAppendText(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "Comité produit", "Comité produit"},
		{"comma", "a,b", `a\,b`},
		{"semicolon", "a;b", `a\;b`},
		{"backslash", `a\b`, `a\\b`},
		{"backslash before n stays two characters", `C:\new`, `C:\\new`},
		{"colon is not escaped", "Ordre du jour : suite", "Ordre du jour : suite"},
		{"double quote is not escaped", `"Atelier"`, `"Atelier"`},
		{"LF", "a\nb", `a\nb`},
		{"CRLF from a textarea is one line break", "a\r\nb", `a\nb`},
		{"lone CR", "a\rb", `a\nb`},
		{"CR CR LF", "a\r\r\nb", `a\n\nb`},
		{"trailing CR", "a\r", `a\n`},
		{"tab kept", "a\tb", "a\tb"},
		{"other controls dropped", "a\x00b\x07c\x1bd\x7fe", "abcde"},
		{"invalid UTF-8 replaced byte by byte", "a\xff\xfeb", "a\uFFFD\uFFFDb"},
		{"truncated UTF-8 sequence", "caf\xc3", "caf\uFFFD"},
		{"non-ASCII kept", "œuvre, été 🎉", `œuvre\, été 🎉`},
		{"everything", "Lieu : salle 1, bât. B; \\\\srv\\partage\r\nÉtage 2",
			`Lieu : salle 1\, bât. B\; \\\\srv\\partage\nÉtage 2`},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(appendText(nil, tt.in))
			if got != tt.want {
				t.Errorf("appendText(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestAppendFolded(t *testing.T) {
	a := func(n int) string { return strings.Repeat("a", n) }
	tests := []struct {
		name, in, want string
	}{
		{"short", "SUMMARY:x", "SUMMARY:x\r\n"},
		{"exactly 75 octets is not folded", a(75), a(75) + "\r\n"},
		{"76 octets", a(76), a(75) + "\r\n a\r\n"},
		{"continuation lines carry 74 octets", a(75 + 74 + 1), a(75) + "\r\n " + a(74) + "\r\n a\r\n"},
		// é is 2 octets: at octets 75-76 it would be cut in two.
		{"two-octet character across the limit", a(74) + "é", a(74) + "\r\n é\r\n"},
		{"two-octet character ending at the limit", a(73) + "éb", a(73) + "é\r\n b\r\n"},
		// 🎉 is 4 octets.
		{"four-octet character across the limit", a(72) + "🎉b", a(72) + "\r\n 🎉b\r\n"},
		{"four-octet character ending at the limit", a(71) + "🎉b", a(71) + "🎉\r\n b\r\n"},
		{"three-octet character across a continuation limit", a(75) + a(72) + "€b",
			a(75) + "\r\n " + a(72) + "\r\n €b\r\n"},
		{"empty", "", "\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(appendFolded(nil, []byte(tt.in)))
			if got != tt.want {
				t.Errorf("appendFolded(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
			checkFolded(t, tt.in, got)
		})
	}
}

// checkFolded asserts the folding invariants: physical lines of at most 75
// octets, valid UTF-8 each, CRLF-terminated, continuation lines starting with
// a space, and unfolding gives back the logical line.
func checkFolded(t *testing.T, logical, folded string) {
	t.Helper()
	if !strings.HasSuffix(folded, "\r\n") {
		t.Fatalf("folded line does not end with CRLF: %q", folded)
	}
	lines := strings.Split(strings.TrimSuffix(folded, "\r\n"), "\r\n")
	var unfolded strings.Builder
	for i, l := range lines {
		if len(l) > maxLineOctets {
			t.Errorf("physical line %d is %d octets", i, len(l))
		}
		if !utf8.ValidString(l) {
			t.Errorf("physical line %d splits a UTF-8 character: %q", i, l)
		}
		if i > 0 {
			if !strings.HasPrefix(l, " ") || len(l) < 2 {
				t.Fatalf("continuation line %d does not start with a space or is empty: %q", i, l)
			}
			l = l[1:]
		}
		unfolded.WriteString(l)
	}
	if unfolded.String() != logical {
		t.Errorf("unfolding gives %q, want %q", unfolded.String(), logical)
	}
}

func TestCleanParamValue(t *testing.T) {
	tests := []struct {
		in, want, written string
	}{
		{"Jean Dupont", "Jean Dupont", "Jean Dupont"},
		{"Jeanne d'Arc", "Jeanne d'Arc", "Jeanne d'Arc"},
		{"Dupont, Jean", "Dupont, Jean", `"Dupont, Jean"`},
		{"DNUM; SDPSN", "DNUM; SDPSN", `"DNUM; SDPSN"`},
		{"Équipe : communs", "Équipe : communs", `"Équipe : communs"`},
		{`Jean "Jeannot" Dupont`, "Jean 'Jeannot' Dupont", "Jean 'Jeannot' Dupont"},
		{`back\slash`, `back\slash`, `back\slash`},
		{"Line\r\nbreak", "Line  break", "Line  break"},
		{"  padded \t", "padded", "padded"},
		{"Zoë 🎉", "Zoë 🎉", "Zoë 🎉"},
		{"bad\xffbyte", "bad\uFFFDbyte", "bad\uFFFDbyte"},
		{"", "", ""},
	}
	for _, tt := range tests {
		got := cleanParamValue(tt.in)
		if got != tt.want {
			t.Errorf("cleanParamValue(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if w := string(appendParamValue(nil, got)); w != tt.written {
			t.Errorf("appendParamValue(%q) = %q, want %q", got, w, tt.written)
		}
	}
}

// FuzzFold checks that any TEXT value, escaped then folded, obeys the line
// rules and unfolds back to itself.
func FuzzFold(f *testing.F) {
	f.Add("DESCRIPTION:", strings.Repeat("é", 100))
	f.Add("SUMMARY:", strings.Repeat("🎉", 40))
	f.Add("X:", strings.Repeat("a", 73)+"€€€")
	f.Add("LOCATION:", "a,b;c\\d\r\ne\rf\n")
	f.Fuzz(func(t *testing.T, prefix, value string) {
		if !utf8.ValidString(prefix) || strings.ContainsAny(prefix, "\r\n") {
			t.Skip() // property names are constants of this package
		}
		line := appendText([]byte(prefix), value)
		if !utf8.Valid(line) || strings.ContainsAny(string(line), "\r\n") {
			t.Fatalf("escaped value is not one valid UTF-8 line: %q", line)
		}
		checkFolded(t, string(line), string(appendFolded(nil, line)))
	})
}

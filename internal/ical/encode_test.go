package ical

import (
	"strings"
	"testing"
	"unicode/utf8"

	ics "github.com/arran4/golang-ical"
)

// eventLines serialises a calendar holding one VEVENT with the given
// properties, through serialize as Invitation and Feed do, checks it is well
// formed, and returns the VEVENT's properties as written (folded, with CRLF).
func eventLines(t testing.TB, props ...ics.IANAProperty) string {
	t.Helper()
	return serializeEvent(t, true, props)
}

func serializeEvent(t testing.TB, wellFormed bool, props []ics.IANAProperty) string {
	t.Helper()
	cal := &ics.Calendar{}
	cal.AddVEvent(&ics.VEvent{ComponentBase: ics.ComponentBase{Properties: props}})
	b, err := serialize(cal, 0)
	if err != nil {
		t.Fatal(err)
	}
	if wellFormed {
		checkWellFormed(t, b)
	}
	s, ok := strings.CutPrefix(string(b), "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n")
	if !ok {
		t.Fatalf("unexpected calendar start: %q", b)
	}
	s, ok = strings.CutSuffix(s, "END:VEVENT\r\nEND:VCALENDAR\r\n")
	if !ok {
		t.Fatalf("unexpected calendar end: %q", b)
	}
	return s
}

// textProperty returns the property name with the TEXT value s, as newEvent
// builds it.
func textProperty(name ics.ComponentProperty, s string) ics.IANAProperty {
	var c ics.ComponentBase
	addProperty(&c, name, cleanText(s))
	return c.Properties[0]
}

// TestGolangICalDefects pins the two defects of golang-ical v0.3.4 that
// encode.go works around. If it fails after an upgrade, the library has
// changed: check whether cleanText and calAddress are still needed, and
// update docs/adr/0006-icalendar-with-golang-ical.md.
func TestGolangICalDefects(t *testing.T) {
	var c ics.ComponentBase
	c.AddAttendee("a@b.fr", ics.WithCN("Jeanne d'Arc"))
	c.AddAttendee("c@d.fr", ics.WithCN("Dupont, Jean"))
	c.AddProperty(ics.ComponentPropertyDescription, "a\r\nb")
	got := serializeEvent(t, false, c.Properties)
	want := "" +
		`ATTENDEE;CN=Jeanne d\'Arc:mailto:a@b.fr` + "\r\n" + // RFC 5545: CN=Jeanne d'Arc
		`ATTENDEE;CN=Dupont\, Jean:mailto:c@d.fr` + "\r\n" + // RFC 5545: CN="Dupont, Jean"
		"DESCRIPTION:a\r\\nb\r\n" // a bare CR inside the line
	if got != want {
		t.Errorf("golang-ical's behaviour changed: the workarounds in encode.go may be obsolete\n got %q\nwant %q", got, want)
	}
}

// TestTextValues checks the text workaround (cleanText) together with
// golang-ical's escaping: every line break becomes \n, control characters
// disappear, and nothing is escaped twice.
func TestTextValues(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "Comité produit", "Comité produit"},
		{"comma", "a,b", `a\,b`},
		{"semicolon", "a;b", `a\;b`},
		{"backslash", `a\b`, `a\\b`},
		{"backslash before n stays two characters", `C:\new`, `C:\\new`},
		{"already escaped text is escaped again, not kept", `a\,b\nc`, `a\\\,b\\nc`},
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
			got := eventLines(t, textProperty(ics.ComponentPropertyDescription, tt.in))
			if want := "DESCRIPTION:" + tt.want + "\r\n"; got != want {
				t.Errorf("DESCRIPTION from %q:\n got %q\nwant %q", tt.in, got, want)
			}
		})
	}
}

// TestCalAddress checks the parameter workaround (calAddress): display names
// are quoted when RFC 5545 requires it and never backslash-escaped, the other
// parameters follow sorted by name, the address is written as is, and the
// independent parser reads back the name and the address.
func TestCalAddress(t *testing.T) {
	role := param(ics.ParameterRole, "REQ-PARTICIPANT")
	tests := []struct {
		in, written string // written is "" for no CN
	}{
		{"Jean Dupont", "Jean Dupont"},
		{"Jeanne d'Arc", "Jeanne d'Arc"},
		{"Dupont, Jean", `"Dupont, Jean"`},
		{"DNUM; SDPSN", `"DNUM; SDPSN"`},
		{"Équipe : communs", `"Équipe : communs"`},
		{`Jean "Jeannot" Dupont`, "Jean 'Jeannot' Dupont"},
		{`back\slash`, `back\slash`},
		{`"Dupont\, Jean"`, `"'Dupont\, Jean'"`},
		{"Line\r\nbreak", "Line  break"},
		{"  padded \t", "padded"},
		{"Zoë 🎉", "Zoë 🎉"},
		{"bad\xffbyte", "bad\uFFFDbyte"},
		{"", ""},
		{" \r\n ", ""},
	}
	const email = "o'brien+agora@sante.example.gouv.fr"
	for _, tt := range tests {
		got := eventLines(t, calAddress(ics.ComponentPropertyAttendee, tt.in, email, role))
		want := "ATTENDEE;ROLE=REQ-PARTICIPANT:mailto:" + email
		if tt.written != "" {
			want = "ATTENDEE;CN=" + tt.written + ";ROLE=REQ-PARTICIPANT:mailto:" + email
		}
		if unfolded := strings.ReplaceAll(got, "\r\n ", ""); unfolded != want+"\r\n" {
			t.Errorf("CN %q:\n got %q\nwant %q", tt.in, unfolded, want+"\r\n")
		}

		cal := parse(t, []byte("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n"+got+"END:VEVENT\r\nEND:VCALENDAR\r\n"))
		p := cal.Children[0].Props.Get("ATTENDEE")
		if p == nil {
			t.Fatalf("CN %q: no ATTENDEE", tt.in)
		}
		if got, want := p.Params.Get("CN"), wantParam(tt.in); got != want {
			t.Errorf("CN %q reads back as %q, want %q", tt.in, got, want)
		}
		if p.Value != "mailto:"+email || p.Params.Get("ROLE") != "REQ-PARTICIPANT" {
			t.Errorf("CN %q: ATTENDEE reads back as %+v", tt.in, p)
		}
	}
}

func TestFolding(t *testing.T) {
	// Each logical line is "X-F:" (4 octets) followed by the value.
	a := func(n int) string { return strings.Repeat("a", n) }
	tests := []struct {
		name, value, want string
	}{
		{"short", "x", "X-F:x\r\n"},
		{"exactly 75 octets is not folded", a(71), "X-F:" + a(71) + "\r\n"},
		{"76 octets", a(72), "X-F:" + a(71) + "\r\n a\r\n"},
		{"continuation lines carry 74 octets", a(71 + 74 + 1), "X-F:" + a(71) + "\r\n " + a(74) + "\r\n a\r\n"},
		// é is 2 octets: at octets 75-76 it would be cut in two.
		{"two-octet character across the limit", a(70) + "é", "X-F:" + a(70) + "\r\n é\r\n"},
		{"two-octet character ending at the limit", a(69) + "éb", "X-F:" + a(69) + "é\r\n b\r\n"},
		// 🎉 is 4 octets.
		{"four-octet character across the limit", a(68) + "🎉b", "X-F:" + a(68) + "\r\n 🎉b\r\n"},
		{"four-octet character ending at the limit", a(67) + "🎉b", "X-F:" + a(67) + "🎉\r\n b\r\n"},
		{"three-octet character across a continuation limit", a(71) + a(72) + "€b",
			"X-F:" + a(71) + "\r\n " + a(72) + "\r\n €b\r\n"},
		// golang-ical folds before the last space that fits, when there is one;
		// the space stays, after the one that marks the fold.
		{"fold before a space", a(60) + " " + a(20), "X-F:" + a(60) + "\r\n  " + a(20) + "\r\n"},
		{"only spaces", strings.Repeat(" ", 80), "X-F:" + strings.Repeat(" ", 71) + "\r\n " + strings.Repeat(" ", 9) + "\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := eventLines(t, textProperty("X-F", tt.value))
			if got != tt.want {
				t.Errorf("X-F:%q\n got %q\nwant %q", tt.value, got, tt.want)
			}
			checkFolded(t, "X-F:"+tt.value, got)
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

// escapeText is an independent statement of RFC 5545 TEXT escaping.
var escapeText = strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\n", `\n`).Replace

// FuzzFold checks that any TEXT value, written by golang-ical after
// cleanText, obeys the line rules and unfolds to the escaped normalised value.
// The first argument, reduced to the letters, digits and hyphens of an
// X- property name, moves the value along the line.
func FuzzFold(f *testing.F) {
	f.Add("DESCRIPTION:", strings.Repeat("é", 100))
	f.Add("SUMMARY:", strings.Repeat("🎉", 40))
	f.Add("X:", strings.Repeat("a", 73)+"€€€")
	f.Add("LOCATION:", "a,b;c\\d\r\ne\rf\n")
	f.Fuzz(func(t *testing.T, prefix, value string) {
		name := "X-" + strings.Map(func(r rune) rune {
			switch {
			case r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-':
				return r
			case r >= 'a' && r <= 'z':
				return r - 'a' + 'A'
			}
			return -1
		}, prefix)
		got := eventLines(t, textProperty(ics.ComponentProperty(name), value))
		checkFolded(t, name+":"+escapeText(wantText(value)), got)
	})
}

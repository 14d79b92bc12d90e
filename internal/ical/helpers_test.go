package ical

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	goical "github.com/emersion/go-ical"

	_ "time/tzdata" // the independent parser resolves TZID with Go's zone database: make tests hermetic
)

// checkWellFormed asserts the syntax rules of RFC 5545 that clients are
// strict about, on the raw bytes: CRLF everywhere, physical lines of at most
// 75 octets that are each valid UTF-8, balanced components, UTC stamps with
// Z, and no TZID without its VTIMEZONE nor local time marked Z.
func checkWellFormed(t testing.TB, b []byte) {
	t.Helper()
	if !bytes.HasSuffix(b, []byte("\r\n")) {
		t.Fatalf("output does not end with CRLF: %q", tail(b))
	}
	physical := strings.Split(string(b[:len(b)-2]), "\r\n")
	for i, l := range physical {
		if strings.ContainsAny(l, "\r\n") {
			t.Errorf("line %d has a bare CR or LF: %q", i+1, l)
		}
		if len(l) > maxLineOctets {
			t.Errorf("line %d is %d octets long: %q", i+1, len(l), l)
		}
		if !utf8.ValidString(l) {
			t.Errorf("line %d is not valid UTF-8 on its own: %q", i+1, l)
		}
		if l == "" {
			t.Errorf("line %d is empty", i+1)
		}
		for _, r := range l {
			if (r < 0x20 && r != '\t') || r == 0x7f {
				t.Errorf("line %d has control character %U: %q", i+1, r, l)
			}
		}
	}
	if physical[0] != "BEGIN:VCALENDAR" || physical[len(physical)-1] != "END:VCALENDAR" {
		t.Errorf("calendar not delimited by BEGIN/END:VCALENDAR: %q … %q", physical[0], physical[len(physical)-1])
	}

	// Unfold, then check logical lines.
	var logical []string
	for _, l := range physical {
		if strings.HasPrefix(l, " ") && len(logical) > 0 {
			logical[len(logical)-1] += l[1:]
			continue
		}
		logical = append(logical, l)
	}
	var stack []string
	hasParis := false
	usesParis := false
	for _, l := range logical {
		name, value, _ := strings.Cut(l, ":")
		switch {
		case name == "BEGIN":
			stack = append(stack, value)
		case name == "END":
			if len(stack) == 0 || stack[len(stack)-1] != value {
				t.Errorf("END:%s does not close %v", value, stack)
			} else {
				stack = stack[:len(stack)-1]
			}
		case name == "TZID" && value == parisTZID && len(stack) > 0 && stack[len(stack)-1] == "VTIMEZONE":
			hasParis = true
		case strings.Contains(name, ";TZID="):
			if name[strings.Index(name, ";TZID=")+6:] != parisTZID {
				t.Errorf("unexpected TZID: %q", l)
			}
			usesParis = true
			if strings.HasSuffix(value, "Z") {
				t.Errorf("local time marked Z: %q", l)
			}
		case name == "DTSTAMP" || name == "CREATED" || name == "LAST-MODIFIED" || name == "DTSTART" || name == "DTEND":
			if len(stack) > 0 && (stack[len(stack)-1] == "DAYLIGHT" || stack[len(stack)-1] == "STANDARD") {
				continue // VTIMEZONE onsets are local times by definition
			}
			if len(value) != len("20060102T150405Z") || !strings.HasSuffix(value, "Z") {
				t.Errorf("date-time without TZID is not UTC with Z: %q", l)
			}
		}
	}
	if len(stack) != 0 {
		t.Errorf("unclosed components: %v", stack)
	}
	if usesParis && !hasParis {
		t.Errorf("TZID=%s used without its VTIMEZONE", parisTZID)
	}
}

func tail(b []byte) []byte {
	if len(b) > 40 {
		return b[len(b)-40:]
	}
	return b
}

// parse reads b with github.com/emersion/go-ical, a parser independent of
// this package, which is strict about escapes and parameter quoting.
func parse(t testing.TB, b []byte) *goical.Calendar {
	t.Helper()
	cal, err := goical.NewDecoder(bytes.NewReader(b)).Decode()
	if err != nil {
		t.Fatalf("independent parser rejects output: %v\n%s", err, b)
	}
	return cal
}

// text returns the unescaped TEXT value of prop name, or "" if absent.
func text(t testing.TB, c *goical.Component, name string) string {
	t.Helper()
	p := c.Props.Get(name)
	if p == nil {
		return ""
	}
	s, err := p.Text()
	if err != nil {
		t.Fatalf("%s: %v (raw %q)", name, err, p.Value)
	}
	if others := c.Props.Values(name); len(others) != 1 {
		t.Fatalf("%s appears %d times", name, len(others))
	}
	return s
}

// wantText is what a TEXT value should read back as: an independent
// statement of the documented normalisation (invalid bytes become U+FFFD,
// CRLF and CR become LF, other control characters except TAB are dropped).
func wantText(s string) string {
	var b strings.Builder
	for _, r := range s { // one U+FFFD per invalid byte
		b.WriteRune(r)
	}
	s = strings.ReplaceAll(b.String(), "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.Map(func(r rune) rune {
		if (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// wantParam is what a CN parameter should read back as.
func wantParam(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r < 0x20 || r == 0x7f:
			return ' '
		case r == '"':
			return '\''
		}
		return r
	}, s)
	return strings.Trim(s, " ")
}

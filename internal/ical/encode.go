package ical

import (
	"time"
	"unicode/utf8"
)

// maxLineOctets is the longest physical line RFC 5545 §3.1 allows, not
// counting the CRLF.
const maxLineOctets = 75

// encoder writes iCalendar content lines. Each property is first built,
// unfolded, in line, then folded into out with CRLF line endings.
//
// The encoder is the only place that knows the syntax of a content line:
// how TEXT is escaped, how parameter values are quoted and how lines are
// folded. Callers choose which properties to write and in which order.
type encoder struct {
	out  []byte
	line []byte
}

// raw writes a content line that is already valid, such as "BEGIN:VEVENT".
func (e *encoder) raw(s string) {
	e.line = append(e.line[:0], s...)
	e.flush()
}

// text writes NAME:value with value escaped as TEXT.
func (e *encoder) text(name, value string) {
	e.line = append(e.line[:0], name...)
	e.line = append(e.line, ':')
	e.line = appendText(e.line, value)
	e.flush()
}

// token writes NAME:value with value written as is. Only for values built by
// this package (integers, enumerated tokens, validated URIs).
func (e *encoder) token(name, value string) {
	e.line = append(e.line[:0], name...)
	e.line = append(e.line, ':')
	e.line = append(e.line, value...)
	e.flush()
}

// utc writes NAME:YYYYMMDDTHHMMSSZ.
func (e *encoder) utc(name string, t time.Time) {
	e.line = append(e.line[:0], name...)
	e.line = append(e.line, ':')
	e.line = t.UTC().AppendFormat(e.line, "20060102T150405Z")
	e.flush()
}

// local writes NAME;TZID=Europe/Paris:YYYYMMDDTHHMMSS when the Paris wall
// clock names t without ambiguity, and falls back to UTC otherwise (see
// parisWallClock). Either way a reader gets back the same instant.
func (e *encoder) local(name string, t time.Time) {
	wall, ok := parisWallClock(t)
	if !ok {
		e.utc(name, t)
		return
	}
	e.line = append(e.line[:0], name...)
	e.line = append(e.line, ";TZID="+parisTZID+":"...)
	e.line = wall.AppendFormat(e.line, "20060102T150405")
	e.flush()
}

// calAddress writes NAME<params>;CN=cn:mailto:email. params is a constant
// list of parameters written as is, starting with ';' (or empty); cn is
// omitted when empty. The email must have been checked with checkEmail.
func (e *encoder) calAddress(name, params, cn, email string) {
	e.line = append(e.line[:0], name...)
	e.line = append(e.line, params...)
	if cn = cleanParamValue(cn); cn != "" {
		e.line = append(e.line, ";CN="...)
		e.line = appendParamValue(e.line, cn)
	}
	e.line = append(e.line, ":mailto:"...)
	e.line = append(e.line, email...)
	e.flush()
}

func (e *encoder) flush() {
	e.out = appendFolded(e.out, e.line)
}

// appendFolded appends line to dst, folded as RFC 5545 §3.1 requires: no
// physical line longer than 75 octets, each continuation line starting with
// one space, every line ending with CRLF. A fold never falls inside a UTF-8
// sequence, so every physical line is valid UTF-8 on its own, which some
// clients (older Outlook builds) need to display accents and emoji.
//
// line must be valid UTF-8 and contain no CR or LF.
func appendFolded(dst, line []byte) []byte {
	limit := maxLineOctets
	for len(line) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(line[cut]) {
			cut--
		}
		if cut == 0 { // not UTF-8; cannot happen with our inputs, but always progress
			cut = limit
		}
		dst = append(dst, line[:cut]...)
		dst = append(dst, "\r\n "...)
		line = line[cut:]
		limit = maxLineOctets - 1 // the leading space counts
	}
	dst = append(dst, line...)
	return append(dst, '\r', '\n')
}

// appendText appends s escaped as an RFC 5545 TEXT value (§3.3.11):
// backslash, semicolon and comma are escaped, and every line break (CRLF, CR
// or LF: browsers submit textareas with CRLF) becomes the two characters \n.
// Other control characters are not allowed in TEXT and are dropped; invalid
// UTF-8 becomes U+FFFD, since the calendar is declared charset=utf-8.
func appendText(dst []byte, s string) []byte {
	if !utf8.ValidString(s) {
		s = replaceInvalidUTF8(s)
	}
	// Copy runs of ordinary characters at once; stop on the ASCII bytes that
	// need work. Bytes of multi-octet characters are all >= 0x80.
	run := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '\\' && c != ';' && c != ',' && c != 0x7f || c == '\t' {
			continue
		}
		dst = append(dst, s[run:i]...)
		run = i + 1
		switch c {
		case '\\', ';', ',':
			dst = append(dst, '\\', c)
		case '\r':
			if i+1 < len(s) && s[i+1] == '\n' {
				i++
				run++
			}
			dst = append(dst, '\\', 'n')
		case '\n':
			dst = append(dst, '\\', 'n')
		default:
			// another control character: not representable in TEXT, dropped
		}
	}
	return append(dst, s[run:]...)
}

// replaceInvalidUTF8 replaces each byte of s that is not part of a valid
// UTF-8 sequence with U+FFFD.
func replaceInvalidUTF8(s string) string {
	b := make([]byte, 0, len(s)+8)
	for _, r := range s { // invalid bytes come out one by one as U+FFFD
		b = utf8.AppendRune(b, r)
	}
	return string(b)
}

// cleanParamValue prepares a display name for use as a parameter value
// (RFC 5545 §3.2). Parameter values have no escape mechanism: control
// characters become spaces and a double quote becomes an apostrophe (RFC 6868
// caret encoding would be exact, but Outlook shows it literally). Invalid UTF-8
// becomes U+FFFD. Surrounding spaces are trimmed.
func cleanParamValue(s string) string {
	if paramValueIsClean(s) {
		return s
	}
	b := make([]byte, 0, len(s))
	for _, r := range s { // invalid bytes come out one by one as U+FFFD
		switch {
		case r < 0x20 || r == 0x7f:
			r = ' '
		case r == '"':
			r = '\''
		}
		b = utf8.AppendRune(b, r)
	}
	start, end := 0, len(b)
	for start < end && b[start] == ' ' {
		start++
	}
	for end > start && b[end-1] == ' ' {
		end--
	}
	return string(b[start:end])
}

// paramValueIsClean reports whether cleanParamValue would return s unchanged.
func paramValueIsClean(s string) bool {
	if s == "" || s[0] == ' ' || s[len(s)-1] == ' ' || !utf8.ValidString(s) {
		return s == ""
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c == '"' {
			return false
		}
	}
	return true
}

// appendParamValue appends a value cleaned by cleanParamValue, between double
// quotes when it contains a character that would end the parameter
// (';', ':' or ','). Backslash escapes are not part of parameter syntax:
// "CN=Dupont\, Jean" would be read as "Dupont\" followed by garbage.
func appendParamValue(dst []byte, v string) []byte {
	quote := false
	for i := 0; i < len(v); i++ {
		if c := v[i]; c == ';' || c == ':' || c == ',' {
			quote = true
			break
		}
	}
	if !quote {
		return append(dst, v...)
	}
	dst = append(dst, '"')
	dst = append(dst, v...)
	return append(dst, '"')
}

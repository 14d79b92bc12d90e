package ical

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	ics "github.com/arran4/golang-ical"
)

// This file is the only place that knows how golang-ical writes content
// lines, and where its two defects in v0.3.4 are worked around (see
// docs/adr/0006-icalendar-with-golang-ical.md):
//
//   - cleanText: golang-ical escapes \ ; , and LF in TEXT values but writes a
//     CR, and any other control character, raw inside the line;
//   - calAddress: golang-ical backslash-escapes parameter values
//     (CN=Jeanne d\'Arc, CN=Dupont\, Jean), which RFC 5545 does not allow.
//
// TestGolangICalDefects pins both defects, so that an upgrade that fixes
// them says so; TestTextValues and TestCalAddress fail if a workaround stops
// working.

// maxLineOctets is the longest physical line RFC 5545 §3.1 allows, not
// counting the CRLF. golang-ical folds at this length by default; tests check
// the output against it.
const maxLineOctets = 75

// serialize writes cal with golang-ical: CRLF line endings (golang-ical
// writes LF unless asked), lines folded at 75 octets, never inside a UTF-8
// character (it prefers to fold before a space; RFC 5545 allows a fold
// anywhere), TEXT values escaped. size is the expected length of the output.
func serialize(cal *ics.Calendar, size int) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(size)
	if err := cal.SerializeTo(&buf, ics.WithNewLineWindows); err != nil {
		return nil, fmt.Errorf("ical: serialise: %w", err)
	}
	return buf.Bytes(), nil
}

// cleanText prepares s to be handed to golang-ical as a TEXT value
// (RFC 5545 §3.3.11). golang-ical escapes backslash, semicolon, comma and LF
// itself (so s must not be escaped here), but passes every other control
// character through, including the CR of the CRLF that browsers submit from
// a textarea: a bare CR inside a content line, which clients read as a line
// break and then reject or truncate.
//
// WORKAROUND (golang-ical v0.3.4): every line break (CRLF, CR or LF) becomes
// LF, which golang-ical writes as \n; other control characters except TAB are
// not allowed in TEXT and are dropped; invalid UTF-8 becomes U+FFFD, since the
// calendar is declared charset=utf-8 (and golang-ical's folding counts
// octets by decoding UTF-8).
func cleanText(s string) string {
	if !utf8.ValidString(s) {
		s = replaceInvalidUTF8(s)
	}
	// Copy runs of ordinary characters at once; stop on the control
	// characters. Bytes of multi-octet characters are all >= 0x80.
	var b []byte
	run := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != 0x7f || c == '\n' || c == '\t' {
			continue
		}
		if b == nil {
			b = make([]byte, 0, len(s))
		}
		b = append(b, s[run:i]...)
		run = i + 1
		if c == '\r' {
			if i+1 < len(s) && s[i+1] == '\n' {
				i++ // CRLF is one line break
			}
			b = append(b, '\n')
			run = i + 1
		}
		// other control characters: not representable in TEXT, dropped
	}
	if b == nil {
		return s
	}
	return string(append(b, s[run:]...))
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

// calAddress returns an ORGANIZER or ATTENDEE property: name, the parameters
// params (which must be tokens: golang-ical writes them sorted by name), the
// display name cn as CN (omitted when empty), and the value mailto:email.
// The email must have been checked with checkEmail.
//
// WORKAROUND (golang-ical v0.3.4): golang-ical backslash-escapes every
// parameter value except ALTREP (CN=Jeanne d\'Arc, CN=Dupont\, Jean), but
// parameter values have no escapes in RFC 5545: clients show the
// backslashes, or read "Dupont\" and then garbage. Its components hold
// properties as a concrete struct, so there is no property type to
// substitute; instead the CN parameter, quoted when RFC 5545 requires it, is
// written as part of the property's name (IANAToken), which golang-ical writes
// as is, followed by the other parameters and the value. golang-ical uses the
// same device itself: its REFRESH-INTERVAL property is named
// "REFRESH-INTERVAL;VALUE=DURATION". CN sorts before PARTSTAT, ROLE and RSVP,
// so the parameters still come out in golang-ical's order.
//
// A side effect: golang-ical no longer recognises the name, so it treats the
// value as TEXT and would escape \ ; , and LF in it. checkEmail rejects all
// four (none is valid in a mailto: address as written here; TestErrors), so
// the value is written as is (TestCalAddress).
func calAddress(name ics.ComponentProperty, cn, email string, params ...ics.PropertyParameter) ics.IANAProperty {
	token := string(name)
	if cn = cleanParamValue(cn); cn != "" {
		token += ";" + string(ics.ParameterCn) + "=" + quoteParamValue(cn)
	}
	p := ics.IANAProperty{BaseProperty: ics.BaseProperty{IANAToken: token, Value: "mailto:" + email}}
	if len(params) > 0 {
		p.ICalParameters = make(map[string][]string, len(params))
		for _, param := range params {
			k, v := param.KeyValue()
			p.ICalParameters[k] = v
		}
	}
	return p
}

// addProperty appends the property name:value, without parameters, to c.
// It is golang-ical's AddProperty without the empty parameter map that
// AddProperty allocates for every property (golang-ical reads a nil map as no
// parameters), nor the search for an existing property that its Set* methods
// do: with those, BenchmarkFeed500 takes a fifth longer. The value is
// escaped, or not, by golang-ical according to name.
func addProperty(c *ics.ComponentBase, name ics.ComponentProperty, value string) {
	c.Properties = append(c.Properties, ics.IANAProperty{BaseProperty: ics.BaseProperty{IANAToken: string(name), Value: value}})
}

// param returns a parameter whose value is the token v, written as is by
// golang-ical. (Its WithRSVP writes RSVP=true; RFC 5545 and Outlook write
// TRUE.)
func param(name ics.Parameter, v string) ics.PropertyParameter {
	return &ics.KeyValues{Key: string(name), Value: []string{v}}
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
	return strings.Trim(string(b), " ")
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

// quoteParamValue returns a value cleaned by cleanParamValue, between double
// quotes when it contains a character that would end the parameter
// (';', ':' or ','). Backslash escapes are not part of parameter syntax:
// "CN=Dupont\, Jean" would be read as "Dupont\" followed by garbage.
func quoteParamValue(v string) string {
	if strings.ContainsAny(v, ";:,") {
		return `"` + v + `"`
	}
	return v
}

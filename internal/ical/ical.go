// Package ical turns Agora sessions into iCalendar (RFC 5545) bytes: an
// invitation, update or cancellation for one recipient, sent by email as an
// iTIP message (RFC 5546), and a feed that calendar clients subscribe to.
//
// The package is pure: no database, no HTTP, no clock (the caller passes now).
// Its output follows the rules that make invitations work in Outlook,
// Thunderbird, Google Calendar and Apple Calendar:
//
//   - CRLF line endings; lines folded at 75 octets, never inside a UTF-8
//     character; TEXT values escaped (\\ \; \, \n);
//   - date-times in Europe/Paris with TZID and the full VTIMEZONE, or in UTC
//     with Z where a Paris wall clock would be ambiguous (the hour repeated
//     when summer time ends) or outside the VTIMEZONE's rules (before 1996);
//   - a UID that the caller stores and never regenerates, and a SEQUENCE that
//     the caller increases on every change and on cancellation.
//
// Calendars are built and serialised with github.com/arran4/golang-ical. Two
// defects of its v0.3.4 are worked around in encode.go, and only there:
// parameter values are backslash-escaped (CN=Jeanne d\'Arc; RFC 5545
// parameter values have no escapes and must be quoted instead), and carriage
// returns from textarea input are written as bare CRs inside content lines.
// See docs/adr/0006-icalendar-with-golang-ical.md.
package ical

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	ics "github.com/arran4/golang-ical"
)

// productID identifies Agora as the producer of every calendar (PRODID).
const productID = "-//DNUM ministères sociaux//Agora//FR"

// Person is a calendar user: the organiser or an attendee.
type Person struct {
	Name  string // display name, written as CN; may be empty
	Email string // a deliverable address; replies to invitations go to the organiser's
}

// Event is one session as a calendar entry.
type Event struct {
	// UID identifies the session in every calendar, for ever: compute it once
	// (see UID), store it, and never regenerate it, or clients will show a
	// second copy instead of updating the first.
	UID string
	// Sequence is the revision number: 0 when the session is created, then
	// increased by the caller on every change and on cancellation. Clients
	// ignore a message whose SEQUENCE is lower than the one they hold.
	Sequence int

	Summary     string
	Description string
	Location    string
	// URL is the public page of the session (http or https). Never a secret
	// link such as a registration's management link: calendars are shared.
	URL string

	// Start and End are instants (End strictly after Start), truncated to the
	// second. They are written as Europe/Paris wall-clock times.
	Start, End time.Time

	// Cancelled marks a cancelled session: STATUS:CANCELLED in feeds. An
	// invitation for a cancelled session must use MethodCancel.
	Cancelled bool

	Organizer Person

	// Created and LastModified are optional (zero to omit).
	Created, LastModified time.Time
}

// Method is the iTIP method of an invitation (RFC 5546). It must also appear
// in the MIME type of the email part that carries the calendar (ContentType).
//
// There is no PUBLISH: an invitation may change, so it is a REQUEST; and a
// feed carries no method at all (see Feed).
type Method string

const (
	// MethodRequest invites the recipient, or updates an invitation already
	// sent (same UID, higher SEQUENCE).
	MethodRequest Method = "REQUEST"
	// MethodCancel removes the session from the recipient's calendar.
	MethodCancel Method = "CANCEL"
)

// ContentType returns the MIME type of a calendar sent with method m, for
// example "text/calendar; charset=utf-8; method=REQUEST". With an empty
// method (a feed) it returns "text/calendar; charset=utf-8".
func ContentType(m Method) string {
	if m == "" {
		return "text/calendar; charset=utf-8"
	}
	return "text/calendar; charset=utf-8; method=" + string(m)
}

// UID returns a calendar UID for the entry with the given id on the given
// host: "agora-<id>@<host>", with the host lowercased and any port removed.
// Call it once when the session is created and store the result: a UID
// recomputed from a host name that later changes would duplicate every
// session in every calendar.
func UID(id, host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "" {
		host = "localhost"
	}
	return "agora-" + id + "@" + host
}

// Invitation returns the calendar that one recipient receives by email:
// METHOD:REQUEST for an invitation or an update, METHOD:CANCEL (with
// STATUS:CANCELLED) for a cancellation. It holds one VEVENT, with ORGANIZER
// and the recipient as the single ATTENDEE, so that no list of participants
// leaks; DTSTAMP is now, in UTC.
func Invitation(method Method, ev Event, attendee Person, now time.Time) ([]byte, error) {
	status := ics.ObjectStatusConfirmed
	switch method {
	case MethodRequest:
		if ev.Cancelled {
			return nil, fmt.Errorf("ical: invitation %q: a cancelled session is sent with METHOD:CANCEL", ev.UID)
		}
	case MethodCancel:
		status = ics.ObjectStatusCancelled
	default:
		return nil, fmt.Errorf("ical: invitation %q: unsupported method %q", ev.UID, method)
	}
	if err := ev.validate(); err != nil {
		return nil, err
	}
	if err := checkEmail(ev.Organizer.Email); err != nil {
		return nil, fmt.Errorf("ical: event %q: organizer: %w", ev.UID, err)
	}
	if err := checkEmail(attendee.Email); err != nil {
		return nil, fmt.Errorf("ical: event %q: attendee: %w", ev.UID, err)
	}
	if err := checkTime(now); err != nil {
		return nil, fmt.Errorf("ical: event %q: now: %w", ev.UID, err)
	}

	cal := newCalendar()
	cal.SetMethod(ics.Method(method))
	cal.AddVTimezone(parisTimezone())
	e := newEvent(&ev, now)
	e.Properties = append(e.Properties, calAddress(ics.ComponentPropertyOrganizer, ev.Organizer.Name, ev.Organizer.Email),
		attendeeProperty(method, attendee))
	addProperty(&e.ComponentBase, ics.ComponentPropertyStatus, string(status))
	addProperty(&e.ComponentBase, ics.ComponentPropertyTransp, string(ics.TransparencyOpaque))
	eventTail(e, &ev)
	cal.AddVEvent(e)
	return serialize(cal, 1024+ev.sizeHint()+len(attendee.Name)+len(attendee.Email))
}

// attendeeProperty is the recipient's ATTENDEE line of an invitation.
func attendeeProperty(method Method, attendee Person) ics.IANAProperty {
	if method == MethodCancel {
		return calAddress(ics.ComponentPropertyAttendee, attendee.Name, attendee.Email, param(ics.ParameterRole, "REQ-PARTICIPANT"))
	}
	return calAddress(ics.ComponentPropertyAttendee, attendee.Name, attendee.Email,
		param(ics.ParameterRole, "REQ-PARTICIPANT"), param(ics.ParameterParticipationStatus, "NEEDS-ACTION"),
		param(ics.ParameterRsvp, "TRUE"))
}

// InvitationTemplate is the invitation of one event with one method, for
// many recipients: the calendar is serialised once, with a stand-in
// attendee and DTSTAMP, and For puts each recipient's ATTENDEE line and
// DTSTAMP in their place. The registration opening sends thousands of
// invitations that differ only by those; golang-ical built and serialised
// each whole (the time zone with its rules, every property) in the single
// writer's transaction. The bytes are Invitation's (folding is per line).
type InvitationTemplate struct {
	method             Method
	uid                string
	head, middle, tail []byte // around the DTSTAMP value and the ATTENDEE line
}

// Stand-ins for the recipient in a template: an address and a time that
// no real invitation carries.
const (
	standInEmail = "agora-stand-in@invalid.invalid"
	standInStamp = "00010101T000001Z"
)

// NewInvitationTemplate renders the invitation of ev with method for any
// recipient; it checks what Invitation checks, but the recipient.
func NewInvitationTemplate(method Method, ev Event) (*InvitationTemplate, error) {
	out, err := Invitation(method, ev, Person{Email: standInEmail}, time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC))
	if err != nil {
		return nil, err
	}
	stamp := []byte("\r\nDTSTAMP:" + standInStamp + "\r\n")
	i := bytes.Index(out, stamp)
	attendee, err := propertyLines(attendeeProperty(method, Person{Email: standInEmail}))
	if err != nil {
		return nil, err
	}
	j := bytes.Index(out, attendee)
	if i < 0 || j < i || bytes.Count(out, stamp) != 1 || bytes.Count(out, attendee) != 1 {
		return nil, fmt.Errorf("ical: invitation template %q: stand-ins not found once", ev.UID)
	}
	valueAt := i + len("\r\nDTSTAMP:")
	return &InvitationTemplate{method: method, uid: ev.UID, head: out[:valueAt],
		middle: out[valueAt+len(standInStamp) : j], tail: out[j+len(attendee):]}, nil
}

// For returns the invitation of attendee, stamped now: the bytes that
// Invitation returns for them.
func (t *InvitationTemplate) For(attendee Person, now time.Time) ([]byte, error) {
	if err := checkEmail(attendee.Email); err != nil {
		return nil, fmt.Errorf("ical: event %q: attendee: %w", t.uid, err)
	}
	if err := checkTime(now); err != nil {
		return nil, fmt.Errorf("ical: event %q: now: %w", t.uid, err)
	}
	line, err := propertyLines(attendeeProperty(t.method, attendee))
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(t.head)+len(standInStamp)+len(t.middle)+len(line)+len(t.tail))
	out = append(out, t.head...)
	out = now.UTC().AppendFormat(out, utcFormat)
	out = append(out, t.middle...)
	out = append(out, line...)
	return append(out, t.tail...), nil
}

// propertyLines serialises one property as golang-ical writes it in a
// calendar: its content line, folded, with CRLF.
func propertyLines(p ics.IANAProperty) ([]byte, error) {
	e := &ics.VEvent{}
	e.Properties = []ics.IANAProperty{p}
	var buf bytes.Buffer
	if err := (&ics.Calendar{Components: []ics.Component{e}}).SerializeTo(&buf, ics.WithNewLineWindows); err != nil {
		return nil, fmt.Errorf("ical: serialise: %w", err)
	}
	const begin, end = "BEGIN:VEVENT\r\n", "END:VEVENT\r\n"
	b := buf.Bytes()
	i, j := bytes.Index(b, []byte(begin)), bytes.Index(b, []byte(end))
	if i < 0 || j < i {
		return nil, errors.New("ical: serialise: no VEVENT")
	}
	return b[i+len(begin) : j], nil
}

// PartStat is an attendee's answer (RFC 5545 PARTSTAT).
type PartStat string

const (
	PartStatNeedsAction PartStat = "NEEDS-ACTION" // not answered yet
	PartStatAccepted    PartStat = "ACCEPTED"     // oui
	PartStatDeclined    PartStat = "DECLINED"     // non
	PartStatTentative   PartStat = "TENTATIVE"    // peut-être
)

// FeedEntry is one session in a feed.
type FeedEntry struct {
	Event
	// Answer is the feed owner's answer to the session, written as the
	// owner's ATTENDEE line with this PARTSTAT. Leave it empty for no
	// ATTENDEE line (a feed that is not personal). A declined session is
	// marked TRANSP:TRANSPARENT so that it does not show the owner as busy.
	Answer PartStat
}

// Feed returns a calendar to subscribe to (webcal), named name: the
// Europe/Paris VTIMEZONE once, then one VEVENT per entry, in the given order;
// cancelled sessions stay in the feed with STATUS:CANCELLED so that clients
// remove or strike them.
//
// The feed has no METHOD. RFC 5545 §3.7.2 says an object without METHOD is a
// snapshot of calendar data with no scheduling semantics, which is what a
// subscription is. METHOD:PUBLISH would be an iTIP message: Outlook imports a
// PUBLISH object as a one-off copy of the events, which then never follow the
// changes Agora makes.
//
// owner is the person the feed belongs to; it is needed only when an entry
// has an Answer. Each VEVENT's DTSTAMP is its LastModified, else its Created,
// else now: RFC 5545 defines DTSTAMP without METHOD as the time of the last
// revision, and this keeps the bytes of an unchanged feed stable.
func Feed(name string, owner Person, entries []FeedEntry, now time.Time) ([]byte, error) {
	if err := checkTime(now); err != nil {
		return nil, fmt.Errorf("ical: feed: now: %w", err)
	}
	seen := make(map[string]struct{}, len(entries))
	size := 2048
	for i := range entries {
		ev := &entries[i]
		if err := ev.validate(); err != nil {
			return nil, err
		}
		size += ev.sizeHint()
		if _, dup := seen[ev.UID]; dup {
			return nil, fmt.Errorf("ical: feed: UID %q appears twice", ev.UID)
		}
		seen[ev.UID] = struct{}{}
		if ev.Organizer.Email != "" {
			if err := checkEmail(ev.Organizer.Email); err != nil {
				return nil, fmt.Errorf("ical: event %q: organizer: %w", ev.UID, err)
			}
		}
		switch ev.Answer {
		case "":
		case PartStatNeedsAction, PartStatAccepted, PartStatDeclined, PartStatTentative:
			if ev.Organizer.Email == "" {
				return nil, fmt.Errorf("ical: event %q: an answer needs an organizer", ev.UID)
			}
			if err := checkEmail(owner.Email); err != nil {
				return nil, fmt.Errorf("ical: event %q: feed owner: %w", ev.UID, err)
			}
		default:
			return nil, fmt.Errorf("ical: event %q: unknown answer %q", ev.UID, ev.Answer)
		}
	}

	cal := newCalendar()
	cal.SetName(cleanText(name)) // NAME and X-WR-CALNAME
	cal.SetXWRTimezone(parisTZID)
	cal.SetRefreshInterval("PT1H") // golang-ical names it REFRESH-INTERVAL;VALUE=DURATION
	cal.SetXPublishedTTL("PT1H")
	cal.AddVTimezone(parisTimezone())
	for i := range entries {
		ev := &entries[i]
		stamp := now
		switch {
		case !ev.LastModified.IsZero():
			stamp = ev.LastModified
		case !ev.Created.IsZero():
			stamp = ev.Created
		}
		e := newEvent(&ev.Event, stamp)
		if ev.Organizer.Email != "" {
			e.Properties = append(e.Properties, calAddress(ics.ComponentPropertyOrganizer, ev.Organizer.Name, ev.Organizer.Email))
		}
		if ev.Answer != "" {
			e.Properties = append(e.Properties, calAddress(ics.ComponentPropertyAttendee, owner.Name, owner.Email,
				param(ics.ParameterRole, "REQ-PARTICIPANT"), param(ics.ParameterParticipationStatus, string(ev.Answer))))
		}
		status, transp := ics.ObjectStatusConfirmed, ics.TransparencyOpaque
		if ev.Cancelled {
			status = ics.ObjectStatusCancelled
		}
		if ev.Cancelled || ev.Answer == PartStatDeclined {
			transp = ics.TransparencyTransparent
		}
		addProperty(&e.ComponentBase, ics.ComponentPropertyStatus, string(status))
		addProperty(&e.ComponentBase, ics.ComponentPropertyTransp, string(transp))
		eventTail(e, &ev.Event)
		cal.AddVEvent(e)
	}
	return serialize(cal, size)
}

// newCalendar returns a calendar with the properties every Agora calendar
// starts with.
func newCalendar() *ics.Calendar {
	cal := &ics.Calendar{}
	cal.SetProductId(productID)
	cal.SetVersion("2.0")
	cal.SetCalscale("GREGORIAN")
	return cal
}

// newEvent returns a VEVENT with the properties that identify and describe
// the session; DTSTAMP is stamp.
func newEvent(ev *Event, stamp time.Time) *ics.VEvent {
	e := &ics.VEvent{}
	c := &e.ComponentBase
	c.Properties = make([]ics.IANAProperty, 0, 16) // every property of the VEVENT, allocated once
	addProperty(c, ics.ComponentPropertyUniqueId, cleanText(ev.UID))
	addProperty(c, ics.ComponentPropertyDtstamp, stamp.UTC().Format(utcFormat))
	addProperty(c, ics.ComponentPropertySequence, strconv.Itoa(ev.Sequence))
	addDateTime(c, ics.ComponentPropertyDtStart, ev.Start)
	addDateTime(c, ics.ComponentPropertyDtEnd, ev.End)
	if ev.Summary != "" {
		addProperty(c, ics.ComponentPropertySummary, cleanText(ev.Summary))
	}
	if ev.Description != "" {
		addProperty(c, ics.ComponentPropertyDescription, cleanText(ev.Description))
	}
	if ev.Location != "" {
		addProperty(c, ics.ComponentPropertyLocation, cleanText(ev.Location))
	}
	if ev.URL != "" {
		addProperty(c, ics.ComponentPropertyUrl, ev.URL) // a URI (checkURL), not TEXT: written as is
	}
	return e
}

// eventTail adds the optional revision stamps.
func eventTail(e *ics.VEvent, ev *Event) {
	if !ev.Created.IsZero() {
		addProperty(&e.ComponentBase, ics.ComponentPropertyCreated, ev.Created.UTC().Format(utcFormat))
	}
	if !ev.LastModified.IsZero() {
		addProperty(&e.ComponentBase, ics.ComponentPropertyLastModified, ev.LastModified.UTC().Format(utcFormat))
	}
}

const (
	utcFormat   = "20060102T150405Z" // a UTC DATE-TIME
	localFormat = "20060102T150405"  // a local DATE-TIME, with TZID
)

// tzidParis is the TZID parameter of every local time; golang-ical only
// reads it, so one map serves every property.
var tzidParis = map[string][]string{string(ics.ParameterTzid): {parisTZID}}

// addDateTime adds name as NAME;TZID=Europe/Paris:YYYYMMDDTHHMMSS when the
// Paris wall clock names t without ambiguity, and in UTC otherwise (see
// parisWallClock). Either way a reader gets back the same instant.
func addDateTime(c *ics.ComponentBase, name ics.ComponentProperty, t time.Time) {
	wall, ok := parisWallClock(t)
	if !ok {
		addProperty(c, name, t.UTC().Format(utcFormat))
		return
	}
	c.Properties = append(c.Properties, ics.IANAProperty{BaseProperty: ics.BaseProperty{
		IANAToken: string(name), ICalParameters: tzidParis, Value: wall.Format(localFormat),
	}})
}

// sizeHint estimates the size of the event's VEVENT, to allocate the output
// once: the text it carries, plus the fixed properties.
func (ev *Event) sizeHint() int {
	n := len(ev.UID) + len(ev.Summary) + len(ev.Description) + len(ev.Location) + len(ev.URL) +
		len(ev.Organizer.Name) + len(ev.Organizer.Email)
	return 512 + n + n/16 // escapes and folds add a few octets
}

func (ev *Event) validate() error {
	if strings.TrimSpace(ev.UID) == "" {
		return errors.New("ical: event without UID")
	}
	if ev.Sequence < 0 {
		return fmt.Errorf("ical: event %q: negative sequence %d", ev.UID, ev.Sequence)
	}
	if err := checkTime(ev.Start); err != nil {
		return fmt.Errorf("ical: event %q: start: %w", ev.UID, err)
	}
	if err := checkTime(ev.End); err != nil {
		return fmt.Errorf("ical: event %q: end: %w", ev.UID, err)
	}
	for _, t := range []time.Time{ev.Created, ev.LastModified} {
		if t.IsZero() {
			continue // optional
		}
		if err := checkTime(t); err != nil {
			return fmt.Errorf("ical: event %q: created or last-modified: %w", ev.UID, err)
		}
	}
	if !ev.End.Truncate(time.Second).After(ev.Start.Truncate(time.Second)) {
		return fmt.Errorf("ical: event %q: end %s is not after start %s", ev.UID, ev.End, ev.Start)
	}
	if ev.URL != "" {
		if err := checkURL(ev.URL); err != nil {
			return fmt.Errorf("ical: event %q: url: %w", ev.UID, err)
		}
	}
	return nil
}

// checkTime accepts the instants that iCalendar can write: a four-digit year.
func checkTime(t time.Time) error {
	if t.IsZero() {
		return errors.New("missing time")
	}
	if y := t.UTC().Year(); y < 1 || y > 9999 {
		return fmt.Errorf("year %d out of range", y)
	}
	return nil
}

// checkEmail accepts an address that can be written after "mailto:" as is.
// It is not a full RFC 5322 check: addresses are validated where they are
// entered; this only keeps the calendar well formed. Besides spaces, controls,
// quotes and angle brackets, it rejects ',' and ';': neither is valid in an
// unquoted address, RFC 6068 does not allow them unencoded in a mailto: URI,
// and golang-ical would backslash-escape them (see calAddress).
func checkEmail(s string) error {
	if s == "" {
		return errors.New("missing email address")
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || !utf8.ValidString(s) {
		return fmt.Errorf("invalid email address %q", s)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == 0x7f || c == '<' || c == '>' || c == '"' || c == '\\' || c == ',' || c == ';' {
			return fmt.Errorf("invalid email address %q", s)
		}
	}
	return nil
}

// checkURL accepts absolute http and https URLs without spaces, quotes or
// control characters, which can be written as a URI value as is.
func checkURL(s string) error {
	if !utf8.ValidString(s) {
		return errors.New("not UTF-8")
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == 0x7f || c == '"' {
			return fmt.Errorf("invalid URL %q", s)
		}
	}
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("not an absolute http(s) URL: %q", s)
	}
	return nil
}

package ical

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	goical "github.com/emersion/go-ical"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden with the current output")

// The fixed clock of every test.
var fixedNow = time.Date(2027, 1, 15, 9, 0, 0, 0, time.UTC)

var (
	organizer = Person{Name: "Jeanne d'Arc, SDPSN", Email: "comite-produit@agora.example.gouv.fr"}
	recipient = Person{Name: "Dupont, Jean-Éric", Email: "jean-eric.dupont@sante.example.gouv.fr"}
)

// longDescription has every character that needs escaping, CRLF and LF line
// breaks, multi-octet characters, and lines long enough to be folded.
const longDescription = "Ordre du jour :\r\n" +
	"1. Revue des demandes : priorisation, arbitrages; décisions\r\n" +
	"2. Les communs (DSFR, ProConnect) — retours d'expérience des équipes, œuvre collective 🎉\n" +
	"3. Partage réseau \\\\srv\\comite\\2027 ; questions diverses\n\n" +
	"Lien visio : https://webconf.example.gouv.fr/comite?id=42&pwd=x,y;z\n" +
	"Évitez d'imprimer : ééééééééééééééééééééééééééééééééééééééééééééééééééééééééé 🇫🇷🇫🇷🇫🇷🇫🇷🇫🇷🇫🇷🇫🇷🇫🇷🇫🇷🇫🇷"

// dstSession takes place on the night summer time starts in 2027: from
// 01:30 CET to 03:30 CEST, one hour.
func dstSession() Event {
	created := time.Date(2027, 1, 10, 14, 0, 0, 0, time.UTC)
	return Event{
		UID:          UID("42", "agora.example.gouv.fr"),
		Summary:      `Comité produit, séance n°12; « communs » \ œuvre 🎉`,
		Description:  longDescription,
		Location:     "Salle Laroque; 14 avenue Duquesne, 75007 Paris",
		URL:          "https://agora.example.gouv.fr/seances/42",
		Start:        time.Date(2027, 3, 28, 0, 30, 0, 0, time.UTC),
		End:          time.Date(2027, 3, 28, 1, 30, 0, 0, time.UTC),
		Organizer:    organizer,
		Created:      created,
		LastModified: created,
	}
}

// movedSession is dstSession after its first change: another day and time.
func movedSession() Event {
	ev := dstSession()
	ev.Sequence = 1
	ev.Start = time.Date(2027, 4, 1, 12, 0, 0, 0, time.UTC) // 14:00 CEST
	ev.End = time.Date(2027, 4, 1, 14, 0, 0, 0, time.UTC)   // 16:00 CEST
	ev.LastModified = fixedNow.Add(-time.Hour)
	return ev
}

func cancelledSession() Event {
	ev := movedSession()
	ev.Sequence = 2
	ev.Cancelled = true
	ev.LastModified = fixedNow
	return ev
}

func feedEntries() []FeedEntry {
	paris := time.FixedZone("CEST", 2*3600) // inputs are instants; their zone does not matter
	return []FeedEntry{
		{Event: dstSession(), Answer: PartStatAccepted},
		{
			// The night summer time ends: 01:30 CEST to 03:30 CET, three hours.
			Event: Event{
				UID: UID("43", "agora.example.gouv.fr"), Sequence: 4,
				Summary: "Hackathon des communs : nuit du changement d'heure",
				Start:   time.Date(2027, 10, 31, 1, 30, 0, 0, paris),
				End:     time.Date(2027, 10, 31, 2, 30, 0, 0, time.UTC),
				Organizer: Person{
					Name: "Équipe \"communs\"", Email: "communs@agora.example.gouv.fr",
				},
			},
			Answer: PartStatTentative,
		},
		{
			// From the first 02:30 (CEST) to the second 02:30 (CET): neither
			// has an unambiguous Paris wall clock; both are written in UTC.
			Event: Event{
				UID:       UID("44", "agora.example.gouv.fr"),
				Summary:   "Astreinte; bascule horaire",
				Start:     time.Date(2027, 10, 31, 0, 30, 0, 0, time.UTC),
				End:       time.Date(2027, 10, 31, 1, 30, 0, 0, time.UTC),
				Organizer: organizer,
			},
			Answer: PartStatDeclined,
		},
		{Event: withUID(cancelledSession(), UID("46", "agora.example.gouv.fr")), Answer: PartStatNeedsAction},
		{
			// A public entry: no organiser, no answer.
			Event: Event{
				UID:      UID("45", "agora.example.gouv.fr"),
				Summary:  "Journée produit 2027",
				Location: "Ministère des solidarités, Paris",
				Start:    time.Date(2027, 6, 17, 7, 0, 0, 0, time.UTC),
				End:      time.Date(2027, 6, 17, 15, 30, 0, 0, time.UTC),
				Created:  time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC),
			},
		},
	}
}

func withUID(ev Event, uid string) Event {
	ev.UID = uid
	return ev
}

type goldenCase struct {
	name    string
	method  Method      // "" for the feed
	entries []FeedEntry // the events in the output, with the owner's answer
	build   func() ([]byte, error)
}

func goldenCases() []goldenCase {
	invite := func(m Method, ev Event) func() ([]byte, error) {
		return func() ([]byte, error) { return Invitation(m, ev, recipient, fixedNow) }
	}
	return []goldenCase{
		{"request", MethodRequest, []FeedEntry{{Event: dstSession()}}, invite(MethodRequest, dstSession())},
		{"update", MethodRequest, []FeedEntry{{Event: movedSession()}}, invite(MethodRequest, movedSession())},
		{"cancel", MethodCancel, []FeedEntry{{Event: cancelledSession()}}, invite(MethodCancel, cancelledSession())},
		{"feed", "", feedEntries(), func() ([]byte, error) {
			return Feed("Agora – mes séances", recipient, feedEntries(), fixedNow)
		}},
	}
}

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.build()
			if err != nil {
				t.Fatal(err)
			}
			checkWellFormed(t, got)
			path := filepath.Join("testdata", tc.name+".golden")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				g, w := strings.Split(string(got), "\r\n"), strings.Split(string(want), "\r\n")
				for i := range max(len(g), len(w)) {
					if i >= len(g) || i >= len(w) || g[i] != w[i] {
						t.Fatalf("output differs from %s at line %d:\n got %q\nwant %q\n(run go test -update if the change is intended)",
							path, i+1, at(g, i), at(w, i))
					}
				}
			}
		})
	}
}

func at(lines []string, i int) string {
	if i < len(lines) {
		return lines[i]
	}
	return "<end>"
}

// TestRoundTrip reads every golden output back with an independent parser
// and compares each value with the input it came from.
func TestRoundTrip(t *testing.T) {
	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.build()
			if err != nil {
				t.Fatal(err)
			}
			cal := parse(t, b)

			if got := text(t, cal.Component, "PRODID"); got != productID {
				t.Errorf("PRODID = %q", got)
			}
			for name, want := range map[string]string{"VERSION": "2.0", "CALSCALE": "GREGORIAN"} {
				if got := text(t, cal.Component, name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			if got := text(t, cal.Component, "METHOD"); got != string(tc.method) {
				t.Errorf("METHOD = %q, want %q", got, tc.method)
			}
			// The MIME type must carry the same method as the calendar.
			ct := ContentType(tc.method)
			if _, m, _ := strings.Cut(ct, "; method="); m != text(t, cal.Component, "METHOD") {
				t.Errorf("ContentType %q does not match METHOD", ct)
			}
			if tc.method == "" {
				if got := text(t, cal.Component, "X-WR-CALNAME"); got != "Agora – mes séances" {
					t.Errorf("X-WR-CALNAME = %q", got)
				}
			}

			var tzs []*goical.Component
			for _, c := range cal.Children {
				if c.Name == "VTIMEZONE" {
					tzs = append(tzs, c)
				}
			}
			if len(tzs) != 1 || text(t, tzs[0], "TZID") != parisTZID {
				t.Fatalf("want the Europe/Paris VTIMEZONE once, got %d", len(tzs))
			}

			events := cal.Events()
			if len(events) != len(tc.entries) {
				t.Fatalf("%d events, want %d", len(events), len(tc.entries))
			}
			for i, entry := range tc.entries {
				checkEvent(t, tc.method, entry, events[i].Component)
			}
		})
	}
}

func checkEvent(t *testing.T, method Method, entry FeedEntry, c *goical.Component) {
	t.Helper()
	ev := entry.Event
	for name, want := range map[string]string{
		"UID":         ev.UID,
		"SUMMARY":     wantText(ev.Summary),
		"DESCRIPTION": wantText(ev.Description),
		"LOCATION":    wantText(ev.Location),
	} {
		if got := text(t, c, name); got != want {
			t.Errorf("%s: %s = %q, want %q", ev.UID, name, got, want)
		}
	}
	if p := c.Props.Get("URL"); (p == nil) != (ev.URL == "") || (p != nil && p.Value != ev.URL) {
		t.Errorf("%s: URL = %+v, want %q", ev.UID, p, ev.URL)
	}
	if seq, err := c.Props.Get("SEQUENCE").Int(); err != nil || seq != ev.Sequence {
		t.Errorf("%s: SEQUENCE = %d (%v), want %d", ev.UID, seq, err, ev.Sequence)
	}

	// Instants: the parser resolves TZID=Europe/Paris with Go's zone
	// database, independently of parisWallClock.
	wantStamp := fixedNow
	if method == "" && !ev.LastModified.IsZero() {
		wantStamp = ev.LastModified
	} else if method == "" && !ev.Created.IsZero() {
		wantStamp = ev.Created
	}
	for name, want := range map[string]time.Time{
		"DTSTART": ev.Start, "DTEND": ev.End, "DTSTAMP": wantStamp,
		"CREATED": ev.Created, "LAST-MODIFIED": ev.LastModified,
	} {
		p := c.Props.Get(name)
		if want.IsZero() {
			if p != nil {
				t.Errorf("%s: unexpected %s", ev.UID, name)
			}
			continue
		}
		if p == nil {
			t.Errorf("%s: missing %s", ev.UID, name)
			continue
		}
		got, err := p.DateTime(nil)
		if err != nil || !got.Equal(want) {
			t.Errorf("%s: %s = %v (%v), want %v", ev.UID, name, got, err, want.UTC())
		}
	}

	wantStatus := "CONFIRMED"
	if ev.Cancelled || method == MethodCancel {
		wantStatus = "CANCELLED"
	}
	if got := text(t, c, "STATUS"); got != wantStatus {
		t.Errorf("%s: STATUS = %q, want %q", ev.UID, got, wantStatus)
	}
	wantTransp := "OPAQUE"
	if method == "" && (ev.Cancelled || entry.Answer == PartStatDeclined) {
		wantTransp = "TRANSPARENT"
	}
	if got := text(t, c, "TRANSP"); got != wantTransp {
		t.Errorf("%s: TRANSP = %q, want %q", ev.UID, got, wantTransp)
	}

	orgs := c.Props.Values("ORGANIZER")
	if ev.Organizer.Email == "" {
		if len(orgs) != 0 {
			t.Errorf("%s: unexpected ORGANIZER", ev.UID)
		}
	} else if len(orgs) != 1 || orgs[0].Value != "mailto:"+ev.Organizer.Email ||
		orgs[0].Params.Get("CN") != wantParam(ev.Organizer.Name) {
		t.Errorf("%s: ORGANIZER = %+v, want CN %q", ev.UID, orgs, wantParam(ev.Organizer.Name))
	}

	atts := c.Props.Values("ATTENDEE")
	var want map[string]string // parameters of the single ATTENDEE; nil for none
	switch {
	case method == MethodRequest:
		want = map[string]string{"ROLE": "REQ-PARTICIPANT", "PARTSTAT": "NEEDS-ACTION", "RSVP": "TRUE"}
	case method == MethodCancel:
		want = map[string]string{"ROLE": "REQ-PARTICIPANT"}
	case entry.Answer != "":
		want = map[string]string{"ROLE": "REQ-PARTICIPANT", "PARTSTAT": string(entry.Answer)}
	}
	if want == nil {
		if len(atts) != 0 {
			t.Errorf("%s: unexpected ATTENDEE %+v", ev.UID, atts)
		}
		return
	}
	want["CN"] = wantParam(recipient.Name)
	if len(atts) != 1 {
		t.Fatalf("%s: %d ATTENDEE lines, want exactly 1", ev.UID, len(atts))
	}
	a := atts[0]
	if a.Value != "mailto:"+recipient.Email {
		t.Errorf("%s: ATTENDEE = %q", ev.UID, a.Value)
	}
	var keys []string
	for k, v := range a.Params {
		keys = append(keys, k)
		if len(v) != 1 || v[0] != want[k] {
			t.Errorf("%s: ATTENDEE %s = %q, want %q", ev.UID, k, v, want[k])
		}
	}
	if len(keys) != len(want) {
		slices.Sort(keys)
		t.Errorf("%s: ATTENDEE parameters %v, want %v", ev.UID, keys, want)
	}
}

// logical returns the unfolded content lines of b.
func logical(b []byte) []string {
	return strings.Split(strings.TrimSuffix(strings.ReplaceAll(string(b), "\r\n ", ""), "\r\n"), "\r\n")
}

// TestDaylightSavingNights pins the exact date-time lines around the two
// changes of 2027, which the round trip checks only as instants.
func TestDaylightSavingNights(t *testing.T) {
	inv, err := Invitation(MethodRequest, dstSession(), recipient, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	feed, err := Feed("x", recipient, feedEntries(), fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		b    []byte
		want string
	}{
		{inv, "DTSTART;TZID=Europe/Paris:20270328T013000"},
		{inv, "DTEND;TZID=Europe/Paris:20270328T033000"},
		{inv, "DTSTAMP:20270115T090000Z"},
		{feed, "DTSTART;TZID=Europe/Paris:20271031T013000"},
		{feed, "DTEND;TZID=Europe/Paris:20271031T033000"},
		{feed, "DTSTART:20271031T003000Z"}, // first pass of 02:30, in UTC
		{feed, "DTEND:20271031T013000Z"},   // second pass of 02:30, in UTC
	} {
		if !slices.Contains(logical(tt.b), tt.want) {
			t.Errorf("no line %q", tt.want)
		}
	}
}

func TestInvitationFields(t *testing.T) {
	b, err := Invitation(MethodRequest, dstSession(), recipient, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	lines := logical(b)
	for _, want := range []string{
		"METHOD:REQUEST",
		`ORGANIZER;CN="Jeanne d'Arc, SDPSN":mailto:comite-produit@agora.example.gouv.fr`,
		// golang-ical writes parameters sorted by name.
		`ATTENDEE;CN="Dupont, Jean-Éric";PARTSTAT=NEEDS-ACTION;ROLE=REQ-PARTICIPANT;RSVP=TRUE:mailto:jean-eric.dupont@sante.example.gouv.fr`,
		`SUMMARY:Comité produit\, séance n°12\; « communs » \\ œuvre 🎉`,
		"SEQUENCE:0",
		"STATUS:CONFIRMED",
	} {
		if !slices.Contains(lines, want) {
			t.Errorf("no line %q", want)
		}
	}
	c, err := Invitation(MethodCancel, cancelledSession(), recipient, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	lines = logical(c)
	for _, want := range []string{"METHOD:CANCEL", "STATUS:CANCELLED", "SEQUENCE:2"} {
		if !slices.Contains(lines, want) {
			t.Errorf("cancel: no line %q", want)
		}
	}
	// A cancellation can also be sent for an event not marked cancelled
	// (the recipient left the session): STATUS follows the method.
	c2, err := Invitation(MethodCancel, movedSession(), recipient, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(logical(c2), "STATUS:CANCELLED") {
		t.Error("CANCEL without STATUS:CANCELLED")
	}
}

func TestFeedIsStable(t *testing.T) {
	a, err := Feed("x", recipient, feedEntries(), fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Feed("x", recipient, feedEntries(), fixedNow.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	// Only the entry with neither Created nor LastModified uses now.
	diff := 0
	la, lb := logical(a), logical(b)
	if len(la) != len(lb) {
		t.Fatalf("%d lines, then %d", len(la), len(lb))
	}
	for i := range la {
		if la[i] != lb[i] {
			diff++
			if !strings.HasPrefix(la[i], "DTSTAMP:") {
				t.Errorf("line %d changed with the clock: %q → %q", i, la[i], lb[i])
			}
		}
	}
	if diff != 2 { // entries 43 and 44 have no Created/LastModified
		t.Errorf("%d lines changed with the clock, want 2", diff)
	}
}

func TestEmptyFeed(t *testing.T) {
	b, err := Feed("Vide", Person{}, nil, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	checkWellFormed(t, b)
	if n := len(parse(t, b).Events()); n != 0 {
		t.Errorf("%d events", n)
	}
}

func TestErrors(t *testing.T) {
	valid := dstSession()
	with := func(f func(*Event)) Event { ev := valid; f(&ev); return ev }
	inviteTests := []struct {
		name     string
		method   Method
		ev       Event
		attendee Person
		now      time.Time
	}{
		{"PUBLISH is not an invitation", "PUBLISH", valid, recipient, fixedNow},
		{"empty method", "", valid, recipient, fixedNow},
		{"REQUEST for a cancelled session", MethodRequest, with(func(e *Event) { e.Cancelled = true }), recipient, fixedNow},
		{"no UID", MethodRequest, with(func(e *Event) { e.UID = " " }), recipient, fixedNow},
		{"negative sequence", MethodRequest, with(func(e *Event) { e.Sequence = -1 }), recipient, fixedNow},
		{"no start", MethodRequest, with(func(e *Event) { e.Start = time.Time{} }), recipient, fixedNow},
		{"no end", MethodRequest, with(func(e *Event) { e.End = time.Time{} }), recipient, fixedNow},
		{"end before start", MethodRequest, with(func(e *Event) { e.End = e.Start.Add(-time.Minute) }), recipient, fixedNow},
		{"end equals start", MethodRequest, with(func(e *Event) { e.End = e.Start }), recipient, fixedNow},
		{"end within the same second", MethodRequest, with(func(e *Event) { e.End = e.Start.Add(time.Millisecond) }), recipient, fixedNow},
		{"five-digit year", MethodRequest, with(func(e *Event) { e.End = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }), recipient, fixedNow},
		{"created out of range", MethodRequest, with(func(e *Event) { e.Created = time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC) }), recipient, fixedNow},
		{"no organizer", MethodRequest, with(func(e *Event) { e.Organizer.Email = "" }), recipient, fixedNow},
		{"organizer not an address", MethodRequest, with(func(e *Event) { e.Organizer.Email = "comite" }), recipient, fixedNow},
		{"no attendee address", MethodRequest, valid, Person{Name: "x"}, fixedNow},
		{"attendee address with CRLF", MethodRequest, valid, Person{Email: "a@b.fr\r\nATTENDEE:mailto:c@d.fr"}, fixedNow},
		{"attendee address with space", MethodRequest, valid, Person{Email: "jean dupont@b.fr"}, fixedNow},
		{"attendee address with quote", MethodRequest, valid, Person{Email: `"a"@b.fr`}, fixedNow},
		{"attendee address ending with @", MethodRequest, valid, Person{Email: "a@"}, fixedNow},
		// Neither is valid in an unquoted address; golang-ical would escape them (see calAddress).
		{"attendee address with comma", MethodRequest, valid, Person{Email: "dupont,jean@b.fr"}, fixedNow},
		{"organizer address with semicolon", MethodRequest, with(func(e *Event) { e.Organizer.Email = "a;b@c.fr" }), recipient, fixedNow},
		{"URL not http", MethodRequest, with(func(e *Event) { e.URL = "javascript:alert(1)" }), recipient, fixedNow},
		{"URL relative", MethodRequest, with(func(e *Event) { e.URL = "/seances/42" }), recipient, fixedNow},
		{"URL with a line break", MethodRequest, with(func(e *Event) { e.URL = "https://a.fr/\r\nX-INJECTED:1" }), recipient, fixedNow},
		{"URL with a space", MethodRequest, with(func(e *Event) { e.URL = "https://a.fr/a b" }), recipient, fixedNow},
		{"no clock", MethodRequest, valid, recipient, time.Time{}},
	}
	for _, tt := range inviteTests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Invitation(tt.method, tt.ev, tt.attendee, tt.now)
			if err == nil {
				t.Fatalf("no error; output:\n%s", b)
			}
			if b != nil {
				t.Error("output returned with an error")
			}
			if !strings.HasPrefix(err.Error(), "ical: ") {
				t.Errorf("error without package prefix: %v", err)
			}
		})
	}

	entry := func(f func(*FeedEntry)) []FeedEntry {
		es := feedEntries()
		f(&es[1])
		return es
	}
	feedTests := []struct {
		name    string
		owner   Person
		entries []FeedEntry
		now     time.Time
	}{
		{"duplicate UID", recipient, entry(func(e *FeedEntry) { e.UID = dstSession().UID }), fixedNow},
		{"answer without owner", Person{}, feedEntries(), fixedNow},
		{"answer without organizer", recipient, entry(func(e *FeedEntry) { e.Organizer = Person{} }), fixedNow},
		{"unknown answer", recipient, entry(func(e *FeedEntry) { e.Answer = "oui" }), fixedNow},
		{"invalid event", recipient, entry(func(e *FeedEntry) { e.End = e.Start }), fixedNow},
		{"invalid organizer", recipient, entry(func(e *FeedEntry) { e.Organizer.Email = "x" }), fixedNow},
		{"no clock", recipient, feedEntries(), time.Time{}},
	}
	for _, tt := range feedTests {
		t.Run("feed/"+tt.name, func(t *testing.T) {
			if b, err := Feed("x", tt.owner, tt.entries, tt.now); err == nil {
				t.Fatalf("no error; output:\n%s", b)
			}
		})
	}
}

// TestBeforeTheRules checks the UTC fallback for instants the VTIMEZONE does
// not describe.
func TestBeforeTheRules(t *testing.T) {
	ev := dstSession()
	ev.Start = time.Date(1995, 9, 24, 0, 30, 0, 0, time.UTC)
	ev.End = ev.Start.Add(time.Hour)
	b, err := Invitation(MethodRequest, ev, recipient, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	checkWellFormed(t, b)
	lines := logical(b)
	if !slices.Contains(lines, "DTSTART:19950924T003000Z") || !slices.Contains(lines, "DTEND:19950924T013000Z") {
		t.Errorf("want UTC date-times, got\n%s", b)
	}
}

func TestContentType(t *testing.T) {
	for m, want := range map[Method]string{
		MethodRequest: "text/calendar; charset=utf-8; method=REQUEST",
		MethodCancel:  "text/calendar; charset=utf-8; method=CANCEL",
		"":            "text/calendar; charset=utf-8",
	} {
		if got := ContentType(m); got != want {
			t.Errorf("ContentType(%q) = %q, want %q", m, got, want)
		}
	}
}

func TestUID(t *testing.T) {
	for _, tt := range []struct{ id, host, want string }{
		{"42", "agora.example.gouv.fr", "agora-42@agora.example.gouv.fr"},
		{"42", "Agora.Example.gouv.fr:8443", "agora-42@agora.example.gouv.fr"},
		{"42", "agora.example.gouv.fr.", "agora-42@agora.example.gouv.fr"},
		{"7", "[::1]:8080", "agora-7@::1"},
		{"7", "localhost:8080", "agora-7@localhost"},
		{"7", "", "agora-7@localhost"},
	} {
		if got := UID(tt.id, tt.host); got != tt.want {
			t.Errorf("UID(%q, %q) = %q, want %q", tt.id, tt.host, got, tt.want)
		}
	}
	if UID("1", "h") == UID("2", "h") || UID("1", "h") == UID("1", "g") {
		t.Error("UID is not injective")
	}
}

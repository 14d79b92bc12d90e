package ical

import (
	"time"

	ics "github.com/arran4/golang-ical"
)

const parisTZID = "Europe/Paris"

// parisTimezone returns the VTIMEZONE of Europe/Paris with the EU rules in
// force since 1996: summer time from the last Sunday of March at 01:00 UTC
// (02:00 CET) to the last Sunday of October at 01:00 UTC (03:00 CEST). Each
// DTSTART is the first onset of its rule (1981 for the March rule, 1996 for
// the October one).
//
// Outlook converts times with this definition, while Google, Apple and
// Thunderbird map the TZID to their own time zone database; the test
// TestVTimezoneMatchesTZData checks that both agree on every transition.
// parisWallClock applies the same rules, so the local times written next to
// this definition always mean what it says.
func parisTimezone() *ics.VTimezone {
	tz := ics.NewTimezone(parisTZID)
	daylight := &ics.Daylight{}
	observance(&daylight.ComponentBase, "+0100", "+0200", "CEST", "19810329T020000", "FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU")
	standard := ics.NewStandard()
	observance(&standard.ComponentBase, "+0200", "+0100", "CET", "19961027T030000", "FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU")
	tz.Components = append(tz.Components, daylight, standard)
	return tz
}

// observance fills a DAYLIGHT or STANDARD sub-component. DTSTART is a local
// time without TZID, as RFC 5545 §3.6.5 requires.
func observance(c *ics.ComponentBase, from, to, name, start, rrule string) {
	c.AddProperty(ics.ComponentProperty(ics.PropertyTzoffsetfrom), from)
	c.AddProperty(ics.ComponentProperty(ics.PropertyTzoffsetto), to)
	c.AddProperty(ics.ComponentProperty(ics.PropertyTzname), name)
	c.AddProperty(ics.ComponentPropertyDtStart, start)
	c.AddRrule(rrule)
}

// parisRulesFrom is the first instant parisTimezone describes correctly: the
// start of summer time in 1996. Before it, summer time ended in September,
// which the definition does not say.
const parisRulesFrom = 828234000 // 1996-03-31T01:00:00Z, in Unix seconds

// parisWallClock returns the Europe/Paris wall clock reading of t (as a time
// whose fields are that reading), and false when that reading would not name
// t unambiguously:
//
//   - during the hour that is repeated when summer time ends (02:00 to 03:00
//     on the last Sunday of October, first in CEST then in CET), in either
//     pass. RFC 5545 §3.3.5 reads such a local time as its first occurrence,
//     but not every implementation does: Go's time.ParseInLocation, for one,
//     picks the second. UTC leaves no room for interpretation;
//   - before parisRulesFrom, where parisTimezone would be wrong.
//
// The caller then writes t in UTC, which is always exact.
func parisWallClock(t time.Time) (time.Time, bool) {
	u := t.UTC()
	if u.Unix() < parisRulesFrom {
		return time.Time{}, false
	}
	y := u.Year()
	summerStart := time.Date(y, time.March, lastSunday(y, time.March), 1, 0, 0, 0, time.UTC)
	summerEnd := time.Date(y, time.October, lastSunday(y, time.October), 1, 0, 0, 0, time.UTC)
	switch {
	case !u.Before(summerEnd.Add(-time.Hour)) && u.Before(summerEnd.Add(time.Hour)):
		return time.Time{}, false
	case !u.Before(summerStart) && u.Before(summerEnd):
		return u.Add(2 * time.Hour), true
	default:
		return u.Add(time.Hour), true
	}
}

// lastSunday returns the day of the month of the last Sunday of month.
func lastSunday(year int, month time.Month) int {
	last := time.Date(year, month+1, 0, 0, 0, 0, 0, time.UTC) // day 0 = last day of month
	return last.Day() - int(last.Weekday())
}

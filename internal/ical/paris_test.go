package ical

import (
	"slices"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"
)

func loadParis(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(parisTZID)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// tzdataTransitions lists the instants in [from, to) at which Go's zone
// database changes the Paris offset. (Time.ZoneBounds is no help here: past
// 2037 it also reports year boundaries, and gets stuck at the end of 2040.)
func tzdataTransitions(paris *time.Location, from, to time.Time) []time.Time {
	offset := func(t time.Time) int { _, off := t.In(paris).Zone(); return off }
	const step = 6 * time.Hour // Paris never changes offset twice within 6 hours
	var out []time.Time
	for t := from; t.Before(to); t = t.Add(step) {
		if offset(t) == offset(t.Add(step)) {
			continue
		}
		lo, hi := t, t.Add(step) // offset(lo) != offset(hi): bisect to the second
		for hi.Sub(lo) > time.Second {
			mid := lo.Add(hi.Sub(lo) / 2).Truncate(time.Second)
			if offset(mid) == offset(lo) {
				lo = mid
			} else {
				hi = mid
			}
		}
		if hi.Before(to) && !hi.Before(from) {
			out = append(out, hi.UTC())
		}
	}
	return out
}

// TestVTimezoneMatchesTZData expands the RRULEs of the VTIMEZONE we send
// (with the independent parser and its rrule library, as a client would) and
// checks that its transitions are exactly those of the zone database from
// parisRulesFrom to 2100, with the right offsets and names.
func TestVTimezoneMatchesTZData(t *testing.T) {
	paris := loadParis(t)
	tzCal := &ics.Calendar{}
	tzCal.AddVTimezone(parisTimezone())
	b, err := serialize(tzCal, 0)
	if err != nil {
		t.Fatal(err)
	}
	checkWellFormed(t, b)
	cal := parse(t, b)
	if len(cal.Children) != 1 || cal.Children[0].Name != "VTIMEZONE" {
		t.Fatalf("want one VTIMEZONE, got %+v", cal.Children)
	}
	tz := cal.Children[0]
	if got := text(t, tz, "TZID"); got != parisTZID {
		t.Fatalf("TZID = %q", got)
	}
	from := time.Unix(parisRulesFrom, 0).UTC()
	to := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)

	var ours []time.Time
	kinds := map[string]int{}
	for _, obs := range tz.Children {
		kinds[obs.Name]++
		offFrom := parseOffset(t, obs.Props.Get("TZOFFSETFROM").Value)
		offTo := parseOffset(t, obs.Props.Get("TZOFFSETTO").Value)
		name := text(t, obs, "TZNAME")
		set, err := obs.RecurrenceSet(time.UTC) // onsets are local times: read the wall clock as UTC, then shift
		if err != nil || set == nil {
			t.Fatalf("%s: recurrence set: %v", obs.Name, err)
		}
		onsets := set.Between(time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), to, true)
		if len(onsets) < 100 {
			t.Fatalf("%s: only %d onsets", obs.Name, len(onsets))
		}
		for i, wall := range onsets {
			instant := wall.Add(-offFrom)
			if instant.Before(from) && i > 0 {
				continue // before 1996 only DTSTART, the first onset, must be right
			}
			_, gotFrom := instant.Add(-time.Second).In(paris).Zone()
			gotName, gotTo := instant.In(paris).Zone()
			if time.Duration(gotFrom)*time.Second != offFrom || time.Duration(gotTo)*time.Second != offTo || gotName != name {
				t.Errorf("%s onset %s: zone database says %s %+d→%+d", obs.Name, instant, gotName, gotFrom, gotTo)
			}
			if !instant.Before(from) {
				ours = append(ours, instant)
			}
		}
	}
	if kinds["DAYLIGHT"] != 1 || kinds["STANDARD"] != 1 {
		t.Fatalf("want one DAYLIGHT and one STANDARD, got %v", kinds)
	}
	slices.SortFunc(ours, func(a, b time.Time) int { return a.Compare(b) })
	want := tzdataTransitions(paris, from.Add(-time.Second), to)
	if len(want) < 200 {
		t.Fatalf("zone database: only %d transitions found", len(want))
	}
	for i := 0; i < max(len(ours), len(want)); i++ {
		if i >= len(ours) || i >= len(want) || !ours[i].Equal(want[i]) {
			t.Fatalf("transition %d differs (VTIMEZONE %d transitions, zone database %d): VTIMEZONE %v, zone database %v",
				i, len(ours), len(want), ours[i:min(i+2, len(ours))], want[i:min(i+2, len(want))])
		}
	}
}

func parseOffset(t *testing.T, s string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(s[1:3] + "h" + s[3:5] + "m")
	if err != nil || len(s) != 5 || (s[0] != '+' && s[0] != '-') {
		t.Fatalf("bad UTC offset %q", s)
	}
	if s[0] == '-' {
		d = -d
	}
	return d
}

// TestParisWallClock checks parisWallClock against the zone database: where
// it answers, the wall clock is Go's; it declines exactly for the instants
// whose wall clock also names another instant (the repeated hour in
// October) and before parisRulesFrom.
func TestParisWallClock(t *testing.T) {
	paris := loadParis(t)
	const layout = "20060102T150405"
	from := time.Unix(parisRulesFrom, 0).UTC()
	check := func(u time.Time) {
		wall, ok := parisWallClock(u)
		local := u.In(paris).Format(layout)
		unique := true
		for _, d := range []time.Duration{-time.Hour, -30 * time.Minute, -time.Second, time.Second, 30 * time.Minute, time.Hour} {
			if u.Add(d).In(paris).Format(layout) == local {
				unique = false
			}
		}
		if wantOK := !u.Before(from) && unique; ok != wantOK {
			t.Fatalf("parisWallClock(%s) ok = %v, want %v (Paris %s)", u, ok, wantOK, local)
		}
		if ok && wall.Format(layout) != local {
			t.Fatalf("parisWallClock(%s) = %s, zone database says %s", u, wall.Format(layout), local)
		}
	}
	// Densely around every transition, coarsely in between.
	for _, tr := range tzdataTransitions(paris, from.Add(-24*time.Hour), time.Date(2060, 1, 1, 0, 0, 0, 0, time.UTC)) {
		for d := -3 * time.Hour; d <= 3*time.Hour; d += 15 * time.Minute {
			check(tr.Add(d))
			check(tr.Add(d - time.Second))
		}
	}
	for u := from.Add(-48 * time.Hour); u.Year() < 2060; u = u.Add(7*time.Hour + 13*time.Minute) {
		check(u)
	}
}

func TestParisWallClockDSTNights(t *testing.T) {
	tests := []struct {
		utc  time.Time
		want string // "" for UTC fallback
	}{
		// 2027-03-28: 02:00 CET jumps to 03:00 CEST at 01:00 UTC.
		{time.Date(2027, 3, 28, 0, 30, 0, 0, time.UTC), "20270328T013000"},
		{time.Date(2027, 3, 28, 0, 59, 59, 0, time.UTC), "20270328T015959"},
		{time.Date(2027, 3, 28, 1, 0, 0, 0, time.UTC), "20270328T030000"},
		{time.Date(2027, 3, 28, 1, 30, 0, 0, time.UTC), "20270328T033000"},
		// 2027-10-31: 03:00 CEST falls back to 02:00 CET at 01:00 UTC.
		{time.Date(2027, 10, 30, 23, 30, 0, 0, time.UTC), "20271031T013000"},
		{time.Date(2027, 10, 30, 23, 59, 59, 0, time.UTC), "20271031T015959"},
		{time.Date(2027, 10, 31, 0, 0, 0, 0, time.UTC), ""},   // first 02:00
		{time.Date(2027, 10, 31, 0, 30, 0, 0, time.UTC), ""},  // first 02:30
		{time.Date(2027, 10, 31, 0, 59, 59, 0, time.UTC), ""}, // first 02:59:59
		{time.Date(2027, 10, 31, 1, 0, 0, 0, time.UTC), ""},   // second 02:00
		{time.Date(2027, 10, 31, 1, 30, 0, 0, time.UTC), ""},  // second 02:30
		{time.Date(2027, 10, 31, 1, 59, 59, 0, time.UTC), ""},
		{time.Date(2027, 10, 31, 2, 0, 0, 0, time.UTC), "20271031T030000"},
		{time.Date(2027, 10, 31, 2, 30, 0, 0, time.UTC), "20271031T033000"},
		// Before the rules of the VTIMEZONE.
		{time.Date(1996, 3, 31, 0, 59, 59, 0, time.UTC), ""},
		{time.Date(1996, 3, 31, 1, 0, 0, 0, time.UTC), "19960331T030000"},
		// Year boundary.
		{time.Date(2026, 12, 31, 23, 30, 0, 0, time.UTC), "20270101T003000"},
	}
	for _, tt := range tests {
		wall, ok := parisWallClock(tt.utc)
		got := ""
		if ok {
			got = wall.Format("20060102T150405")
		}
		if got != tt.want {
			t.Errorf("parisWallClock(%s) = %q, want %q", tt.utc, got, tt.want)
		}
	}
}

func TestLastSunday(t *testing.T) {
	for _, tt := range []struct {
		year  int
		month time.Month
		want  int
	}{
		{2026, time.March, 29}, {2026, time.October, 25},
		{2027, time.March, 28}, {2027, time.October, 31},
		{2028, time.February, 27}, {2032, time.October, 31},
	} {
		if got := lastSunday(tt.year, tt.month); got != tt.want {
			t.Errorf("lastSunday(%d, %s) = %d, want %d", tt.year, tt.month, got, tt.want)
		}
		if d := time.Date(tt.year, tt.month, tt.want, 0, 0, 0, 0, time.UTC); d.Weekday() != time.Sunday {
			t.Errorf("test data: %s is not a Sunday", d)
		}
	}
}

package ical

import (
	"strconv"
	"testing"
	"time"
)

// BenchmarkFeed500 serialises a feed of 500 sessions, each with the long
// description of the golden files (about 600 kB in all).
func BenchmarkFeed500(b *testing.B) {
	base := dstSession()
	answers := []PartStat{"", PartStatAccepted, PartStatDeclined, PartStatTentative, PartStatNeedsAction}
	entries := make([]FeedEntry, 500)
	for i := range entries {
		ev := base
		ev.UID = UID(strconv.Itoa(i), "agora.example.gouv.fr")
		ev.Sequence = i % 4
		ev.Start = base.Start.Add(time.Duration(i) * 7 * 24 * time.Hour)
		ev.End = ev.Start.Add(2 * time.Hour)
		ev.Cancelled = i%10 == 0
		entries[i] = FeedEntry{Event: ev, Answer: answers[i%len(answers)]}
	}
	out, err := Feed("Agora – mes séances", recipient, entries, fixedNow)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(out)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Feed("Agora – mes séances", recipient, entries, fixedNow); err != nil {
			b.Fatal(err)
		}
	}
}

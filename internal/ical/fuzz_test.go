package ical

import "testing"

// FuzzEscapeRoundTrip puts arbitrary text in every free-text field of an
// invitation and checks that the output stays well formed and that the
// independent parser reads back exactly the documented normalisation of
// each input. Seeds are in testdata/fuzz/FuzzEscapeRoundTrip.
func FuzzEscapeRoundTrip(f *testing.F) {
	f.Add("Comité, séance; n°1", "a\\b\r\nc\nd\re", "Salle 1 : bât. B", "Dupont, Jean")
	f.Fuzz(func(t *testing.T, summary, description, location, name string) {
		ev := dstSession()
		ev.Summary, ev.Description, ev.Location = summary, description, location
		ev.Organizer.Name = name
		attendee := Person{Name: name, Email: recipient.Email}

		b, err := Invitation(MethodRequest, ev, attendee, fixedNow)
		if err != nil {
			t.Fatalf("free text must never be an error: %v", err)
		}
		checkWellFormed(t, b)
		events := parse(t, b).Events()
		if len(events) != 1 {
			t.Fatalf("%d events", len(events))
		}
		c := events[0].Component
		for prop, in := range map[string]string{"SUMMARY": summary, "DESCRIPTION": description, "LOCATION": location} {
			if got, want := text(t, c, prop), wantText(in); got != want {
				t.Errorf("%s: got %q, want %q (input %q)", prop, got, want, in)
			}
		}
		for _, prop := range []string{"ORGANIZER", "ATTENDEE"} {
			p := c.Props.Get(prop)
			if p == nil {
				t.Fatalf("no %s", prop)
			}
			if got, want := p.Params.Get("CN"), wantParam(name); got != want {
				t.Errorf("%s CN: got %q, want %q (input %q)", prop, got, want, name)
			}
		}
		// The free text must not have changed anything else.
		if got := text(t, c, "UID"); got != ev.UID {
			t.Errorf("UID = %q", got)
		}
		if p := c.Props.Get("DTSTART"); p == nil {
			t.Error("no DTSTART")
		} else if start, err := p.DateTime(nil); err != nil || !start.Equal(ev.Start) {
			t.Errorf("DTSTART = %v (%v)", start, err)
		}
	})
}

package ical

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// A template gives each recipient the bytes Invitation gives them: names
// that fold their ATTENDEE line at various places, that need quoting or
// cleaning, non-ASCII, empty; REQUEST and CANCEL; various stamps.
func TestInvitationTemplateEqualsInvitation(t *testing.T) {
	people := []Person{
		recipient,
		{Email: "sans.nom@sante.gouv.fr"},
		{Name: `Zoé "O'Hara", de la DGOS; équipe « produit »`, Email: "z@x.fr"},
		{Name: strings.Repeat("Éléonore-Marie ", 9), Email: "eleonore.marie.de.la.tres-longue-adresse@sante.example.gouv.fr"},
		{Name: "🎉 Ünïcødé \\ ; , :", Email: "u@x.fr"},
		{Name: "AgoraPhName7Q", Email: standInEmail}, // the stand-ins themselves
		{Name: "Jean\r\nDupont\tTab", Email: "j@x.fr"},
	}
	cases := []struct {
		method Method
		ev     Event
	}{{MethodRequest, dstSession()}, {MethodRequest, movedSession()}, {MethodCancel, cancelledSession()}}
	for _, c := range cases {
		tmpl, err := NewInvitationTemplate(c.method, c.ev)
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range people {
			now := fixedNow.Add(time.Duration(i) * 7 * time.Second)
			want, err := Invitation(c.method, c.ev, p, now)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tmpl.For(p, now)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s %q: template differs\n--- got\n%s\n--- want\n%s", c.method, p.Name, got, want)
			}
			checkWellFormed(t, got)
		}
	}
}

// The template refuses what Invitation refuses.
func TestInvitationTemplateErrors(t *testing.T) {
	if _, err := NewInvitationTemplate(MethodRequest, cancelledSession()); err == nil {
		t.Error("a REQUEST template for a cancelled session")
	}
	tmpl, err := NewInvitationTemplate(MethodRequest, dstSession())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tmpl.For(Person{Name: "X", Email: "x;y@x.fr"}, fixedNow); err == nil {
		t.Error("an invalid attendee address accepted")
	}
	if _, err := tmpl.For(recipient, time.Time{}); err == nil {
		t.Error("a zero stamp accepted")
	}
}

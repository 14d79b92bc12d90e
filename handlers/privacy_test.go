package handlers_test

import (
	"strings"
	"testing"
)

// The personal-data page states the retention limits configured.
func TestPrivacyPageStatesRetention(t *testing.T) {
	for _, tc := range []struct {
		env  []string
		want []string
	}{
		{nil, []string{"90 jours après leur envoi", "conservé 365 jours"}},
		{[]string{"AGORA_MAIL_RETENTION", "30d", "AGORA_AUDIT_RETENTION", "0"},
			[]string{"30 jours après leur envoi", "Le journal des modifications est conservé sans limite de durée"}},
	} {
		ts := newTestServer(t, tc.env...)
		p := ts.newClient().get("/donnees-personnelles")
		if p.Status != 200 {
			t.Fatalf("status %d", p.Status)
		}
		for _, w := range tc.want {
			if !strings.Contains(p.Body, w) {
				t.Errorf("%v: the page does not say %q", tc.env, w)
			}
		}
	}
}

package eventmail_test

import (
	"context"
	"strings"
	"testing"

	"github.com/dnum-sociaux/agora/internal/eventmail"
	"github.com/dnum-sociaux/agora/internal/testutil"
	"github.com/dnum-sociaux/agora/models"
)

// The email that sends a management link again: French, a new link that
// leads to the registration in both bodies, the check-in code, no calendar
// part; each request its own email.
func TestManageLinkEmail(t *testing.T) {
	e := newEnv(t, 10)
	ctx := context.Background()
	r := e.register("a@x.fr")
	before := len(e.outbox("a@x.fr"))
	var ids []string
	for range 2 {
		testutil.MustTx(t, e.s, func(tx *models.Tx) error {
			id, err := e.n.ManageLink(ctx, tx, &e.event, &r)
			ids = append(ids, id)
			return err
		})
	}
	msgs := e.outbox("a@x.fr")[before:]
	if len(msgs) != 2 || ids[0] == ids[1] || len(ids[0]) != 18 {
		t.Fatalf("%d emails for two requests (ids %v), want 2", len(msgs), ids)
	}
	for i, m := range msgs {
		if m.Kind != eventmail.LinkKind || !strings.Contains(m.DedupeKey, ids[i]) || m.Subject != "Votre lien pour gérer votre inscription : Journée produit 2027" {
			t.Errorf("email %d: kind %q key %q subject %q", i, m.Kind, m.DedupeKey, m.Subject)
		}
		if m.ICSMethod != "" || m.ICSBody != "" {
			t.Errorf("email %d has a calendar part", i)
		}
		link := manageLink.FindStringSubmatch(m.TextBody)
		if link == nil || !strings.HasPrefix(link[1], ids[i]+".") || !strings.Contains(m.HTMLBody, `href="`+link[0]+`"`) {
			t.Fatalf("email %d: no new link in both bodies\n%s", i, m.TextBody)
		}
		got, _, err := e.s.RegistrationByLink(ctx, link[1])
		if err != nil || got.ID != r.ID {
			t.Errorf("email %d: the link leads to %q (%v)", i, got.ID, err)
		}
		for _, want := range []string{"Bonjour Camille Dupont,", "Journée produit 2027", "Inscription : Confirmée", "Participation : Sur place",
			r.DisplayCode(), link[0] + "/badge", "restent valables", "https://agora.example.gouv.fr/events/" + e.event.ID + "/programme"} {
			if !strings.Contains(m.TextBody, want) {
				t.Errorf("email %d: no %q in\n%s", i, want, m.TextBody)
			}
		}
		if !strings.Contains(m.HTMLBody, "/events/"+e.event.ID+"/qr/"+r.Code+".png") || !strings.Contains(m.HTMLBody, `lang="fr"`) {
			t.Errorf("email %d: HTML without the QR code or the layout", i)
		}
	}
}

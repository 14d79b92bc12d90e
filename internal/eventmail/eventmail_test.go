package eventmail_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dnum-sociaux/agora/internal/eventmail"
	"github.com/dnum-sociaux/agora/internal/ical"
	"github.com/dnum-sociaux/agora/internal/mail"
	"github.com/dnum-sociaux/agora/internal/render"
	"github.com/dnum-sociaux/agora/internal/testutil"
	"github.com/dnum-sociaux/agora/models"
	"github.com/dnum-sociaux/agora/templates"
)

type env struct {
	t     *testing.T
	s     *models.Store
	clock *testutil.Clock
	n     *eventmail.Notifier
	org   models.User
	event models.Event
}

func newEnv(t *testing.T, capacity int) *env {
	t.Helper()
	clock := testutil.NewClock()
	s := testutil.SQLite(t, clock.Now)
	r, err := render.New(templates.FS, map[string]any{"asset": func(p string) string { return "/assets/" + p }})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, s: s, clock: clock,
		n: eventmail.New(mail.NewComposer(r, "https://agora.example.gouv.fr"), "https://agora.example.gouv.fr/",
			ical.Person{Name: "Agora", Email: "agora@agora.example.gouv.fr"}, clock.Now)}
	ctx := context.Background()
	testutil.MustTx(t, s, func(tx *models.Tx) error {
		var err error
		if e.org, err = tx.CreateUser(ctx, models.NewUser{Email: "org@x.fr", Name: "Orga", DirectionCode: "DNUM", Role: models.RoleOrganiser}); err != nil {
			return err
		}
		start := time.Date(2027, 1, 14, 9, 0, 0, 0, models.Paris)
		e.event, err = tx.CreateEvent(ctx, models.Actor{UserID: e.org.ID}, "agora.example.gouv.fr", models.EventInput{
			Title: "Journée produit 2027", Description: "Les **communs**, ensemble.", StartsAt: start, EndsAt: start.Add(8 * time.Hour),
			VenueName: "Ministère", VenueAddress: "14 avenue Duquesne, 75007 Paris", VenueAccess: "Métro École militaire",
			Capacity: capacity, Modes: models.ModesBoth, OnlineURL: "https://webconf.example.gouv.fr/jp",
		})
		if err != nil {
			return err
		}
		e.event, err = tx.SetEventStatus(ctx, e.n, models.Actor{}, e.event.ID, models.EventPublished)
		return err
	})
	return e
}

func (e *env) register(email string, workshops ...string) models.Registration {
	e.t.Helper()
	var r models.Registration
	testutil.MustTx(e.t, e.s, func(tx *models.Tx) error {
		var err error
		r, err = tx.Register(context.Background(), e.n, models.NewRegistration{EventID: e.event.ID, Email: email, Name: "Camille Dupont",
			DirectionCode: "DGCS", Mode: models.ModeOnsite, Workshops: workshops})
		return err
	})
	return r
}

func (e *env) outbox(to string) []models.OutboxMessage {
	e.t.Helper()
	msgs, _, err := e.s.ListOutbox(context.Background(), models.OutboxFilter{Recipient: to, Limit: 100})
	if err != nil {
		e.t.Fatal(err)
	}
	// oldest first
	for i, j := 0, len(msgs)-1; i < j; i, j = i+1, j-1 {
		msgs[i], msgs[j] = msgs[j], msgs[i]
	}
	return msgs
}

var manageLink = regexp.MustCompile(`https://agora\.example\.gouv\.fr/inscription/([0-9a-f]{18}\.[A-Za-z0-9_-]{43})`)

func TestConfirmationWaitlistCancelPromotion(t *testing.T) {
	e := newEnv(t, 1)
	ctx := context.Background()
	var ws models.Slot
	testutil.MustTx(t, e.s, func(tx *models.Tx) error {
		var err error
		ws, err = tx.AddSlot(ctx, models.Actor{}, e.org, e.event.ID, "agora.example.gouv.fr", models.SlotInput{Kind: models.SlotWorkshop,
			SessionInput: models.SessionInput{Title: "Atelier données", StartsAt: e.event.StartsAt.Add(time.Hour), EndsAt: e.event.StartsAt.Add(2 * time.Hour), Room: "Salle 2", Capacity: 5}})
		return err
	})
	a := e.register("a@x.fr", ws.ID)
	w := e.register("w@x.fr", ws.ID)
	msgs := e.outbox("a@x.fr")
	if len(msgs) != 2 {
		t.Fatalf("%d emails to a confirmed registrant with one workshop, want 2 (event + workshop)", len(msgs))
	}
	conf, shop := msgs[0], msgs[1]
	if conf.ICSMethod != "REQUEST" || !strings.Contains(conf.ICSBody, "UID:"+e.event.UID) || !strings.Contains(conf.ICSBody, "SEQUENCE:0") {
		t.Errorf("confirmation calendar: method %q\n%s", conf.ICSMethod, conf.ICSBody)
	}
	if !strings.Contains(conf.Subject, "Inscription confirmée") || !strings.Contains(conf.TextBody, a.DisplayCode()) {
		t.Errorf("confirmation: %q\n%s", conf.Subject, conf.TextBody)
	}
	// The QR code is an inline image: the HTML shows it by Content-ID, the
	// row holds the text to draw at delivery.
	if !strings.Contains(conf.HTMLBody, `src="cid:`+e.n.QRContentID(&a)+`"`) || conf.InlineQR != e.n.CheckInURL(&a) ||
		strings.Contains(conf.HTMLBody, "/qr/") {
		t.Errorf("the confirmation does not show the QR code inline: inline %q\n%s", conf.InlineQR, conf.HTMLBody)
	}
	m := manageLink.FindStringSubmatch(conf.TextBody)
	if m == nil {
		t.Fatalf("no management link in\n%s", conf.TextBody)
	}
	if strings.Contains(conf.ICSBody, m[1]) || strings.Contains(conf.ICSBody, "/inscription/") {
		t.Error("the management link must never be in the calendar data")
	}
	if r, _, err := e.s.RegistrationByLink(ctx, m[1]); err != nil || r.ID != a.ID {
		t.Errorf("the link in the email does not open the registration: %v", err)
	}
	if shop.ICSMethod != "REQUEST" || !strings.Contains(shop.ICSBody, "UID:"+ws.UID) || !strings.Contains(shop.Subject, "Atelier données") || shop.InlineQR != "" {
		t.Errorf("workshop invitation: %q %q\n%s", shop.ICSMethod, shop.Subject, shop.ICSBody)
	}
	wm := e.outbox("w@x.fr")
	if len(wm) != 1 || wm[0].ICSMethod != "" || !strings.Contains(wm[0].Subject, "Liste d'attente") || !manageLink.MatchString(wm[0].TextBody) ||
		wm[0].InlineQR != "" || strings.Contains(wm[0].HTMLBody, "cid:") {
		t.Fatalf("waitlisted: %d emails %+v", len(wm), wm)
	}
	if !strings.Contains(wm[0].TextBody, "En attente de votre place") {
		t.Errorf("the waitlisted person's workshop choice is pending:\n%s", wm[0].TextBody)
	}
	// a cancels: CANCEL for the event and the workshop, w is promoted with both invitations.
	testutil.MustTx(t, e.s, func(tx *models.Tx) error {
		_, err := tx.CancelRegistration(ctx, e.n, models.Actor{}, a.ID, false)
		return err
	})
	msgs = e.outbox("a@x.fr")
	if len(msgs) != 4 || msgs[2].ICSMethod != "CANCEL" || !strings.Contains(msgs[2].ICSBody, "SEQUENCE:1") ||
		!strings.Contains(msgs[2].ICSBody, "STATUS:CANCELLED") || msgs[3].ICSMethod != "CANCEL" || !strings.Contains(msgs[3].ICSBody, ws.UID) ||
		msgs[2].InlineQR != "" {
		t.Fatalf("after cancelling: %d emails", len(msgs))
	}
	wm = e.outbox("w@x.fr")
	if len(wm) != 3 || !strings.Contains(wm[1].Subject, "Une place s'est libérée") || wm[1].ICSMethod != "REQUEST" ||
		!strings.Contains(wm[1].TextBody, "déclinez") || wm[2].ICSMethod != "REQUEST" || !strings.Contains(wm[2].ICSBody, ws.UID) {
		t.Fatalf("promotion: %d emails", len(wm))
	}
	if wm[1].InlineQR != e.n.CheckInURL(&w) || !strings.Contains(wm[1].HTMLBody, "cid:"+e.n.QRContentID(&w)) ||
		e.n.QRContentID(&w) == e.n.QRContentID(&a) {
		t.Errorf("the promotion does not show the promoted person's own QR code: %q", wm[1].InlineQR)
	}
	// Moving the event sends an update with a higher sequence; once.
	for range 2 {
		testutil.MustTx(t, e.s, func(tx *models.Tx) error {
			cur, _ := tx.EventByID(ctx, e.event.ID)
			in := models.EventInput{Title: cur.Title, Description: cur.Description, VenueName: "Autre lieu", VenueAddress: cur.VenueAddress,
				StartsAt: cur.StartsAt, EndsAt: cur.EndsAt, Capacity: cur.Capacity, Modes: cur.Modes, OnlineURL: cur.OnlineURL}
			_, err := tx.UpdateEvent(ctx, e.n, models.Actor{}, e.event.ID, in)
			return err
		})
	}
	wm = e.outbox("w@x.fr")
	if len(wm) != 4 || !strings.Contains(wm[3].Subject, "Modifié") || !strings.Contains(wm[3].ICSBody, "SEQUENCE:1") ||
		!strings.Contains(wm[3].ICSBody, "Autre lieu") || wm[3].InlineQR != "" || strings.Contains(wm[3].HTMLBody, "cid:") {
		t.Fatalf("update: %d emails", len(wm))
	}
}

func TestReminderAndMessage(t *testing.T) {
	e := newEnv(t, 0)
	r := e.register("a@x.fr")
	ctx := context.Background()
	testutil.MustTx(t, e.s, func(tx *models.Tx) error {
		if err := e.n.Reminder(ctx, tx, &e.event, &r, "day"); err != nil {
			return err
		}
		return e.n.Message(ctx, tx, &e.event, &r, "m1", "Infos pratiques", "Pensez à votre **badge**.")
	})
	msgs := e.outbox("a@x.fr")
	if len(msgs) != 3 || !strings.HasPrefix(msgs[1].Subject, "Demain") || !manageLink.MatchString(msgs[1].TextBody) ||
		!strings.Contains(msgs[2].HTMLBody, "<strong>badge</strong>") || msgs[2].Subject != "Journée produit 2027 : Infos pratiques" {
		t.Fatalf("reminder and message: %d", len(msgs))
	}
	if msgs[1].InlineQR != e.n.CheckInURL(&r) || !strings.Contains(msgs[1].HTMLBody, `src="cid:`+e.n.QRContentID(&r)+`"`) || msgs[2].InlineQR != "" {
		t.Errorf("the reminder shows the QR code inline, the message does not: %q %q", msgs[1].InlineQR, msgs[2].InlineQR)
	}
}

// The cached rendering of confirmations gives exactly the email a direct
// rendering gives, whatever the person's name holds, with and without
// workshops.
// Emails rendered from the cache (placeholders replaced by the person's
// values) equal a direct rendering, whether the registrations filled the
// cache or Warm did before them (then they render nothing more).
func TestCachedRenderingEqualsDirect(t *testing.T) {
	t.Run("cold", func(t *testing.T) { cachedRenderingEqualsDirect(t, false) })
	t.Run("warmed", func(t *testing.T) { cachedRenderingEqualsDirect(t, true) })
}

func cachedRenderingEqualsDirect(t *testing.T, warm bool) {
	e := newEnv(t, 2)
	ctx := context.Background()
	var ws, ws2 models.Slot
	testutil.MustTx(t, e.s, func(tx *models.Tx) error {
		var err error
		ws, err = tx.AddSlot(ctx, models.Actor{}, e.org, e.event.ID, "agora.example.gouv.fr", models.SlotInput{Kind: models.SlotWorkshop,
			SessionInput: models.SessionInput{Title: "Atelier <données> & IA", StartsAt: e.event.StartsAt.Add(time.Hour), EndsAt: e.event.StartsAt.Add(2 * time.Hour), Room: "Salle 2", Capacity: 5}})
		if err == nil {
			ws2, err = tx.AddSlot(ctx, models.Actor{}, e.org, e.event.ID, "agora.example.gouv.fr", models.SlotInput{Kind: models.SlotWorkshop,
				SessionInput: models.SessionInput{Title: `L'"accessibilité", enfin ?`, StartsAt: e.event.StartsAt.Add(3 * time.Hour), EndsAt: e.event.StartsAt.Add(4 * time.Hour), Room: "Salle 3", Capacity: 1}})
		}
		return err
	})
	var rendered int64
	if warm {
		ev, err := e.s.EventByID(ctx, e.event.ID)
		if err != nil {
			t.Fatal(err)
		}
		shops := []models.Session{ws.Session, ws2.Session}
		n, err := e.n.Warm(&ev, shops)
		if err != nil || n != eventmail.WarmSize(&ev, shops) || n == 0 {
			t.Fatalf("warm: %d emails rendered, %v; want %d", n, err, eventmail.WarmSize(&ev, shops))
		}
		if n, err := e.n.Warm(&ev, shops); n != 0 || err != nil {
			t.Fatalf("warm again: %d emails rendered, %v; want none", n, err)
		}
		rendered = e.n.Rendered()
	}
	names := []string{`Zoé <b>"O'Hara"</b> & co`, "Léa Martin", `AgoraPhName7Q`, "Ünïcødé 🎉 \\ ; ,", "Jean-Pierre d'Arc", "Ana", "Bob"}
	for i, name := range names {
		mode := models.ModeOnsite
		if i == 3 {
			mode = models.ModeRemote
		}
		var shops []string
		switch i % 3 {
		case 0:
			shops = []string{ws.ID}
		case 1: // two lines, the second workshop full after the first person
			shops = []string{ws2.ID, ws.ID}
		}
		var r models.Registration
		testutil.MustTx(t, e.s, func(tx *models.Tx) error {
			var err error
			r, err = tx.Register(ctx, e.n, models.NewRegistration{EventID: e.event.ID, Email: fmt.Sprintf("p%d@x.fr", i), Name: name,
				DirectionCode: "DGCS", Mode: mode, Workshops: shops})
			return err
		})
		choices, err := e.s.RegistrationWorkshops(ctx, r.ID, false)
		if err != nil {
			t.Fatal(err)
		}
		msgs := e.outbox(r.Email)
		for _, got := range msgs {
			m := eventmail.Mail{Event: e.event, Registration: r, Links: eventmail.Links{Event: e.n.EventURL(&e.event), Programme: e.n.EventURL(&e.event) + "/programme"}}
			if r.State == models.RegConfirmed {
				m.Links.QR = e.n.QRContentID(&r)
			}
			switch got.Kind {
			case "event.registered":
				m.Kind, m.Workshops = models.NoticeRegistered, choices
				link := "https://agora.example.gouv.fr/inscription/" + manageLink.FindStringSubmatch(got.TextBody)[1]
				m.Links.Manage, m.Links.Badge = link, link+"/badge"
			case "event.workshop_confirmed":
				m.Kind = models.NoticeWorkshopConfirmed
				for i := range choices {
					if strings.Contains(got.DedupeKey, choices[i].Session.ID) {
						m.Workshop = &choices[i]
					}
				}
			default:
				t.Fatalf("unexpected %s", got.Kind)
			}
			want, err := e.n.Mail.Compose(got.Kind, got.DedupeKey, r.Email, "event_notice", m)
			if err != nil {
				t.Fatal(err)
			}
			if got.TextBody != want.TextBody || got.HTMLBody != want.HTMLBody || got.Subject != want.Subject {
				t.Errorf("%q %s (%s, %s): cached rendering differs\n--- got\n%s\n--- want\n%s", name, got.Kind, r.State, r.Mode, got.TextBody, want.TextBody)
			}
			if !strings.Contains(got.TextBody, "Bonjour "+name+",") {
				t.Errorf("%q: greeting missing", name)
			}
			// The person's own QR code, shown inline, only in the confirmation.
			wantQR := ""
			if got.Kind == "event.registered" && r.State == models.RegConfirmed {
				wantQR = e.n.CheckInURL(&r)
			}
			if got.InlineQR != wantQR || (wantQR != "") != strings.Contains(got.HTMLBody, `src="cid:`+e.n.QRContentID(&r)+`"`) {
				t.Errorf("%q %s: inline QR %q, want %q", name, got.Kind, got.InlineQR, wantQR)
			}
		}
		want := 1
		for _, c := range choices {
			if c.State == models.RegConfirmed {
				want++
			}
		}
		if r.State == models.RegConfirmed && len(msgs) != want {
			t.Errorf("%q: %d emails, want %d", name, len(msgs), want)
		}
	}
	if warm && e.n.Rendered() != rendered {
		t.Errorf("after Warm, the registrations rendered %d emails more; want none", e.n.Rendered()-rendered)
	}
}

// Confirmations rendered once for many people (the registration opening)
// each show the person's own QR code: its own Content-ID in the HTML, its
// own check-in URL to draw.
func TestCachedConfirmationsShowOwnQR(t *testing.T) {
	e := newEnv(t, 0)
	seen := map[string]bool{}
	for i := range 3 {
		r := e.register(fmt.Sprintf("p%d@x.fr", i))
		msgs := e.outbox(r.Email)
		if len(msgs) != 1 || r.State != models.RegConfirmed {
			t.Fatalf("%s: %d emails, %s", r.Email, len(msgs), r.State)
		}
		cid := e.n.QRContentID(&r)
		if msgs[0].InlineQR != e.n.CheckInURL(&r) || !strings.Contains(msgs[0].HTMLBody, `src="cid:`+cid+`"`) || strings.Count(msgs[0].HTMLBody, "cid:") != 1 {
			t.Errorf("%s: inline QR %q, HTML without its own cid:%s", r.Email, msgs[0].InlineQR, cid)
		}
		if seen[cid] {
			t.Errorf("%s: Content-ID %s already used", r.Email, cid)
		}
		seen[cid] = true
	}
}

package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/charmap"

	"github.com/dnum-sociaux/agora/internal/testutil"
	"github.com/dnum-sociaux/agora/models"
)

// eventSetup is a published event with a question and two workshops.
type eventSetup struct {
	Event    models.Event
	Question models.Question
	WS1, WS2 models.Slot
}

// registered is a browser logged in as email, an agent who registered to
// ev (answering "Aucun", no workshop).
func (ts *testServer) registered(ev eventSetup, email string) *client {
	ts.t.Helper()
	c, _ := ts.loginAs(email, models.RoleAgent)
	c.post("/events/"+ev.Event.ID+"/register", url.Values{"q_" + ev.Question.ID: {"Aucun"}})
	return c
}

func (ts *testServer) newEvent(org models.User, title string, capacity int, modes models.Modes) eventSetup {
	ts.t.Helper()
	ctx := context.Background()
	var out eventSetup
	testutil.MustTx(ts.t, ts.Store, func(tx *models.Tx) error {
		a := models.Actor{UserID: org.ID, Email: org.Email}
		start := ts.Clock.Now().Add(20 * 24 * time.Hour)
		e, err := tx.CreateEvent(ctx, a, "agora.test", models.EventInput{Title: title, StartsAt: start, EndsAt: start.Add(8 * time.Hour),
			Capacity: capacity, Modes: modes, VenueName: "Ministère", VenueAddress: "14 avenue Duquesne"})
		if err != nil {
			return err
		}
		if out.Question, err = tx.AddQuestion(ctx, a, e.ID, models.QuestionInput{Label: "Régime alimentaire", Kind: models.QuestionSingle,
			Required: true, Options: []string{"Aucun", "Végétarien"}}); err != nil {
			return err
		}
		mk := func(title string, from time.Duration, capacity int) (models.Slot, error) {
			return tx.AddSlot(ctx, a, org, e.ID, "agora.test", models.SlotInput{Kind: models.SlotWorkshop, SessionInput: models.SessionInput{
				Title: title, StartsAt: start.Add(from), EndsAt: start.Add(from + time.Hour), Room: "Salle " + title, Capacity: capacity}})
		}
		if out.WS1, err = mk("Données", time.Hour, 1); err != nil {
			return err
		}
		if out.WS2, err = mk("Design", time.Hour, 5); err != nil {
			return err
		}
		out.Event, err = tx.SetEventStatus(ctx, models.NoNotify, a, e.ID, models.EventPublished)
		return err
	})
	return out
}

// manageLink is the management link of the first event email to email.
func (ts *testServer) manageLink(email string) string {
	ts.t.Helper()
	for _, m := range ts.outboxTo(email) {
		if strings.HasPrefix(m.Kind, "event.") {
			if l := manageRe.FindString(m.TextBody); l != "" {
				return l
			}
		}
	}
	ts.t.Fatalf("no management link sent to %s", email)
	return ""
}

func (ts *testServer) outboxTo(email string) []models.OutboxMessage {
	ts.t.Helper()
	return ts.outboxWhere(models.OutboxFilter{Recipient: email, Limit: 100})
}

var manageRe = regexp.MustCompile(`/inscription/[0-9a-f]{18}\.[A-Za-z0-9_-]{43}`)

func TestEventRegistrationFlow(t *testing.T) {
	ts := newTestServer(t)
	_, org := ts.loginAs("orga@example.org", models.RoleOrganiser)
	ev := ts.newEvent(org, "Journée produit", 1, models.ModesBoth)
	agent, _ := ts.loginAs("agent@example.org", models.RoleAgent)
	base := "/events/" + ev.Event.ID

	// Bad input: the required question unanswered, two overlapping workshops.
	p := agent.post(base+"/register", url.Values{"mode": {"onsite"}, "ws_1": {ev.WS1.ID}})
	if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "Choisissez une réponse.") {
		t.Fatalf("missing answer: %d\n%s", p.Status, p.Body)
	}
	if n := ts.count("SELECT COUNT(*) FROM registrations"); n != 0 {
		t.Fatalf("%d registrations after a refused form", n)
	}
	// Two workshops at the same time (a forged form): refused by the model, shown next to the workshops.
	p = agent.post(base+"/register", url.Values{"mode": {"onsite"}, "q_" + ev.Question.ID: {"Végétarien"}, "ws_1": {ev.WS1.ID}, "ws_2": {ev.WS2.ID}})
	if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "chevauche") || ts.count("SELECT COUNT(*) FROM registrations") != 0 {
		t.Fatalf("overlapping workshops: %d", p.Status)
	}
	p = agent.post(base+"/register", url.Values{"mode": {"onsite"}, "q_" + ev.Question.ID: {"Végétarien"}, "ws_1": {ev.WS1.ID}})
	if p.Status != http.StatusSeeOther || p.Header.Get("Location") != base {
		t.Fatalf("register: %d %q\n%s", p.Status, p.Header.Get("Location"), p.Body)
	}
	show := agent.get(base)
	if !strings.Contains(show.Body, "Votre inscription est confirmée") || !strings.Contains(show.Body, "Confirmée") {
		t.Fatalf("event page after registering:\n%s", show.Body)
	}
	mails := ts.outboxTo("agent@example.org")
	var conf, shop *models.OutboxMessage
	for i := range mails {
		switch mails[i].Kind {
		case "event.registered":
			conf = &mails[i]
		case "event.workshop_confirmed":
			shop = &mails[i]
		}
	}
	if conf == nil || conf.ICSMethod != "REQUEST" || shop == nil || !strings.Contains(shop.ICSBody, ev.WS1.UID) {
		t.Fatalf("emails: %+v", mails)
	}
	link := manageRe.FindString(conf.TextBody)
	if link == "" {
		t.Fatal("no management link in the confirmation")
	}
	// The link works without logging in; it changes the answers and workshop.
	anon := ts.newClient()
	p = anon.get(link)
	if p.Status != 200 || h1(p.Body) != "Mon inscription" || p.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("management page: %d %q", p.Status, h1(p.Body))
	}
	p = anon.post(link, url.Values{"mode": {"remote"}, "q_" + ev.Question.ID: {"Aucun"}, "ws_1": {ev.WS2.ID}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("change through the link: %d\n%s", p.Status, p.Body)
	}
	r, _ := ts.Store.RegistrationByEmail(context.Background(), ev.Event.ID, "agent@example.org")
	ans, _ := ts.Store.RegistrationAnswers(context.Background(), r.ID)
	ws, _ := ts.Store.RegistrationWorkshops(context.Background(), r.ID, false)
	if r.Mode != models.ModeRemote || ans[ev.Question.ID] != "Aucun" || len(ws) != 1 || ws[0].Session.ID != ev.WS2.ID {
		t.Fatalf("after the change: mode %s answers %v workshops %v", r.Mode, ans, ws)
	}
	// Cancel through the link: calendar CANCEL.
	if p := anon.post(link+"/cancel", nil); p.Status != http.StatusSeeOther {
		t.Fatalf("cancel: %d", p.Status)
	}
	var cancel *models.OutboxMessage
	for _, m := range ts.outboxTo("agent@example.org") {
		if m.Kind == "event.cancelled" {
			cancel = &m
		}
	}
	if cancel == nil || cancel.ICSMethod != "CANCEL" {
		t.Fatal("no calendar cancellation")
	}
	if p := anon.get(link); !strings.Contains(p.Body, "Cette inscription est annulée") {
		t.Errorf("management page after cancelling:\n%s", p.Body)
	}
}

func TestManagementLinkErrors(t *testing.T) {
	ts := newTestServer(t)
	_, org := ts.loginAs("orga@example.org", models.RoleOrganiser)
	ev := ts.newEvent(org, "Journée", 0, models.ModesOnsite)
	ts.registered(ev, "agent@example.org")
	link := ts.manageLink("agent@example.org")
	anon := ts.newClient()
	for _, bad := range []string{"/inscription/abc", changedAt(link, len(link)-1), "/inscription/0123456789abcdef01.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
		p := anon.get(bad)
		if p.Status != http.StatusNotFound || !strings.Contains(p.Body, "Ce lien de gestion d&#39;inscription n&#39;est pas valable") {
			t.Errorf("%s: %d\n%s", bad, p.Status, p.Body)
		}
	}
	testutil.MustTx(t, ts.Store, func(tx *models.Tx) error {
		_, err := tx.SetEventStatus(context.Background(), models.NoNotify, models.Actor{}, ev.Event.ID, models.EventArchived)
		return err
	})
	if p := anon.get(link); p.Status != http.StatusGone || !strings.Contains(p.Body, "a expiré") {
		t.Errorf("archived event's link: %d", p.Status)
	}
	if p := anon.post(link+"/cancel", nil); p.Status != http.StatusGone {
		t.Errorf("cancelling through an expired link: %d", p.Status)
	}
}

// Organisers of one event cannot see or change another event's
// registrations; agents and correspondents get only what is theirs.
func TestEventPermissions(t *testing.T) {
	ts := newTestServer(t)
	orgA, uA := ts.loginAs("orga-a@example.org", models.RoleOrganiser)
	orgB, uB := ts.loginAs("orga-b@example.org", models.RoleOrganiser)
	agent, _ := ts.loginAs("agent@example.org", models.RoleAgent)
	corr, uC := ts.loginAs("ref@example.org", models.RoleAgent)
	admin, _ := ts.loginAs("admin@example.org", models.RoleAdmin)
	anon := ts.newClient()
	evA := ts.newEvent(uA, "Événement A", 10, models.ModesOnsite)
	evB := ts.newEvent(uB, "Événement B", 10, models.ModesOnsite)
	var draft models.Event
	testutil.MustTx(t, ts.Store, func(tx *models.Tx) error {
		err := tx.AddCorrespondent(context.Background(), models.Actor{}, evA.Event.ID, uC.ID, "DGCS")
		if err != nil {
			return err
		}
		start := ts.Clock.Now().Add(48 * time.Hour)
		draft, err = tx.CreateEvent(context.Background(), models.Actor{UserID: uA.ID}, "agora.test", models.EventInput{Title: "Brouillon",
			StartsAt: start, EndsAt: start.Add(time.Hour), Modes: models.ModesOnsite})
		return err
	})
	agent.post("/events/"+evA.Event.ID+"/register", url.Values{"q_" + evA.Question.ID: {"Aucun"}})
	reg, _ := ts.Store.RegistrationByEmail(context.Background(), evA.Event.ID, "agent@example.org")
	if reg.ID == "" {
		t.Fatal("no registration")
	}
	A := "/events/" + evA.Event.ID
	type want map[string]int
	const ok, forbidden, notFound, login = 200, 403, 404, 303
	cases := []struct {
		path string
		want want
	}{
		{A + "/registrations", want{"orgA": ok, "orgB": forbidden, "agent": forbidden, "corr": ok, "admin": ok, "anon": login}},
		{A + "/export/csv", want{"orgA": ok, "orgB": forbidden, "agent": forbidden, "corr": ok, "admin": ok, "anon": login}},
		{A + "/export/xlsx", want{"orgA": ok, "orgB": forbidden, "agent": forbidden, "corr": ok, "admin": ok, "anon": login}},
		{A + "/dashboard", want{"orgA": ok, "orgB": forbidden, "agent": forbidden, "corr": forbidden, "admin": ok, "anon": login}},
		{A + "/checkin", want{"orgA": ok, "orgB": forbidden, "agent": forbidden, "corr": forbidden, "admin": ok, "anon": login}},
		{A + "/checkin/counts", want{"orgA": ok, "orgB": forbidden, "agent": forbidden, "corr": forbidden, "admin": ok, "anon": login}},
		{A + "/messages", want{"orgA": ok, "orgB": forbidden, "agent": forbidden, "corr": forbidden, "admin": ok, "anon": login}},
		{A + "/setup", want{"orgA": ok, "orgB": forbidden, "agent": forbidden, "corr": forbidden, "admin": ok, "anon": login}},
		{A + "/edit", want{"orgA": ok, "orgB": forbidden, "agent": forbidden, "corr": forbidden, "admin": ok, "anon": login}},
		{A + "/correspondent", want{"orgA": ok, "orgB": forbidden, "agent": forbidden, "corr": ok, "admin": ok, "anon": login}},
		{A + "/registrations/" + reg.ID + "/badge", want{"orgA": ok, "orgB": forbidden, "agent": forbidden, "corr": forbidden, "admin": ok, "anon": login}},
		{A + "/slots/" + evA.WS1.ID + "/export.csv", want{"orgA": ok, "orgB": forbidden, "agent": forbidden, "corr": forbidden, "admin": ok, "anon": login}},
		{A, want{"orgA": ok, "orgB": ok, "agent": ok, "corr": ok, "admin": ok, "anon": login}},
		{A + "/programme", want{"orgA": ok, "orgB": ok, "agent": ok, "corr": ok, "admin": ok, "anon": ok}},
		{"/events/" + draft.ID, want{"orgA": ok, "orgB": notFound, "agent": notFound, "corr": notFound, "admin": ok, "anon": login}},
		{"/events/" + draft.ID + "/programme", want{"orgA": ok, "orgB": notFound, "agent": notFound, "corr": notFound, "admin": ok, "anon": notFound}},
		{"/events/" + draft.ID + "/registrations", want{"orgA": ok, "orgB": notFound, "agent": notFound, "corr": notFound, "admin": ok, "anon": login}},
		{"/events/inconnu/registrations", want{"orgA": notFound, "orgB": notFound, "agent": notFound, "corr": notFound, "admin": notFound, "anon": login}},
	}
	browsers := map[string]*client{"orgA": orgA, "orgB": orgB, "agent": agent, "corr": corr, "admin": admin, "anon": anon}
	for _, tc := range cases {
		for who, status := range tc.want {
			t.Run(who+" "+tc.path, func(t *testing.T) {
				if p := browsers[who].get(tc.path); p.Status != status {
					t.Errorf("status %d, want %d", p.Status, status)
				}
			})
		}
	}
	// Writes by the other event's organiser change nothing.
	before := ts.count("SELECT COUNT(*) FROM audit_log")
	for _, path := range []string{A + "/registrations/" + reg.ID + "/cancel", A + "/status", A + "/duplicate", A + "/quotas", A + "/messages", A + "/checkin",
		A + "/correspondents", A + "/slots/" + evA.WS1.ID + "/cancel", A + "/edit"} {
		p := orgB.post(path, url.Values{"status": {"cancelled"}, "code": {reg.Code}, "subject": {"x"}, "body": {"x"}, "audience": {"all"},
			"corr_email": {"x@example.org"}, "corr_direction": {"DNUM"}, "title": {"x"}})
		if p.Status != forbidden {
			t.Errorf("POST %s by another event's organiser: %d", path, p.Status)
		}
	}
	if after := ts.count("SELECT COUNT(*) FROM audit_log"); after != before {
		t.Errorf("refused writes changed the audit log (%d → %d)", before, after)
	}
	// The correspondent sees only their direction (DGCS): the agent (DNUM) is not listed.
	if p := corr.get(A + "/registrations"); strings.Contains(p.Body, "agent@example.org") {
		t.Error("a correspondent sees another direction's registrations")
	}
	if p := corr.get(A + "/export/csv"); strings.Contains(p.Body, "agent@example.org") {
		t.Error("a correspondent exports another direction's registrations")
	}
	if p := orgA.get(A + "/registrations"); !strings.Contains(p.Body, "agent@example.org") {
		t.Error("the organiser does not see the registration")
	}
	_ = evB
}

func TestEventPagesRender(t *testing.T) {
	ts := newTestServer(t)
	orgC, org := ts.loginAs("orga@example.org", models.RoleOrganiser)
	ev := ts.newEvent(org, "Journée produit", 1, models.ModesBoth)
	agent, _ := ts.loginAs("agent@example.org", models.RoleAgent)
	agent.post("/events/"+ev.Event.ID+"/register", url.Values{"mode": {"onsite"}, "q_" + ev.Question.ID: {"Aucun"}, "ws_1": {ev.WS1.ID}})
	other, _ := ts.loginAs("autre@example.org", models.RoleAgent)
	other.post("/events/"+ev.Event.ID+"/register", url.Values{"mode": {"onsite"}, "q_" + ev.Question.ID: {"Aucun"}})
	reg, _ := ts.Store.RegistrationByEmail(context.Background(), ev.Event.ID, "agent@example.org")
	link := ts.manageLink("agent@example.org")
	E := "/events/" + ev.Event.ID
	for _, pg := range []struct {
		c    *client
		path string
		h1   string
	}{
		{agent, "/events", "Événements"},
		{agent, E, "Journée produit"},
		{agent, E + "/programme", "Programme"},
		{agent, E + "/programme?track=Salle+Données", "Programme"},
		{agent, E + "/inscription", "Mon inscription"},
		{agent, E + "/inscription/badge", "Badge de " + reg.Name},
		{ts.newClient(), link, "Mon inscription"},
		{ts.newClient(), link + "/badge", "Badge de " + reg.Name},
		{ts.newClient(), E + "/inscription/lien", "Retrouver mon lien d'inscription"},
		{ts.newClient(), E + "/inscription/lien/envoye", "Retrouver mon lien d'inscription"},
		{orgC, "/events/new", "Créer un événement"},
		{orgC, E + "/edit", "Modifier l'événement"},
		{orgC, E + "/setup", "Paramètres de l'inscription"},
		{orgC, E + "/slots/new", "Ajouter un créneau"},
		{orgC, E + "/slots/" + ev.WS1.ID + "/edit", "Modifier le créneau"},
		{orgC, E + "/registrations", "Inscriptions"},
		{orgC, E + "/registrations?state=waitlisted&mode=onsite&workshop=" + ev.WS1.ID + "&q=autre", "Inscriptions"},
		{orgC, E + "/dashboard", "Tableau de bord"},
		{orgC, E + "/messages", "Écrire aux inscrits"},
		{orgC, E + "/checkin", "Accueil des participants"},
		{orgC, E + "/checkin?code=" + reg.Code, "Accueil des participants"},
		{orgC, E + "/checkin?q=agent", "Accueil des participants"},
		{orgC, E + "/correspondent", "Inscrire des agents — DNUM"},
		{orgC, E + "/correspondent?direction=DGOS", "Inscrire des agents — DGOS"},
	} {
		t.Run(pg.path, func(t *testing.T) {
			p := pg.c.get(pg.path)
			if p.Status != 200 || h1(p.Body) != pg.h1 {
				t.Fatalf("%d, h1 %q, want %q\n%s", p.Status, h1(p.Body), pg.h1, p.Body)
			}
			if strings.Count(p.Body, "<h1") != 1 {
				t.Errorf("%d h1", strings.Count(p.Body, "<h1"))
			}
		})
	}
	// A page past the end of the registrations shows the last one.
	if p := orgC.get(E + "/registrations?page=9"); p.Status != 200 || !strings.Contains(p.Body, "<td>autre@example.org</td>") ||
		!strings.Contains(p.Body, "2 inscriptions correspondant") {
		t.Errorf("registrations page past the end: %d\n%s", p.Status, p.Body)
	}
	// Mon espace lists the registration.
	if p := agent.get("/"); !strings.Contains(p.Body, ">Journée produit</a>") || !strings.Contains(p.Body, "Confirmée") {
		t.Error("home does not list the agent's event")
	}
	// Next year's edition.
	if p := orgC.post(E+"/duplicate", nil); p.Status != http.StatusSeeOther || !strings.HasSuffix(p.Header.Get("Location"), "/edit") {
		t.Errorf("duplicate: %d %q", p.Status, p.Header.Get("Location"))
	} else if p := orgC.get(p.Header.Get("Location")); p.Status != 200 || !strings.Contains(p.Body, "Journée produit") {
		t.Errorf("edit page of the copy: %d", p.Status)
	}
	// The register page of someone already registered leads to their registration.
	if p := agent.get(E + "/register"); p.Status != http.StatusSeeOther || p.Header.Get("Location") != E+"/inscription" {
		t.Errorf("register page when registered: %d %q", p.Status, p.Header.Get("Location"))
	}
	if p := ts.newClient().get(E + "/qr/" + reg.Code + ".png"); p.Status != 200 || p.Header.Get("Content-Type") != "image/png" || !strings.HasPrefix(p.Body, "\x89PNG") {
		t.Errorf("QR image: %d %q", p.Status, p.Header.Get("Content-Type"))
	}
	if p := ts.newClient().get(E + "/qr/ZZZZZZZZ.png"); p.Status != 404 {
		t.Errorf("QR of an unknown code: %d", p.Status)
	}
}

func TestCheckInHTTP(t *testing.T) {
	ts := newTestServer(t)
	orgC, org := ts.loginAs("orga@example.org", models.RoleOrganiser)
	ev := ts.newEvent(org, "Journée", 1, models.ModesOnsite)
	ts.registered(ev, "a@example.org")
	ts.registered(ev, "w@example.org") // waitlisted
	ra, _ := ts.Store.RegistrationByEmail(context.Background(), ev.Event.ID, "a@example.org")
	rw, _ := ts.Store.RegistrationByEmail(context.Background(), ev.Event.ID, "w@example.org")
	C := "/events/" + ev.Event.ID + "/checkin"
	p := orgC.post(C, url.Values{"code": {strings.ToLower(ra.DisplayCode())}})
	if p.Status != 200 || !strings.Contains(p.Body, "Bienvenue") || !strings.Contains(p.Body, "Arrivée enregistrée") {
		t.Fatalf("check-in: %d\n%s", p.Status, p.Body)
	}
	p = orgC.post(C, url.Values{"code": {ra.Code}})
	if p.Status != http.StatusConflict || !strings.Contains(p.Body, "Déjà enregistrée") || !strings.Contains(p.Body, "ne peut pas être enregistrée deux fois") {
		t.Errorf("second check-in: %d", p.Status)
	}
	p = orgC.post(C, url.Values{"code": {rw.Code}})
	if p.Status != http.StatusConflict || !strings.Contains(p.Body, "En liste d&#39;attente") {
		t.Errorf("waitlisted: %d", p.Status)
	}
	p = orgC.post(C, url.Values{"code": {"NOPE1234"}})
	if p.Status != http.StatusNotFound || !strings.Contains(p.Body, "Non inscrit·e") {
		t.Errorf("unknown code: %d", p.Status)
	}
	// The scanner page asks for JSON.
	req, _ := http.NewRequest(http.MethodPost, ts.URL+C, strings.NewReader(url.Values{"code": {ra.Code}, "csrf_token": {orgC.csrf()}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	p = orgC.do(req)
	var got map[string]any
	if err := json.Unmarshal([]byte(p.Body), &got); err != nil || p.Status != http.StatusConflict || got["kind"] != "already" || got["arrived"] != float64(1) {
		t.Errorf("JSON check-in: %d %s", p.Status, p.Body)
	}
	if p := orgC.get(C + "/counts"); !strings.Contains(p.Body, `"arrived":1`) || !strings.Contains(p.Body, `"expected":1`) {
		t.Errorf("counts: %s", p.Body)
	}
	// The page loads the vendored reader and its own script, from Agora.
	p = orgC.get(C)
	if !strings.Contains(p.Body, "vendor/jsqr/jsQR.js") || !strings.Contains(p.Body, "js/events.js") {
		t.Error("check-in page scripts missing")
	}
	js := orgC.get(regexp.MustCompile(`src="([^"]+jsQR\.js)"`).FindStringSubmatch(p.Body)[1])
	if js.Status != 200 || !strings.Contains(js.Body, "jsQR") {
		t.Errorf("vendored jsQR not served: %d", js.Status)
	}
}

func multipartFile(t *testing.T, c *client, fields map[string]string, file []byte) (string, *bytes.Buffer) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for k, v := range fields {
		_ = w.WriteField(k, v)
	}
	_ = w.WriteField("csrf_token", c.csrf())
	fw, _ := w.CreateFormFile("file", "agents.csv")
	_, _ = fw.Write(file)
	_ = w.Close()
	return w.FormDataContentType(), &b
}

func TestCorrespondentImport(t *testing.T) {
	ts := newTestServer(t)
	_, org := ts.loginAs("orga@example.org", models.RoleOrganiser)
	ev := ts.newEvent(org, "Journée", 2, models.ModesBoth)
	corr, uc := ts.loginAs("ref@example.org", models.RoleAgent)
	testutil.MustTx(t, ts.Store, func(tx *models.Tx) error {
		return tx.AddCorrespondent(context.Background(), models.Actor{}, ev.Event.ID, uc.ID, "DGCS")
	})
	I := "/events/" + ev.Event.ID + "/correspondent/import"
	// A rejected file applies nothing.
	ct, body := multipartFile(t, corr, map[string]string{"direction": "DGCS"}, []byte("email;prénom\nx@example.org;X\n"))
	p := corr.postRaw(I, ct, body, nil)
	if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "Colonne manquante") || !strings.Contains(p.Body, "Aucune inscription n&#39;a été faite") {
		t.Fatalf("rejected file: %d\n%s", p.Status, p.Body)
	}
	if n := ts.count("SELECT COUNT(*) FROM registrations"); n != 0 {
		t.Fatalf("%d registrations after a rejected file", n)
	}
	// Windows-1252, ';': two confirmed (capacity 2), one waitlisted, refused lines with reasons.
	csv, _ := charmap.Windows1252.NewEncoder().String("Adresse électronique;Nom;Mode\r\n" +
		"zoe@example.org;Zoé Æsir;sur place\r\nleo@example.org;Léo;à distance\r\nmia@example.org;Mia;présentiel\r\n" +
		"ana@example.org;Ana;sur place\r\nbad-address;Bad;\r\nzoe@example.org;Zoé bis;\r\n")
	ct, body = multipartFile(t, corr, map[string]string{"direction": "DGCS"}, []byte(csv))
	p = corr.postRaw(I, ct, body, nil)
	if p.Status != 200 {
		t.Fatalf("import: %d\n%s", p.Status, p.Body)
	}
	for _, want := range []string{"3 inscriptions confirmées, 1 en liste d'attente, 2 lignes refusées", "Adresse électronique invalide", "En double : cette adresse est déjà ligne 2."} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("report lacks %q\n%s", want, p.Body[strings.Index(p.Body, "<main"):])
		}
	}
	r, err := ts.Store.RegistrationByEmail(context.Background(), ev.Event.ID, "zoe@example.org")
	if err != nil || r.Name != "Zoé Æsir" || r.DirectionCode != "DGCS" || r.RegisteredBy != uc.ID {
		t.Errorf("imported registration %+v %v", r, err)
	}
	if len(ts.outboxTo("zoe@example.org")) == 0 || ts.manageLink("ana@example.org") == "" {
		t.Error("imported agents get their own confirmation with a management link")
	}
	// Importing again: every line refused as already registered, nothing duplicated.
	ct, body = multipartFile(t, corr, map[string]string{"direction": "DGCS"}, []byte(csv))
	p = corr.postRaw(I, ct, body, nil)
	if !strings.Contains(p.Body, "Déjà inscrit·e") || ts.count("SELECT COUNT(*) FROM registrations") != 4 {
		t.Errorf("second import: %d registrations", ts.count("SELECT COUNT(*) FROM registrations"))
	}
	// Another direction is refused.
	ct, body = multipartFile(t, corr, map[string]string{"direction": "DGOS"}, []byte(csv))
	if p := corr.postRaw(I, ct, body, nil); p.Status != http.StatusForbidden {
		t.Errorf("import for another direction: %d", p.Status)
	}
	// The form for a few.
	p = corr.post("/events/"+ev.Event.ID+"/correspondent", url.Values{"direction": {"DGCS"}, "email": {"new@example.org", "", "pas une adresse"},
		"name": {"Nouvelle", "", "X"}, "mode": {"onsite", "onsite", "onsite"}})
	if p.Status != http.StatusUnprocessableEntity || fieldError(p.Body, "email-2") == "" {
		t.Errorf("form with a bad address: %d", p.Status)
	}
	p = corr.post("/events/"+ev.Event.ID+"/correspondent", url.Values{"direction": {"DGCS"}, "email": {"new@example.org"}, "name": {"Nouvelle"}, "mode": {"remote"}})
	if p.Status != 200 || !strings.Contains(p.Body, "1 inscription confirmée") {
		t.Errorf("form: %d", p.Status)
	}
}

func TestExports(t *testing.T) {
	ts := newTestServer(t)
	orgC, org := ts.loginAs("orga@example.org", models.RoleOrganiser)
	ev := ts.newEvent(org, "Journée", 0, models.ModesOnsite)
	testutil.MustTx(t, ts.Store, func(tx *models.Tx) error {
		_, err := tx.Register(context.Background(), models.NoNotify, models.NewRegistration{EventID: ev.Event.ID, Email: "evil@example.org",
			Name: `=HYPERLINK("http://evil","x")`, DirectionCode: "DNUM", Mode: models.ModeOnsite,
			Answers: map[string]string{ev.Question.ID: "Végétarien"}, Workshops: []string{ev.WS1.ID}})
		return err
	})
	p := orgC.get("/events/" + ev.Event.ID + "/export/csv")
	if p.Status != 200 || !strings.HasPrefix(p.Body, "\xEF\xBB\xBFNom;Adresse électronique;") || !strings.Contains(p.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("csv: %d %q", p.Status, p.Body[:min(80, len(p.Body))])
	}
	if !strings.Contains(p.Body, `"'=HYPERLINK(""http://evil"",""x"")"`) || !strings.Contains(p.Body, ";Végétarien\r\n") || !strings.Contains(p.Body, ";Données;") {
		t.Errorf("csv row:\n%s", p.Body)
	}
	p = orgC.get("/events/" + ev.Event.ID + "/export/xlsx")
	f, err := excelize.OpenReader(strings.NewReader(p.Body))
	if err != nil {
		t.Fatalf("xlsx: %v", err)
	}
	rows, _ := f.GetRows("Inscriptions")
	if len(rows) != 2 || rows[1][0] != `'=HYPERLINK("http://evil","x")` || rows[0][11] != "Régime alimentaire" {
		t.Errorf("xlsx rows %q", rows)
	}
	if sheets := f.GetSheetList(); len(sheets) != 3 || !strings.HasPrefix(sheets[2], "Données") {
		t.Errorf("sheets %v", sheets)
	}
	if p := orgC.get("/events/" + ev.Event.ID + "/slots/" + ev.WS1.ID + "/export.csv"); !strings.Contains(p.Body, "evil@example.org;DNUM;Confirmée") {
		t.Errorf("workshop list:\n%s", p.Body)
	}
}

// The timetable is built in Go: every text is escaped, and the track filter works.
func TestProgrammeEscapesAndFilters(t *testing.T) {
	ts := newTestServer(t)
	orgC, org := ts.loginAs("orga@example.org", models.RoleOrganiser)
	ev := ts.newEvent(org, "Journée", 0, models.ModesOnsite)
	start := ev.Event.StartsAt.In(models.Paris)
	p := orgC.post("/events/"+ev.Event.ID+"/slots", url.Values{"kind": {"talk"}, "title": {`<script>alert("x")</script> & co`},
		"date": {start.Format("2006-01-02")}, "start": {start.Add(3 * time.Hour).Format("15:04")}, "end": {start.Add(4 * time.Hour).Format("15:04")},
		"room": {`Salle "A" <b>`}, "agenda": {"**Gras** <img src=x onerror=alert(1)>"}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("add slot: %d\n%s", p.Status, p.Body)
	}
	p = ts.newClient().get("/events/" + ev.Event.ID + "/programme")
	if strings.Contains(p.Body, "<script>alert") || strings.Contains(p.Body, "onerror") || strings.Contains(p.Body, `<b>`) {
		t.Error("unescaped user text in the timetable")
	}
	if !strings.Contains(p.Body, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; co") || !strings.Contains(p.Body, "<strong>Gras</strong>") {
		t.Errorf("timetable:\n%s", p.Body)
	}
	p = ts.newClient().get("/events/" + ev.Event.ID + "/programme?track=Salle+Design")
	if !strings.Contains(p.Body, "Design") || strings.Contains(p.Body, ">Données<") {
		t.Error("track filter")
	}
	// Bad input for a slot: French errors next to the fields, nothing added.
	before := ts.count("SELECT COUNT(*) FROM sessions")
	p = orgC.post("/events/"+ev.Event.ID+"/slots", url.Values{"kind": {"workshop"}, "title": {""}, "date": {"2020-01-01"}, "start": {"25:00"}, "end": {"10:00"}, "capacity": {"-3"}})
	if p.Status != http.StatusUnprocessableEntity || fieldError(p.Body, "title") == "" || fieldError(p.Body, "start") == "" || ts.count("SELECT COUNT(*) FROM sessions") != before {
		t.Errorf("bad slot: %d title=%q start=%q", p.Status, fieldError(p.Body, "title"), fieldError(p.Body, "start"))
	}
}

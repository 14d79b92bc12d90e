package handlers_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	goical "github.com/emersion/go-ical"

	"github.com/dnum-sociaux/agora/models"
)

// --- helpers ---

// relogin logs a new browser in as an existing account.
func (ts *testServer) relogin(email string) *client {
	ts.t.Helper()
	c := ts.newClient()
	c.login(email)
	return c
}

var idInLocation = regexp.MustCompile(`^/(?:groups|sessions)/([0-9a-z]{26})`)

// mustRedirect checks a 303 and returns the id in its Location.
func mustRedirect(t *testing.T, p page, what string) string {
	t.Helper()
	if p.Status != http.StatusSeeOther {
		t.Fatalf("%s: status %d, want 303\n%s", what, p.Status, p.Body)
	}
	if loc := p.Header.Get("Location"); strings.HasPrefix(loc, "/login") || strings.HasPrefix(loc, "/welcome") {
		t.Fatalf("%s: redirected to %s (not logged in)", what, loc)
	}
	m := idInLocation.FindStringSubmatch(p.Header.Get("Location"))
	if m == nil {
		return ""
	}
	return m[1]
}

func (c *client) createGroup(title string, policy models.JoinPolicy, limit string) string {
	c.ts.t.Helper()
	return mustRedirect(c.ts.t, c.post("/groups", url.Values{"title": {title}, "summary": {"Résumé de " + title},
		"description": {"Un **groupe**."}, "theme": {"role_metier"}, "join_policy": {string(policy)}, "member_limit": {limit}}), "create group")
}

// groupWithAlice is an open group titled title that orga@example.org
// organises and alice@example.org (an agent) joined: their browsers and
// the group's id.
func (ts *testServer) groupWithAlice(title string) (org, alice *client, gid string) {
	ts.t.Helper()
	org, _ = ts.loginAs("orga@example.org", models.RoleOrganiser)
	alice, _ = ts.loginAs("alice@example.org", models.RoleAgent)
	gid = org.createGroup(title, models.JoinOpen, "")
	mustRedirect(ts.t, alice.post("/groups/"+gid+"/join", nil), "alice joins")
	return org, alice, gid
}

// sessionForm is a valid session form on Thursday 10 December 2026, 14:00–16:00 Paris.
func sessionForm(edit func(url.Values)) url.Values {
	v := url.Values{"title": {"Séance de lancement"}, "date": {"2026-12-10"}, "start": {"14:00"}, "end": {"16:00"},
		"room": {"Salle 4010"}, "address": {"14 avenue Duquesne, Paris"}, "video_url": {"https://webconf.example.gouv.fr/agora"},
		"agenda": {"1. Tour de table\n2. Feuille de route"}, "capacity": {""}}
	if edit != nil {
		edit(v)
	}
	return v
}

func (c *client) createSession(groupID string, edit func(url.Values)) string {
	c.ts.t.Helper()
	return mustRedirect(c.ts.t, c.post("/groups/"+groupID+"/sessions", sessionForm(edit)), "create session")
}

// outbox returns the messages of kind, oldest first.
func (ts *testServer) outbox(kind string) []models.OutboxMessage {
	ts.t.Helper()
	return ts.outboxWhere(models.OutboxFilter{Kind: kind, Limit: 1000})
}

// outboxWhere returns the messages f selects, oldest first.
func (ts *testServer) outboxWhere(f models.OutboxFilter) []models.OutboxMessage {
	ts.t.Helper()
	msgs, _, err := ts.Store.ListOutbox(context.Background(), f)
	if err != nil {
		ts.t.Fatal(err)
	}
	slices.Reverse(msgs)
	return msgs
}

func recipients(msgs []models.OutboxMessage) string {
	var out []string
	for _, m := range msgs {
		out = append(out, m.Recipient)
	}
	return strings.Join(out, " ")
}

// parseICS reads a calendar with an independent parser and returns its
// METHOD and single event.
func parseICS(t *testing.T, body string) (string, *goical.Event) {
	t.Helper()
	cal, err := goical.NewDecoder(strings.NewReader(body)).Decode()
	if err != nil {
		t.Fatalf("parse calendar: %v\n%s", err, body)
	}
	ev := cal.Events()
	if len(ev) != 1 {
		t.Fatalf("%d events, want 1", len(ev))
	}
	method := ""
	if p := cal.Props.Get("METHOD"); p != nil {
		method = p.Value
	}
	return method, &ev[0]
}

// --- the journey: invitations follow every change ---

func TestSessionInvitationsFollowChanges(t *testing.T) {
	ts := newTestServer(t)
	org, _, gid := ts.groupWithAlice("Accessibilité")
	b, _ := ts.loginAs("bob@example.org", models.RoleAgent)
	mustRedirect(t, b.post("/groups/"+gid+"/join", nil), "bob joins")

	sid := org.createSession(gid, nil)
	inv := ts.outbox("session.invitation")
	if got := recipients(inv); got != "alice@example.org bob@example.org orga@example.org" {
		t.Fatalf("invitations to %q, want the three members, one message each", got)
	}
	var uid string
	for _, m := range inv {
		method, ev := parseICS(t, m.ICSBody)
		if method != "REQUEST" || m.ICSMethod != "REQUEST" {
			t.Fatalf("invitation method %q/%q", method, m.ICSMethod)
		}
		atts := ev.Props.Values("ATTENDEE")
		if len(atts) != 1 || !strings.EqualFold(atts[0].Value, "mailto:"+m.Recipient) {
			t.Fatalf("invitation to %s has attendees %+v", m.Recipient, atts)
		}
		if org := ev.Props.Get("ORGANIZER"); org == nil || org.Value != "mailto:"+ts.Config.MailFrom.Address {
			t.Fatalf("ORGANIZER %+v, want AGORA_MAIL_FROM", org)
		}
		if uid == "" {
			uid = ev.Props.Get("UID").Value
		} else if ev.Props.Get("UID").Value != uid {
			t.Fatal("two UIDs for one session")
		}
		if !strings.Contains(m.TextBody, "Salle 4010") || !strings.Contains(m.TextBody, "https://webconf.example.gouv.fr/agora") || !strings.Contains(m.TextBody, "Feuille de route") {
			t.Fatalf("invitation body lacks place, link or agenda:\n%s", m.TextBody)
		}
	}

	// Bob declines; a change of time goes to the others, same UID, SEQUENCE 1.
	mustRedirect(t, b.post("/sessions/"+sid+"/answer", url.Values{"answer": {"no"}}), "bob answers no")
	// An agenda-only change sends nothing.
	mustRedirect(t, org.post("/sessions/"+sid, sessionForm(func(v url.Values) { v.Set("agenda", "Nouvel ordre du jour") })), "edit agenda")
	if n := len(ts.outbox("session.update")); n != 0 {
		t.Fatalf("an agenda change sent %d updates", n)
	}
	mustRedirect(t, org.post("/sessions/"+sid, sessionForm(func(v url.Values) { v.Set("start", "15:00"); v.Set("end", "17:00") })), "move")
	upd := ts.outbox("session.update")
	if recipients(upd) != "alice@example.org orga@example.org" {
		t.Fatalf("updates to %q, want alice and orga (bob declined)", recipients(upd))
	}
	for _, m := range upd {
		method, ev := parseICS(t, m.ICSBody)
		seq, _ := ev.Props.Get("SEQUENCE").Int()
		start, _ := ev.DateTimeStart(nil)
		if method != "REQUEST" || ev.Props.Get("UID").Value != uid || seq != 1 ||
			!start.Equal(time.Date(2026, 12, 10, 14, 0, 0, 0, time.UTC)) {
			t.Fatalf("update: method %s uid %s seq %d start %v", method, ev.Props.Get("UID").Value, seq, start)
		}
	}

	// Cancellation: METHOD:CANCEL, STATUS:CANCELLED, SEQUENCE 2.
	mustRedirect(t, org.post("/sessions/"+sid+"/cancel", nil), "cancel")
	cancels := ts.outbox("session.cancel")
	if recipients(cancels) != "alice@example.org orga@example.org" {
		t.Fatalf("cancellations to %q", recipients(cancels))
	}
	method, ev := parseICS(t, cancels[0].ICSBody)
	seq, _ := ev.Props.Get("SEQUENCE").Int()
	if method != "CANCEL" || ev.Props.Get("STATUS").Value != "CANCELLED" || seq != 2 || ev.Props.Get("UID").Value != uid {
		t.Fatalf("cancel: method %s status %s seq %d", method, ev.Props.Get("STATUS").Value, seq)
	}
	// Cancelling twice sends nothing more.
	org.post("/sessions/"+sid+"/cancel", nil)
	if n := len(ts.outbox("session.cancel")); n != 2 {
		t.Fatalf("second cancel: %d cancellations", n)
	}
	// No calendar message leaks a secret link.
	for _, m := range append(append(inv, upd...), cancels...) {
		if strings.Contains(m.ICSBody, "/login/") || strings.Contains(m.ICSBody, "/feeds/") {
			t.Fatalf("calendar carries a secret link:\n%s", m.ICSBody)
		}
	}
}

func TestInvitationOptOutAndLateJoiner(t *testing.T) {
	ts := newTestServer(t)
	org, a, gid := ts.groupWithAlice("Comitologie")
	mustRedirect(t, a.post("/groups/"+gid+"/calendar-invitations", url.Values{"invitations": {"off"}}), "opt out")
	org.createSession(gid, nil)
	if got := recipients(ts.outbox("session.invitation")); got != "orga@example.org" {
		t.Fatalf("invitations to %q; alice opted out", got)
	}
	// A member who joins later gets the upcoming sessions' invitations.
	b, _ := ts.loginAs("bob@example.org", models.RoleAgent)
	mustRedirect(t, b.post("/groups/"+gid+"/join", nil), "bob joins")
	inv := ts.outbox("session.invitation")
	if got := recipients(inv); got != "orga@example.org bob@example.org" {
		t.Fatalf("invitations to %q, want bob's too", got)
	}
	// Leaving takes the sessions out of the leaver's calendar (same UID, CANCEL).
	mustRedirect(t, b.post("/groups/"+gid+"/leave", nil), "bob leaves")
	gone := ts.outbox("session.removed")
	if len(gone) != 1 || gone[0].Recipient != "bob@example.org" {
		t.Fatalf("removal messages = %+v", gone)
	}
	method, ev := parseICS(t, gone[0].ICSBody)
	_, invEv := parseICS(t, inv[1].ICSBody)
	if method != "CANCEL" || ev.Props.Get("UID").Value != invEv.Props.Get("UID").Value {
		t.Fatalf("removal: method %s uid %s", method, ev.Props.Get("UID").Value)
	}
	// Alice, who opted out of invitations, gets no removal when she leaves.
	mustRedirect(t, a.post("/groups/"+gid+"/leave", nil), "alice leaves")
	if n := len(ts.outbox("session.removed")); n != 1 {
		t.Fatalf("%d removal messages after alice left", n)
	}
}

func TestWaitingListPromotionIsEmailed(t *testing.T) {
	ts := newTestServer(t)
	org, a, gid := ts.groupWithAlice("Hackathon")
	b, _ := ts.loginAs("bob@example.org", models.RoleAgent)
	mustRedirect(t, b.post("/groups/"+gid+"/join", nil), "bob joins")
	sid := org.createSession(gid, func(v url.Values) { v.Set("capacity", "1") })

	a.post("/sessions/"+sid+"/answer", url.Values{"answer": {"yes"}})
	p := b.post("/sessions/"+sid+"/answer", url.Values{"answer": {"yes"}})
	mustRedirect(t, p, "bob yes")
	if page := b.get("/sessions/" + sid); !strings.Contains(page.Body, "Liste d’attente") {
		t.Fatal("bob's page does not show the waiting list")
	}
	if n := len(ts.outbox("session.promoted")); n != 0 {
		t.Fatalf("%d promotions before a place freed", n)
	}
	a.post("/sessions/"+sid+"/answer", url.Values{"answer": {"no"}})
	promos := ts.outbox("session.promoted")
	if len(promos) != 1 || promos[0].Recipient != "bob@example.org" || !strings.Contains(promos[0].Subject, "place") {
		t.Fatalf("promotion emails = %+v", promos)
	}
	r, err := ts.Store.RSVPByUser(context.Background(), sid, userID(t, ts, "bob@example.org"))
	if err != nil || r.Waiting {
		t.Fatalf("bob still waiting: %+v %v", r, err)
	}
}

func userID(t *testing.T, ts *testServer, email string) string {
	t.Helper()
	u, err := ts.Store.UserByEmail(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

func TestJoinRequestAndInvitationFlows(t *testing.T) {
	ts := newTestServer(t)
	org, _ := ts.loginAs("orga@example.org", models.RoleOrganiser)
	a, _ := ts.loginAs("alice@example.org", models.RoleAgent)
	gid := org.createGroup("Sur demande", models.JoinApproval, "")

	if p := a.post("/groups/"+gid+"/join", nil); p.Status != http.StatusSeeOther || ts.isMember(gid, "alice@example.org") {
		t.Fatalf("direct join of an approval group: %d", p.Status)
	}
	mustRedirect(t, a.post("/groups/"+gid+"/request", url.Values{"message": {"Je travaille sur le sujet."}}), "request")
	reqMail := ts.outbox("group.request")
	if len(reqMail) != 1 || reqMail[0].Recipient != "orga@example.org" || !strings.Contains(reqMail[0].TextBody, "Je travaille sur le sujet.") {
		t.Fatalf("request email = %+v", reqMail)
	}
	if home := org.get("/"); !strings.Contains(home.Body, "demande à rejoindre") {
		t.Fatal("Mon espace of the organiser does not show the pending request")
	}
	// Alice is not an organiser: she cannot accept herself.
	if p := a.post("/groups/"+gid+"/requests/"+userID(t, ts, "alice@example.org"), url.Values{"decision": {"accept"}}); p.Status != http.StatusForbidden {
		t.Fatalf("self-acceptance: %d", p.Status)
	}
	mustRedirect(t, org.post("/groups/"+gid+"/requests/"+userID(t, ts, "alice@example.org"), url.Values{"decision": {"accept"}}), "accept")
	if !ts.isMember(gid, "alice@example.org") {
		t.Fatal("alice is not a member after acceptance")
	}
	if d := ts.outbox("group.request_decided"); len(d) != 1 || d[0].Recipient != "alice@example.org" || !strings.Contains(d[0].TextBody, "acceptée") {
		t.Fatalf("decision email = %+v", d)
	}

	// Invitation of an address with no account yet.
	inv := org.createGroup("Sur invitation", models.JoinInvitation, "")
	mustRedirect(t, org.post("/groups/"+inv+"/invitations", url.Values{"email": {"New.Comer@Example.org"}}), "invite")
	mails := ts.outbox("group.invitation")
	if len(mails) != 1 || mails[0].Recipient != "new.comer@example.org" || !strings.Contains(mails[0].TextBody, "/groups/"+inv) {
		t.Fatalf("invitation email = %+v", mails)
	}
	n := ts.newClient()
	n.login("new.comer@example.org") // the account is made at first login
	if home := n.get("/"); !strings.Contains(home.Body, "Sur invitation") {
		t.Fatal("Mon espace does not show the invitation")
	}
	mustRedirect(t, n.post("/groups/"+inv+"/invitation/accept", nil), "accept invitation")
	if !ts.isMember(inv, "new.comer@example.org") {
		t.Fatal("invitee is not a member")
	}
	// Someone else cannot use it.
	if p := a.post("/groups/"+inv+"/invitation/accept", nil); p.Status != http.StatusForbidden {
		t.Fatalf("uninvited accept: %d", p.Status)
	}
	// A bad address is refused next to the field.
	p := org.post("/groups/"+inv+"/invitations", url.Values{"email": {"pas une adresse"}})
	if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "adresse électronique valide") {
		t.Fatalf("bad invitation address: %d", p.Status)
	}
}

func (ts *testServer) isMember(groupID, email string) bool {
	ts.t.Helper()
	u, err := ts.Store.UserByEmail(context.Background(), email)
	if err != nil {
		return false
	}
	_, err = ts.Store.Membership(context.Background(), groupID, u.ID)
	return err == nil
}

func TestFullGroupAndLastOrganiser(t *testing.T) {
	ts := newTestServer(t)
	org, orgUser := ts.loginAs("orga@example.org", models.RoleOrganiser)
	a, _ := ts.loginAs("alice@example.org", models.RoleAgent)
	b, _ := ts.loginAs("bob@example.org", models.RoleAgent)
	gid := org.createGroup("Petit groupe", models.JoinOpen, "2")
	mustRedirect(t, a.post("/groups/"+gid+"/join", nil), "alice joins")
	b.post("/groups/"+gid+"/join", nil)
	if ts.isMember(gid, "bob@example.org") {
		t.Fatal("bob joined a full group")
	}
	if p := b.get("/groups/" + gid); !strings.Contains(p.Body, "complet") {
		t.Fatal("the full group's page does not say so")
	}
	org.post("/groups/"+gid+"/leave", nil)
	if !ts.isMember(gid, orgUser.Email) {
		t.Fatal("the last organiser left the group")
	}
	// Demoting oneself as last organiser is refused too.
	org.post("/groups/"+gid+"/members/"+orgUser.ID+"/role", url.Values{"role": {"member"}})
	if m, _ := ts.Store.Membership(context.Background(), gid, orgUser.ID); !m.IsOrganiser() {
		t.Fatal("the last organiser was demoted")
	}
}

// --- bad input: French errors next to the fields, nothing saved ---

func TestGroupFormBadInput(t *testing.T) {
	ts := newTestServer(t)
	org, _ := ts.loginAs("orga@example.org", models.RoleOrganiser)
	valid := url.Values{"title": {"Titre"}, "theme": {"autre"}, "join_policy": {"open"}}
	for _, tc := range []struct {
		name, field, value, want string
	}{
		{"empty title", "title", " ", "Ce champ est obligatoire."},
		{"CR/LF in title", "title", "Titre\r\nBcc: x@example.org", "ni retour à la ligne"},
		{"unknown theme", "theme", "cuisine", "Choisissez un thème dans la liste."},
		{"unknown policy", "join_policy", "secret", "Choisissez comment les agents rejoignent le groupe."},
		{"negative limit", "member_limit", "-3", "supérieur ou égal à 1"},
		{"limit not a number", "member_limit", "dix", "supérieur ou égal à 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := url.Values{}
			for k, x := range valid {
				v[k] = x
			}
			v.Set(tc.field, tc.value)
			p := org.post("/groups", v)
			if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, tc.want) || !strings.Contains(p.Body, `id="`+tc.field+`-error"`) {
				t.Fatalf("status %d; want 422 with %q next to %s", p.Status, tc.want, tc.field)
			}
		})
	}
	if _, n, _ := ts.Store.ListGroups(context.Background(), models.GroupFilter{}); n != 0 {
		t.Fatalf("%d groups saved from bad input", n)
	}
	// Script in the description is saved as text but never rendered as script.
	gid := org.createGroup("Sûr", models.JoinOpen, "")
	mustRedirect(t, org.post("/groups/"+gid, url.Values{"title": {"Sûr"}, "theme": {"autre"}, "join_policy": {"open"},
		"description": {"Bonjour <script>alert(1)</script> <img src=x onerror=alert(2)> [x](javascript:alert(3))"}}), "update")
	p := org.get("/groups/" + gid)
	for _, bad := range []string{"<script>alert", "onerror=", "javascript:alert"} {
		if strings.Contains(p.Body, bad) {
			t.Fatalf("group page renders %q", bad)
		}
	}
}

func TestSessionFormBadInput(t *testing.T) {
	ts := newTestServer(t)
	org, _ := ts.loginAs("orga@example.org", models.RoleOrganiser)
	gid := org.createGroup("G", models.JoinOpen, "")
	for _, tc := range []struct {
		name, field string
		edit        func(url.Values)
		want        string
	}{
		{"end before start", "end", func(v url.Values) { v.Set("end", "13:00") }, "L’heure de fin doit être après l’heure de début."},
		{"in the past", "date", func(v url.Values) { v.Set("date", "2026-11-29") }, "La séance doit commencer dans le futur"},
		{"bad date", "date", func(v url.Values) { v.Set("date", "31/02/2027") }, "Saisissez une date valide"},
		{"negative capacity", "capacity", func(v url.Values) { v.Set("capacity", "-5") }, "supérieur ou égal à 1"},
		{"title with CR/LF", "title", func(v url.Values) { v.Set("title", "A\r\nB") }, "ni retour à la ligne"},
		{"video link not https", "video_url", func(v url.Values) { v.Set("video_url", "javascript:alert(1)") }, "commençant par https://"},
		{"no place at all", "room", func(v url.Values) { v.Del("room"); v.Del("address"); v.Del("video_url") }, "Indiquez un lieu"},
		{"series without count", "repeat_count", func(v url.Values) { v.Set("repeat", "weekly") }, "Indiquez le nombre de séances"},
		{"series too long", "repeat_count", func(v url.Values) { v.Set("repeat", "weekly"); v.Set("repeat_count", "500") }, "entre 2 et 52"},
		{"unknown frequency", "repeat", func(v url.Values) { v.Set("repeat", "daily") }, "Choisissez une fréquence"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := org.post("/groups/"+gid+"/sessions", sessionForm(tc.edit))
			if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, tc.want) || !strings.Contains(p.Body, `id="`+tc.field+`-error"`) {
				t.Fatalf("status %d; want 422 with %q next to %s\n", p.Status, tc.want, tc.field)
			}
		})
	}
	if items, _ := ts.Store.GroupSessions(context.Background(), gid, "", true, 0); len(items) != 0 {
		t.Fatalf("%d sessions saved from bad input", len(items))
	}
	if n := len(ts.outbox("session.invitation")); n != 0 {
		t.Fatalf("%d invitations sent for bad input", n)
	}
	// Capacity below the confirmed participants, on edit.
	sid := org.createSession(gid, nil)
	a, _ := ts.loginAs("alice@example.org", models.RoleAgent)
	a.post("/groups/"+gid+"/join", nil)
	a.post("/sessions/"+sid+"/answer", url.Values{"answer": {"yes"}})
	org.post("/sessions/"+sid+"/answer", url.Values{"answer": {"yes"}})
	p := org.post("/sessions/"+sid, sessionForm(func(v url.Values) { v.Set("capacity", "1") }))
	if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "déjà confirmés") {
		t.Fatalf("capacity below confirmed: %d", p.Status)
	}
}

// --- a weekly series across the daylight-saving change, edited "this and following" ---

func TestSeriesThroughTheBrowser(t *testing.T) {
	ts := newTestServer(t)
	org, _ := ts.loginAs("orga@example.org", models.RoleOrganiser)
	gid := org.createGroup("Hebdo", models.JoinOpen, "")
	p := org.post("/groups/"+gid+"/sessions", sessionForm(func(v url.Values) {
		v.Set("date", "2027-03-16")
		v.Set("start", "10:00")
		v.Set("end", "11:00")
		v.Set("repeat", "weekly")
		v.Set("repeat_count", "4")
	}))
	mustRedirect(t, p, "create series")
	items, _ := ts.Store.GroupSessions(context.Background(), gid, "", true, 0)
	if len(items) != 4 {
		t.Fatalf("%d sessions", len(items))
	}
	for _, it := range items {
		if h := it.StartsAt.In(models.Paris).Hour(); h != 10 {
			t.Fatalf("occurrence %s at %d h Paris", it.StartsAt, h)
		}
	}
	if n := len(ts.outbox("session.invitation")); n != 4 {
		t.Fatalf("%d invitations for 4 sessions and 1 member", n)
	}
	// Move the third and the following to 11:00.
	third := items[2]
	mustRedirect(t, org.post("/sessions/"+third.ID, sessionForm(func(v url.Values) {
		v.Set("date", "2027-03-30")
		v.Set("start", "11:00")
		v.Set("end", "12:00")
		v.Set("scope", "following")
	})), "edit following")
	items, _ = ts.Store.GroupSessions(context.Background(), gid, "", true, 0)
	var got []string
	for _, it := range items {
		got = append(got, it.StartsAt.In(models.Paris).Format("02/01 15:04"))
	}
	if strings.Join(got, ",") != "16/03 10:00,23/03 10:00,30/03 11:00,06/04 11:00" {
		t.Fatalf("after editing the following: %v", got)
	}
	if n := len(ts.outbox("session.update")); n != 2 {
		t.Fatalf("%d updates, want 2", n)
	}
}

// --- feeds ---

var feedURL = regexp.MustCompile(`(/feeds/users/[0-9a-z]{26}/[A-Za-z0-9_-]{32}\.ics)`)

func TestPersonalFeedConditionalAndRevocable(t *testing.T) {
	ts := newTestServer(t)
	org, a, gid := ts.groupWithAlice("Flux")
	sid := org.createSession(gid, nil)
	a.post("/sessions/"+sid+"/answer", url.Values{"answer": {"yes"}})

	m := feedURL.FindStringSubmatch(a.get("/calendar").Body)
	if m == nil {
		t.Fatal("no feed URL on Mon agenda")
	}
	if !strings.Contains(a.get("/").Body, m[1]) {
		t.Fatal("Mon espace does not show the feed URL")
	}
	anon := ts.newClient() // a calendar app: no cookie
	f := anon.get(m[1])
	if f.Status != http.StatusOK || f.Header.Get("Content-Type") != "text/calendar; charset=utf-8" {
		t.Fatalf("feed: %d %q", f.Status, f.Header.Get("Content-Type"))
	}
	_, ev := parseICS(t, f.Body)
	if atts := ev.Props.Values("ATTENDEE"); len(atts) != 1 || atts[0].Params.Get("PARTSTAT") != "ACCEPTED" {
		t.Fatalf("feed attendee %+v, want alice ACCEPTED", atts)
	}
	etag, last := f.Header.Get("ETag"), f.Header.Get("Last-Modified")
	if etag == "" || last == "" {
		t.Fatalf("validators: ETag %q Last-Modified %q", etag, last)
	}
	cond := func(h, v string) page {
		req, _ := http.NewRequest(http.MethodGet, ts.URL+m[1], nil)
		req.Header.Set(h, v)
		return anon.do(req)
	}
	if p := cond("If-None-Match", etag); p.Status != http.StatusNotModified || p.Body != "" {
		t.Fatalf("If-None-Match: %d", p.Status)
	}
	if p := cond("If-Modified-Since", last); p.Status != http.StatusNotModified {
		t.Fatalf("If-Modified-Since: %d", p.Status)
	}
	head, _ := http.NewRequest(http.MethodHead, ts.URL+m[1], nil)
	if p := anon.do(head); p.Status != http.StatusOK || p.Header.Get("ETag") != etag || p.Body != "" {
		t.Fatalf("HEAD: %d %q", p.Status, p.Header.Get("ETag"))
	}
	// A change makes a new version.
	ts.Clock.Advance(time.Minute)
	a.post("/sessions/"+sid+"/answer", url.Values{"answer": {"maybe"}})
	if p := cond("If-None-Match", etag); p.Status != http.StatusOK || !strings.Contains(p.Body, "PARTSTAT=TENTATIVE") {
		t.Fatalf("after a change: %d", p.Status)
	}
	// The owner's name is in the feed: renaming changes it (not a cached copy).
	mustRedirect(t, a.post("/profile", url.Values{"name": {"Alice Renommée"}, "direction": {"DNUM"}}), "rename")
	if p := anon.get(m[1]); !strings.Contains(strings.ReplaceAll(p.Body, "\r\n ", ""), "Alice Renommée") {
		t.Fatal("the feed still shows the old name")
	}
	// Regenerate: the old URL is dead, a new one works; revoke: none works.
	mustRedirect(t, a.post("/calendar/feed", url.Values{"action": {"regenerate"}}), "regenerate")
	if p := anon.get(m[1]); p.Status != http.StatusNotFound {
		t.Fatalf("old URL after regeneration: %d", p.Status)
	}
	m2 := feedURL.FindStringSubmatch(a.get("/calendar").Body)
	if m2 == nil || m2[1] == m[1] || anon.get(m2[1]).Status != http.StatusOK {
		t.Fatal("the new feed URL does not work")
	}
	mustRedirect(t, a.post("/calendar/feed", url.Values{"action": {"revoke"}}), "revoke")
	if p := anon.get(m2[1]); p.Status != http.StatusNotFound {
		t.Fatalf("revoked URL: %d", p.Status)
	}
	// A forged token never works.
	if p := anon.get(strings.Replace(m2[1], m2[1][len(m2[1])-8:len(m2[1])-4], "AAAA", 1)); p.Status != http.StatusNotFound {
		t.Fatalf("forged token: %d", p.Status)
	}
}

func TestGroupFeedsAndDownloads(t *testing.T) {
	ts := newTestServer(t)
	org, _ := ts.loginAs("orga@example.org", models.RoleOrganiser)
	outsider, _ := ts.loginAs("out@example.org", models.RoleAgent)
	open := org.createGroup("Ouvert", models.JoinOpen, "")
	closed := org.createGroup("Fermé", models.JoinApproval, "")
	org.createSession(open, nil)
	sid := org.createSession(closed, nil)
	anon := ts.newClient()

	p := anon.get("/feeds/groups/" + open + ".ics")
	if p.Status != http.StatusOK || !strings.HasPrefix(p.Header.Get("Content-Type"), "text/calendar") || strings.Contains(p.Body, "ATTENDEE") {
		t.Fatalf("open group feed: %d", p.Status)
	}
	if p := anon.get("/feeds/groups/" + closed + ".ics"); p.Status != http.StatusNotFound {
		t.Fatalf("closed group feed without token: %d", p.Status)
	}
	page := org.get("/groups/" + closed)
	tok := regexp.MustCompile(`/feeds/groups/` + closed + `/[A-Za-z0-9_-]{32}\.ics`).FindString(page.Body)
	if tok == "" {
		t.Fatal("no feed URL on the closed group's page for its organiser")
	}
	if p := anon.get(tok); p.Status != http.StatusOK {
		t.Fatalf("closed group feed with token: %d", p.Status)
	}
	if strings.Contains(outsider.get("/groups/"+closed).Body, "/feeds/groups/"+closed+"/") {
		t.Fatal("a non-member sees the closed group's feed token")
	}
	// Downloads: members only for a closed group.
	if p := outsider.get("/groups/" + closed + "/calendar.ics"); p.Status != http.StatusForbidden {
		t.Fatalf("outsider download: %d", p.Status)
	}
	if p := outsider.get("/sessions/" + sid + "/session.ics"); p.Status != http.StatusForbidden {
		t.Fatalf("outsider session download: %d", p.Status)
	}
	if p := org.get("/sessions/" + sid + "/session.ics"); p.Status != http.StatusOK || !bytes.Contains([]byte(p.Body), []byte("BEGIN:VEVENT")) {
		t.Fatalf("organiser session download: %d", p.Status)
	}
	if p := outsider.get("/groups/" + open + "/calendar.ics"); p.Status != http.StatusOK {
		t.Fatalf("open group download: %d", p.Status)
	}
}

// --- Mon espace ---

func TestMySpaceOneClickAnswer(t *testing.T) {
	ts := newTestServer(t)
	org, a, gid := ts.groupWithAlice("Rôle métier")
	sid := org.createSession(gid, nil)
	home := a.get("/")
	for _, want := range []string{"Rôle métier", "Séance de lancement", "À répondre", `action="/sessions/` + sid + `/answer"`} {
		if !strings.Contains(home.Body, want) {
			t.Fatalf("Mon espace lacks %q", want)
		}
	}
	p := a.post("/sessions/"+sid+"/answer", url.Values{"answer": {"yes"}, "next": {"/"}})
	if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/" {
		t.Fatalf("one-click answer: %d %s", p.Status, p.Header.Get("Location"))
	}
	if home := a.get("/"); !strings.Contains(home.Body, `aria-pressed="true">Oui`) {
		t.Fatal("Mon espace does not show the answer")
	}
}

// --- minutes and attendance ---

func TestMinutesAndAttendance(t *testing.T) {
	ts := newTestServer(t)
	org, _ := ts.loginAs("orga@example.org", models.RoleOrganiser)
	a, alice := ts.loginAs("alice@example.org", models.RoleAgent)
	gid := org.createGroup("CR", models.JoinOpen, "")
	a.post("/groups/"+gid+"/join", nil)
	sid := org.createSession(gid, nil)
	if p := org.post("/sessions/"+sid+"/minutes", url.Values{"minutes": {"Trop tôt"}}); p.Status != http.StatusUnprocessableEntity {
		t.Fatalf("minutes before the session: %d", p.Status)
	}
	ts.Clock.T = time.Date(2026, 12, 10, 16, 0, 0, 0, time.UTC)
	org = ts.relogin("orga@example.org") // the web sessions expired meanwhile
	a = ts.relogin("alice@example.org")
	mustRedirect(t, org.post("/sessions/"+sid+"/minutes", url.Values{"minutes": {"## Décisions\n\n- Adopté <script>x</script>"}}), "minutes")
	if n := ts.outbox("session.minutes"); len(n) != 2 {
		t.Fatalf("%d minutes notifications, want 2", len(n))
	}
	mustRedirect(t, org.post("/sessions/"+sid+"/minutes", url.Values{"minutes": {"## Décisions\n\n- Adopté, corrigé"}}), "minutes again")
	if n := ts.outbox("session.minutes"); len(n) != 2 {
		t.Fatalf("editing the minutes notified again: %d", len(n))
	}
	page := a.get("/sessions/" + sid)
	if !strings.Contains(page.Body, "Adopté, corrigé") || strings.Contains(page.Body, "<script>x") {
		t.Fatal("minutes not shown, or shown unsafely")
	}
	mustRedirect(t, org.post("/sessions/"+sid+"/attendance", url.Values{"attended": {alice.ID}}), "attendance")
	if att, _ := ts.Store.Attendees(context.Background(), sid); len(att) != 1 || att[0].ID != alice.ID {
		t.Fatalf("attendees = %+v", att)
	}
	if p := a.post("/sessions/"+sid+"/attendance", url.Values{"attended": {alice.ID}}); p.Status != http.StatusForbidden {
		t.Fatalf("member marking attendance: %d", p.Status)
	}
}

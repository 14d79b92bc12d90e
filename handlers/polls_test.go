package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dnum-sociaux/agora/models"
)

// pollForm is a valid poll form: three 2-hour slots in December 2026
// (the test clock is Monday 30 November 2026), given out of order.
func pollForm(edit func(url.Values)) url.Values {
	v := url.Values{"title": {"Atelier feuille de route"}, "description": {"Choisissons **ensemble**."}, "duration": {"120"},
		"room": {"Salle 4010"}, "address": {""}, "video_url": {""}, "deadline": {""},
		"slot_date": {"2026-12-10", "2026-12-08", "", "2026-12-09"}, "slot_start": {"14:00", "10:00", "", "14:30"}}
	if edit != nil {
		edit(v)
	}
	return v
}

var pollInLocation = regexp.MustCompile(`^/polls/([0-9a-z]{26})$`)

func (c *client) createPoll(groupID string, edit func(url.Values)) string {
	c.ts.t.Helper()
	p := c.post("/groups/"+groupID+"/polls", pollForm(edit))
	m := pollInLocation.FindStringSubmatch(p.Header.Get("Location"))
	if p.Status != http.StatusSeeOther || m == nil {
		c.ts.t.Fatalf("create poll: %d %q\n%s", p.Status, p.Header.Get("Location"), p.Body)
	}
	return m[1]
}

// pollSlots returns the poll's slots, in order of time.
func (ts *testServer) pollSlots(pollID string) []models.PollSlot {
	ts.t.Helper()
	s, err := ts.Store.PollSlots(context.Background(), pollID)
	if err != nil || len(s) == 0 {
		ts.t.Fatalf("slots of %s: %v, %v", pollID, s, err)
	}
	return s
}

// votesForm answers the slots in order.
func votesForm(slots []models.PollSlot, votes ...string) url.Values {
	v := url.Values{}
	for i, s := range slots {
		if i < len(votes) && votes[i] != "" {
			v.Set("slot_"+s.ID, votes[i])
		}
	}
	return v
}

func sortedRecipients(msgs []models.OutboxMessage) string {
	var out []string
	for _, m := range msgs {
		out = append(out, m.Recipient)
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

var (
	cellRe     = regexp.MustCompile(`(?s)<(t[hd])[^>]*>(.*?)</t[hd]>`)
	ariaHidden = regexp.MustCompile(`<span aria-hidden="true">[^<]*</span>`)
)

// tableText returns the poll table as lines of cell texts separated by "|".
func tableText(body string) []string {
	start, end := strings.Index(body, "<table>"), strings.Index(body, "</table>")
	if start < 0 || end < start {
		return nil
	}
	var lines []string
	for _, row := range strings.Split(body[start:end], "</tr>") {
		var cells []string
		for _, m := range cellRe.FindAllStringSubmatch(row, -1) {
			text := ariaHidden.ReplaceAllString(m[2], "")
			text = tagRe.ReplaceAllString(strings.ReplaceAll(text, "<br>", " "), "")
			cells = append(cells, strings.Join(strings.Fields(text), " "))
		}
		if len(cells) > 0 {
			lines = append(lines, strings.Join(cells, "|"))
		}
	}
	return lines
}

// The journey: an organiser opens a poll, members are told and vote, the
// table shows who answered what and the best slot, the organiser retains a
// slot: the session exists, its invitations and the "date retenue" emails
// are in the outbox, and the poll links to the session.
func TestPollJourney(t *testing.T) {
	ts := newTestServer(t)
	org, _ := ts.loginAs("orga@example.org", models.RoleOrganiser)
	alice, _ := ts.loginAs("alice@example.org", models.RoleAgent)
	bob, _ := ts.loginAs("bob@example.org", models.RoleAgent)
	carol, _ := ts.loginAs("carol@example.org", models.RoleAgent)
	gid := org.createGroup("Comitologie", models.JoinOpen, "")
	for _, c := range []*client{alice, bob, carol} {
		mustRedirect(t, c.post("/groups/"+gid+"/join", nil), "join")
	}
	// Bob wants no news by email; Carol takes no calendar invitations from the group.
	if p := bob.post("/profile", url.Values{"name": {"Bob"}, "direction": {"DNUM"}}); p.Status != http.StatusSeeOther {
		t.Fatalf("bob's profile: %d", p.Status)
	}
	mustRedirect(t, carol.post("/groups/"+gid+"/calendar-invitations", url.Values{"invitations": {"off"}}), "carol opts out")

	pid := org.createPoll(gid, nil)
	opened := ts.outbox("poll.opened")
	if got := sortedRecipients(opened); got != "alice@example.org carol@example.org" {
		t.Fatalf("poll announced to %q, want alice and carol (not the author, not bob who wants no news)", got)
	}
	if !strings.Contains(opened[0].TextBody, ts.Config.URL("/polls/"+pid)) || !strings.Contains(opened[0].Subject, "Atelier feuille de route") ||
		!strings.Contains(opened[0].TextBody, "3 créneaux de 2 h") {
		t.Fatalf("announcement:\n%s\n%s", opened[0].Subject, opened[0].TextBody)
	}
	slots := ts.pollSlots(pid)
	if len(slots) != 3 || !slots[0].StartsAt.Equal(time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC)) {
		t.Fatalf("slots = %+v", slots)
	}

	// Mon espace and the group page show the poll awaiting an answer.
	if p := alice.get("/"); !strings.Contains(p.Body, "Sondages en attente de ma réponse") || !strings.Contains(p.Body, "/polls/"+pid) {
		t.Fatal("Mon espace does not show the poll awaiting alice")
	}
	if p := alice.get("/groups/" + gid); !strings.Contains(p.Body, `id="sondages"`) || !strings.Contains(p.Body, "/polls/"+pid) || !strings.Contains(p.Body, "À répondre") {
		t.Fatal("the group page does not list the open poll")
	}

	// Votes: alice, then bob; alice changes her mind (an upsert).
	mustRedirect(t, alice.post("/polls/"+pid+"/votes", votesForm(slots, "yes", "if_needed", "no")), "alice votes")
	mustRedirect(t, bob.post("/polls/"+pid+"/votes", votesForm(slots, "yes", "yes", "no")), "bob votes")
	mustRedirect(t, alice.post("/polls/"+pid+"/votes", votesForm(slots, "if_needed", "yes", "no")), "alice changes")
	if n := ts.count("SELECT COUNT(*) FROM poll_votes WHERE poll_id = ?", pid); n != 6 {
		t.Fatalf("%d answers stored, want 6 (one per member and slot)", n)
	}
	if p := alice.get("/"); strings.Contains(p.Body, "/polls/"+pid) {
		t.Fatal("Mon espace still shows the poll alice answered")
	}

	// The table: one line per member (the viewer's first), a total line, the
	// best slot said in words; her own answers preselected in the form.
	p := alice.get("/polls/" + pid)
	if p.Status != http.StatusOK || h1(p.Body) != "Atelier feuille de route" {
		t.Fatalf("poll page: %d %q", p.Status, h1(p.Body))
	}
	got := tableText(p.Body)
	want := []string{
		"Réponses au sondage « Atelier feuille de route », par membre et par créneau",
		"Membre|mar. 8 déc. 2026 10 h – 12 h|mer. 9 déc. 2026 14 h 30 – 16 h 30 Meilleur créneau|jeu. 10 déc. 2026 14 h – 16 h",
		"Nom alice@example.org (vous)|Si besoin|Oui|Non",
		"Nom orga@example.org|Pas de réponse|Pas de réponse|Pas de réponse",
		"Bob|Oui|Oui|Non",
		"Nom carol@example.org|Pas de réponse|Pas de réponse|Pas de réponse",
		"Total|1 oui 1 si besoin 0 non|2 oui 0 si besoin 0 non|0 oui 0 si besoin 2 non",
	}
	// The caption is not a cell: take it apart.
	if !strings.Contains(p.Body, "<caption>"+want[0]+"</caption>") {
		t.Fatalf("caption missing:\n%s", p.Body)
	}
	want = want[1:]
	if !slices.Equal(got, want) {
		t.Fatalf("table =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, needle := range []string{`<th scope="col">Membre</th>`, `<th scope="row">Bob</th>`, `<th scope="row">Total</th>`,
		`id="slot_` + slots[1].ID + `-1" name="slot_` + slots[1].ID + `" value="yes" checked`} {
		if !strings.Contains(p.Body, needle) {
			t.Fatalf("poll page lacks %s", needle)
		}
	}

	// The organiser retains the best slot, preselected on the close form.
	cf := org.get("/polls/" + pid + "/close")
	if cf.Status != http.StatusOK || !strings.Contains(cf.Body, `value="`+slots[1].ID+`" checked`) || !strings.Contains(cf.Body, "Meilleur créneau : 2 oui") {
		t.Fatalf("close form: %d\n%s", cf.Status, cf.Body)
	}
	closeForm := url.Values{"slot": {slots[1].ID}, "title": {"Atelier feuille de route"}, "room": {"Salle 4010"},
		"video_url": {"https://webconf.example.gouv.fr/agora"}, "agenda": {"1. Bilan"}, "capacity": {""}}
	r := org.post("/polls/"+pid+"/close", closeForm)
	sid := mustRedirect(t, r, "close")
	if !strings.HasPrefix(r.Header.Get("Location"), "/sessions/") || sid == "" {
		t.Fatalf("close redirects to %q", r.Header.Get("Location"))
	}
	sess, err := ts.Store.SessionByID(context.Background(), sid)
	if err != nil || !sess.StartsAt.Equal(slots[1].StartsAt) || !sess.EndsAt.Equal(slots[1].EndsAt) || sess.GroupID != gid ||
		sess.Room != "Salle 4010" || sess.Sequence != 0 {
		t.Fatalf("session = %+v, %v", sess, err)
	}

	// The session's invitations, as for any new session: every member who
	// keeps invitations on (not carol), one message each, METHOD:REQUEST.
	inv := ts.outbox("session.invitation")
	if got := sortedRecipients(inv); got != "alice@example.org bob@example.org orga@example.org" {
		t.Fatalf("invitations to %q", got)
	}
	for _, m := range inv {
		method, ev := parseICS(t, m.ICSBody)
		start, _ := ev.DateTimeStart(nil)
		atts := ev.Props.Values("ATTENDEE")
		if method != "REQUEST" || m.ICSMethod != "REQUEST" || ev.Props.Get("UID").Value != sess.UID || !start.Equal(slots[1].StartsAt) ||
			len(atts) != 1 || !strings.EqualFold(atts[0].Value, "mailto:"+m.Recipient) {
			t.Fatalf("invitation to %s: method %s uid %s start %v attendees %v", m.Recipient, method, ev.Props.Get("UID").Value, start, atts)
		}
	}
	// "Date retenue" to the voters who accept news: alice (bob wants none; carol and orga did not vote).
	chosen := ts.outbox("poll.chosen")
	if got := sortedRecipients(chosen); got != "alice@example.org" {
		t.Fatalf("date retenue to %q, want alice", got)
	}
	if !strings.Contains(chosen[0].TextBody, "mercredi 9 décembre 2026, 14 h 30 – 16 h 30") || !strings.Contains(chosen[0].TextBody, ts.Config.URL("/sessions/"+sid)) ||
		!strings.Contains(chosen[0].TextBody, "message séparé") {
		t.Fatalf("date retenue email:\n%s", chosen[0].TextBody)
	}

	// The poll page says so and links to the session; votes are closed.
	p = alice.get("/polls/" + pid)
	if !strings.Contains(p.Body, `href="/sessions/`+sid+`"`) || !strings.Contains(p.Body, "Date retenue") || strings.Contains(p.Body, "Vos disponibilités") ||
		!strings.Contains(p.Body, "Retenu") {
		t.Fatalf("closed poll page:\n%s", p.Body)
	}
	r = alice.post("/polls/"+pid+"/votes", votesForm(slots, "no", "no", "no"))
	if r.Status != http.StatusSeeOther {
		t.Fatalf("vote on a closed poll: %d", r.Status)
	}
	if n := ts.count("SELECT COUNT(*) FROM poll_votes WHERE poll_id = ? AND answer = 'no'", pid); n != 2 {
		t.Fatalf("a vote changed after closing: %d no", n)
	}
	// Closing twice (a double click, another organiser) creates no second session.
	r = org.post("/polls/"+pid+"/close", closeForm)
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/polls/"+pid {
		t.Fatalf("second close: %d %q", r.Status, r.Header.Get("Location"))
	}
	if n := ts.count("SELECT COUNT(*) FROM sessions WHERE group_id = ?", gid); n != 1 {
		t.Fatalf("%d sessions, want 1", n)
	}
	if n := len(ts.outbox("session.invitation")); n != 3 {
		t.Fatalf("%d invitations after the second close", n)
	}
	// Bob leaves afterwards: the closed poll keeps his answers, and says so.
	mustRedirect(t, bob.post("/groups/"+gid+"/leave", nil), "bob leaves")
	got = tableText(alice.get("/polls/" + pid).Body)
	if !slices.Contains(got, "Bob a quitté le groupe|Oui|Oui|Non") || got[len(got)-1] != "Total|1 oui 1 si besoin 0 non|2 oui 0 si besoin 0 non|0 oui 0 si besoin 2 non" {
		t.Fatalf("table after bob left:\n%s", strings.Join(got, "\n"))
	}
	// Every change is in the audit log.
	for _, action := range []string{"poll.create", "poll.vote", "poll.close", "session.create"} {
		entries, _, _ := ts.Store.ListAudit(context.Background(), models.AuditFilter{Action: action})
		if len(entries) == 0 {
			t.Errorf("no %s in the audit log", action)
		}
	}
	if entries, _, _ := ts.Store.ListAudit(context.Background(), models.AuditFilter{Action: "poll.vote"}); len(entries) != 3 {
		t.Errorf("%d poll.vote entries, want 3", len(entries))
	}
}

func TestPollCancel(t *testing.T) {
	ts := newTestServer(t)
	org, alice, gid := ts.groupWithAlice("Rôle métier")
	pid := org.createPoll(gid, nil)
	slots := ts.pollSlots(pid)
	mustRedirect(t, alice.post("/polls/"+pid+"/votes", votesForm(slots, "yes", "no", "no")), "vote")

	if p := alice.post("/polls/"+pid+"/cancel", nil); p.Status != http.StatusForbidden {
		t.Fatalf("member cancelling: %d", p.Status)
	}
	r := org.post("/polls/"+pid+"/cancel", nil)
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/polls/"+pid {
		t.Fatalf("cancel: %d %q", r.Status, r.Header.Get("Location"))
	}
	if got := sortedRecipients(ts.outbox("poll.cancelled")); got != "alice@example.org" {
		t.Fatalf("cancellation told to %q", got)
	}
	p := alice.get("/polls/" + pid)
	if !strings.Contains(p.Body, "aucune date n’a été retenue") || strings.Contains(p.Body, "Vos disponibilités") {
		t.Fatal("cancelled poll page")
	}
	if p := org.get("/polls/" + pid + "/close"); p.Status != http.StatusSeeOther {
		t.Fatalf("close form of a cancelled poll: %d", p.Status)
	}
	org.post("/polls/"+pid+"/cancel", nil)
	if n := len(ts.outbox("poll.cancelled")); n != 1 {
		t.Fatalf("cancelling twice sent %d emails", n)
	}
	if n := ts.count("SELECT COUNT(*) FROM sessions"); n != 0 {
		t.Fatalf("%d sessions after a cancellation", n)
	}
	if p := alice.get("/groups/" + gid); strings.Contains(p.Body, "/polls/"+pid) {
		t.Fatal("the group page still lists the cancelled poll as open")
	}
	if entries, _, _ := ts.Store.ListAudit(context.Background(), models.AuditFilter{Action: "poll.cancel"}); len(entries) != 1 {
		t.Fatalf("audit poll.cancel = %d", len(entries))
	}
}

// Bad input on the poll form: a French message next to the field, the
// form again with 422, no poll stored.
func TestPollFormBadInput(t *testing.T) {
	ts := newTestServer(t)
	org, _ := ts.loginAs("orga@example.org", models.RoleOrganiser)
	gid := org.createGroup("Communs", models.JoinOpen, "")
	many := func(n int) (dates, starts []string) {
		for i := range n {
			dates = append(dates, time.Date(2026, 12, 1+i, 0, 0, 0, 0, time.UTC).Format("2006-01-02"))
			starts = append(starts, "10:00")
		}
		return
	}
	cases := []struct {
		name  string
		edit  func(url.Values)
		field string
		want  string
	}{
		{"no title", func(v url.Values) { v.Set("title", " ") }, "title", "obligatoire"},
		{"title with a line break", func(v url.Values) { v.Set("title", "Atelier\r\nBcc: x@y.example") }, "title", "retour à la ligne"},
		{"no duration", func(v url.Values) { v.Set("duration", "") }, "duration", "Indiquez la durée"},
		{"duration not a number", func(v url.Values) { v.Set("duration", "1h30") }, "duration", "nombre entier de minutes"},
		{"zero duration: end before start", func(v url.Values) { v.Set("duration", "0") }, "duration", "la fin d’un créneau vient après son début"},
		{"negative duration", func(v url.Values) { v.Set("duration", "-60") }, "duration", "positive"},
		{"too long", func(v url.Values) { v.Set("duration", "800") }, "duration", "12 heures"},
		{"a slot in the past", func(v url.Values) { v["slot_date"][1] = "2026-11-30"; v["slot_start"][1] = "08:00" }, "slot_date_2", "Ce créneau est passé"},
		{"the same slot twice", func(v url.Values) { v["slot_date"][3] = "2026-12-10"; v["slot_start"][3] = "14:00" }, "slot_date_3", "déjà proposé (créneau 1)"},
		{"a slot ending the next day", func(v url.Values) { v["slot_start"][0] = "23:00" }, "slot_start_1", "finirait le lendemain"},
		{"not a date", func(v url.Values) { v["slot_date"][0] = "10/12/2026" }, "slot_date_1", "date valide"},
		{"no start time", func(v url.Values) { v["slot_start"][0] = "" }, "slot_start_1", "heure de début"},
		{"not a time", func(v url.Values) { v["slot_start"][0] = "25:00" }, "slot_start_1", "heure de début"},
		{"deadline in the past", func(v url.Values) { v.Set("deadline", "2026-11-29") }, "deadline", "passée"},
		{"deadline after the last slot", func(v url.Values) { v.Set("deadline", "2026-12-10") }, "deadline", "veille du dernier créneau"},
		{"deadline not a date", func(v url.Values) { v.Set("deadline", "bientôt") }, "deadline", "date valide"},
		{"video link not a URL", func(v url.Values) { v.Set("video_url", "javascript:alert(1)") }, "video_url", "https://"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := org.post("/groups/"+gid+"/polls", pollForm(c.edit))
			if p.Status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422", p.Status)
			}
			if msg := fieldError(p.Body, c.field); !strings.Contains(msg, c.want) {
				t.Fatalf("error on %s = %q, want %q", c.field, msg, c.want)
			}
		})
	}
	// Too few and too many slots: the message is on the group of slots.
	slotsError := regexp.MustCompile(`id="slots-error">([^<]*)<`)
	for n, want := range map[int]string{1: "au moins 2 créneaux", 31: "au plus 30 créneaux"} {
		p := org.post("/groups/"+gid+"/polls", pollForm(func(v url.Values) { v["slot_date"], v["slot_start"] = many(n) }))
		m := slotsError.FindStringSubmatch(p.Body)
		if p.Status != http.StatusUnprocessableEntity || m == nil || !strings.Contains(m[1], want) || !strings.Contains(p.Body, `aria-labelledby="slots-legend slots-error"`) {
			t.Fatalf("%d slots: %d %v", n, p.Status, m)
		}
	}
	if n := ts.count("SELECT COUNT(*) FROM polls"); n != 0 {
		t.Fatalf("%d polls stored from bad input", n)
	}
	// The typed values come back; "Ajouter des lignes" shows more rows and saves nothing.
	p := org.post("/groups/"+gid+"/polls", pollForm(func(v url.Values) { v.Set("more", "1") }))
	if p.Status != http.StatusOK || strings.Count(p.Body, `name="slot_date"`) != 8 || !strings.Contains(p.Body, `value="2026-12-09"`) ||
		strings.Contains(p.Body, "fr-error-text") {
		t.Fatalf("more rows: %d, %d rows", p.Status, strings.Count(p.Body, `name="slot_date"`))
	}
	if n := ts.count("SELECT COUNT(*) FROM polls"); n != 0 {
		t.Fatal("adding rows stored a poll")
	}
	// Exactly 30 slots are fine, and the form offers no more rows then.
	dates, starts := many(30)
	pid := org.createPoll(gid, func(v url.Values) { v["slot_date"], v["slot_start"] = dates, starts })
	if n := len(ts.pollSlots(pid)); n != 30 {
		t.Fatalf("%d slots, want 30", n)
	}
}

func TestPollVoteAndCloseBadInput(t *testing.T) {
	ts := newTestServer(t, "AGORA_SESSION_IDLE", "700h") // the clock moves by days
	org, alice, gid := ts.groupWithAlice("Communs")
	pid := org.createPoll(gid, func(v url.Values) { v.Set("room", "") })
	slots := ts.pollSlots(pid)

	// Every slot needs an answer; an unknown answer is refused; the answers given stay selected.
	p := alice.post("/polls/"+pid+"/votes", votesForm(slots, "yes", "", "perhaps"))
	if p.Status != http.StatusUnprocessableEntity {
		t.Fatalf("incomplete vote: %d", p.Status)
	}
	for _, s := range slots[1:] {
		if !strings.Contains(p.Body, `id="slot_`+s.ID+`-error">Choisissez Oui, Si besoin ou Non pour ce créneau.`) {
			t.Fatalf("no error next to slot %s", s.ID)
		}
	}
	if !strings.Contains(p.Body, `value="yes" checked`) || ts.count("SELECT COUNT(*) FROM poll_votes") != 0 {
		t.Fatal("the refused vote lost the answer given, or stored something")
	}

	closeForm := func(edit func(url.Values)) url.Values {
		v := url.Values{"slot": {slots[0].ID}, "title": {"Atelier"}, "room": {"Salle 1"}}
		if edit != nil {
			edit(v)
		}
		return v
	}
	cases := []struct {
		name, field, want string
		edit              func(url.Values)
	}{
		{"no slot", "slot", "Choisissez le créneau retenu", func(v url.Values) { v.Del("slot") }},
		{"another poll's slot", "slot", "Choisissez le créneau retenu", func(v url.Values) { v.Set("slot", "01aaaaaaaaaaaaaaaaaaaaaaaa") }},
		{"no place", "room", "Indiquez un lieu", func(v url.Values) { v.Set("room", "") }},
		{"no title", "title", "obligatoire", func(v url.Values) { v.Set("title", "") }},
		{"bad capacity", "capacity", "nombre entier", func(v url.Values) { v.Set("capacity", "-3") }},
	}
	for _, c := range cases {
		p := org.post("/polls/"+pid+"/close", closeForm(c.edit))
		if p.Status != http.StatusUnprocessableEntity {
			t.Fatalf("%s: status %d", c.name, p.Status)
		}
		msg := fieldError(p.Body, c.field)
		if c.field == "slot" {
			msg = regexp.MustCompile(`id="slot-error">([^<]*)<`).FindStringSubmatch(p.Body + `id="slot-error"><`)[1]
		}
		if !strings.Contains(msg, c.want) {
			t.Fatalf("%s: error on %s = %q, want %q", c.name, c.field, msg, c.want)
		}
	}
	// A slot that has started cannot be retained (the session rule), and is not offered.
	ts.Clock.Set(slots[0].StartsAt.Add(time.Minute))
	p = org.post("/polls/"+pid+"/close", closeForm(nil))
	if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "Ce créneau a commencé") {
		t.Fatalf("closing on a started slot: %d", p.Status)
	}
	if strings.Contains(p.Body, `value="`+slots[0].ID+`"`) {
		t.Fatal("a started slot is offered")
	}
	if n := ts.count("SELECT COUNT(*) FROM sessions"); n != 0 {
		t.Fatalf("%d sessions after refused closings", n)
	}
	if got, _ := ts.Store.PollByID(context.Background(), pid); got.Status != models.PollOpen {
		t.Fatalf("poll status %s after refused closings", got.Status)
	}
	// Members answer only the slots still to come.
	mustRedirect(t, alice.post("/polls/"+pid+"/votes", votesForm(slots, "", "yes", "no")), "vote on the slots to come")
}

// A deadline closes the answers but not the poll: the organiser still retains a date.
func TestPollDeadline(t *testing.T) {
	ts := newTestServer(t, "AGORA_SESSION_IDLE", "700h") // the clock moves by days
	org, alice, gid := ts.groupWithAlice("Communs")
	pid := org.createPoll(gid, func(v url.Values) { v.Set("deadline", "2026-12-04") })
	slots := ts.pollSlots(pid)
	if p := alice.get("/polls/" + pid); !strings.Contains(p.Body, "jusqu’au vendredi 4 décembre 2026 inclus") {
		t.Fatal("the deadline is not shown")
	}
	if !strings.Contains(ts.outbox("poll.opened")[0].TextBody, "au plus tard le vendredi 4 décembre 2026") {
		t.Fatal("the announcement does not give the deadline")
	}
	ts.Clock.Set(time.Date(2026, 12, 4, 22, 59, 0, 0, time.UTC)) // 23:59 in Paris: still that day
	mustRedirect(t, alice.post("/polls/"+pid+"/votes", votesForm(slots, "yes", "yes", "no")), "vote on the last day")
	ts.Clock.Set(time.Date(2026, 12, 4, 23, 0, 0, 0, time.UTC)) // midnight in Paris
	p := alice.post("/polls/"+pid+"/votes", votesForm(slots, "no", "no", "no"))
	if p.Status != http.StatusSeeOther {
		t.Fatalf("vote after the deadline: %d", p.Status)
	}
	if n := ts.count("SELECT COUNT(*) FROM poll_votes WHERE answer = 'yes'"); n != 2 {
		t.Fatal("a vote after the deadline was stored")
	}
	if p := alice.get("/polls/" + pid); strings.Contains(p.Body, "Vos disponibilités") || !strings.Contains(p.Body, "les réponses ne se modifient plus") {
		t.Fatal("the page still offers to vote after the deadline")
	}
	if p := alice.get("/"); strings.Contains(p.Body, "/polls/"+pid) {
		t.Fatal("Mon espace awaits an answer after the deadline")
	}
	// The organiser's Mon espace asks for a decision, until there is one.
	if p := org.get("/"); !strings.Contains(p.Body, "Un sondage à clore") || !strings.Contains(p.Body, `href="/polls/`+pid+`/close"`) {
		t.Fatal("Mon espace does not ask the organiser to close the poll")
	}
	if p := alice.get("/"); strings.Contains(p.Body, "sondage à clore") {
		t.Fatal("a member is asked to close the poll")
	}
	mustRedirect(t, org.post("/polls/"+pid+"/close", url.Values{"slot": {slots[0].ID}, "title": {"Atelier"}, "room": {"Salle 1"}}), "close after the deadline")
	if p := org.get("/"); strings.Contains(p.Body, "sondage à clore") {
		t.Fatal("Mon espace still asks to close a closed poll")
	}
}

// Each role against each action on a poll of a group on approval: its
// organisers and admins manage; members vote; members, organisers and
// admins see the answers; everyone else gets 403.
func TestPollPermissionsByRole(t *testing.T) {
	voters := members
	actions := []struct {
		name, method, path string // {g}: group, {p}: poll
		form               url.Values
		allowed            map[string]int
	}{
		{"new poll form", "GET", "/groups/{g}/polls/new", nil, managersG},
		{"create poll", "POST", "/groups/{g}/polls", pollForm(nil), managers},
		{"show poll", "GET", "/polls/{p}", nil, readers},
		{"vote", "POST", "/polls/{p}/votes", nil, voters},
		{"close form", "GET", "/polls/{p}/close", nil, managersG},
		{"close", "POST", "/polls/{p}/close", nil, managers}, // the admin, after the organiser: "already closed", 303
		{"cancel", "POST", "/polls/{p}/cancel", nil, managers},
	}
	for _, a := range actions {
		t.Run(a.name, func(t *testing.T) {
			ts := newTestServer(t)
			org, _ := ts.loginAs("orga@example.org", models.RoleOrganiser)
			gid := org.createGroup("Groupe fermé", models.JoinApproval, "")
			pid := org.createPoll(gid, nil)
			slots := ts.pollSlots(pid)
			clients := ts.roleClients(org, gid)
			form := a.form
			switch a.name {
			case "vote":
				form = votesForm(slots, "yes", "no", "if_needed")
			case "close":
				form = url.Values{"slot": {slots[0].ID}, "title": {"Atelier"}, "room": {"Salle 1"}}
			}
			path := strings.NewReplacer("{g}", gid, "{p}", pid).Replace(a.path)
			before := ts.count("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'poll.%'")
			tryRoles(t, clients, a.method, path, form, a.allowed, func(role string) {
				if role == "outsider" || role == "other-organiser" {
					if after := ts.count("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'poll.%'"); after != before {
						t.Errorf("%s %s: a refused %s changed something", a.method, path, role)
					}
				}
			})
		})
	}
	// Unknown polls are 404.
	ts := newTestServer(t)
	org, _ := ts.loginAs("orga@example.org", models.RoleOrganiser)
	for _, path := range []string{"/polls/01aaaaaaaaaaaaaaaaaaaaaaaa", "/polls/01aaaaaaaaaaaaaaaaaaaaaaaa/close"} {
		if p := org.get(path); p.Status != http.StatusNotFound {
			t.Errorf("GET %s: %d", path, p.Status)
		}
	}
}

// Every poll page renders with one French heading, for who may see it.
func TestPollPagesRender(t *testing.T) {
	ts := newTestServer(t)
	org, alice, gid := ts.groupWithAlice("Pages")
	pid := org.createPoll(gid, func(v url.Values) {
		v.Set("description", "<script>alert(1)</script>\n\n**Objet** <img src=x onerror=alert(2)>")
		v.Set("video_url", "https://webconf.example.gouv.fr/x")
	})
	for _, c := range []struct {
		who  *client
		path string
		h1   string
	}{
		{org, "/groups/" + gid + "/polls/new", "Nouveau sondage de dates"},
		{org, "/polls/" + pid, "Atelier feuille de route"},
		{alice, "/polls/" + pid, "Atelier feuille de route"},
		{org, "/polls/" + pid + "/close", "Retenir une date"},
		{org, "/groups/" + gid, "Pages"},
		{alice, "/", "Mon espace"},
	} {
		p := c.who.get(c.path)
		if p.Status != http.StatusOK || h1(p.Body) != c.h1 || strings.Count(p.Body, "<h1") != 1 || !strings.Contains(p.Body, "</html>") {
			t.Errorf("GET %s: %d %q", c.path, p.Status, h1(p.Body))
		}
		if strings.Contains(p.Body, "<script>alert") || strings.Contains(p.Body, "<img src=x") {
			t.Errorf("GET %s renders the description's script", c.path)
		}
	}
	if p := alice.get("/polls/" + pid); !strings.Contains(p.Body, "<strong>Objet</strong>") {
		t.Error("the description's Markdown is not rendered")
	}
	if p := org.get("/groups/" + gid + "/polls/new"); !strings.Contains(p.Body, fmt.Sprintf(`value="%d"`, 120)) {
		t.Error("the new poll form does not propose a duration")
	}
}

// An archived group's open poll is frozen: no answer, no date retained.
func TestPollInArchivedGroup(t *testing.T) {
	ts := newTestServer(t)
	org, alice, gid := ts.groupWithAlice("Communs")
	pid := org.createPoll(gid, nil)
	slots := ts.pollSlots(pid)
	mustRedirect(t, org.post("/groups/"+gid+"/status", url.Values{"status": {"archived"}}), "archive")

	if p := alice.get("/polls/" + pid); p.Status != http.StatusOK || strings.Contains(p.Body, "Vos disponibilités") {
		t.Fatalf("poll of an archived group: %d, vote form shown: %v", p.Status, strings.Contains(p.Body, "Vos disponibilités"))
	}
	if p := alice.post("/polls/"+pid+"/votes", votesForm(slots, "yes", "yes", "yes")); p.Status != http.StatusSeeOther {
		t.Fatalf("vote in an archived group: %d", p.Status)
	}
	if p := org.get("/polls/" + pid + "/close"); p.Status != http.StatusSeeOther {
		t.Fatalf("close form in an archived group: %d", p.Status)
	}
	p := org.post("/polls/"+pid+"/close", url.Values{"slot": {slots[0].ID}, "title": {"Atelier"}, "room": {"Salle 1"}})
	if p.Status != http.StatusConflict || !strings.Contains(p.Body, "pas actif") {
		t.Fatalf("close in an archived group: %d", p.Status)
	}
	if ts.count("SELECT COUNT(*) FROM poll_votes") != 0 || ts.count("SELECT COUNT(*) FROM sessions") != 0 {
		t.Fatal("something was stored in an archived group")
	}
	if p := org.get("/groups/" + gid + "/polls/new"); p.Status != http.StatusSeeOther {
		t.Fatalf("new poll in an archived group: %d", p.Status)
	}
	if p := org.post("/groups/"+gid+"/polls", pollForm(nil)); p.Status != http.StatusUnprocessableEntity || !strings.Contains(fieldError(p.Body, "title"), "pas actif") {
		t.Fatalf("create poll in an archived group: %d", p.Status)
	}
}

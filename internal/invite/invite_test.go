package invite_test

import (
	"bytes"
	"encoding/base64"
	"flag"
	"io"
	"mime"
	"mime/multipart"
	stdmail "net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goical "github.com/emersion/go-ical"

	"github.com/dnum-sociaux/agora/internal/ical"
	"github.com/dnum-sociaux/agora/internal/invite"
	"github.com/dnum-sociaux/agora/internal/mail"
	"github.com/dnum-sociaux/agora/internal/render"
	"github.com/dnum-sociaux/agora/models"
	"github.com/dnum-sociaux/agora/templates"

	_ "time/tzdata"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden with the current output")

// fixedNow is the test clock: Monday 30 November 2026, 09:00 in Paris.
var fixedNow = time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)

func newSender(t *testing.T) *invite.Sender {
	t.Helper()
	r, err := render.New(templates.FS, map[string]any{"asset": func(p string) string { return "/assets/" + p }})
	if err != nil {
		t.Fatal(err)
	}
	return &invite.Sender{
		Mail:      mail.NewComposer(r, "https://agora.example.gouv.fr"),
		Organizer: ical.Person{Name: "Agora", Email: "agora@agora.example.gouv.fr"},
		BaseURL:   "https://agora.example.gouv.fr",
		Now:       func() time.Time { return fixedNow },
	}
}

func paris(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, models.Paris).UTC()
}

// session is a session with hard text: commas, semicolons, backslashes,
// newlines, non-ASCII, and an agenda long enough to be folded.
func session() models.Session {
	return models.Session{
		ID: "01jdemo0000000000000000000", GroupID: "01jgroup000000000000000000",
		UID: "agora-01jdemo0000000000000000000@agora.example.gouv.fr", Sequence: 0,
		Title:    "Atelier « communs » ; cadrage, priorités",
		StartsAt: paris(2026, 12, 10, 14, 0), EndsAt: paris(2026, 12, 10, 16, 30),
		Room: "Salle Simone-Veil (4e étage)", Address: "14 avenue Duquesne, 75007 Paris",
		VideoURL: "https://webconf.example.gouv.fr/rejoindre/abc-def",
		Agenda: "1. Tour de table ; présentations\n2. Revue des communs, priorités\\urgences\n3. " +
			strings.Repeat("Un point très long sur l’accessibilité numérique des démarches en ligne, ", 3) + "fin.",
		Capacity: 30, Status: models.SessionScheduled,
		CreatedAt: fixedNow.Add(-time.Hour), UpdatedAt: fixedNow.Add(-time.Hour),
	}
}

// moved is the same session rescheduled to the night of the spring
// daylight-saving change, in another room, without video link.
func moved() models.Session {
	s := session()
	s.Sequence = 1
	s.StartsAt, s.EndsAt = paris(2027, 3, 28, 1, 30), paris(2027, 3, 28, 3, 30)
	s.Room, s.VideoURL = "Salle 101", ""
	s.UpdatedAt = fixedNow
	return s
}

func cancelled() models.Session {
	s := moved()
	s.Sequence, s.Status = 2, models.SessionCancelled
	return s
}

var recipient = models.User{ID: "01juser0000000000000000000", Email: "jeanne.dupont@sg.social.gouv.fr", Name: "Jeanne Dupont, DNUM"}

func compose(t *testing.T, s *invite.Sender, change invite.Change, sess models.Session, before *models.Session) models.OutboxMessage {
	t.Helper()
	method := ical.MethodRequest
	if change == invite.Cancelled {
		method = ical.MethodCancel
	}
	ev := s.SessionEvent(sess, "Groupe accessibilité")
	m, err := s.Compose(invite.Message{
		Kind: "session." + string(change), DedupeKey: invite.SessionDedupeKey(sess.ID, sess.Sequence, recipient.ID),
		Method: method, Event: ev, To: ical.Person{Name: recipient.Name, Email: recipient.Email},
		Template: "session_invitation",
		Data:     invite.SessionMail{Change: change, Context: "Groupe accessibilité", Session: sess, Before: before, URL: ev.URL, Recipient: recipient.Name},
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Fatalf("%s differs at line %d:\n got %q\nwant %q\n(go test -update if intended)", path, i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("%s differs in length: %d lines, want %d (go test -update if intended)", path, len(gl), len(wl))
	}
}

func messageGolden(m models.OutboxMessage) []byte {
	return []byte("Kind: " + m.Kind + "\nDedupe-Key: " + m.DedupeKey + "\nTo: " + m.Recipient + "\nSubject: " + m.Subject +
		"\nICS-Method: " + m.ICSMethod + "\n\n" + m.TextBody + "\n-- text/calendar --\n" + m.ICSBody)
}

// The invitation, the update and the cancellation of one session, through
// the path the groups use, byte for byte.
func TestInvitationGolden(t *testing.T) {
	s := newSender(t)
	before := session()
	for _, tc := range []struct {
		name   string
		msg    models.OutboxMessage
		method string
	}{
		{"request", compose(t, s, invite.Created, session(), nil), "REQUEST"},
		{"update", compose(t, s, invite.Updated, moved(), &before), "REQUEST"},
		{"cancel", compose(t, s, invite.Cancelled, cancelled(), nil), "CANCEL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			golden(t, tc.name, messageGolden(tc.msg))
			if tc.msg.ICSMethod != tc.method {
				t.Fatalf("ICSMethod = %q", tc.msg.ICSMethod)
			}
		})
	}
}

// The bodies carry what Outlook users need (it shows the body, not DESCRIPTION).
func TestInvitationBodyCarriesPlaceLinkAgenda(t *testing.T) {
	s := newSender(t)
	m := compose(t, s, invite.Created, session(), nil)
	for _, body := range []string{m.TextBody, m.HTMLBody} {
		for _, want := range []string{"Salle Simone-Veil", "14 avenue Duquesne", "https://webconf.example.gouv.fr/rejoindre/abc-def",
			"Tour de table", "https://agora.example.gouv.fr/sessions/01jdemo0000000000000000000", "jeudi 10 décembre 2026"} {
			if !strings.Contains(body, want) {
				t.Errorf("body misses %q", want)
			}
		}
	}
	before := session()
	u := compose(t, s, invite.Updated, moved(), &before)
	if !strings.Contains(u.TextBody, "l’horaire, le lieu, le lien de visioconférence") || !strings.Contains(u.TextBody, "Auparavant : jeudi 10 décembre 2026 à 14 h") {
		t.Errorf("update body does not say what changed:\n%s", u.TextBody)
	}
	if !strings.HasPrefix(u.Subject, "Modifié : ") || !strings.HasPrefix(compose(t, s, invite.Cancelled, cancelled(), nil).Subject, "Annulé : ") {
		t.Errorf("subjects: %q", u.Subject)
	}
}

// The emails, built as MIME by the SMTP sender, parse back with the standard
// library's MIME reader and emersion/go-ical into one event per message that
// keeps its UID, moves with a higher SEQUENCE, and is cancelled.
func TestInvitationMIMEParsesBack(t *testing.T) {
	s := newSender(t)
	from := &stdmail.Address{Name: "Agora", Address: "agora@agora.example.gouv.fr"}
	smtp, err := mail.NewSMTPSender("smtp://localhost:2525", mail.SMTPOptions{From: from, Hostname: "agora.example.gouv.fr", Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	before := session()
	msgs := []models.OutboxMessage{
		compose(t, s, invite.Created, session(), nil),
		compose(t, s, invite.Updated, moved(), &before),
		compose(t, s, invite.Cancelled, cancelled(), nil),
	}
	wantMethod := []string{"REQUEST", "REQUEST", "CANCEL"}
	wantStart := []time.Time{session().StartsAt, moved().StartsAt, moved().StartsAt}
	for i, m := range msgs {
		m.ID = "msg" + string(rune('a'+i))
		var raw bytes.Buffer
		built, err := smtp.Build(m)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := built.WriteTo(&raw); err != nil {
			t.Fatal(err)
		}
		calPart, attached := calendarParts(t, raw.Bytes())
		ct, params, _ := mime.ParseMediaType(calPart.contentType)
		if ct != "text/calendar" || params["method"] != wantMethod[i] || !strings.EqualFold(params["charset"], "utf-8") {
			t.Errorf("message %d: calendar part Content-Type %q, want text/calendar; charset=utf-8; method=%s", i, calPart.contentType, wantMethod[i])
		}
		if attached != string(calPart.body) {
			t.Errorf("message %d: attached .ics differs from the inline calendar", i)
		}
		cal, err := goical.NewDecoder(bytes.NewReader(calPart.body)).Decode()
		if err != nil {
			t.Fatalf("message %d: go-ical: %v", i, err)
		}
		if got := cal.Props.Get("METHOD").Value; got != wantMethod[i] {
			t.Errorf("message %d: METHOD %s", i, got)
		}
		events := cal.Events()
		if len(events) != 1 {
			t.Fatalf("message %d: %d events", i, len(events))
		}
		ev := events[0]
		if uid := ev.Props.Get("UID").Value; uid != session().UID {
			t.Errorf("message %d: UID %q", i, uid)
		}
		if seq, _ := ev.Props.Get("SEQUENCE").Int(); seq != i {
			t.Errorf("message %d: SEQUENCE %d, want %d", i, seq, i)
		}
		start, err := ev.DateTimeStart(nil)
		if err != nil || !start.Equal(wantStart[i]) {
			t.Errorf("message %d: DTSTART %v (%v), want %v", i, start, err, wantStart[i])
		}
		atts := ev.Props.Values("ATTENDEE")
		if len(atts) != 1 || !strings.EqualFold(atts[0].Value, "mailto:"+recipient.Email) {
			t.Errorf("message %d: ATTENDEE %+v, want only the recipient", i, atts)
		}
		if org := ev.Props.Get("ORGANIZER"); org == nil || org.Value != "mailto:agora@agora.example.gouv.fr" {
			t.Errorf("message %d: ORGANIZER %+v", i, org)
		}
		if st := ev.Props.Get("STATUS").Value; (i == 2) != (st == "CANCELLED") {
			t.Errorf("message %d: STATUS %s", i, st)
		}
		desc, err := ev.Props.Text("DESCRIPTION")
		if err != nil || !strings.Contains(desc, "Tour de table ; présentations\n2. Revue des communs, priorités\\urgences") {
			t.Errorf("message %d: DESCRIPTION %q (%v)", i, desc, err)
		}
	}
}

type part struct {
	contentType string
	body        []byte
}

// calendarParts walks multipart/mixed → multipart/alternative and returns the
// text/calendar alternative and the body of the attached .ics.
func calendarParts(t *testing.T, raw []byte) (part, string) {
	t.Helper()
	msg, err := stdmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	ct, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || ct != "multipart/mixed" {
		t.Fatalf("top Content-Type %q, want multipart/mixed", msg.Header.Get("Content-Type"))
	}
	var cal part
	var attached string
	var alternatives []string
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		pct, pparams, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if pct == "multipart/alternative" {
			ar := multipart.NewReader(p, pparams["boundary"])
			for {
				ap, err := ar.NextPart()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				act, _, _ := mime.ParseMediaType(ap.Header.Get("Content-Type"))
				alternatives = append(alternatives, act)
				body := decode(t, ap)
				if act == "text/calendar" {
					cal = part{contentType: ap.Header.Get("Content-Type"), body: body}
				}
			}
			continue
		}
		if strings.Contains(p.Header.Get("Content-Disposition"), "attachment") {
			attached = string(decode(t, p))
		}
	}
	if strings.Join(alternatives, ",") != "text/plain,text/html,text/calendar" {
		t.Fatalf("alternatives = %v, want text/plain, text/html, text/calendar", alternatives)
	}
	return cal, attached
}

func decode(t *testing.T, p *multipart.Part) []byte {
	t.Helper()
	// multipart.Part decodes quoted-printable itself; base64 is left to us.
	b, err := io.ReadAll(p)
	if err != nil {
		t.Fatal(err)
	}
	if strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "base64") {
		var out bytes.Buffer
		dec := base64Decoder(bytes.NewReader(b))
		if _, err := io.Copy(&out, dec); err != nil {
			t.Fatal(err)
		}
		return out.Bytes()
	}
	return b
}

// A personal feed carries each session once with the owner's answer; the
// group feed carries no attendee.
func TestFeedGolden(t *testing.T) {
	s := newSender(t)
	a := session()
	b := moved()
	b.ID, b.UID = "01jdemo0000000000000000001", "agora-01jdemo0000000000000000001@agora.example.gouv.fr"
	c := cancelled()
	c.ID, c.UID = "01jdemo0000000000000000002", "agora-01jdemo0000000000000000002@agora.example.gouv.fr"
	c.StartsAt, c.EndsAt = paris(2027, 10, 31, 2, 15), paris(2027, 10, 31, 2, 45) // the repeated hour
	items := []models.SessionListItem{
		{Session: a, GroupTitle: "Groupe accessibilité", Answer: models.AnswerYes},
		{Session: b, GroupTitle: "Groupe accessibilité", Answer: models.AnswerYes, OnWaitlist: true},
		{Session: c, GroupTitle: "Comitologie", Answer: models.AnswerNo},
	}
	owner := ical.Person{Name: recipient.Name, Email: recipient.Email}
	feed, err := s.Feed("Agora – mes séances", &owner, items)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "feed", feed)
	cal, err := goical.NewDecoder(bytes.NewReader(feed)).Decode()
	if err != nil {
		t.Fatal(err)
	}
	if cal.Props.Get("METHOD") != nil {
		t.Error("a feed must not have METHOD")
	}
	want := []string{"ACCEPTED", "TENTATIVE", "DECLINED"}
	for i, ev := range cal.Events() {
		atts := ev.Props.Values("ATTENDEE")
		if len(atts) != 1 || atts[0].Params.Get("PARTSTAT") != want[i] {
			t.Errorf("event %d ATTENDEE %+v, want PARTSTAT %s", i, atts, want[i])
		}
		start, err := ev.DateTimeStart(nil)
		if err != nil || !start.Equal(items[i].StartsAt) {
			t.Errorf("event %d DTSTART %v %v, want %v", i, start, err, items[i].StartsAt)
		}
	}
	group, err := s.Feed("Groupe accessibilité", nil, items)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(group, []byte("ATTENDEE")) {
		t.Error("the group feed names an attendee")
	}
}

func base64Decoder(r io.Reader) io.Reader { return base64.NewDecoder(base64.StdEncoding, r) }

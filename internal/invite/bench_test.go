package invite_test

import (
	"testing"
	"time"

	"github.com/dnum-sociaux/agora/internal/ical"
	"github.com/dnum-sociaux/agora/internal/invite"
	"github.com/dnum-sociaux/agora/internal/mail"
	"github.com/dnum-sociaux/agora/internal/render"
	"github.com/dnum-sociaux/agora/templates"
)

// BenchmarkComposeInvitation is what creating a session costs per member,
// and registering per confirmation: the calendar entry (escaped, folded,
// with its VTIMEZONE), the text and HTML bodies rendered from the
// templates, and the outbox message, in the write transaction.
func BenchmarkComposeInvitation(b *testing.B) {
	r, err := render.New(templates.FS, map[string]any{"asset": func(p string) string { return "/assets/" + p }})
	if err != nil {
		b.Fatal(err)
	}
	s := &invite.Sender{Mail: mail.NewComposer(r, "https://agora.example.gouv.fr"),
		Organizer: ical.Person{Name: "Agora", Email: "agora@agora.example.gouv.fr"}, BaseURL: "https://agora.example.gouv.fr",
		Now: func() time.Time { return fixedNow }}
	sess := session()
	b.ReportAllocs()
	for b.Loop() {
		ev := s.SessionEvent(sess, "Groupe accessibilité")
		m, err := s.Compose(invite.Message{Kind: "session.created", DedupeKey: invite.SessionDedupeKey(sess.ID, sess.Sequence, recipient.ID),
			Method: ical.MethodRequest, Event: ev, To: ical.Person{Name: recipient.Name, Email: recipient.Email}, Template: "session_invitation",
			Data: invite.SessionMail{Change: invite.Created, Context: "Groupe accessibilité", Session: sess, URL: ev.URL, Recipient: recipient.Name}})
		if err != nil || m.ICSBody == "" {
			b.Fatal(err)
		}
	}
}

// Package invite sends calendar invitations by email through the outbox:
// one message per recipient, with the recipient as the single ATTENDEE, an
// iCalendar part whose METHOD matches the MIME method, and a body that
// carries the place, the video link and the agenda (Outlook shows the body,
// not DESCRIPTION). It also builds the calendar entries of sessions for
// feeds. Groups use it for their sessions; events use it for workshops.
package invite

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/dnum-sociaux/agora/internal/ical"
	"github.com/dnum-sociaux/agora/internal/mail"
	"github.com/dnum-sociaux/agora/internal/markdown"
	"github.com/dnum-sociaux/agora/models"
)

// Sender composes calendar emails. Build it once in main.
type Sender struct {
	Mail *mail.Composer
	// Organizer is ORGANIZER of every invitation: a real address that
	// receives replies (AGORA_MAIL_FROM).
	Organizer ical.Person
	// BaseURL prefixes the links to session pages ("https://agora.example").
	BaseURL string
	Now     func() time.Time
}

// Message is one calendar email to one recipient.
type Message struct {
	Kind      string // outbox kind, e.g. "session.invitation"
	DedupeKey string // one cause, one email: include the recipient and the sequence
	Method    ical.Method
	Event     ical.Event
	To        ical.Person
	Template  string // email template (templates/email/<name>.txt|.html)
	Data      any    // the template's .Data
}

// Compose renders the email and its calendar part into an outbox message,
// ready for tx.Enqueue.
func (s *Sender) Compose(m Message) (models.OutboxMessage, error) {
	ev := m.Event
	if ev.Organizer.Email == "" {
		ev.Organizer = s.Organizer
	}
	ics, err := ical.Invitation(m.Method, ev, m.To, s.Now().UTC())
	if err != nil {
		return models.OutboxMessage{}, fmt.Errorf("invitation %s: %w", m.DedupeKey, err)
	}
	out, err := s.Mail.Compose(m.Kind, m.DedupeKey, m.To.Email, m.Template, m.Data)
	if err != nil {
		return models.OutboxMessage{}, err
	}
	out.ICSMethod = string(m.Method)
	out.ICSBody = string(ics)
	return out, nil
}

// Change is why a session's calendar message is sent.
type Change string

const (
	Created   Change = "created"   // METHOD:REQUEST, SEQUENCE as stored (0)
	Updated   Change = "updated"   // METHOD:REQUEST, same UID, higher SEQUENCE
	Cancelled Change = "cancelled" // METHOD:CANCEL, STATUS:CANCELLED
	Removed   Change = "removed"   // METHOD:CANCEL to one person who no longer takes part
)

// SessionMail is the .Data of the "session_invitation" email template.
type SessionMail struct {
	Change    Change
	Context   string // what the session belongs to: the group's title, the event's name
	Session   models.Session
	Before    *models.Session // for an update: the session before the change
	URL       string          // the session's page
	Recipient string          // the recipient's name
}

// Changed lists, in French, what an update changed.
func (d SessionMail) Changed() []string {
	if d.Before == nil {
		return nil
	}
	b, a := d.Before, d.Session
	var out []string
	if !b.StartsAt.Equal(a.StartsAt) || !b.EndsAt.Equal(a.EndsAt) {
		out = append(out, "l’horaire")
	}
	if b.Room != a.Room || b.Address != a.Address {
		out = append(out, "le lieu")
	}
	if b.VideoURL != a.VideoURL {
		out = append(out, "le lien de visioconférence")
	}
	if b.Title != a.Title {
		out = append(out, "le titre")
	}
	return out
}

// SessionURL is the page of a session.
func (s *Sender) SessionURL(sess models.Session) string {
	return strings.TrimRight(s.BaseURL, "/") + "/sessions/" + sess.ID
}

// SessionEvent is the calendar entry of a session: its stored UID and
// SEQUENCE, Paris times, the place (or the video link when there is no
// place) as LOCATION, the agenda and the video link in DESCRIPTION, and the
// session's page as URL. No secret goes in: calendars are shared.
func (s *Sender) SessionEvent(sess models.Session, context string) ical.Event {
	var desc []string
	if context != "" {
		desc = append(desc, context)
	}
	if sess.VideoURL != "" {
		desc = append(desc, "Visioconférence : "+sess.VideoURL)
	}
	if a := markdown.Text(sess.Agenda); a != "" {
		desc = append(desc, "Ordre du jour :\n"+a)
	}
	url := s.SessionURL(sess)
	desc = append(desc, "Page de la séance : "+url)
	location := sess.Place()
	if location == "" {
		location = sess.VideoURL
	}
	summary := sess.Title
	if context != "" && !strings.Contains(sess.Title, context) {
		summary = sess.Title + " — " + context
	}
	return ical.Event{
		UID: sess.UID, Sequence: sess.Sequence,
		Summary: summary, Description: strings.Join(desc, "\n\n"), Location: location, URL: url,
		Start: sess.StartsAt, End: sess.EndsAt, Cancelled: sess.Cancelled(),
		Organizer: s.Organizer, Created: sess.CreatedAt, LastModified: sess.UpdatedAt,
	}
}

// SessionDedupeKey names one calendar message: the session, its sequence and
// the recipient. A retry, a crash or a double click never sends it twice; a
// new sequence is a new message.
func SessionDedupeKey(sessionID string, sequence int, userID string) string {
	return fmt.Sprintf("session:%s:seq:%d:%s", sessionID, sequence, userID)
}

// QueueSession enqueues, in tx, the calendar message of change to each
// recipient: REQUEST for Created and Updated, CANCEL for Cancelled. before is
// the session before an update (nil otherwise). It returns how many messages
// were queued (a recipient who already has this sequence is skipped).
func (s *Sender) QueueSession(ctx context.Context, tx *models.Tx, change Change, sess models.Session, before *models.Session,
	context string, recipients []models.User) (int, error) {
	method, kind := ical.MethodRequest, "session.invitation"
	switch change {
	case Updated:
		kind = "session.update"
	case Cancelled:
		method, kind = ical.MethodCancel, "session.cancel"
	}
	ev := s.SessionEvent(sess, context)
	n := 0
	for _, u := range recipients {
		msg, err := s.Compose(Message{
			Kind: kind, DedupeKey: SessionDedupeKey(sess.ID, sess.Sequence, u.ID),
			Method: method, Event: ev, To: ical.Person{Name: u.Name, Email: u.Email},
			Template: "session_invitation",
			Data:     SessionMail{Change: change, Context: context, Session: sess, Before: before, URL: ev.URL, Recipient: u.Name},
		})
		if err != nil {
			return n, err
		}
		queued, err := tx.Enqueue(ctx, msg)
		if err != nil {
			return n, err
		}
		if queued {
			n++
		}
	}
	return n, nil
}

// QueueRemoval enqueues, in tx, a METHOD:CANCEL of each session to a person
// who no longer takes part (they left the group, or were removed), so the
// sessions leave their calendar. The sessions themselves are unchanged:
// SEQUENCE stays, and the dedupe key says "removed".
func (s *Sender) QueueRemoval(ctx context.Context, tx *models.Tx, sessions []models.Session, context string, u models.User) (int, error) {
	n := 0
	for _, sess := range sessions {
		if sess.Cancelled() {
			continue
		}
		ev := s.SessionEvent(sess, context)
		msg, err := s.Compose(Message{
			Kind: "session.removed", DedupeKey: SessionDedupeKey(sess.ID, sess.Sequence, u.ID) + ":removed",
			Method: ical.MethodCancel, Event: ev, To: ical.Person{Name: u.Name, Email: u.Email},
			Template: "session_invitation",
			Data:     SessionMail{Change: Removed, Context: context, Session: sess, URL: ev.URL, Recipient: u.Name},
		})
		if err != nil {
			return n, err
		}
		queued, err := tx.Enqueue(ctx, msg)
		if err != nil {
			return n, err
		}
		if queued {
			n++
		}
	}
	return n, nil
}

// PartStat is the calendar form of an answer.
func PartStat(a models.Answer, waiting bool) ical.PartStat {
	switch {
	case a == models.AnswerYes && !waiting:
		return ical.PartStatAccepted
	case a == models.AnswerYes, a == models.AnswerMaybe:
		return ical.PartStatTentative
	case a == models.AnswerNo:
		return ical.PartStatDeclined
	}
	return ical.PartStatNeedsAction
}

// Feed renders a feed of sessions. With an owner, each entry carries the
// owner's answer as PARTSTAT; without one (a group's feed), none.
func (s *Sender) Feed(name string, owner *ical.Person, items []models.SessionListItem) ([]byte, error) {
	entries := make([]ical.FeedEntry, len(items))
	var who ical.Person
	for i, it := range items {
		entries[i].Event = s.SessionEvent(it.Session, it.GroupTitle)
		if owner != nil {
			entries[i].Answer = PartStat(it.Answer, it.OnWaitlist)
		}
	}
	if owner != nil {
		who = *owner
	}
	return ical.Feed(name, who, entries, s.Now().UTC())
}

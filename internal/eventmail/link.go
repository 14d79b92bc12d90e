package eventmail

import (
	"context"
	"fmt"
	"strings"

	"github.com/dnum-sociaux/agora/models"
)

// LinkKind is the outbox kind of the email that sends a management link
// again.
const LinkKind = "event.link"

// LinkMail is the .Data of the "event_link" email template.
type LinkMail struct {
	Event        models.Event
	Registration models.Registration
	Links        Links
}

// Confirmed tells whether the registration holds a place.
func (m LinkMail) Confirmed() bool { return m.Registration.State == models.RegConfirmed }

// ManageLink queues, to a registrant who asked for it ("Retrouver mon lien
// d'inscription"), an email carrying a new management link. The link is a
// new token: the links of earlier emails stay valid until the event is
// archived (see models.NewRegistrationLink). The email has no calendar
// part: it changes nothing in the person's agenda, and the link is a
// secret. Its dedupe key names the new link, so a later request gets its
// own email (callers limit how often). It returns the new link's id (not
// a secret: the token is "<id>.<secret>"), for the audit log.
func (n *Notifier) ManageLink(ctx context.Context, tx *models.Tx, e *models.Event, r *models.Registration) (string, error) {
	token, err := tx.NewRegistrationLink(ctx, r.ID)
	if err != nil {
		return "", err
	}
	id, _, _ := strings.Cut(token, ".")
	l := Links{Event: n.EventURL(e), Programme: n.EventURL(e) + "/programme", Manage: n.ManageURL(token)}
	l.Badge = l.Manage + "/badge"
	if r.State == models.RegConfirmed {
		l.QR = n.QRURL(r)
	}
	msg, err := n.Mail.Compose(LinkKind, fmt.Sprintf("event:%s:reg:%s:link:%s", e.ID, r.ID, id), r.Email, "event_link",
		LinkMail{Event: *e, Registration: *r, Links: l})
	if err != nil {
		return "", err
	}
	if err := tx.Queue(ctx, msg); err != nil {
		return "", err
	}
	return id, nil
}

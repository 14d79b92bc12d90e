package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// RegistrationForNewLink finds the registration of email at eventID for a
// person who asks for their management link again ("Retrouver mon lien
// d'inscription"). Whoever asks, the link of an archived event is
// ErrLinkExpired (the event filled in); a draft event, no registration for
// email, or a cancelled one is ErrNotFound. Called inside the transaction
// that creates the new link, so a cancellation or an archiving committed
// before it is seen.
func (d *DB) RegistrationForNewLink(ctx context.Context, eventID, email string) (Registration, Event, error) {
	e, err := d.EventByID(ctx, eventID)
	if err != nil {
		return Registration{}, Event{}, err
	}
	if e.Status == EventArchived {
		return Registration{}, e, ErrLinkExpired
	}
	if !e.Status.Visible() {
		return Registration{}, e, fmt.Errorf("registration for a new link: event not visible: %w", ErrNotFound)
	}
	r, err := d.RegistrationByEmail(ctx, eventID, email)
	if errors.Is(err, ErrNotFound) {
		return Registration{}, e, err
	} else if err != nil {
		return Registration{}, e, fmt.Errorf("registration for a new link: %w", err)
	}
	if r.State == RegCancelled {
		return Registration{}, e, fmt.Errorf("registration for a new link: cancelled: %w", ErrNotFound)
	}
	return r, e, nil
}

// EventOfLinkID returns the event of the registration behind the id part of
// a management link token ("<id>.<secret>"), whatever follows it: the page
// of a mistyped or cut link (mail clients wrap long lines) then offers a
// new link for the right event. The id is as random as a secret (72 bits),
// is only ever sent with its secret, and grants nothing by itself: it names
// an event, never a person. A malformed or unknown id is ErrNotFound.
func (d *DB) EventOfLinkID(ctx context.Context, token string) (Event, error) {
	id, _, _ := strings.Cut(token, ".")
	if len(id) != 18 || strings.Trim(id, "0123456789abcdef") != "" {
		return Event{}, fmt.Errorf("event of link: %w", ErrNotFound)
	}
	var eventID string
	err := d.queryRow(ctx, `SELECT r.event_id FROM registration_links l JOIN registrations r ON r.id = l.registration_id WHERE l.id = ?`, id).Scan(&eventID)
	if err != nil {
		return Event{}, notFound(err, "event of link")
	}
	return d.EventByID(ctx, eventID)
}

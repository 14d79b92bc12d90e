// Package mail composes emails into the outbox and delivers the outbox over
// SMTP (or captures it, in development).
package mail

import (
	"fmt"

	"github.com/dnum-sociaux/agora/internal/render"
	"github.com/dnum-sociaux/agora/models"
)

// Composer renders email templates into outbox messages.
type Composer struct {
	render  *render.Renderer
	baseURL string
}

// NewComposer returns a Composer; baseURL prefixes links in emails.
func NewComposer(r *render.Renderer, baseURL string) *Composer {
	return &Composer{render: r, baseURL: baseURL}
}

// Data is what every email template sees, besides its own fields in .Data.
type Data struct {
	BaseURL string
	To      string
	Data    any
}

// Compose renders the email template name for recipient to. dedupeKey names
// the cause: one cause sends one email, whatever retries happen.
func (c *Composer) Compose(kind, dedupeKey, to, name string, data any) (models.OutboxMessage, error) {
	e, err := c.render.Email(name, Data{BaseURL: c.baseURL, To: to, Data: data})
	if err != nil {
		return models.OutboxMessage{}, fmt.Errorf("compose %s: %w", kind, err)
	}
	return models.OutboxMessage{
		DedupeKey: dedupeKey,
		Kind:      kind,
		Recipient: models.NormaliseEmail(to),
		Subject:   e.Subject,
		TextBody:  e.Text,
		HTMLBody:  e.HTML,
	}, nil
}

package jobs

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/dnum-sociaux/agora/models"
)

// Retention deletes what Agora keeps no longer than a limit (RGPD, ADR
// 0009): emails sent or failed more than Mail ago, with the shared bodies
// no email uses any more, and audit entries older than Audit. A zero limit
// keeps everything of its kind.
type Retention struct {
	Store    *models.Store
	Mail     time.Duration
	Audit    time.Duration
	Logger   *slog.Logger
	Interval time.Duration // between passes (default 1 h)
}

// Purged counts what one pass deleted.
type Purged struct {
	Mail, MailBodies, Audit int
}

// RunOnce deletes what is past its limit at the store's clock.
func (r *Retention) RunOnce(ctx context.Context) (Purged, error) {
	var p Purged
	var errs []error
	now := r.Store.Now()
	if r.Mail > 0 {
		var err error
		p.Mail, p.MailBodies, err = r.Store.PurgeMail(ctx, now.Add(-r.Mail))
		errs = append(errs, err)
	}
	if r.Audit > 0 {
		var err error
		p.Audit, err = r.Store.PurgeAudit(ctx, now.Add(-r.Audit))
		errs = append(errs, err)
	}
	return p, errors.Join(errs...)
}

// Run does a pass now, then one every Interval, until ctx ends.
func (r *Retention) Run(ctx context.Context) {
	if r.Interval <= 0 {
		r.Interval = time.Hour
	}
	var notify func() // nothing to wake
	loopDefaults(&r.Logger, &r.Interval, &notify)
	runEvery(ctx, r.Logger, "retention", r.Interval, func(ctx context.Context) (int, error) {
		p, err := r.RunOnce(ctx)
		if p != (Purged{}) {
			r.Logger.Info("retention deleted", "mail", p.Mail, "mail_bodies", p.MailBodies, "audit", p.Audit)
		}
		return 0, err // logged above: runEvery would say "queued"
	})
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/dnum-sociaux/agora/assets"
	"github.com/dnum-sociaux/agora/handlers"
	"github.com/dnum-sociaux/agora/internal/config"
	"github.com/dnum-sociaux/agora/internal/eventmail"
	"github.com/dnum-sociaux/agora/internal/ical"
	"github.com/dnum-sociaux/agora/internal/invite"
	"github.com/dnum-sociaux/agora/internal/jobs"
	"github.com/dnum-sociaux/agora/internal/mail"
	"github.com/dnum-sociaux/agora/internal/render"
	"github.com/dnum-sociaux/agora/models"
	"github.com/dnum-sociaux/agora/templates"
)

// serve reads the configuration, opens and migrates the database, builds
// the handlers and workers, serves until ctx ends, then shuts down in order:
// stop accepting, finish requests in flight, stop workers, close the database.
func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		return usageError{"serve takes no argument"}
	}
	start := time.Now()
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	store, err := openStore(ctx, cfg, log, true)
	if err != nil {
		return err
	}
	defer store.Close()

	static, err := assets.New()
	if err != nil {
		return fmt.Errorf("assets: %w", err)
	}
	renderer, err := render.New(templates.FS, map[string]any{"asset": static.URL})
	if err != nil {
		return fmt.Errorf("templates: %w", err)
	}
	var sender mail.Sender = mail.CaptureSender{}
	if cfg.SMTPURL != "" {
		if sender, err = mail.NewSMTPSender(cfg.SMTPURL, mail.SMTPOptions{From: cfg.MailFrom, Hostname: cfg.BaseURL.Hostname()}); err != nil {
			return fmt.Errorf("AGORA_SMTP_URL: %w", err)
		}
	}
	worker := (&mail.Worker{Store: store, Sender: sender, Logger: log.With("worker", "mail"),
		BaseBackoff: cfg.MailBackoff, Lease: cfg.MailLease, Busy: store.WritesBusy}).Init()
	migrator, err := store.Migrator(nil)
	if err != nil {
		return err
	}
	composer := mail.NewComposer(renderer, cfg.BaseURL.String())
	inviter := &invite.Sender{
		Mail:      composer,
		Organizer: ical.Person{Name: cfg.MailFrom.Name, Email: cfg.MailFrom.Address},
		BaseURL:   cfg.BaseURL.String(),
		Now:       time.Now,
	}
	reminders := &jobs.Reminders{Store: store, Invite: inviter, Logger: log.With("job", "reminders"), Notify: worker.Notify}
	pollReminders := &jobs.PollReminders{Store: store, Mail: composer, BaseURL: cfg.BaseURL.String(), Logger: log.With("job", "poll_reminders"),
		Notify: worker.Notify}
	// One notifier of event emails: its caches are warmed by the job below
	// for the registrations the handlers make.
	events := eventmail.New(composer, cfg.BaseURL.String(), inviter.Organizer, time.Now)
	eventReminders := &jobs.EventReminders{Store: store, Logger: log.With("job", "event_reminders"), Notify: worker.Notify, Notifier: events}
	warmup := &jobs.RegistrationWarmup{Store: store, Notifier: events, Logger: log.With("job", "registration_warmup")}
	retention := &jobs.Retention{Store: store, Mail: cfg.MailRetention, Audit: cfg.AuditRetention, Logger: log.With("job", "retention")}
	srv := handlers.New(handlers.Deps{
		Config:     cfg,
		Store:      store,
		Render:     renderer,
		Assets:     static,
		Mail:       composer,
		Invite:     inviter,
		Events:     events,
		NotifyMail: worker.Notify,
		Logger:     log,
		Ready: func(ctx context.Context) error {
			pending, err := migrator.Pending(ctx)
			if err != nil {
				return err
			}
			if pending {
				return errors.New("migrations pending")
			}
			return nil
		},
	})

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("AGORA_ADDR: %w", err)
	}
	if cfg.Env == config.Development {
		if err := bootstrapAdmin(ctx, cfg, store, stdout); err != nil {
			ln.Close()
			return err
		}
	}
	httpServer := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}

	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { worker.Run(workCtx) })
	wg.Go(func() { purgeLoop(workCtx, store, log) })
	wg.Go(func() { reminders.Run(workCtx) })
	wg.Go(func() { eventReminders.Run(workCtx) })
	wg.Go(func() { pollReminders.Run(workCtx) })
	wg.Go(func() { retention.Run(workCtx) })
	wg.Go(func() { warmup.Run(workCtx) })

	serveErr := make(chan error, 1)
	go func() { serveErr <- httpServer.Serve(ln) }()
	log.Info("agora ready", "addr", ln.Addr().String(), "url", cfg.BaseURL.String(), "env", cfg.Env,
		"database", string(store.Dialect()), "mail", map[bool]string{true: "captured", false: "smtp"}[sender.Captures()],
		"version", version, "startup_ms", time.Since(start).Milliseconds())

	select {
	case err = <-serveErr:
		log.Error("http server stopped", "error", err)
	case <-ctx.Done():
		log.Info("shutting down")
		shutCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err = httpServer.Shutdown(shutCtx)
		cancel()
		if err != nil {
			log.Warn("shutdown", "error", err)
		}
	}
	stopWork()
	wg.Wait()
	log.Info("stopped")
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// purgeLoop removes expired sessions, login links, pending ProConnect
// logins and idempotency records every hour.
func purgeLoop(ctx context.Context, store *models.Store, log *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if err := store.Tx(ctx, func(tx *models.Tx) error {
			if err := tx.PurgeExpired(ctx); err != nil {
				return err
			}
			return tx.PurgeLoginProviderData(ctx, models.IdempotencyTTL)
		}); err != nil && ctx.Err() == nil {
			log.Warn("purge expired", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// bootstrapAdmin, in development, makes sure someone can log in as an
// administrator: when there is no admin it creates admin@localhost, and
// while that account has never logged in it prints a fresh one-time login
// link at every start (without a mail server, the login email itself is
// only readable by an admin).
func bootstrapAdmin(ctx context.Context, cfg *config.Config, store *models.Store, stdout io.Writer) error {
	const email = "admin@localhost"
	n, err := store.CountAdmins(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		u, err := store.UserByEmail(ctx, email)
		if errors.Is(err, models.ErrNotFound) || err == nil && (u.Role != models.RoleAdmin || !u.LastLoginAt.IsZero()) {
			return nil
		} else if err != nil {
			return err
		}
	}
	var token string
	created := false
	err = store.Tx(ctx, func(tx *models.Tx) error {
		u, err := tx.UserByEmail(ctx, email)
		if errors.Is(err, models.ErrNotFound) {
			created = true
			u, err = tx.CreateUser(ctx, models.NewUser{Email: email, Name: "Administrateur", DirectionCode: "DNUM", Role: models.RoleAdmin})
			if err == nil {
				err = tx.Audit(ctx, models.Actor{Email: "system"}, "user.bootstrap_admin", "user", u.ID, "")
			}
		} else if err == nil && u.Role != models.RoleAdmin {
			if err = tx.SetRole(ctx, u.ID, models.RoleAdmin); err == nil {
				err = tx.Audit(ctx, models.Actor{Email: "system"}, "user.role", "user", u.ID, string(u.Role)+" → admin (premier démarrage)")
			}
		}
		if err != nil {
			return err
		}
		token, err = tx.CreateLoginToken(ctx, email, "/admin", 24*time.Hour)
		return err
	})
	if err != nil {
		return fmt.Errorf("create first admin: %w", err)
	}
	what := "Aucun administrateur ne s'est encore connecté."
	if created {
		what = "Premier démarrage : aucun administrateur. Compte " + email + " créé."
	}
	fmt.Fprintf(stdout, "\n%s\nConnectez-vous en administrateur avec ce lien à usage unique (valable 24 h) :\n\n    %s\n\n",
		what, cfg.URL("/login/"+token))
	return nil
}

package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/dnum-sociaux/agora/internal/config"
	"github.com/dnum-sociaux/agora/models"
)

// loadConfig reads the configuration; in development it also creates the
// secret key.
func loadConfig(getenv func(string) string) (*config.Config, error) {
	cfg, err := config.Load(getenv)
	if err != nil {
		return nil, err
	}
	if err := cfg.EnsureSecretKey(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// openStore opens the database and, when migrate is true, applies pending
// migrations and seeds the directions.
func openStore(ctx context.Context, cfg *config.Config, log *slog.Logger, migrate bool) (*models.Store, error) {
	store, err := models.Open(ctx, cfg.DatabaseURL, models.Options{})
	if err != nil {
		return nil, fmt.Errorf("AGORA_DATABASE_URL: %w", err)
	}
	if !migrate {
		return store, nil
	}
	m, err := store.Migrator(nil)
	if err != nil {
		store.Close()
		return nil, err
	}
	n, err := m.Up(ctx)
	if err != nil {
		store.Close()
		return nil, err
	}
	if n > 0 {
		log.Info("migrations applied", "count", n)
	}
	err = store.Tx(ctx, func(tx *models.Tx) error {
		_, err := tx.SeedDirections(ctx)
		return err
	})
	if err != nil {
		store.Close()
		return nil, err
	}
	return store, nil
}

// openForCommand reads the configuration and opens the database for a
// command line subcommand (migrating it first when migrate is true).
func openForCommand(ctx context.Context, getenv func(string) string, stderr io.Writer, migrate bool) (*config.Config, *models.Store, error) {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return nil, nil, err
	}
	store, err := openStore(ctx, cfg, newLogger(cfg, stderr), migrate)
	if err != nil {
		return nil, nil, err
	}
	return cfg, store, nil
}

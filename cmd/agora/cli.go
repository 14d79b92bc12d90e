package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/dnum-sociaux/agora/internal/form"
	"github.com/dnum-sociaux/agora/models"
)

func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	action := "up"
	if len(args) > 0 {
		action = args[0]
	}
	_, store, err := openForCommand(ctx, getenv, stderr, false)
	if err != nil {
		return err
	}
	defer store.Close()
	m, err := store.Migrator(nil)
	if err != nil {
		return err
	}
	switch action {
	case "up":
		n, err := m.Up(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%d migration(s) applied\n", n)
	case "down":
		if err := m.Down(ctx); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "last migration rolled back")
	case "status":
		st, err := m.Status(ctx)
		if err != nil {
			return err
		}
		for _, s := range st {
			state := "pending"
			if s.Applied {
				state = "applied"
			}
			fmt.Fprintf(stdout, "%-8s %s\n", state, s.Name)
		}
	default:
		return usageError{"migrate takes up, down or status"}
	}
	return nil
}

func userCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "role" {
		return userRoleCmd(ctx, args[1:], getenv, stdout, stderr)
	}
	if len(args) == 0 || args[0] != "create" {
		return usageError{"user takes: create --email E --name N --role R, or role --email E --role R"}
	}
	fs := flag.NewFlagSet("user create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	email := fs.String("email", "", "email address")
	name := fs.String("name", "", "display name")
	role := fs.String("role", "agent", "admin, organiser or agent")
	dir := fs.String("direction", "", "direction code, e.g. DNUM")
	if err := fs.Parse(args[1:]); err != nil {
		return usageError{err.Error()}
	}
	var errs form.Errors
	e := errs.Email("email", *email)
	n := errs.Text("name", *name, false, 100)
	if msg := errs.Get("email"); msg != "" {
		return usageError{"--email: " + msg}
	}
	if msg := errs.Get("name"); msg != "" {
		return usageError{"--name: " + msg}
	}
	if !models.Role(*role).Valid() {
		return usageError{"--role must be admin, organiser or agent"}
	}
	cfg, store, err := openForCommand(ctx, getenv, stderr, true)
	if err != nil {
		return err
	}
	defer store.Close()
	var u models.User
	var token string
	err = store.Tx(ctx, func(tx *models.Tx) error {
		if *dir != "" {
			if _, err := tx.DirectionByCode(ctx, *dir); err != nil {
				return fmt.Errorf("--direction %s: %w", *dir, err)
			}
		}
		u, err = tx.CreateUser(ctx, models.NewUser{Email: e, Name: n, Role: models.Role(*role), DirectionCode: models.NormaliseDirectionCode(*dir)})
		if err != nil {
			return err
		}
		if err := tx.Audit(ctx, models.Actor{Email: "cli"}, "user.create", "user", u.ID, "rôle "+*role+" (ligne de commande)"); err != nil {
			return err
		}
		if cfg.SMTPURL == "" && cfg.MagicLink {
			// Without a mail server the login email is only readable by an
			// admin: give the new account a way in.
			token, err = tx.CreateLoginToken(ctx, e, "/", 24*time.Hour)
		}
		return err
	})
	if errors.Is(err, models.ErrConflict) {
		existing, _ := store.UserByEmail(ctx, e)
		return fmt.Errorf("an account already exists for %s (role %s)", e, existing.Role)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created %s %s (%s)\n", u.Role, u.Email, u.ID)
	if token != "" {
		fmt.Fprintf(stdout, "one-time login link (valid 24 h, emails are not sent on this instance):\n    %s\n", cfg.URL("/login/"+token))
	}
	return nil
}

// userRoleCmd is `agora user role --email E --role R`: it changes the role
// of an existing account (for instance one first created by a ProConnect login).
func userRoleCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("user role", flag.ContinueOnError)
	fs.SetOutput(stderr)
	email := fs.String("email", "", "email address of the account")
	role := fs.String("role", "", "admin, organiser or agent")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	var errs form.Errors
	e := errs.Email("email", *email)
	if msg := errs.Get("email"); msg != "" {
		return usageError{"--email: " + msg}
	}
	r := models.Role(*role)
	if !r.Valid() {
		return usageError{"--role must be admin, organiser or agent"}
	}
	_, store, err := openForCommand(ctx, getenv, stderr, true)
	if err != nil {
		return err
	}
	defer store.Close()
	var before models.Role
	err = store.Tx(ctx, func(tx *models.Tx) error {
		u, err := tx.UserByEmail(ctx, e)
		if err != nil {
			return err
		}
		before = u.Role
		if err := tx.SetRole(ctx, u.ID, r); err != nil {
			return err
		}
		return tx.Audit(ctx, models.Actor{Email: "cli"}, "user.role", "user", u.ID, string(before)+" → "+string(r)+" (ligne de commande)")
	})
	switch {
	case errors.Is(err, models.ErrNotFound):
		return fmt.Errorf("no account for %s", e)
	case errors.Is(err, models.ErrLastAdmin):
		return fmt.Errorf("%s is the last admin: make another account admin first", e)
	case err != nil:
		return err
	}
	fmt.Fprintf(stdout, "%s: %s → %s\n", e, before, r)
	return nil
}

// tokenCmd is `agora token create --email E [--name N]`: it makes an API key
// for an existing account and prints the key alone on standard output, so
// that scripts can capture it.
func tokenCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return usageError{"token takes: create --email E [--name N]"}
	}
	fs := flag.NewFlagSet("token create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	email := fs.String("email", "", "email address of the key's owner")
	name := fs.String("name", "ligne de commande", "name of the key, e.g. the program that will use it")
	if err := fs.Parse(args[1:]); err != nil {
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{"token create takes no argument besides its flags"}
	}
	var errs form.Errors
	e := errs.Email("email", *email)
	n := errs.Text("name", *name, true, 80)
	if errs.Any() {
		return usageError{"--email or --name: " + errs.Get("email") + errs.Get("name")}
	}
	_, store, err := openForCommand(ctx, getenv, stderr, true)
	if err != nil {
		return err
	}
	defer store.Close()
	var secret string
	err = store.Tx(ctx, func(tx *models.Tx) error {
		u, err := tx.UserByEmail(ctx, e)
		if errors.Is(err, models.ErrNotFound) {
			return fmt.Errorf("no account for %s (create it first with: agora user create)", e)
		}
		if err != nil {
			return err
		}
		key, plain, err := tx.CreateAPIKey(ctx, u.ID, n)
		if err != nil {
			return err
		}
		secret = plain
		return tx.Audit(ctx, models.Actor{UserID: u.ID, Email: "cli"}, "api_key.create", "api_key", key.ID, "« "+key.Name+" » (ligne de commande)")
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, secret)
	return nil
}

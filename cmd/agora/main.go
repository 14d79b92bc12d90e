// Command agora runs Agora: the web server and its administration commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/dnum-sociaux/agora/internal/config"
)

// version is set at build time (-ldflags "-X main.version=…").
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, errorLine(err))
		var u usageError
		if errors.As(err, &u) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// errorLine is how an error is shown: one line (drivers such as pgx write
// some errors on several lines), naming the variable at fault first.
func errorLine(err error) string {
	return "agora: " + strings.Join(strings.Fields(err.Error()), " ")
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg + " (see: agora help)" }

// run dispatches a subcommand; serve is the default.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, getenv, stdout, stderr)
	case "migrate":
		return migrate(ctx, args, getenv, stdout, stderr)
	case "user":
		return userCmd(ctx, args, getenv, stdout, stderr)
	case "token":
		return tokenCmd(ctx, args, getenv, stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "agora", fullVersion())
		return nil
	case "help", "--help", "-h":
		printHelp(stdout)
		return nil
	}
	return usageError{fmt.Sprintf("unknown command %q", cmd)}
}

func fullVersion() string {
	v := version
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
	}
	return v
}

func printHelp(w io.Writer) {
	fmt.Fprint(w, `Agora: working groups, committees and events of the DNUM (ministères sociaux).

Usage:
  agora [serve]                      run the web server, applying pending migrations first
  agora migrate up|down|status       apply, roll back the last, or list migrations
  agora user create --email E --name N --role admin|organiser|agent [--direction CODE]
                                     create an account (prints its id)
  agora user role --email E --role admin|organiser|agent
                                     change the role of an existing account
  agora token create --email E [--name N]
                                     create an API key for an account; prints the key alone
  agora version                      print the version
  agora help                         print this help

Configuration (environment variables, with defaults):
`)
	for _, v := range config.Vars {
		fmt.Fprintf(w, "  %-30s %s\n  %-30s   default: %s\n", v.Name, v.Help, "", orNone(v.Default))
	}
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

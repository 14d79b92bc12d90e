package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dnum-sociaux/agora/models"
)

func TestTokenCreatePrintsTheKeyAlone(t *testing.T) {
	dir := t.TempDir()
	dsn := "sqlite://" + filepath.Join(dir, "agora.db")
	env := map[string]string{"AGORA_DATABASE_URL": dsn, "AGORA_DATA_DIR": dir, "AGORA_LOG_LEVEL": "error"}
	getenv := func(k string) string { return env[k] }
	ctx := context.Background()
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"user", "create", "--email", "grist@example.org", "--name", "Grist"}, getenv, &out, &errOut); err != nil {
		t.Fatalf("user create: %v\n%s", err, errOut.String())
	}
	out.Reset()
	if err := run(ctx, []string{"token", "create", "--email", "Grist@Example.org", "--name", "Grist suivi"}, getenv, &out, &errOut); err != nil {
		t.Fatalf("token create: %v\n%s", err, errOut.String())
	}
	key := out.String()
	if !strings.HasPrefix(key, models.APIKeyPrefix) || strings.Count(key, "\n") != 1 || !strings.HasSuffix(key, "\n") || strings.ContainsAny(strings.TrimSpace(key), " \t") {
		t.Fatalf("stdout = %q, want the key alone on one line", key)
	}
	store, err := models.Open(ctx, dsn, models.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	k, u, err := store.APIKeyUser(ctx, strings.TrimSpace(key))
	if err != nil || u.Email != "grist@example.org" || k.Name != "Grist suivi" {
		t.Fatalf("key %+v of %+v: %v", k, u, err)
	}
	// Unknown account, missing email: errors, nothing on stdout.
	out.Reset()
	if err := run(ctx, []string{"token", "create", "--email", "nobody@example.org"}, getenv, &out, &errOut); err == nil || out.Len() != 0 {
		t.Fatalf("unknown account: err %v, stdout %q", err, out.String())
	}
	if err := run(ctx, []string{"token", "create"}, getenv, &out, &errOut); err == nil || out.Len() != 0 {
		t.Fatalf("no email: err %v, stdout %q", err, out.String())
	}
}

func TestUserRole(t *testing.T) {
	env := testEnv(t)
	if _, _, err := runCmd(t, env, "user", "create", "--email", "chef@example.org", "--name", "Chef", "--role", "admin"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCmd(t, env, "user", "create", "--email", "agent@example.org", "--name", "Agent", "--role", "agent"); err != nil {
		t.Fatal(err)
	}
	out, _, err := runCmd(t, env, "user", "role", "--email", "Agent@Example.org", "--role", "organiser")
	if err != nil || !strings.Contains(out, "agent → organiser") {
		t.Fatalf("user role: %q %v", out, err)
	}
	s := openTestStore(t, env)
	if u, _ := s.UserByEmail(context.Background(), "agent@example.org"); u.Role != models.RoleOrganiser {
		t.Fatalf("role after: %s", u.Role)
	}
	if e, n, _ := s.ListAudit(context.Background(), models.AuditFilter{Action: "user.role"}); n != 1 || !strings.Contains(e[0].Detail, "agent → organiser") {
		t.Fatalf("audit: %+v", e)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--email", "nobody@example.org", "--role", "admin"}, "no account"},
		{[]string{"--email", "chef@example.org", "--role", "agent"}, "last admin"},
		{[]string{"--email", "agent@example.org", "--role", "chef"}, "--role"},
		{[]string{"--email", "pas-une-adresse", "--role", "admin"}, "--email"},
	} {
		if _, _, err := runCmd(t, env, append([]string{"user", "role"}, c.args...)...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("user role %v: %v, want an error about %q", c.args, err, c.want)
		}
	}
	if u, _ := s.UserByEmail(context.Background(), "chef@example.org"); u.Role != models.RoleAdmin {
		t.Fatal("the last admin lost the role")
	}
}

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

package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dnum-sociaux/agora/internal/config"
)

func TestDefaults(t *testing.T) {
	c, err := load(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Env != config.Development || c.Addr != ":8080" || c.BaseURL.String() != "http://localhost:8080" ||
		c.DatabaseURL != "sqlite://data/agora.db" || c.SMTPURL != "" || c.MailFrom.Address != "agora@localhost" ||
		len(c.AllowedEmailDomains) != 0 || c.SecretKey != nil || c.LogFormat != "text" || c.LogLevel != "info" ||
		c.RateLimitPerMinute != 600 || c.MaxBodyBytes != 1<<20 || !c.MagicLink ||
		c.SessionIdle != 12*time.Hour || c.SessionAbsolute != 720*time.Hour || c.Secure() {
		t.Fatalf("defaults: %+v", c)
	}
	for _, v := range config.Vars {
		if !strings.HasPrefix(v.Name, "AGORA_") || v.Help == "" {
			t.Errorf("undocumented variable %+v", v)
		}
	}
}

// Each bad value is refused with an error that starts with the variable's name.
func TestBadValuesNameTheVariable(t *testing.T) {
	prod := map[string]string{"AGORA_ENV": "production", "AGORA_SECRET_KEY": strings.Repeat("s", 32), "AGORA_ALLOWED_EMAIL_DOMAINS": "gouv.fr"}
	cases := []struct {
		name, value string
		base        map[string]string
	}{
		{"AGORA_ENV", "prod", nil},
		{"AGORA_BASE_URL", "localhost:8080", nil},
		{"AGORA_BASE_URL", "ftp://agora.example", nil},
		{"AGORA_DATABASE_URL", "mysql://db", nil},
		{"AGORA_SMTP_URL", "mail.example:25", nil},
		{"AGORA_MAIL_FROM", "agora", nil},
		{"AGORA_ALLOWED_EMAIL_DOMAINS", "a b", nil},
		{"AGORA_ALLOWED_EMAIL_DOMAINS", "x@gouv.fr", nil},
		{"AGORA_SECRET_KEY", "short", nil},
		{"AGORA_LOG_FORMAT", "yaml", nil},
		{"AGORA_LOG_LEVEL", "trace", nil},
		{"AGORA_RATE_LIMIT", "-1", nil},
		{"AGORA_RATE_LIMIT", "many", nil},
		{"AGORA_MAX_BODY_BYTES", "1000", nil},
		{"AGORA_MAX_BODY_BYTES", "1MB", nil},
		{"AGORA_MAGIC_LINK", "yes please", nil},
		{"AGORA_SESSION_IDLE", "30s", nil},
		{"AGORA_SESSION_IDLE", "forever", nil},
		{"AGORA_SESSION_MAX", "1h", nil},
		{"AGORA_SECRET_KEY", "", prod},
		{"AGORA_ALLOWED_EMAIL_DOMAINS", "", prod},
	}
	for _, c := range cases {
		t.Run(c.name+"="+c.value, func(t *testing.T) {
			vars := map[string]string{}
			for k, v := range c.base {
				vars[k] = v
			}
			vars[c.name] = c.value
			_, err := load(vars)
			if err == nil || !strings.HasPrefix(err.Error(), c.name+": ") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v, want one line starting with %s", err, c.name)
			}
		})
	}
}

func TestProductionAndHelpers(t *testing.T) {
	c, err := load(map[string]string{"AGORA_ENV": "production", "AGORA_SECRET_KEY": strings.Repeat("s", 32),
		"AGORA_ALLOWED_EMAIL_DOMAINS": " @Social.Gouv.fr , travail.gouv.fr", "AGORA_BASE_URL": "https://agora.example.gouv.fr/"})
	if err != nil {
		t.Fatal(err)
	}
	if c.LogFormat != "json" || !c.Secure() || c.URL("/login/x") != "https://agora.example.gouv.fr/login/x" {
		t.Fatalf("production: %+v", c)
	}
	for email, want := range map[string]bool{
		"a@social.gouv.fr": true, "a@sg.social.gouv.fr": true, "A@TRAVAIL.GOUV.FR": true,
		"a@social.gouv.fr.evil.example": false, "a@antisocial.gouv.fr": false, "a@gmail.com": false, "pas-une-adresse": false,
	} {
		if got := c.EmailAllowed(email); got != want {
			t.Errorf("EmailAllowed(%q) = %v", email, got)
		}
	}
}

// In development the secret key is generated once in the data folder and
// kept across starts.
func TestDevelopmentSecretKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	c1, _ := load(map[string]string{"AGORA_DATA_DIR": dir})
	if err := c1.EnsureSecretKey(); err != nil || len(c1.SecretKey) < 32 {
		t.Fatalf("generate: %v %d", err, len(c1.SecretKey))
	}
	if st, err := os.Stat(filepath.Join(dir, "secret.key")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st, err)
	}
	c2, _ := load(map[string]string{"AGORA_DATA_DIR": dir})
	if err := c2.EnsureSecretKey(); err != nil || string(c2.SecretKey) != string(c1.SecretKey) {
		t.Fatal("the key changed between starts")
	}
	c3, _ := load(map[string]string{"AGORA_DATA_DIR": dir, "AGORA_SECRET_KEY": strings.Repeat("z", 40)})
	if err := c3.EnsureSecretKey(); err != nil || string(c3.SecretKey) != strings.Repeat("z", 40) {
		t.Fatal("configured key not used")
	}
}

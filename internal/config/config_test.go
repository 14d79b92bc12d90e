package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/dnum-sociaux/agora/internal/config"
)

func load(vars map[string]string) (config.Config, error) {
	return config.Load(func(k string) string { return vars[k] })
}

func TestOIDCConfiguration(t *testing.T) {
	c, err := load(nil)
	if err != nil || c.OIDC.Enabled() || c.APIRateLimit != 600 {
		t.Fatalf("defaults: %+v %v", c.OIDC, err)
	}
	c, err = load(map[string]string{
		"AGORA_OIDC_ISSUER": "https://auth.agentconnect.gouv.fr/api/v2/", "AGORA_OIDC_CLIENT_ID": "id", "AGORA_OIDC_CLIENT_SECRET": "secret",
		"AGORA_OIDC_ACR": "eidas1", "AGORA_API_RATE_LIMIT": "120",
	})
	if err != nil {
		t.Fatal(err)
	}
	o := c.OIDC
	if !o.Enabled() || o.Issuer != "https://auth.agentconnect.gouv.fr/api/v2" || o.Origin() != "https://auth.agentconnect.gouv.fr" ||
		strings.Join(o.Scopes, " ") != config.DefaultOIDCScopes || o.ACR != "eidas1" || c.APIRateLimit != 120 {
		t.Fatalf("oidc = %+v, api limit %d", o, c.APIRateLimit)
	}
	c, err = load(map[string]string{"AGORA_OIDC_ISSUER": "https://idp.example", "AGORA_OIDC_CLIENT_ID": "id",
		"AGORA_OIDC_CLIENT_SECRET": "s", "AGORA_OIDC_SCOPES": "email openid email uid"})
	if err != nil || strings.Join(c.OIDC.Scopes, " ") != "openid email uid" {
		t.Fatalf("scopes = %v, %v", c.OIDC.Scopes, err)
	}
	for _, tc := range []struct {
		vars map[string]string
		name string
	}{
		{map[string]string{"AGORA_OIDC_CLIENT_ID": "id"}, "AGORA_OIDC_ISSUER"},
		{map[string]string{"AGORA_OIDC_ISSUER": "https://idp.example", "AGORA_OIDC_CLIENT_SECRET": "s"}, "AGORA_OIDC_CLIENT_ID"},
		{map[string]string{"AGORA_OIDC_ISSUER": "https://idp.example", "AGORA_OIDC_CLIENT_ID": "id"}, "AGORA_OIDC_CLIENT_SECRET"},
		{map[string]string{"AGORA_OIDC_ISSUER": "idp.example", "AGORA_OIDC_CLIENT_ID": "id", "AGORA_OIDC_CLIENT_SECRET": "s"}, "AGORA_OIDC_ISSUER"},
		{map[string]string{"AGORA_ENV": "production", "AGORA_SECRET_KEY": strings.Repeat("k", 32), "AGORA_ALLOWED_EMAIL_DOMAINS": "gouv.fr",
			"AGORA_OIDC_ISSUER": "http://idp.example", "AGORA_OIDC_CLIENT_ID": "id", "AGORA_OIDC_CLIENT_SECRET": "s"}, "AGORA_OIDC_ISSUER"},
		{map[string]string{"AGORA_API_RATE_LIMIT": "-1"}, "AGORA_API_RATE_LIMIT"},
	} {
		if _, err := load(tc.vars); err == nil || !strings.HasPrefix(err.Error(), tc.name+":") {
			t.Errorf("%v: err = %v, want one naming %s", tc.vars, err, tc.name)
		}
	}
}

func TestRetentionConfiguration(t *testing.T) {
	c, err := load(nil)
	if err != nil || c.MailRetention != 90*24*time.Hour || c.AuditRetention != 365*24*time.Hour {
		t.Fatalf("defaults: mail %v, audit %v, %v", c.MailRetention, c.AuditRetention, err)
	}
	c, err = load(map[string]string{"AGORA_MAIL_RETENTION": "30d", "AGORA_AUDIT_RETENTION": "0"})
	if err != nil || c.MailRetention != 30*24*time.Hour || c.AuditRetention != 0 {
		t.Fatalf("30d and 0: mail %v, audit %v, %v", c.MailRetention, c.AuditRetention, err)
	}
	if c, err = load(map[string]string{"AGORA_MAIL_RETENTION": "2160h"}); err != nil || c.MailRetention != 90*24*time.Hour {
		t.Fatalf("2160h: %v, %v", c.MailRetention, err)
	}
	for _, v := range []string{"90m", "12h", "-3d", "d", "quatre-vingt-dix jours", "0d"} {
		for _, name := range []string{"AGORA_MAIL_RETENTION", "AGORA_AUDIT_RETENTION"} {
			if _, err := load(map[string]string{name: v}); err == nil || !strings.HasPrefix(err.Error(), name+":") {
				t.Errorf("%s=%q: err = %v, want one naming it", name, v, err)
			}
		}
	}
}

// Package config reads Agora's configuration from environment variables
// (12-factor). A bad value is an error naming the variable.
package config

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Environments.
const (
	Development = "development"
	Production  = "production"
)

// Config is the whole configuration, built once in main.
type Config struct {
	Env                 string
	Addr                string
	BaseURL             *url.URL
	DatabaseURL         string
	SMTPURL             string // empty: emails are captured in the outbox (development)
	MailFrom            *mail.Address
	AllowedEmailDomains []string // empty: any domain (development only)
	SecretKey           []byte
	DataDir             string
	LogFormat           string // "json" or "text"
	LogLevel            string
	RateLimitPerMinute  int   // requests per minute per IP and per user; 0 disables
	MaxBodyBytes        int64 // request body limit
	MagicLink           bool  // the email login link is offered
	SessionIdle         time.Duration
	SessionAbsolute     time.Duration
	OIDC                OIDC          // login with ProConnect; zero when not configured
	APIRateLimit        int           // API requests per minute per key; 0 disables
	MailBackoff         time.Duration // first retry delay of the outbox, doubled each attempt
	MailLease           time.Duration // how long a claimed email stays claimed before another attempt may take it
	MailRetention       time.Duration // sent and failed emails are deleted this long after; 0 keeps them
	AuditRetention      time.Duration // audit entries are deleted this long after; 0 keeps them
}

// OIDC configures login through an OpenID Connect provider (ProConnect).
type OIDC struct {
	Issuer       string // e.g. https://auth.agentconnect.gouv.fr/api/v2
	ClientID     string
	ClientSecret string
	Scopes       []string // always starts with openid
	ACR          string   // acr_values asked for, optional (e.g. eidas1)
}

// DefaultOIDCScopes are the claims Agora needs from ProConnect.
const DefaultOIDCScopes = "openid email given_name usual_name uid siret organizational_unit"

// Enabled tells whether a provider is configured.
func (o OIDC) Enabled() bool { return o.Issuer != "" }

// Var documents one environment variable, for `agora help` and the README.
type Var struct {
	Name, Default, Help string
}

// Vars lists every variable Agora reads.
var Vars = []Var{
	{"AGORA_ENV", Development, "development or production"},
	{"AGORA_ADDR", ":8080", "address the HTTP server listens on"},
	{"AGORA_BASE_URL", "http://localhost:8080", "public URL, used in emails and calendar links"},
	{"AGORA_DATABASE_URL", "sqlite://data/agora.db", "sqlite://path or postgres://user@host/db"},
	{"AGORA_SMTP_URL", "", "smtp://user:pass@host:587 (STARTTLS) or smtps://…:465; empty = emails captured and readable in the admin"},
	{"AGORA_MAIL_FROM", "Agora <agora@localhost>", "sender and calendar organiser address (must receive replies)"},
	{"AGORA_ALLOWED_EMAIL_DOMAINS", "", "comma-separated domains allowed to log in, e.g. sg.social.gouv.fr,travail.gouv.fr; required in production"},
	{"AGORA_SECRET_KEY", "", "at least 32 characters; required in production (development: generated in the data folder)"},
	{"AGORA_DATA_DIR", "data", "folder for the development secret key and local files"},
	{"AGORA_LOG_FORMAT", "text (json in production)", "text or json"},
	{"AGORA_LOG_LEVEL", "info", "debug, info, warn or error"},
	{"AGORA_RATE_LIMIT", "600", "requests per minute per IP and per user (0 disables)"},
	{"AGORA_MAX_BODY_BYTES", "1048576", "largest accepted request body (uploads have their own limit)"},
	{"AGORA_MAGIC_LINK", "on", "on or off: offer login by email link"},
	{"AGORA_SESSION_IDLE", "12h", "a session ends after this long without activity"},
	{"AGORA_SESSION_MAX", "720h", "a session ends this long after login, whatever happens"},
	{"AGORA_OIDC_ISSUER", "", "OpenID Connect issuer URL (ProConnect); empty = no ProConnect button"},
	{"AGORA_OIDC_CLIENT_ID", "", "client id given by the provider (required with AGORA_OIDC_ISSUER)"},
	{"AGORA_OIDC_CLIENT_SECRET", "", "client secret given by the provider (required with AGORA_OIDC_ISSUER)"},
	{"AGORA_OIDC_SCOPES", DefaultOIDCScopes, "space-separated scopes asked for (openid is always included)"},
	{"AGORA_OIDC_ACR", "", "acr_values asked for, e.g. eidas1 (optional)"},
	{"AGORA_API_RATE_LIMIT", "600", "API requests per minute per API key (0 disables)"},
	{"AGORA_MAIL_BACKOFF", "30s", "first delay before retrying an email (doubled each attempt, capped at 1h)"},
	{"AGORA_MAIL_LEASE", "2m", "how long an email being sent stays claimed; after a crash it is retried once this has passed"},
	{"AGORA_MAIL_RETENTION", "90d", "sent and failed emails are deleted this long after (days, e.g. 90d, or a duration such as 2160h; 0 keeps them)"},
	{"AGORA_AUDIT_RETENTION", "365d", "audit log entries are deleted this long after (days or a duration; 0 keeps them)"},
}

// Load reads the configuration through getenv (os.Getenv in main).
func Load(getenv func(string) string) (Config, error) {
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	var c Config
	c.Env = get("AGORA_ENV", Development)
	if c.Env != Development && c.Env != Production {
		return c, fmt.Errorf("AGORA_ENV: %q is neither development nor production", c.Env)
	}
	c.Addr = get("AGORA_ADDR", ":8080")
	base, err := url.Parse(strings.TrimRight(get("AGORA_BASE_URL", "http://localhost:8080"), "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return c, errors.New("AGORA_BASE_URL: must be an absolute http(s) URL such as https://agora.example.gouv.fr")
	}
	c.BaseURL = base
	c.DatabaseURL = get("AGORA_DATABASE_URL", "sqlite://data/agora.db")
	if !strings.HasPrefix(c.DatabaseURL, "sqlite://") && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		return c, errors.New("AGORA_DATABASE_URL: must start with sqlite:// or postgres://")
	}
	c.SMTPURL = get("AGORA_SMTP_URL", "")
	if c.SMTPURL != "" {
		u, err := url.Parse(c.SMTPURL)
		if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" {
			return c, errors.New("AGORA_SMTP_URL: must look like smtp://user:password@host:587 or smtps://host:465")
		}
	}
	from, err := mail.ParseAddress(get("AGORA_MAIL_FROM", "Agora <agora@localhost>"))
	if err != nil {
		return c, fmt.Errorf("AGORA_MAIL_FROM: not an email address: %v", err)
	}
	c.MailFrom = from
	for _, d := range strings.Split(get("AGORA_ALLOWED_EMAIL_DOMAINS", ""), ",") {
		d = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(d), "@"))
		if d == "" {
			continue
		}
		if strings.ContainsAny(d, " /@") || !strings.Contains(d, ".") && d != "localhost" {
			return c, fmt.Errorf("AGORA_ALLOWED_EMAIL_DOMAINS: %q is not a domain", d)
		}
		c.AllowedEmailDomains = append(c.AllowedEmailDomains, d)
	}
	c.DataDir = get("AGORA_DATA_DIR", "data")
	c.LogFormat = get("AGORA_LOG_FORMAT", map[bool]string{true: "json", false: "text"}[c.Env == Production])
	if c.LogFormat != "json" && c.LogFormat != "text" {
		return c, errors.New("AGORA_LOG_FORMAT: must be text or json")
	}
	c.LogLevel = get("AGORA_LOG_LEVEL", "info")
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return c, errors.New("AGORA_LOG_LEVEL: must be debug, info, warn or error")
	}
	if c.RateLimitPerMinute, err = strconv.Atoi(get("AGORA_RATE_LIMIT", "600")); err != nil || c.RateLimitPerMinute < 0 {
		return c, errors.New("AGORA_RATE_LIMIT: must be a whole number of requests per minute (0 disables)")
	}
	if c.MaxBodyBytes, err = strconv.ParseInt(get("AGORA_MAX_BODY_BYTES", "1048576"), 10, 64); err != nil || c.MaxBodyBytes < 1024 {
		return c, errors.New("AGORA_MAX_BODY_BYTES: must be a number of bytes, at least 1024")
	}
	switch get("AGORA_MAGIC_LINK", "on") {
	case "on", "true", "1":
		c.MagicLink = true
	case "off", "false", "0":
		c.MagicLink = false
	default:
		return c, errors.New("AGORA_MAGIC_LINK: must be on or off")
	}
	if c.SessionIdle, err = time.ParseDuration(get("AGORA_SESSION_IDLE", "12h")); err != nil || c.SessionIdle < time.Minute {
		return c, errors.New("AGORA_SESSION_IDLE: must be a duration such as 12h")
	}
	if c.SessionAbsolute, err = time.ParseDuration(get("AGORA_SESSION_MAX", "720h")); err != nil || c.SessionAbsolute < c.SessionIdle {
		return c, errors.New("AGORA_SESSION_MAX: must be a duration such as 720h, not shorter than AGORA_SESSION_IDLE")
	}
	if c.OIDC, err = loadOIDC(get, c.Env); err != nil {
		return c, err
	}
	if c.APIRateLimit, err = strconv.Atoi(get("AGORA_API_RATE_LIMIT", "600")); err != nil || c.APIRateLimit < 0 {
		return c, errors.New("AGORA_API_RATE_LIMIT: must be a whole number of requests per minute (0 disables)")
	}
	if c.MailBackoff, err = time.ParseDuration(get("AGORA_MAIL_BACKOFF", "30s")); err != nil || c.MailBackoff < 10*time.Millisecond || c.MailBackoff > time.Hour {
		return c, errors.New("AGORA_MAIL_BACKOFF: must be a duration between 10ms and 1h, such as 30s")
	}
	if c.MailLease, err = time.ParseDuration(get("AGORA_MAIL_LEASE", "2m")); err != nil || c.MailLease < time.Second {
		return c, errors.New("AGORA_MAIL_LEASE: must be a duration of at least 1s, such as 2m")
	}
	if c.MailRetention, err = parseRetention(get("AGORA_MAIL_RETENTION", "90d")); err != nil {
		return c, fmt.Errorf("AGORA_MAIL_RETENTION: %v", err)
	}
	if c.AuditRetention, err = parseRetention(get("AGORA_AUDIT_RETENTION", "365d")); err != nil {
		return c, fmt.Errorf("AGORA_AUDIT_RETENTION: %v", err)
	}
	if key := get("AGORA_SECRET_KEY", ""); key != "" {
		if len(key) < 32 {
			return c, errors.New("AGORA_SECRET_KEY: must be at least 32 characters")
		}
		c.SecretKey = []byte(key)
	}
	if c.Env == Production {
		if c.SecretKey == nil {
			return c, errors.New("AGORA_SECRET_KEY: required in production (at least 32 random characters)")
		}
		if len(c.AllowedEmailDomains) == 0 {
			return c, errors.New("AGORA_ALLOWED_EMAIL_DOMAINS: required in production")
		}
	}
	return c, nil
}

// parseRetention reads a retention limit: a number of days ("90d"), a Go
// duration ("2160h") or 0 (keep for ever). Less than a day is refused: a
// slip such as 90m would delete almost everything.
func parseRetention(v string) (time.Duration, error) {
	if v == "0" {
		return 0, nil
	}
	var d time.Duration
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 100*365 {
			return 0, errors.New("must be a number of days such as 90d, a duration such as 2160h, or 0")
		}
		d = time.Duration(n) * 24 * time.Hour
	} else if parsed, err := time.ParseDuration(v); err == nil {
		d = parsed
	} else {
		return 0, errors.New("must be a number of days such as 90d, a duration such as 2160h, or 0")
	}
	if d < 24*time.Hour {
		return 0, errors.New("must be at least one day (1d), or 0 to keep everything")
	}
	return d, nil
}

func loadOIDC(get func(name, def string) string, env string) (OIDC, error) {
	o := OIDC{
		Issuer:       strings.TrimRight(get("AGORA_OIDC_ISSUER", ""), "/"),
		ClientID:     get("AGORA_OIDC_CLIENT_ID", ""),
		ClientSecret: get("AGORA_OIDC_CLIENT_SECRET", ""),
		ACR:          get("AGORA_OIDC_ACR", ""),
	}
	if o.Issuer == "" {
		if o.ClientID != "" || o.ClientSecret != "" {
			return OIDC{}, errors.New("AGORA_OIDC_ISSUER: required when AGORA_OIDC_CLIENT_ID or AGORA_OIDC_CLIENT_SECRET is set")
		}
		return OIDC{}, nil
	}
	u, err := url.Parse(o.Issuer)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return OIDC{}, errors.New("AGORA_OIDC_ISSUER: must be an absolute https URL such as https://auth.agentconnect.gouv.fr/api/v2")
	}
	if u.Scheme == "http" && env == Production {
		return OIDC{}, errors.New("AGORA_OIDC_ISSUER: must use https in production")
	}
	if o.ClientID == "" {
		return OIDC{}, errors.New("AGORA_OIDC_CLIENT_ID: required with AGORA_OIDC_ISSUER")
	}
	if o.ClientSecret == "" {
		return OIDC{}, errors.New("AGORA_OIDC_CLIENT_SECRET: required with AGORA_OIDC_ISSUER")
	}
	o.Scopes = []string{"openid"}
	for _, sc := range strings.Fields(get("AGORA_OIDC_SCOPES", DefaultOIDCScopes)) {
		if sc != "openid" && !slices.Contains(o.Scopes, sc) {
			o.Scopes = append(o.Scopes, sc)
		}
	}
	return o, nil
}

// Origin is the scheme and host of the provider, for the CSP form-action
// (the login and logout forms are answered with a redirect there).
func (o OIDC) Origin() string {
	u, err := url.Parse(o.Issuer)
	if err != nil || o.Issuer == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// EnsureSecretKey loads or creates the development secret key in the data
// folder when none was configured.
func (c *Config) EnsureSecretKey() error {
	if c.SecretKey != nil {
		return nil
	}
	path := filepath.Join(c.DataDir, "secret.key")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) >= 32 {
		c.SecretKey = []byte(strings.TrimSpace(string(b)))
		return nil
	}
	if err := os.MkdirAll(c.DataDir, 0o750); err != nil {
		return fmt.Errorf("AGORA_DATA_DIR: %w", err)
	}
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return err
	}
	key := hex.EncodeToString(buf)
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		return fmt.Errorf("AGORA_DATA_DIR: write secret key: %w", err)
	}
	c.SecretKey = []byte(key)
	return nil
}

// Secure tells whether Agora is served over HTTPS (cookies get Secure, HSTS is sent).
func (c *Config) Secure() bool { return c.BaseURL.Scheme == "https" }

// EmailAllowed tells whether an address may log in.
func (c *Config) EmailAllowed(email string) bool {
	if len(c.AllowedEmailDomains) == 0 {
		return true
	}
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return false
	}
	domain := strings.ToLower(email[at+1:])
	for _, d := range c.AllowedEmailDomains {
		if domain == d || strings.HasSuffix(domain, "."+d) {
			return true
		}
	}
	return false
}

// URL makes an absolute URL from a path, for emails and calendars.
func (c *Config) URL(path string) string {
	return strings.TrimRight(c.BaseURL.String(), "/") + path
}

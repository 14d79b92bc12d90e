package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	stdmail "net/mail"
	"net/smtp"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"

	gomail "github.com/go-mail/mail/v2"

	"github.com/dnum-sociaux/agora/models"
)

// ErrPermanent marks a delivery the server refused for good (5xx), or a
// message that can never be sent (an invalid recipient).
var ErrPermanent = errors.New("permanent failure")

// Sender delivers messages. Send reports every message it tried through
// done, once each, in order. When the connection cannot be made, or breaks,
// it stops and returns the error: a message in flight when the connection
// broke is reported with that error, the ones after it were not tried.
type Sender interface {
	Send(ctx context.Context, msgs []models.OutboxMessage, done func(m models.OutboxMessage, err error)) error
	Captures() bool // true when messages are kept rather than sent
}

// SMTPOptions are what NewSMTPSender needs besides the URL.
type SMTPOptions struct {
	From     *stdmail.Address // sender (required)
	Hostname string           // name given in EHLO and in Message-IDs (default "localhost")
	// Timeout bounds every step: connecting, the greeting, each command,
	// each message (default 30 s). A server that accepts and then hangs
	// costs at most this long.
	Timeout time.Duration
	// TLSConfig is used for STARTTLS and smtps://; nil means the system's
	// roots and the URL's host name. Tests give their own root CAs here.
	TLSConfig *tls.Config
	Now       func() time.Time // Date header clock (default time.Now)
}

// tlsPolicy says what to do when the server offers STARTTLS (or not).
type tlsPolicy int

const (
	tlsOpportunistic tlsPolicy = iota // use STARTTLS when offered
	tlsRequired                       // refuse to send without STARTTLS
	tlsNone                           // never use STARTTLS
	tlsImplicit                       // smtps://: TLS from the first byte
)

// SMTPSender delivers over SMTP. Messages are built by go-mail (MIME tree,
// header encoding); the SMTP conversation is net/smtp driven here, so that
// every step has a deadline, a cancelled context interrupts it, and one
// connection serves a whole batch (RSET after a refused message).
type SMTPSender struct {
	addr, host     string
	user, password string
	policy         tlsPolicy
	opts           SMTPOptions
}

// NewSMTPSender reads smtp://user:pass@host:port (STARTTLS when offered;
// ?tls=required demands it, ?tls=none never uses it) or
// smtps://user:pass@host:465 (implicit TLS).
func NewSMTPSender(rawURL string, opts SMTPOptions) (*SMTPSender, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("smtp url: %w", err)
	}
	if u.Hostname() == "" || (u.Scheme != "smtp" && u.Scheme != "smtps") {
		return nil, errors.New("smtp url: must look like smtp://user:password@host:587 or smtps://host:465")
	}
	if opts.From == nil {
		return nil, errors.New("smtp: no sender address")
	}
	s := &SMTPSender{host: u.Hostname(), opts: opts}
	port := 587
	if u.Scheme == "smtps" {
		port, s.policy = 465, tlsImplicit
	} else {
		switch u.Query().Get("tls") {
		case "", "opportunistic":
			s.policy = tlsOpportunistic
		case "required":
			s.policy = tlsRequired
		case "none":
			s.policy = tlsNone
		default:
			return nil, errors.New("smtp url: tls must be required, opportunistic or none")
		}
	}
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil || port <= 0 || port > 65535 {
			return nil, errors.New("smtp url: bad port")
		}
	}
	s.addr = net.JoinHostPort(s.host, strconv.Itoa(port))
	s.user = u.User.Username()
	s.password, _ = u.User.Password()
	if s.opts.Hostname == "" {
		s.opts.Hostname = "localhost"
	}
	if s.opts.Timeout <= 0 {
		s.opts.Timeout = 30 * time.Second
	}
	if s.opts.Now == nil {
		s.opts.Now = time.Now
	}
	return s, nil
}

// Captures is false: messages really leave.
func (s *SMTPSender) Captures() bool { return false }

// Send delivers msgs over one connection. A message the server refuses
// (4xx/5xx) is reported, the SMTP transaction is reset, and the connection
// goes on with the next message.
func (s *SMTPSender) Send(ctx context.Context, msgs []models.OutboxMessage, done func(models.OutboxMessage, error)) error {
	var sc *smtpConn
	defer func() {
		if sc != nil {
			sc.quit()
		}
	}()
	for _, m := range msgs {
		if err := ctx.Err(); err != nil {
			return err
		}
		msg, err := s.Build(m)
		if err != nil {
			done(m, fmt.Errorf("%w: %v", ErrPermanent, err))
			continue
		}
		if sc == nil {
			if sc, err = s.dial(ctx); err != nil {
				return fmt.Errorf("connect to smtp server %s: %w", s.addr, err)
			}
		}
		err = sc.send(s.opts.From.Address, m.Recipient, msg)
		if err == nil {
			done(m, nil)
			continue
		}
		if !isReply(err) {
			// The connection broke (or timed out) during this message.
			done(m, fmt.Errorf("smtp connection: %w", err))
			sc.close()
			sc = nil
			return fmt.Errorf("smtp connection lost: %w", err)
		}
		done(m, classify(err))
		if err := sc.reset(); err != nil {
			sc.close()
			sc = nil
		}
	}
	return nil
}

// smtpConn is one SMTP session.
type smtpConn struct {
	c       *smtp.Client
	conn    net.Conn
	timeout time.Duration
	stop    func() bool // detaches the context watcher
}

// step gives the next exchange its own deadline.
func (sc *smtpConn) step() { _ = sc.conn.SetDeadline(time.Now().Add(sc.timeout)) }

func (sc *smtpConn) send(from, to string, msg *gomail.Message) error {
	sc.step()
	if err := sc.c.Mail(from); err != nil {
		return err
	}
	sc.step()
	if err := sc.c.Rcpt(to); err != nil {
		return err
	}
	sc.step()
	w, err := sc.c.Data()
	if err != nil {
		return err
	}
	sc.step()
	if _, err := msg.WriteTo(w); err != nil {
		_ = w.Close()
		return err
	}
	sc.step()
	return w.Close()
}

func (sc *smtpConn) reset() error {
	sc.step()
	return sc.c.Reset()
}

// quit ends the session politely, within one step's deadline.
func (sc *smtpConn) quit() {
	sc.step()
	_ = sc.c.Quit()
	sc.close()
}

func (sc *smtpConn) close() {
	sc.stop()
	_ = sc.c.Close()
}

// dial connects, reads the greeting, says EHLO, starts TLS and
// authenticates, each step within the timeout. A cancelled ctx interrupts
// whatever step is running.
func (s *SMTPSender) dial(ctx context.Context) (*smtpConn, error) {
	d := net.Dialer{Timeout: s.opts.Timeout}
	conn, err := d.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return nil, err
	}
	if s.policy == tlsImplicit {
		conn = tls.Client(conn, s.tlsConfig())
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	sc := &smtpConn{conn: conn, timeout: s.opts.Timeout, stop: stop}
	sc.step()
	c, err := smtp.NewClient(conn, s.host) // reads the greeting
	if err != nil {
		stop()
		_ = conn.Close()
		return nil, fmt.Errorf("greeting: %w", err)
	}
	sc.c = c
	fail := func(what string, err error) (*smtpConn, error) {
		sc.close()
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	sc.step()
	if err := c.Hello(s.opts.Hostname); err != nil {
		return fail("EHLO", err)
	}
	if s.policy == tlsOpportunistic || s.policy == tlsRequired {
		if ok, _ := c.Extension("STARTTLS"); ok {
			sc.step()
			if err := c.StartTLS(s.tlsConfig()); err != nil {
				return fail("STARTTLS", err)
			}
		} else if s.policy == tlsRequired {
			return fail("STARTTLS", errors.New("the server does not offer STARTTLS (tls=required)"))
		}
	}
	if s.user != "" {
		ok, mechs := c.Extension("AUTH")
		if !ok {
			return fail("AUTH", errors.New("the server offers no authentication, but the URL has a user"))
		}
		var a smtp.Auth
		if hasWord(mechs, "PLAIN") || !hasWord(mechs, "LOGIN") {
			a = smtp.PlainAuth("", s.user, s.password, s.host)
		} else {
			a = &loginAuth{user: s.user, password: s.password, host: s.host}
		}
		sc.step()
		if err := c.Auth(a); err != nil {
			return fail("AUTH", err)
		}
	}
	return sc, nil
}

func (s *SMTPSender) tlsConfig() *tls.Config {
	if s.opts.TLSConfig == nil {
		return &tls.Config{ServerName: s.host, MinVersion: tls.VersionTLS12}
	}
	c := s.opts.TLSConfig.Clone()
	if c.ServerName == "" {
		c.ServerName = s.host
	}
	return c
}

func hasWord(list, word string) bool {
	for _, w := range strings.Fields(list) {
		if strings.EqualFold(w, word) {
			return true
		}
	}
	return false
}

// loginAuth is the AUTH LOGIN mechanism (Microsoft 365 and some relays
// offer only this one). Like net/smtp's PLAIN, it refuses to send the
// password in clear text except to localhost.
type loginAuth struct{ user, password, host string }

func (a *loginAuth) Start(server *smtp.ServerInfo) (string, []byte, error) {
	if !server.TLS && server.Name != "localhost" && server.Name != "127.0.0.1" && server.Name != "::1" {
		return "", nil, errors.New("unencrypted connection")
	}
	if server.Name != a.host {
		return "", nil, errors.New("wrong host name")
	}
	return "LOGIN", nil, nil
}

func (a *loginAuth) Next(fromServer []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	switch q := strings.ToLower(strings.TrimSpace(string(fromServer))); {
	case strings.HasPrefix(q, "user"):
		return []byte(a.user), nil
	case strings.HasPrefix(q, "pass"):
		return []byte(a.password), nil
	}
	return nil, fmt.Errorf("unexpected AUTH LOGIN challenge %q", fromServer)
}

// Build turns an outbox message into a MIME message: multipart/mixed holding
// multipart/alternative (text/plain, text/html, text/calendar with the
// method), and the same calendar attached as invitation.ics. A message with
// an inline QR code has, in place of text/html, a multipart/related of the
// HTML and the image it shows by Content-ID (drawn here, at delivery).
// Headers are encoded by go-mail; a recipient or subject that could inject
// a header is refused here, whatever reached the outbox.
func (s *SMTPSender) Build(m models.OutboxMessage) (*gomail.Message, error) {
	if err := checkRecipient(m.Recipient); err != nil {
		return nil, err
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		return nil, errors.New("line break in the subject")
	}
	msg := gomail.NewMessage()
	msg.SetAddressHeader("From", s.opts.From.Address, s.opts.From.Name)
	msg.SetHeader("To", m.Recipient)
	// Spaces around a header value do not survive the trip (a reader
	// trims them): leave them out rather than send what reads differently.
	msg.SetHeader("Subject", strings.TrimSpace(m.Subject))
	msg.SetHeader("Message-ID", "<"+m.ID+"@"+s.opts.Hostname+">")
	msg.SetHeader("Auto-Submitted", "auto-generated")
	msg.SetDateHeader("Date", s.opts.Now())
	msg.SetBody("text/plain", m.TextBody)
	switch {
	case m.HTMLBody != "" && m.InlineQR != "":
		// go-mail nests multipart/related outside the alternative, which
		// puts the calendar in it too; the related part is built here and
		// given to go-mail as one alternative, unencoded (it is 7-bit
		// already). go-mail adds "; charset=UTF-8" to its Content-Type, a
		// parameter readers ignore on a multipart.
		ct, body, err := relatedHTML(m.HTMLBody, m.InlineQR)
		if err != nil {
			return nil, err
		}
		msg.AddAlternative(ct, body, gomail.SetPartEncoding(gomail.Unencoded))
	case m.HTMLBody != "":
		msg.AddAlternative("text/html", m.HTMLBody)
	}
	if m.ICSBody != "" {
		method := strings.ToUpper(m.ICSMethod)
		if method == "" || strings.Trim(method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ-") != "" {
			return nil, fmt.Errorf("bad calendar method %q", m.ICSMethod)
		}
		msg.AddAlternative("text/calendar; method="+method, m.ICSBody, gomail.SetPartEncoding(gomail.Base64))
		msg.AttachReader("invitation.ics", strings.NewReader(m.ICSBody), gomail.SetHeader(map[string][]string{
			"Content-Type": {`application/ics; name="invitation.ics"`},
		}))
	}
	return msg, nil
}

// checkRecipient accepts one bare address and nothing else.
func checkRecipient(to string) error {
	a, err := stdmail.ParseAddress(to)
	if err != nil || a.Address != to || a.Name != "" || strings.ContainsAny(to, "\r\n") {
		return fmt.Errorf("invalid recipient %q", to)
	}
	return nil
}

// isReply tells an SMTP reply about this one message (the connection is
// still usable) from a broken, refused or timed-out connection.
func isReply(err error) bool {
	var tp *textproto.Error
	return errors.As(err, &tp)
}

// classify marks 5xx replies as permanent.
func classify(err error) error {
	var tp *textproto.Error
	if errors.As(err, &tp) && tp.Code >= 500 {
		return fmt.Errorf("%w: %v", ErrPermanent, err)
	}
	return err
}

// CaptureSender keeps messages in the outbox (development, no SMTP).
type CaptureSender struct{}

// Captures is true.
func (CaptureSender) Captures() bool { return true }

// Send accepts every message.
func (CaptureSender) Send(_ context.Context, msgs []models.OutboxMessage, done func(models.OutboxMessage, error)) error {
	for _, m := range msgs {
		done(m, nil)
	}
	return nil
}

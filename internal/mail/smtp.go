package mail

import (
	"context"
	"errors"
	"fmt"
	stdmail "net/mail"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"

	gomail "github.com/go-mail/mail/v2"

	"github.com/dnum-sociaux/agora/models"
)

// ErrPermanent marks a delivery the server refused for good (5xx).
var ErrPermanent = errors.New("permanent failure")

// Sender delivers messages. Send calls done once for each message it tried,
// in order, and stops early returning an error when the connection to the
// server is lost or cannot be made (the rest were not tried).
type Sender interface {
	Send(ctx context.Context, msgs []models.OutboxMessage, done func(m models.OutboxMessage, err error)) error
	Captures() bool // true when messages are kept rather than sent
}

// SMTPSender delivers over SMTP with go-mail, reusing one connection for a batch.
type SMTPSender struct {
	dialer   *gomail.Dialer
	from     *stdmail.Address
	hostname string
	now      func() time.Time
}

// NewSMTPSender reads smtp://user:pass@host:port (STARTTLS when offered;
// ?tls=required demands it) or smtps://host:465 (implicit TLS).
func NewSMTPSender(rawURL string, from *stdmail.Address, hostname string, now func() time.Time) (*SMTPSender, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("smtp url: %w", err)
	}
	port := 587
	if u.Scheme == "smtps" {
		port = 465
	}
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil {
			return nil, fmt.Errorf("smtp url port: %w", err)
		}
	}
	pass, _ := u.User.Password()
	d := gomail.NewDialer(u.Hostname(), port, u.User.Username(), pass)
	d.SSL = u.Scheme == "smtps"
	d.Timeout = 15 * time.Second
	d.RetryFailure = false // the outbox retries, with backoff
	d.LocalName = hostname
	switch u.Query().Get("tls") {
	case "required":
		d.StartTLSPolicy = gomail.MandatoryStartTLS
	case "none":
		d.StartTLSPolicy = gomail.NoStartTLS
	default:
		d.StartTLSPolicy = gomail.OpportunisticStartTLS
	}
	if now == nil {
		now = time.Now
	}
	return &SMTPSender{dialer: d, from: from, hostname: hostname, now: now}, nil
}

// Captures is false: messages really leave.
func (s *SMTPSender) Captures() bool { return false }

// Send delivers msgs over one connection. A refused message closes the
// connection (the SMTP transaction is left half-open) and the next one redials.
func (s *SMTPSender) Send(ctx context.Context, msgs []models.OutboxMessage, done func(models.OutboxMessage, error)) error {
	var conn gomail.SendCloser
	defer func() {
		if conn != nil {
			_ = conn.Close()
		}
	}()
	for _, m := range msgs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if conn == nil {
			c, err := s.dialer.Dial()
			if err != nil {
				return fmt.Errorf("connect to smtp server: %w", err)
			}
			conn = c
		}
		err := gomail.Send(conn, s.Build(m))
		if err == nil {
			done(m, nil)
			continue
		}
		if isConnectionError(err) {
			return fmt.Errorf("smtp connection: %w", err)
		}
		_ = conn.Close()
		conn = nil
		done(m, classify(err))
	}
	return nil
}

// Build turns an outbox message into a MIME message: multipart/mixed holding
// multipart/alternative (text/plain, text/html, text/calendar with the
// method), and the same calendar attached as invitation.ics.
func (s *SMTPSender) Build(m models.OutboxMessage) *gomail.Message {
	msg := gomail.NewMessage()
	msg.SetAddressHeader("From", s.from.Address, s.from.Name)
	msg.SetHeader("To", m.Recipient)
	msg.SetHeader("Subject", m.Subject)
	msg.SetHeader("Message-ID", "<"+m.ID+"@"+s.hostname+">")
	msg.SetHeader("Auto-Submitted", "auto-generated")
	msg.SetDateHeader("Date", s.now())
	msg.SetBody("text/plain", m.TextBody)
	if m.HTMLBody != "" {
		msg.AddAlternative("text/html", m.HTMLBody)
	}
	if m.ICSBody != "" {
		method := strings.ToUpper(m.ICSMethod)
		msg.AddAlternative("text/calendar; method="+method, m.ICSBody, gomail.SetPartEncoding(gomail.Base64))
		ics := m.ICSBody
		msg.AttachReader("invitation.ics", strings.NewReader(ics), gomail.SetHeader(map[string][]string{
			"Content-Type": {`application/ics; name="invitation.ics"`},
		}))
	}
	return msg
}

// isConnectionError tells a lost or refused connection (retry everything
// later) from an SMTP reply about this one message.
func isConnectionError(err error) bool {
	var tp *textproto.Error
	return !errors.As(err, &tp)
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

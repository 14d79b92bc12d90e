package harness

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/mail"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// SMTPMode is how the test SMTP server answers.
type SMTPMode int

const (
	SMTPAccept SMTPMode = iota // take every message
	SMTPRefuse                 // answer 421 to every new session (server busy)
)

// Received is one message the SMTP server accepted.
type Received struct {
	From      string
	To        []string
	MessageID string
	Subject   string
	Body      []byte // the whole message, headers included
	At        time.Time
}

// SMTPServer is a real SMTP server (go-smtp) on loopback that keeps what it
// receives. It can be switched to refusing sessions, stopped (port closed)
// and started again on the same port, and it refuses for good (550) any
// recipient listed in RejectRecipients.
type SMTPServer struct {
	Addr string

	mu         sync.Mutex
	mode       SMTPMode
	reject     map[string]bool
	received   []Received
	sessions   []time.Time // when each connection asked for a session (accepted or refused)
	seen       map[*smtp.Conn]bool
	srv        *smtp.Server
	notify     chan struct{}
	listenerUp bool
}

// StartSMTP starts an accepting server on a free loopback port.
func StartSMTP() (*SMTPServer, error) {
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	s := &SMTPServer{Addr: addr, reject: map[string]bool{}, notify: make(chan struct{}, 1)}
	return s, s.Up()
}

// NewSMTPDown reserves a port for a server that is not listening yet.
func NewSMTPDown() (*SMTPServer, error) {
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	return &SMTPServer{Addr: addr, reject: map[string]bool{}, notify: make(chan struct{}, 1)}, nil
}

// URL is the AGORA_SMTP_URL that reaches this server (no TLS on loopback).
func (s *SMTPServer) URL() string { return "smtp://" + s.Addr + "?tls=none" }

// Up (re)starts listening on the server's port.
func (s *SMTPServer) Up() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listenerUp {
		return nil
	}
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ { // the port may linger a moment after Down
		if ln, err = net.Listen("tcp", s.Addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = "smtp.test"
	srv.MaxMessageBytes = 10 << 20
	srv.MaxRecipients = 10
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	srv.AllowInsecureAuth = true
	srv.ErrorLog = discardLogger{}
	s.srv = srv
	s.listenerUp = true
	go func() { _ = srv.Serve(ln) }()
	return nil
}

// Down closes the port and every open connection: the server is gone.
func (s *SMTPServer) Down() error {
	s.mu.Lock()
	srv := s.srv
	s.srv, s.listenerUp = nil, false
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	return srv.Close()
}

// SetMode switches between accepting and refusing new sessions.
func (s *SMTPServer) SetMode(m SMTPMode) {
	s.mu.Lock()
	s.mode = m
	s.mu.Unlock()
}

// RejectRecipient makes every message to addr fail with 550 (permanent).
func (s *SMTPServer) RejectRecipient(addr string) {
	s.mu.Lock()
	s.reject[strings.ToLower(addr)] = true
	s.mu.Unlock()
}

// Received returns a copy of every accepted message, in order of arrival.
func (s *SMTPServer) Received() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.received...)
}

// Count is how many messages were accepted.
func (s *SMTPServer) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.received)
}

// Sessions returns when each connection asked for a session, refused ones included.
func (s *SMTPServer) Sessions() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.sessions...)
}

// WaitCount waits until at least n messages were accepted.
func (s *SMTPServer) WaitCount(n int, timeout time.Duration) bool {
	deadline := time.After(timeout)
	for {
		if s.Count() >= n {
			return true
		}
		select {
		case <-s.notify:
		case <-deadline:
			return s.Count() >= n
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Close stops the server.
func (s *SMTPServer) Close() error { return s.Down() }

func (s *SMTPServer) newSession(c *smtp.Conn) (smtp.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// A refused EHLO is retried as HELO on the same connection: count
	// connections, not greetings.
	if s.seen == nil {
		s.seen = map[*smtp.Conn]bool{}
	}
	if !s.seen[c] {
		s.seen[c] = true
		s.sessions = append(s.sessions, time.Now())
	}
	if s.mode == SMTPRefuse {
		return nil, &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "Service temporarily unavailable"}
	}
	return &smtpSession{srv: s}, nil
}

type smtpSession struct {
	srv  *SMTPServer
	from string
	to   []string
}

func (ss *smtpSession) Reset()        { ss.from, ss.to = "", nil }
func (ss *smtpSession) Logout() error { return nil }

func (ss *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	ss.from = from
	return nil
}

func (ss *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.srv.mu.Lock()
	rejected := ss.srv.reject[strings.ToLower(to)]
	ss.srv.mu.Unlock()
	if rejected {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user here"}
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *smtpSession) Data(r io.Reader) error {
	body, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	rec := Received{From: ss.from, To: append([]string(nil), ss.to...), Body: body, At: time.Now()}
	if m, err := mail.ReadMessage(bytes.NewReader(body)); err == nil {
		rec.MessageID = m.Header.Get("Message-Id")
		rec.Subject, _ = new(mimeDecoder).DecodeHeader(m.Header.Get("Subject"))
	} else {
		return errors.New("unreadable message")
	}
	ss.srv.mu.Lock()
	ss.srv.received = append(ss.srv.received, rec)
	ss.srv.mu.Unlock()
	select {
	case ss.srv.notify <- struct{}{}:
	default:
	}
	return nil
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}
func (discardLogger) Println(...any)        {}

package mail_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// received is one message as the SMTP server got it.
type received struct {
	From string
	To   []string
	Data []byte
	TLS  bool   // the session was encrypted
	User string // who authenticated ("" when nobody)
}

// smtpServer is a real SMTP server (emersion/go-smtp) started in the test
// process. It records what it receives and answers as the test says.
type smtpServer struct {
	t    *testing.T
	Addr string // host:port

	// Reply, when set, decides the answer to each message's data: nil
	// accepts it, an *smtp.SMTPError refuses it with that code.
	Reply func(n int, to string) error
	// HangData, when set, makes the server read a message and never answer.
	HangData chan struct{}

	tlsConfig *tls.Config
	implicit  bool
	host      string
	users     map[string]string

	mu       sync.Mutex
	srv      *smtp.Server
	ln       net.Listener
	conns    int
	msgs     []received
	attempts int
}

type serverOption func(*smtpServer)

// withSTARTTLS offers STARTTLS with a self-signed certificate for 127.0.0.1.
func withSTARTTLS(cert tls.Certificate) serverOption {
	return func(s *smtpServer) { s.tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}} }
}

// withImplicitTLS speaks TLS from the first byte (smtps).
func withImplicitTLS(cert tls.Certificate) serverOption {
	return func(s *smtpServer) {
		s.tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		s.implicit = true
	}
}

// withListenHost listens on another loopback address than 127.0.0.1.
func withListenHost(host string) serverOption {
	return func(s *smtpServer) { s.host = host }
}

// withAuth requires AUTH PLAIN with one of these users before MAIL.
func withAuth(users map[string]string) serverOption {
	return func(s *smtpServer) { s.users = users }
}

// newSMTPServer starts a server on a free loopback port; it stops with the test.
func newSMTPServer(t *testing.T, opts ...serverOption) *smtpServer {
	t.Helper()
	s := &smtpServer{t: t, host: "127.0.0.1"}
	for _, o := range opts {
		o(s)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(s.host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = ln.Addr().String()
	s.serve(ln)
	t.Cleanup(s.Stop)
	return s
}

// Port is the server's TCP port.
func (s *smtpServer) Port() string {
	_, p, _ := net.SplitHostPort(s.Addr)
	return p
}

func (s *smtpServer) serve(ln net.Listener) {
	if s.implicit {
		ln = tls.NewListener(ln, s.tlsConfig)
	}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		s.mu.Lock()
		s.conns++
		s.mu.Unlock()
		return &session{s: s, c: c}, nil
	}))
	srv.Domain = "smtp.test"
	srv.AllowInsecureAuth = s.tlsConfig == nil
	if !s.implicit {
		srv.TLSConfig = s.tlsConfig
	}
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0)
	s.mu.Lock()
	s.srv, s.ln = srv, ln
	s.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

// Stop closes the server: connections to its port are then refused.
func (s *smtpServer) Stop() {
	s.mu.Lock()
	srv, ln := s.srv, s.ln
	s.srv, s.ln = nil, nil
	s.mu.Unlock()
	if ln != nil {
		_ = ln.Close() // Serve may not have registered it yet
	}
	if s.HangData != nil {
		select {
		case <-s.HangData:
		default:
			close(s.HangData)
		}
	}
	if srv != nil {
		_ = srv.Close()
	}
}

// Start serves again on the same port (after Stop).
func (s *smtpServer) Start() {
	s.t.Helper()
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		s.t.Fatalf("listen again on %s: %v", s.Addr, err)
	}
	s.serve(ln)
}

// Messages returns what was received so far.
func (s *smtpServer) Messages() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.msgs...)
}

// Conns counts the SMTP sessions opened so far.
func (s *smtpServer) Conns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

type session struct {
	s     *smtpServer
	c     *smtp.Conn
	from  string
	to    []string
	user  string
	authd bool
}

func (ss *session) AuthMechanisms() []string {
	if ss.s.users == nil {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if want, ok := ss.s.users[user]; !ok || want != pass {
			return smtp.ErrAuthFailed
		}
		ss.user, ss.authd = user, true
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.users != nil && !ss.authd {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s := ss.s
	if s.HangData != nil {
		<-s.HangData
		return errors.New("server stopped")
	}
	s.mu.Lock()
	s.attempts++
	n := s.attempts
	s.mu.Unlock()
	if s.Reply != nil {
		if err := s.Reply(n, ss.to[0]); err != nil {
			return err
		}
	}
	_, isTLS := ss.c.TLSConnectionState()
	s.mu.Lock()
	s.msgs = append(s.msgs, received{From: ss.from, To: append([]string(nil), ss.to...), Data: bytes.Clone(b), TLS: isTLS, User: ss.user})
	s.mu.Unlock()
	return nil
}

func (ss *session) Reset()        { ss.from, ss.to = "", nil }
func (ss *session) Logout() error { return nil }

// refuse is an SMTP error reply.
func refuse(code int, msg string) error {
	return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{code / 100, 0, 0}, Message: msg}
}

// selfSigned makes a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "smtp.test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, pool
}

// hangingServer accepts connections and never says a word.
func hangingServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return ln.Addr().String()
}

// freePort returns a loopback port nobody listens on.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return strconv.Itoa(port)
}

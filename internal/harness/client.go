package harness

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"
)

type mimeDecoder = mime.WordDecoder

// Browser talks to Agora like a browser: a cookie jar, the CSRF token sent
// back with forms, redirects not followed (tests look at them).
type Browser struct {
	Base string
	HTTP *http.Client
}

// Page is a response with its body read.
type Page struct {
	Status int
	Header http.Header
	Body   string
}

// NewBrowser returns a browser for the Agora at base.
func NewBrowser(base string) *Browser {
	jar, _ := cookiejar.New(nil)
	return &Browser{Base: strings.TrimRight(base, "/"), HTTP: &http.Client{
		Jar:           jar,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Get loads path.
func (b *Browser) Get(path string) (Page, error) {
	req, err := http.NewRequest(http.MethodGet, b.abs(path), nil)
	if err != nil {
		return Page{}, err
	}
	return b.Do(req)
}

// Do sends req and reads the answer.
func (b *Browser) Do(req *http.Request) (Page, error) {
	resp, err := b.HTTP.Do(req)
	if err != nil {
		return Page{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return Page{Status: resp.StatusCode, Header: resp.Header, Body: string(body)}, err
}

func (b *Browser) abs(path string) string {
	if strings.HasPrefix(path, "http://") || strings.HasPrefix(path, "https://") {
		return path
	}
	return b.Base + path
}

var csrfInputRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// CSRF returns the browser's form token, loading /login first if needed.
func (b *Browser) CSRF() (string, error) {
	if v := b.Cookie("agora_csrf"); v != "" {
		return v, nil
	}
	p, err := b.Get("/login")
	if err != nil {
		return "", err
	}
	m := csrfInputRE.FindStringSubmatch(p.Body)
	if m == nil {
		return "", fmt.Errorf("no CSRF token on /login (status %d)", p.Status)
	}
	return m[1], nil
}

// Cookie returns the value of the named cookie for Agora, or "".
func (b *Browser) Cookie(name string) string {
	u, _ := url.Parse(b.Base)
	for _, c := range b.HTTP.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// Post submits a form with the CSRF token, from Agora's own origin.
func (b *Browser) Post(path string, form url.Values) (Page, error) {
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf_token"]; !ok {
		token, err := b.CSRF()
		if err != nil {
			return Page{}, err
		}
		form.Set("csrf_token", token)
	}
	req, err := http.NewRequest(http.MethodPost, b.abs(path), strings.NewReader(form.Encode()))
	if err != nil {
		return Page{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.Base)
	return b.Do(req)
}

// LoginWithLink uses a magic link (absolute or path): shows it, then posts
// its "Se connecter" form. It returns the redirect target.
func (b *Browser) LoginWithLink(link string) (string, error) {
	p, err := b.Post(link, nil)
	if err != nil {
		return "", err
	}
	if p.Status != http.StatusSeeOther {
		return "", fmt.Errorf("POST %s: status %d", link, p.Status)
	}
	return p.Header.Get("Location"), nil
}

// SessionCookie is the browser's login session cookie, for load scenarios
// that replay it without a jar.
func (b *Browser) SessionCookie() string { return b.Cookie("agora_session") }

package handlers

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/dnum-sociaux/agora/internal/form"
	"github.com/dnum-sociaux/agora/models"
)

// Layout is embedded in every page's data: what the layout template needs.
type Layout struct {
	Title       string
	User        *models.User
	CSRFToken   string
	Flash       *Flash
	Breadcrumbs []Crumb
	Nav         string
}

// Flash is a one-time message shown on the next page.
type Flash struct {
	Kind    string `json:"k"` // success, error, info, warning
	Title   string `json:"t,omitempty"`
	Message string `json:"m"`
}

// Crumb is one step of the breadcrumb.
type Crumb struct {
	Label, URL string
}

// layout fills the common page data for this request.
func (s *Server) layout(c *gin.Context, title, nav string, crumbs ...Crumb) Layout {
	return Layout{
		Title:       title,
		User:        currentUser(c),
		CSRFToken:   c.GetString(ctxCSRF),
		Flash:       s.takeFlash(c),
		Breadcrumbs: crumbs,
		Nav:         nav,
	}
}

// render writes a page; a template error becomes a clean 500.
func (s *Server) render(c *gin.Context, status int, page string, data any) {
	if err := s.Render.Page(c.Writer, status, page, data); err != nil {
		s.log(c).Error("render page", "page", page, "error", err)
		s.errorPage(c, http.StatusInternalServerError, "")
	}
}

// errorPage is the page for data, the DSFR error page for statuses.
type errorPage struct {
	Layout
	Status  int
	Heading string
	Message string
	Action  Crumb // a button leading on (label and URL), when set
}

var errorTexts = map[int][2]string{
	http.StatusBadRequest:            {"Requête invalide", "La demande envoyée n'a pas pu être comprise."},
	http.StatusForbidden:             {"Accès refusé", "Vous n'avez pas les droits nécessaires pour voir cette page ou faire cette action."},
	http.StatusNotFound:              {"Page non trouvée", "La page que vous cherchez est introuvable. Excusez-nous pour la gêne occasionnée."},
	http.StatusMethodNotAllowed:      {"Action non permise", "Cette adresse n'accepte pas ce type de requête."},
	http.StatusGone:                  {"Lien expiré", "Ce lien n'est plus valable."},
	http.StatusRequestEntityTooLarge: {"Envoi trop volumineux", "Les données envoyées dépassent la taille autorisée. Réduisez-les et recommencez."},
	http.StatusTooManyRequests:       {"Trop de demandes", "Vous avez fait trop de demandes en peu de temps. Patientez quelques minutes avant de recommencer."},
	http.StatusInternalServerError:   {"Erreur inattendue", "Désolé, le service rencontre un problème. Nous y travaillons ; réessayez dans quelques instants."},
	http.StatusServiceUnavailable:    {"Service indisponible", "Agora est momentanément indisponible (base de données injoignable). Réessayez dans quelques instants."},
}

// errorPage answers with the DSFR error page for status; msg replaces the
// default explanation when not empty.
func (s *Server) errorPage(c *gin.Context, status int, msg string) {
	s.errorPageAction(c, status, msg, Crumb{})
}

// errorPageAction is errorPage with a button to action first.
func (s *Server) errorPageAction(c *gin.Context, status int, msg string, action Crumb) {
	t, ok := errorTexts[status]
	if !ok {
		t = [2]string{http.StatusText(status), ""}
	}
	if msg == "" {
		msg = t[1]
	}
	data := errorPage{Layout: s.layout(c, t[0], ""), Status: status, Heading: t[0], Message: msg, Action: action}
	if err := s.Render.Page(c.Writer, status, "error", data); err != nil {
		s.log(c).Error("render error page", "error", err)
		c.Writer.Header().Set("Content-Type", "text/plain; charset=utf-8")
		c.Writer.WriteHeader(status)
		_, _ = c.Writer.WriteString(t[0] + "\n")
	}
	c.Abort()
}

// --- flash messages: a signed cookie read once ---

const flashCookie = "agora_flash"

func (s *Server) setFlash(c *gin.Context, kind, title, message string) {
	b, _ := json.Marshal(Flash{Kind: kind, Title: title, Message: message})
	v := base64.RawURLEncoding.EncodeToString(b)
	s.setCookie(c, flashCookie, v+"."+s.sign(v), 0)
}

func (s *Server) takeFlash(c *gin.Context) *Flash {
	raw, err := c.Cookie(flashCookie)
	if err != nil || raw == "" {
		return nil
	}
	s.clearCookie(c, flashCookie)
	v, sig, ok := strings.Cut(raw, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(s.sign(v))) {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		return nil
	}
	var f Flash
	if json.Unmarshal(b, &f) != nil {
		return nil
	}
	return &f
}

func (s *Server) sign(v string) string {
	m := hmac.New(sha256.New, s.Config.SecretKey)
	m.Write([]byte("flash:" + v))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// redirectWithFlash is the end of a successful POST.
func (s *Server) redirectWithFlash(c *gin.Context, to, kind, message string) {
	s.setFlash(c, kind, "", message)
	c.Redirect(http.StatusSeeOther, to)
}

// safeNext keeps a redirect target on this site: a path such as
// "/groups?x=1", never "//host", "/\\host", "https://host" or anything a
// browser could read as another site once it drops tabs and line breaks.
func safeNext(next string) string {
	if next == "" || next[0] != '/' || len(next) > 2000 ||
		strings.ContainsAny(next, "\\") || strings.ContainsFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || strings.HasPrefix(u.Path, "//") || strings.HasPrefix(next, "//") {
		return "/"
	}
	return next
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// formPage is the common shape of a page holding one form.
type formPage[F any] struct {
	Layout
	Form   F
	Errors form.Errors
}

package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/dnum-sociaux/agora/internal/form"
	"github.com/dnum-sociaux/agora/internal/mail"
	"github.com/dnum-sociaux/agora/internal/render"
	"github.com/dnum-sociaux/agora/models"
)

const adminPageSize = 50

var adminCrumb = Crumb{Label: "Administration", URL: "/admin"}

// Pager is the position in a paginated list.
type Pager struct {
	Page, Pages, Total int
	Query              url.Values // the filters, kept in page links
}

// URL is the link to page n with the same filters.
func (p Pager) URL(n int) string {
	q := url.Values{}
	for k, v := range p.Query {
		q[k] = v
	}
	q.Set("page", strconv.Itoa(n))
	return "?" + q.Encode()
}

func pager(c *gin.Context, total int, keep ...string) (Pager, int) {
	page, _ := strconv.Atoi(c.Query("page"))
	pages := max((total+adminPageSize-1)/adminPageSize, 1)
	page = min(max(page, 1), pages)
	q := url.Values{}
	for _, k := range keep {
		if v := c.Query(k); v != "" {
			q.Set(k, v)
		}
	}
	return Pager{Page: page, Pages: pages, Total: total, Query: q}, (page - 1) * adminPageSize
}

// paginate fetches the page of a list asked for in the query string. list
// takes a limit and an offset and returns the items with how many match in
// all; a page past the end shows the last one. keep names the filters kept in
// the page links.
func paginate[T any](c *gin.Context, list func(limit, offset int) ([]T, int, error), keep ...string) ([]T, Pager, error) {
	page, _ := strconv.Atoi(c.Query("page"))
	page = max(page, 1)
	items, total, err := list(adminPageSize, (page-1)*adminPageSize)
	if err != nil {
		return nil, Pager{}, err
	}
	p, offset := pager(c, total, keep...)
	if p.Page != page {
		if items, _, err = list(adminPageSize, offset); err != nil {
			return nil, Pager{}, err
		}
	}
	return items, p, nil
}

type adminIndexPage struct {
	Layout
	Users                   int
	MailPending, MailFailed int
}

func (s *Server) adminIndex(c *gin.Context) {
	ctx := c.Request.Context()
	_, users, err := s.Store.ListUsers(ctx, models.UserFilter{Limit: 1})
	if err != nil {
		s.serverError(c, "count users", err)
		return
	}
	counts, err := s.Store.OutboxCounts(ctx)
	if err != nil {
		s.serverError(c, "count outbox", err)
		return
	}
	s.render(c, http.StatusOK, "admin_index", adminIndexPage{
		Layout: s.layout(c, "Administration", "admin", Crumb{Label: "Administration"}),
		Users:  users, MailPending: counts[models.MailPending], MailFailed: counts[models.MailFailed],
	})
}

// --- users ---

type adminUsersPage struct {
	Layout
	Users      []models.User
	Query      string
	Role       string
	Roles      []models.Role
	Directions map[string]string
	Pager      Pager
}

func (s *Server) adminUsers(c *gin.Context) {
	ctx := c.Request.Context()
	f := models.UserFilter{Query: c.Query("q"), Role: models.Role(c.Query("role"))}
	if f.Role != "" && !f.Role.Valid() {
		f.Role = ""
	}
	users, p, err := paginate(c, func(limit, offset int) ([]models.User, int, error) {
		f.Limit, f.Offset = limit, offset
		return s.Store.ListUsers(ctx, f)
	}, "q", "role")
	if err != nil {
		s.serverError(c, "list users", err)
		return
	}
	s.render(c, http.StatusOK, "admin_users", adminUsersPage{
		Layout: s.layout(c, "Utilisateurs", "admin", adminCrumb, Crumb{Label: "Utilisateurs"}),
		Users:  users, Query: f.Query, Role: string(f.Role), Roles: models.Roles, Pager: p,
	})
}

// userForm creates an account from the admin.
type userForm struct {
	Email     string
	Name      string
	Direction string
	Role      string
}

// Validate checks every field; directions must exist.
func (f *userForm) Validate(dirs []models.Direction) form.Errors {
	var errs form.Errors
	f.Email = errs.Email("email", f.Email)
	f.Name = errs.Text("name", f.Name, true, 100)
	f.Direction = models.NormaliseDirectionCode(f.Direction)
	if f.Direction != "" && !hasDirection(dirs, f.Direction) {
		errs.Add("direction", "Cette direction n'existe pas.")
	}
	if !models.Role(f.Role).Valid() {
		errs.Add("role", "Choisissez un rôle dans la liste.")
	}
	return errs
}

// directionOptions lists directions for a select.
func directionOptions(dirs []models.Direction) []render.Option {
	out := make([]render.Option, len(dirs))
	for i, d := range dirs {
		out[i] = render.Option{Value: d.Code, Label: d.Code + " — " + d.Name}
	}
	return out
}

// roleOptions lists roles for a select.
func roleOptions() []render.Option {
	out := make([]render.Option, len(models.Roles))
	for i, r := range models.Roles {
		out[i] = render.Option{Value: string(r), Label: r.Label()}
	}
	return out
}

// checked reads a checkbox: DSFR partials send "true", plain ones "on".
func checked(c *gin.Context, name string) bool {
	v := c.PostForm(name)
	return v == "true" || v == "on"
}

func hasDirection(dirs []models.Direction, code string) bool {
	for _, d := range dirs {
		if d.Code == code && d.Active {
			return true
		}
	}
	return false
}

type adminUserNewPage struct {
	Layout
	Form       userForm
	Errors     form.Errors
	Directions []render.Option
	Roles      []render.Option
}

func (s *Server) adminUserNew(c *gin.Context) {
	s.renderUserNew(c, http.StatusOK, userForm{Role: string(models.RoleAgent)}, nil)
}

func (s *Server) renderUserNew(c *gin.Context, status int, f userForm, errs form.Errors) {
	dirs, err := s.Store.ListDirections(c.Request.Context(), false)
	if err != nil {
		s.serverError(c, "list directions", err)
		return
	}
	s.render(c, status, "admin_user_new", adminUserNewPage{
		Layout: s.layout(c, "Ajouter un utilisateur", "admin", adminCrumb, Crumb{Label: "Utilisateurs", URL: "/admin/users"}, Crumb{Label: "Ajouter"}),
		Form:   f, Errors: errs, Directions: directionOptions(dirs), Roles: roleOptions(),
	})
}

func (s *Server) adminUserCreate(c *gin.Context) {
	ctx := c.Request.Context()
	f := userForm{Email: c.PostForm("email"), Name: c.PostForm("name"), Direction: c.PostForm("direction"), Role: c.PostForm("role")}
	dirs, err := s.Store.ListDirections(ctx, false)
	if err != nil {
		s.serverError(c, "list directions", err)
		return
	}
	errs := f.Validate(dirs)
	if !errs.Any() {
		err = s.Store.Tx(ctx, func(tx *models.Tx) error {
			u, err := tx.CreateUser(ctx, models.NewUser{Email: f.Email, Name: f.Name, DirectionCode: f.Direction, Role: models.Role(f.Role)})
			if err != nil {
				return err
			}
			return tx.Audit(ctx, actor(c), "user.create", "user", u.ID, "rôle "+f.Role)
		})
		if errors.Is(err, models.ErrConflict) {
			errs.Add("email", "Un compte existe déjà avec cette adresse.")
		} else if err != nil {
			s.serverError(c, "create user", err)
			return
		}
	}
	if errs.Any() {
		s.renderUserNew(c, http.StatusUnprocessableEntity, f, errs)
		return
	}
	s.redirectWithFlash(c, "/admin/users?q="+url.QueryEscape(f.Email), "success", "Le compte de "+f.Email+" est créé.")
}

func (s *Server) adminUserRole(c *gin.Context) {
	ctx := c.Request.Context()
	id := c.Param("id")
	role := models.Role(c.PostForm("role"))
	if !role.Valid() {
		s.errorPage(c, http.StatusBadRequest, "Ce rôle n'existe pas.")
		return
	}
	err := s.Store.Tx(ctx, func(tx *models.Tx) error {
		u, err := tx.UserByID(ctx, id)
		if err != nil {
			return err
		}
		if err := tx.SetRole(ctx, id, role); err != nil {
			return err
		}
		return tx.Audit(ctx, actor(c), "user.role", "user", id, string(u.Role)+" → "+string(role))
	})
	switch {
	case errors.Is(err, models.ErrNotFound):
		s.notFound(c)
	case errors.Is(err, models.ErrLastAdmin):
		s.redirectWithFlash(c, "/admin/users", "error", "Impossible : Agora doit garder au moins un administrateur.")
	case err != nil:
		s.serverError(c, "set role", err)
	default:
		s.redirectWithFlash(c, "/admin/users", "success", "Le rôle est modifié.")
	}
}

// --- directions ---

type directionForm struct {
	Code   string
	Name   string
	Active bool
}

// Validate checks the code (letters, digits, dash; 2 to 12) and the name.
func (f *directionForm) Validate() form.Errors {
	var errs form.Errors
	f.Code = models.NormaliseDirectionCode(f.Code)
	if len(f.Code) < 2 || len(f.Code) > 12 || strings.Trim(f.Code, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != "" {
		errs.Add("code", "Le sigle compte de 2 à 12 lettres majuscules, chiffres ou tirets, par exemple DGCS.")
	}
	f.Name = errs.Text("name", f.Name, true, 200)
	return errs
}

type adminDirectionsPage struct {
	Layout
	Directions []models.Direction
	Form       directionForm
	Errors     form.Errors
}

func (s *Server) adminDirections(c *gin.Context) {
	s.renderDirections(c, http.StatusOK, directionForm{Active: true}, nil)
}

func (s *Server) renderDirections(c *gin.Context, status int, f directionForm, errs form.Errors) {
	dirs, err := s.Store.ListDirections(c.Request.Context(), true)
	if err != nil {
		s.serverError(c, "list directions", err)
		return
	}
	s.render(c, status, "admin_directions", adminDirectionsPage{
		Layout:     s.layout(c, "Directions", "admin", adminCrumb, Crumb{Label: "Directions"}),
		Directions: dirs, Form: f, Errors: errs,
	})
}

// adminDirectionSave creates a direction or updates one (same code).
func (s *Server) adminDirectionSave(c *gin.Context) {
	ctx := c.Request.Context()
	f := directionForm{Code: c.PostForm("code"), Name: c.PostForm("name"), Active: checked(c, "active")}
	if errs := f.Validate(); errs.Any() {
		s.renderDirections(c, http.StatusUnprocessableEntity, f, errs)
		return
	}
	err := s.Store.Tx(ctx, func(tx *models.Tx) error {
		if err := tx.SaveDirection(ctx, models.Direction{Code: f.Code, Name: f.Name, Active: f.Active}); err != nil {
			return err
		}
		state := "active"
		if !f.Active {
			state = "inactive"
		}
		return tx.Audit(ctx, actor(c), "direction.save", "direction", f.Code, f.Name+" ("+state+")")
	})
	if err != nil {
		s.serverError(c, "save direction", err)
		return
	}
	s.redirectWithFlash(c, "/admin/directions", "success", "La direction "+f.Code+" est enregistrée.")
}

// --- outbox ---

type adminOutboxPage struct {
	Layout
	Messages []models.OutboxMessage
	State    string
	States   []models.MailState
	Counts   map[models.MailState]int
	Pager    Pager
}

func (s *Server) adminOutbox(c *gin.Context) {
	ctx := c.Request.Context()
	f := models.OutboxFilter{State: models.MailState(c.Query("state")), Recipient: c.Query("to")}
	switch f.State {
	case "", models.MailPending, models.MailSending, models.MailSent, models.MailFailed:
	default:
		f.State = ""
	}
	f.Summary = true
	msgs, p, err := paginate(c, func(limit, offset int) ([]models.OutboxMessage, int, error) {
		f.Limit, f.Offset = limit, offset
		return s.Store.ListOutbox(ctx, f)
	}, "state", "to")
	if err != nil {
		s.serverError(c, "list outbox", err)
		return
	}
	counts, err := s.Store.OutboxCounts(ctx)
	if err != nil {
		s.serverError(c, "count outbox", err)
		return
	}
	s.render(c, http.StatusOK, "admin_outbox", adminOutboxPage{
		Layout:   s.layout(c, "Courriels", "admin", adminCrumb, Crumb{Label: "Courriels"}),
		Messages: msgs, State: string(f.State), Counts: counts, Pager: p,
		States: []models.MailState{models.MailPending, models.MailSending, models.MailSent, models.MailFailed},
	})
}

type adminMailPage struct {
	Layout
	Message models.OutboxMessage
	Links   []string // the links of the message, clickable (a captured login link, for instance)
}

var mailLink = regexp.MustCompile(`https?://[^\s<>"']+`)

// mailLinks lists the distinct links of a message's text, in order.
func mailLinks(text string) []string {
	var out []string
	for _, l := range mailLink.FindAllString(text, 50) {
		l = strings.TrimRight(l, ".,;:)»")
		if !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out
}

func (s *Server) adminMail(c *gin.Context) {
	m, err := s.Store.OutboxByID(c.Request.Context(), c.Param("id"))
	if errors.Is(err, models.ErrNotFound) {
		s.notFound(c)
		return
	} else if err != nil {
		s.serverError(c, "get mail", err)
		return
	}
	s.render(c, http.StatusOK, "admin_mail", adminMailPage{
		Layout:  s.layout(c, m.Subject, "admin", adminCrumb, Crumb{Label: "Courriels", URL: "/admin/outbox"}, Crumb{Label: m.Subject}),
		Message: m,
		Links:   mailLinks(m.TextBody),
	})
}

// adminMailHTML shows the HTML part alone, sandboxed: no script, no form,
// no request anywhere. An inline QR code (cid:) is drawn as a data: image.
func (s *Server) adminMailHTML(c *gin.Context) {
	m, err := s.Store.OutboxByID(c.Request.Context(), c.Param("id"))
	if errors.Is(err, models.ErrNotFound) {
		s.notFound(c)
		return
	} else if err != nil {
		s.serverError(c, "get mail", err)
		return
	}
	c.Header("Content-Security-Policy", "sandbox allow-popups allow-popups-to-escape-sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:")
	c.Data(http.StatusOK, "text/html; charset=utf-8", []byte(mail.PreviewHTML(m)))
}

// adminMailICS downloads the calendar part.
func (s *Server) adminMailICS(c *gin.Context) {
	m, err := s.Store.OutboxByID(c.Request.Context(), c.Param("id"))
	if errors.Is(err, models.ErrNotFound) || err == nil && m.ICSBody == "" {
		s.notFound(c)
		return
	} else if err != nil {
		s.serverError(c, "get mail", err)
		return
	}
	c.Header("Content-Disposition", `attachment; filename="invitation.ics"`)
	c.Data(http.StatusOK, "text/calendar; charset=utf-8; method="+m.ICSMethod, []byte(m.ICSBody))
}

func (s *Server) adminMailRetry(c *gin.Context) {
	ctx := c.Request.Context()
	id := c.Param("id")
	err := s.Store.Tx(ctx, func(tx *models.Tx) error {
		if err := tx.RetryMail(ctx, id); err != nil {
			return err
		}
		return tx.Audit(ctx, actor(c), "mail.retry", "mail", id, "")
	})
	if errors.Is(err, models.ErrNotFound) {
		s.redirectWithFlash(c, "/admin/outbox/"+url.PathEscape(id), "error", "Seul un courriel en échec peut être renvoyé.")
		return
	} else if err != nil {
		s.serverError(c, "retry mail", err)
		return
	}
	s.NotifyMail()
	s.redirectWithFlash(c, "/admin/outbox/"+url.PathEscape(id), "success", "Le courriel est remis dans la file d'envoi.")
}

// --- audit log ---

type adminAuditPage struct {
	Layout
	Entries []models.AuditEntry
	Action  string
	Pager   Pager
}

func (s *Server) adminAudit(c *gin.Context) {
	ctx := c.Request.Context()
	f := models.AuditFilter{Action: c.Query("action"), Target: c.Query("target")}
	entries, p, err := paginate(c, func(limit, offset int) ([]models.AuditEntry, int, error) {
		f.Limit, f.Offset = limit, offset
		return s.Store.ListAudit(ctx, f)
	}, "action", "target")
	if err != nil {
		s.serverError(c, "list audit", err)
		return
	}
	s.render(c, http.StatusOK, "admin_audit", adminAuditPage{
		Layout:  s.layout(c, "Journal d'audit", "admin", adminCrumb, Crumb{Label: "Journal d'audit"}),
		Entries: entries, Action: f.Action, Pager: p,
	})
}

package handlers

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/dnum-sociaux/agora/internal/form"
	"github.com/dnum-sociaux/agora/models"
)

// Erasure of an account (RGPD right to erasure, ADR 0012): by the person,
// from their profile, or by an administrator, from the users' list. Both
// show what is deleted and what is kept, then ask for a ticked box.

type accountDeletePage struct {
	Layout
	Target  models.User
	Self    bool                   // the person erases their own account
	Action  string                 // where the form posts
	Cancel  string                 // where "Annuler" goes
	Blocked *models.ErasureBlocked // why it cannot be done now; nil: it can
	Errors  form.Errors
	// AuditRetentionDays is how long the audit log keeps the account's id (0: no limit).
	AuditRetentionDays int
}

// accountDeleteForm is the confirmation.
type accountDeleteForm struct{ Confirm bool }

// Validate asks for the box to be ticked.
func (f accountDeleteForm) Validate(self bool) form.Errors {
	var errs form.Errors
	if !f.Confirm {
		if self {
			errs.Add("confirm", "Cochez la case pour confirmer la suppression de votre compte.")
		} else {
			errs.Add("confirm", "Cochez la case pour confirmer la suppression de ce compte.")
		}
	}
	return errs
}

func (s *Server) accountDeleteShow(c *gin.Context) {
	s.renderAccountDelete(c, http.StatusOK, *currentUser(c), nil)
}

func (s *Server) adminUserDeleteShow(c *gin.Context) {
	target, ok := s.adminDeleteTarget(c)
	if ok {
		s.renderAccountDelete(c, http.StatusOK, target, nil)
	}
}

// adminDeleteTarget reads the account an administrator means to erase; an
// administrator erasing their own account is sent to their profile's page.
func (s *Server) adminDeleteTarget(c *gin.Context) (models.User, bool) {
	target, err := s.Store.UserByID(c.Request.Context(), c.Param("id"))
	switch {
	case errors.Is(err, models.ErrNotFound):
		s.notFound(c)
		return target, false
	case err != nil:
		s.serverError(c, "get user", err)
		return target, false
	case target.ID == currentUser(c).ID:
		c.Redirect(http.StatusSeeOther, "/profile/delete")
		return target, false
	}
	return target, true
}

func (s *Server) renderAccountDelete(c *gin.Context, status int, target models.User, errs form.Errors) {
	blocked, err := s.Store.ErasureBlockers(c.Request.Context(), target)
	if err != nil {
		s.serverError(c, "erasure blockers", err)
		return
	}
	s.renderAccountDeleteBlocked(c, status, target, blocked, errs)
}

func (s *Server) renderAccountDeleteBlocked(c *gin.Context, status int, target models.User, blocked *models.ErasureBlocked, errs form.Errors) {
	p := accountDeletePage{Target: target, Self: target.ID == currentUser(c).ID, Blocked: blocked, Errors: errs,
		AuditRetentionDays: days(s.Config.AuditRetention)}
	if p.Self {
		p.Layout = s.layout(c, "Supprimer mon compte", "", Crumb{Label: "Mon profil", URL: "/profile"}, Crumb{Label: "Supprimer mon compte"})
		p.Action, p.Cancel = "/profile/delete", "/profile"
	} else {
		p.Layout = s.layout(c, "Supprimer un compte", "admin", adminCrumb, Crumb{Label: "Utilisateurs", URL: "/admin/users"},
			Crumb{Label: "Supprimer un compte"})
		p.Action, p.Cancel = "/admin/users/"+target.ID+"/delete", "/admin/users?q="+urlQueryEscape(target.Email)
	}
	s.render(c, status, "account_delete", p)
}

// accountDelete erases the account of the person logged in, then ends
// their visit on the home page.
func (s *Server) accountDelete(c *gin.Context) {
	u := *currentUser(c)
	if !s.eraseAccount(c, u) {
		return
	}
	s.clearCookie(c, sessionCookie)
	s.redirectWithFlash(c, "/", "success", "Votre compte Agora est supprimé. Les courriels d’annulation de vos inscriptions et de vos séances à venir vont partir ; rien d’autre ne vous sera envoyé.")
}

// adminUserDelete erases another person's account.
func (s *Server) adminUserDelete(c *gin.Context) {
	target, ok := s.adminDeleteTarget(c)
	if ok && s.eraseAccount(c, target) {
		s.redirectWithFlash(c, "/admin/users", "success", "Le compte de "+target.Email+" est supprimé.")
	}
}

// eraseAccount checks the confirmation, erases target and tells the people
// concerned, in one transaction (their emails go through the outbox). It
// answers the request itself when it returns false.
func (s *Server) eraseAccount(c *gin.Context, target models.User) bool {
	ctx := c.Request.Context()
	self := target.ID == currentUser(c).ID
	if errs := (accountDeleteForm{Confirm: checked(c, "confirm")}).Validate(self); errs.Any() {
		s.renderAccountDelete(c, http.StatusUnprocessableEntity, target, errs)
		return false
	}
	err := s.Store.Tx(ctx, func(tx *models.Tx) error {
		er, err := tx.EraseUser(ctx, s.events, actor(c), target.ID)
		if err != nil {
			return err
		}
		// Their calendar loses the sessions to come of the groups they left.
		for _, g := range er.Left {
			if _, err := s.Invite.QueueRemoval(ctx, tx, g.Upcoming, g.Title, er.User); err != nil {
				return err
			}
		}
		return s.tellPromoted(ctx, tx, er.Promotions)
	})
	var blocked *models.ErasureBlocked
	switch {
	case errors.As(err, &blocked):
		s.renderAccountDeleteBlocked(c, http.StatusConflict, target, blocked, nil)
		return false
	case errors.Is(err, models.ErrNotFound):
		s.notFound(c)
		return false
	case err != nil:
		s.serverError(c, "erase account", err)
		return false
	}
	s.NotifyMail()
	return true
}

// BlockedReasons says, in French, why the account cannot be erased yet.
func (p accountDeletePage) BlockedReasons() []string {
	b := p.Blocked
	if b == nil {
		return nil
	}
	var out []string
	quote := func(titles []string) string { return "« " + strings.Join(titles, " », « ") + " »" }
	switch {
	case len(b.Groups) == 1:
		out = append(out, "le groupe "+quote(b.Groups)+" n’a pas d’autre organisateur")
	case len(b.Groups) > 1:
		out = append(out, "les groupes "+quote(b.Groups)+" n’ont pas d’autre organisateur")
	}
	switch {
	case len(b.Events) == 1:
		out = append(out, "l’événement "+quote(b.Events)+" n’a pas d’autre organisateur")
	case len(b.Events) > 1:
		out = append(out, "les événements "+quote(b.Events)+" n’ont pas d’autre organisateur")
	}
	if b.LastAdmin {
		out = append(out, "Agora n’a pas d’autre administrateur")
	}
	return out
}

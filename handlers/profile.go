package handlers

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/dnum-sociaux/agora/internal/form"
	"github.com/dnum-sociaux/agora/internal/render"
	"github.com/dnum-sociaux/agora/models"
)

// profileForm is what a user says about themselves.
type profileForm struct {
	Name        string
	Direction   string
	NotifyEmail bool
}

// Validate checks the name and that the direction exists and is active.
func (f *profileForm) Validate(ctx context.Context, db *models.DB) (form.Errors, error) {
	var errs form.Errors
	f.Name = errs.Text("name", f.Name, true, 100)
	f.Direction = models.NormaliseDirectionCode(f.Direction)
	if f.Direction == "" {
		errs.Add("direction", "Choisissez votre direction.")
		return errs, nil
	}
	d, err := db.DirectionByCode(ctx, f.Direction)
	switch {
	case errors.Is(err, models.ErrNotFound) || err == nil && !d.Active:
		errs.Add("direction", "Cette direction n'existe pas. Choisissez-en une dans la liste.")
	case err != nil:
		return errs, err
	}
	return errs, nil
}

func profileFormFromRequest(c *gin.Context) profileForm {
	return profileForm{Name: c.PostForm("name"), Direction: c.PostForm("direction"), NotifyEmail: checked(c, "notify_email")}
}

type profilePage struct {
	Layout
	Form       profileForm
	Errors     form.Errors
	Directions []render.Option
	Next       string
	Welcome    bool // first login: asks for name and direction
}

func (s *Server) renderProfile(c *gin.Context, status int, p profilePage) {
	dirs, err := s.Store.ListDirections(c.Request.Context(), false)
	if err != nil {
		s.serverError(c, "list directions", err)
		return
	}
	p.Directions = directionOptions(dirs)
	page := "profile"
	if p.Welcome {
		page = "welcome"
	}
	s.render(c, status, page, p)
}

func (s *Server) welcomeShow(c *gin.Context) {
	u := currentUser(c)
	if !u.NeedsProfile() {
		c.Redirect(http.StatusSeeOther, safeNext(c.Query("next")))
		return
	}
	s.renderProfile(c, http.StatusOK, profilePage{
		Layout:  s.layout(c, "Bienvenue sur Agora", ""),
		Form:    profileForm{Name: u.Name, Direction: u.DirectionCode, NotifyEmail: true},
		Next:    safeNext(c.Query("next")),
		Welcome: true,
	})
}

func (s *Server) welcomeSave(c *gin.Context) {
	s.saveProfile(c, true)
}

func (s *Server) profileShow(c *gin.Context) {
	u := currentUser(c)
	s.renderProfile(c, http.StatusOK, profilePage{
		Layout: s.layout(c, "Mon profil", "", Crumb{Label: "Mon profil"}),
		Form:   profileForm{Name: u.Name, Direction: u.DirectionCode, NotifyEmail: u.NotifyEmail},
	})
}

func (s *Server) profileSave(c *gin.Context) {
	s.saveProfile(c, false)
}

func (s *Server) saveProfile(c *gin.Context, welcome bool) {
	ctx := c.Request.Context()
	u := currentUser(c)
	f := profileFormFromRequest(c)
	if welcome {
		f.NotifyEmail = true
	}
	errs, err := f.Validate(ctx, &s.Store.DB)
	if err != nil {
		s.serverError(c, "validate profile", err)
		return
	}
	if errs.Any() {
		title, crumbs := "Mon profil", []Crumb{{Label: "Mon profil"}}
		if welcome {
			title, crumbs = "Bienvenue sur Agora", nil
		}
		s.renderProfile(c, http.StatusUnprocessableEntity, profilePage{
			Layout: s.layout(c, title, "", crumbs...), Form: f, Errors: errs, Welcome: welcome, Next: safeNext(c.PostForm("next")),
		})
		return
	}
	err = s.Store.Tx(ctx, func(tx *models.Tx) error {
		if err := tx.UpdateProfile(ctx, u.ID, models.ProfileUpdate{Name: f.Name, DirectionCode: f.Direction, NotifyEmail: f.NotifyEmail}); err != nil {
			return err
		}
		return tx.Audit(ctx, actor(c), "user.profile", "user", u.ID, "")
	})
	if err != nil {
		s.serverError(c, "save profile", err)
		return
	}
	if welcome {
		s.redirectWithFlash(c, safeNext(c.PostForm("next")), "success", "Bienvenue sur Agora, "+f.Name+" !")
		return
	}
	s.redirectWithFlash(c, "/profile", "success", "Votre profil est enregistré.")
}

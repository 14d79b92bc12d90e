package handlers

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/dnum-sociaux/agora/internal/form"
	"github.com/dnum-sociaux/agora/models"
)

// API keys on the profile (each user's own) and in the administration
// (every key). A key is shown once, when created; only its hash is kept.

// apiKeyForm names a new key.
type apiKeyForm struct {
	Name string
}

// Validate checks the name.
func (f *apiKeyForm) Validate() form.Errors {
	var errs form.Errors
	f.Name = errs.Text("name", f.Name, true, 80)
	if f.Name == "" && !errs.Any() {
		errs.Add("name", "Ce champ est obligatoire.")
	}
	return errs
}

var profileCrumb = Crumb{Label: "Mon profil", URL: "/profile"}

type apiKeysPage struct {
	Layout
	Keys   []models.APIKey
	Form   apiKeyForm
	Errors form.Errors
}

func (s *Server) apiKeysShow(c *gin.Context) {
	s.renderAPIKeys(c, http.StatusOK, apiKeyForm{}, nil)
}

func (s *Server) renderAPIKeys(c *gin.Context, status int, f apiKeyForm, errs form.Errors) {
	keys, _, err := s.Store.ListAPIKeys(c.Request.Context(), models.APIKeyFilter{UserID: currentUser(c).ID})
	if err != nil {
		s.serverError(c, "list api keys", err)
		return
	}
	s.render(c, status, "api_keys", apiKeysPage{
		Layout: s.layout(c, "Mes clés d'API", "", profileCrumb, Crumb{Label: "Clés d'API"}),
		Keys:   keys, Form: f, Errors: errs,
	})
}

type apiKeyCreatedPage struct {
	Layout
	Key    models.APIKey
	Secret string
}

// apiKeyCreate makes a key and shows it, once: the answer is not a redirect,
// so the secret never sits in a cookie or a URL, and it is not cached.
func (s *Server) apiKeyCreate(c *gin.Context) {
	f := apiKeyForm{Name: c.PostForm("name")}
	if errs := f.Validate(); errs.Any() {
		s.renderAPIKeys(c, http.StatusUnprocessableEntity, f, errs)
		return
	}
	ctx := c.Request.Context()
	u := currentUser(c)
	var key models.APIKey
	var secret string
	err := s.Store.Tx(ctx, func(tx *models.Tx) error {
		var err error
		if key, secret, err = tx.CreateAPIKey(ctx, u.ID, f.Name); err != nil {
			return err
		}
		return tx.Audit(ctx, actor(c), "api_key.create", "api_key", key.ID, "« "+key.Name+" »")
	})
	if err != nil {
		s.serverError(c, "create api key", err)
		return
	}
	c.Header("Cache-Control", "no-store")
	s.render(c, http.StatusCreated, "api_key_created", apiKeyCreatedPage{
		Layout: s.layout(c, "Nouvelle clé d'API", "", profileCrumb, Crumb{Label: "Clés d'API", URL: "/profile/api-keys"}, Crumb{Label: "Nouvelle clé"}),
		Key:    key, Secret: secret,
	})
}

// apiKeyRevoke revokes one of the user's keys; admins revoke any key from
// the administration (back is where to return).
func (s *Server) apiKeyRevoke(c *gin.Context) {
	ctx := c.Request.Context()
	u := currentUser(c)
	var key models.APIKey
	err := s.Store.Tx(ctx, func(tx *models.Tx) error {
		var err error
		if key, err = tx.RevokeAPIKey(ctx, u, c.Param("id")); err != nil {
			return err
		}
		return tx.Audit(ctx, actor(c), "api_key.revoke", "api_key", key.ID, "« "+key.Name+" » de "+key.OwnerEmail)
	})
	if errors.Is(err, models.ErrNotFound) {
		s.notFound(c)
		return
	}
	if err != nil {
		s.serverError(c, "revoke api key", err)
		return
	}
	back := "/profile/api-keys"
	if c.FullPath() == "/admin/api-keys/:id/revoke" {
		back = "/admin/api-keys"
	}
	s.redirectWithFlash(c, back, "success", "La clé « "+key.Name+" » est révoquée : elle n'ouvre plus l'API.")
}

type adminAPIKeysPage struct {
	Layout
	Keys  []models.APIKey
	Pager Pager
}

func (s *Server) adminAPIKeys(c *gin.Context) {
	ctx := c.Request.Context()
	keys, p, err := paginate(c, func(limit, offset int) ([]models.APIKey, int, error) {
		return s.Store.ListAPIKeys(ctx, models.APIKeyFilter{Limit: limit, Offset: offset})
	})
	if err != nil {
		s.serverError(c, "list api keys", err)
		return
	}
	s.render(c, http.StatusOK, "admin_api_keys", adminAPIKeysPage{
		Layout: s.layout(c, "Clés d'API", "admin", adminCrumb, Crumb{Label: "Clés d'API"}),
		Keys:   keys, Pager: p,
	})
}

package handlers

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/dnum-sociaux/agora/models"
)

// Steps shared by the API's handlers: loading what a request names, checking
// who may see it, making a change in one transaction and answering.

// apiRespond answers v with 200, or a logged 500 (what) when building it
// failed.
func (s *Server) apiRespond(c *gin.Context, what string, v any, err error) {
	if err != nil {
		s.apiServerError(c, what, err)
		return
	}
	s.apiJSON(c, http.StatusOK, v)
}

// apiCreated answers v with 201 and the Location of the new resource (path
// under the API's base).
func (s *Server) apiCreated(c *gin.Context, path string, v any) {
	c.Header("Location", s.Config.URL(apiBase+path))
	s.apiJSON(c, http.StatusCreated, v)
}

// apiMapItems turns every item into its API form; a failure is a logged
// 500 (what) and gives false.
func apiMapItems[T, U any](s *Server, c *gin.Context, what string, items []T, f func(T) (U, error)) ([]U, bool) {
	out := make([]U, 0, len(items))
	for _, it := range items {
		v, err := f(it)
		if err != nil {
			s.apiServerError(c, what, err)
			return nil, false
		}
		out = append(out, v)
	}
	return out, true
}

// apiCommit makes a change in one transaction; fn returns the answer's
// body. A failure is answered as a problem and gives false.
func apiCommit[T any](s *Server, c *gin.Context, fn func(ctx context.Context, tx *models.Tx) (T, error)) (T, bool) {
	ctx := c.Request.Context()
	var out T
	err := s.Store.Tx(ctx, func(tx *models.Tx) error {
		var err error
		out, err = fn(ctx, tx)
		return err
	})
	if err != nil {
		s.apiModelError(c, err)
		return out, false
	}
	return out, true
}

// apiGroupByID reads a group as the web does: a proposal (or a rejected
// one) exists only for its author and the admins.
func (s *Server) apiGroupByID(c *gin.Context, id string) (models.Group, bool) {
	g, err := s.groupFor(c.Request.Context(), currentUser(c), id, needGroupVisible)
	if err != nil {
		s.apiModelError(c, err)
		return g.Group, false
	}
	return g.Group, true
}

// apiMemberOrManager lets through the members of the group, its organisers
// and the admins; others get 403 with detail.
func (s *Server) apiMemberOrManager(c *gin.Context, groupID, detail string) bool {
	ctx := c.Request.Context()
	u := currentUser(c)
	_, err := s.Store.Membership(ctx, groupID, u.ID)
	member := err == nil
	if err != nil && !errors.Is(err, models.ErrNotMember) {
		s.apiServerError(c, "membership", err)
		return false
	}
	can, err := s.Store.CanManageGroup(ctx, *u, groupID)
	if err != nil {
		s.apiServerError(c, "check organiser", err)
		return false
	}
	if !member && !can {
		s.apiProblem(c, http.StatusForbidden, detail)
		return false
	}
	return true
}

// apiMustManageWith lets through the organisers of the group and the
// admins; others get 403 with detail.
func (s *Server) apiMustManageWith(c *gin.Context, groupID, detail string) bool {
	can, err := s.Store.CanManageGroup(c.Request.Context(), *currentUser(c), groupID)
	if err != nil {
		s.apiServerError(c, "check organiser", err)
		return false
	}
	if !can {
		s.apiProblem(c, http.StatusForbidden, detail)
		return false
	}
	return true
}

package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// apiOps is the one list of the API's routes, with their documentation.
// Resources are added here as their models land.
func (s *Server) apiOps() []apiOp {
	ops := []apiOp{
		{Method: http.MethodGet, Path: "/openapi.json", Handler: s.apiOpenAPI, Tag: "documentation", Public: true,
			Summary: "Ce document OpenAPI 3.1", OK: http.StatusOK, Result: map[string]any{}},
		{Method: http.MethodGet, Path: "/me", Handler: s.apiMe, Tag: "compte",
			Summary: "L'utilisateur propriétaire de la clé", OK: http.StatusOK, Result: apiUser{}},
	}
	return ops
}

// registerAPI mounts the API under /api/v1.
func (s *Server) registerAPI(r *gin.Engine) {
	ops := s.apiOps()
	s.openapi = s.openAPIDocument(ops)
	base := r.Group(apiBase, s.requestContext, s.apiRecover, s.apiHeaders, s.apiRateLimitIP, s.apiLimitBody)
	authed := base.Group("", s.apiAuth, s.apiRateLimitKey, s.apiAudit)
	for _, op := range ops {
		g := authed
		if op.Public {
			g = base
		}
		g.Handle(op.Method, op.Path, op.Handler)
	}
}

// apiOpenAPI serves the OpenAPI document.
func (s *Server) apiOpenAPI(c *gin.Context) {
	c.Header("Content-Type", "application/json; charset=utf-8")
	c.Header("Cache-Control", "public, max-age=300")
	c.Header("Access-Control-Allow-Origin", "*")
	c.Writer.WriteHeader(http.StatusOK)
	_, _ = c.Writer.Write(s.openapi)
}

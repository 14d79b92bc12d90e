package handlers

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// healthz says the process is alive.
func (s *Server) healthz(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.String(http.StatusOK, "ok\n")
}

// readyz says whether Agora can serve: the database answers and every
// migration is applied.
func (s *Server) readyz(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	if err := s.Store.Ping(ctx); err != nil {
		s.log(c).Warn("not ready: database", "error", err)
		c.String(http.StatusServiceUnavailable, "database unavailable\n")
		return
	}
	if s.Ready != nil {
		if err := s.Ready(ctx); err != nil {
			s.log(c).Warn("not ready", "error", err)
			c.String(http.StatusServiceUnavailable, "not ready: "+err.Error()+"\n")
			return
		}
	}
	c.String(http.StatusOK, "ready\n")
}

package handlers

import (
	"github.com/gin-gonic/gin"

	"github.com/dnum-sociaux/agora/internal/eventmail"
)

// Routes lists the router's routes (tests walk them).
func (s *Server) Routes() gin.RoutesInfo { return s.handlers.(*gin.Engine).Routes() }

// EventNotifierForTests exposes the server's event notifier to benchmarks.
func (s *Server) EventNotifierForTests() *eventmail.Notifier { return s.events }

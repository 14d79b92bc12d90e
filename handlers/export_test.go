package handlers

import "github.com/gin-gonic/gin"

// Routes lists the router's routes (tests walk them).
func (s *Server) Routes() gin.RoutesInfo { return s.handlers.(*gin.Engine).Routes() }

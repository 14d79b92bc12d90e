package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// homePage is "Mon espace"; the groups and events issues fill it.
type homePage struct {
	Layout
}

func (s *Server) home(c *gin.Context) {
	title := "Accueil"
	if u := currentUser(c); u != nil && u.NeedsProfile() {
		c.Redirect(http.StatusSeeOther, "/welcome")
		return
	} else if u != nil {
		title = "Mon espace"
	}
	s.render(c, http.StatusOK, "home", homePage{Layout: s.layout(c, title, "home")})
}

func (s *Server) notFound(c *gin.Context) {
	s.errorPage(c, http.StatusNotFound, "")
}

func (s *Server) methodNotAllowed(c *gin.Context) {
	s.errorPage(c, http.StatusMethodNotAllowed, "")
}

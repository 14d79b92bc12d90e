package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// legalPage is a static page of the footer (accessibility, legal notice,
// personal data), with the instance's contact address.
type legalPage struct {
	Layout
	Contact string
}

func (s *Server) legal(page, title string) gin.HandlerFunc {
	return func(c *gin.Context) {
		s.render(c, http.StatusOK, page, legalPage{
			Layout:  s.layout(c, title, "", Crumb{Label: title}),
			Contact: s.Config.MailFrom.Address,
		})
	}
}

package handlers

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// legalPage is a static page of the footer (accessibility, legal notice,
// personal data), with the instance's contact address.
type legalPage struct {
	Layout
	Contact string
	// Retention limits in days, for the personal-data page; 0: kept.
	MailRetentionDays, AuditRetentionDays int
}

func (s *Server) legal(page, title string) gin.HandlerFunc {
	return func(c *gin.Context) {
		s.render(c, http.StatusOK, page, legalPage{
			Layout:             s.layout(c, title, "", Crumb{Label: title}),
			Contact:            s.Config.MailFrom.Address,
			MailRetentionDays:  days(s.Config.MailRetention),
			AuditRetentionDays: days(s.Config.AuditRetention),
		})
	}
}

// days rounds a duration up to whole days.
func days(d time.Duration) int {
	return int((d + 24*time.Hour - 1) / (24 * time.Hour))
}

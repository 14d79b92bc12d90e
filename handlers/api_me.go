package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/dnum-sociaux/agora/models"
)

// apiUser is a user as the API shows it.
type apiUser struct {
	ID              string  `json:"id" doc:"opaque, stable identifier"`
	Email           string  `json:"email"`
	Name            string  `json:"name"`
	Direction       *string `json:"direction" doc:"code of the user's direction (DNUM, DGCS, …); null until chosen"`
	Role            string  `json:"role" enum:"admin|organiser|agent"`
	CalendarFeedURL *string `json:"calendar_feed_url" doc:"the user's personal calendar feed (iCalendar), to subscribe to in Outlook or Thunderbird; null when not available"`
}

func (s *Server) apiUserOf(u models.User) apiUser {
	out := apiUser{ID: u.ID, Email: u.Email, Name: u.Name, Role: string(u.Role)}
	if u.DirectionCode != "" {
		d := u.DirectionCode
		out.Direction = &d
	}
	if s.UserFeedURL != nil {
		if feed := s.UserFeedURL(u); feed != "" {
			out.CalendarFeedURL = &feed
		}
	}
	return out
}

// apiMe is GET /api/v1/me.
func (s *Server) apiMe(c *gin.Context) {
	s.apiJSON(c, http.StatusOK, s.apiUserOf(*currentUser(c)))
}

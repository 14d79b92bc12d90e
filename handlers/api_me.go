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
	CalendarFeedURL *string `json:"calendar_feed_url" doc:"the user's personal calendar feed (iCalendar), to subscribe to in Outlook or Thunderbird; null when the user turned it off"`
}

func (s *Server) apiUserOf(u models.User, prefs models.CalendarPrefs) apiUser {
	out := apiUser{ID: u.ID, Email: u.Email, Name: u.Name, Role: string(u.Role)}
	if u.DirectionCode != "" {
		d := u.DirectionCode
		out.Direction = &d
	}
	if feed := s.userFeedURL(u, prefs); feed != "" {
		out.CalendarFeedURL = &feed
	}
	return out
}

// apiMe is GET /api/v1/me.
func (s *Server) apiMe(c *gin.Context) {
	u := currentUser(c)
	prefs, err := s.Store.CalendarPrefs(c.Request.Context(), u.ID)
	if err != nil {
		s.apiServerError(c, "calendar prefs", err)
		return
	}
	s.apiJSON(c, http.StatusOK, s.apiUserOf(*u, prefs))
}

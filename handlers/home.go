package handlers

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/dnum-sociaux/agora/models"
)

// homePage is "Mon espace"; the groups and events issues fill it.
type homePage struct {
	Layout
	mySpace
	MyEvents []models.EventRegistration
}

func (s *Server) home(c *gin.Context) {
	u := currentUser(c)
	if u == nil {
		s.render(c, http.StatusOK, "home", homePage{Layout: s.layout(c, "Accueil", "home")})
		return
	}
	if u.NeedsProfile() {
		c.Redirect(http.StatusSeeOther, "/welcome")
		return
	}
	p := homePage{Layout: s.layout(c, "Mon espace", "home")}
	if err := s.fillMySpace(c.Request.Context(), *u, &p.mySpace); err != nil {
		s.serverError(c, "my space", err)
		return
	}
	var err error
	if p.MyEvents, err = s.Store.UserEvents(c.Request.Context(), u.ID, u.Email); err != nil {
		s.serverError(c, "my events", err)
		return
	}
	s.render(c, http.StatusOK, "home", p)
}

func (s *Server) notFound(c *gin.Context) {
	s.errorPage(c, http.StatusNotFound, "")
}

func (s *Server) methodNotAllowed(c *gin.Context) {
	s.errorPage(c, http.StatusMethodNotAllowed, "")
}

// mySpace is the groups' part of "Mon espace": the agent's groups, their
// next sessions with the agent's answer, the join requests waiting for the
// groups they organise, their invitations, and their private feed.
type mySpace struct {
	Groups        []models.GroupListItem
	Sessions      []models.SessionListItem
	Requests      []models.JoinRequest
	Invitations   []models.PendingInvitation
	Polls         []pollItem // open date polls awaiting the agent's answers
	PollsToDecide []pollItem // open polls the agent organises, past their deadline
	FeedURL       string
	WebcalURL     string
	Answers       []models.Answer
}

func (s *Server) fillMySpace(ctx context.Context, u models.User, p *mySpace) error {
	var err error
	if p.Groups, err = s.Store.UserGroups(ctx, u.ID); err != nil {
		return err
	}
	if p.Sessions, err = s.Store.UpcomingForUser(ctx, u.ID, 8); err != nil {
		return err
	}
	if p.Requests, err = s.Store.PendingRequests(ctx, u.ID, ""); err != nil {
		return err
	}
	if p.Invitations, err = s.Store.InvitationsFor(ctx, u.Email); err != nil {
		return err
	}
	polls, err := s.Store.PollsAwaitingVote(ctx, u.ID, 10)
	if err != nil {
		return err
	}
	p.Polls = pollItems(polls, true, s.Now())
	if polls, err = s.Store.PollsToDecide(ctx, u.ID, 10); err != nil {
		return err
	}
	p.PollsToDecide = pollItems(polls, false, s.Now())
	prefs, err := s.Store.CalendarPrefs(ctx, u.ID)
	if err != nil {
		return err
	}
	p.FeedURL = s.userFeedURL(u, prefs)
	p.WebcalURL = webcal(p.FeedURL)
	p.Answers = []models.Answer{models.AnswerYes, models.AnswerMaybe, models.AnswerNo}
	return nil
}

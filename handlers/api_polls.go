package handlers

import (
	"context"
	"errors"
	"net/http"
	"slices"

	"github.com/gin-gonic/gin"

	"github.com/dnum-sociaux/agora/models"
)

// Date polls in the API: read a poll with its totals and the caller's
// answers, and answer it, through the web pages' model code (polls.go).

type apiPoll struct {
	ID              string        `json:"id"`
	GroupID         string        `json:"group_id"`
	Title           string        `json:"title"`
	Description     string        `json:"description" doc:"Markdown"`
	DurationMinutes int           `json:"duration_minutes" doc:"length of every slot"`
	Location        string        `json:"location" doc:"the room and address planned"`
	Room            string        `json:"room"`
	Address         string        `json:"address"`
	VideoURL        string        `json:"video_url"`
	Deadline        *string       `json:"deadline" doc:"RFC 3339: answers are accepted before it; null: until the poll is closed"`
	Status          string        `json:"status" enum:"open|closed|cancelled" doc:"closed: a slot was retained and became a session; cancelled: closed without a date"`
	AcceptsVotes    bool          `json:"accepts_votes" doc:"the poll is open and its deadline has not passed"`
	ChosenSlotID    *string       `json:"chosen_slot_id" doc:"the slot retained; null unless closed"`
	SessionID       *string       `json:"session_id" doc:"the session scheduled on the slot retained (GET /sessions/{id}); null unless closed"`
	VotersCount     int           `json:"voters_count" doc:"members who answered at least one slot"`
	Slots           []apiPollSlot `json:"slots" doc:"the candidate slots, in order of time"`
	URL             string        `json:"url" doc:"the poll's page in Agora"`
	CreatedAt       string        `json:"created_at" doc:"RFC 3339"`
}

type apiPollSlot struct {
	ID       string  `json:"id"`
	StartsAt string  `json:"starts_at" doc:"RFC 3339"`
	EndsAt   string  `json:"ends_at" doc:"RFC 3339"`
	Yes      int     `json:"yes" doc:"members who answered yes (oui)"`
	IfNeeded int     `json:"if_needed" doc:"members who answered if_needed (si besoin)"`
	No       int     `json:"no" doc:"members who answered no (non)"`
	Best     bool    `json:"best" doc:"among the slots not started of an open poll, the most yes, then the most if_needed (ties are all best)"`
	MyVote   *string `json:"my_vote" enum:"yes|if_needed|no" doc:"the caller's answer; null when none"`
}

// apiVotesInput answers some slots of a poll.
type apiVotesInput struct {
	Votes map[string]string `json:"votes" api:"required" enum:"yes|if_needed|no" doc:"slot id → yes, if_needed or no; the slots left out keep the caller's previous answer"`
}

// apiLoadPoll reads the :id poll for a member of its group, an organiser or
// an admin: 404 when it (or its group) is unknown or hidden from the caller,
// 403 for others.
func (s *Server) apiLoadPoll(c *gin.Context) (models.Poll, models.Group, bool) {
	ctx := c.Request.Context()
	p, err := s.Store.PollByID(ctx, c.Param("id"))
	if err != nil {
		s.apiModelError(c, err)
		return p, models.Group{}, false
	}
	g, ok := s.apiGroupByID(c, p.GroupID)
	ok = ok && s.apiMemberOrManager(c, g.ID, "Ce sondage est réservé aux membres du groupe et à ses organisateurs.")
	return p, g, ok
}

func (s *Server) apiPollOf(ctx context.Context, db *models.DB, id, viewerID string) (apiPoll, error) {
	p, err := db.PollByID(ctx, id)
	if err != nil {
		return apiPoll{}, err
	}
	tallies, err := db.PollTallies(ctx, id)
	if err != nil {
		return apiPoll{}, err
	}
	mine, err := db.UserPollVotes(ctx, id, viewerID)
	if err != nil {
		return apiPoll{}, err
	}
	voters, err := db.PollVoters(ctx, id)
	if err != nil {
		return apiPoll{}, err
	}
	out := apiPoll{
		ID: p.ID, GroupID: p.GroupID, Title: p.Title, Description: p.Description, DurationMinutes: int(p.Duration.Minutes()),
		Location: p.Place(), Room: p.Room, Address: p.Address, VideoURL: p.VideoURL, Deadline: apiTimePtr(p.Deadline),
		Status: string(p.Status), AcceptsVotes: p.AcceptsVotes(db.Now()), VotersCount: len(voters),
		Slots: make([]apiPollSlot, len(tallies)), URL: s.Config.URL("/polls/" + p.ID), CreatedAt: apiTime(p.CreatedAt),
	}
	if p.ChosenSlotID != "" {
		v := p.ChosenSlotID
		out.ChosenSlotID = &v
	}
	if p.SessionID != "" {
		v := p.SessionID
		out.SessionID = &v
	}
	for i, t := range tallies {
		sl := apiPollSlot{ID: t.ID, StartsAt: apiTime(t.StartsAt), EndsAt: apiTime(t.EndsAt), Yes: t.Yes, IfNeeded: t.IfNeeded, No: t.No,
			Best: t.Best && p.Open()}
		if v, ok := mine[t.ID]; ok {
			a := string(v)
			sl.MyVote = &a
		}
		out.Slots[i] = sl
	}
	return out, nil
}

// GET /polls/{id}
func (s *Server) apiPollShow(c *gin.Context) {
	p, _, ok := s.apiLoadPoll(c)
	if !ok {
		return
	}
	out, err := s.apiPollOf(c.Request.Context(), &s.Store.DB, p.ID, currentUser(c).ID)
	s.apiRespond(c, "poll", out, err)
}

// PUT /polls/{id}/votes/me: a member answers some slots (an upsert per
// slot), as on the poll page; the answer is the poll as it now stands.
func (s *Server) apiPollVote(c *gin.Context) {
	p, _, ok := s.apiLoadPoll(c)
	if !ok {
		return
	}
	var in apiVotesInput
	if _, ok := s.decodeJSON(c, &in); !ok {
		return
	}
	ctx := c.Request.Context()
	slots, err := s.Store.PollSlots(ctx, p.ID)
	if err != nil {
		s.apiServerError(c, "poll slots", err)
		return
	}
	errs := map[string]string{}
	if len(in.Votes) == 0 {
		errs["votes"] = "Donnez au moins une réponse : {\"<id du créneau>\": \"yes\", …}."
	}
	votes := map[string]models.Vote{}
	for id, v := range in.Votes {
		switch {
		case !slices.ContainsFunc(slots, func(sl models.PollSlot) bool { return sl.ID == id }):
			errs["votes."+id] = "Ce créneau n'est pas l'un de ceux du sondage (voir slots dans GET /polls/{id})."
		case !models.Vote(v).Valid():
			errs["votes."+id] = "Répondez yes (oui), if_needed (si besoin) ou no (non)."
		default:
			votes[id] = models.Vote(v)
		}
	}
	if len(errs) > 0 {
		s.apiModelError(c, fieldErrors(errs))
		return
	}
	u := currentUser(c)
	out, ok := apiCommit(s, c, func(ctx context.Context, tx *models.Tx) (apiPoll, error) {
		n, err := tx.VotePoll(ctx, *u, p.ID, votes)
		if err != nil {
			return apiPoll{}, pollRuleError(err)
		}
		if n > 0 {
			if err := tx.Audit(ctx, actor(c), "poll.vote", "poll", p.ID, "answers changed through the API"); err != nil {
				return apiPoll{}, err
			}
		}
		return s.apiPollOf(ctx, &tx.DB, p.ID, u.ID)
	})
	if ok {
		s.apiJSON(c, http.StatusOK, out)
	}
}

// pollRuleError gives the poll rules their French detail and status.
func pollRuleError(err error) error {
	switch {
	case errors.Is(err, models.ErrNotMember):
		return problemError{http.StatusForbidden, "Seuls les membres du groupe répondent aux sondages. Rejoignez d'abord le groupe."}
	case errors.Is(err, models.ErrPollClosed):
		return problemError{http.StatusConflict, "Ce sondage est clos : les réponses ne se modifient plus."}
	case errors.Is(err, models.ErrPollDeadline):
		return problemError{http.StatusConflict, "La date limite de ce sondage est passée : les réponses ne se modifient plus."}
	case errors.Is(err, models.ErrGroupInactive):
		return problemError{http.StatusConflict, "Ce groupe n'est pas actif : on ne répond plus à ses sondages."}
	}
	return err
}

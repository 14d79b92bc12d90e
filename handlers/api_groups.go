package handlers

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/dnum-sociaux/agora/internal/form"
	"github.com/dnum-sociaux/agora/models"
)

// The groups of the API: same rules and emails as the web pages (groups.go),
// through the same models and notification helpers.

type apiPerson struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type apiGroup struct {
	ID          string      `json:"id"`
	Title       string      `json:"title"`
	Summary     string      `json:"summary"`
	Description string      `json:"description" doc:"Markdown"`
	Theme       string      `json:"theme" enum:"role_metier|comitologie|hackathon_communs|autre"`
	JoinPolicy  string      `json:"join_policy" enum:"open|approval|invite" doc:"open: anyone joins; approval: an organiser accepts requests; invite: by invitation only"`
	MemberLimit *int        `json:"member_limit" doc:"null: no limit"`
	Status      string      `json:"status" enum:"proposed|active|archived|rejected" doc:"a group created by an agent is proposed until an admin approves it"`
	Organisers  []apiPerson `json:"organisers"`
	MemberCount int         `json:"member_count"`
	MyRole      *string     `json:"my_role" enum:"organiser|member" doc:"the caller's role in the group; null when not a member"`
	URL         string      `json:"url" doc:"the group's page in Agora"`
	CreatedAt   string      `json:"created_at" doc:"RFC 3339"`
	UpdatedAt   string      `json:"updated_at" doc:"RFC 3339"`
}

// apiGroupInput creates a group (POST); theme and join policy default to
// role_metier and open.
type apiGroupInput struct {
	Title       string `json:"title" api:"required"`
	Summary     string `json:"summary"`
	Description string `json:"description" doc:"Markdown"`
	Theme       string `json:"theme" enum:"role_metier|comitologie|hackathon_communs|autre"`
	JoinPolicy  string `json:"join_policy" enum:"open|approval|invite"`
	MemberLimit *int   `json:"member_limit" doc:"null or absent: no limit"`
}

// apiGroupPatch changes a group (PATCH): absent fields keep their value.
type apiGroupPatch struct {
	Title       *string `json:"title"`
	Summary     *string `json:"summary"`
	Description *string `json:"description"`
	Theme       *string `json:"theme" enum:"role_metier|comitologie|hackathon_communs|autre"`
	JoinPolicy  *string `json:"join_policy" enum:"open|approval|invite"`
	MemberLimit *int    `json:"member_limit" doc:"0 removes the limit"`
}

// The API names the invitation policy "invite"; the model "invitation".
func apiPolicy(p models.JoinPolicy) string {
	if p == models.JoinInvitation {
		return "invite"
	}
	return string(p)
}

func modelPolicy(p string) string {
	if p == "invite" {
		return string(models.JoinInvitation)
	}
	if p == string(models.JoinInvitation) {
		return "?"
	}
	return p
}

// The API names the hackathon theme "hackathon_communs".
func apiTheme(t models.Theme) string {
	if t == models.ThemeHackathon {
		return "hackathon_communs"
	}
	return string(t)
}

func modelTheme(t string) string {
	if t == "hackathon_communs" {
		return string(models.ThemeHackathon)
	}
	if t == string(models.ThemeHackathon) && t != "hackathon_communs" {
		return "?"
	}
	return t
}

// groupFieldNames maps the web form's fields to the API's.
var groupFieldNames = map[string]string{"title": "title", "summary": "summary", "description": "description",
	"theme": "theme", "join_policy": "join_policy", "member_limit": "member_limit"}

func apiFieldErrors(errs form.Errors, names map[string]string) error {
	out := map[string]string{}
	for f, d := range errs {
		if n, ok := names[f]; ok {
			f = n
		}
		if _, dup := out[f]; !dup {
			out[f] = d
		}
	}
	return fieldErrors(out)
}

func (s *Server) apiGroupOf(ctx context.Context, db *models.DB, g models.Group, viewer models.User) (apiGroup, error) {
	out := apiGroup{
		ID: g.ID, Title: g.Title, Summary: g.Summary, Description: g.Description, Theme: apiTheme(g.Theme),
		JoinPolicy: apiPolicy(g.JoinPolicy), Status: string(g.Status), Organisers: []apiPerson{},
		URL: s.Config.URL("/groups/" + g.ID), CreatedAt: apiTime(g.CreatedAt), UpdatedAt: apiTime(g.UpdatedAt),
	}
	if g.MemberLimit > 0 {
		n := g.MemberLimit
		out.MemberLimit = &n
	}
	members, err := db.ListMembers(ctx, g.ID)
	if err != nil {
		return out, err
	}
	out.MemberCount = len(members)
	for _, m := range members {
		if m.IsOrganiser() {
			out.Organisers = append(out.Organisers, apiPerson{ID: m.User.ID, Name: m.User.Name})
		}
		if m.User.ID == viewer.ID {
			r := "member"
			if m.IsOrganiser() {
				r = "organiser"
			}
			out.MyRole = &r
		}
	}
	return out, nil
}

// apiLoadGroup reads :id as the web does: a proposal exists only for its
// author and the admins.
func (s *Server) apiLoadGroup(c *gin.Context) (models.Group, bool) {
	return s.apiGroupByID(c, c.Param("id"))
}

// GET /groups
func (s *Server) apiGroupList(c *gin.Context) {
	limit, offset, ok := s.pageParams(c)
	if !ok {
		return
	}
	u := currentUser(c)
	status := models.GroupStatus(c.DefaultQuery("status", string(models.GroupActive)))
	switch status {
	case models.GroupActive, models.GroupArchived, models.GroupProposed, models.GroupRejected:
	default:
		s.apiProblem(c, http.StatusBadRequest, "Paramètre status invalide.", FieldError{Field: "status", Detail: "Valeurs possibles : active, archived, proposed, rejected."})
		return
	}
	theme := c.Query("theme")
	if theme != "" && !models.Theme(modelTheme(theme)).Valid() {
		s.apiProblem(c, http.StatusBadRequest, "Paramètre theme invalide.", FieldError{Field: "theme", Detail: "Valeurs possibles : role_metier, comitologie, hackathon_communs, autre."})
		return
	}
	if theme != "" {
		theme = modelTheme(theme)
	}
	ctx := c.Request.Context()
	items, _, err := s.Store.ListGroups(ctx, models.GroupFilter{Query: c.Query("q"), Theme: models.Theme(theme), Status: status,
		ViewerID: u.ID, Admin: u.IsAdmin(), Mine: c.Query("mine") == "true", Limit: limit + 1, Offset: offset})
	if err != nil {
		s.apiServerError(c, "list groups", err)
		return
	}
	out, ok := apiMapItems(s, c, "group", items, func(it models.GroupListItem) (apiGroup, error) {
		return s.apiGroupOf(ctx, &s.Store.DB, it.Group, *u)
	})
	if ok {
		s.apiJSON(c, http.StatusOK, pageOf(out, limit, offset))
	}
}

// GET /groups/{id}
func (s *Server) apiGroupShow(c *gin.Context) {
	g, ok := s.apiLoadGroup(c)
	if !ok {
		return
	}
	out, err := s.apiGroupOf(c.Request.Context(), &s.Store.DB, g, *currentUser(c))
	s.apiRespond(c, "group", out, err)
}

// POST /groups: an organiser creates an active group; an agent proposes one
// to the admins, who are told by email, as on the web.
func (s *Server) apiGroupCreate(c *gin.Context) {
	var in apiGroupInput
	if _, ok := s.decodeJSON(c, &in); !ok {
		return
	}
	f := groupForm{Title: in.Title, Summary: in.Summary, Description: in.Description,
		Theme: modelTheme(in.Theme), JoinPolicy: modelPolicy(in.JoinPolicy)}
	if in.Theme == "" {
		f.Theme = string(models.ThemeRoleMetier)
	}
	if in.JoinPolicy == "" {
		f.JoinPolicy = string(models.JoinOpen)
	}
	if in.MemberLimit != nil {
		f.MemberLimit = strconv.Itoa(*in.MemberLimit)
	}
	if errs := f.Validate(); errs.Any() {
		s.apiModelError(c, apiFieldErrors(errs, groupFieldNames))
		return
	}
	u := currentUser(c)
	out, ok := apiCommit(s, c, func(ctx context.Context, tx *models.Tx) (apiGroup, error) {
		g, err := tx.CreateGroup(ctx, *u, f.input())
		if err != nil {
			return apiGroup{}, err
		}
		if err := s.tellProposal(ctx, tx, *u, g); err != nil {
			return apiGroup{}, err
		}
		if err := tx.Audit(ctx, actor(c), "group.create", "group", g.ID, string(g.Status)); err != nil {
			return apiGroup{}, err
		}
		return s.apiGroupOf(ctx, &tx.DB, g, *u)
	})
	if !ok {
		return
	}
	s.NotifyMail()
	s.apiCreated(c, "/groups/"+out.ID, out)
}

// PATCH /groups/{id}: organisers and admins.
func (s *Server) apiGroupUpdate(c *gin.Context) {
	g, ok := s.apiLoadGroup(c)
	if !ok {
		return
	}
	var p apiGroupPatch
	if _, ok := s.decodeJSON(c, &p); !ok {
		return
	}
	f := groupFormOf(g)
	set := func(dst *string, v *string, conv func(string) string) {
		if v != nil {
			*dst = conv(*v)
		}
	}
	same := func(v string) string { return v }
	set(&f.Title, p.Title, same)
	set(&f.Summary, p.Summary, same)
	set(&f.Description, p.Description, same)
	set(&f.Theme, p.Theme, modelTheme)
	set(&f.JoinPolicy, p.JoinPolicy, modelPolicy)
	if p.MemberLimit != nil {
		f.MemberLimit = ""
		if *p.MemberLimit != 0 {
			f.MemberLimit = strconv.Itoa(*p.MemberLimit)
		}
	}
	if !s.apiMustManageWith(c, g.ID, "Seuls les organisateurs du groupe et les administrateurs peuvent le modifier.") {
		return
	}
	if errs := f.Validate(); errs.Any() {
		s.apiModelError(c, apiFieldErrors(errs, groupFieldNames))
		return
	}
	u := currentUser(c)
	out, ok := apiCommit(s, c, func(ctx context.Context, tx *models.Tx) (apiGroup, error) {
		updated, err := tx.UpdateGroup(ctx, *u, g.ID, f.input())
		if errors.Is(err, models.ErrLimitBelowMembers) {
			return apiGroup{}, fieldErrors(map[string]string{"member_limit": "Le groupe compte déjà plus de membres que ce maximum."})
		}
		if err != nil {
			return apiGroup{}, err
		}
		if err := tx.Audit(ctx, actor(c), "group.update", "group", g.ID, ""); err != nil {
			return apiGroup{}, err
		}
		return s.apiGroupOf(ctx, &tx.DB, updated, *u)
	})
	if ok {
		s.apiJSON(c, http.StatusOK, out)
	}
}

// apiMembership is the caller's place in a group after joining.
type apiMembership struct {
	GroupID string  `json:"group_id"`
	State   string  `json:"state" enum:"member|requested" doc:"member: in the group; requested: waiting for an organiser's answer"`
	Role    *string `json:"role" enum:"organiser|member" doc:"null while requested"`
}

type apiJoinInput struct {
	Message string `json:"message" doc:"for groups that accept members on request: a word to the organisers"`
}

// POST /groups/{id}/members: join an open group, accept an invitation, or
// ask to join a group on approval (the organisers are told by email).
func (s *Server) apiGroupJoin(c *gin.Context) {
	g, ok := s.apiLoadGroup(c)
	if !ok {
		return
	}
	var in apiJoinInput
	if c.Request.ContentLength != 0 {
		if _, ok := s.decodeJSON(c, &in); !ok {
			return
		}
	}
	var errs form.Errors
	in.Message = errs.LongText("message", in.Message, false, 2000)
	if errs.Any() {
		s.apiModelError(c, apiFieldErrors(errs, nil))
		return
	}
	ctx := c.Request.Context()
	u := currentUser(c)
	out := apiMembership{GroupID: g.ID, State: "member"}
	status := http.StatusCreated
	err := s.Store.Tx(ctx, func(tx *models.Tx) error {
		invited, err := tx.HasInvitation(ctx, g.ID, u.Email)
		if err != nil {
			return err
		}
		switch {
		case invited:
			err = tx.AcceptInvitation(ctx, *u, g.ID)
		case g.JoinPolicy == models.JoinApproval:
			out.State, status = "requested", http.StatusAccepted
			if err := s.requestToJoin(ctx, tx, *u, g, in.Message); err != nil {
				return err
			}
			return tx.Audit(ctx, actor(c), "group.request", "group", g.ID, "")
		default:
			err = tx.Join(ctx, *u, g.ID)
		}
		if err != nil {
			return err
		}
		role := "member"
		out.Role = &role
		if err := s.inviteToUpcoming(ctx, tx, g, *u); err != nil {
			return err
		}
		return tx.Audit(ctx, actor(c), "group.join", "group", g.ID, "")
	})
	if err != nil {
		s.apiModelError(c, err)
		return
	}
	s.NotifyMail()
	s.apiJSON(c, status, out)
}

// DELETE /groups/{id}/members/me: leave; freed places go to the waiting
// lists and the promoted are told, as on the web.
func (s *Server) apiGroupLeave(c *gin.Context) {
	g, ok := s.apiLoadGroup(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	u := currentUser(c)
	err := s.Store.Tx(ctx, func(tx *models.Tx) error {
		promos, err := tx.RemoveMember(ctx, *u, g.ID, u.ID)
		if err != nil {
			return err
		}
		if err := s.tellPromoted(ctx, tx, promos); err != nil {
			return err
		}
		return tx.Audit(ctx, actor(c), "group.remove_member", "group", g.ID, u.ID)
	})
	if err != nil {
		s.apiModelError(c, err)
		return
	}
	s.NotifyMail()
	c.Status(http.StatusNoContent)
}

type apiMember struct {
	UserID    string  `json:"user_id"`
	Name      string  `json:"name"`
	Email     string  `json:"email"`
	Direction *string `json:"direction" doc:"direction code"`
	Role      string  `json:"role" enum:"organiser|member"`
	JoinedAt  string  `json:"joined_at" doc:"RFC 3339"`
}

// GET /groups/{id}/members: members and organisers see the members, as on
// the group's page.
func (s *Server) apiGroupMembers(c *gin.Context) {
	g, ok := s.apiLoadGroup(c)
	if !ok {
		return
	}
	limit, offset, ok := s.pageParams(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	u := currentUser(c)
	members, err := s.Store.ListMembers(ctx, g.ID)
	if err != nil {
		s.apiServerError(c, "list members", err)
		return
	}
	can, err := s.Store.CanManageGroup(ctx, *u, g.ID)
	if err != nil {
		s.apiServerError(c, "check organiser", err)
		return
	}
	member := false
	for _, m := range members {
		member = member || m.User.ID == u.ID
	}
	if !member && !can {
		s.apiProblem(c, http.StatusForbidden, "La liste des membres est réservée aux membres du groupe et à ses organisateurs.")
		return
	}
	out := make([]apiMember, 0, len(members))
	for _, m := range members {
		role := "member"
		if m.IsOrganiser() {
			role = "organiser"
		}
		am := apiMember{UserID: m.User.ID, Name: m.User.Name, Email: m.User.Email, Role: role, JoinedAt: apiTime(m.JoinedAt)}
		if m.User.DirectionCode != "" {
			d := m.User.DirectionCode
			am.Direction = &d
		}
		out = append(out, am)
	}
	s.apiJSON(c, http.StatusOK, pageSlice(out, limit, offset))
}

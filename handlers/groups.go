package handlers

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/dnum-sociaux/agora/internal/form"
	"github.com/dnum-sociaux/agora/internal/invite"
	"github.com/dnum-sociaux/agora/internal/render"
	"github.com/dnum-sociaux/agora/models"
)

var groupsCrumb = Crumb{Label: "Groupes de travail", URL: "/groups"}

const (
	groupPageSize     = 30 // groups per directory page
	groupPageSessions = 30 // upcoming sessions on a group's page
)

// --- the form ---

// groupForm is what an organiser writes about a group.
type groupForm struct {
	Title       string
	Summary     string
	Description string
	Theme       string
	JoinPolicy  string
	MemberLimit string
	limit       int
}

func groupFormFromRequest(c *gin.Context) groupForm {
	return groupForm{
		Title: c.PostForm("title"), Summary: c.PostForm("summary"), Description: c.PostForm("description"),
		Theme: c.PostForm("theme"), JoinPolicy: c.PostForm("join_policy"), MemberLimit: c.PostForm("member_limit"),
	}
}

func groupFormOf(g models.Group) groupForm {
	f := groupForm{Title: g.Title, Summary: g.Summary, Description: g.Description, Theme: string(g.Theme), JoinPolicy: string(g.JoinPolicy)}
	if g.MemberLimit > 0 {
		f.MemberLimit = strconv.Itoa(g.MemberLimit)
	}
	return f
}

// Validate checks every field and returns French messages by field.
func (f *groupForm) Validate() form.Errors {
	var errs form.Errors
	f.Title = errs.Text("title", f.Title, true, 120)
	f.Summary = errs.Text("summary", f.Summary, false, 300)
	f.Description = errs.LongText("description", f.Description, false, 20000)
	if !models.Theme(f.Theme).Valid() {
		errs.Add("theme", "Choisissez un thème dans la liste.")
	}
	if !models.JoinPolicy(f.JoinPolicy).Valid() {
		errs.Add("join_policy", "Choisissez comment les agents rejoignent le groupe.")
	}
	f.limit, f.MemberLimit = positiveInt(&errs, "member_limit", f.MemberLimit,
		"Le nombre maximum de membres doit être un nombre entier supérieur ou égal à 1, ou rester vide.")
	return errs
}

func (f groupForm) input() models.GroupInput {
	return models.GroupInput{Title: f.Title, Summary: f.Summary, Description: f.Description,
		Theme: models.Theme(f.Theme), JoinPolicy: models.JoinPolicy(f.JoinPolicy), MemberLimit: f.limit}
}

// positiveInt reads an optional whole number ≥ 1 ("" is 0).
func positiveInt(errs *form.Errors, field, v, msg string) (int, string) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, ""
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 100000 {
		errs.Add(field, msg)
		return 0, v
	}
	return n, v
}

// themeOptions and policyOptions feed the DSFR choice partials.
func themeOptions() []render.Option {
	out := make([]render.Option, len(models.Themes))
	for i, t := range models.Themes {
		out[i] = render.Option{Value: string(t), Label: t.Label()}
	}
	return out
}

func policyOptions() []render.Option {
	hints := map[models.JoinPolicy]string{
		models.JoinOpen:       "Tout agent rejoint le groupe en un clic.",
		models.JoinApproval:   "L’agent écrit un message ; un organisateur accepte ou refuse.",
		models.JoinInvitation: "Seules les personnes invitées par courriel rejoignent le groupe.",
	}
	out := make([]render.Option, len(models.JoinPolicies))
	for i, p := range models.JoinPolicies {
		out[i] = render.Option{Value: string(p), Label: p.Label(), Hint: hints[p]}
	}
	return out
}

// --- directory ---

type groupListPage struct {
	Layout
	Groups       []models.GroupListItem
	Query        string
	Theme        string
	Status       string
	Themes       []render.Option
	Statuses     []render.Option
	Pager        Pager
	CanCreate    bool // organisers and admins create; others propose
	PendingCount int  // proposals waiting for an admin
}

func (s *Server) groupList(c *gin.Context) {
	ctx := c.Request.Context()
	u := currentUser(c)
	status := models.GroupStatus(c.Query("status"))
	switch status {
	case models.GroupActive, models.GroupArchived, models.GroupProposed, models.GroupRejected:
	default:
		status = models.GroupActive
	}
	theme := models.Theme(c.Query("theme"))
	if !theme.Valid() {
		theme = ""
	}
	f := models.GroupFilter{Query: c.Query("q"), Theme: theme, Status: status, ViewerID: u.ID, Admin: u.IsAdmin(), Limit: groupPageSize}
	page, _ := strconv.Atoi(c.Query("page"))
	page = max(page, 1)
	f.Offset = (page - 1) * groupPageSize
	groups, total, err := s.Store.ListGroups(ctx, f)
	if err == nil && len(groups) == 0 && total > 0 && f.Offset > 0 {
		// Past the last page: show the last one.
		page = (total + groupPageSize - 1) / groupPageSize
		f.Offset = (page - 1) * groupPageSize
		groups, total, err = s.Store.ListGroups(ctx, f)
	}
	if err != nil {
		s.serverError(c, "list groups", err)
		return
	}
	pg, _ := pager(c, 0, "q", "theme", "status")
	pg.Page, pg.Pages, pg.Total = page, max((total+groupPageSize-1)/groupPageSize, 1), total
	p := groupListPage{
		Layout: s.layout(c, "Groupes de travail", "groups", Crumb{Label: "Groupes de travail"}),
		Groups: groups, Query: c.Query("q"), Theme: string(theme), Status: string(status),
		// "Tous les thèmes" first: without it the select showed the first
		// theme, and every word search was silently limited to it.
		Themes: append([]render.Option{{Value: "", Label: "Tous les thèmes"}}, themeOptions()...), Pager: pg, CanCreate: u.IsOrganiser(),
		Statuses: []render.Option{{Value: "active", Label: "Actifs"}, {Value: "archived", Label: "Archivés"},
			{Value: "proposed", Label: "Proposés (en attente de validation)"}},
	}
	if u.IsAdmin() {
		_, p.PendingCount, _ = s.Store.ListGroups(ctx, models.GroupFilter{Status: models.GroupProposed, ViewerID: u.ID, Admin: true, Limit: 1})
	}
	s.render(c, http.StatusOK, "groups_list", p)
}

// --- create and edit ---

type groupFormPage struct {
	Layout
	Form        groupForm
	Errors      form.Errors
	Group       *models.Group // nil when creating
	Themes      []render.Option
	Policies    []render.Option
	Proposing   bool // the author's role makes this a proposal
	SubmitLabel string
	CancelURL   string
}

func (s *Server) renderGroupForm(c *gin.Context, status int, p groupFormPage) {
	p.Themes, p.Policies = themeOptions(), policyOptions()
	p.Proposing = p.Group == nil && !currentUser(c).IsOrganiser()
	switch {
	case p.Group != nil:
		p.SubmitLabel, p.CancelURL = "Enregistrer", "/groups/"+p.Group.ID
	case p.Proposing:
		p.SubmitLabel, p.CancelURL = "Proposer le groupe", "/groups"
	default:
		p.SubmitLabel, p.CancelURL = "Créer le groupe", "/groups"
	}
	s.render(c, status, "group_form", p)
}

func (s *Server) groupNew(c *gin.Context) {
	title := "Créer un groupe de travail"
	if !currentUser(c).IsOrganiser() {
		title = "Proposer un groupe de travail"
	}
	s.renderGroupForm(c, http.StatusOK, groupFormPage{
		Layout: s.layout(c, title, "groups", groupsCrumb, Crumb{Label: title}),
		Form:   groupForm{Theme: string(models.ThemeRoleMetier), JoinPolicy: string(models.JoinOpen)},
	})
}

func (s *Server) groupCreate(c *gin.Context) {
	ctx := c.Request.Context()
	u := currentUser(c)
	f := groupFormFromRequest(c)
	if errs := f.Validate(); errs.Any() {
		title := "Créer un groupe de travail"
		if !u.IsOrganiser() {
			title = "Proposer un groupe de travail"
		}
		s.renderGroupForm(c, http.StatusUnprocessableEntity, groupFormPage{
			Layout: s.layout(c, title, "groups", groupsCrumb, Crumb{Label: title}), Form: f, Errors: errs})
		return
	}
	var g models.Group
	err := s.Store.Tx(ctx, func(tx *models.Tx) error {
		var err error
		if g, err = tx.CreateGroup(ctx, *u, f.input()); err != nil {
			return err
		}
		if err := s.tellProposal(ctx, tx, *u, g); err != nil {
			return err
		}
		return tx.Audit(ctx, actor(c), "group.create", "group", g.ID, string(g.Status))
	})
	if err != nil {
		s.serverError(c, "create group", err)
		return
	}
	s.NotifyMail()
	msg := "Le groupe « " + g.Title + " » est créé. Vous en êtes l’organisateur."
	if g.Status == models.GroupProposed {
		msg = "Votre proposition est envoyée aux administrateurs. Vous serez organisateur du groupe dès qu’elle sera validée."
	}
	s.redirectWithFlash(c, "/groups/"+g.ID, "success", msg)
}

// tellProposal tells the admins about a group an agent proposed (web and API).
func (s *Server) tellProposal(ctx context.Context, tx *models.Tx, u models.User, g models.Group) error {
	if g.Status != models.GroupProposed {
		return nil
	}
	admins, _, err := tx.ListUsers(ctx, models.UserFilter{Role: models.RoleAdmin, Limit: 100})
	if err != nil {
		return err
	}
	for _, a := range admins {
		if err := s.notify(ctx, tx, a, "group.proposal", "group:"+g.ID+":proposal:"+a.ID, notice{
			Subject:    "Nouveau groupe proposé : " + g.Title,
			Paragraphs: []string{u.Name + " (" + u.Email + ") propose le groupe de travail « " + g.Title + " ».", g.Summary, "Validez ou refusez la proposition depuis la page du groupe."},
			LinkLabel:  "Voir la proposition", Link: s.Config.URL("/groups/" + g.ID),
		}); err != nil {
			return err
		}
	}
	return nil
}

// groupCtx is a group loaded for a request, with the user asking and what
// the request's need made known of their standing in it. It embeds the
// group: handlers read g.ID and g.Title at every line.
type groupCtx struct {
	models.Group
	User   *models.User
	Member *models.Member // the user's membership, nil when not a member (not read for needGroupVisible)
	Manage bool           // the user organises the group or is an admin (not read for needGroupVisible)
}

// groupNeed is what a handler requires on the group.
type groupNeed int

const (
	needGroupVisible groupNeed = iota // the group exists and the user may see it
	needGroupRoles                    // the same, with the user's membership and management read
	needGroupManager                  // needGroupRoles, for an organiser of the group or an admin (403 otherwise)
)

// loadGroup reads the :id group for need. A group that does not exist or
// that the user may not see (a proposal seen by someone other than its
// author or an admin) is a 404; a group the user may see but not manage,
// when need is needGroupManager, a 403. It returns false when it answered.
func (s *Server) loadGroup(c *gin.Context, need groupNeed) (groupCtx, bool) {
	return s.loadGroupByID(c, c.Param("id"), need)
}

// loadGroupByID is loadGroup for the group of a session or a poll.
func (s *Server) loadGroupByID(c *gin.Context, id string, need groupNeed) (groupCtx, bool) {
	g, err := s.groupFor(c.Request.Context(), currentUser(c), id, need)
	switch {
	case errors.Is(err, models.ErrNotFound):
		s.errorPage(c, http.StatusNotFound, "Ce groupe de travail n’existe pas.")
	case errors.Is(err, models.ErrForbidden):
		s.forbidden(c, "Seuls les organisateurs du groupe et les administrateurs peuvent faire cette action.")
	case err != nil:
		s.serverError(c, "load group", err)
	}
	return g, err == nil
}

// groupFor reads group id for u and need, for the web and the API:
// models.ErrNotFound when it does not exist or u may not see it,
// models.ErrForbidden when need is needGroupManager and u does not manage it.
func (s *Server) groupFor(ctx context.Context, u *models.User, id string, need groupNeed) (groupCtx, error) {
	g := groupCtx{User: u}
	var err error
	if g.Group, err = s.Store.GroupByID(ctx, id); err != nil {
		return g, err
	}
	if !g.VisibleTo(*u) {
		return g, models.ErrNotFound
	}
	if need == needGroupVisible {
		return g, nil
	}
	m, err := s.Store.Membership(ctx, g.ID, u.ID)
	switch {
	case err == nil:
		g.Member = &m
	case !errors.Is(err, models.ErrNotMember):
		return g, err
	}
	g.Manage = models.ManagesGroup(*u, g.Member)
	if need == needGroupManager && !g.Manage {
		return g, models.ErrForbidden
	}
	return g, nil
}

// memberOrManager tells whether the user is a member of g, organises it or
// is an admin (g not read with needGroupVisible).
func (g groupCtx) memberOrManager() bool { return g.Member != nil || g.Manage }

// groupWrite runs write, then the audit of action (with detail) on the
// group, in one transaction.
func (s *Server) groupWrite(c *gin.Context, g groupCtx, action, detail string, write func(context.Context, *models.Tx) error) error {
	ctx := c.Request.Context()
	return s.Store.Tx(ctx, func(tx *models.Tx) error {
		if err := write(ctx, tx); err != nil {
			return err
		}
		return tx.Audit(ctx, actor(c), action, "group", g.ID, detail)
	})
}

func (s *Server) groupEdit(c *gin.Context) {
	g, ok := s.loadGroup(c, needGroupManager)
	if !ok {
		return
	}
	s.renderGroupForm(c, http.StatusOK, groupFormPage{
		Layout: s.layout(c, "Modifier le groupe", "groups", groupsCrumb, Crumb{Label: g.Title, URL: "/groups/" + g.ID}, Crumb{Label: "Modifier"}),
		Form:   groupFormOf(g.Group), Group: &g.Group,
	})
}

func (s *Server) groupUpdate(c *gin.Context) {
	g, ok := s.loadGroup(c, needGroupManager)
	if !ok {
		return
	}
	f := groupFormFromRequest(c)
	errs := f.Validate()
	if !errs.Any() {
		err := s.groupWrite(c, g, "group.update", "", func(ctx context.Context, tx *models.Tx) error {
			_, err := tx.UpdateGroup(ctx, *g.User, g.ID, f.input())
			return err
		})
		switch {
		case errors.Is(err, models.ErrLimitBelowMembers):
			errs.Add("member_limit", "Le groupe compte déjà plus de membres que ce maximum.")
		case err != nil:
			s.modelError(c, "update group", err)
			return
		default:
			s.redirectWithFlash(c, "/groups/"+g.ID, "success", "Le groupe est enregistré.")
			return
		}
	}
	s.renderGroupForm(c, http.StatusUnprocessableEntity, groupFormPage{
		Layout: s.layout(c, "Modifier le groupe", "groups", groupsCrumb, Crumb{Label: g.Title, URL: "/groups/" + g.ID}, Crumb{Label: "Modifier"}),
		Form:   f, Errors: errs, Group: &g.Group,
	})
}

// groupSetStatus archives or reactivates a group, or (admins) approves or
// rejects a proposal.
func (s *Server) groupSetStatus(c *gin.Context) {
	g, ok := s.loadGroup(c, needGroupVisible)
	if !ok {
		return
	}
	status := models.GroupStatus(c.PostForm("status"))
	msgs := map[models.GroupStatus]string{
		models.GroupActive: "Le groupe est actif.", models.GroupArchived: "Le groupe est archivé.", models.GroupRejected: "La proposition est refusée.",
	}
	if msgs[status] == "" {
		s.errorPage(c, http.StatusBadRequest, "Ce statut n’existe pas.")
		return
	}
	err := s.groupWrite(c, g, "group.status", string(status), func(ctx context.Context, tx *models.Tx) error {
		if err := tx.SetGroupStatus(ctx, *g.User, g.ID, status); err != nil {
			return err
		}
		if g.Status != models.GroupProposed || g.CreatedBy == "" {
			return nil
		}
		author, err := tx.UserByID(ctx, g.CreatedBy)
		if err != nil {
			return err
		}
		verdict := "est validée : le groupe est ouvert et vous en êtes l’organisateur."
		if status == models.GroupRejected {
			verdict = "n’a pas été retenue."
		}
		return s.notify(ctx, tx, author, "group.proposal_decided", "group:"+g.ID+":proposal-decided", notice{
			Subject:    "Votre proposition de groupe : " + g.Title,
			Paragraphs: []string{"Votre proposition de groupe de travail « " + g.Title + " » " + verdict},
			LinkLabel:  "Voir le groupe", Link: s.Config.URL("/groups/" + g.ID),
		})
	})
	if err != nil {
		s.modelError(c, "set group status", err)
		return
	}
	s.NotifyMail()
	s.redirectWithFlash(c, "/groups/"+g.ID, "success", msgs[status])
}

// --- the group page ---

type groupShowPage struct {
	Layout
	Group        models.Group
	Members      []models.Member // only for members, organisers and admins
	MemberCount  int
	Organisers   []models.User
	Viewer       *models.Member // nil when not a member
	CanManage    bool
	Upcoming     []sessionRow
	MoreSessions bool // more upcoming sessions than the page shows
	Past         []models.SessionListItem
	Polls        []pollItem           // open date polls, for members, organisers and admins
	Requests     []models.JoinRequest // pending, for organisers
	Requested    bool                 // the viewer has asked to join
	Invited      bool                 // the viewer's address was invited
	FeedURL      string               // the group's feed (members, or anyone for open groups)
	InviteForm   inviteForm
	Errors       form.Errors
	Full         bool
}

type inviteForm struct{ Email string }

func (s *Server) groupShow(c *gin.Context) {
	g, ok := s.loadGroup(c, needGroupRoles)
	if !ok {
		return
	}
	s.renderGroupShow(c, http.StatusOK, g, inviteForm{}, nil)
}

// renderGroupShow shows the group page (g read with needGroupRoles).
func (s *Server) renderGroupShow(c *gin.Context, status int, g groupCtx, inv inviteForm, errs form.Errors) {
	ctx := c.Request.Context()
	u := g.User
	p := groupShowPage{
		Layout: s.layout(c, g.Title, "groups", groupsCrumb, Crumb{Label: g.Title}),
		Group:  g.Group, InviteForm: inv, Errors: errs, Viewer: g.Member, CanManage: g.Manage,
	}
	members, err := s.Store.ListMembers(ctx, g.ID)
	if err != nil {
		s.serverError(c, "list members", err)
		return
	}
	p.MemberCount = len(members)
	p.Full = g.MemberLimit > 0 && len(members) >= g.MemberLimit
	for _, mm := range members {
		if mm.IsOrganiser() {
			p.Organisers = append(p.Organisers, mm.User)
		}
	}
	if g.memberOrManager() {
		p.Members = members
	}
	// The page shows the next sessions; the whole schedule has its own page.
	upcoming, err := s.Store.GroupSessions(ctx, g.ID, u.ID, true, groupPageSessions+1)
	if err != nil {
		s.serverError(c, "upcoming sessions", err)
		return
	}
	if len(upcoming) > groupPageSessions {
		upcoming, p.MoreSessions = upcoming[:groupPageSessions], true
	}
	p.Upcoming = sessionRows(upcoming)
	if p.Past, err = s.Store.GroupSessions(ctx, g.ID, u.ID, false, 10); err != nil {
		s.serverError(c, "past sessions", err)
		return
	}
	if g.memberOrManager() {
		polls, err := s.Store.GroupPolls(ctx, g.ID, u.ID, models.PollOpen, 20)
		if err != nil {
			s.serverError(c, "group polls", err)
			return
		}
		p.Polls = pollItems(polls, p.Viewer != nil, s.Now())
	}
	if p.CanManage {
		if p.Requests, err = s.Store.PendingRequests(ctx, "", g.ID); err != nil {
			s.serverError(c, "join requests", err)
			return
		}
	}
	if p.Viewer == nil {
		if p.Requested, err = s.Store.PendingRequest(ctx, g.ID, u.ID); err != nil {
			s.serverError(c, "join request", err)
			return
		}
		if p.Invited, err = s.Store.HasInvitation(ctx, g.ID, u.Email); err != nil {
			s.serverError(c, "invitation", err)
			return
		}
	}
	if g.memberOrManager() || g.JoinPolicy == models.JoinOpen {
		p.FeedURL = s.groupFeedURL(g.Group)
	}
	s.render(c, status, "group_show", p)
}

// --- membership ---

// groupJoin: one click into an open group.
func (s *Server) groupJoin(c *gin.Context) {
	g, ok := s.loadGroup(c, needGroupVisible)
	if !ok {
		return
	}
	if err := s.enterGroup(c, g, "group.join", (*models.Tx).Join); err != nil {
		s.membershipError(c, g.Group, "join group", err)
		return
	}
	s.NotifyMail()
	s.redirectWithFlash(c, "/groups/"+g.ID, "success", "Vous êtes membre du groupe « "+g.Title+" ». Les invitations aux prochaines séances arrivent dans votre messagerie.")
}

// enterGroup makes the user a member through enter (joining, accepting an
// invitation) and sends them the invitations of upcoming sessions.
func (s *Server) enterGroup(c *gin.Context, g groupCtx, action string, enter func(*models.Tx, context.Context, models.User, string) error) error {
	return s.groupWrite(c, g, action, "", func(ctx context.Context, tx *models.Tx) error {
		if err := enter(tx, ctx, *g.User, g.ID); err != nil {
			return err
		}
		return s.inviteToUpcoming(ctx, tx, g.Group, *g.User)
	})
}

// inviteToUpcoming sends a new member the invitations of the group's
// upcoming sessions, unless they turned invitations off.
func (s *Server) inviteToUpcoming(ctx context.Context, tx *models.Tx, g models.Group, u models.User) error {
	m, err := tx.Membership(ctx, g.ID, u.ID)
	if err != nil || !m.Invitations {
		return err
	}
	items, err := tx.GroupSessions(ctx, g.ID, u.ID, true, 20)
	if err != nil {
		return err
	}
	for _, it := range items {
		if it.Cancelled() {
			continue
		}
		if _, err := s.Invite.QueueSession(ctx, tx, invite.Created, it.Session, nil, g.Title, []models.User{u}); err != nil {
			return err
		}
	}
	return nil
}

// membershipError turns the rules of membership into French messages.
func (s *Server) membershipError(c *gin.Context, g models.Group, what string, err error) {
	to := "/groups/" + g.ID
	switch {
	case errors.Is(err, models.ErrGroupFull):
		s.redirectWithFlash(c, to, "error", "Le groupe est complet : il a atteint son nombre maximum de membres.")
	case errors.Is(err, models.ErrAlreadyMember):
		s.redirectWithFlash(c, to, "info", "Vous êtes déjà membre de ce groupe.")
	case errors.Is(err, models.ErrJoinPolicy):
		s.redirectWithFlash(c, to, "error", "Ce groupe ne s’ouvre pas de cette façon : "+strings.ToLower(g.JoinPolicy.Label())+".")
	case errors.Is(err, models.ErrGroupInactive):
		s.redirectWithFlash(c, to, "error", "Ce groupe n’est pas actif : on ne peut pas le rejoindre.")
	case errors.Is(err, models.ErrLastOrganiser):
		s.redirectWithFlash(c, to, "error", "Un groupe garde toujours au moins un organisateur : nommez d’abord un autre organisateur.")
	case errors.Is(err, models.ErrNotMember):
		s.redirectWithFlash(c, to, "error", "Cette personne n’est pas membre du groupe.")
	default:
		s.modelError(c, what, err)
	}
}

// modelError answers the errors every action shares.
func (s *Server) modelError(c *gin.Context, what string, err error) {
	switch {
	case errors.Is(err, models.ErrForbidden):
		s.forbidden(c, "Seuls les organisateurs du groupe et les administrateurs peuvent faire cette action.")
	case errors.Is(err, models.ErrNotMember):
		s.forbidden(c, "Cette action est réservée aux membres du groupe.")
	case errors.Is(err, models.ErrNotFound):
		s.errorPage(c, http.StatusNotFound, "")
	default:
		s.serverError(c, what, err)
	}
}

// groupRequest: ask to join a group on approval; organisers are told.
func (s *Server) groupRequest(c *gin.Context) {
	g, ok := s.loadGroup(c, needGroupVisible)
	if !ok {
		return
	}
	var errs form.Errors
	message := errs.LongText("message", c.PostForm("message"), false, 2000)
	if errs.Any() {
		s.redirectWithFlash(c, "/groups/"+g.ID, "error", "Votre message : "+errs.Get("message"))
		return
	}
	err := s.groupWrite(c, g, "group.request", "", func(ctx context.Context, tx *models.Tx) error {
		return s.requestToJoin(ctx, tx, *g.User, g.Group, message)
	})
	if err != nil {
		s.membershipError(c, g.Group, "request to join", err)
		return
	}
	s.NotifyMail()
	s.redirectWithFlash(c, "/groups/"+g.ID, "success", "Votre demande est envoyée aux organisateurs. Vous recevrez leur réponse par courriel.")
}

// requestToJoin records u's request and tells the organisers (web and API).
func (s *Server) requestToJoin(ctx context.Context, tx *models.Tx, u models.User, g models.Group, message string) error {
	if err := tx.RequestToJoin(ctx, u, g.ID, message); err != nil {
		return err
	}
	orgs, err := tx.Organisers(ctx, g.ID)
	if err != nil {
		return err
	}
	paras := []string{u.Name + " (" + u.Email + ") demande à rejoindre le groupe « " + g.Title + " »."}
	if message != "" {
		paras = append(paras, "Son message : "+message)
	}
	paras = append(paras, "Acceptez ou refusez la demande sur la page du groupe.")
	for _, o := range orgs {
		if err := s.notify(ctx, tx, o, "group.request", "group:"+g.ID+":request:"+u.ID+":"+tx.Now().Format("20060102150405")+":"+o.ID, notice{
			Subject: "Demande pour rejoindre « " + g.Title + " »", Paragraphs: paras,
			LinkLabel: "Répondre à la demande", Link: s.Config.URL("/groups/" + g.ID + "#demandes"),
		}); err != nil {
			return err
		}
	}
	return nil
}

// groupDecide: organisers accept or decline a request; the agent is told.
func (s *Server) groupDecide(c *gin.Context) {
	g, ok := s.loadGroup(c, needGroupManager)
	if !ok {
		return
	}
	accept := c.PostForm("decision") == "accept"
	userID := c.Param("user")
	var who models.User
	err := s.groupWrite(c, g, "group.request_decide", userID+" "+map[bool]string{true: "accepted", false: "declined"}[accept], func(ctx context.Context, tx *models.Tx) error {
		var err error
		if who, err = tx.UserByID(ctx, userID); err != nil {
			return err
		}
		if err := tx.DecideRequest(ctx, *g.User, g.ID, userID, accept); err != nil {
			return err
		}
		n := notice{Subject: "Votre demande pour « " + g.Title + " »", LinkLabel: "Voir le groupe", Link: s.Config.URL("/groups/" + g.ID)}
		if accept {
			n.Paragraphs = []string{"Votre demande est acceptée : vous êtes membre du groupe de travail « " + g.Title + " ».",
				"Les invitations aux prochaines séances arrivent dans votre messagerie."}
			if err := s.inviteToUpcoming(ctx, tx, g.Group, who); err != nil {
				return err
			}
		} else {
			n.Paragraphs = []string{"Les organisateurs du groupe de travail « " + g.Title + " » n’ont pas retenu votre demande."}
		}
		return s.notify(ctx, tx, who, "group.request_decided", "group:"+g.ID+":decided:"+userID+":"+tx.Now().Format("20060102150405"), n)
	})
	if err != nil {
		s.membershipError(c, g.Group, "decide request", err)
		return
	}
	s.NotifyMail()
	msg := who.Name + " est maintenant membre du groupe."
	if !accept {
		msg = "La demande de " + who.Name + " est refusée."
	}
	s.redirectWithFlash(c, "/groups/"+g.ID+"#demandes", "success", msg)
}

// groupInvite: organisers invite an address; it gets a link to the group.
func (s *Server) groupInvite(c *gin.Context) {
	ctx := c.Request.Context()
	g, ok := s.loadGroup(c, needGroupManager)
	if !ok {
		return
	}
	var errs form.Errors
	f := inviteForm{Email: c.PostForm("email")}
	email := errs.Email("email", f.Email)
	if email != "" && !s.Config.EmailAllowed(email) {
		errs.Add("email", "Cette adresse n’appartient pas à un domaine autorisé sur Agora.")
	}
	if errs.Any() {
		s.renderGroupShow(c, http.StatusUnprocessableEntity, g, f, errs)
		return
	}
	u := g.User
	// Not groupWrite: an address already invited is neither told nor audited again.
	err := s.Store.Tx(ctx, func(tx *models.Tx) error {
		fresh, err := tx.Invite(ctx, *u, g.ID, email)
		if err != nil || !fresh {
			return err
		}
		to := models.User{Email: email}
		if existing, err := tx.UserByEmail(ctx, email); err == nil {
			to = existing
		}
		if err := s.notify(ctx, tx, to, "group.invitation", "group:"+g.ID+":invitation:"+email+":"+tx.Now().Format("20060102150405"), notice{
			Subject: u.Name + " vous invite au groupe « " + g.Title + " »",
			Paragraphs: []string{u.Name + " vous invite à rejoindre le groupe de travail « " + g.Title + " » sur Agora.", g.Summary,
				"Ouvrez le lien ci-dessous et connectez-vous avec cette adresse : si vous n’avez pas encore de compte, il est créé à la première connexion."},
			LinkLabel: "Rejoindre le groupe", Link: s.Config.URL("/groups/" + g.ID),
		}); err != nil {
			return err
		}
		return tx.Audit(ctx, actor(c), "group.invite", "group", g.ID, "")
	})
	if errors.Is(err, models.ErrAlreadyMember) {
		errs.Add("email", "Cette personne est déjà membre du groupe.")
		s.renderGroupShow(c, http.StatusUnprocessableEntity, g, f, errs)
		return
	}
	if err != nil {
		s.modelError(c, "invite", err)
		return
	}
	s.NotifyMail()
	s.redirectWithFlash(c, "/groups/"+g.ID+"#membres", "success", "L’invitation est envoyée à "+email+".")
}

// groupAcceptInvitation: the invitee, logged in with the invited address, joins.
func (s *Server) groupAcceptInvitation(c *gin.Context) {
	g, ok := s.loadGroup(c, needGroupVisible)
	if !ok {
		return
	}
	err := s.enterGroup(c, g, "group.accept_invitation", (*models.Tx).AcceptInvitation)
	if errors.Is(err, models.ErrForbidden) {
		s.forbidden(c, "Aucune invitation à ce groupe n’a été envoyée à votre adresse.")
		return
	}
	if err != nil {
		s.membershipError(c, g.Group, "accept invitation", err)
		return
	}
	s.NotifyMail()
	s.redirectWithFlash(c, "/groups/"+g.ID, "success", "Bienvenue dans le groupe « "+g.Title+" ».")
}

// groupLeave and groupRemoveMember take a member out; freed places go to
// the waiting lists, and the promoted are told.
func (s *Server) groupLeave(c *gin.Context) {
	s.removeMember(c, currentUser(c).ID)
}

func (s *Server) groupRemoveMember(c *gin.Context) {
	s.removeMember(c, c.Param("user"))
}

func (s *Server) removeMember(c *gin.Context, userID string) {
	g, ok := s.loadGroup(c, needGroupVisible)
	if !ok {
		return
	}
	err := s.groupWrite(c, g, "group.remove_member", userID, func(ctx context.Context, tx *models.Tx) error {
		// What the member had in their calendar, before they go.
		m, err := tx.Membership(ctx, g.ID, userID)
		if err != nil {
			return err
		}
		upcoming, err := tx.GroupSessions(ctx, g.ID, userID, true, 100)
		if err != nil {
			return err
		}
		promos, err := tx.RemoveMember(ctx, *g.User, g.ID, userID)
		if err != nil {
			return err
		}
		if m.Invitations {
			gone, err := tx.UserByID(ctx, userID)
			if err != nil {
				return err
			}
			var sessions []models.Session
			for _, it := range upcoming {
				if it.Answer != models.AnswerNo {
					sessions = append(sessions, it.Session)
				}
			}
			if _, err := s.Invite.QueueRemoval(ctx, tx, sessions, g.Title, gone); err != nil {
				return err
			}
		}
		return s.tellPromoted(ctx, tx, promos)
	})
	if err != nil {
		s.membershipError(c, g.Group, "remove member", err)
		return
	}
	s.NotifyMail()
	if userID == g.User.ID {
		s.redirectWithFlash(c, "/groups/"+g.ID, "success", "Vous avez quitté le groupe « "+g.Title+" ».")
		return
	}
	s.redirectWithFlash(c, "/groups/"+g.ID+"#membres", "success", "Le membre est retiré du groupe.")
}

// groupSetRole promotes a member to co-organiser or demotes an organiser.
func (s *Server) groupSetRole(c *gin.Context) {
	g, ok := s.loadGroup(c, needGroupManager)
	if !ok {
		return
	}
	role := models.MemberRole(c.PostForm("role"))
	if role != models.RoleGroupOrganiser && role != models.RoleGroupMember {
		s.errorPage(c, http.StatusBadRequest, "Ce rôle n’existe pas.")
		return
	}
	userID := c.Param("user")
	err := s.groupWrite(c, g, "group.role", userID+" "+string(role), func(ctx context.Context, tx *models.Tx) error {
		return tx.SetMemberRole(ctx, *g.User, g.ID, userID, role)
	})
	if err != nil {
		s.membershipError(c, g.Group, "set member role", err)
		return
	}
	msg := "Le membre est maintenant co-organisateur."
	if role == models.RoleGroupMember {
		msg = "L’organisateur redevient simple membre."
	}
	s.redirectWithFlash(c, "/groups/"+g.ID+"#membres", "success", msg)
}

// groupSetInvitations: a member turns calendar invitations for the group on or off.
func (s *Server) groupSetInvitations(c *gin.Context) {
	g, ok := s.loadGroup(c, needGroupVisible)
	if !ok {
		return
	}
	on := c.PostForm("invitations") == "on"
	err := s.groupWrite(c, g, "group.invitations", strconv.FormatBool(on), func(ctx context.Context, tx *models.Tx) error {
		return tx.SetInvitations(ctx, *g.User, g.ID, on)
	})
	if err != nil {
		s.modelError(c, "set invitations", err)
		return
	}
	msg := "Vous ne recevrez plus les invitations des séances de ce groupe. Elles restent dans votre flux d’agenda."
	if on {
		msg = "Vous recevrez les invitations des prochaines séances de ce groupe."
	}
	s.redirectWithFlash(c, "/groups/"+g.ID, "success", msg)
}

// groupRotateFeed gives the group a new feed URL (organisers, admins).
func (s *Server) groupRotateFeed(c *gin.Context) {
	g, ok := s.loadGroup(c, needGroupManager)
	if !ok {
		return
	}
	err := s.groupWrite(c, g, "group.feed_rotate", "", func(ctx context.Context, tx *models.Tx) error {
		return tx.RotateGroupFeed(ctx, *g.User, g.ID)
	})
	if err != nil {
		s.modelError(c, "rotate group feed", err)
		return
	}
	s.redirectWithFlash(c, "/groups/"+g.ID+"#agenda", "success", "Le flux du groupe a une nouvelle adresse ; l’ancienne ne fonctionne plus.")
}

// sessionRow is a session as one line of a table, its texts made in Go:
// a group with hundreds of sessions renders without a template call per cell.
type sessionRow struct {
	ID, Title, When, Place, Places string
	Cancelled                      bool
	BadgeClass, BadgeLabel         string // the viewer's answer
}

func sessionRows(items []models.SessionListItem) []sessionRow {
	out := make([]sessionRow, len(items))
	for i, it := range items {
		r := sessionRow{ID: it.ID, Title: it.Title, When: render.DateTimeFR(it.StartsAt), Place: it.Place(), Cancelled: it.Cancelled()}
		if r.Place == "" && it.VideoURL != "" {
			r.Place = "Visioconférence"
		}
		switch {
		case it.Capacity > 0:
			r.Places = strconv.Itoa(it.Confirmed) + " / " + strconv.Itoa(it.Capacity)
			if it.Waiting > 0 {
				r.Places += " (+" + strconv.Itoa(it.Waiting) + " en attente)"
			}
		default:
			r.Places = strconv.Itoa(it.Confirmed) + " " + render.Plural(it.Confirmed, "inscrit", "inscrits")
		}
		r.BadgeClass, r.BadgeLabel = answerBadge(it)
		out[i] = r
	}
	return out
}

// answerBadge is the DSFR badge of the viewer's answer to a session.
func answerBadge(it models.SessionListItem) (class, label string) {
	switch {
	case it.Cancelled():
		return "", ""
	case it.Answer == models.AnswerYes && it.OnWaitlist:
		return "fr-badge--warning", "Liste d’attente"
	case it.Answer == models.AnswerYes:
		return "fr-badge--success", "Oui"
	case it.Answer == models.AnswerNo:
		return "", "Non"
	case it.Answer == models.AnswerMaybe:
		return "fr-badge--info", "Peut-être"
	}
	return "fr-badge--new", "À répondre"
}

// groupSessionsPage is a group's whole schedule.
type groupSessionsPage struct {
	Layout
	Group    models.Group
	Upcoming []sessionRow
	Past     []sessionRow
	Member   bool
}

func (s *Server) groupSessions(c *gin.Context) {
	ctx := c.Request.Context()
	g, ok := s.loadGroup(c, needGroupRoles)
	if !ok {
		return
	}
	u := g.User
	p := groupSessionsPage{Layout: s.layout(c, "Séances — "+g.Title, "groups", groupsCrumb, Crumb{Label: g.Title, URL: "/groups/" + g.ID}, Crumb{Label: "Séances"}),
		Group: g.Group, Member: g.Member != nil}
	up, err := s.Store.GroupSessions(ctx, g.ID, u.ID, true, 1000)
	if err != nil {
		s.serverError(c, "upcoming sessions", err)
		return
	}
	past, err := s.Store.GroupSessions(ctx, g.ID, u.ID, false, 1000)
	if err != nil {
		s.serverError(c, "past sessions", err)
		return
	}
	p.Upcoming, p.Past = sessionRows(up), sessionRows(past)
	s.render(c, http.StatusOK, "group_sessions", p)
}

package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// apiOps is the one list of the API's routes, with their documentation.
// Resources are added here as their models land.
func (s *Server) apiOps() []apiOp {
	ops := []apiOp{
		{Method: http.MethodGet, Path: "/openapi.json", Handler: s.apiOpenAPI, Tag: "documentation", Public: true,
			Summary: "Ce document OpenAPI 3.1", OK: http.StatusOK, Result: map[string]any{}},
		{Method: http.MethodGet, Path: "/me", Handler: s.apiMe, Tag: "compte",
			Summary: "L'utilisateur propriétaire de la clé", OK: http.StatusOK, Result: apiUser{}},

		// Groups.
		{Method: http.MethodGet, Path: "/groups", Handler: s.apiGroupList, Tag: "groupes",
			Summary: "L'annuaire des groupes de travail, les groupes de l'appelant d'abord",
			Query: []apiParam{
				{"q", "words to find in the title, summary or description", map[string]any{"type": "string"}},
				{"theme", "only this theme", map[string]any{"type": "string", "enum": []string{"role_metier", "comitologie", "hackathon_communs", "autre"}}},
				{"status", "active (default), archived, proposed or rejected (proposals: the caller's own, or all for an admin)", map[string]any{"type": "string", "enum": []string{"active", "archived", "proposed", "rejected"}}},
				{"mine", "true: only the caller's groups", map[string]any{"type": "boolean"}},
				paramLimit, paramCursor,
			},
			OK: http.StatusOK, Result: Page[apiGroup]{}},
		{Method: http.MethodPost, Path: "/groups", Handler: s.apiGroupCreate, Tag: "groupes",
			Summary: "Créer un groupe (organisateurs) ou le proposer aux administrateurs (agents)",
			Doc:     "The caller becomes its organiser. A group created by an agent is proposed and the admins are told by email.",
			Body:    apiGroupInput{}, OK: http.StatusCreated, Result: apiGroup{}, Location: true},
		{Method: http.MethodGet, Path: "/groups/:id", Handler: s.apiGroupShow, Tag: "groupes",
			Summary: "Un groupe", OK: http.StatusOK, Result: apiGroup{}},
		{Method: http.MethodPatch, Path: "/groups/:id", Handler: s.apiGroupUpdate, Tag: "groupes",
			Summary: "Modifier un groupe (organisateurs du groupe, administrateurs)",
			Body:    apiGroupPatch{}, OK: http.StatusOK, Result: apiGroup{}, Errors: []int{http.StatusForbidden}},
		{Method: http.MethodPost, Path: "/groups/:id/members", Handler: s.apiGroupJoin, Tag: "groupes",
			Summary: "Rejoindre le groupe, ou demander à le rejoindre",
			Doc: "Open group: 201, the caller is a member and receives the invitations to upcoming sessions. " +
				"Group on approval: 202, the request goes to the organisers by email. Invitation only: works when the caller was invited, else 403. The body is optional.",
			Body: apiJoinInput{}, BodyOptional: true, OK: http.StatusCreated, AltOK: http.StatusAccepted, Result: apiMembership{},
			Errors: []int{http.StatusForbidden, http.StatusConflict}},
		{Method: http.MethodDelete, Path: "/groups/:id/members/me", Handler: s.apiGroupLeave, Tag: "groupes",
			Summary: "Quitter le groupe", Doc: "A group keeps at least one organiser (409).",
			OK: http.StatusNoContent, Errors: []int{http.StatusForbidden, http.StatusConflict}},
		{Method: http.MethodGet, Path: "/groups/:id/members", Handler: s.apiGroupMembers, Tag: "groupes",
			Summary: "Les membres du groupe (membres et organisateurs)", Query: []apiParam{paramLimit, paramCursor},
			OK: http.StatusOK, Result: Page[apiMember]{}, Errors: []int{http.StatusForbidden}},

		// Sessions of groups.
		{Method: http.MethodGet, Path: "/groups/:id/sessions", Handler: s.apiGroupSessions, Tag: "séances",
			Summary: "Les séances du groupe",
			Query: []apiParam{{"when", "upcoming (default) or past", map[string]any{"type": "string", "enum": []string{"upcoming", "past"}}},
				paramLimit, paramCursor},
			OK: http.StatusOK, Result: Page[apiSession]{}},
		{Method: http.MethodPost, Path: "/groups/:id/sessions", Handler: s.apiSessionCreate, Tag: "séances",
			Summary: "Planifier une séance (organisateurs du groupe)", Doc: "Members receive the calendar invitation by email.",
			Body: apiSessionInput{}, OK: http.StatusCreated, Result: apiSession{}, Location: true,
			Errors: []int{http.StatusForbidden, http.StatusConflict}},
		{Method: http.MethodGet, Path: "/sessions/:id", Handler: s.apiSessionShow, Tag: "séances",
			Summary: "Une séance", OK: http.StatusOK, Result: apiSession{}},
		{Method: http.MethodPatch, Path: "/sessions/:id", Handler: s.apiSessionUpdate, Tag: "séances",
			Summary: "Modifier une séance (organisateurs)", Doc: "A change of title, time, place or video link sends the update to every participant's calendar (SEQUENCE + 1).",
			Body: apiSessionPatch{}, OK: http.StatusOK, Result: apiSession{}, Errors: []int{http.StatusForbidden, http.StatusConflict}},
		{Method: http.MethodPost, Path: "/sessions/:id/cancel", Handler: s.apiSessionCancel, Tag: "séances",
			Summary: "Annuler une séance (organisateurs)", Doc: "Participants receive the cancellation (METHOD:CANCEL).",
			OK: http.StatusOK, Result: apiSession{}, Errors: []int{http.StatusForbidden, http.StatusConflict}},
		{Method: http.MethodPut, Path: "/sessions/:id/rsvp", Handler: s.apiSessionRSVP, Tag: "séances",
			Summary: "Répondre à une séance : oui, non, peut-être (membres)",
			Doc:     "Beyond the capacity, yes puts the caller on the waiting list (state waitlisted, position). A place freed goes to the first in line, who is told by email.",
			Body:    apiRSVPInput{}, OK: http.StatusOK, Result: apiRSVP{}, Idempotent: true,
			Errors: []int{http.StatusForbidden, http.StatusConflict}},
		{Method: http.MethodGet, Path: "/sessions/:id/attendees", Handler: s.apiSessionAttendees, Tag: "séances",
			Summary: "Les réponses à une séance (membres et organisateurs)", Query: []apiParam{paramLimit, paramCursor},
			OK: http.StatusOK, Result: Page[apiAttendee]{}, Errors: []int{http.StatusForbidden}},

		// Date polls of groups.
		{Method: http.MethodGet, Path: "/polls/:id", Handler: s.apiPollShow, Tag: "sondages",
			Summary: "Un sondage de dates : ses créneaux avec les totaux et les réponses de l'appelant (membres et organisateurs du groupe)",
			Doc:     "Once closed on a slot, session_id names the session scheduled from it.",
			OK:      http.StatusOK, Result: apiPoll{}, Errors: []int{http.StatusForbidden}},
		{Method: http.MethodPut, Path: "/polls/:id/votes/me", Handler: s.apiPollVote, Tag: "sondages",
			Summary: "Répondre à un sondage de dates : oui, si besoin ou non par créneau (membres)",
			Doc: "Each answer given replaces the caller's previous one on that slot; the slots left out keep theirs. " +
				"Refused (409) once the poll is closed or its deadline has passed. The answer is the poll with its new totals.",
			Body: apiVotesInput{}, OK: http.StatusOK, Result: apiPoll{}, Errors: []int{http.StatusForbidden, http.StatusConflict}},

		// Events and registrations.
		{Method: http.MethodGet, Path: "/events", Handler: s.apiEventList, Tag: "événements",
			Summary: "Les événements publiés (et ceux que l'appelant organise)",
			Query: []apiParam{{"when", "upcoming (default) or all", map[string]any{"type": "string", "enum": []string{"upcoming", "all"}}},
				paramLimit, paramCursor},
			OK: http.StatusOK, Result: Page[apiEvent]{}},
		{Method: http.MethodPost, Path: "/events", Handler: s.apiEventCreate, Tag: "événements",
			Summary: "Créer un événement en brouillon (organisateurs)", Doc: "Programme, quotas, correspondents and publication are set on the web pages.",
			Body: apiEventInput{}, OK: http.StatusCreated, Result: apiEvent{}, Location: true, Errors: []int{http.StatusForbidden}},
		{Method: http.MethodGet, Path: "/events/:id", Handler: s.apiEventShow, Tag: "événements",
			Summary: "Un événement, avec ses quotas et ses ateliers", OK: http.StatusOK, Result: apiEvent{}},
		{Method: http.MethodPatch, Path: "/events/:id", Handler: s.apiEventUpdate, Tag: "événements",
			Summary: "Modifier un événement (organisateurs de l'événement)", Doc: "A change of time or place is sent to the registrants' calendars.",
			Body: apiEventPatch{}, OK: http.StatusOK, Result: apiEvent{}, Errors: []int{http.StatusForbidden}},
		{Method: http.MethodGet, Path: "/events/:id/registrations", Handler: s.apiEventRegistrations, Tag: "événements",
			Summary: "Les inscriptions : toutes pour les organisateurs, celles de leurs directions pour les référents, la sienne pour un agent",
			Query: []apiParam{
				{"q", "part of the name or email", map[string]any{"type": "string"}},
				{"direction", "one direction code", map[string]any{"type": "string"}},
				{"state", "confirmed, waitlisted or cancelled", map[string]any{"type": "string", "enum": []string{"confirmed", "waitlisted", "cancelled"}}},
				paramLimit, paramCursor},
			OK: http.StatusOK, Result: Page[apiRegistration]{}},
		{Method: http.MethodPost, Path: "/events/:id/registrations", Handler: s.apiRegister, Tag: "événements",
			Summary: "S'inscrire, ou inscrire quelqu'un (organisateurs ; référents pour les agents de leur direction)",
			Doc: "Confirmed when a seat is free for the person's direction (its quota first, then the unreserved seats), otherwise waitlisted in order of arrival. " +
				"The person receives the confirmation with the calendar invitation by email.",
			Body: apiRegistrationInput{}, OK: http.StatusCreated, Result: apiRegistration{}, Location: true, Idempotent: true,
			Errors: []int{http.StatusForbidden, http.StatusConflict}},
		{Method: http.MethodGet, Path: "/registrations/:id", Handler: s.apiRegistrationShow, Tag: "événements",
			Summary: "Une inscription (la personne, les organisateurs, les référents de sa direction)", OK: http.StatusOK, Result: apiRegistration{}},
		{Method: http.MethodPatch, Path: "/registrations/:id", Handler: s.apiRegistrationUpdate, Tag: "événements",
			Summary: "Modifier une inscription : nom, mode, ateliers, réponses",
			Doc:     "Switching to on_site needs a free seat (409); leaving a seat gives it to the next in line.",
			Body:    apiRegistrationPatch{}, OK: http.StatusOK, Result: apiRegistration{}, Errors: []int{http.StatusConflict}},
		{Method: http.MethodDelete, Path: "/registrations/:id", Handler: s.apiRegistrationCancel, Tag: "événements",
			Summary: "Annuler une inscription", Doc: "The seat goes to the next in line, who is told by email; the person's calendar gets the cancellation.",
			OK: http.StatusOK, Result: apiRegistration{}, Errors: []int{http.StatusConflict}},
	}
	return ops
}

// registerAPI mounts the API under /api/v1.
func (s *Server) registerAPI(r *gin.Engine) {
	ops := s.apiOps()
	s.openapi = s.openAPIDocument(ops)
	base := r.Group(apiBase, s.requestContext, s.apiRecover, s.apiHeaders, s.apiRateLimitIP, s.apiLimitBody)
	authed := base.Group("", s.apiAuth, s.apiRateLimitKey, s.apiAudit)
	for _, op := range ops {
		g := authed
		if op.Public {
			g = base
		}
		g.Handle(op.Method, op.Path, op.Handler)
	}
}

// apiOpenAPI serves the OpenAPI document.
func (s *Server) apiOpenAPI(c *gin.Context) {
	c.Header("Content-Type", "application/json; charset=utf-8")
	c.Header("Cache-Control", "public, max-age=300")
	c.Header("Access-Control-Allow-Origin", "*")
	c.Writer.WriteHeader(http.StatusOK)
	_, _ = c.Writer.Write(s.openapi)
}

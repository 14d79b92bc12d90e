package handlers

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/dnum-sociaux/agora/models"
)

// The export of one's own data (RGPD right of access and portability).
// It holds only the user's own records and no secret (no token, no key hash,
// no check-in code).

type dataExport struct {
	ExportedAt    time.Time           `json:"exported_at"`
	Account       dataAccount         `json:"account"`
	Memberships   []dataMembership    `json:"memberships"`
	JoinRequests  []dataJoinRequest   `json:"join_requests"`
	SessionAnswer []dataSessionAnswer `json:"session_answers"`
	Registrations []dataRegistration  `json:"event_registrations"`
	PollVotes     []dataPollVote      `json:"poll_votes"`
	// The audit log: what the person did, and what others (or Agora) did
	// to their account, without naming those others.
	AuditByYou    []dataAuditEntry `json:"audit_entries_by_you"`
	AuditAboutYou []dataAuditEntry `json:"audit_entries_about_your_account"`
}

type dataAccount struct {
	ID          string     `json:"id"`
	Email       string     `json:"email"`
	Name        string     `json:"name"`
	Direction   string     `json:"direction"`
	Role        string     `json:"role"`
	NotifyEmail bool       `json:"notify_email"`
	CreatedAt   time.Time  `json:"created_at"`
	LastLoginAt *time.Time `json:"last_login_at"`
}

type dataMembership struct {
	GroupID     string    `json:"group_id"`
	GroupTitle  string    `json:"group_title"`
	GroupStatus string    `json:"group_status"` // proposed, active, archived, rejected
	Role        string    `json:"role"`
	Invitations bool      `json:"calendar_invitations"`
	JoinedAt    time.Time `json:"joined_at"`
}

type dataJoinRequest struct {
	GroupID     string     `json:"group_id"`
	GroupTitle  string     `json:"group_title"`
	Message     string     `json:"message"`
	Status      string     `json:"status"` // pending, accepted, declined
	RequestedAt time.Time  `json:"requested_at"`
	DecidedAt   *time.Time `json:"decided_at,omitempty"`
}

type dataAuditEntry struct {
	At         time.Time `json:"at"`
	Action     string    `json:"action"`
	TargetType string    `json:"target_type,omitempty"`
	TargetID   string    `json:"target_id,omitempty"`
	Detail     string    `json:"detail,omitempty"`
}

type dataSessionAnswer struct {
	SessionID    string    `json:"session_id"`
	SessionTitle string    `json:"session_title"`
	GroupID      string    `json:"group_id,omitempty"`
	StartsAt     time.Time `json:"starts_at"`
	Answer       string    `json:"answer"`
	Waiting      bool      `json:"waiting_list"`
	AnsweredAt   time.Time `json:"answered_at"`
}

type dataRegistration struct {
	ID         string            `json:"id"`
	EventID    string            `json:"event_id"`
	EventTitle string            `json:"event_title"`
	Email      string            `json:"email"`
	Name       string            `json:"name"`
	Direction  string            `json:"direction"`
	Mode       string            `json:"mode"`
	State      string            `json:"state"`
	CreatedAt  time.Time         `json:"created_at"`
	Cancelled  *time.Time        `json:"cancelled_at,omitempty"`
	CheckedIn  *time.Time        `json:"checked_in_at,omitempty"`
	Answers    map[string]string `json:"answers"` // question label → answer
}

type dataPollVote struct {
	PollID    string    `json:"poll_id"`
	PollTitle string    `json:"poll_title"`
	GroupID   string    `json:"group_id"`
	SlotStart time.Time `json:"slot_starts_at"`
	SlotEnd   time.Time `json:"slot_ends_at"`
	Vote      string    `json:"vote"`
	VotedAt   time.Time `json:"voted_at"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// profileData answers GET /profile/data: the user's own data as a JSON file.
func (s *Server) profileData(c *gin.Context) {
	ctx := c.Request.Context()
	u := currentUser(c)
	out, err := s.collectOwnData(ctx, u)
	if err != nil {
		s.serverError(c, "export own data", err)
		return
	}
	body, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		s.serverError(c, "encode own data", err)
		return
	}
	err = s.Store.Tx(ctx, func(tx *models.Tx) error {
		return tx.Audit(ctx, actor(c), "user.export", "user", u.ID, "")
	})
	if err != nil {
		s.serverError(c, "audit own data export", err)
		return
	}
	c.Header("Content-Disposition", `attachment; filename="agora-mes-donnees.json"`)
	c.Header("Cache-Control", "no-store")
	c.Data(http.StatusOK, "application/json; charset=utf-8", body)
}

func (s *Server) collectOwnData(ctx context.Context, u *models.User) (dataExport, error) {
	db := &s.Store.DB
	out := dataExport{
		ExportedAt: s.Store.Now().UTC(),
		Account: dataAccount{
			ID: u.ID, Email: u.Email, Name: u.Name, Direction: u.DirectionCode, Role: string(u.Role),
			NotifyEmail: u.NotifyEmail, CreatedAt: u.CreatedAt.UTC(), LastLoginAt: optTime(u.LastLoginAt.UTC()),
		},
		Memberships: []dataMembership{}, JoinRequests: []dataJoinRequest{}, SessionAnswer: []dataSessionAnswer{},
		Registrations: []dataRegistration{}, PollVotes: []dataPollVote{},
		AuditByYou: []dataAuditEntry{}, AuditAboutYou: []dataAuditEntry{},
	}
	groups, err := db.UserMemberships(ctx, u.ID)
	if err != nil {
		return out, err
	}
	for _, g := range groups {
		out.Memberships = append(out.Memberships, dataMembership{GroupID: g.GroupID, GroupTitle: g.GroupTitle,
			GroupStatus: string(g.GroupStatus), Role: string(g.Role), Invitations: g.Invitations, JoinedAt: g.JoinedAt})
	}
	requests, err := db.UserJoinRequests(ctx, u.ID)
	if err != nil {
		return out, err
	}
	for _, r := range requests {
		out.JoinRequests = append(out.JoinRequests, dataJoinRequest{GroupID: r.GroupID, GroupTitle: r.GroupTitle, Message: r.Message,
			Status: r.Status, RequestedAt: r.CreatedAt, DecidedAt: optTime(r.DecidedAt)})
	}
	answers, err := db.UserSessionAnswers(ctx, u.ID)
	if err != nil {
		return out, err
	}
	for _, a := range answers {
		out.SessionAnswer = append(out.SessionAnswer, dataSessionAnswer{
			SessionID: a.SessionID, SessionTitle: a.SessionTitle, GroupID: a.GroupID, StartsAt: a.StartsAt,
			Answer: string(a.Answer), Waiting: a.Waiting, AnsweredAt: a.AnsweredAt,
		})
	}
	regs, err := db.UserRegistrations(ctx, u.ID, u.Email)
	if err != nil {
		return out, err
	}
	for _, r := range regs {
		e, err := db.EventByID(ctx, r.EventID)
		if err != nil {
			return out, err
		}
		questions, err := db.EventQuestions(ctx, r.EventID)
		if err != nil {
			return out, err
		}
		labels := map[string]string{}
		for _, q := range questions {
			labels[q.ID] = q.Label
		}
		values, err := db.RegistrationAnswers(ctx, r.ID)
		if err != nil {
			return out, err
		}
		named := map[string]string{}
		for qid, v := range values {
			if l, ok := labels[qid]; ok {
				named[l] = v
			} else {
				named[qid] = v
			}
		}
		out.Registrations = append(out.Registrations, dataRegistration{
			ID: r.ID, EventID: r.EventID, EventTitle: e.Title, Email: r.Email, Name: r.Name, Direction: r.DirectionCode,
			Mode: string(r.Mode), State: string(r.State), CreatedAt: r.CreatedAt.UTC(),
			Cancelled: optTime(r.CancelledAt.UTC()), CheckedIn: optTime(r.CheckedInAt.UTC()), Answers: named,
		})
	}
	votes, err := db.UserAllPollVotes(ctx, u.ID)
	if err != nil {
		return out, err
	}
	for _, v := range votes {
		out.PollVotes = append(out.PollVotes, dataPollVote{
			PollID: v.PollID, PollTitle: v.PollTitle, GroupID: v.GroupID, SlotStart: v.StartsAt, SlotEnd: v.EndsAt,
			Vote: string(v.Vote), VotedAt: v.VotedAt,
		})
	}
	made, about, err := db.UserAuditEntries(ctx, u.ID)
	if err != nil {
		return out, err
	}
	for _, e := range made {
		out.AuditByYou = append(out.AuditByYou, dataAuditEntry{At: e.At, Action: e.Action, TargetType: e.TargetType, TargetID: e.TargetID, Detail: e.Detail})
	}
	for _, e := range about {
		// Who did it is left out: another person's account, or Agora.
		out.AuditAboutYou = append(out.AuditAboutYou, dataAuditEntry{At: e.At, Action: e.Action, Detail: e.Detail})
	}
	return out, nil
}

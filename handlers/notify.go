package handlers

import (
	"context"
	"fmt"

	"github.com/dnum-sociaux/agora/internal/invite"
	"github.com/dnum-sociaux/agora/models"
)

// notice is the .Data of the "notice" email: a short message with one link.
type notice struct {
	Subject    string
	Name       string // the recipient's name, for the greeting
	Paragraphs []string
	LinkLabel  string
	Link       string
}

// notify queues a notice email to u in tx; dedupe names the cause.
func (s *Server) notify(ctx context.Context, tx *models.Tx, u models.User, kind, dedupe string, n notice) error {
	n.Name = u.Name
	var paras []string
	for _, p := range n.Paragraphs {
		if p != "" {
			paras = append(paras, p)
		}
	}
	n.Paragraphs = paras
	m, err := s.Mail.Compose(kind, dedupe, u.Email, "notice", n)
	if err != nil {
		return err
	}
	_, err = tx.Enqueue(ctx, m)
	return err
}

// tellPromoted emails the members a freed place went to.
func (s *Server) tellPromoted(ctx context.Context, tx *models.Tx, promos []models.Promotion) error {
	for _, p := range promos {
		sess, err := tx.SessionByID(ctx, p.SessionID)
		if err != nil {
			return err
		}
		u, err := tx.UserByID(ctx, p.UserID)
		if err != nil {
			return err
		}
		what := sessionLabel(sess)
		if err := s.notify(ctx, tx, u, "session.promoted", fmt.Sprintf("session:%s:promoted:%s:%d", p.SessionID, p.UserID, p.QueueNo), notice{
			Subject:    "Une place s’est libérée : " + sess.Title,
			Paragraphs: []string{"Bonne nouvelle : une place s’est libérée pour " + what + ". Vous étiez en liste d’attente ; votre participation est maintenant confirmée.", "Si vous ne pouvez plus venir, répondez « Non » sur Agora pour laisser la place à la personne suivante."},
			LinkLabel:  "Voir la séance", Link: s.Invite.SessionURL(sess),
		}); err != nil {
			return err
		}
	}
	return nil
}

// queueSession sends a group session's calendar messages in tx: to every
// member who keeps invitations on and has not declined.
func (s *Server) queueSession(ctx context.Context, tx *models.Tx, change invite.Change, sess models.Session, before *models.Session) error {
	g, err := tx.GroupByID(ctx, sess.GroupID)
	if err != nil {
		return err
	}
	rs, err := tx.SessionRecipients(ctx, sess, false)
	if err != nil {
		return err
	}
	users := make([]models.User, len(rs))
	for i, r := range rs {
		users[i] = r.User
	}
	_, err = s.Invite.QueueSession(ctx, tx, change, sess, before, g.Title, users)
	return err
}

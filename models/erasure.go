package models

import (
	"context"
	"fmt"
)

// Erasure of an account (RGPD right to erasure, ADR 0012): by the person
// from their profile, or by an administrator.

// ErasedName is the name left on the registrations an erased person had:
// organisers keep their counts (per direction, attendance), not the person.
const ErasedName = "(compte supprimé)"

// ErasureBlocked tells why an account cannot be erased now: its owner alone
// organises groups or events that go on, or is the last administrator.
// Someone must take over first.
type ErasureBlocked struct {
	Groups    []string // titles of the proposed or active groups they alone organise
	Events    []string // titles of the events not over, cancelled nor archived they alone organise
	LastAdmin bool
}

func (e *ErasureBlocked) Error() string {
	return fmt.Sprintf("account cannot be erased: last organiser of %d group(s) and %d event(s), last admin %v",
		len(e.Groups), len(e.Events), e.LastAdmin)
}

// ErasureBlockers tells what stands in the way of erasing u (nil: nothing),
// for the confirmation page; EraseUser checks again, under locks.
func (d *DB) ErasureBlockers(ctx context.Context, u User) (*ErasureBlocked, error) {
	var b ErasureBlocked
	var err error
	b.Groups, err = d.queryStrings(ctx, `SELECT g.title FROM work_groups g
		JOIN group_members m ON m.group_id = g.id AND m.user_id = ? AND m.role = ?
		WHERE g.status IN (?, ?) AND NOT EXISTS (SELECT 1 FROM group_members o
			WHERE o.group_id = g.id AND o.role = ? AND o.user_id <> ?)
		ORDER BY g.title`, u.ID, RoleGroupOrganiser, GroupProposed, GroupActive, RoleGroupOrganiser, u.ID)
	if err != nil {
		return nil, fmt.Errorf("groups only %s organises: %w", u.ID, err)
	}
	b.Events, err = d.queryStrings(ctx, `SELECT e.title FROM events e JOIN event_organisers o ON o.event_id = e.id AND o.user_id = ?
		WHERE e.status NOT IN (?, ?) AND e.ends_at > ? AND NOT EXISTS (SELECT 1 FROM event_organisers x
			WHERE x.event_id = e.id AND x.user_id <> ?)
		ORDER BY e.starts_at, e.title`, u.ID, EventCancelled, EventArchived, d.Now(), u.ID)
	if err != nil {
		return nil, fmt.Errorf("events only %s organises: %w", u.ID, err)
	}
	if u.Role == RoleAdmin {
		n, err := d.CountAdmins(ctx)
		if err != nil {
			return nil, err
		}
		b.LastAdmin = n <= 1
	}
	if len(b.Groups) == 0 && len(b.Events) == 0 && !b.LastAdmin {
		return nil, nil
	}
	return &b, nil
}

// Erasure is what EraseUser did, for the caller to tell people: the
// calendars of the groups left, the places freed.
type Erasure struct {
	User        User        // the account as it was: the last emails go to its address
	Left        []LeftGroup // the groups the person was in
	Promotions  []Promotion // members given a place the person freed in a session
	Cancelled   int         // event registrations cancelled (places freed, calendars cancelled)
	Anonymised  int         // registrations kept without name, address nor answers
	MailDropped int         // emails to the person deleted from the outbox
}

// LeftGroup is a group the erased person was in, with the sessions to come
// that were in their calendar (invitations on, not declined).
type LeftGroup struct {
	GroupID, Title string
	Upcoming       []Session
}

// EraseUser erases an account, in the transaction of the caller, who then
// tells people (Erasure) and commits. It refuses with *ErasureBlocked when
// the person alone organises a group or an event that goes on, or is the
// last administrator. Otherwise:
//
//   - emails to the person still in the outbox are deleted (but one being
//     sent), before the ones this erasure queues;
//   - registrations to events not over are cancelled as the person would
//     (CancelRegistration with n: seats go to the waiting list, the
//     calendar gets a CANCEL); every registration of the person is then
//     kept without name, address, answers nor management links;
//   - the person leaves every group (answers to upcoming sessions and open
//     polls dropped, waiting lists served); past answers, attendance, poll
//     votes, organiser and correspondent roles, API keys, web sessions,
//     ProConnect identities go with the account (foreign keys);
//   - login links and group invitations to the address are deleted;
//   - the audit log keeps the account's id but no longer its address;
//   - the user row is deleted, and "user.erase" audited without personal data.
func (tx *Tx) EraseUser(ctx context.Context, n Notifier, a Actor, userID string) (Erasure, error) {
	u, err := tx.UserByID(ctx, userID)
	if err != nil {
		return Erasure{}, err
	}
	out := Erasure{User: u}
	if err := tx.lockForErasure(ctx, u); err != nil {
		return out, err
	}
	if b, err := tx.ErasureBlockers(ctx, u); err != nil {
		return out, err
	} else if b != nil {
		return out, b
	}
	res, err := tx.exec(ctx, "DELETE FROM outbox WHERE recipient = ? AND state <> ?", u.Email, MailSending)
	if err != nil {
		return out, fmt.Errorf("erase %s: emails: %w", u.ID, err)
	}
	dropped, _ := res.RowsAffected()
	out.MailDropped = int(dropped)

	if err := tx.eraseRegistrations(ctx, n, a, u, &out); err != nil {
		return out, err
	}
	if err := tx.leaveGroups(ctx, u, &out); err != nil {
		return out, err
	}
	for _, q := range []string{"DELETE FROM login_tokens WHERE email = ?", "DELETE FROM group_invitations WHERE email = ?"} {
		if _, err := tx.exec(ctx, q, u.Email); err != nil {
			return out, fmt.Errorf("erase %s: %w", u.ID, err)
		}
	}
	// The audit log: the account's id stays (what it did remains traceable
	// until the entries expire), its address goes, from the details too.
	if _, err := tx.exec(ctx, "UPDATE audit_log SET actor_email = '' WHERE actor_id = ? OR actor_email = ?", u.ID, u.Email); err != nil {
		return out, fmt.Errorf("erase %s: audit actor: %w", u.ID, err)
	}
	if _, err := tx.exec(ctx, `UPDATE audit_log SET detail = REPLACE(detail, ?, '(adresse effacée)') WHERE detail LIKE ? ESCAPE '\'`,
		u.Email, "%"+escapeLike(u.Email)+"%"); err != nil {
		return out, fmt.Errorf("erase %s: audit details: %w", u.ID, err)
	}
	if _, err := tx.exec(ctx, "DELETE FROM users WHERE id = ?", u.ID); err != nil {
		return out, fmt.Errorf("erase %s: %w", u.ID, err)
	}
	if a.UserID == u.ID {
		a.Email = ""
	}
	detail := fmt.Sprintf("%d groupe(s) quitté(s), %d inscription(s) annulée(s), %d anonymisée(s), %d courriel(s) supprimé(s)",
		len(out.Left), out.Cancelled, out.Anonymised, out.MailDropped)
	return out, tx.Audit(ctx, a, "user.erase", "user", u.ID, detail)
}

// lockForErasure takes, in a fixed order, the locks under which the
// erasure's rules are checked: the admins' rows (as SetRole), then the
// groups and the events the person organises.
func (tx *Tx) lockForErasure(ctx context.Context, u User) error {
	if u.Role == RoleAdmin {
		if _, err := tx.exec(ctx, "UPDATE users SET role = role WHERE role = ?", RoleAdmin); err != nil {
			return fmt.Errorf("lock admins: %w", err)
		}
	}
	groups, err := tx.queryStrings(ctx, "SELECT group_id FROM group_members WHERE user_id = ? AND role = ? ORDER BY group_id", u.ID, RoleGroupOrganiser)
	if err != nil {
		return fmt.Errorf("groups of %s: %w", u.ID, err)
	}
	for _, id := range groups {
		if err := tx.lockRow(ctx, "work_groups", id); err != nil {
			return err
		}
	}
	events, err := tx.queryStrings(ctx, "SELECT event_id FROM event_organisers WHERE user_id = ? ORDER BY event_id", u.ID)
	if err != nil {
		return fmt.Errorf("events of %s: %w", u.ID, err)
	}
	for _, id := range events {
		if _, err := tx.lockEvent(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// eraseRegistrations cancels the person's registrations to events not
// over, then strips every registration of theirs of what names them.
func (tx *Tx) eraseRegistrations(ctx context.Context, n Notifier, a Actor, u User, out *Erasure) error {
	regs, err := tx.UserRegistrations(ctx, u.ID, u.Email)
	if err != nil {
		return err
	}
	now := tx.Now()
	for _, r := range regs {
		if r.State == RegCancelled {
			continue
		}
		e, err := tx.EventByID(ctx, r.EventID)
		if err != nil {
			return err
		}
		if (e.Status != EventPublished && e.Status != EventClosed) || !now.Before(e.EndsAt) {
			continue // over, cancelled (everyone was told) or never published
		}
		if _, err := tx.CancelRegistration(ctx, n, a, r.ID, false); err != nil {
			return fmt.Errorf("erase %s: cancel registration %s: %w", u.ID, r.ID, err)
		}
		out.Cancelled++
	}
	for _, r := range regs {
		// .invalid never resolves (RFC 2606); the id keeps (event, email) unique.
		_, err := tx.exec(ctx, "UPDATE registrations SET email = ?, name = ?, user_id = NULL, updated_at = ? WHERE id = ?",
			"efface-"+r.ID+"@agora.invalid", ErasedName, now, r.ID)
		if err != nil {
			return fmt.Errorf("erase %s: registration %s: %w", u.ID, r.ID, err)
		}
		for _, q := range []string{"DELETE FROM registration_answers WHERE registration_id = ?", "DELETE FROM registration_links WHERE registration_id = ?"} {
			if _, err := tx.exec(ctx, q, r.ID); err != nil {
				return fmt.Errorf("erase %s: registration %s: %w", u.ID, r.ID, err)
			}
		}
		out.Anonymised++
	}
	return nil
}

// leaveGroups takes the person out of every group, as leaving it would,
// but also out of the archived or refused groups they alone organised.
func (tx *Tx) leaveGroups(ctx context.Context, u User, out *Erasure) error {
	rows, err := tx.query(ctx, `SELECT g.id, g.title, m.invitations FROM group_members m JOIN work_groups g ON g.id = m.group_id
		WHERE m.user_id = ? ORDER BY g.id`, u.ID)
	if err != nil {
		return fmt.Errorf("groups of %s: %w", u.ID, err)
	}
	type membership struct {
		left        LeftGroup
		invitations bool
	}
	all, err := collect(rows, func(row rowScanner) (membership, error) {
		var m membership
		err := row.Scan(&m.left.GroupID, &m.left.Title, &m.invitations)
		return m, err
	})
	if err != nil {
		return err
	}
	for _, m := range all {
		if err := tx.lockRow(ctx, "work_groups", m.left.GroupID); err != nil {
			return err
		}
		if m.invitations {
			upcoming, err := tx.GroupSessions(ctx, m.left.GroupID, u.ID, true, 100)
			if err != nil {
				return err
			}
			for _, it := range upcoming {
				if it.Answer != AnswerNo {
					m.left.Upcoming = append(m.left.Upcoming, it.Session)
				}
			}
		}
		promos, err := tx.dropMember(ctx, m.left.GroupID, u.ID)
		if err != nil {
			return err
		}
		out.Promotions = append(out.Promotions, promos...)
		out.Left = append(out.Left, m.left)
	}
	return nil
}

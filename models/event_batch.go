package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// BatchLine is one person to register in a batch (a correspondent's form or
// CSV file).
type BatchLine struct {
	Line  int // line number in the file, for the report
	Email string
	Name  string
	Mode  Mode
}

// BatchResult is what happened to one line.
type BatchResult struct {
	BatchLine
	State RegState // confirmed or waitlisted when accepted
	Err   error    // why the line was refused (ErrAlreadyRegistered, ErrForbidden …)
}

// RegisterBatch registers people of one direction for the event, in one
// transaction and in order: each line is confirmed or waitlisted by the same
// seat rules as a person registering alone, or refused (already registered,
// mode not offered). A refusal that concerns the whole batch (registration
// closed, not allowed for the direction) returns an error and nothing is
// applied. Every accepted person gets their own confirmation.
func (tx *Tx) RegisterBatch(ctx context.Context, n Notifier, a Actor, by *User, eventID, direction string, lines []BatchLine) ([]BatchResult, error) {
	out := make([]BatchResult, 0, len(lines))
	for _, l := range lines {
		r, err := tx.Register(ctx, n, NewRegistration{EventID: eventID, Email: l.Email, Name: l.Name, DirectionCode: direction,
			Mode: l.Mode, By: by, Actor: a})
		switch {
		case err == nil:
			out = append(out, BatchResult{BatchLine: l, State: r.State})
		case errors.Is(err, ErrAlreadyRegistered), errors.Is(err, ErrModeNotOffered):
			out = append(out, BatchResult{BatchLine: l, Err: err})
		default:
			return nil, err
		}
	}
	return out, nil
}

// EventMessage is a message sent by organisers to registrants.
type EventMessage struct {
	ID         string
	EventID    string
	Subject    string
	Body       string
	Audience   string
	Recipients int
}

// SendEventMessage records a message to the registrations matching f and
// calls send for each of them (one email per person), in the transaction.
// Without a state in f, it goes to the confirmed and waitlisted people.
func (tx *Tx) SendEventMessage(ctx context.Context, a Actor, f RegistrationFilter, subject, body, audience string,
	send func(m EventMessage, r Registration) error) (EventMessage, error) {
	if f.State == "" && len(f.States) == 0 {
		f.States = []RegState{RegConfirmed, RegWaitlisted}
	}
	m := EventMessage{ID: NewID(), EventID: f.EventID, Subject: strings.TrimSpace(subject), Body: body, Audience: audience}
	cond, args := f.where("")
	rows, err := tx.query(ctx, "SELECT "+regColumns+" FROM registrations WHERE "+cond+" ORDER BY seq, id", args...)
	if err != nil {
		return m, fmt.Errorf("message recipients: %w", err)
	}
	regs, err := collectRegistrations(rows)
	if err != nil {
		return m, err
	}
	for _, r := range regs {
		if err := send(m, r); err != nil {
			return m, err
		}
	}
	m.Recipients = len(regs)
	_, err = tx.exec(ctx, `INSERT INTO event_messages (id, event_id, subject, body, audience, recipients, sent_by, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, m.ID, m.EventID, m.Subject, m.Body, m.Audience, m.Recipients, nullString(a.UserID), tx.Now())
	if err != nil {
		return m, fmt.Errorf("record message: %w", err)
	}
	return m, tx.Audit(ctx, a, "event.message", "event", f.EventID, fmt.Sprintf("%s (%d destinataires)", m.Subject, m.Recipients))
}

// EventMessages lists the messages sent for an event, newest first.
func (d *DB) EventMessages(ctx context.Context, eventID string) ([]EventMessage, error) {
	rows, err := d.query(ctx, `SELECT id, event_id, subject, body, audience, recipients FROM event_messages
		WHERE event_id = ? ORDER BY created_at DESC, id DESC`, eventID)
	if err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	defer rows.Close()
	var out []EventMessage
	for rows.Next() {
		var m EventMessage
		if err := rows.Scan(&m.ID, &m.EventID, &m.Subject, &m.Body, &m.Audience, &m.Recipients); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// --- reminders ---

// ReminderKind is "week" or "day".
type ReminderKind string

const (
	ReminderWeek ReminderKind = "week"
	ReminderDay  ReminderKind = "day"
)

// DueEventReminders returns the events whose reminder of kind is due at Now
// and not sent yet: a week (or a day) before the start, while the event
// has not started.
func (d *DB) DueEventReminders(ctx context.Context, kind ReminderKind) ([]Event, error) {
	col, before := "reminder_week_sent_at", d.Now().Add(7*24*time.Hour)
	if kind == ReminderDay {
		col, before = "reminder_day_sent_at", d.Now().Add(24*time.Hour)
	}
	rows, err := d.query(ctx, "SELECT "+eventColumns+" FROM events WHERE status IN (?, ?) AND "+col+
		" IS NULL AND starts_at <= ? AND starts_at > ? ORDER BY starts_at", EventPublished, EventClosed, before, d.Now())
	if err != nil {
		return nil, fmt.Errorf("due reminders: %w", err)
	}
	return collect(rows, scanEvent)
}

// SendEventReminders marks the event's reminder of kind as sent and calls send
// for every confirmed registration, in the transaction. It reports false
// when another run already sent it (nothing is sent twice, across restarts
// and concurrent runs).
func (tx *Tx) SendEventReminders(ctx context.Context, eventID string, kind ReminderKind, send func(e Event, r Registration) error) (bool, int, error) {
	col := "reminder_week_sent_at"
	if kind == ReminderDay {
		col = "reminder_day_sent_at"
	}
	if _, err := tx.lockEvent(ctx, eventID); err != nil {
		return false, 0, err
	}
	res, err := tx.exec(ctx, "UPDATE events SET "+col+" = ? WHERE id = ? AND "+col+" IS NULL", tx.Now(), eventID)
	if err != nil {
		return false, 0, fmt.Errorf("mark reminder: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, 0, nil
	}
	e, err := tx.EventByID(ctx, eventID)
	if err != nil {
		return false, 0, err
	}
	count := 0
	err = tx.eachRegistration(ctx, eventID, RegConfirmed, func(r Registration) error {
		count++
		return send(e, r)
	})
	if err != nil {
		return false, 0, err
	}
	return true, count, tx.Audit(ctx, Actor{Email: "system"}, "event.reminder", "event", eventID, fmt.Sprintf("%s : %d", kind, count))
}

package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/teambition/rrule-go"
)

// Frequency is how often a series repeats.
type Frequency string

const (
	Weekly   Frequency = "weekly"
	Biweekly Frequency = "biweekly" // every two weeks
	Monthly  Frequency = "monthly"
)

// Valid tells whether f is a known frequency.
func (f Frequency) Valid() bool { return f == Weekly || f == Biweekly || f == Monthly }

// Label is the frequency's French name.
func (f Frequency) Label() string {
	switch f {
	case Weekly:
		return "Toutes les semaines"
	case Biweekly:
		return "Toutes les deux semaines"
	case Monthly:
		return "Tous les mois"
	}
	return string(f)
}

// MaxSeriesOccurrences bounds a series made in one go.
const MaxSeriesOccurrences = 52

// SeriesRule says how a series repeats: Count occurrences, or until the
// last one starting on or before Until (a Paris date).
type SeriesRule struct {
	Freq  Frequency
	Count int
	Until time.Time
}

// RRule returns the rule with RFC 5545 semantics, in Paris wall-clock time
// from start: every occurrence starts at the same Paris hour, whatever the
// daylight-saving changes in between.
func (r SeriesRule) RRule(start time.Time) (*rrule.RRule, error) {
	opt := rrule.ROption{Dtstart: start.In(Paris), Interval: 1}
	switch r.Freq {
	case Weekly:
		opt.Freq = rrule.WEEKLY
	case Biweekly:
		opt.Freq, opt.Interval = rrule.WEEKLY, 2
	case Monthly:
		opt.Freq = rrule.MONTHLY
	default:
		return nil, fmt.Errorf("series: unknown frequency %q", r.Freq)
	}
	switch {
	case r.Count > 0:
		opt.Count = min(r.Count, MaxSeriesOccurrences)
	case !r.Until.IsZero():
		u := r.Until.In(Paris)
		opt.Until = time.Date(u.Year(), u.Month(), u.Day(), 23, 59, 59, 0, Paris)
		opt.Count = MaxSeriesOccurrences
	default:
		return nil, errors.New("series: give a number of occurrences or an end date")
	}
	return rrule.NewRRule(opt)
}

// Occurrences returns the start times of the series from start, in UTC.
func (r SeriesRule) Occurrences(start time.Time) ([]time.Time, error) {
	rr, err := r.RRule(start)
	if err != nil {
		return nil, err
	}
	all := rr.All()
	out := make([]time.Time, len(all))
	for i, t := range all {
		out[i] = t.UTC()
	}
	return out, nil
}

// CreateSeries schedules a series of sessions in one go (organisers,
// admins): one session per occurrence, each with its own UID, all sharing a
// series id. Each lasts as long as the first.
func (tx *Tx) CreateSeries(ctx context.Context, by User, in NewSession, rule SeriesRule) ([]Session, error) {
	if in.GroupID == "" {
		return nil, errSessionOwnerNotAGroup
	}
	if err := in.check(); err != nil {
		return nil, err
	}
	if err := tx.mustManageActive(ctx, by, in.GroupID); err != nil {
		return nil, err
	}
	if !in.StartsAt.After(tx.Now()) {
		return nil, ErrSessionStarted
	}
	rr, err := rule.RRule(in.StartsAt)
	if err != nil {
		return nil, err
	}
	starts := rr.All()
	if len(starts) == 0 {
		return nil, errors.New("series: no occurrence")
	}
	seriesID := NewID()
	_, err = tx.exec(ctx, "INSERT INTO session_series (id, group_id, rrule, created_at) VALUES (?, ?, ?, ?)",
		seriesID, in.GroupID, rr.String(), tx.Now())
	if err != nil {
		return nil, fmt.Errorf("create series: %w", err)
	}
	length := in.EndsAt.Sub(in.StartsAt)
	out := make([]Session, 0, len(starts))
	for _, start := range starts {
		one := in
		one.SeriesID = seriesID
		one.StartsAt = start.UTC()
		one.EndsAt = start.Add(length).UTC()
		s, err := tx.insertSession(ctx, by, one)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// SeriesRRule returns the rule a series was made with.
func (d *DB) SeriesRRule(ctx context.Context, seriesID string) (string, error) {
	var r string
	err := d.queryRow(ctx, "SELECT rrule FROM session_series WHERE id = ?", seriesID).Scan(&r)
	if err != nil {
		return "", notFound(err, "get series %s", seriesID)
	}
	return r, nil
}

// shiftLike moves t as the edit moved from → to: the same number of days in
// Paris, then to's Paris time of day. A weekly series moved from 10:00 to
// 14:00 stays weekly at 14:00, across daylight-saving changes.
func shiftLike(t, from, to time.Time) time.Time {
	f, n, x := from.In(Paris), to.In(Paris), t.In(Paris)
	days := civilDays(n) - civilDays(f)
	return time.Date(x.Year(), x.Month(), x.Day()+days, n.Hour(), n.Minute(), n.Second(), 0, Paris).UTC()
}

func civilDays(t time.Time) int {
	return int(time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// UpdateSeriesFrom applies an edit of session id to it and to every later
// scheduled session of its series ("this and following"): the same title,
// place, link, agenda and capacity, and the same move in Paris days and time
// of day. Sessions already cancelled are left alone.
func (tx *Tx) UpdateSeriesFrom(ctx context.Context, by User, id string, in SessionInput) ([]SessionChange, error) {
	if err := in.check(); err != nil {
		return nil, err
	}
	first, all, err := tx.seriesFrom(ctx, by, id)
	if err != nil {
		return nil, err
	}
	var out []SessionChange
	for _, s := range all {
		if s.Cancelled() {
			continue
		}
		one := in
		if s.ID != first.ID {
			if err := tx.lockRow(ctx, "sessions", s.ID); err != nil {
				return nil, err
			}
			one.StartsAt = shiftLike(s.StartsAt, first.StartsAt, in.StartsAt)
			one.EndsAt = one.StartsAt.Add(in.EndsAt.Sub(in.StartsAt))
		}
		ch, err := tx.updateSession(ctx, s, one)
		if err != nil {
			return nil, fmt.Errorf("series session of %s: %w", s.StartsAt.In(Paris).Format("02/01/2006"), err)
		}
		out = append(out, ch)
	}
	return out, nil
}

// seriesFrom returns session id, which by must manage, and the sessions of
// its series from it on.
func (tx *Tx) seriesFrom(ctx context.Context, by User, id string) (first Session, all []Session, err error) {
	first, err = tx.mustManageSession(ctx, by, id)
	if err != nil {
		return Session{}, nil, err
	}
	if first.SeriesID == "" {
		return Session{}, nil, ErrNotASeries
	}
	all, err = tx.SeriesSessions(ctx, first.SeriesID, first.StartsAt)
	if err != nil {
		return Session{}, nil, err
	}
	return first, all, nil
}

// CancelSeriesFrom cancels session id and every later scheduled session of
// its series (organisers, admins).
func (tx *Tx) CancelSeriesFrom(ctx context.Context, by User, id string) ([]Session, error) {
	first, all, err := tx.seriesFrom(ctx, by, id)
	if err != nil {
		return nil, err
	}
	var out []Session
	for _, s := range all {
		if s.Cancelled() {
			continue
		}
		if s.ID != first.ID {
			if err := tx.lockRow(ctx, "sessions", s.ID); err != nil {
				return nil, err
			}
		}
		c, err := tx.cancelSession(ctx, s)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

package models

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
)

// rulesCache keeps in the process, event by event, the rows a registration
// reads besides the event itself: its workshops, its quotas and its
// questions. An entry serves while the event's rules_version, which
// database triggers move with every change to those rows (migration 0214),
// is the one it was read under.
//
// Why it is exact: a version is always read before the rows stored under
// it, so the rows are never older than their version. The writer reads the
// version with the event, under the event's lock (Register, lockRegistration),
// and no change to the rows can commit while it holds that lock without
// moving the version: rows stored under the version it reads are the rows
// of the database. Handlers reading outside a transaction (the questions
// of the registration form) may get rows a change newer than the event
// they read, never older. Another process or instance writing the same
// database moves the same version.
//
// At the registration opening it spares the single writer reading each
// registration's workshops again (the batches are small at 2,000 a second,
// and the chosen workshops differ), and each request the form's questions.
type rulesCache struct {
	mu     sync.Mutex
	events map[string]*eventRules
}

type eventRules struct {
	version   int64
	workshops map[string]*batchSession // the event's sessions read so far, by id (never changed)
	quotas    map[string]int           // nil until read
	questions []Question               // nil until read
}

// rulesCacheEvents bounds the events kept: past it, the cache starts over.
const rulesCacheEvents = 64

// entry returns the event's entry for version, starting it afresh when the
// version moved. The caller holds c.mu.
func (c *rulesCache) entry(eventID string, version int64) *eventRules {
	r := c.events[eventID]
	if r != nil && r.version == version {
		return r
	}
	if c.events == nil || len(c.events) >= rulesCacheEvents {
		c.events = map[string]*eventRules{}
	}
	r = &eventRules{version: version, workshops: map[string]*batchSession{}}
	c.events[eventID] = r
	return r
}

// workshops returns the sessions of ids known for the event at version, and
// the ids not known.
func (c *rulesCache) workshops(eventID string, version int64, ids []string) (map[string]*batchSession, []string) {
	known := make(map[string]*batchSession, len(ids))
	if c == nil {
		return known, ids
	}
	var missing []string
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.entry(eventID, version)
	for _, id := range ids {
		if s, ok := r.workshops[id]; ok {
			known[id] = s
		} else {
			missing = append(missing, id)
		}
	}
	return known, missing
}

// addWorkshops keeps sessions of the event read at version.
func (c *rulesCache) addWorkshops(eventID string, version int64, read map[string]*batchSession) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.entry(eventID, version)
	for id, s := range read {
		if s.event == eventID {
			r.workshops[id] = s
		}
	}
}

// quotas returns the event's quotas at version, if known: shared with the
// cache (a registration reads them), never to be changed.
func (c *rulesCache) quotas(eventID string, version int64) (map[string]int, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.entry(eventID, version)
	return r.quotas, r.quotas != nil
}

func (c *rulesCache) setQuotas(eventID string, version int64, quotas map[string]int) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entry(eventID, version).quotas = maps.Clone(quotas)
}

// questions returns the event's questions at version, if known (a copy).
func (c *rulesCache) questions(eventID string, version int64) ([]Question, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.entry(eventID, version)
	return cloneQuestions(r.questions), r.questions != nil
}

func (c *rulesCache) setQuestions(eventID string, version int64, qs []Question) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if qs == nil {
		qs = []Question{} // read: none
	}
	c.entry(eventID, version).questions = cloneQuestions(qs)
}

// cloneQuestions copies questions and their options, so that neither the
// cache nor its readers see the other's changes.
func cloneQuestions(qs []Question) []Question {
	if qs == nil {
		return nil
	}
	out := slices.Clone(qs)
	for i := range out {
		out[i].Options = slices.Clone(out[i].Options)
	}
	return out
}

// WarmRules reads the workshops, quotas and questions of e (an event just
// read, with its rules version) into the rulesCache, so that the first
// registrations of an opening find them there: at 2,000 a second, the
// writer reading each registration's workshops while the cache filled
// put the opening behind for its first half-second. The rows are read
// after the version, so never older than it (see rulesCache).
func (d *DB) WarmRules(ctx context.Context, e *Event) error {
	read, err := d.programmeSessions(ctx, "s.event_id = ?", e.ID)
	if err != nil {
		return fmt.Errorf("warm workshops of %s: %w", e.ID, err)
	}
	quotas, err := d.EventQuotas(ctx, e.ID)
	if err != nil {
		return err
	}
	questions, err := d.EventQuestions(ctx, e.ID)
	if err != nil {
		return err
	}
	d.rules.addWorkshops(e.ID, e.RulesVersion, read)
	d.rules.setQuotas(e.ID, e.RulesVersion, quotas)
	d.rules.setQuestions(e.ID, e.RulesVersion, questions)
	return nil
}

// RulesCached tells how many of e's sessions the rulesCache holds at e's
// rules version, and whether it holds its quotas and questions (tests,
// metrics).
func (d *DB) RulesCached(e *Event) (sessions int, quotas, questions bool) {
	c := d.rules
	if c == nil {
		return 0, false, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.events[e.ID]
	if r == nil || r.version != e.RulesVersion {
		return 0, false, false
	}
	return len(r.workshops), r.quotas != nil, r.questions != nil
}

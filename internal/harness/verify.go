package harness

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/dnum-sociaux/agora/models"
)

// Check is one correctness check of a burst: what the database holds
// after it, read with plain SQL beside the running server.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

type checker struct{ checks []Check }

func (c *checker) add(ok bool, name, format string, args ...any) {
	c.checks = append(c.checks, Check{Name: name, OK: ok, Detail: fmt.Sprintf(format, args...)})
}

type reg struct {
	id, dir, mode, state string
	seat                 bool
	seq                  int64
}

type choice struct {
	reg, session, state string
	seq                 int64
}

// VerifyRegistrations checks the event after the burst: each of the n
// agents registered once; exactly the capacity of seats confirmed; every
// quota filled and the unreserved seats all taken; remote attendees
// confirmed without a seat; within each direction, the confirmed came
// before the waiting list; in each workshop exactly its capacity confirmed
// (or every confirmed registrant who chose it), in order, the others on its
// waiting list, and the choices of waitlisted people pending.
func VerifyRegistrations(ctx context.Context, dsn string, ev *Event, n, failedRequests int) ([]Check, string, error) {
	store, err := models.Open(ctx, dsn, models.Options{})
	if err != nil {
		return nil, "", err
	}
	defer store.Close()
	db, _ := store.SQL()
	rows, err := db.QueryContext(ctx, `SELECT id, direction_code, mode, state, CASE WHEN seat THEN 1 ELSE 0 END, seq
		FROM registrations WHERE event_id = ? ORDER BY seq, id`, ev.ID)
	if err != nil {
		return nil, "", err
	}
	var regs []reg
	byID := map[string]*reg{}
	for rows.Next() {
		var r reg
		var seat int
		if err := rows.Scan(&r.id, &r.dir, &r.mode, &r.state, &seat, &r.seq); err != nil {
			rows.Close()
			return nil, "", err
		}
		r.seat = seat == 1
		regs = append(regs, r)
	}
	rows.Close()
	for i := range regs {
		byID[regs[i].id] = &regs[i]
	}
	rows, err = db.QueryContext(ctx, `SELECT w.registration_id, w.session_id, w.state, w.seq FROM registration_workshops w
		JOIN registrations r ON r.id = w.registration_id WHERE r.event_id = ? ORDER BY w.seq, w.registration_id`, ev.ID)
	if err != nil {
		return nil, "", err
	}
	var choices []choice
	for rows.Next() {
		var c choice
		if err := rows.Scan(&c.reg, &c.session, &c.state, &c.seq); err != nil {
			rows.Close()
			return nil, "", err
		}
		choices = append(choices, c)
	}
	rows.Close()

	var c checker
	// Everyone who was answered is there, once.
	seqs := map[int64]bool{}
	for _, r := range regs {
		seqs[r.seq] = true
	}
	c.add(len(regs) == n && failedRequests == 0 && len(seqs) == n, "registration burst: every agent answered 303 is registered exactly once",
		"%d agents, %d failed requests, %d registrations, %d distinct arrival numbers", n, failedRequests, len(regs), len(seqs))

	// Seats.
	confirmedSeats, remote, remoteConfirmed, waitlisted, other := 0, 0, 0, 0, 0
	perDir := map[string]int{}
	for _, r := range regs {
		switch {
		case r.state == "confirmed" && r.seat:
			confirmedSeats++
			perDir[r.dir]++
		case r.state == "waitlisted":
			waitlisted++
		case r.state != "confirmed":
			other++
		}
		if r.mode == "remote" {
			remote++
			if r.state == "confirmed" && !r.seat {
				remoteConfirmed++
			}
		}
	}
	onsite := len(regs) - remote
	// What the seat rule must give, whatever the order of arrival: each
	// quota direction uses min(its on-site registrants, its quota) of its
	// reserved seats; the unreserved seats go to the others (and to quota
	// directions beyond their quota) as long as there are any.
	demand := map[string]int{}
	for _, r := range regs {
		if r.mode != "remote" {
			demand[r.dir]++
		}
	}
	reserved, overflow, wantReserved, wantOverflowDemand := 0, 0, 0, 0
	for d, q := range ev.Quotas {
		reserved += q
		wantReserved += min(demand[d], q)
	}
	for d, n := range demand {
		wantOverflowDemand += max(0, n-ev.Quotas[d])
	}
	unreserved := ev.Capacity - reserved
	want := wantReserved + min(unreserved, wantOverflowDemand)
	c.add(confirmedSeats == want, "registration burst: exactly the capacity confirmed",
		"%d seats confirmed for a capacity of %d (%d on-site registrations; %d expected from the quotas and the demand)", confirmedSeats, ev.Capacity, onsite, want)
	var quotaText []string
	quotaOK := true
	for _, d := range slices.Sorted(maps.Keys(ev.Quotas)) {
		q := ev.Quotas[d]
		quotaOK = quotaOK && min(perDir[d], q) == min(demand[d], q)
		quotaText = append(quotaText, fmt.Sprintf("%s %d/%d", d, min(perDir[d], q), q))
	}
	for d, k := range perDir {
		overflow += max(0, k-ev.Quotas[d])
	}
	c.add(quotaOK && overflow == min(unreserved, wantOverflowDemand), "registration burst: every quota filled, the unreserved seats all taken, none beyond",
		"quotas used %s; %d unreserved seats taken of %d", strings.Join(quotaText, ", "), overflow, unreserved)
	c.add(remoteConfirmed == remote, "registration burst: remote attendees confirmed without taking a seat",
		"%d of %d remote registrations confirmed without a seat", remoteConfirmed, remote)
	c.add(waitlisted+confirmedSeats+remoteConfirmed == len(regs) && other == 0, "registration burst: the rest waiting-listed",
		"%d waitlisted, %d in another state", waitlisted, other)
	// Order within each direction: nobody waits while a later arrival of
	// the same direction got a seat.
	lastConfirmed, firstWaiting := map[string]int64{}, map[string]int64{}
	for _, r := range regs {
		if r.mode == "remote" {
			continue
		}
		if r.state == "confirmed" {
			lastConfirmed[r.dir] = max(lastConfirmed[r.dir], r.seq)
		} else if _, ok := firstWaiting[r.dir]; !ok && r.state == "waitlisted" {
			firstWaiting[r.dir] = r.seq
		}
	}
	var disorder []string
	for d, w := range firstWaiting {
		if lastConfirmed[d] > w {
			disorder = append(disorder, d)
		}
	}
	c.add(len(disorder) == 0, "registration burst: within each direction, the waiting list comes after the confirmed, in order of arrival",
		"directions out of order: %v", disorder)

	// Workshops.
	capOf := map[string]int{}
	for _, w := range ev.Workshops() {
		capOf[w.ID] = w.Capacity
	}
	type fill struct {
		confirmed, waiting, pending, demand int
		lastConfirmed, firstWaiting         int64
	}
	fills := map[string]*fill{}
	for id := range capOf {
		fills[id] = &fill{firstWaiting: -1}
	}
	badPending, badPlace, unknown := 0, 0, 0
	for _, ch := range choices {
		f, ok := fills[ch.session]
		r := byID[ch.reg]
		if !ok || r == nil {
			unknown++
			continue
		}
		if r.state == "confirmed" {
			f.demand++
		}
		switch ch.state {
		case "confirmed":
			f.confirmed++
			f.lastConfirmed = max(f.lastConfirmed, ch.seq)
			badPlace += btoi(r.state != "confirmed")
		case "waitlisted":
			f.waiting++
			if f.firstWaiting < 0 {
				f.firstWaiting = ch.seq
			}
			badPlace += btoi(r.state != "confirmed")
		case "pending":
			f.pending++
			badPending += btoi(r.state == "confirmed")
		}
	}
	exact, over, outOfOrder, places, wwait, pend := 0, 0, 0, 0, 0, 0
	for id, f := range fills {
		places += f.confirmed
		wwait += f.waiting
		pend += f.pending
		if f.confirmed > capOf[id] {
			over++
		}
		if f.confirmed == min(capOf[id], f.demand) && f.confirmed+f.waiting == f.demand {
			exact++
		}
		if f.firstWaiting >= 0 && f.lastConfirmed > f.firstWaiting {
			outOfOrder++
		}
	}
	c.add(exact == len(fills) && over == 0 && unknown == 0, "registration burst: each workshop has exactly its capacity confirmed (or all who chose it), the rest on its waiting list",
		"%d of %d workshops exact, %d over capacity, %d choices of unknown workshops; %d places taken, %d on workshop waiting lists",
		exact, len(fills), over, unknown, places, wwait)
	c.add(outOfOrder == 0, "registration burst: workshop waiting lists in order of arrival", "%d workshops out of order", outOfOrder)
	c.add(badPending == 0 && badPlace == 0, "registration burst: the workshop choices of waitlisted people wait for their seat (pending)",
		"%d confirmed people with pending choices, %d waitlisted people holding or queueing for a workshop place", badPending, badPlace)

	diffs, err := store.CheckSeatCounts(ctx, ev.ID)
	if err != nil {
		return nil, "", err
	}
	c.add(len(diffs) == 0, "registration burst: the seat counts kept per direction equal a count of the registrations",
		"differences: %v", diffs)

	summary := fmt.Sprintf("checked: %d registrations; %d seats confirmed (capacity %d; quotas %s; %d unreserved taken), %d remote confirmed, %d waitlisted in order; "+
		"%d workshops: %d places confirmed (each workshop's capacity, or all who chose it), %d on their waiting lists, %d choices pending",
		len(regs), confirmedSeats, ev.Capacity, strings.Join(quotaText, ", "), overflow, remoteConfirmed, waitlisted, len(fills), places, wwait, pend)
	return c.checks, summary, nil
}

// VerifyRSVPs checks the session after the RSVP burst: n "oui" numbered
// 1…n without a gap; the first capacity confirmed, the others waiting in
// that order.
func VerifyRSVPs(ctx context.Context, dsn, session string, n, failedRequests int) ([]Check, string, error) {
	store, err := models.Open(ctx, dsn, models.Options{})
	if err != nil {
		return nil, "", err
	}
	defer store.Close()
	db, _ := store.SQL()
	var capacity int
	if err := db.QueryRowContext(ctx, "SELECT capacity FROM sessions WHERE id = ?", session).Scan(&capacity); err != nil {
		return nil, "", err
	}
	rows, err := db.QueryContext(ctx, "SELECT queue_no, CASE WHEN waiting THEN 1 ELSE 0 END FROM rsvps WHERE session_id = ? AND answer = 'yes' ORDER BY queue_no", session)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	yes, confirmed, waiting, gaps, misplaced := 0, 0, 0, 0, 0
	for rows.Next() {
		var q, w int
		if err := rows.Scan(&q, &w); err != nil {
			return nil, "", err
		}
		yes++
		if q != yes {
			gaps++
		}
		if w == 1 {
			waiting++
		} else {
			confirmed++
		}
		if (w == 1) != (q > capacity) {
			misplaced++
		}
	}
	var c checker
	c.add(yes == n && failedRequests == 0, "RSVP burst: every member answered 303 has one answer",
		"%d members, %d failed requests, %d answers oui", n, failedRequests, yes)
	c.add(confirmed == min(capacity, n), "RSVP burst: exactly the capacity confirmed", "%d confirmed for %d places", confirmed, capacity)
	c.add(gaps == 0 && misplaced == 0 && waiting == yes-confirmed, "RSVP burst: the rest waiting, in the order of their answers",
		"%d waiting, %d gaps in the queue numbers, %d answers on the wrong side of the capacity", waiting, gaps, misplaced)
	return c.checks, fmt.Sprintf("checked: %d answers oui, %d confirmed = capacity, %d waiting in order (queue 1…%d without a gap)", yes, confirmed, waiting, yes), rows.Err()
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

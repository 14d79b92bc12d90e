package models

import (
	"context"
	"fmt"
	"math/bits"
	"strings"
	"sync"
)

// appendOnly is an insert into a table that the writes of a group commit
// only ever add to and never read back (the audit log, registration links,
// the outbox). Inside a Batcher its rows wait in the transaction and are
// written together, several rows a statement, just before the batch
// commits: at the registration opening each registration adds six such
// rows, and one statement for each was a quarter of the single SQLite
// writer's statements.
type appendOnly struct {
	head   string // INSERT INTO table (columns) VALUES
	tail   string // ON CONFLICT … (may be empty)
	cols   int
	mu     sync.Mutex
	multis map[int]string // statements of n rows, by n
}

func newAppendOnly(table, columns, tail string) *appendOnly {
	return &appendOnly{head: "INSERT INTO " + table + " (" + columns + ") VALUES ", tail: tail,
		cols: strings.Count(columns, ",") + 1, multis: map[int]string{}}
}

// maxRowsPerInsert bounds the rows of one statement (16 columns × 64 rows
// stays far below both databases' limits on parameters).
const maxRowsPerInsert = 64

// statement is the insert of n rows.
func (a *appendOnly) statement(n int) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if q, ok := a.multis[n]; ok {
		return q
	}
	row := "(" + marks(a.cols) + ")"
	q := a.head + strings.TrimSuffix(strings.Repeat(row+", ", n), ", ") + " " + a.tail
	a.multis[n] = q
	return q
}

// pendingRows are the rows of appendOnly inserts waiting in a batch, in the
// order they were added.
type pendingRows struct {
	order []*appendOnly
	args  map[*appendOnly][]any
}

// insert adds a row (args in the order of the columns): at once outside a
// group commit, else with the batch's others before it commits.
func (tx *Tx) insert(ctx context.Context, a *appendOnly, args ...any) error {
	if len(args) != a.cols {
		return fmt.Errorf("insert: %d values for %d columns (%s)", len(args), a.cols, a.head)
	}
	if tx.pending == nil {
		_, err := tx.exec(ctx, a.statement(1), args...)
		return err
	}
	p := tx.pending
	if _, ok := p.args[a]; !ok {
		p.order = append(p.order, a)
	}
	p.args[a] = append(p.args[a], args...)
	return nil
}

// deferInserts makes the transaction keep appendOnly rows until
// flushInserts (a Batcher's transactions).
func (tx *Tx) deferInserts() { tx.pending = &pendingRows{args: map[*appendOnly][]any{}} }

// dropInserts forgets the rows not written yet (their write was rolled back).
func (tx *Tx) dropInserts() {
	if tx.pending != nil {
		tx.deferInserts()
	}
}

// flushInserts writes the rows kept since the last flush, table by table
// in the order the tables were first used. Rows go in statements of 64,
// 32, …, 1 rows, so that a handful of statements serve every batch size
// (the prepared statements are cached by their text).
func (tx *Tx) flushInserts(ctx context.Context) error {
	p := tx.pending
	if p == nil {
		return nil
	}
	for _, a := range p.order {
		args := p.args[a]
		for len(args) > 0 {
			n := min(maxRowsPerInsert, len(args)/a.cols)
			n = 1 << (bits.Len(uint(n)) - 1) // the largest power of two ≤ n
			if _, err := tx.exec(ctx, a.statement(n), args[:n*a.cols]...); err != nil {
				return fmt.Errorf("insert %d rows: %w", n, err)
			}
			args = args[n*a.cols:]
		}
	}
	tx.deferInserts()
	return nil
}

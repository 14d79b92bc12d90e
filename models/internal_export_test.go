package models

import "context"

// What the tests of package models_test need to see inside (compiled
// only with the tests).

// BackendPID is the PostgreSQL server process of the transaction.
func (tx *Tx) BackendPID(ctx context.Context) (int, error) {
	var pid int
	err := tx.queryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid)
	return pid, err
}

// OutboxBodiesLock is the advisory lock of the shared mail bodies.
const OutboxBodiesLock = int64(outboxBodiesLock)

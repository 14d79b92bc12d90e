package models

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/pressly/goose/v3"
)

// Migration 0003 stores the bodies that many emails share once
// (outbox_bodies) and, with each message, the values of its placeholders
// (MailBody). It is written in Go because going down must expand every
// message that uses a shared body back into its own text and HTML: nothing
// queued may be lost by a rollback.
func migration0003() *goose.Migration {
	up := []string{
		`CREATE TABLE outbox_bodies (
			hash          TEXT PRIMARY KEY,
			text_template TEXT NOT NULL,
			html_template TEXT NOT NULL DEFAULT '',
			stored_at     TIMESTAMP NOT NULL
		)`,
		`ALTER TABLE outbox ADD COLUMN body_hash TEXT`,
		`ALTER TABLE outbox ADD COLUMN body_vars TEXT NOT NULL DEFAULT ''`,
	}
	down := func(ctx context.Context, tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, text_template, html_template, body_vars FROM outbox
			JOIN outbox_bodies ON hash = body_hash`)
		if err != nil {
			return err
		}
		type expanded struct{ id, text, html string }
		var all []expanded
		for rows.Next() {
			var id, text, htm, vars string
			if err := rows.Scan(&id, &text, &htm, &vars); err != nil {
				rows.Close()
				return err
			}
			m := OutboxMessage{ID: id}
			if err := scanVars(&m, vars); err != nil {
				rows.Close()
				return err
			}
			text, htm = expandBody(text, htm, m.Vars)
			all = append(all, expanded{id, text, htm})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		// The same statement text on both databases: $n works for
		// PostgreSQL and SQLite alike.
		for _, e := range all {
			if _, err := tx.ExecContext(ctx, "UPDATE outbox SET text_body = $1, html_body = $2 WHERE id = $3", e.text, e.html, e.id); err != nil {
				return fmt.Errorf("expand mail %s: %w", e.id, err)
			}
		}
		for _, q := range []string{`ALTER TABLE outbox DROP COLUMN body_vars`, `ALTER TABLE outbox DROP COLUMN body_hash`, `DROP TABLE outbox_bodies`} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return nil
	}
	return goose.NewGoMigration(3,
		&goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
			for _, q := range up {
				if _, err := tx.ExecContext(ctx, q); err != nil {
					return err
				}
			}
			return nil
		}},
		&goose.GoFunc{RunTx: down})
}

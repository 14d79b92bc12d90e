-- sessions.event_id (0210) references events(id), enforced on SQLite by
-- triggers (PostgreSQL's twin, 0213_sessions_event_fk.postgres.sql, adds a
-- real FOREIGN KEY ... ON DELETE CASCADE). SQLite cannot add a constraint
-- to an existing table; rebuilding sessions would mean copying it with
-- foreign_keys off (a DROP TABLE with them on deletes the answers, places
-- and attendance of every session through their cascades), outside
-- goose's transaction, and restating its whole definition. Triggers keep
-- the rows where they are, fire whatever the foreign_keys pragma, and go
-- with a DROP TRIGGER. Their error is SQLite's own foreign key message.

-- +goose Up
-- Like PostgreSQL's ADD CONSTRAINT, refuse while a session names an event
-- that does not exist (the CHECK fails, the migration changes nothing).
CREATE TEMP TABLE sessions_event_fk_check (
    orphans INTEGER NOT NULL CONSTRAINT sessions_name_an_event_that_does_not_exist CHECK (orphans = 0)
);
INSERT INTO sessions_event_fk_check (orphans)
    SELECT COUNT(*) FROM sessions s
    WHERE s.event_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM events e WHERE e.id = s.event_id);
DROP TABLE sessions_event_fk_check;

-- +goose StatementBegin
CREATE TRIGGER sessions_event_fk_insert BEFORE INSERT ON sessions
WHEN NEW.event_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM events WHERE id = NEW.event_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER sessions_event_fk_update BEFORE UPDATE OF event_id ON sessions
WHEN NEW.event_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM events WHERE id = NEW.event_id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed');
END;
-- +goose StatementEnd

-- ON DELETE CASCADE: the event's sessions go with it (their own
-- references, ON DELETE CASCADE, take their places and answers).
-- +goose StatementBegin
CREATE TRIGGER events_delete_sessions AFTER DELETE ON events
BEGIN
    DELETE FROM sessions WHERE event_id = OLD.id;
END;
-- +goose StatementEnd

-- ON UPDATE NO ACTION: an event's id does not change under its sessions.
-- +goose StatementBegin
CREATE TRIGGER events_id_update_sessions BEFORE UPDATE OF id ON events
WHEN NEW.id IS NOT OLD.id AND EXISTS (SELECT 1 FROM sessions WHERE event_id = OLD.id)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed');
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER events_id_update_sessions;
DROP TRIGGER events_delete_sessions;
DROP TRIGGER sessions_event_fk_update;
DROP TRIGGER sessions_event_fk_insert;

-- sessions.event_id (0210) gets the foreign key it could not have when it
-- was added, SQLite lacking ALTER TABLE ADD CONSTRAINT; SQLite's twin,
-- 0213_sessions_event_fk.sqlite.sql, enforces the same rule with triggers.
-- ON DELETE CASCADE: events are archived, never deleted by Agora; an event
-- deleted by hand takes what it owns with it, as every other table that
-- references events does (0200), and as a group's sessions follow their
-- group (0100). Fails, changing nothing, while a session names an event
-- that does not exist.

-- +goose Up
ALTER TABLE sessions ADD CONSTRAINT sessions_event_id_fkey
    FOREIGN KEY (event_id) REFERENCES events (id) ON DELETE CASCADE;

-- +goose Down
ALTER TABLE sessions DROP CONSTRAINT sessions_event_id_fkey;

-- An event's programme: its talks, workshops and breaks are sessions
-- (0100) with event_id set (group_id NULL); the room is the track. A
-- registration's workshop choices, each with its own state and waiting list.

-- +goose Up
ALTER TABLE sessions ADD COLUMN event_id TEXT;
ALTER TABLE sessions ADD COLUMN programme_kind TEXT NOT NULL DEFAULT '';
CREATE INDEX sessions_event_start ON sessions (event_id, starts_at);

CREATE TABLE registration_workshops (
    registration_id TEXT NOT NULL REFERENCES registrations (id) ON DELETE CASCADE,
    session_id      TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    state           TEXT NOT NULL,            -- confirmed, waitlisted, pending (the registration waits), cancelled
    seq             INTEGER NOT NULL,         -- arrival order in the workshop's waiting list
    ics_bump        INTEGER NOT NULL DEFAULT 0,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (registration_id, session_id)
);
CREATE INDEX registration_workshops_session ON registration_workshops (session_id, state, seq);

-- +goose Down
DROP TABLE registration_workshops;
DROP INDEX sessions_event_start;
ALTER TABLE sessions DROP COLUMN programme_kind;
ALTER TABLE sessions DROP COLUMN event_id;

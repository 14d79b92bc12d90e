-- Working groups, their members, join requests and invitations; sessions
-- (séances) and their series; answers (rsvps) with a waiting list; attendance.
-- Portable SQL (SQLite and PostgreSQL), times in UTC.

-- +goose Up
CREATE TABLE work_groups (
    id            TEXT PRIMARY KEY,
    title         TEXT NOT NULL,
    summary       TEXT NOT NULL DEFAULT '',
    description   TEXT NOT NULL DEFAULT '',  -- Markdown
    theme         TEXT NOT NULL,             -- role_metier, comitologie, hackathon, autre
    join_policy   TEXT NOT NULL,             -- open, approval, invitation
    member_limit  INTEGER,                   -- NULL: no limit
    status        TEXT NOT NULL,             -- proposed, active, archived, rejected
    feed_version  INTEGER NOT NULL DEFAULT 1, -- part of the group feed token; +1 revokes the old URL
    search_text   TEXT NOT NULL DEFAULT '',  -- title, summary and description, lowercased without accents
    created_by    TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);
CREATE INDEX work_groups_status_title ON work_groups (status, title);

CREATE TABLE group_members (
    group_id    TEXT NOT NULL REFERENCES work_groups (id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role        TEXT NOT NULL,                 -- organiser, member
    invitations BOOLEAN NOT NULL DEFAULT TRUE, -- receives calendar invitations for the group's sessions
    joined_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id, group_id);

CREATE TABLE group_requests (
    group_id   TEXT NOT NULL REFERENCES work_groups (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    message    TEXT NOT NULL DEFAULT '',
    status     TEXT NOT NULL,  -- pending, accepted, declined
    created_at TIMESTAMP NOT NULL,
    decided_at TIMESTAMP,
    decided_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_requests_status ON group_requests (status, group_id);

CREATE TABLE group_invitations (
    group_id    TEXT NOT NULL REFERENCES work_groups (id) ON DELETE CASCADE,
    email       TEXT NOT NULL,
    invited_by  TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at  TIMESTAMP NOT NULL,
    accepted_at TIMESTAMP,
    PRIMARY KEY (group_id, email)
);
CREATE INDEX group_invitations_email ON group_invitations (email);

CREATE TABLE session_series (
    id         TEXT PRIMARY KEY,
    group_id   TEXT REFERENCES work_groups (id) ON DELETE CASCADE,
    rrule      TEXT NOT NULL,  -- RFC 5545 RRULE, in Europe/Paris wall-clock time
    created_at TIMESTAMP NOT NULL
);

-- A session belongs to a group; group_id is nullable so that other owners
-- (an event's workshops) can attach sessions through their own column.
CREATE TABLE sessions (
    id            TEXT PRIMARY KEY,
    group_id      TEXT REFERENCES work_groups (id) ON DELETE CASCADE,
    series_id     TEXT REFERENCES session_series (id) ON DELETE SET NULL,
    uid           TEXT NOT NULL UNIQUE,     -- calendar UID, never regenerated
    sequence      INTEGER NOT NULL DEFAULT 0, -- calendar SEQUENCE, +1 on every change of time, place, link, title and on cancellation
    title         TEXT NOT NULL,
    starts_at     TIMESTAMP NOT NULL,
    ends_at       TIMESTAMP NOT NULL,
    room          TEXT NOT NULL DEFAULT '',
    address       TEXT NOT NULL DEFAULT '',
    video_url     TEXT NOT NULL DEFAULT '',
    agenda        TEXT NOT NULL DEFAULT '', -- Markdown
    minutes       TEXT NOT NULL DEFAULT '', -- Markdown (compte rendu)
    minutes_at    TIMESTAMP,
    capacity      INTEGER,                  -- NULL: unlimited
    status        TEXT NOT NULL,            -- scheduled, cancelled
    created_by    TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);
CREATE INDEX sessions_group_start ON sessions (group_id, starts_at);
CREATE INDEX sessions_series_start ON sessions (series_id, starts_at);
CREATE INDEX sessions_start ON sessions (starts_at);

-- An answer to a session. A "yes" beyond the capacity waits: waiting is
-- TRUE and queue_no gives the order of arrival (unique per session).
CREATE TABLE rsvps (
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    answer     TEXT NOT NULL,                 -- yes, no, maybe
    waiting    BOOLEAN NOT NULL DEFAULT FALSE,
    queue_no   INTEGER NOT NULL DEFAULT 0,    -- order of the last "yes" (waiting list order)
    answered_at TIMESTAMP NOT NULL,
    PRIMARY KEY (session_id, user_id)
);
CREATE INDEX rsvps_user ON rsvps (user_id, session_id);
CREATE INDEX rsvps_queue ON rsvps (session_id, waiting, queue_no);

CREATE TABLE session_attendance (
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    marked_by  TEXT REFERENCES users (id) ON DELETE SET NULL,
    marked_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (session_id, user_id)
);

-- Per-user calendar preferences: day-before reminders, and the private feed
-- (the token is derived from the secret key and feed_version; +1 revokes).
ALTER TABLE users ADD COLUMN session_reminders BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE users ADD COLUMN feed_version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN feed_revoked BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE users DROP COLUMN feed_revoked;
ALTER TABLE users DROP COLUMN feed_version;
ALTER TABLE users DROP COLUMN session_reminders;
DROP TABLE session_attendance;
DROP TABLE rsvps;
DROP TABLE sessions;
DROP TABLE session_series;
DROP TABLE group_invitations;
DROP TABLE group_requests;
DROP TABLE group_members;
DROP TABLE work_groups;

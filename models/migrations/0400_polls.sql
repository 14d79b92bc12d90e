-- Date polls (sondages de dates): an organiser of a group proposes candidate
-- slots, members vote oui / si besoin / non on each, and the chosen slot
-- becomes a session of the group. Portable SQL, times in UTC.

-- +goose Up
CREATE TABLE polls (
    id               TEXT PRIMARY KEY,
    group_id         TEXT NOT NULL REFERENCES work_groups (id) ON DELETE CASCADE,
    title            TEXT NOT NULL,
    description      TEXT NOT NULL DEFAULT '',  -- Markdown
    duration_minutes INTEGER NOT NULL,          -- length of every slot
    room             TEXT NOT NULL DEFAULT '',  -- the place planned, copied into the session when the poll is closed
    address          TEXT NOT NULL DEFAULT '',
    video_url        TEXT NOT NULL DEFAULT '',
    deadline         TIMESTAMP,                 -- votes are accepted before it; NULL: until the poll is closed
    status           TEXT NOT NULL,             -- open, closed, cancelled
    chosen_slot_id   TEXT,                      -- the slot retained (closed)
    session_id       TEXT REFERENCES sessions (id) ON DELETE SET NULL, -- the session made from it
    created_by       TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL,
    closed_by        TEXT REFERENCES users (id) ON DELETE SET NULL,
    closed_at        TIMESTAMP
);
CREATE INDEX polls_group_status ON polls (group_id, status, created_at);
CREATE INDEX polls_status ON polls (status, group_id);

-- A candidate slot. Two slots of one poll never start at the same time.
CREATE TABLE poll_slots (
    id        TEXT PRIMARY KEY,
    poll_id   TEXT NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
    starts_at TIMESTAMP NOT NULL,
    ends_at   TIMESTAMP NOT NULL,
    UNIQUE (poll_id, starts_at)
);

-- One member's answer on one slot: yes (oui), if_needed (si besoin), no (non).
CREATE TABLE poll_votes (
    slot_id  TEXT NOT NULL REFERENCES poll_slots (id) ON DELETE CASCADE,
    user_id  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    poll_id  TEXT NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
    answer   TEXT NOT NULL,
    voted_at TIMESTAMP NOT NULL,
    PRIMARY KEY (slot_id, user_id)
);
CREATE INDEX poll_votes_poll_user ON poll_votes (poll_id, user_id);

-- +goose Down
DROP TABLE poll_votes;
DROP TABLE poll_slots;
DROP TABLE polls;

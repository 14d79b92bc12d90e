-- Events (the yearly product event and any later one): the event, its
-- organisers, direction quotas and correspondents, custom registration
-- questions, registrations with their answers and secret management links,
-- and messages sent to registrants. Workshops are sessions (see 0210).

-- +goose Up
CREATE TABLE events (
    id                     TEXT PRIMARY KEY,
    title                  TEXT NOT NULL,
    description            TEXT NOT NULL DEFAULT '',
    venue_name             TEXT NOT NULL DEFAULT '',
    venue_address          TEXT NOT NULL DEFAULT '',
    venue_access           TEXT NOT NULL DEFAULT '',
    venue_accessibility    TEXT NOT NULL DEFAULT '',
    online_url             TEXT NOT NULL DEFAULT '',
    starts_at              TIMESTAMP NOT NULL,
    ends_at                TIMESTAMP NOT NULL,
    registration_opens_at  TIMESTAMP,
    registration_closes_at TIMESTAMP,
    registration_closed    BOOLEAN NOT NULL DEFAULT FALSE,
    capacity               INTEGER NOT NULL DEFAULT 0,
    modes                  TEXT NOT NULL DEFAULT 'onsite',
    status                 TEXT NOT NULL DEFAULT 'draft',
    uid                    TEXT NOT NULL UNIQUE,
    sequence               INTEGER NOT NULL DEFAULT 0,
    reg_seq                INTEGER NOT NULL DEFAULT 0,
    reminder_week_sent_at  TIMESTAMP,
    reminder_day_sent_at   TIMESTAMP,
    created_by             TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at             TIMESTAMP NOT NULL,
    updated_at             TIMESTAMP NOT NULL
);
CREATE INDEX events_status_start ON events (status, starts_at);

CREATE TABLE event_organisers (
    event_id TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    user_id  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    added_at TIMESTAMP NOT NULL,
    PRIMARY KEY (event_id, user_id)
);
CREATE INDEX event_organisers_user ON event_organisers (user_id);

CREATE TABLE event_quotas (
    event_id       TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    direction_code TEXT NOT NULL REFERENCES directions (code),
    seats          INTEGER NOT NULL,
    PRIMARY KEY (event_id, direction_code)
);

CREATE TABLE event_correspondents (
    event_id       TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    direction_code TEXT NOT NULL REFERENCES directions (code),
    added_at       TIMESTAMP NOT NULL,
    PRIMARY KEY (event_id, user_id, direction_code)
);
CREATE INDEX event_correspondents_user ON event_correspondents (user_id);

CREATE TABLE event_questions (
    id         TEXT PRIMARY KEY,
    event_id   TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    label      TEXT NOT NULL,
    help       TEXT NOT NULL DEFAULT '',
    kind       TEXT NOT NULL,
    required   BOOLEAN NOT NULL DEFAULT FALSE,
    options    TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX event_questions_event ON event_questions (event_id, position);

CREATE TABLE registrations (
    id             TEXT PRIMARY KEY,
    event_id       TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    email          TEXT NOT NULL,
    name           TEXT NOT NULL,
    direction_code TEXT NOT NULL REFERENCES directions (code),
    user_id        TEXT REFERENCES users (id) ON DELETE SET NULL,
    mode           TEXT NOT NULL,
    seat           BOOLEAN NOT NULL,
    state          TEXT NOT NULL,
    seq            INTEGER NOT NULL,
    ics_bump       INTEGER NOT NULL DEFAULT 0,
    code           TEXT NOT NULL UNIQUE,
    registered_by  TEXT REFERENCES users (id) ON DELETE SET NULL,
    promoted_at    TIMESTAMP,
    cancelled_at   TIMESTAMP,
    checked_in_at  TIMESTAMP,
    checked_in_by  TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL,
    UNIQUE (event_id, email)
);
CREATE INDEX registrations_seats ON registrations (event_id, state, seat, direction_code);
CREATE INDEX registrations_order ON registrations (event_id, state, seq);
CREATE INDEX registrations_user ON registrations (user_id);
CREATE INDEX registrations_email ON registrations (email);

CREATE TABLE registration_answers (
    registration_id TEXT NOT NULL REFERENCES registrations (id) ON DELETE CASCADE,
    question_id     TEXT NOT NULL REFERENCES event_questions (id) ON DELETE CASCADE,
    value           TEXT NOT NULL,
    PRIMARY KEY (registration_id, question_id)
);
CREATE INDEX registration_answers_question ON registration_answers (question_id);

CREATE TABLE registration_links (
    id              TEXT PRIMARY KEY,
    token_hash      TEXT NOT NULL,
    registration_id TEXT NOT NULL REFERENCES registrations (id) ON DELETE CASCADE,
    created_at      TIMESTAMP NOT NULL
);
CREATE INDEX registration_links_registration ON registration_links (registration_id);

CREATE TABLE event_messages (
    id         TEXT PRIMARY KEY,
    event_id   TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    subject    TEXT NOT NULL,
    body       TEXT NOT NULL,
    audience   TEXT NOT NULL DEFAULT '',
    recipients INTEGER NOT NULL DEFAULT 0,
    sent_by    TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX event_messages_event ON event_messages (event_id, created_at);

-- +goose Down
DROP TABLE event_messages;
DROP TABLE registration_links;
DROP TABLE registration_answers;
DROP TABLE registrations;
DROP TABLE event_questions;
DROP TABLE event_correspondents;
DROP TABLE event_quotas;
DROP TABLE event_organisers;
DROP TABLE events;

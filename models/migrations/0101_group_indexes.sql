-- Covering indexes for the directory and session lists: the directory sorts
-- and pages on (status, title, id) without reading group rows; answers are
-- counted per session from the index alone.

-- +goose Up
DROP INDEX work_groups_status_title;
CREATE INDEX work_groups_status_title ON work_groups (status, title, id);
CREATE INDEX rsvps_session_answer ON rsvps (session_id, answer, waiting);

-- +goose Down
DROP INDEX rsvps_session_answer;
DROP INDEX work_groups_status_title;
CREATE INDEX work_groups_status_title ON work_groups (status, title);

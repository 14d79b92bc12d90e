-- events.rules_version counts the changes to what a registration reads
-- about its event besides the event row: its workshops (sessions with
-- event_id), its quotas and its questions. Triggers keep it, so that no
-- write path can forget it; the registration path caches those rows in
-- the process for as long as the version it reads with the event (under
-- the event's lock) has not moved (models/rules_cache.go). PostgreSQL's
-- twin is 0214_event_rules_version.postgres.sql.

-- +goose Up
ALTER TABLE events ADD COLUMN rules_version INTEGER NOT NULL DEFAULT 0;

-- +goose StatementBegin
CREATE TRIGGER sessions_rules_insert AFTER INSERT ON sessions WHEN NEW.event_id IS NOT NULL
BEGIN
    UPDATE events SET rules_version = rules_version + 1 WHERE id = NEW.event_id;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER sessions_rules_update AFTER UPDATE ON sessions WHEN OLD.event_id IS NOT NULL OR NEW.event_id IS NOT NULL
BEGIN
    UPDATE events SET rules_version = rules_version + 1 WHERE id IN (OLD.event_id, NEW.event_id);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER sessions_rules_delete AFTER DELETE ON sessions WHEN OLD.event_id IS NOT NULL
BEGIN
    UPDATE events SET rules_version = rules_version + 1 WHERE id = OLD.event_id;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER event_quotas_rules_insert AFTER INSERT ON event_quotas
BEGIN
    UPDATE events SET rules_version = rules_version + 1 WHERE id = NEW.event_id;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER event_quotas_rules_update AFTER UPDATE ON event_quotas
BEGIN
    UPDATE events SET rules_version = rules_version + 1 WHERE id IN (OLD.event_id, NEW.event_id);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER event_quotas_rules_delete AFTER DELETE ON event_quotas
BEGIN
    UPDATE events SET rules_version = rules_version + 1 WHERE id = OLD.event_id;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER event_questions_rules_insert AFTER INSERT ON event_questions
BEGIN
    UPDATE events SET rules_version = rules_version + 1 WHERE id = NEW.event_id;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER event_questions_rules_update AFTER UPDATE ON event_questions
BEGIN
    UPDATE events SET rules_version = rules_version + 1 WHERE id IN (OLD.event_id, NEW.event_id);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER event_questions_rules_delete AFTER DELETE ON event_questions
BEGIN
    UPDATE events SET rules_version = rules_version + 1 WHERE id = OLD.event_id;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER event_questions_rules_delete;
DROP TRIGGER event_questions_rules_update;
DROP TRIGGER event_questions_rules_insert;
DROP TRIGGER event_quotas_rules_delete;
DROP TRIGGER event_quotas_rules_update;
DROP TRIGGER event_quotas_rules_insert;
DROP TRIGGER sessions_rules_delete;
DROP TRIGGER sessions_rules_update;
DROP TRIGGER sessions_rules_insert;
ALTER TABLE events DROP COLUMN rules_version;

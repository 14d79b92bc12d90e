-- events.rules_version counts the changes to what a registration reads
-- about its event besides the event row: its workshops (sessions with
-- event_id), its quotas and its questions. A trigger keeps it, so that no
-- write path can forget it; the registration path caches those rows in
-- the process for as long as the version it reads with the event (under
-- the event's row lock) has not moved (models/rules_cache.go). SQLite's
-- twin is 0214_event_rules_version.sqlite.sql.

-- +goose Up
ALTER TABLE events ADD COLUMN rules_version BIGINT NOT NULL DEFAULT 0;

-- +goose StatementBegin
CREATE FUNCTION bump_event_rules_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.event_id IS NOT NULL THEN
        UPDATE events SET rules_version = rules_version + 1 WHERE id = OLD.event_id;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.event_id IS NOT NULL
        AND (TG_OP = 'INSERT' OR OLD.event_id IS DISTINCT FROM NEW.event_id) THEN
        UPDATE events SET rules_version = rules_version + 1 WHERE id = NEW.event_id;
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER sessions_rules_version AFTER INSERT OR UPDATE OR DELETE ON sessions
    FOR EACH ROW EXECUTE FUNCTION bump_event_rules_version();
CREATE TRIGGER event_quotas_rules_version AFTER INSERT OR UPDATE OR DELETE ON event_quotas
    FOR EACH ROW EXECUTE FUNCTION bump_event_rules_version();
CREATE TRIGGER event_questions_rules_version AFTER INSERT OR UPDATE OR DELETE ON event_questions
    FOR EACH ROW EXECUTE FUNCTION bump_event_rules_version();

-- +goose Down
DROP TRIGGER event_questions_rules_version ON event_questions;
DROP TRIGGER event_quotas_rules_version ON event_quotas;
DROP TRIGGER sessions_rules_version ON sessions;
DROP FUNCTION bump_event_rules_version();
ALTER TABLE events DROP COLUMN rules_version;

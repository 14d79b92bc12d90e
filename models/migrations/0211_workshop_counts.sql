-- Places taken and people waiting per workshop, kept in the transactions
-- that change a choice, so that the programme and the workshop seat rule
-- read one row per workshop instead of counting the choices.

-- +goose Up
CREATE TABLE workshop_counts (
    session_id TEXT PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
    confirmed  INTEGER NOT NULL DEFAULT 0,
    waitlisted INTEGER NOT NULL DEFAULT 0
);
INSERT INTO workshop_counts (session_id, confirmed, waitlisted)
    SELECT session_id,
        SUM(CASE WHEN state = 'confirmed' THEN 1 ELSE 0 END),
        SUM(CASE WHEN state = 'waitlisted' THEN 1 ELSE 0 END)
    FROM registration_workshops GROUP BY session_id;

-- +goose Down
DROP TABLE workshop_counts;

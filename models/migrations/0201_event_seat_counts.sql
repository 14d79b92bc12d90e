-- Seats taken per direction, kept up to date in the transactions that
-- confirm or release a seat, so that the seat rule reads a few rows instead
-- of counting the registrations at every registration.

-- +goose Up
CREATE TABLE event_seat_counts (
    event_id       TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    direction_code TEXT NOT NULL,
    seats          INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (event_id, direction_code)
);
INSERT INTO event_seat_counts (event_id, direction_code, seats)
    SELECT event_id, direction_code, COUNT(*) FROM registrations
    WHERE state = 'confirmed' AND seat = TRUE GROUP BY event_id, direction_code;

-- +goose Down
DROP TABLE event_seat_counts;

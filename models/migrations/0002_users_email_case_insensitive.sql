-- Emails are unique whatever their case, in the database too (the
-- application already lowercases them; this guards every other way in).

-- +goose Up
CREATE UNIQUE INDEX users_email_lower ON users (LOWER(email));

-- +goose Down
DROP INDEX users_email_lower;

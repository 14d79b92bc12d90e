-- The text of the QR code an email shows as an inline image (the HTML
-- refers to it by cid:). The row keeps only the text: the PNG is drawn when
-- the message is delivered, so the transaction that queues the email (a
-- registration, at the opening of an event) writes no image. Empty: the
-- email has no inline image.

-- +goose Up
ALTER TABLE outbox ADD COLUMN inline_qr TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE outbox DROP COLUMN inline_qr;

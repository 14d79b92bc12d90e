package models

import "database/sql"

// Short names for nullable columns.
type (
	nullStr  = sql.NullString
	nullTime = sql.NullTime
)

package schema

import "errors"

// Errors of the schema history and its record codec. Returned errors wrap
// them with the table and version concerned; test with errors.Is.
var (
	// ErrConflict: two stored records claim the same table and version with
	// different shapes. The schema topic is corrupt or two connectors share it.
	ErrConflict = errors.New("conflicting schema versions")
	// ErrInvalidVersion: a version record is malformed (empty table, version
	// below 1, fingerprint that does not match its columns, unknown kind).
	ErrInvalidVersion = errors.New("invalid schema version")
)

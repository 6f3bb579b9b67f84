package dsssql

import "strings"

// QuoteIdentifier returns name as a quoted SQL identifier, as PostgreSQL and
// SQLite read it: in double quotes, with each embedded double quote doubled.
// Use it for table and column names that come from configuration; values are
// never spliced into SQL, they are passed as parameters.
//
// In SQLite, a quoted name that matches no column may be read as a string
// literal instead of failing; Table checks its columns for that reason.
//
// An identifier cannot contain NUL, and a NUL could end the query text early
// in a driver written in C, so each NUL is replaced by U+FFFD: the result is
// still one identifier, which names no table, and the query fails.
func QuoteIdentifier(name string) string {
	name = strings.ReplaceAll(name, "\x00", "\uFFFD")
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

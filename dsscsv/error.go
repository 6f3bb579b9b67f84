package dsscsv

import (
	"errors"

	"github.com/datastoresync/dss/internal/input"
)

// Sentinel errors found in an *Error's Err with errors.Is. Malformed CSV is
// reported with the sentinels of encoding/csv (csv.ErrBareQuote, csv.ErrQuote),
// and a row with the wrong number of fields with csv.ErrFieldCount.
var (
	// ErrNoIDColumn: no column's key (after Rename) is dss.IDKey, ignoring case.
	ErrNoIDColumn = errors.New("no idnumber column")
	// ErrDuplicateColumn: two columns give the same key, ignoring case (dss
	// matches keys to fields ignoring case, so both would fill one field).
	ErrDuplicateColumn = errors.New("duplicate column")
	// ErrUnknownColumn: a key of Rename or Lists names no column.
	ErrUnknownColumn = errors.New("no such column")
	// ErrRecordTooLarge: a record's text is longer than MaxRecordSize bytes.
	ErrRecordTooLarge = errors.New("record too large")
	// ErrTooManyColumns: a row has more than MaxColumns fields.
	ErrTooManyColumns = errors.New("too many columns")
	// ErrBareCR: a '\r' outside quotes is not followed by '\n': "\r\r\n" or
	// a lone "\r" as a line ending, or a "\r" at the end of the file. RFC 4180
	// ends lines with "\r\n" only; encoding/csv would keep the '\r' in the
	// field, or drop it at the end of the file. The *Error points at the '\r'.
	ErrBareCR = errors.New(`bare \r in non-quoted-field`)
	// ErrNoFinalNewline: with RequireFinalNewline, the last record does not
	// end with a line ending, so the file may have been cut short. The
	// *Error points just past the last byte.
	ErrNoFinalNewline = errors.New("no line ending after the last record")
)

// Error is the error of a failed CSV import: where (Source, Line, Column) and
// why (Err, which unwraps). It prints as "csv users.csv:12:5: cause",
// leaving out what is unknown: Line and Column are 1-based, Column counts
// bytes as encoding/csv does, and either is 0 when it does not apply (a bad
// option, a row with too few fields).
type Error struct {
	Source string // the file name, or the name given to New
	Line   int
	Column int
	Err    error
}

// Error returns "csv source:line:column: cause", without the parts that
// are unknown.
func (e *Error) Error() string {
	return input.Message("csv", e.Source, e.Line, e.Column, e.Err)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

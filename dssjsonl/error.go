package dssjsonl

import (
	"errors"

	"github.com/datastoresync/dss/internal/input"
)

// Sentinel errors found in an *Error's Err with errors.Is.
var (
	// ErrSyntax: a line is not valid JSON. The *json.SyntaxError is in the
	// chain too, and the *Error points at the first byte that is wrong, or
	// just past the end of the line when the line ends too soon.
	ErrSyntax = errors.New("invalid JSON")
	// ErrNotObject: a line is valid JSON, but not an object: an array, a
	// string, a number, true, false or null.
	ErrNotObject = errors.New("not a JSON object")
	// ErrNested: a value is an object, or a list holds a list or an object.
	// A record holds primitive values and lists of them.
	ErrNested = errors.New("nested value")
	// ErrDuplicateKey: an object has the same key twice. encoding/json
	// would keep the last value silently.
	ErrDuplicateKey = errors.New("duplicate key")
	// ErrNotUTF8: a line is not valid UTF-8, as JSON text must be (a file
	// in Latin-1, say), or a string holds an escaped UTF-16 surrogate
	// without its other half ("\ud800"), which no UTF-8 text can hold.
	// encoding/json would replace either with U+FFFD silently.
	ErrNotUTF8 = errors.New("not valid UTF-8")
	// ErrRecordTooLarge: a line is longer than MaxRecordSize bytes.
	ErrRecordTooLarge = errors.New("record too large")
)

// Error is the error of a failed JSON Lines import: where (Source, Line,
// Column) and why (Err, which unwraps). It prints as
// "jsonl courses.jsonl:12:5: cause", leaving out what is unknown: Line
// and Column are 1-based, Column counts bytes (after a byte order mark on the
// first line), and either is 0 when it does not apply (a reader read twice, a
// line too long).
type Error struct {
	Source string // the file name, or the name given to New
	Line   int
	Column int
	Err    error
}

// Error returns "jsonl source:line:column: cause", without the parts
// that are unknown.
func (e *Error) Error() string {
	return input.Message("jsonl", e.Source, e.Line, e.Column, e.Err)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

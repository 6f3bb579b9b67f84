package dss

import (
	"fmt"
	"strings"
)

// ImportError is the error of a failed import: which tree and branch, which
// record (Pos, ID), which key and value, and why (Err, which unwraps).
// Errors of the importer itself (a file that will not open) have no Key.
//
// Its message is one line of printable text, however hostile the record:
// the id is written as Action.String writes it (single-quoted, or Go-quoted
// when it is not printable or holds a single quote or backslash); the tree,
// branch and source are written as they are when printable and free of
// quotes and backslashes, and Go-quoted otherwise; the key and a text value
// are Go-quoted; and the cause's text follows as it is, except that every
// rune that is not printable (strconv.IsPrint), newlines included, is
// replaced by its Go escape. The context is added here, once: the causes
// dss's connectors give (dsscsv.Error, dssjsonl.Error, dsssql's errors)
// carry no "dss: " of their own.
type ImportError struct {
	Tree   string
	Branch string
	Pos    Pos    // where the record came from; zero if not about a record
	ID     string // the record's idnumber, when known
	Key    string // the offending key, if any
	Value  any    // the offending value, when Key is set
	Err    error

	redact bool
}

func (e *ImportError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "dss: %s.%s", fmtBare(e.Tree), fmtBare(e.Branch))
	pos := e.Pos
	pos.Source = fmtBare(pos.Source)
	if p := pos.String(); p != "" {
		b.WriteString(": " + p)
	}
	if e.ID != "" {
		b.WriteString(": idnumber " + fmtID(e.ID))
	}
	if e.Key != "" {
		fmt.Fprintf(&b, ": key %q", e.Key)
		if e.redact {
			b.WriteString(" value [redacted]")
		} else {
			b.WriteString(" value " + fmtValue(e.Value))
		}
	}
	if e.Err != nil {
		b.WriteString(": " + escapeText(e.Err.Error()))
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *ImportError) Unwrap() error { return e.Err }

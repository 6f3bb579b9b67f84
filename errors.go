package dss

import (
	"fmt"
	"strings"
)

// ImportError is the error of a failed import: which tree and branch, which
// record (Pos, ID), which key and value, and why (Err, which unwraps).
// Errors of the importer itself (a file that will not open) have no Key.
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
	fmt.Fprintf(&b, "dss: %s.%s", e.Tree, e.Branch)
	if p := e.Pos.String(); p != "" {
		b.WriteString(": " + p)
	}
	if e.ID != "" {
		fmt.Fprintf(&b, ": idnumber '%s'", e.ID)
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
		// An importer's error may carry dss's prefix too: say it once.
		b.WriteString(": " + strings.TrimPrefix(e.Err.Error(), "dss: "))
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *ImportError) Unwrap() error { return e.Err }

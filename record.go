package dss

import (
	"context"
	"fmt"
	"maps"
	"sync"
)

// Record is one imported object's primitive values, keyed by attribute name.
// Importers yield records; dss decodes each into the branch's object type.
//
// Values are strings, booleans, numbers, time.Time, []byte, nil, or slices
// of those. A key that begins with "_" is decoded but never synced.
type Record map[string]any

// Pos says where a record came from: a source (a file name, a table) and a
// line or row number. An importer that is a Positioner gives it; for any
// other, dss uses Pos{Line: n}, n being the record's 1-based ordinal among
// the records its importer yielded (those Filter skipped count too), which
// prints as "record n". Errors that are not about a record (an importer that
// fails to open its file) have the zero Pos, which prints as "".
type Pos struct {
	Source string // file, table or other origin; may be empty
	Line   int    // 1-based line the record starts on, row number or ordinal; 0 when unknown
}

// String returns "source:line" when both are known, "record line" when only
// the line is, the source alone when only it is, and "" for the zero Pos.
func (p Pos) String() string {
	switch {
	case p.Source != "" && p.Line > 0:
		return fmt.Sprintf("%s:%d", p.Source, p.Line)
	case p.Line > 0:
		return fmt.Sprintf("record %d", p.Line)
	default:
		return p.Source
	}
}

// An Importer yields the records of one branch. Import calls yield once per
// record, in order, and stops when yield returns an error, returning it.
// dss keeps nothing of a record after yield returns (values are copied into
// the object), so an importer may reuse one Record map for every row.
//
// An importer may read the branches of its tree that were imported before it:
// importers run in branch order.
//
// An Importer may also implement Positioner, so that errors name the file and
// line of a bad record; PositionedImporter makes one of a function.
type Importer interface {
	Import(ctx context.Context, yield func(Record) error) error
}

// ImporterFunc adapts a plain function to the Importer interface.
type ImporterFunc func(ctx context.Context, yield func(Record) error) error

// Import calls f(ctx, yield).
func (f ImporterFunc) Import(ctx context.Context, yield func(Record) error) error {
	return f(ctx, yield)
}

// PositionedImporter returns an Importer that calls f, which yields each
// record with its position: the ImporterFunc of code that knows where its
// records come from, so that dss's errors name "courses.jsonl:3" rather than
// "record 3". The Importer is a Positioner, as dsscsv's is. A record yielded
// with the zero Pos is named by its ordinal, as an ImporterFunc's are.
//
// The Importer may be shared by trees that import at once: its Imports run
// one at a time.
func PositionedImporter(f func(ctx context.Context, yield func(Record, Pos) error) error) Importer {
	return &posImporter{f: f}
}

// posImporter is the Importer of PositionedImporter.
type posImporter struct {
	f   func(ctx context.Context, yield func(Record, Pos) error) error
	mu  sync.Mutex // held by the running Import, which owns pos
	pos Pos        // the position of the record being yielded
}

func (p *posImporter) Import(ctx context.Context, yield func(Record) error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	return p.f(ctx, func(rec Record, pos Pos) error {
		n++
		if pos == (Pos{}) {
			pos.Line = n
		}
		p.pos = pos
		return yield(rec)
	})
}

// Position returns the position yielded with the current record.
func (p *posImporter) Position() Pos { return p.pos }

// Positioner is the optional upgrade of an Importer that knows where its
// records come from. dss calls Position during yield to learn the position
// of the record being yielded.
type Positioner interface {
	Position() Pos
}

// SizeHinter is the optional upgrade of an Importer that can estimate how
// many records it yields in all (a CSV file, from its size). For a Unique
// branch, where records are objects, dss asks once, when the importer has
// yielded 1024 records, and reserves room for that many objects (up to
// MaxSizeHint) instead of growing the branch step by step. A hint of 0
// means unknown, and a hint no larger than what was read already changes
// nothing; a wrong one costs only memory or time. Other branches never ask.
type SizeHinter interface {
	SizeHint() int
}

// MaxSizeHint caps a SizeHinter's estimate, so that a wrong one cannot
// reserve memory out of proportion.
const MaxSizeHint = 1 << 24

// Records returns an Importer that yields copies of the given records, in
// order, so that preprocessing never changes the caller's maps. It is meant
// for tests and small fixed data sets.
func Records(recs ...Record) Importer {
	return ImporterFunc(func(ctx context.Context, yield func(Record) error) error {
		for _, r := range recs {
			if err := yield(maps.Clone(r)); err != nil {
				return err
			}
		}
		return nil
	})
}

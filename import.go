package dss

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"
	"unsafe"
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

// A RowImporter is the optional upgrade of an Importer whose records all
// have the same keys in the same order, and text values: a CSV file's rows.
// It yields each record as its values in the order of its keys, so that dss
// maps the keys to fields once per import rather than once per record, and
// no value is boxed into a Record. dsscsv's Importer is one; RowsFunc makes
// one of a function.
//
// dss calls ImportRows instead of Import when the branch has no Filter and
// no Preprocess, which need Records. Both must yield the same records: a row
// is the Record that maps keys[i] to row[i] for each i < len(row).
type RowImporter interface {
	Importer
	// ImportRows calls yield once per record, in order, with its keys and
	// its values. The keys are meant to stay the same for every record of
	// one ImportRows (dss maps them to fields again whenever they change).
	// A row shorter than keys lacks the keys past its end; a longer one is
	// an error. yield keeps neither slice, only the strings.
	// ImportRows returns ErrSkipRows, before it yields anything, when
	// this import cannot be given as rows; dss then calls Import.
	ImportRows(ctx context.Context, yield func(keys, row []string) error) error
}

// ErrSkipRows is what RowImporter.ImportRows returns, before yielding any
// row, when its records cannot be given as rows of text (a dsscsv column
// split into a list): dss then calls Import. database/sql's driver.ErrSkip
// is the same idea.
var ErrSkipRows = errors.New("records cannot be given as rows")

// RowsFunc returns a RowImporter that calls f, which yields rows of text
// with the given keys: row[i] is the value of keys[i]. It is the
// ImporterFunc of records with fixed keys (memberships derived from users,
// say), and cheaper than one, since no Record is made; a branch with a
// Filter or a Preprocess is given Records made of the rows. f may reuse one
// row slice for every row.
func RowsFunc(keys []string, f func(ctx context.Context, yield func(row []string) error) error) RowImporter {
	return rowsFunc{keys: slices.Clone(keys), f: f}
}

type rowsFunc struct {
	keys []string
	f    func(ctx context.Context, yield func(row []string) error) error
}

// errNilRowsFunc is the error of a RowsFunc made with a nil function.
var errNilRowsFunc = errors.New("RowsFunc: nil function")

func (r rowsFunc) ImportRows(ctx context.Context, yield func(keys, row []string) error) error {
	if r.f == nil {
		return errNilRowsFunc
	}
	return r.f(ctx, func(row []string) error { return yield(r.keys, row) })
}

func (r rowsFunc) Import(ctx context.Context, yield func(Record) error) error {
	if r.f == nil {
		return errNilRowsFunc
	}
	return r.f(ctx, func(row []string) error {
		if len(row) > len(r.keys) {
			return fmt.Errorf("row of %d values for %d keys", len(row), len(r.keys))
		}
		rec := make(Record, len(row))
		for i, v := range row {
			rec[r.keys[i]] = v
		}
		return yield(rec)
	})
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

// importAll runs the importers of every branch, telling obs how it goes.
func (t *tree) importAll(ctx context.Context, redact bool, obs *observer) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.begin(redact)
	start := time.Now()
	for _, b := range t.branches {
		bstart := time.Now()
		records := 0
		tick := obs.importTick(t.name, b.Name(), bstart, &records)
		err := b.run(ctx, nil, tick)
		obs.importedBranch(t.name, b.Name(), records, b.Len(), time.Since(bstart), err)
		if err != nil {
			obs.imported(t, time.Since(start), err)
			return t.end(err)
		}
	}
	obs.imported(t, time.Since(start), nil)
	return t.end(nil)
}

// begin starts an import or load: every branch is emptied, and every plan
// made before is stale.
func (t *tree) begin(redact bool) {
	t.gen++
	t.importErr, t.redact, t.state = nil, redact, stateFailed
	for _, b := range t.branches {
		b.reset()
	}
}

// end finishes an import or load with its error.
func (t *tree) end(err error) error {
	t.importErr = err
	if err == nil {
		t.state = stateReady
	}
	return err
}

// run imports the branch, which the tree's import has emptied: it fills it
// with what imp yields (b.Importer when imp is nil), then completes the
// objects. tick, if not nil, is called with the number of records read so
// far every 1024 records, and once more at the end.
func (b *Branch[K, V]) run(ctx context.Context, imp Importer, tick func(records int)) error {
	if b.Unique {
		// One record is one object: the objects need no map to be found
		// while importing, and repeated idnumbers show up side by side once
		// the order is sorted. Get searches the order instead.
		b.objs = nil
	}
	if imp == nil {
		imp = b.Importer
	}
	if imp == nil {
		return b.errorf(Pos{}, "", nil, errors.New("no importer"))
	}
	positioner, _ := imp.(Positioner)
	hinter, _ := imp.(SizeHinter)
	n := 0
	// next counts a record and says where it came from.
	next := func() (Pos, error) {
		n++
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return Pos{}, err
			}
			if tick != nil {
				tick(n)
			}
			if hinter != nil && n == 1024 && b.Unique {
				// Records are objects, so the order can be sized once. A
				// hint of 0 (unknown) or below what is read already is no
				// reason to grow, and slices.Grow panics on a negative n.
				if h := min(hinter.SizeHint(), MaxSizeHint); h > len(b.order) {
					b.order = slices.Grow(b.order, h-len(b.order))
				}
			}
		}
		if positioner != nil {
			return positioner.Position(), nil
		}
		return Pos{Line: n}, nil
	}
	yield := func(rec Record) error {
		pos, err := next()
		if err != nil {
			return err
		}
		if b.Filter != nil && !b.Filter(rec) {
			return nil
		}
		if b.Preprocess != nil {
			if err := b.Preprocess(rec); err != nil {
				return b.errorf(pos, "", nil, fmt.Errorf("preprocess: %w", err))
			}
		}
		return b.put(rec, pos)
	}
	// Filter and Preprocess take Records: rows are for branches without.
	rows, useRows := imp.(RowImporter)
	useRows = useRows && b.Filter == nil && b.Preprocess == nil
	var err error
	if useRows {
		var rp rowPlan
		err = rows.ImportRows(ctx, func(keys, row []string) error {
			pos, err := next()
			if err != nil {
				return err
			}
			return b.putRow(&rp, keys, row, pos)
		})
		useRows = !(errors.Is(err, ErrSkipRows) && n == 0)
	}
	if !useRows {
		err = imp.Import(ctx, yield)
	}
	if tick != nil {
		tick(n)
	}
	if err != nil {
		if ie := (*ImportError)(nil); errors.As(err, &ie) {
			return err
		}
		return b.errorf(Pos{}, "", nil, err)
	}
	if err := ctx.Err(); err != nil {
		return b.errorf(Pos{}, "", nil, err)
	}
	return b.finish(true)
}

// put decodes one record at pos into the branch: a new object, or one that
// accumulates into the object with the same idnumber.
func (b *Branch[K, V]) put(rec Record, pos Pos) error {
	idv, idkey := rec[IDKey], IDKey
	if idv == nil {
		for k, v := range rec {
			if f, ok := b.plan.lookup(k); ok && f.key == IDKey {
				idv, idkey = v, k
				break
			}
		}
	}
	conv, err := vetID(idv, b.TrimID)
	if n, ok := conv.(json.Number); ok && err == nil && reflect.TypeFor[K]().Kind() == reflect.String && !integerText(string(n)) {
		err = errIDNumber
	}
	if err != nil {
		return b.errorf(pos, "", &keyError{key: idkey, value: idv, err: err}, nil)
	}
	var k K
	if err := assign(unsafe.Pointer(&k), reflect.TypeFor[K](), conv); err != nil {
		return b.errorf(pos, "", &keyError{key: idkey, value: idv, err: err}, nil)
	}
	return b.add(k, pos, func(obj unsafe.Pointer, merge bool) *keyError {
		return b.plan.decode(obj, rec, merge, true, b.IgnoreUnknownKeys)
	})
}

// putRow is put for a row of a RowImporter, decoded as rp says, which it
// makes when keys are new.
func (b *Branch[K, V]) putRow(rp *rowPlan, keys, row []string, pos Pos) error {
	if !rp.madeFor(keys) {
		*rp = b.plan.rowPlan(keys, b.IgnoreUnknownKeys)
	}
	if len(row) > len(keys) {
		return b.errorf(pos, "", nil, fmt.Errorf("row of %d values for %d keys", len(row), len(keys)))
	}
	if rp.id < 0 || rp.id >= len(row) {
		return b.errorf(pos, "", &keyError{key: IDKey, err: ErrNoID}, nil)
	}
	id, err := checkID(row[rp.id], b.TrimID)
	if err != nil {
		return b.errorf(pos, "", &keyError{key: keys[rp.id], value: row[rp.id], err: err}, nil)
	}
	var k K
	if err := assignText(unsafe.Pointer(&k), reflect.TypeFor[K](), id); err != nil {
		return b.errorf(pos, "", &keyError{key: keys[rp.id], value: row[rp.id], err: err}, nil)
	}
	return b.add(k, pos, func(obj unsafe.Pointer, merge bool) *keyError {
		return b.plan.decodeRow(obj, rp, keys, row, merge)
	})
}

// add decodes a record whose idnumber is k into the object with that
// idnumber, or into a new one that it then inserts.
func (b *Branch[K, V]) add(k K, pos Pos, decode func(obj unsafe.Pointer, merge bool) *keyError) error {
	var obj *V
	exists := false
	if b.objs != nil {
		obj, exists = b.objs[k]
	}
	if !exists {
		obj = new(V)
		*(*K)(unsafe.Add(unsafe.Pointer(obj), b.idOff)) = k
	}
	if ke := decode(unsafe.Pointer(obj), exists); ke != nil {
		if ce, ok := ke.err.(*conflictError); ok {
			ce.first, ce.redact = b.firstPos(unsafe.Pointer(obj)), b.tree.redact || b.secretKey(ke.key)
			if b.secretKey(ke.key) {
				ce.got, ce.earlier = nil, nil
			}
		}
		return b.errorf(pos, keyString(k), ke, nil)
	}
	if !exists {
		b.insert(k, obj, pos)
	}
	return nil
}

// finish normalises lists to sorted sets and, if derive is set, lets objects
// derive themselves, in idnumber order. In a branch without a map (a Unique
// import) it first refuses repeated idnumbers.
func (b *Branch[K, V]) finish(derive bool) error {
	es := b.ordered()
	if b.objs == nil {
		if err := b.repeated(es); err != nil {
			return err
		}
	}
	for _, e := range es {
		b.plan.normalize(e.obj)
		if !derive || !b.plan.derive {
			continue
		}
		if err := any((*V)(e.obj)).(Deriver).Derive(); err != nil {
			return b.errorf(e.pos(b.srcs), keyString(e.key), nil, fmt.Errorf("derive: %w", err))
		}
	}
	return nil
}

// repeated returns an ErrDuplicateID error for the earliest record whose
// idnumber an earlier record had, or nil. es is sorted stably, so records
// with one idnumber are side by side in the order they came.
func (b *Branch[K, V]) repeated(es []entry[K]) error {
	dup := -1
	for i := 1; i < len(es); i++ {
		if es[i].key != es[i-1].key {
			continue
		}
		if dup < 0 || es[i].before(es[dup]) {
			dup = i
		}
	}
	if dup < 0 {
		return nil
	}
	first := dup - 1
	for first > 0 && es[first-1].key == es[dup].key {
		first--
	}
	return b.errorf(es[dup].pos(b.srcs), keyString(es[dup].key), nil,
		fmt.Errorf("%w (first record for this idnumber: %v)", ErrDuplicateID, es[first].pos(b.srcs)))
}

func (b *Branch[K, V]) errorf(pos Pos, id string, ke *keyError, err error) error {
	e := &ImportError{Tree: b.tree.name, Branch: b.name, Pos: pos, ID: id, Err: err, redact: b.tree.redact}
	if ke != nil {
		e.Key, e.Value, e.Err = ke.key, ke.value, ke.err
		if b.secretKey(ke.key) {
			e.Value, e.redact = nil, true
		}
	}
	return e
}

// secretKey reports whether a record key names a secret field, exactly or
// as lookup matches it.
func (b *Branch[K, V]) secretKey(key string) bool {
	f, ok := b.plan.lookup(key)
	return ok && f.secret
}

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
	Value  any    // the offending value, when Key is set; nil when Key is a secret field's
	Err    error

	redact bool
}

// Error names the tree, branch, position, idnumber, key and value (or
// "[redacted]", when the tree redacts values or the key is a secret
// field's), then the cause, all on one printable line.
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

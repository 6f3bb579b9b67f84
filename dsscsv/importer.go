package dsscsv

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/datastoresync/dss"
	"github.com/datastoresync/dss/internal/input"
)

// Defaults set by Open and New.
const (
	// DefaultMaxRecordSize is the default of Importer.MaxRecordSize: 1 MiB.
	DefaultMaxRecordSize = 1 << 20
	// DefaultMaxColumns is the default of Importer.MaxColumns.
	DefaultMaxColumns = 1024
)

// ctxEvery is how many rows Import reads between checks of its context.
const ctxEvery = 4096

// bufSize is the size of the read buffer, shared with encoding/csv.
const bufSize = 64 << 10

const bom = "\uFEFF"

// An Importer is a dss.Importer that reads a CSV file: the first row is the
// header (unless Columns is set), and every later row is one dss.Record that
// maps each column's key to its field, a string (or, for a Lists key, a
// []string). A UTF-8 byte order mark at the start is skipped; quoted fields
// may hold delimiters, doubled quotes and newlines, as in RFC 4180; blank
// lines are skipped; "\r\n" reads as "\n". Lines end with "\n" or "\r\n": a
// '\r' outside quotes that is not followed by '\n' ("\r\r\n", a lone "\r" as
// old Macs ended lines, a "\r" at the end of the file) fails the import with
// ErrBareCR at its line and column. Inside quotes a '\r' is data.
//
// Set the exported fields after Open or New and before Import. An Importer
// may be used for one Import at a time: Position reports on the running one.
type Importer struct {
	// Comma is the field delimiter, ',' by default: ';' and '\t' are common.
	// It must be a valid rune other than '"', '\r', '\n' and utf8.RuneError.
	Comma rune
	// LazyQuotes lets a quote appear in an unquoted field and a single quote
	// in a quoted one, as csv.Reader.LazyQuotes does.
	LazyQuotes bool
	// Columns, when not nil, names the columns, and the first row is data.
	// When nil, the first row is the header; its names are trimmed of
	// surrounding white space.
	Columns []string
	// Rename maps column names to record keys ("ID" to "idnumber"). Columns
	// it does not name keep their name as key. Naming a column the file
	// does not have is an error (ErrUnknownColumn), as is an empty key.
	Rename map[string]string
	// Lists maps record keys (after Rename) to a separator: the column's
	// field is split into a []string ("a; b;c" with ";" gives a, b and c).
	// Elements are trimmed of surrounding white space and empty ones are
	// dropped, so an empty field gives an empty list.
	Lists map[string]string
	// MaxRecordSize bounds the bytes of one record's text, blank lines before
	// it included (DefaultMaxRecordSize). A longer record fails the import
	// with ErrRecordTooLarge after reading at most MaxRecordSize+1 of its
	// bytes. Zero or less means no limit.
	MaxRecordSize int
	// MaxColumns bounds the number of fields in a row (DefaultMaxColumns).
	// A wider row fails the import with ErrTooManyColumns, as soon as the
	// bytes read show it, before encoding/csv splits it into fields (some
	// 40 bytes each). Zero or less means no limit.
	MaxColumns int
	// RequireFinalNewline makes a last record without a line ending ("\n"
	// or "\r\n") fail the import with ErrNoFinalNewline, at the line and
	// column where the line ending is missing, before that record is
	// yielded: a file cut short inside its last row would otherwise be
	// imported with the row cut too. The header counts as a record: a file
	// that is only a header without a line ending fails. An empty file has
	// no last record: it fails for want of a header as always, or, with
	// Columns, imports no records. A last record that ends inside an
	// unterminated quoted field (with LazyQuotes) has no line ending either.
	//
	// It is false by default, because many exports omit the final newline;
	// set it when the files come from a program known to write one.
	RequireFinalNewline bool
	// AllowShortRows accepts rows with fewer fields than the header (or
	// Columns): the columns a row lacks at its end are absent from its
	// record, not empty strings, so that their fields keep their zero value
	// and a Preprocess hook can tell "missing" from "empty". Without it, a
	// short row fails the import with csv.ErrFieldCount. A row with more
	// fields than the header fails either way.
	//
	// A file cut short inside its last row then imports that row as a short
	// one: set RequireFinalNewline too when the files end with a newline.
	AllowShortRows bool

	in   input.Input // Open's file, opened at every Import, or New's reader, read once
	name string      // for positions and errors
	pos  dss.Pos     // the record being yielded
	size int64       // the file's size, when known, for SizeHint
	hint int         // SizeHint's estimate
}

var _ interface {
	dss.RowImporter
	dss.Positioner
	dss.SizeHinter
} = (*Importer)(nil)

// Open returns an Importer that reads the file at path, opening it anew at
// every Import, so that a tree can be imported again. Positions and errors
// name the file by path.
func Open(path string) *Importer {
	return newImporter(path, nil, path)
}

// New returns an Importer that reads CSV from r, and calls it name in
// positions and errors. It reads r once: a second Import fails. New does not
// close r.
func New(r io.Reader, name string) *Importer {
	return newImporter("", r, name)
}

func newImporter(path string, r io.Reader, name string) *Importer {
	return &Importer{
		Comma:         ',',
		MaxRecordSize: DefaultMaxRecordSize,
		MaxColumns:    DefaultMaxColumns,
		in:            input.Input{Path: path, R: r},
		name:          name,
	}
}

// hintRows is the number of rows after which SizeHint estimates the rest.
const hintRows = 1000

// SizeHint estimates how many records an Import of a file will yield, from
// the file's size and the length of its first rows; dss uses it to size a
// branch once instead of growing it. It is 0 when unknown: before enough
// rows are read, and for New's readers.
func (im *Importer) SizeHint() int { return im.hint }

// Position returns the file name and the line on which the record being
// yielded starts; dss calls it to say where a bad record came from.
func (im *Importer) Position() dss.Pos { return im.pos }

// Import reads the CSV and calls yield with a Record for each row, in order:
// one map, cleared for each row, as dss.Importer allows. It stops at the first error: yield's, returned as is; the
// context's; the error opening the file (an *fs.PathError, wrapped); or an
// *Error naming the file, line and column.
//
// The header is checked before any record is yielded: its keys must be
// unique ignoring case, one of them must be dss.IDKey ignoring case
// (ErrNoIDColumn), and every key of Rename and Lists must name a column.
//
// After the header, a goroutine reads and splits rows a little ahead of the
// records being yielded, so that parsing runs on another core. It has
// stopped reading when Import returns, however Import ends.
func (im *Importer) Import(ctx context.Context, yield func(dss.Record) error) error {
	// One map serves every row: dss keeps nothing of a record after yield
	// returns. It is cleared for each row, so that keys a Preprocess hook
	// added or removed for one row never leak into the next.
	rec := dss.Record{}
	return im.start(ctx, func(r *run, fields []string) error {
		clear(rec)
		// A short row (AllowShortRows) fills the first columns only.
		for j, f := range fields {
			// csv.Reader makes one string per row and slices the fields
			// from it: one allocation per row, not per field. An object
			// keeps all of its row's fields, so sharing costs nothing
			// extra; only a column no field takes stays alive with its row.
			if sep := r.lists[j]; sep != "" {
				rec[r.keys[j]] = splitList(f, sep)
			} else {
				rec[r.keys[j]] = f
			}
		}
		return yield(rec)
	})
}

// ImportRows is Import for dss.RowImporter: it yields each row's fields, in
// the order of the keys (the columns, renamed), without making a Record.
// dss calls it instead of Import where it can. A file whose rows would not
// be text (Lists is set) returns dss.ErrSkipRows at once, and dss calls
// Import.
func (im *Importer) ImportRows(ctx context.Context, yield func(keys, row []string) error) error {
	if len(im.Lists) > 0 {
		return dss.ErrSkipRows
	}
	return im.start(ctx, func(r *run, fields []string) error { return yield(r.keys, fields) })
}

// start opens the input and reads it, calling emit with the fields of each
// row after the header.
func (im *Importer) start(ctx context.Context, emit func(r *run, fields []string) error) error {
	im.pos, im.size, im.hint = dss.Pos{Source: im.name}, 0, 0
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := im.checkOptions(); err != nil {
		return err
	}
	src, size, done, err := im.in.Open()
	if input.IsOpenError(err) {
		return fmt.Errorf("csv %w", err)
	}
	if err != nil {
		return im.errorf(0, 0, err)
	}
	defer done()
	im.size = size
	r := &run{im: im, emit: emit}
	return r.run(ctx, src)
}

// checkOptions reports the errors in the exported fields that do not depend
// on the file.
func (im *Importer) checkOptions() error {
	if c := im.Comma; c == 0 || c == '"' || c == '\r' || c == '\n' || !utf8.ValidRune(c) || c == utf8.RuneError {
		return im.errorf(0, 0, fmt.Errorf("invalid Comma %q", c))
	}
	if im.Columns != nil && len(im.Columns) == 0 {
		return im.errorf(0, 0, errors.New("option Columns is empty: set it to nil to read a header"))
	}
	for _, col := range slices.Sorted(maps.Keys(im.Rename)) {
		if im.Rename[col] == "" {
			return im.errorf(0, 0, fmt.Errorf("option Rename[%q] is empty", col))
		}
	}
	for _, key := range slices.Sorted(maps.Keys(im.Lists)) {
		if im.Lists[key] == "" {
			return im.errorf(0, 0, fmt.Errorf("option Lists[%q]: empty separator", key))
		}
		if strings.EqualFold(key, dss.IDKey) {
			return im.errorf(0, 0, fmt.Errorf("option Lists[%q]: the idnumber cannot be a list", key))
		}
	}
	return nil
}

func (im *Importer) errorf(line, col int, err error) *Error {
	return &Error{Source: im.name, Line: line, Column: col, Err: err}
}

// run is the state of one Import.
type run struct {
	im    *Importer
	emit  func(r *run, fields []string) error // Import's or ImportRows's
	guard *guard
	cr    *csv.Reader

	keys    []string // record key of each column
	lists   []string // separator of each column; "" if not a list
	endLine int      // the line on which the last record ended
}

func (r *run) run(ctx context.Context, src io.Reader) error {
	im := r.im
	// The byte order mark is skipped before the guard, so that the guard
	// sees what csv.Reader sees. A small bufio.Reader is enough to peek
	// at it; once empty, it passes large reads straight through.
	peek := bufio.NewReaderSize(src, 16)
	if b, _ := peek.Peek(len(bom)); string(b) == bom {
		peek.Discard(len(bom))
	}
	r.guard = newGuard(peek, im)
	// csv.NewReader reads from br itself, a large enough *bufio.Reader, so
	// that every byte csv.Reader buffers went through the guard.
	br := bufio.NewReaderSize(r.guard, bufSize)
	r.cr = csv.NewReader(br)
	r.cr.Comma = im.Comma
	r.cr.LazyQuotes = im.LazyQuotes
	r.cr.FieldsPerRecord = -1 // checked here, with a better message
	r.cr.ReuseRecord = true   // the fields are copied into each Record

	if im.Columns != nil {
		names := make([]string, len(im.Columns))
		for i, c := range im.Columns {
			names[i] = strings.TrimSpace(c)
		}
		if err := r.header(names, nil); err != nil {
			return err
		}
	} else {
		fields, err := r.read()
		if err == io.EOF {
			return im.errorf(0, 0, fmt.Errorf("no header row: %w", io.ErrUnexpectedEOF))
		}
		if err != nil {
			return err
		}
		for i, f := range fields {
			fields[i] = strings.TrimSpace(f)
		}
		if err := r.header(fields, r.cr.FieldPos); err != nil {
			return err
		}
	}

	// The rows are read and split on a goroutine of their own, a batch at a
	// time, while this one makes records of them and yields them: parsing
	// CSV is a good part of an import, and it runs on another core. It pays
	// for itself: reading rows in this loop instead took 1.17 times the wall
	// time of BenchmarkImport for the same CPU time (median of 15 runs of
	// 300 imports, old and new alternating, on 2 busy cores), and 1.12 times
	// that of internal/bench at N = 100,000 (21 runs); at N = 1,000,000, where
	// both trees already import at once, it was within the noise (1.04, 0.95).
	free, full := make(chan *batch, batches), make(chan *batch, batches)
	for range batches {
		free <- &batch{}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { r.produce(free, full, done) })
	defer func() {
		close(done)
		wg.Wait() // nothing reads src once Import has returned
	}()

	rows := 0
	for {
		b := <-full
		for i, line := range b.lines {
			if rows++; rows%ctxEvery == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			start := 0
			if i > 0 {
				start = b.ends[i-1]
			}
			im.pos = dss.Pos{Source: im.name, Line: line}
			if i == b.hintRow {
				im.hint = b.hint
			}
			if err := r.emit(r, b.fields[start:b.ends[i]]); err != nil {
				return err
			}
		}
		switch b.err {
		case nil:
			free <- b
		case io.EOF:
			return nil
		default:
			return b.err
		}
	}
}

// batches is how many batches of rows a run cycles through, and batchRows
// how many rows a batch holds at most.
const (
	batches   = 3
	batchRows = 512
)

// batch is rows read ahead of the records being yielded.
type batch struct {
	fields  []string // the fields of each row, one row after the other
	ends    []int    // where each row's fields end in fields
	lines   []int    // the line on which each row starts
	hint    int      // the estimate SizeHint returns from row hintRow on
	hintRow int      // -1 if the estimate is not made in this batch
	err     error    // what ended the batch after its rows: io.EOF at the end
}

// produce reads rows into batches from free and sends them on full, until
// the input ends in an error (io.EOF at the end) or done is closed.
func (r *run) produce(free <-chan *batch, full chan<- *batch, done <-chan struct{}) {
	rows := 0
	for {
		var b *batch
		select {
		case b = <-free:
		case <-done:
			return
		}
		b.fields, b.ends, b.lines, b.hintRow, b.err = b.fields[:0], b.ends[:0], b.lines[:0], -1, nil
		for len(b.lines) < batchRows && b.err == nil {
			fields, err := r.read()
			if err == nil {
				err = r.width(fields)
			}
			if err != nil {
				b.err = err
				break
			}
			line, _ := r.cr.FieldPos(0)
			b.fields = append(b.fields, fields...)
			b.ends = append(b.ends, len(b.fields))
			b.lines = append(b.lines, line)
			if rows++; rows == hintRows && r.im.size > 0 {
				// Estimate the rows of the file from the average so far.
				read := r.cr.InputOffset()
				b.hint = rows + int((r.im.size-read)*int64(rows)/max(read, 1))
				b.hintRow = len(b.lines) - 1
			}
		}
		select {
		case full <- b:
		case <-done:
			return
		}
		if b.err != nil {
			return
		}
	}
}

// width checks that a row has as many fields as the header, or, with
// AllowShortRows, no more.
func (r *run) width(fields []string) error {
	if len(fields) == len(r.keys) || len(fields) < len(r.keys) && r.im.AllowShortRows {
		return nil
	}
	line, _ := r.cr.FieldPos(0)
	if len(fields) < len(r.keys) {
		return r.im.errorf(line, 0, fmt.Errorf("short row: %d fields, the header has %d (AllowShortRows is off): %w",
			len(fields), len(r.keys), csv.ErrFieldCount))
	}
	_, col := r.cr.FieldPos(len(r.keys))
	return r.im.errorf(line, col, fmt.Errorf("long row: %d fields, the header has %d: %w",
		len(fields), len(r.keys), csv.ErrFieldCount))
}

// read reads the next record and checks its size and width.
func (r *run) read() ([]string, error) {
	im := r.im
	before := r.cr.InputOffset()
	fields, err := r.cr.Read()
	if err := r.bareCR(err); err != nil {
		return nil, err
	}
	if err == io.EOF {
		return nil, err
	}
	if err == nil && im.MaxRecordSize > 0 && r.cr.InputOffset()-before > int64(im.MaxRecordSize) {
		// The record ended within the MaxRecordSize+1 bytes the guard
		// lets through.
		err = ErrRecordTooLarge
	}
	if err != nil {
		line := r.endLine + 1 // a guess: blank lines may come first
		if len(fields) > 0 {
			line, _ = r.cr.FieldPos(0)
		}
		var pe *csv.ParseError
		switch {
		case errors.As(err, &pe):
			cause := pe.Err
			if pe.StartLine != pe.Line {
				cause = fmt.Errorf("in the record that starts on line %d: %w", pe.StartLine, cause)
			}
			return nil, im.errorf(pe.Line, pe.Column, cause)
		case errors.Is(err, ErrTooManyColumns):
			// The guard saw the record grow too wide: point at the first
			// field too many if the partial record reaches it.
			col := 0
			if len(fields) > im.MaxColumns {
				line, col = r.cr.FieldPos(im.MaxColumns)
			}
			return nil, im.errorf(line, col, fmt.Errorf("%w: more than %d fields (MaxColumns)", ErrTooManyColumns, im.MaxColumns))
		case errors.Is(err, ErrRecordTooLarge):
			return nil, im.errorf(line, 0, fmt.Errorf("%w: more than %d bytes (MaxRecordSize)", ErrRecordTooLarge, im.MaxRecordSize))
		default:
			return nil, im.errorf(line, 0, fmt.Errorf("read: %w", err))
		}
	}
	if im.MaxColumns > 0 && len(fields) > im.MaxColumns {
		line, col := r.cr.FieldPos(im.MaxColumns)
		return nil, im.errorf(line, col, fmt.Errorf("%w: more than %d fields (MaxColumns)", ErrTooManyColumns, im.MaxColumns))
	}
	if g := r.guard; im.RequireFinalNewline && g.err == io.EOF && r.cr.InputOffset() == g.n && !g.atEnd {
		// csv.Reader read to the end of the input for this record, and
		// the guard saw no line ending after it.
		return nil, im.errorf(g.line, int(g.n-g.lineStart)+1, fmt.Errorf("%w (RequireFinalNewline): the file may be truncated", ErrNoFinalNewline))
	}
	// The next record is allowed MaxRecordSize bytes from here.
	r.guard.start = r.cr.InputOffset()
	last := len(fields) - 1
	l, _ := r.cr.FieldPos(last)
	r.endLine = l + strings.Count(fields[last], "\n")
	return fields, nil
}

// bareCR returns the error for the first bare '\r' the guard saw, if it is
// in the record csv.Reader just read, or ended in err, and comes before
// any ParseError of that record.
//
// Every byte csv.Reader returned has gone through the guard, and the guard
// has seen the byte after a '\r' (or the end of the input) before
// csv.Reader can end the line the '\r' is in. A bare '\r' before the end of
// what csv.Reader has read is in this record, as earlier records were
// checked. When the guard itself failed the read, every byte it let through
// past the record's start is in this record.
func (r *run) bareCR(err error) error {
	g := r.guard
	b := g.bare
	if b.at < 0 {
		return nil
	}
	if b.at >= r.cr.InputOffset() && !errors.Is(err, ErrRecordTooLarge) && !errors.Is(err, ErrTooManyColumns) {
		return nil
	}
	if pe := (*csv.ParseError)(nil); errors.As(err, &pe) && (pe.Line < b.line || pe.Line == b.line && pe.Column <= b.col) {
		return nil
	}
	return r.im.errorf(b.line, b.col, fmt.Errorf(`%w: a line ends with \n or \r\n`, ErrBareCR))
}

// header sets the record keys from the column names, and checks them and
// the options that name columns. pos, when not nil, gives the position of
// each name in the file.
func (r *run) header(names []string, pos func(int) (int, int)) error {
	im := r.im
	at := func(i int) (int, int) {
		if pos == nil {
			return 0, 0
		}
		return pos(i)
	}
	where := "header"
	if pos == nil {
		where = "Columns"
	}
	fail := func(i int, err error) error {
		line, col := at(i)
		return im.errorf(line, col, fmt.Errorf("%s: %w", where, err))
	}
	if im.MaxColumns > 0 && len(names) > im.MaxColumns {
		return fail(im.MaxColumns, fmt.Errorf("%w: more than %d columns (MaxColumns)", ErrTooManyColumns, im.MaxColumns))
	}
	keys := make([]string, len(names))
	index := make(map[string]int, len(names)) // lower-cased key -> column
	hasID := false
	for i, name := range names {
		key := name
		if k, ok := im.Rename[name]; ok {
			key = k
		}
		keys[i] = key
		low := strings.ToLower(key)
		if j, dup := index[low]; dup {
			if name == names[j] {
				return fail(i, fmt.Errorf("%w %q: also column %d", ErrDuplicateColumn, name, j+1))
			}
			return fail(i, fmt.Errorf("%w %q: its key %q and column %d %q's key %q are equal ignoring case",
				ErrDuplicateColumn, name, key, j+1, names[j], keys[j]))
		}
		index[low] = i
		hasID = hasID || strings.EqualFold(key, dss.IDKey)
	}
	line, _ := at(0)
	for _, col := range slices.Sorted(maps.Keys(im.Rename)) {
		if !slices.Contains(names, col) {
			return im.errorf(line, 0, fmt.Errorf("%s: Rename[%q]: %w (columns: %s)", where, col, ErrUnknownColumn, list(names)))
		}
	}
	if !hasID {
		return im.errorf(line, 0, fmt.Errorf("%s: %w: want a column %q, or Rename one to it (columns: %s)",
			where, ErrNoIDColumn, dss.IDKey, list(names)))
	}
	r.lists = make([]string, len(keys))
	for _, key := range slices.Sorted(maps.Keys(im.Lists)) {
		i := slices.Index(keys, key)
		if i < 0 {
			return im.errorf(line, 0, fmt.Errorf("%s: Lists[%q]: %w (keys: %s)", where, key, ErrUnknownColumn, list(keys)))
		}
		r.lists[i] = im.Lists[key]
	}
	r.keys = keys
	return nil
}

// list quotes the first few names for an error message.
func list(names []string) string {
	const max = 10
	var b strings.Builder
	for i, n := range names {
		if i == max {
			fmt.Fprintf(&b, ", … (%d in all)", len(names))
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", n)
	}
	return b.String()
}

// splitList splits a list field at sep, trims the elements and drops the
// empty ones. The result is never nil, so that an empty field is an empty
// list. The elements are copies, not slices of the record's text.
func splitList(s, sep string) []string {
	out := []string{}
	if strings.TrimSpace(s) == "" {
		return out
	}
	for e := range strings.SplitSeq(s, sep) {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, strings.Clone(e))
		}
	}
	return out
}

// guard is the reader under csv.Reader's buffer that keeps one record from
// exhausting memory: encoding/csv reads a whole record before it returns any
// field, and allocates some 140 bytes per field as it splits it.
//
// It refuses to read more than maxBytes past start, the offset where the
// current record began (ErrRecordTooLarge). And it follows encoding/csv's
// grammar in what it reads, counting the fields of the record it ends in,
// and refuses to read on once that record has more than maxCols fields
// (ErrTooManyColumns), so that a row of a million empty fields costs its
// bytes, not forty times as much.
//
// Both bounds hold because the guard sits under the only buffer: the
// bufio.Reader that csv.Reader reads from asks for more bytes only when the
// bytes it holds end inside the current line, so at every Read every byte
// past start belongs to the current record, and the record the guard counts
// is csv.Reader's current one. The guard reads quotes as LazyQuotes does;
// without LazyQuotes, a quote it reads so is a ParseError of encoding/csv in
// the same record, which takes precedence over the guard's error.
//
// As it follows the grammar, the guard also notes the first bare '\r' (one
// outside quotes and not followed by '\n'), which encoding/csv would keep in
// the field, and whether the input read so far ends with a line ending; run
// checks both against the records csv.Reader returns.
//
// Its reading of quotes is the only CSV grammar of this package, kept because
// encoding/csv cannot keep either promise from outside. Splitting one row of
// 1,048,577 empty fields, all of 1 MiB, a csv.Reader with ReuseRecord
// allocates 144 MiB and holds 58 MiB (TestHugeInputStopsEarly allows 64 MiB
// for the whole import); and it returns a '\r' of a quoted field as it
// returns a bare one, with nothing to tell them apart. Following the grammar
// costs about 13% of BenchmarkImport's CPU time (the ratio was 0.87 with the
// loop in Read skipped, median of 15 runs of 300 imports, alternating).
type guard struct {
	r        io.Reader
	n        int64 // bytes read from r
	start    int64 // where the current record began
	maxBytes int64 // no limit if <= 0
	err      error // sticky: bufio.Reader forgets errors once returned

	maxCols int    // fields allowed in a record; no limit if <= 0
	comma   []byte // the delimiter's UTF-8 encoding
	state   scanState
	matched int  // bytes of comma matched so far
	seps    int  // delimiters between fields in the current record
	atEnd   bool // the bytes read so far end with a record's line ending

	// Positions, for ErrBareCR, are counted as csv.Reader counts them.
	at        int64 // the offset of the byte being stepped
	line      int   // the line of that byte, from 1
	lineStart int64 // the offset at which that line begins
	bare      crPos // the first bare '\r'; at is -1 until there is one
}

// crPos is where a '\r' is: its offset in the input, and its line and column
// (1-based, in bytes), as csv.Reader counts them.
type crPos struct {
	at        int64
	line, col int
}

type scanState uint8

const (
	fieldStart scanState = iota
	unquoted
	quoted
	quoteSeen   // in a quoted field, after a quote
	quoteCRSeen // after a quote and a '\r'
	unquotedCR  // in an unquoted field, after a '\r'
)

func newGuard(r io.Reader, im *Importer) *guard {
	return &guard{
		r:        r,
		maxBytes: int64(im.MaxRecordSize),
		maxCols:  im.MaxColumns,
		comma:    utf8.AppendRune(nil, im.Comma),
		atEnd:    true,
		line:     1,
		bare:     crPos{at: -1},
	}
}

func (g *guard) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	if g.maxCols > 0 && g.seps >= g.maxCols {
		g.err = ErrTooManyColumns
		return 0, g.err
	}
	if g.maxBytes > 0 {
		// Let through one byte more than maxBytes, so that a record of
		// exactly maxBytes without a final newline can be told from a
		// longer one.
		room := g.start + g.maxBytes + 1 - g.n
		if room <= 0 {
			g.err = ErrRecordTooLarge
			return 0, g.err
		}
		if int64(len(p)) > room {
			p = p[:room]
		}
	}
	base := g.n
	n, err := g.r.Read(p)
	g.n += int64(n)
	c0 := g.comma[0]
	for i, c := range p[:n] {
		// Most bytes are inside an unquoted field and neither end it nor
		// start a delimiter: step would leave everything as it is.
		if c != '\n' && c != '\r' && c != c0 && g.state == unquoted && g.matched == 0 {
			continue
		}
		g.at = base + int64(i)
		g.step(c)
		if c == '\n' {
			g.line++
			g.lineStart = g.at + 1
		}
	}
	if err != nil {
		if err == io.EOF && (g.state == unquotedCR || g.state == quoteCRSeen) {
			// csv.Reader drops a '\r' at the end of the input.
			g.bareCR(g.n - 1)
		}
		g.err = err
	}
	return n, err
}

// step advances the guard's reading of the CSV grammar by one byte.
func (g *guard) step(c byte) {
	g.atEnd = false
	switch g.state {
	case fieldStart:
		if c == '"' {
			g.state = quoted
			return
		}
		g.state = unquoted
		g.step(c)
	case unquoted:
		switch c {
		case '\n':
			g.endRecord()
		case '\r':
			g.state, g.matched = unquotedCR, 0
		default:
			g.matchComma(c)
		}
	case unquotedCR:
		if c == '\n' {
			g.endRecord()
			return
		}
		g.bareCR(g.at - 1)
		g.state = unquoted
		g.step(c)
	case quoted:
		if c == '"' {
			g.state = quoteSeen
		}
	case quoteSeen:
		switch {
		case g.matched == 0 && c == '"': // a doubled quote
			g.state = quoted
		case g.matched == 0 && c == '\n':
			g.endRecord()
		case g.matched == 0 && c == '\r':
			g.state = quoteCRSeen
		case c == g.comma[g.matched]:
			g.matchComma(c)
		default: // a lone quote is data: c is still in the quoted field
			g.state, g.matched = quoted, 0
			g.step(c)
		}
	case quoteCRSeen:
		if c == '\n' {
			g.endRecord()
			return
		}
		g.state = quoted
		g.step(c)
	}
}

// matchComma matches c against the next byte of the delimiter.
func (g *guard) matchComma(c byte) {
	switch {
	case c == g.comma[g.matched]:
		g.matched++
		if g.matched == len(g.comma) {
			g.seps++
			g.state, g.matched = fieldStart, 0
		}
	case c == g.comma[0]: // a UTF-8 lead byte: another match begins
		g.matched = 1
	default:
		g.matched = 0
	}
}

func (g *guard) endRecord() {
	g.state, g.matched, g.seps = fieldStart, 0, 0
	g.atEnd = true
}

// bareCR notes that the '\r' at offset at, on the line being read, is bare,
// if it is the first.
func (g *guard) bareCR(at int64) {
	if g.bare.at < 0 {
		g.bare = crPos{at: at, line: g.line, col: int(at-g.lineStart) + 1}
	}
}

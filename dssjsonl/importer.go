package dssjsonl

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/datastoresync/dss"
	"github.com/datastoresync/dss/internal/input"
)

// DefaultMaxRecordSize is the default of Importer.MaxRecordSize: 1 MiB, as
// dsscsv's.
const DefaultMaxRecordSize = 1 << 20

// ctxEvery is how many lines Import reads between checks of its context.
const ctxEvery = 4096

// bufSize is the size of the read buffer: a line that fits is parsed where
// it lies, without a copy.
const bufSize = 64 << 10

// hintRows is the number of records after which SizeHint estimates the rest.
const hintRows = 1000

const bom = "\uFEFF"

// An Importer is a dss.Importer that reads JSON Lines: every line that is not
// blank holds one JSON object, which becomes one dss.Record. Values are
// strings, json.Number (so that 12345678901234567890 and 0.1 reach the field
// exactly, and a number converts to a string field too), bool, nil for null,
// and []any for a list of those. An object as a value, or a list in a list,
// fails the import (ErrNested): a record holds primitive values and lists of
// them.
//
// Lines end with "\n" or "\r\n"; the last line may lack its line ending. A
// UTF-8 byte order mark at the start is skipped, and lines of spaces and tabs
// are skipped. A line cut short is almost always invalid JSON, so a
// truncated file fails at its last line.
//
// Set the exported fields after Open or New and before Import. An Importer
// may be used for one Import at a time: Position reports on the running one.
type Importer struct {
	// MaxRecordSize bounds the bytes of one line, its line ending excluded
	// (DefaultMaxRecordSize). A longer line fails the import with
	// ErrRecordTooLarge after at most MaxRecordSize bytes and one read
	// buffer (64 KiB) more of it are read. Zero or less means no limit.
	MaxRecordSize int

	in   input.Input // Open's file, opened at every Import, or New's reader, read once
	name string      // for positions and errors
	pos  dss.Pos     // the record being yielded
	size int64       // the file's size, when known, for SizeHint
	hint int         // SizeHint's estimate
}

var _ interface {
	dss.Importer
	dss.Positioner
	dss.SizeHinter
} = (*Importer)(nil)

// Open returns an Importer that reads the file at path, opening it anew at
// every Import, so that a tree can be imported again. Positions and errors
// name the file by path.
func Open(path string) *Importer {
	return &Importer{MaxRecordSize: DefaultMaxRecordSize, in: input.Input{Path: path}, name: path}
}

// New returns an Importer that reads JSON Lines from r, and calls it name in
// positions and errors. It reads r once: a second Import fails. New does not
// close r.
func New(r io.Reader, name string) *Importer {
	return &Importer{MaxRecordSize: DefaultMaxRecordSize, in: input.Input{R: r}, name: name}
}

// Position returns the file name and the line of the record being yielded;
// dss calls it to say where a bad record came from.
func (im *Importer) Position() dss.Pos { return im.pos }

// SizeHint estimates how many records an Import of a file will yield, from
// the file's size and the length of its first lines; dss uses it to size a
// branch once instead of growing it. It is 0 when unknown: before enough
// records are read, and for New's readers.
func (im *Importer) SizeHint() int { return im.hint }

// Import reads the JSON Lines and calls yield with a Record for each object,
// in order: one map, cleared for each line, as dss.Importer allows. It stops
// at the first error: yield's, returned as is; the context's; the error
// opening the file (an *fs.PathError, wrapped); or an *Error naming the
// file, line and column. The records before a bad line have been yielded:
// the import streams, holding one line at a time.
func (im *Importer) Import(ctx context.Context, yield func(dss.Record) error) error {
	im.pos, im.size, im.hint = dss.Pos{Source: im.name}, 0, 0
	if err := ctx.Err(); err != nil {
		return err
	}
	src, size, done, err := im.in.Open()
	if input.IsOpenError(err) {
		return fmt.Errorf("jsonl %w", err)
	}
	if err != nil {
		return im.errorf(0, 0, err)
	}
	defer done()
	im.size = size
	r := &run{im: im, br: bufio.NewReaderSize(src, bufSize)}
	if b, _ := r.br.Peek(len(bom)); string(b) == bom {
		r.br.Discard(len(bom))
		r.read = int64(len(bom))
	}
	return r.run(ctx, yield)
}

func (im *Importer) errorf(line, col int, err error) *Error {
	return &Error{Source: im.name, Line: line, Column: col, Err: err}
}

// run is the state of one Import.
type run struct {
	im   *Importer
	br   *bufio.Reader
	long []byte // a line longer than br's buffer, gathered
	line int    // the number of the line last read
	read int64  // bytes read, for SizeHint
}

func (r *run) run(ctx context.Context, yield func(dss.Record) error) error {
	im := r.im
	rec := make(dss.Record)
	records := 0
	for {
		text, err := r.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if r.line%ctxEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if blank(text) {
			continue
		}
		clear(rec)
		if err := r.parse(text, rec); err != nil {
			return err
		}
		im.pos = dss.Pos{Source: im.name, Line: r.line}
		if records++; records == hintRows && im.size > 0 {
			// Estimate the records of the file from the average so far.
			im.hint = records + int((im.size-r.read)*int64(records)/max(r.read, 1))
		}
		if err := yield(rec); err != nil {
			return err
		}
	}
}

// next reads the next line, without its line ending, and counts it. The
// line is valid until the next call. It returns io.EOF after the last line.
func (r *run) next() ([]byte, error) {
	limit := r.im.MaxRecordSize
	r.long = r.long[:0]
	for {
		chunk, err := r.br.ReadSlice('\n')
		r.read += int64(len(chunk))
		switch err {
		case bufio.ErrBufferFull:
			// One byte more than limit may be the '\r' of a "\r\n".
			if limit > 0 && len(r.long)+len(chunk) > limit+1 {
				r.line++
				return nil, r.im.errorf(r.line, 0, fmt.Errorf("%w: more than %d bytes (MaxRecordSize)", ErrRecordTooLarge, limit))
			}
			r.long = append(r.long, chunk...)
			continue
		case nil, io.EOF:
		default:
			return nil, r.im.errorf(r.line+1, 0, fmt.Errorf("read: %w", err))
		}
		if err == io.EOF && len(chunk) == 0 && len(r.long) == 0 {
			return nil, io.EOF
		}
		line := chunk
		if len(r.long) > 0 {
			r.long = append(r.long, chunk...)
			line = r.long
		}
		r.line++
		if err == nil {
			line = line[:len(line)-1]
			line = bytes.TrimSuffix(line, []byte{'\r'})
		}
		if limit > 0 && len(line) > limit {
			return nil, r.im.errorf(r.line, 0, fmt.Errorf("%w: more than %d bytes (MaxRecordSize)", ErrRecordTooLarge, limit))
		}
		return line, nil
	}
}

// blank reports whether a line holds only JSON white space.
func blank(line []byte) bool {
	for _, c := range line {
		if c != ' ' && c != '\t' && c != '\r' {
			return false
		}
	}
	return true
}

// parse fills rec with the object on line, or returns an *Error that points
// at what is wrong.
//
// encoding/json decodes the line in one pass, and two checks follow that it
// cannot make: that no value is nested, and that no key is repeated (which
// it resolves by keeping the last). When any step fails, explain reads the
// line again token by token to say where. Decoding token by token from the
// start would be simpler, but json.Decoder.Token allocates for every token:
// walking a line of BenchmarkImport's so costs 86 allocations, and parse
// makes 34, as many as decoding into a map does.
func (r *run) parse(line []byte, rec dss.Record) error {
	if !utf8.Valid(line) {
		i := 0
		for i < len(line) {
			c, size := utf8.DecodeRune(line[i:])
			if c == utf8.RuneError && size == 1 {
				break
			}
			i += size
		}
		return r.errAt(i, fmt.Errorf("%w: byte %#x", ErrNotUTF8, line[i]))
	}
	if start := skip(line, 0); start == len(line) || line[start] != '{' {
		return r.explain(line)
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if err := dec.Decode((*map[string]any)(&rec)); err != nil || !blank(line[dec.InputOffset():]) {
		return r.explain(line)
	}
	if members(line) != len(rec) {
		return r.explain(line) // a key repeated
	}
	for _, v := range rec {
		switch v := v.(type) {
		case map[string]any:
			return r.explain(line)
		case []any:
			for _, e := range v {
				switch e.(type) {
				case map[string]any, []any:
					return r.explain(line)
				}
			}
		}
	}
	if bytes.Contains(line, []byte(`\u`)) {
		if i, esc := loneSurrogate(line); i >= 0 {
			return r.errAt(i, fmt.Errorf("%w: %s is half of a UTF-16 surrogate pair, which no UTF-8 text holds (encoding/json would make it U+FFFD)", ErrNotUTF8, esc))
		}
	}
	return nil
}

// loneSurrogate returns the offset and the text of the first \u escape in a
// string of line, which is valid JSON, that is a UTF-16 surrogate without
// its other half: a high one (\ud800 to \udbff) not followed by a low one
// (\udc00 to \udfff), or a low one alone. It returns -1 if there is none.
func loneSurrogate(line []byte) (int, string) {
	inString := false
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case c == '"':
			inString = !inString
		case c == '\\' && inString:
			if line[i+1] != 'u' {
				i++ // a one-letter escape: \" or \\ among them
				continue
			}
			r := hex4(line[i+2 : i+6])
			switch {
			case 0xd800 <= r && r < 0xdc00:
				if i+12 <= len(line) && line[i+6] == '\\' && line[i+7] == 'u' {
					if lo := hex4(line[i+8 : i+12]); 0xdc00 <= lo && lo < 0xe000 {
						i += 11 // the pair
						continue
					}
				}
				return i, string(line[i : i+6])
			case 0xdc00 <= r && r < 0xe000:
				return i, string(line[i : i+6])
			}
			i += 5
		}
	}
	return -1, ""
}

// hex4 is the value of four hexadecimal digits, which valid JSON has after
// a \u.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b {
		r <<= 4
		switch {
		case '0' <= c && c <= '9':
			r |= rune(c - '0')
		case 'a' <= c && c <= 'f':
			r |= rune(c - 'a' + 10)
		case 'A' <= c && c <= 'F':
			r |= rune(c - 'A' + 10)
		}
	}
	return r
}

// members counts the members of the object on line, which is valid JSON:
// the colons outside strings at depth 1.
func members(line []byte) int {
	n, depth := 0, 0
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case '"':
			// Skip the string, escapes included.
			for i++; i < len(line) && line[i] != '"'; i++ {
				if line[i] == '\\' {
					i++
				}
			}
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		case ':':
			if depth == 1 {
				n++
			}
		}
	}
	return n
}

// explain returns the *Error of a line that parse refused: it reads the
// line token by token, and points at the first thing wrong.
func (r *run) explain(line []byte) error {
	if !json.Valid(line) {
		return r.syntax(line)
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	start := skip(line, 0)
	tok, err := dec.Token()
	if err != nil {
		return r.errAt(start, fmt.Errorf("%w: %w", ErrSyntax, err))
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return r.errAt(start, fmt.Errorf("%w: the line holds %s", ErrNotObject, kind(tok)))
	}
	seen := make(map[string]bool)
	for dec.More() {
		at := skip(line, dec.InputOffset())
		tok, err := dec.Token()
		if err != nil {
			return r.errAt(at, fmt.Errorf("%w: %w", ErrSyntax, err))
		}
		key := tok.(string) // an object's key, in valid JSON
		if seen[key] {
			return r.errAt(at, fmt.Errorf("%w %q", ErrDuplicateKey, key))
		}
		seen[key] = true
		if err := r.value(dec, line, key); err != nil {
			return err
		}
	}
	// parse refused the line for a reason this walk should have found.
	return r.errAt(start, fmt.Errorf("%w: cannot read the line as a record", ErrSyntax))
}

// value reads the value of key, and returns an *Error if it is not a
// primitive or a list of primitives.
func (r *run) value(dec *json.Decoder, line []byte, key string) error {
	at := skip(line, dec.InputOffset())
	tok, err := dec.Token()
	if err != nil {
		return r.errAt(at, fmt.Errorf("%w: %w", ErrSyntax, err))
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	if d == '{' {
		return r.errAt(at, fmt.Errorf("key %q: %w: an object (%s)", key, ErrNested, holds))
	}
	for dec.More() {
		at := skip(line, dec.InputOffset())
		tok, err := dec.Token()
		if err != nil {
			return r.errAt(at, fmt.Errorf("%w: %w", ErrSyntax, err))
		}
		if _, ok := tok.(json.Delim); ok {
			return r.errAt(at, fmt.Errorf("key %q: %w: %s in a list (%s)", key, ErrNested, kind(tok), holds))
		}
	}
	if _, err := dec.Token(); err != nil { // the closing ']'
		return r.errAt(skip(line, dec.InputOffset()), fmt.Errorf("%w: %w", ErrSyntax, err))
	}
	return nil
}

// holds says what a record may hold, for ErrNested.
const holds = "a record holds strings, numbers, booleans, null and lists of them"

// syntax returns the error of a line that is not valid JSON, at the byte
// encoding/json finds wrong.
func (r *run) syntax(line []byte) error {
	err := json.Unmarshal(line, new(json.RawMessage))
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		return r.errAt(0, fmt.Errorf("%w: %v", ErrSyntax, err))
	}
	// Offset counts the bytes up to and including the wrong one; at the end
	// of the input, the bytes before the end.
	col := int(se.Offset)
	if strings.HasPrefix(se.Error(), "unexpected end") {
		return r.errAt(len(line), fmt.Errorf("%w: the line ends inside a value (a record is one JSON object on one line): %w", ErrSyntax, se))
	}
	return r.errAt(col-1, fmt.Errorf("%w: %w", ErrSyntax, se))
}

// errAt returns an *Error at byte i of the current line.
func (r *run) errAt(i int, err error) error {
	return r.im.errorf(r.line, i+1, err)
}

// skip returns the offset of the first byte at or after off that is neither
// JSON white space nor a ',' or ':' between tokens.
func skip(line []byte, off int64) int {
	i := int(off)
	for i < len(line) && strings.IndexByte(" \t\r\n,:", line[i]) >= 0 {
		i++
	}
	return i
}

// kind names the JSON value that begins with tok.
func kind(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		if t == '[' {
			return "a list"
		}
		return "an object"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", tok)
}

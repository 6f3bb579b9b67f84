package dssjsonl_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/datastoresync/dss"
	"github.com/datastoresync/dss/dssjsonl"
)

// importAll runs im and returns the records it yielded and the line
// Position reported for each.
func importAll(t testing.TB, im *dssjsonl.Importer, source string) ([]dss.Record, []int, error) {
	t.Helper()
	var recs []dss.Record
	var lines []int
	err := im.Import(context.Background(), func(r dss.Record) error {
		p := im.Position()
		if p.Source != source {
			t.Errorf("Position().Source = %q, want %q", p.Source, source)
		}
		recs = append(recs, maps.Clone(r)) // the importer reuses r
		lines = append(lines, p.Line)
		return nil
	})
	return recs, lines, err
}

func TestImport(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  []dss.Record
		lines []int // Position().Line of each record
	}{
		{
			name:  "one object per line",
			input: `{"idnumber": "c1", "name": "Algebra"}` + "\n" + `{"idnumber": "c2", "name": "Biology"}` + "\n",
			want:  []dss.Record{{"idnumber": "c1", "name": "Algebra"}, {"idnumber": "c2", "name": "Biology"}},
			lines: []int{1, 2},
		},
		{
			name:  "numbers are json.Number, exact; booleans, null",
			input: `{"idnumber": 12345678901234567891, "f": 0.1, "e": -1.5e300, "b": true, "n": null}` + "\n",
			want: []dss.Record{{"idnumber": json.Number("12345678901234567891"), "f": json.Number("0.1"),
				"e": json.Number("-1.5e300"), "b": true, "n": nil}},
			lines: []int{1},
		},
		{
			name:  "lists of primitives, empty lists, mixed lists",
			input: `{"idnumber": "1", "tags": ["a", "b"], "none": [], "mixed": [1, "x", false, null]}` + "\n",
			want: []dss.Record{{"idnumber": "1", "tags": []any{"a", "b"}, "none": []any{},
				"mixed": []any{json.Number("1"), "x", false, nil}}},
			lines: []int{1},
		},
		{
			name:  "blank lines and lines of white space are skipped and do not shift positions",
			input: "\n" + `{"idnumber": "1"}` + "\n\n  \t\n\r\n" + `{"idnumber": "2"}` + "\n\n",
			want:  []dss.Record{{"idnumber": "1"}, {"idnumber": "2"}},
			lines: []int{2, 6},
		},
		{
			name:  "byte order mark is skipped; CRLF line ends; no final newline",
			input: "\ufeff" + `{"idnumber": "1"}` + "\r\n" + `{"idnumber": "2"}`,
			want:  []dss.Record{{"idnumber": "1"}, {"idnumber": "2"}},
			lines: []int{1, 2},
		},
		{
			name:  "escapes, non-ASCII keys and values, white space around tokens",
			input: "\t{ \"idnumber\" : \"1\" , \"n\\u00e4me\":\"Jos\\u00e9 \\\"J\\\"\\n\", \"ключ\": \"значение\" }  \n",
			want:  []dss.Record{{"idnumber": "1", "näme": "José \"J\"\n", "ключ": "значение"}},
			lines: []int{1},
		},
		{
			name:  "an empty object is an empty record (dss refuses it for want of an idnumber)",
			input: "{}\n",
			want:  []dss.Record{{}},
			lines: []int{1},
		},
		{
			name:  "keys that differ in case are kept (dss refuses them if they name one field)",
			input: `{"idnumber": "1", "Name": "a", "name": "b"}` + "\n",
			want:  []dss.Record{{"idnumber": "1", "Name": "a", "name": "b"}},
			lines: []int{1},
		},
		{
			name:  "empty input",
			input: "",
		},
		{
			name:  "only a byte order mark and blank lines",
			input: "\ufeff\n\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, lines, err := importAll(t, dssjsonl.New(strings.NewReader(tt.input), "courses.jsonl"), "courses.jsonl")
			require.NoError(t, err)
			if diff := cmp.Diff(tt.want, recs); diff != "" {
				t.Errorf("records (-want +got):\n%s", diff)
			}
			assert.Equal(t, tt.lines, lines, "Position().Line of each record")
		})
	}
}

func TestImportErrors(t *testing.T) {
	const good = `{"idnumber": "1"}` + "\n"
	tests := []struct {
		name    string
		input   string
		max     int    // MaxRecordSize; 0 for the default
		want    string // the whole message
		is      error  // the sentinel in the chain
		line    int
		column  int
		yielded int // records yielded before the error
	}{
		{
			name:    "invalid JSON names line and column of the wrong byte",
			input:   good + `{"idnumber": "2", "name": x}` + "\n",
			want:    `jsonl courses.jsonl:2:27: invalid JSON: invalid character 'x' looking for beginning of value`,
			is:      dssjsonl.ErrSyntax,
			line:    2,
			column:  27,
			yielded: 1,
		},
		{
			name:   "missing comma",
			input:  `{"idnumber": "1" "name": "x"}` + "\n",
			want:   `jsonl courses.jsonl:1:18: invalid JSON: invalid character '"' after object key:value pair`,
			is:     dssjsonl.ErrSyntax,
			line:   1,
			column: 18,
		},
		{
			name:   "pretty-printed JSON is not JSON Lines: the first line ends inside the object",
			input:  "{\n  \"idnumber\": \"1\"\n}\n",
			want:   `jsonl courses.jsonl:1:2: invalid JSON: the line ends inside a value (a record is one JSON object on one line): unexpected end of JSON input`,
			is:     dssjsonl.ErrSyntax,
			line:   1,
			column: 2,
		},
		{
			name:    "a line cut short (a truncated file)",
			input:   good + `{"idnumber": "2", "name": "Bo`,
			want:    `jsonl courses.jsonl:2:30: invalid JSON: the line ends inside a value (a record is one JSON object on one line): unexpected end of JSON input`,
			is:      dssjsonl.ErrSyntax,
			line:    2,
			column:  30,
			yielded: 1,
		},
		{
			name:   "two objects on one line",
			input:  `{"idnumber": "1"} {"idnumber": "2"}` + "\n",
			want:   `jsonl courses.jsonl:1:19: invalid JSON: invalid character '{' after top-level value`,
			is:     dssjsonl.ErrSyntax,
			line:   1,
			column: 19,
		},
		{
			name:   "lone '\\r' line ends make one line: refused after the first object",
			input:  `{"idnumber": "1"}` + "\r" + `{"idnumber": "2"}` + "\r",
			want:   `jsonl courses.jsonl:1:19: invalid JSON: invalid character '{' after top-level value`,
			is:     dssjsonl.ErrSyntax,
			line:   1,
			column: 19,
		},
		{
			name:    "a byte order mark after the start is not skipped",
			input:   good + "\ufeff" + good,
			want:    `jsonl courses.jsonl:2:1: invalid JSON: invalid character 'ï' looking for beginning of value`,
			is:      dssjsonl.ErrSyntax,
			line:    2,
			column:  1,
			yielded: 1,
		},
		{
			name:   "a control character in a string",
			input:  "{\"idnumber\": \"1\x00\"}\n",
			want:   `jsonl courses.jsonl:1:16: invalid JSON: invalid character '\x00' in string literal`,
			is:     dssjsonl.ErrSyntax,
			line:   1,
			column: 16,
		},
		{
			name:   "columns count bytes after the byte order mark",
			input:  "\ufeff{\"né\": x}\n",
			want:   `jsonl courses.jsonl:1:9: invalid JSON: invalid character 'x' looking for beginning of value`,
			is:     dssjsonl.ErrSyntax,
			line:   1,
			column: 9,
		},
		{
			name:   "a list is not an object",
			input:  "  [1, 2]\n",
			want:   `jsonl courses.jsonl:1:3: not a JSON object: the line holds a list`,
			is:     dssjsonl.ErrNotObject,
			line:   1,
			column: 3,
		},
		{
			name:   "a string is not an object",
			input:  `"idnumber"` + "\n",
			want:   `jsonl courses.jsonl:1:1: not a JSON object: the line holds a string`,
			is:     dssjsonl.ErrNotObject,
			line:   1,
			column: 1,
		},
		{
			name:   "null is not an object",
			input:  "null\n",
			want:   `jsonl courses.jsonl:1:1: not a JSON object: the line holds null`,
			is:     dssjsonl.ErrNotObject,
			line:   1,
			column: 1,
		},
		{
			name:    "a nested object, at its column",
			input:   good + `{"idnumber": "2", "meta": {"a": 1}}` + "\n",
			want:    `jsonl courses.jsonl:2:27: key "meta": nested value: an object (a record holds strings, numbers, booleans, null and lists of them)`,
			is:      dssjsonl.ErrNested,
			line:    2,
			column:  27,
			yielded: 1,
		},
		{
			name:   "a list in a list",
			input:  `{"idnumber": "1", "m": [1, [2]]}` + "\n",
			want:   `jsonl courses.jsonl:1:28: key "m": nested value: a list in a list (a record holds strings, numbers, booleans, null and lists of them)`,
			is:     dssjsonl.ErrNested,
			line:   1,
			column: 28,
		},
		{
			name:   "an object in a list",
			input:  `{"idnumber": "1", "m": [{}]}` + "\n",
			want:   `jsonl courses.jsonl:1:25: key "m": nested value: an object in a list (a record holds strings, numbers, booleans, null and lists of them)`,
			is:     dssjsonl.ErrNested,
			line:   1,
			column: 25,
		},
		{
			name:   "a key twice, written differently",
			input:  `{"idnumber": "1", "n": "a", "\u006e": "b"}` + "\n",
			want:   `jsonl courses.jsonl:1:29: duplicate key "n"`,
			is:     dssjsonl.ErrDuplicateKey,
			line:   1,
			column: 29,
		},
		{
			name:   "separators alone",
			input:  ",,\n",
			want:   `jsonl courses.jsonl:1:1: invalid JSON: invalid character ',' looking for beginning of value`,
			is:     dssjsonl.ErrSyntax,
			line:   1,
			column: 1,
		},
		{
			name:   "a key twice in one object, at the second",
			input:  `{"idnumber": "1", "name": "a", "name": "b"}` + "\n",
			want:   `jsonl courses.jsonl:1:32: duplicate key "name"`,
			is:     dssjsonl.ErrDuplicateKey,
			line:   1,
			column: 32,
		},
		{
			name:    "text in Latin-1, at the first bad byte",
			input:   good + "{\"idnumber\": \"2\", \"name\": \"Jos\xe9\"}\n",
			want:    `jsonl courses.jsonl:2:31: not valid UTF-8: byte 0xe9`,
			is:      dssjsonl.ErrNotUTF8,
			line:    2,
			column:  31,
			yielded: 1,
		},
		{
			name:    "line too long",
			input:   good + `{"idnumber": "2", "name": "` + strings.Repeat("a", 100) + `"}` + "\n" + good,
			max:     64,
			want:    `jsonl courses.jsonl:2: record too large: more than 64 bytes (MaxRecordSize)`,
			is:      dssjsonl.ErrRecordTooLarge,
			line:    2,
			yielded: 1,
		},
		{
			name:    "a long blank line is too long too",
			input:   good + strings.Repeat(" ", 100) + "\n" + good,
			max:     64,
			want:    `jsonl courses.jsonl:2: record too large: more than 64 bytes (MaxRecordSize)`,
			is:      dssjsonl.ErrRecordTooLarge,
			line:    2,
			yielded: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			im := dssjsonl.New(strings.NewReader(tt.input), "courses.jsonl")
			if tt.max != 0 {
				im.MaxRecordSize = tt.max
			}
			recs, _, err := importAll(t, im, "courses.jsonl")
			require.Error(t, err)
			assert.Equal(t, tt.want, err.Error())
			assert.ErrorIs(t, err, tt.is)
			var e *dssjsonl.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, "courses.jsonl", e.Source)
			assert.Equal(t, tt.line, e.Line, "Line")
			assert.Equal(t, tt.column, e.Column, "Column")
			assert.Len(t, recs, tt.yielded, "records yielded before the error")
		})
	}
}

// TestSyntaxErrorColumn: for a line with one wrong byte, marked by its
// position in the input itself, the column is that byte's.
func TestSyntaxErrorColumn(t *testing.T) {
	for _, line := range []string{
		`{"a": 1 "b": 2}`,
		`{"a": [1,]}`,
		`{"a": tru}`,
		`{"a": 01}`,
		`{"a": 1.}`,
		`{,}`,
		`{"a" 1}`,
		`  x`,
		`{"a": "\x"}`,
		`{"a": 1}}`,
	} {
		t.Run(line, func(t *testing.T) {
			var se *json.SyntaxError
			require.ErrorAs(t, json.Unmarshal([]byte(line), new(any)), &se)
			// encoding/json's Offset counts the bytes up to the wrong one.
			bad := line[se.Offset-1]
			_, _, err := importAll(t, dssjsonl.New(strings.NewReader("\n"+line+"\n"), "c"), "c")
			var e *dssjsonl.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, 2, e.Line)
			require.Positive(t, e.Column)
			assert.Equal(t, string(bad), string(line[e.Column-1]), "the byte at the column in %q", line)
			assert.Contains(t, err.Error(), fmt.Sprintf("%q", bad)[1:2], "the message names the byte")
		})
	}
}

// TestMaxRecordSizeBoundary: a line of MaxRecordSize bytes passes, one byte
// more fails, whatever its line ending, and wherever the read buffer ends.
func TestMaxRecordSizeBoundary(t *testing.T) {
	line := func(n int) string { // an object of n bytes
		return `{"idnumber":"` + strings.Repeat("1", n-15) + `"}`
	}
	for _, max := range []int{64, 64 << 10, 64<<10 + 1, 200 << 10} {
		for _, end := range []string{"\n", "\r\n", ""} {
			for _, n := range []int{max, max + 1} {
				name := fmt.Sprintf("max %d, line %d, end %q", max, n, end)
				input := line(n) + end
				if end != "" {
					input = strings.Repeat(input, 3)
				}
				im := dssjsonl.New(strings.NewReader(input), "c")
				im.MaxRecordSize = max
				_, _, err := importAll(t, im, "c")
				if n > max {
					assert.ErrorIs(t, err, dssjsonl.ErrRecordTooLarge, name)
				} else {
					assert.NoError(t, err, name)
				}
			}
		}
	}
	im := dssjsonl.New(strings.NewReader(line(3<<20)+"\n"), "c")
	im.MaxRecordSize = 0
	_, _, err := importAll(t, im, "c")
	assert.NoError(t, err, "no limit")
}

// lazyReader produces size bytes without holding them: prefix, then
// pattern repeated. It counts what it produced.
type lazyReader struct {
	prefix, pattern string
	size, n         int64
}

func (r *lazyReader) Read(p []byte) (int, error) {
	if r.n >= r.size {
		return 0, io.EOF
	}
	if int64(len(p)) > r.size-r.n {
		p = p[:r.size-r.n]
	}
	for i := range p {
		off := r.n + int64(i)
		if off < int64(len(r.prefix)) {
			p[i] = r.prefix[off]
		} else {
			p[i] = r.pattern[(off-int64(len(r.prefix)))%int64(len(r.pattern))]
		}
	}
	r.n += int64(len(p))
	return len(p), nil
}

// TestHugeLineStopsEarly feeds 1 GiB lines and checks that the import fails
// after reading and allocating a small part of them.
func TestHugeLineStopsEarly(t *testing.T) {
	const gib = 1 << 30
	for _, tt := range []struct {
		name string
		src  *lazyReader
		line int
	}{
		{"one enormous string", &lazyReader{prefix: `{"idnumber": "1"}` + "\n" + `{"idnumber": "`, pattern: "a", size: gib}, 2},
		{"one enormous list", &lazyReader{prefix: `{"idnumber": "1", "l": [`, pattern: "1,", size: gib}, 1},
		{"white space without end", &lazyReader{pattern: " ", size: gib}, 1},
		{"old Mac line ends: one enormous line", &lazyReader{pattern: `{"idnumber": "1"}` + "\r", size: gib}, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, _, err := importAll(t, dssjsonl.New(tt.src, "huge.jsonl"), "huge.jsonl")
			runtime.ReadMemStats(&after)
			require.ErrorIs(t, err, dssjsonl.ErrRecordTooLarge)
			var e *dssjsonl.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tt.line, e.Line)
			assert.LessOrEqual(t, tt.src.n, int64(dssjsonl.DefaultMaxRecordSize+1+128<<10), "bytes read")
			assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(16<<20), "bytes allocated")
		})
	}
}

func TestCancel(t *testing.T) {
	var b strings.Builder
	const rows = 20000
	for i := range rows {
		fmt.Fprintf(&b, `{"idnumber": "%d"}`+"\n", i)
	}
	input := b.String()

	t.Run("during the import", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		n := 0
		err := dssjsonl.New(strings.NewReader(input), "c").Import(ctx, func(dss.Record) error {
			n++
			if n == 10 {
				cancel()
			}
			return nil
		})
		require.ErrorIs(t, err, context.Canceled)
		assert.Less(t, n, 10+5000, "records yielded after cancel")
	})
	t.Run("before the import", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		n := 0
		err := dssjsonl.New(strings.NewReader(input), "c").Import(ctx, func(dss.Record) error { n++; return nil })
		require.ErrorIs(t, err, context.Canceled)
		assert.Zero(t, n)
	})
}

func TestYieldError(t *testing.T) {
	stop := errors.New("stop")
	n := 0
	input := `{"idnumber": "1"}` + "\n" + `{"idnumber": "2"}` + "\n" + `{"idnumber": "3"}` + "\n"
	err := dssjsonl.New(strings.NewReader(input), "c").Import(context.Background(), func(dss.Record) error {
		n++
		if n == 2 {
			return stop
		}
		return nil
	})
	assert.Same(t, stop, err, "yield's error is returned as is")
	assert.Equal(t, 2, n)
}

// TestRecordReuse checks that the one record map the importer reuses never
// carries a key from one line into the next, even when the caller changes
// it, and that lists are not shared between lines.
func TestRecordReuse(t *testing.T) {
	input := `{"idnumber": "1", "tags": ["a", "b"], "name": "x"}` + "\n" + `{"idnumber": "2", "tags": ["c"]}` + "\n"
	var recs []dss.Record
	var lists [][]any
	err := dssjsonl.New(strings.NewReader(input), "c").Import(context.Background(), func(r dss.Record) error {
		recs = append(recs, maps.Clone(r))
		lists = append(lists, r["tags"].([]any))
		r["extra"] = "added by a hook"
		delete(r, "idnumber")
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, []dss.Record{
		{"idnumber": "1", "tags": []any{"a", "b"}, "name": "x"},
		{"idnumber": "2", "tags": []any{"c"}},
	}, recs)
	lists[0][0] = "changed"
	assert.Equal(t, []any{"c"}, lists[1])
}

func TestOpen(t *testing.T) {
	im := dssjsonl.Open("testdata/courses.jsonl")
	for i := range 2 { // the file is opened anew at every Import
		recs, lines, err := importAll(t, im, "testdata/courses.jsonl")
		require.NoError(t, err, "import %d", i+1)
		require.Len(t, recs, 3)
		assert.Equal(t, []int{1, 2, 4}, lines)
	}

	err := dssjsonl.Open("testdata/missing.jsonl").Import(context.Background(), func(dss.Record) error { return nil })
	require.ErrorIs(t, err, fs.ErrNotExist)
	assert.Equal(t, "jsonl open testdata/missing.jsonl: no such file or directory", err.Error())
}

func TestNewReadsOnce(t *testing.T) {
	im := dssjsonl.New(strings.NewReader(`{"idnumber": "1"}`), "c")
	_, _, err := importAll(t, im, "c")
	require.NoError(t, err)
	_, _, err = importAll(t, im, "c")
	assert.EqualError(t, err, "jsonl c: reader already read: use Open to import a file again")
}

type course struct {
	IDNumber string   `dss:"idnumber"`
	Name     string   `dss:"name"`
	Credits  int      `dss:"credits"`
	Teachers []string `dss:"teachers"`
	Lab      bool     `dss:"lab"`
}

type catalog struct {
	Courses *dss.Branch[string, course]
}

func TestTree(t *testing.T) {
	ctx := context.Background()

	t.Run("a file into a tree: numbers convert to int and string fields", func(t *testing.T) {
		tree := dss.NewTree[catalog]("source")
		tree.Branches.Courses.Importer = dssjsonl.Open("testdata/courses.jsonl")
		tree.Branches.Courses.IgnoreUnknownKeys = true // "room"
		require.NoError(t, tree.Import(ctx))
		require.Equal(t, 3, tree.Branches.Courses.Len())
		c, ok := tree.Branches.Courses.Get("3") // an idnumber written as a number
		require.True(t, ok)
		assert.Equal(t, course{IDNumber: "3", Name: "Chemistry", Credits: 3, Teachers: []string{"t3"}, Lab: true}, *c)
		c, _ = tree.Branches.Courses.Get("c1")
		assert.Equal(t, course{IDNumber: "c1", Name: "Algebra", Credits: 5, Teachers: []string{"t1", "t2"}}, *c)
	})

	t.Run("a bad value names file and line", func(t *testing.T) {
		input := `{"idnumber": "c1", "credits": 5}` + "\n" + `{"idnumber": "c2", "credits": 4}` + "\n" +
			`{"idnumber": "c3", "credits": "many"}` + "\n"
		tree := dss.NewTree[catalog]("source")
		tree.Branches.Courses.Importer = dssjsonl.New(strings.NewReader(input), "courses.jsonl")
		err := tree.Import(ctx)
		var ie *dss.ImportError
		require.ErrorAs(t, err, &ie)
		assert.Equal(t, dss.Pos{Source: "courses.jsonl", Line: 3}, ie.Pos)
		assert.ErrorIs(t, err, dss.ErrConvert)
		assert.EqualError(t, err, `dss: source.courses: courses.jsonl:3: idnumber 'c3': key "credits" value "many": cannot convert to int: invalid syntax`)
	})

	t.Run("a conflict names both lines", func(t *testing.T) {
		input := `{"idnumber": "c1", "name": "Algebra"}` + "\n\n" + `{"idnumber": "c1", "name": "Geometry"}` + "\n"
		tree := dss.NewTree[catalog]("source")
		tree.Branches.Courses.Importer = dssjsonl.New(strings.NewReader(input), "courses.jsonl")
		err := tree.Import(ctx)
		assert.ErrorIs(t, err, dss.ErrConflict)
		assert.ErrorContains(t, err, `courses.jsonl:3: idnumber 'c1'`)
		assert.ErrorContains(t, err, `(first record for this idnumber: courses.jsonl:1)`)
	})

	t.Run("a malformed line: the cause is a *dssjsonl.Error", func(t *testing.T) {
		input := `{"idnumber": "c1"}` + "\n" + `{"idnumber": "c2", "meta": {}}` + "\n"
		tree := dss.NewTree[catalog]("source")
		tree.Branches.Courses.Importer = dssjsonl.New(strings.NewReader(input), "courses.jsonl")
		err := tree.Import(ctx)
		require.ErrorIs(t, err, dssjsonl.ErrNested)
		var e *dssjsonl.Error
		require.ErrorAs(t, err, &e)
		assert.Equal(t, 2, e.Line)
		assert.Equal(t, 28, e.Column)
		assert.EqualError(t, err, `dss: source.courses: jsonl courses.jsonl:2:28: key "meta": nested value: an object (a record holds strings, numbers, booleans, null and lists of them)`)
		assert.Equal(t, 1, strings.Count(err.Error(), "dss: "), "%q has not exactly one \"dss: \"", err)
	})
}

// TestSizeHint: after its first records, a file's importer estimates its
// records from the file's size; a reader's importer does not know.
func TestSizeHint(t *testing.T) {
	var b strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&b, `{"idnumber": "%06d", "name": "name %d"}`+"\n", i, i%10)
	}
	path := filepath.Join(t.TempDir(), "c.jsonl")
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
	im := dssjsonl.Open(path)
	hints := map[int]int{}
	rows := 0
	require.NoError(t, im.Import(context.Background(), func(dss.Record) error {
		rows++
		hints[rows] = im.SizeHint()
		return nil
	}))
	assert.Equal(t, 0, hints[999], "no estimate before 1000 records")
	assert.InDelta(t, 5000, hints[1000], 50, "estimate after 1000 records")

	im = dssjsonl.New(strings.NewReader(b.String()), "r")
	require.NoError(t, im.Import(context.Background(), func(dss.Record) error { return nil }))
	assert.Equal(t, 0, im.SizeHint())

	// A Unique branch asks for the hint after 1024 records: a reader's 0
	// (unknown) leaves the branch to grow as it goes.
	tree := dss.NewTree[catalog]("source")
	tree.Branches.Courses.Importer = dssjsonl.New(strings.NewReader(b.String()), "r")
	tree.Branches.Courses.Unique = true
	require.NoError(t, tree.Import(context.Background()))
	assert.Equal(t, 5000, tree.Branches.Courses.Len())
}

// FuzzImport checks that no input panics, and on success that every record
// holds only primitives and lists of them, that every line it came from is
// valid JSON, and that the records, written back with encoding/json one per
// line, import as the same records; on failure, that the error is an *Error
// with a line.
func FuzzImport(f *testing.F) {
	for _, seed := range []string{
		`{"idnumber": "1", "name": "Ann"}` + "\n",
		"\ufeff" + `{"idnumber": 1, "tags": ["a", 2, true, null]}` + "\r\n\r\n" + `{"idnumber": 2}`,
		`{"idnumber": "1", "meta": {"a": 1}}`,
		`{"idnumber": "1", "l": [[1]]}`,
		`{"idnumber": "1", "l": [{}]}`,
		`{"a": 1, "a": 2}`,
		`[1, 2]`,
		`null`,
		`"x"`,
		`{"a": 1} {"b": 2}`,
		"{\n}\n",
		"{\"a\": \"caf\xe9\"}",
		`{"a": "\ud800"}`,
		`{"a": 1e999}`,
		`{"a": -0.0e-0}`,
		"{\"a\": 1}\r{\"b\": 2}\r",
		"\n\n  \t\n",
		"\ufeff\ufeff{}",
		"{\"\": \"\", \"\\u0000\": \"\\u0000\"}",
		`{"a":`,
		",,",
		`{"a": 1, "\u0061": 2}`,
		`{"a": {"b": 1, "b": 2}}`,
	} {
		f.Add(seed, uint8(0))
		f.Add(seed, uint8(16))
	}
	f.Fuzz(func(t *testing.T, input string, max uint8) {
		im := dssjsonl.New(strings.NewReader(input), "fuzz.jsonl")
		im.MaxRecordSize = int(max) // 0: no limit
		var recs []dss.Record
		var lines []int
		err := im.Import(context.Background(), func(r dss.Record) error {
			recs = append(recs, maps.Clone(r))
			lines = append(lines, im.Position().Line)
			return nil
		})
		if err != nil {
			var e *dssjsonl.Error
			if !errors.As(err, &e) || e.Line <= 0 || e.Source != "fuzz.jsonl" {
				t.Fatalf("error %q (%T) is not an *Error with a line", err, err)
			}
			if !strings.HasPrefix(err.Error(), fmt.Sprintf("jsonl fuzz.jsonl:%d", e.Line)) {
				t.Fatalf("error %q does not start with its position", err)
			}
			if strings.Contains(err.Error(), "cannot read the line") {
				t.Fatalf("the line was refused, and explain found no reason: %v", err)
			}
			return
		}
		if !strings.Contains(input, "\uFFFD") && !strings.Contains(strings.ToLower(input), `\ufffd`) {
			// No replacement character in, none out: nothing was replaced.
			for i, r := range recs {
				for k, v := range r {
					if strings.Contains(fmt.Sprint(v), "\uFFFD") || strings.Contains(k, "\uFFFD") {
						t.Fatalf("record %d: key %q: a U+FFFD the input does not hold", i+1, k)
					}
				}
			}
		}
		text := strings.Split(strings.TrimPrefix(input, "\ufeff"), "\n")
		var out bytes.Buffer
		for i, r := range recs {
			for k, v := range r {
				if !primitive(v) {
					l, ok := v.([]any)
					if !ok {
						t.Fatalf("key %q: value %#v (%T) is neither a primitive nor a list", k, v, v)
					}
					for _, e := range l {
						if !primitive(e) {
							t.Fatalf("key %q: list element %#v (%T) is not a primitive", k, e, e)
						}
					}
				}
			}
			if !json.Valid([]byte(text[lines[i]-1])) {
				t.Fatalf("record %d came from line %d, %q, which is not valid JSON", i+1, lines[i], text[lines[i]-1])
			}
			b, err := json.Marshal(r)
			if err != nil {
				t.Fatalf("marshal record %d: %v", i+1, err)
			}
			out.Write(b)
			out.WriteByte('\n')
		}
		again, _, err := importAll(t, dssjsonl.New(&out, "fuzz.jsonl"), "fuzz.jsonl")
		if err != nil {
			t.Fatalf("import of the records written back: %v", err)
		}
		if diff := cmp.Diff(recs, again); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}

func primitive(v any) bool {
	switch v.(type) {
	case string, json.Number, bool, nil:
		return true
	}
	return false
}

func BenchmarkImport(b *testing.B) {
	var buf strings.Builder
	for i := range 10000 {
		fmt.Fprintf(&buf, `{"idnumber": "%d", "name": "Doe, Jane", "email": "jane@example.org", "age": %d, "groups": ["a", "b", "c"]}`+"\n", i, i%90)
	}
	input := buf.String()
	b.SetBytes(int64(len(input)))
	for b.Loop() {
		if err := dssjsonl.New(strings.NewReader(input), "bench.jsonl").Import(context.Background(), func(dss.Record) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}

// TestLoneSurrogate: an escaped UTF-16 surrogate without its other half is
// refused at its line and column with ErrNotUTF8, as invalid UTF-8 is;
// encoding/json would import "\ud800" as "\uFFFD", changing the value
// without a word (issue 20, point 2). A pair, and a backslash before "u",
// are text.
func TestLoneSurrogate(t *testing.T) {
	const first = `{"idnumber": "1"}` + "\n"
	bad := []struct {
		name, line, esc string
		column          int
	}{
		{"a high surrogate alone", `{"idnumber": "2", "name": "\ud800"}`, `\ud800`, 28},
		{"a low surrogate alone", `{"idnumber": "2", "name": "x\uDC00"}`, `\uDC00`, 29},
		{"a high surrogate before another escape", `{"idnumber": "2", "name": "\ud800\u0041"}`, `\ud800`, 28},
		{"a high surrogate at the end of a string", `{"idnumber": "2", "name": "\u00e9\udbff"}`, `\udbff`, 34},
		{"in a key", `{"idnumber": "2", "n\ud800": "x"}`, `\ud800`, 21},
		{"in a list", `{"idnumber": "2", "tags": ["a", "\\\ud800"]}`, `\ud800`, 36},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			recs, _, err := importAll(t, dssjsonl.New(strings.NewReader(first+tt.line+"\n"), "people.jsonl"), "people.jsonl")
			require.ErrorIs(t, err, dssjsonl.ErrNotUTF8)
			require.EqualError(t, err, fmt.Sprintf(`jsonl people.jsonl:2:%d: not valid UTF-8: %s is half of a UTF-16 surrogate pair, which no UTF-8 text holds (encoding/json would make it U+FFFD)`, tt.column, tt.esc))
			var e *dssjsonl.Error
			require.ErrorAs(t, err, &e)
			require.Equal(t, 2, e.Line)
			require.Equal(t, tt.line[e.Column-1:e.Column-1+len(tt.esc)], tt.esc, "the column points at the escape")
			require.Len(t, recs, 1)
		})
	}
	good := []struct {
		name, line, want string
	}{
		{"a pair", `{"idnumber": "2", "name": "\ud83d\ude00"}`, "\U0001F600"},
		{"an upper-case pair", `{"idnumber": "2", "name": "\uD83D\uDE00!"}`, "\U0001F600!"},
		{"an escaped backslash before u", `{"idnumber": "2", "name": "\\ud800"}`, `\ud800`},
		{"an escaped quote before it", `{"idnumber": "2", "name": "\"\\ud800"}`, `"\ud800`},
		{"not a surrogate", `{"idnumber": "2", "name": "\u00e9\ue000"}`, "\u00e9\ue000"},
	}
	for _, tt := range good {
		t.Run(tt.name, func(t *testing.T) {
			recs, _, err := importAll(t, dssjsonl.New(strings.NewReader(tt.line+"\n"), "people.jsonl"), "people.jsonl")
			require.NoError(t, err)
			require.Equal(t, tt.want, recs[0]["name"])
		})
	}
}

// TestNumberIDs: {"idnumber": 1} is course "1", and {"idnumber": 1.0} or
// {"idnumber": 1e0} would have been courses "1.0" and "1e0": one number,
// several objects. They are refused at their line (issue 20, point 3).
func TestNumberIDs(t *testing.T) {
	for _, id := range []string{"1.0", "1e0", "-0"} {
		input := `{"idnumber": 1, "name": "Algebra"}` + "\n" + `{"idnumber": ` + id + `, "name": "Algebra"}` + "\n"
		tree := dss.NewTree[catalog]("source")
		tree.Branches.Courses.Importer = dssjsonl.New(strings.NewReader(input), "courses.jsonl")
		err := tree.Import(context.Background())
		require.ErrorIs(t, err, dss.ErrBadID)
		require.EqualError(t, err, `dss: source.courses: courses.jsonl:2: key "idnumber" value "`+id+`": invalid idnumber: a number with a fraction or an exponent (1.0, 1e0) or -0 would name another object than the integer it equals; write the idnumber as an integer or a string`)
	}
}

package dsscsv_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/datastoresync/dss"
	"github.com/datastoresync/dss/dsscsv"
)

// importAll runs im and returns the records it yielded and the position
// Position reported for each.
func importAll(t testing.TB, im *dsscsv.Importer) ([]dss.Record, []int, error) {
	t.Helper()
	var recs []dss.Record
	var lines []int
	err := im.Import(context.Background(), func(r dss.Record) error {
		p := im.Position()
		if !slices.Contains([]string{"csv", "users.csv", "fuzz.csv", "testdata/truncated.csv", "testdata/debian.csv"}, p.Source) {
			t.Errorf("Position().Source = %q", p.Source)
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
		setup func(*dsscsv.Importer)
		want  []dss.Record
		lines []int // Position().Line of each record
	}{
		{
			name:  "header and rows",
			input: "idnumber,name\n1,Ann\n2,Bob\n",
			want:  []dss.Record{{"idnumber": "1", "name": "Ann"}, {"idnumber": "2", "name": "Bob"}},
			lines: []int{2, 3},
		},
		{
			name:  "byte order mark is skipped, else the first key would be \\ufeffidnumber",
			input: "\ufeffidnumber,name\n1,Ann\n",
			want:  []dss.Record{{"idnumber": "1", "name": "Ann"}},
			lines: []int{2},
		},
		{
			name:  "only the first byte order mark is skipped",
			input: "\ufeffidnumber,\ufeffname\n1,Ann\n",
			want:  []dss.Record{{"idnumber": "1", "\ufeffname": "Ann"}},
			lines: []int{2},
		},
		{
			name:  "CRLF line ends, no final newline",
			input: "idnumber,name\r\n1,Ann\r\n2,Bob",
			want:  []dss.Record{{"idnumber": "1", "name": "Ann"}, {"idnumber": "2", "name": "Bob"}},
			lines: []int{2, 3},
		},
		{
			name:  "quoted comma, doubled quote and newline; the next record's line counts the newline",
			input: "idnumber,name\n1,\"Doe, \"\"Jane\"\"\nsecond line\"\n2,Bob\n",
			want: []dss.Record{
				{"idnumber": "1", "name": "Doe, \"Jane\"\nsecond line"},
				{"idnumber": "2", "name": "Bob"},
			},
			lines: []int{2, 4},
		},
		{
			name:  "a '\\r' inside quotes is data, before a CRLF or a quote",
			input: "idnumber,name\r\n1,\"a\rb\"\r\n2,\"c\r\"\r\n3,\"\r\r\n\"\r\n",
			want: []dss.Record{
				{"idnumber": "1", "name": "a\rb"},
				{"idnumber": "2", "name": "c\r"},
				{"idnumber": "3", "name": "\r\n"},
			},
			lines: []int{2, 3, 4},
		},
		{
			name:  "CRLF blank lines are skipped",
			input: "\r\nidnumber\r\n\r\n1\r\n\r\n",
			want:  []dss.Record{{"idnumber": "1"}},
			lines: []int{4},
		},
		{
			name:  "quoted CRLF inside a field reads as LF",
			input: "idnumber,name\r\n1,\"a\r\nb\"\r\n",
			want:  []dss.Record{{"idnumber": "1", "name": "a\nb"}},
			lines: []int{2},
		},
		{
			name:  "blank lines are skipped and do not shift positions",
			input: "\nidnumber,name\n\n1,Ann\n\n\n2,Bob\n\n",
			want:  []dss.Record{{"idnumber": "1", "name": "Ann"}, {"idnumber": "2", "name": "Bob"}},
			lines: []int{4, 7},
		},
		{
			name:  "semicolon delimiter",
			input: "idnumber;name\n1;Doe, Jane\n2;\"a;b\"\n",
			setup: func(im *dsscsv.Importer) { im.Comma = ';' },
			want:  []dss.Record{{"idnumber": "1", "name": "Doe, Jane"}, {"idnumber": "2", "name": "a;b"}},
			lines: []int{2, 3},
		},
		{
			name:  "tab delimiter keeps spaces",
			input: "idnumber\tname\n1\t Ann \n",
			setup: func(im *dsscsv.Importer) { im.Comma = '\t' },
			want:  []dss.Record{{"idnumber": "1", "name": " Ann "}},
			lines: []int{2},
		},
		{
			name:  "multibyte delimiter",
			input: "idnumber¦name\n1¦Ann\n",
			setup: func(im *dsscsv.Importer) { im.Comma = '¦' },
			want:  []dss.Record{{"idnumber": "1", "name": "Ann"}},
			lines: []int{2},
		},
		{
			name:  "explicit Columns: the first row is data",
			input: "1,Ann\n2,Bob\n",
			setup: func(im *dsscsv.Importer) { im.Columns = []string{"idnumber", "name"} },
			want:  []dss.Record{{"idnumber": "1", "name": "Ann"}, {"idnumber": "2", "name": "Bob"}},
			lines: []int{1, 2},
		},
		{
			name:  "explicit Columns, empty input: no records",
			input: "",
			setup: func(im *dsscsv.Importer) { im.Columns = []string{"idnumber"} },
		},
		{
			name:  "delimiters in quotes do not count toward MaxColumns, in CRLF files too",
			input: "idnumber,name\r\n1,\"" + strings.Repeat(",", 5000) + "\"\r\n2,\"a\"\"" + strings.Repeat(",", 5000) + "\"\r\n",
			want: []dss.Record{
				{"idnumber": "1", "name": strings.Repeat(",", 5000)},
				{"idnumber": "2", "name": "a\"" + strings.Repeat(",", 5000)},
			},
			lines: []int{2, 3},
		},
		{
			name:  "header only: no records",
			input: "idnumber,name\n",
		},
		{
			name:  "Rename maps columns to keys; the others keep their names",
			input: "ID,Last First,email\n1,\"Doe, Jane\",j@x\n",
			setup: func(im *dsscsv.Importer) {
				im.Rename = map[string]string{"ID": "idnumber", "Last First": "_lastfirst"}
			},
			want:  []dss.Record{{"idnumber": "1", "_lastfirst": "Doe, Jane", "email": "j@x"}},
			lines: []int{2},
		},
		{
			name:  "Rename applies to explicit Columns",
			input: "1,Ann\n",
			setup: func(im *dsscsv.Importer) {
				im.Columns = []string{"ID", "Name"}
				im.Rename = map[string]string{"ID": "idnumber"}
			},
			want:  []dss.Record{{"idnumber": "1", "Name": "Ann"}},
			lines: []int{1},
		},
		{
			name:  "list column: split, trimmed, empty elements dropped, empty field is an empty list",
			input: "idnumber,groups\n1, a; b ;c\n2,\n3,\" \"\n4,x;;y;\n",
			setup: func(im *dsscsv.Importer) { im.Lists = map[string]string{"groups": ";"} },
			want: []dss.Record{
				{"idnumber": "1", "groups": []string{"a", "b", "c"}},
				{"idnumber": "2", "groups": []string{}},
				{"idnumber": "3", "groups": []string{}},
				{"idnumber": "4", "groups": []string{"x", "y"}},
			},
			lines: []int{2, 3, 4, 5},
		},
		{
			name:  "list key is the renamed key; multi-character separator",
			input: "id,Groups\n1,a || b\n",
			setup: func(im *dsscsv.Importer) {
				im.Rename = map[string]string{"id": "idnumber", "Groups": "groups"}
				im.Lists = map[string]string{"groups": "||"}
			},
			want:  []dss.Record{{"idnumber": "1", "groups": []string{"a", "b"}}},
			lines: []int{2},
		},
		{
			name:  "header names are trimmed; idnumber matches ignoring case",
			input: " IDNumber , name\n1,Ann\n",
			want:  []dss.Record{{"IDNumber": "1", "name": "Ann"}},
			lines: []int{2},
		},
		{
			name:  "empty fields are empty strings",
			input: "idnumber,name,age\n1,,\n",
			want:  []dss.Record{{"idnumber": "1", "name": "", "age": ""}},
			lines: []int{2},
		},
		{
			name:  "AllowShortRows: the columns a row lacks are absent, not empty; a list column too",
			input: "idnumber,name,groups\n1,Ann,a;b\n2,Bob\n3\n4,,\n",
			setup: func(im *dsscsv.Importer) {
				im.AllowShortRows = true
				im.Lists = map[string]string{"groups": ";"}
			},
			want: []dss.Record{
				{"idnumber": "1", "name": "Ann", "groups": []string{"a", "b"}},
				{"idnumber": "2", "name": "Bob"},
				{"idnumber": "3"},
				{"idnumber": "4", "name": "", "groups": []string{}},
			},
			lines: []int{2, 3, 4, 5},
		},
		{
			name:  "AllowShortRows with explicit Columns",
			input: "1,Ann\n2\n",
			setup: func(im *dsscsv.Importer) {
				im.AllowShortRows = true
				im.Columns = []string{"idnumber", "name"}
			},
			want:  []dss.Record{{"idnumber": "1", "name": "Ann"}, {"idnumber": "2"}},
			lines: []int{1, 2},
		},
		{
			name:  "LazyQuotes accepts a bare quote",
			input: "idnumber,name\n1,5\" disk\n",
			setup: func(im *dsscsv.Importer) { im.LazyQuotes = true },
			want:  []dss.Record{{"idnumber": "1", "name": "5\" disk"}},
			lines: []int{2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			im := dsscsv.New(strings.NewReader(tt.input), "csv")
			if tt.setup != nil {
				tt.setup(im)
			}
			recs, lines, err := importAll(t, im)
			require.NoError(t, err)
			if diff := cmp.Diff(tt.want, recs); diff != "" {
				t.Errorf("records (-want +got):\n%s", diff)
			}
			assert.Equal(t, tt.lines, lines, "Position().Line of each record")

			// ImportRows yields the same records as rows, or, for a file
			// with list columns, declines.
			im = dsscsv.New(strings.NewReader(tt.input), "csv")
			if tt.setup != nil {
				tt.setup(im)
			}
			var rows []dss.Record
			lines = nil
			err = im.ImportRows(context.Background(), func(keys, row []string) error {
				r := dss.Record{}
				for i, v := range row {
					r[keys[i]] = v
				}
				rows = append(rows, r)
				lines = append(lines, im.Position().Line)
				return nil
			})
			if len(im.Lists) > 0 {
				require.ErrorIs(t, err, dss.ErrSkipRows)
				assert.Empty(t, rows)
				return
			}
			require.NoError(t, err)
			if diff := cmp.Diff(tt.want, rows); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
			assert.Equal(t, tt.lines, lines, "Position().Line of each row")
		})
	}
}

func TestImportErrors(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		setup   func(*dsscsv.Importer)
		want    string // the whole message
		is      error  // the sentinel in the chain
		line    int
		column  int
		yielded int // records yielded before the error
	}{
		{
			name:    "short row names file and line",
			input:   "idnumber,name,age\n1,Ann,3\n2,Bob\n",
			want:    "csv users.csv:3: short row: 2 fields, the header has 3 (AllowShortRows is off): wrong number of fields",
			is:      csv.ErrFieldCount,
			line:    3,
			yielded: 1,
		},
		{
			name:   "long row points at the first extra field",
			input:  "idnumber,name\n1,Ann,extra\n",
			want:   "csv users.csv:2:7: long row: 3 fields, the header has 2: wrong number of fields",
			is:     csv.ErrFieldCount,
			line:   2,
			column: 7,
		},
		{
			name:    "AllowShortRows: a long row is still an error",
			input:   "idnumber,name\n1\n2,Bob,extra\n",
			setup:   func(im *dsscsv.Importer) { im.AllowShortRows = true },
			want:    "csv users.csv:3:7: long row: 3 fields, the header has 2: wrong number of fields",
			is:      csv.ErrFieldCount,
			line:    3,
			column:  7,
			yielded: 1,
		},
		{
			name:  "no idnumber column: error at the header, before any record",
			input: "id,name\n1,Ann\n",
			want:  `csv users.csv:1: header: no idnumber column: want a column "idnumber", or Rename one to it (columns: "id", "name")`,
			is:    dsscsv.ErrNoIDColumn,
			line:  1,
		},
		{
			name:  "no idnumber column among explicit Columns",
			input: "1,Ann\n",
			setup: func(im *dsscsv.Importer) { im.Columns = []string{"id", "name"} },
			want:  `csv users.csv: Columns: no idnumber column: want a column "idnumber", or Rename one to it (columns: "id", "name")`,
			is:    dsscsv.ErrNoIDColumn,
		},
		{
			name:   "duplicate header name",
			input:  "idnumber,name,name\n1,a,b\n",
			want:   `csv users.csv:1:15: header: duplicate column "name": also column 2`,
			is:     dsscsv.ErrDuplicateColumn,
			line:   1,
			column: 15,
		},
		{
			name:   "duplicate ignoring case: dss would fill one field from both",
			input:  "idnumber,Name,name\n1,a,b\n",
			want:   `csv users.csv:1:15: header: duplicate column "name": its key "name" and column 2 "Name"'s key "Name" are equal ignoring case`,
			is:     dsscsv.ErrDuplicateColumn,
			line:   1,
			column: 15,
		},
		{
			name:   "duplicate through Rename",
			input:  "idnumber,ID\n1,2\n",
			setup:  func(im *dsscsv.Importer) { im.Rename = map[string]string{"ID": "idnumber"} },
			want:   `csv users.csv:1:10: header: duplicate column "ID": its key "idnumber" and column 1 "idnumber"'s key "idnumber" are equal ignoring case`,
			is:     dsscsv.ErrDuplicateColumn,
			line:   1,
			column: 10,
		},
		{
			name:   "bare quote names file, line and column",
			input:  "idnumber,name\n1,Ann\n2,5\" disk\n",
			want:   `csv users.csv:3:4: bare " in non-quoted-field`,
			is:     csv.ErrBareQuote,
			line:   3,
			column: 4,
			// The record before the bad line was yielded: the import streams.
			yielded: 1,
		},
		{
			name:   "stray quote in a quoted field",
			input:  "idnumber,name\n1,\"a\"b\"\n",
			want:   `csv users.csv:2:5: extraneous or missing " in quoted-field`,
			is:     csv.ErrQuote,
			line:   2,
			column: 5,
		},
		{
			name:   "error on a later line of a multi-line record names both lines",
			input:  "idnumber,name\n1,\"a\nb\"c\"\n",
			want:   `csv users.csv:3:2: in the record that starts on line 2: extraneous or missing " in quoted-field`,
			is:     csv.ErrQuote,
			line:   3,
			column: 2,
		},
		{
			name:   "unterminated quote at the end of the file",
			input:  "idnumber,name\n1,\"abc\n",
			want:   `csv users.csv:2:8: extraneous or missing " in quoted-field`,
			is:     csv.ErrQuote,
			line:   2,
			column: 8,
		},
		{
			name:   "\\r\\r\\n line ends: the first '\\r' is bare, else every last field would keep one",
			input:  "idnumber,name\r\r\n1,Ann\r\r\n",
			want:   `csv users.csv:1:14: bare \r in non-quoted-field: a line ends with \n or \r\n`,
			is:     dsscsv.ErrBareCR,
			line:   1,
			column: 14,
		},
		{
			name:    "\\r\\r\\n on a row after CRLF rows",
			input:   "idnumber,name\r\n1,Ann\r\n2,Bob\r\r\n3,Cy\r\n",
			want:    `csv users.csv:3:6: bare \r in non-quoted-field: a line ends with \n or \r\n`,
			is:      dsscsv.ErrBareCR,
			line:    3,
			column:  6,
			yielded: 1,
		},
		{
			name:   "bare '\\r' inside an unquoted field",
			input:  "idnumber,name\n1,A\rnn\n",
			want:   `csv users.csv:2:4: bare \r in non-quoted-field: a line ends with \n or \r\n`,
			is:     dsscsv.ErrBareCR,
			line:   2,
			column: 4,
		},
		{
			name:   "bare '\\r' before a delimiter, with no size or width bounds",
			input:  "idnumber,name\n1\r,Ann\n",
			setup:  func(im *dsscsv.Importer) { im.MaxColumns, im.MaxRecordSize = 0, 0 },
			want:   `csv users.csv:2:2: bare \r in non-quoted-field: a line ends with \n or \r\n`,
			is:     dsscsv.ErrBareCR,
			line:   2,
			column: 2,
		},
		{
			name:   "lone '\\r' line ends (old Mac): one line, refused at its first '\\r'",
			input:  "idnumber,name\r1,Ann\r2,Bob\r",
			want:   `csv users.csv:1:14: bare \r in non-quoted-field: a line ends with \n or \r\n`,
			is:     dsscsv.ErrBareCR,
			line:   1,
			column: 14,
		},
		{
			name:   "'\\r' at the end of the file, which encoding/csv drops",
			input:  "idnumber,name\n1,Ann\r",
			want:   `csv users.csv:2:6: bare \r in non-quoted-field: a line ends with \n or \r\n`,
			is:     dsscsv.ErrBareCR,
			line:   2,
			column: 6,
		},
		{
			name:   "'\\r' after a closing quote at the end of the file",
			input:  "idnumber,name\n1,\"Ann\"\r",
			want:   `csv users.csv:2:8: bare \r in non-quoted-field: a line ends with \n or \r\n`,
			is:     dsscsv.ErrBareCR,
			line:   2,
			column: 8,
		},
		{
			name:    "a last line of one '\\r', which encoding/csv skips as blank",
			input:   "idnumber,name\n1,Ann\n\r",
			want:    `csv users.csv:3:1: bare \r in non-quoted-field: a line ends with \n or \r\n`,
			is:      dsscsv.ErrBareCR,
			line:    3,
			column:  1,
			yielded: 1,
		},
		{
			name:   "a file of one '\\r'",
			input:  "\r",
			want:   `csv users.csv:1:1: bare \r in non-quoted-field: a line ends with \n or \r\n`,
			is:     dsscsv.ErrBareCR,
			line:   1,
			column: 1,
		},
		{
			name:   "bare '\\r' on the second line of a multi-line record",
			input:  "idnumber,name,x\n1,\"a\nb\",c\rd\n",
			want:   `csv users.csv:3:5: bare \r in non-quoted-field: a line ends with \n or \r\n`,
			is:     dsscsv.ErrBareCR,
			line:   3,
			column: 5,
		},
		{
			name:   "a bare quote before a bare '\\r' is reported first",
			input:  "idnumber,name\n1,a\"b\rc\n",
			want:   `csv users.csv:2:4: bare " in non-quoted-field`,
			is:     csv.ErrBareQuote,
			line:   2,
			column: 4,
		},
		{
			name:   "a bare '\\r' before a bare quote is reported first",
			input:  "idnumber,name\n1,a\rb\"c\n",
			want:   `csv users.csv:2:4: bare \r in non-quoted-field: a line ends with \n or \r\n`,
			is:     dsscsv.ErrBareCR,
			line:   2,
			column: 4,
		},
		{
			name:   "with LazyQuotes, '\\r' after a quote in an unquoted field is still bare",
			input:  "idnumber,name\n1,5\"\r\r\n",
			setup:  func(im *dsscsv.Importer) { im.LazyQuotes = true },
			want:   `csv users.csv:2:5: bare \r in non-quoted-field: a line ends with \n or \r\n`,
			is:     dsscsv.ErrBareCR,
			line:   2,
			column: 5,
		},
		{
			name:   "the column counts bytes after a byte order mark, as encoding/csv does",
			input:  "\ufeffidnumber,né\r\r\n",
			want:   `csv users.csv:1:13: bare \r in non-quoted-field: a line ends with \n or \r\n`,
			is:     dsscsv.ErrBareCR,
			line:   1,
			column: 13,
		},
		{
			name:  "empty input has no header",
			input: "",
			want:  "csv users.csv: no header row: unexpected EOF",
			is:    io.ErrUnexpectedEOF,
		},
		{
			name:  "Rename names a column the file does not have",
			input: "idnumber,name\n1,Ann\n",
			setup: func(im *dsscsv.Importer) { im.Rename = map[string]string{"Name": "name"} },
			want:  `csv users.csv:1: header: Rename["Name"]: no such column (columns: "idnumber", "name")`,
			is:    dsscsv.ErrUnknownColumn,
			line:  1,
		},
		{
			name:  "Lists names a key the file does not have",
			input: "idnumber,name\n1,Ann\n",
			setup: func(im *dsscsv.Importer) { im.Lists = map[string]string{"groups": ";"} },
			want:  `csv users.csv:1: header: Lists["groups"]: no such column (keys: "idnumber", "name")`,
			is:    dsscsv.ErrUnknownColumn,
			line:  1,
		},
		{
			name:  "Lists with an empty separator",
			input: "idnumber,groups\n1,a\n",
			setup: func(im *dsscsv.Importer) { im.Lists = map[string]string{"groups": ""} },
			want:  `csv users.csv: option Lists["groups"]: empty separator`,
		},
		{
			name:  "the idnumber cannot be a list",
			input: "idnumber\n1\n",
			setup: func(im *dsscsv.Importer) { im.Lists = map[string]string{"IDNumber": ";"} },
			want:  `csv users.csv: option Lists["IDNumber"]: the idnumber cannot be a list`,
		},
		{
			name:  "Rename to an empty key",
			input: "idnumber,name\n1,Ann\n",
			setup: func(im *dsscsv.Importer) { im.Rename = map[string]string{"name": ""} },
			want:  `csv users.csv: option Rename["name"] is empty`,
		},
		{
			name:  "invalid Comma",
			input: "idnumber\n1\n",
			setup: func(im *dsscsv.Importer) { im.Comma = '"' },
			want:  `csv users.csv: invalid Comma '"'`,
		},
		{
			name:  "empty Columns is not nil Columns",
			input: "idnumber\n1\n",
			setup: func(im *dsscsv.Importer) { im.Columns = []string{} },
			want:  `csv users.csv: option Columns is empty: set it to nil to read a header`,
		},
		{
			name:   "too many columns in the header",
			input:  "idnumber,a,b,c\n1,2,3,4\n",
			setup:  func(im *dsscsv.Importer) { im.MaxColumns = 3 },
			want:   `csv users.csv:1:14: too many columns: more than 3 fields (MaxColumns)`,
			is:     dsscsv.ErrTooManyColumns,
			line:   1,
			column: 14,
		},
		{
			name:   "too many columns in a row",
			input:  "idnumber,a\n1,2\n1,2,3,4\n",
			setup:  func(im *dsscsv.Importer) { im.MaxColumns = 3 },
			want:   `csv users.csv:3:7: too many columns: more than 3 fields (MaxColumns)`,
			is:     dsscsv.ErrTooManyColumns,
			line:   3,
			column: 7,
			// The first row has the header's width.
			yielded: 1,
		},
		{
			name:  "too many explicit Columns",
			input: "1,2\n",
			setup: func(im *dsscsv.Importer) { im.Columns = []string{"idnumber", "a"}; im.MaxColumns = 1 },
			want:  `csv users.csv: Columns: too many columns: more than 1 columns (MaxColumns)`,
			is:    dsscsv.ErrTooManyColumns,
		},
		{
			name:    "record too large",
			input:   "idnumber,name\n1,Ann\n2,aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n3,Bob\n",
			setup:   func(im *dsscsv.Importer) { im.MaxRecordSize = 16 },
			want:    `csv users.csv:3: record too large: more than 16 bytes (MaxRecordSize)`,
			is:      dsscsv.ErrRecordTooLarge,
			line:    3,
			yielded: 1,
		},
		{
			name:  "record too large across lines",
			input: "idnumber,name\n1,\"a\nb\nc\nd\ne\nf\ng\nh\ni\nj\"\n",
			setup: func(im *dsscsv.Importer) { im.MaxRecordSize = 16 },
			want:  `csv users.csv:2: record too large: more than 16 bytes (MaxRecordSize)`,
			is:    dsscsv.ErrRecordTooLarge,
			line:  2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			im := dsscsv.New(strings.NewReader(tt.input), "users.csv")
			if tt.setup != nil {
				tt.setup(im)
			}
			recs, _, err := importAll(t, im)
			require.Error(t, err)
			assert.Equal(t, tt.want, err.Error())
			if tt.is != nil {
				assert.ErrorIs(t, err, tt.is)
			}
			var e *dsscsv.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, "users.csv", e.Source)
			assert.Equal(t, tt.line, e.Line, "Line")
			assert.Equal(t, tt.column, e.Column, "Column")
			assert.Len(t, recs, tt.yielded, "records yielded before the error")
		})
	}
}

// TestMaxRecordSizeBoundary checks that the limit is exact: a record of
// MaxRecordSize bytes passes, one byte more fails, with or without a final
// newline, and whatever the read buffer holds.
func TestMaxRecordSizeBoundary(t *testing.T) {
	const max = 10
	header := "idnumber\n" // 9 bytes
	for _, tt := range []struct {
		name   string
		row    string
		tooBig bool
	}{
		{"exactly max with newline", "123456789\n", false},
		{"exactly max without newline", "1234567890", false},
		{"max+1 with newline", "1234567890\n", true},
		{"max+1 without newline", "12345678901", true},
		{"much larger", strings.Repeat("9", 100), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// Repeat the row so that the limit is met both at the start of a
			// read and in the middle of the buffer.
			input := header + strings.Repeat(strings.TrimSuffix(tt.row, "\n")+"\n", 3)
			if !strings.HasSuffix(tt.row, "\n") {
				input = header + tt.row // without a final newline: one row
			}
			im := dsscsv.New(strings.NewReader(input), "csv")
			im.MaxRecordSize = max
			_, _, err := importAll(t, im)
			if tt.tooBig {
				assert.ErrorIs(t, err, dsscsv.ErrRecordTooLarge)
			} else {
				assert.NoError(t, err)
			}
		})
	}
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

// TestHugeInputStopsEarly feeds 1 GiB inputs that are one enormous field,
// one enormously wide row, or endless too-wide rows, and checks that the
// import fails after reading and allocating a small part of them.
func TestHugeInputStopsEarly(t *testing.T) {
	const gib = 1 << 30
	tests := []struct {
		name  string
		src   *lazyReader
		setup func(*dsscsv.Importer)
		is    error
		line  int
	}{
		{"one enormous field", &lazyReader{prefix: "idnumber,name\n1,Ann\n2,", pattern: "a", size: gib}, nil, dsscsv.ErrRecordTooLarge, 3},
		{"one enormous quoted field", &lazyReader{prefix: "idnumber,name\n2,\"", pattern: "a\n", size: gib}, nil, dsscsv.ErrRecordTooLarge, 2},
		// encoding/csv reads a whole record before it returns any field, and
		// splitting a row of a million fields would cost some 40 MiB: the
		// guard counts the fields as it reads.
		{"one enormously wide row", &lazyReader{prefix: "idnumber\n", pattern: ",", size: gib}, nil, dsscsv.ErrTooManyColumns, 2},
		{"one enormously wide row, multibyte delimiter", &lazyReader{prefix: "idnumber\n", pattern: "x¦", size: gib},
			func(im *dsscsv.Importer) { im.Comma = '¦' }, dsscsv.ErrTooManyColumns, 2},
		{"one enormously wide row, LazyQuotes", &lazyReader{prefix: "idnumber\n", pattern: "x\",", size: gib},
			func(im *dsscsv.Importer) { im.LazyQuotes = true }, dsscsv.ErrTooManyColumns, 2},
		{"endless rows too wide", &lazyReader{prefix: "idnumber\n", pattern: strings.Repeat("x,", 2000) + "x\n", size: gib}, nil, dsscsv.ErrTooManyColumns, 2},
		{"enormous header", &lazyReader{pattern: "idnumber", size: gib}, nil, dsscsv.ErrRecordTooLarge, 1},
		// A file with old Mac line ends is one enormous line: the bare '\r'
		// is the better reason.
		{"old Mac line ends", &lazyReader{prefix: "idnumber,name\r", pattern: "1,Ann\r", size: gib}, nil, dsscsv.ErrBareCR, 1},
		{"old Mac line ends, one column", &lazyReader{prefix: "idnumber\r", pattern: "1\r", size: gib},
			func(im *dsscsv.Importer) { im.MaxColumns = 0 }, dsscsv.ErrBareCR, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			im := dsscsv.New(tt.src, "huge.csv")
			if tt.setup != nil {
				tt.setup(im)
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			err := im.Import(context.Background(), func(dss.Record) error { return nil })
			runtime.ReadMemStats(&after)
			require.ErrorIs(t, err, tt.is)
			var e *dsscsv.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tt.line, e.Line)
			assert.Less(t, tt.src.n, int64(dsscsv.DefaultMaxRecordSize+256<<10), "bytes read")
			assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(64<<20), "bytes allocated")
		})
	}
}

// TestRequireFinalNewline: with RequireFinalNewline, a last record without a
// line ending fails the import before it is yielded, at the line and column
// where the line ending is missing; without it, such a record is imported.
func TestRequireFinalNewline(t *testing.T) {
	const missing = "no line ending after the last record (RequireFinalNewline): the file may be truncated"
	tests := []struct {
		name    string
		input   string
		setup   func(*dsscsv.Importer)
		err     string // with RequireFinalNewline; "" for none
		line    int
		yielded int // records yielded with RequireFinalNewline
		lenient int // records yielded without it; -1 if it fails too
	}{
		{
			name:    "last row cut in its last field",
			input:   "idnumber,name,department\n1,Ann,languages\n2,Bob,langua",
			err:     "csv users.csv:3:13: " + missing,
			line:    3,
			yielded: 1,
			lenient: 2,
		},
		{
			name:    "last row cut in its first field: a short row without the option",
			input:   "idnumber,name\n1,Ann\n2",
			err:     "csv users.csv:3:2: " + missing,
			line:    3,
			yielded: 1,
			lenient: -1,
		},
		{
			name:    "last row ends after a delimiter",
			input:   "idnumber,name\n1,",
			err:     "csv users.csv:2:3: " + missing,
			line:    2,
			lenient: 1,
		},
		{
			name:    "quoted last field, closed, without a line ending",
			input:   "idnumber,name\n1,\"Ann\"",
			err:     "csv users.csv:2:8: " + missing,
			line:    2,
			lenient: 1,
		},
		{
			name:    "multi-line last record: the line where the ending is missing",
			input:   "idnumber,name\n1,\"a\nb\"",
			err:     "csv users.csv:3:3: " + missing,
			line:    3,
			lenient: 1,
		},
		{
			name:    "LazyQuotes: a last quoted field left open, though the file ends in a newline",
			input:   "idnumber,name\n1,\"Ann\n",
			setup:   func(im *dsscsv.Importer) { im.LazyQuotes = true },
			err:     "csv users.csv:3:1: " + missing,
			line:    3,
			lenient: 1,
		},
		{
			name:    "only a header, without a line ending: it may be cut too",
			input:   "idnumber,name",
			err:     "csv users.csv:1:14: " + missing,
			line:    1,
			lenient: 0,
		},
		{
			name:    "explicit Columns: the first row is the last",
			input:   "1,Ann",
			setup:   func(im *dsscsv.Importer) { im.Columns = []string{"idnumber", "name"} },
			err:     "csv users.csv:1:6: " + missing,
			line:    1,
			lenient: 1,
		},
		{name: "final LF", input: "idnumber,name\n1,Ann\n", yielded: 1, lenient: 1},
		{name: "final CRLF", input: "idnumber,name\r\n1,Ann\r\n", yielded: 1, lenient: 1},
		{name: "blank lines after the last record", input: "idnumber,name\n1,Ann\n\r\n\n", yielded: 1, lenient: 1},
		{name: "a quoted newline, then the line ending", input: "idnumber,name\n1,\"a\n\"\n", yielded: 1, lenient: 1},
		{name: "only a header, with a line ending", input: "idnumber,name\n", lenient: 0},
		{
			name:    "empty, explicit Columns: no last record, no records",
			input:   "",
			setup:   func(im *dsscsv.Importer) { im.Columns = []string{"idnumber"} },
			lenient: 0,
		},
		{
			name:    "empty: no header, with or without the option",
			input:   "",
			err:     "csv users.csv: no header row: unexpected EOF",
			lenient: -1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			im := dsscsv.New(strings.NewReader(tt.input), "users.csv")
			if tt.setup != nil {
				tt.setup(im)
			}
			im.RequireFinalNewline = true
			recs, _, err := importAll(t, im)
			if tt.err == "" {
				require.NoError(t, err)
			} else {
				require.EqualError(t, err, tt.err)
				var e *dsscsv.Error
				require.ErrorAs(t, err, &e)
				assert.Equal(t, tt.line, e.Line, "Line")
				if tt.line > 0 {
					assert.ErrorIs(t, err, dsscsv.ErrNoFinalNewline)
				}
			}
			assert.Len(t, recs, tt.yielded, "records yielded with RequireFinalNewline")

			im = dsscsv.New(strings.NewReader(tt.input), "users.csv")
			if tt.setup != nil {
				tt.setup(im)
			}
			recs, _, err = importAll(t, im)
			if tt.lenient < 0 {
				require.Error(t, err)
				assert.NotErrorIs(t, err, dsscsv.ErrNoFinalNewline)
			} else {
				require.NoError(t, err)
				assert.Len(t, recs, tt.lenient, "records yielded without RequireFinalNewline")
			}
		})
	}

	t.Run("a file cut short", func(t *testing.T) {
		im := dsscsv.Open("testdata/truncated.csv")
		recs, _, err := importAll(t, im)
		require.NoError(t, err, "lenient by default")
		require.Len(t, recs, 2)
		assert.Equal(t, "langua", recs[1]["department"], "the cut row is imported")

		im.RequireFinalNewline = true
		recs, _, err = importAll(t, im)
		require.ErrorIs(t, err, dsscsv.ErrNoFinalNewline)
		assert.EqualError(t, err, "csv testdata/truncated.csv:3:13: "+missing)
		assert.Len(t, recs, 1, "the cut row is not yielded")
	})
}

func TestCancel(t *testing.T) {
	var b strings.Builder
	b.WriteString("idnumber\n")
	const rows = 20000
	for i := range rows {
		b.WriteString(strings.Repeat("x", i%7+1) + "\n")
	}
	input := b.String()

	t.Run("during the import", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		n := 0
		err := dsscsv.New(strings.NewReader(input), "csv").Import(ctx, func(dss.Record) error {
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
		err := dsscsv.New(strings.NewReader(input), "csv").Import(ctx, func(dss.Record) error { n++; return nil })
		require.ErrorIs(t, err, context.Canceled)
		assert.Zero(t, n)
	})
}

func TestYieldError(t *testing.T) {
	stop := errors.New("stop")
	n := 0
	err := dsscsv.New(strings.NewReader("idnumber\n1\n2\n3\n"), "csv").Import(context.Background(), func(dss.Record) error {
		n++
		if n == 2 {
			return stop
		}
		return nil
	})
	assert.Same(t, stop, err, "yield's error is returned as is")
	assert.Equal(t, 2, n)
}

// TestReadAheadStops: rows are read on a goroutine of their own, ahead of
// the records yielded. However Import ends (yield's error, cancellation, an
// error in the file, the end), that goroutine has stopped when Import
// returns: synctest.Test fails if a goroutine of its bubble is left blocked,
// and the reader counts reads made after Import returned.
func TestReadAheadStops(t *testing.T) {
	var b strings.Builder
	b.WriteString("idnumber,name\n")
	const rows = 5000
	for i := range rows {
		fmt.Fprintf(&b, "%d,name %d\n", i, i)
	}
	good := b.String()
	stop := errors.New("stop")
	for _, tt := range []struct {
		name   string
		input  string
		stop   int // yield fails on this record; 0 for never
		cancel int // yield cancels the context on this record; 0 for never
		want   int // records yielded
		err    string
	}{
		{name: "yield fails early", input: good, stop: 10, want: 10, err: "stop"},
		{name: "yield fails on the last record", input: good, stop: rows, want: rows, err: "stop"},
		{name: "cancelled", input: good, cancel: 10, want: 4095, err: "context canceled"},
		{name: "bad row after many good ones", input: good + "1,\"x\n", want: rows,
			err: `csv r:5002:6: extraneous or missing " in quoted-field`},
		{name: "short row", input: good + "1\n", want: rows,
			err: "csv r:5002: short row: 1 fields, the header has 2 (AllowShortRows is off): wrong number of fields"},
		{name: "to the end", input: good, want: rows},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				src := &afterReader{r: strings.NewReader(tt.input)}
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				n := 0
				err := dsscsv.New(src, "r").Import(ctx, func(dss.Record) error {
					n++
					if n == tt.cancel {
						cancel()
					}
					if n == tt.stop {
						return stop
					}
					return nil
				})
				src.done.Store(true)
				synctest.Wait()
				if tt.err == "" {
					require.NoError(t, err)
				} else {
					require.EqualError(t, err, tt.err)
				}
				assert.Equal(t, tt.want, n)
				assert.Zero(t, src.late.Load(), "reads after Import returned")
			})
		})
	}
}

// afterReader counts the reads made once done is set.
type afterReader struct {
	r    io.Reader
	done atomic.Bool
	late atomic.Int32
}

func (a *afterReader) Read(p []byte) (int, error) {
	if a.done.Load() {
		a.late.Add(1)
	}
	return a.r.Read(p)
}

// TestRecordReuse checks that the one record map the importer reuses never
// carries a key or value from one row into the next, even when the caller
// changes it, and that list values are not shared between rows.
func TestRecordReuse(t *testing.T) {
	im := dsscsv.New(strings.NewReader("idnumber,groups\n1,a;b\n2,c\n"), "csv")
	im.Lists = map[string]string{"groups": ";"}
	var recs []dss.Record
	var lists [][]string
	err := im.Import(context.Background(), func(r dss.Record) error {
		recs = append(recs, maps.Clone(r))
		lists = append(lists, r["groups"].([]string))
		r["extra"] = "added by a hook"
		delete(r, "idnumber")
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, []dss.Record{
		{"idnumber": "1", "groups": []string{"a", "b"}},
		{"idnumber": "2", "groups": []string{"c"}},
	}, recs)
	lists[0][0] = "changed"
	assert.Equal(t, []string{"c"}, lists[1])
}

func TestOpen(t *testing.T) {
	want := []dss.Record{
		{"idnumber": "11111", "Last First": "Doe, Jane", "Age": "34", "Groups": []string{"staff", "teachers"}},
		{"idnumber": "22222", "Last First": "Roe, Richard", "Age": "51", "Groups": []string{}},
		{"idnumber": "33333", "Last First": "O\"Neil, Ann", "Age": "19", "Groups": []string{"students"}},
	}
	im := dsscsv.Open("testdata/users.csv")
	im.Rename = map[string]string{"ID": "idnumber"}
	im.Lists = map[string]string{"Groups": ";"}
	for i := range 2 { // the file is opened anew at every Import
		var recs []dss.Record
		var pos []dss.Pos
		err := im.Import(context.Background(), func(r dss.Record) error {
			recs = append(recs, maps.Clone(r))
			pos = append(pos, im.Position())
			return nil
		})
		require.NoError(t, err, "import %d", i+1)
		if diff := cmp.Diff(want, recs); diff != "" {
			t.Errorf("import %d (-want +got):\n%s", i+1, diff)
		}
		assert.Equal(t, []dss.Pos{{Source: "testdata/users.csv", Line: 2}, {Source: "testdata/users.csv", Line: 3}, {Source: "testdata/users.csv", Line: 4}}, pos)
	}

	err := dsscsv.Open("testdata/missing.csv").Import(context.Background(), func(dss.Record) error { return nil })
	require.ErrorIs(t, err, fs.ErrNotExist)
	assert.Equal(t, "csv open testdata/missing.csv: no such file or directory", err.Error())
}

func TestNewReadsOnce(t *testing.T) {
	im := dsscsv.New(strings.NewReader("idnumber\n1\n"), "users.csv")
	recs, _, err := importAll(t, im)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	_, _, err = importAll(t, im)
	assert.EqualError(t, err, "csv users.csv: reader already read: use Open to import a file again")
}

// The end to end story: a CSV imported into a tree, and a bad value reported
// by dss with the file, line and key.
type user struct {
	IDNumber  string   `dss:"idnumber"`
	LastFirst string   `dss:"_lastfirst"`
	Name      string   `dss:"name"`
	Age       int      `dss:"age"`
	Groups    []string `dss:"groups"`
}

func (u *user) Derive() error {
	last, first, _ := strings.Cut(u.LastFirst, ", ")
	u.Name = strings.TrimSpace(first + " " + last)
	return nil
}

type school struct {
	Users *dss.Branch[string, user]
}

func TestTree(t *testing.T) {
	ctx := context.Background()

	t.Run("import a file, twice", func(t *testing.T) {
		tree := dss.NewTree[school]("source")
		im := dsscsv.Open("testdata/users.csv")
		im.Rename = map[string]string{"ID": "idnumber", "Last First": "_lastfirst", "Age": "age", "Groups": "groups"}
		im.Lists = map[string]string{"groups": ";"}
		tree.Branches.Users.Importer = im
		for range 2 {
			require.NoError(t, tree.Import(ctx))
			require.Equal(t, 3, tree.Branches.Users.Len())
			u, ok := tree.Branches.Users.Get("33333")
			require.True(t, ok)
			assert.Equal(t, user{IDNumber: "33333", LastFirst: "O\"Neil, Ann", Name: "Ann O\"Neil", Age: 19, Groups: []string{"students"}}, *u)
			u, _ = tree.Branches.Users.Get("11111")
			assert.Equal(t, []string{"staff", "teachers"}, u.Groups)
		}
	})

	t.Run("a bad value names file, line and key", func(t *testing.T) {
		tree := dss.NewTree[school]("source")
		tree.Branches.Users.Importer = dsscsv.New(strings.NewReader("idnumber,age\n11111,34\n22222,x\n"), "users.csv")
		err := tree.Import(ctx)
		var ie *dss.ImportError
		require.ErrorAs(t, err, &ie)
		assert.Equal(t, dss.Pos{Source: "users.csv", Line: 3}, ie.Pos)
		assert.Equal(t, "22222", ie.ID)
		assert.Equal(t, "age", ie.Key)
		assert.Equal(t, "x", ie.Value)
		assert.ErrorIs(t, err, dss.ErrConvert)
		assert.Contains(t, err.Error(), `users.csv:3: idnumber '22222': key "age"`)
	})

	t.Run("a bad value in a file", func(t *testing.T) {
		tree := dss.NewTree[school]("source")
		tree.Branches.Users.Importer = dsscsv.Open("testdata/badage.csv")
		tree.Branches.Users.IgnoreUnknownKeys = true
		err := tree.Import(ctx)
		var ie *dss.ImportError
		require.ErrorAs(t, err, &ie)
		assert.Equal(t, dss.Pos{Source: "testdata/badage.csv", Line: 3}, ie.Pos)
		assert.Equal(t, "age", ie.Key)
	})

	t.Run("a malformed file: the cause is a *dsscsv.Error", func(t *testing.T) {
		tree := dss.NewTree[school]("source")
		tree.Branches.Users.Importer = dsscsv.New(strings.NewReader("idnumber,age\n1,2\n3,4\"\n"), "users.csv")
		err := tree.Import(ctx)
		require.ErrorIs(t, err, csv.ErrBareQuote)
		var e *dsscsv.Error
		require.ErrorAs(t, err, &e)
		assert.Equal(t, 3, e.Line)
		assert.Equal(t, 4, e.Column)
		assert.EqualError(t, err, `dss: source.users: csv users.csv:3:4: bare " in non-quoted-field`)
	})
}

// TestTreeErrorPrefixOnce: a bad CSV imported through a tree fails with one
// "dss: ", the tree's: the importer's errors are causes without a prefix of
// their own, and dss cuts nothing from them.
func TestTreeErrorPrefixOnce(t *testing.T) {
	withOption := func(im *dsscsv.Importer, set func(*dsscsv.Importer)) *dsscsv.Importer {
		set(im)
		return im
	}
	tests := []struct {
		name     string
		importer dss.Importer
		want     string
	}{
		{"malformed", dsscsv.New(strings.NewReader("idnumber,age\n1,2\n3,4\"\n"), "users.csv"),
			`dss: source.users: csv users.csv:3:4: bare " in non-quoted-field`},
		{"header", dsscsv.New(strings.NewReader("id,age\n1,2\n"), "users.csv"),
			`dss: source.users: csv users.csv:1: header: no idnumber column: want a column "idnumber", or Rename one to it (columns: "id", "age")`},
		{"option", withOption(dsscsv.New(strings.NewReader("idnumber\n1\n"), "users.csv"), func(im *dsscsv.Importer) { im.Comma = '"' }),
			`dss: source.users: csv users.csv: invalid Comma '"'`},
		{"missing file", dsscsv.Open("testdata/missing.csv"),
			`dss: source.users: csv open testdata/missing.csv: no such file or directory`},
		{"bad value", dsscsv.New(strings.NewReader("idnumber,age\n1,x\n"), "users.csv"),
			`dss: source.users: users.csv:2: idnumber '1': key "age" value "x": cannot convert to int: invalid syntax`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tree := dss.NewTree[school]("source")
			tree.Branches.Users.Importer = tt.importer
			err := tree.Import(context.Background())
			var ie *dss.ImportError
			require.ErrorAs(t, err, &ie)
			assert.EqualError(t, err, tt.want)
			assert.Equal(t, 1, strings.Count(err.Error(), "dss: "), "%q has not exactly one \"dss: \"", err)
			assert.NotContains(t, ie.Err.Error(), "dss: ", "the cause carries a prefix of its own")
		})
	}
}

// commas are the delimiters the fuzz test tries.
var commas = []rune{',', ';', '\t', '|', '¦'}

// FuzzImport checks that no input panics, that errors are *Error values,
// and two round trips: (1) whatever Import yields, written back with
// encoding/csv and imported again, gives the same records; (2) cells
// derived from the input, written with encoding/csv as a file with a list
// column, import as the same values (with "\r\n" read as "\n", as
// encoding/csv does, and list elements trimmed). And two rules about line
// ends: (3) RequireFinalNewline accepts only input that is empty or ends
// in '\n', and then yields what the default yields, and without LazyQuotes
// it refuses nothing the default accepts that ends so; (4) in input with
// no quotes, the import fails when a '\r' is not followed by '\n', and fails
// with ErrBareCR only then.
func FuzzImport(f *testing.F) {
	for _, seed := range []string{
		"idnumber,name\n1,Ann\n",
		"\ufeffidnumber,name\r\n1,\"Doe, \"\"Jane\"\"\r\nx\"\r\n",
		"idnumber;groups\n1;a; b;;c\n",
		"idnumber\tname\n1\t  x  \n",
		"idnumber,name\n1,a\"b\n",
		"idnumber,name\n1,\"a\"b\n",
		"idnumber,name\n1\n",
		"idnumber,name,name\n",
		"id,name\n1,2\n",
		"idnumber\n\"\"\n",
		"idnumber\n\\.\n",
		"\ufeff\ufeffidnumber\n1\n",
		"idnumber,a\n1,\"x\ry\"\n2,\"\r\"\n",
		"idnumber,a\n1,\"x\r\r\ny\"\n",
		"",
		"\n\n",
		"\"",
		"idnumber|b\n1|é\xff\n",
		"idnumber,a\n\"1,2,3,4\",\"x\"\"y,z\"\r\n2,3\n",
		"idnumber¦a\n\"x\"¦y¦\"¦\"¦z\n",
		"idnumber,a\n1,\"x\"y,z,w,v\n",
		"idnumber,a\n1,x\"y,z,w,v\n",
		"idnumber,a\n1,\"x\"\r,y,z,w\n",
		"idnumber,name\r\r\n1,Ann\r\r\n",
		"idnumber,name\r1,Ann\r2,Bob\r",
		"idnumber,name\n1,Ann\r",
		"idnumber,name\n1,\"Ann\"\r",
		"idnumber,name\n1,Ann\n\r",
		"\r",
		"idnumber,name\n1,A\rnn\n",
		"idnumber,a\n1,\"x\r\"\r\n2,\"\r\r\n\"\r\n",
		"idnumber,department\n1,languages\n2,langua",
		"idnumber,name",
		"idnumber,name\n1,\"Ann\n",
		"idnumber,name\n1,\"a\nb\"",
		"idnumber,a,b\n1\n2,x\n3,x,y\n4,x,y,z\n",
	} {
		for i := range commas {
			f.Add(seed, uint8(i), i%2 == 0)
		}
	}
	f.Fuzz(func(t *testing.T, input string, commaIndex uint8, lazy bool) {
		comma := commas[int(commaIndex)%len(commas)]

		// (0) The guard that counts fields as it reads refuses no record
		// that encoding/csv reads with MaxColumns fields or fewer. (A
		// record with a ParseError has one field more than the partial
		// record csv.Reader returns: the broken one.)
		const maxCols = 3
		im := dsscsv.New(strings.NewReader(input), "fuzz.csv")
		im.Comma, im.LazyQuotes, im.MaxColumns = comma, lazy, maxCols
		err := im.Import(context.Background(), func(dss.Record) error { return nil })
		if errors.Is(err, dsscsv.ErrTooManyColumns) {
			cr := csv.NewReader(strings.NewReader(strings.TrimPrefix(input, "\ufeff")))
			cr.Comma, cr.LazyQuotes, cr.FieldsPerRecord = comma, lazy, -1
			widest := 0
			for {
				rec, err := cr.Read()
				if err != nil {
					if err != io.EOF {
						widest = max(widest, len(rec)+1)
					}
					break
				}
				widest = max(widest, len(rec))
			}
			if widest <= maxCols {
				t.Fatalf("%v, but encoding/csv reads no record wider than %d fields", err, widest)
			}
		}

		// (1) Import, write back, import again.
		recs, err := importString(input, comma, nil)
		if err != nil {
			var e *dsscsv.Error
			if !errors.As(err, &e) || !strings.HasPrefix(err.Error(), "csv fuzz.csv") {
				t.Fatalf("error %q (%T) is not a *dsscsv.Error", err, err)
			}
		} else if len(recs) > 0 {
			keys := slices.Sorted(maps.Keys(recs[0]))
			rows := make([][]string, len(recs))
			for i, r := range recs {
				if len(r) != len(keys) {
					t.Fatalf("record %d has keys %v, record 1 %v", i+1, slices.Sorted(maps.Keys(r)), keys)
				}
				for _, k := range keys {
					rows[i] = append(rows[i], r[k].(string))
				}
			}
			again, err := importString(writeCSV(t, comma, keys, rows), comma, nil)
			if err != nil {
				t.Fatalf("import of the written records: %v", err)
			}
			// encoding/csv reads a written "\r\n" as "\n".
			for _, r := range recs {
				for k, v := range r {
					r[k] = crlf(v.(string))
				}
			}
			if diff := cmp.Diff(recs, again); diff != "" {
				t.Fatalf("round trip (-first +second):\n%s", diff)
			}
		}

		// (3) RequireFinalNewline.
		body := strings.TrimPrefix(input, "\ufeff")
		endsInLF := body == "" || strings.HasSuffix(body, "\n")
		lenient, lenientErr := importLines(input, comma, lazy, false)
		strict, strictErr := importLines(input, comma, lazy, true)
		if strictErr == nil {
			if !endsInLF {
				t.Fatalf("RequireFinalNewline accepted input that does not end in a newline")
			}
			if lenientErr != nil {
				t.Fatalf("RequireFinalNewline accepted what the default refuses: %v", lenientErr)
			}
			if diff := cmp.Diff(lenient, strict); diff != "" {
				t.Fatalf("RequireFinalNewline (-default +with it):\n%s", diff)
			}
		} else if !lazy && lenientErr == nil && endsInLF {
			t.Fatalf("RequireFinalNewline refused input that ends in a newline: %v", strictErr)
		}

		// (4) Without quotes, a '\r' must end a line, as '\r' '\n'.
		if !strings.Contains(input, "\"") {
			bare := strings.Contains(strings.ReplaceAll(body, "\r\n", ""), "\r")
			if bare && lenientErr == nil {
				t.Fatalf("a bare '\\r' in the input, and the import succeeded")
			}
			if !bare && errors.Is(lenientErr, dsscsv.ErrBareCR) {
				t.Fatalf("no bare '\\r' in the input: %v", lenientErr)
			}
		}

		// (5) AllowShortRows accepts what the default accepts, with the same
		// records, and more only where the default refuses a short row;
		// each record's keys are then the first keys of the header.
		short := dsscsv.New(strings.NewReader(input), "fuzz.csv")
		short.Comma, short.LazyQuotes, short.AllowShortRows = comma, lazy, true
		var shortRecs []dss.Record
		shortErr := short.Import(context.Background(), func(r dss.Record) error {
			shortRecs = append(shortRecs, maps.Clone(r))
			return nil
		})
		switch {
		case lenientErr == nil && shortErr != nil:
			t.Fatalf("AllowShortRows refused what the default accepts: %v", shortErr)
		case lenientErr == nil:
			if diff := cmp.Diff(lenient, shortRecs); diff != "" {
				t.Fatalf("AllowShortRows (-default +with it):\n%s", diff)
			}
		case shortErr == nil && !strings.Contains(lenientErr.Error(), ": short row: "):
			t.Fatalf("AllowShortRows accepted input the default refuses for another reason: %v", lenientErr)
		}
		if shortErr == nil && len(shortRecs) > 0 {
			widest := slices.MaxFunc(shortRecs, func(a, b dss.Record) int { return len(a) - len(b) })
			for _, r := range shortRecs {
				for k := range r {
					if _, ok := widest[k]; !ok {
						t.Fatalf("record %v has a key the widest record %v lacks", r, widest)
					}
				}
			}
		}

		// (6) ImportRows yields the rows Import yields as records, with
		// the same positions, and fails as it does.
		for _, allowShort := range []bool{false, true} {
			viaRecords := dsscsv.New(strings.NewReader(input), "fuzz.csv")
			viaRows := dsscsv.New(strings.NewReader(input), "fuzz.csv")
			var want, got []posRecord
			for _, im := range []*dsscsv.Importer{viaRecords, viaRows} {
				im.Comma, im.LazyQuotes, im.AllowShortRows = comma, lazy, allowShort
			}
			wantErr := viaRecords.Import(context.Background(), func(r dss.Record) error {
				want = append(want, posRecord{maps.Clone(r), viaRecords.Position()})
				return nil
			})
			gotErr := viaRows.ImportRows(context.Background(), func(keys, row []string) error {
				if len(row) > len(keys) {
					t.Fatalf("row %q is longer than keys %q", row, keys)
				}
				r := dss.Record{}
				for i, v := range row {
					r[keys[i]] = v
				}
				got = append(got, posRecord{r, viaRows.Position()})
				return nil
			})
			if fmt.Sprint(wantErr) != fmt.Sprint(gotErr) {
				t.Fatalf("ImportRows: %v, Import: %v", gotErr, wantErr)
			}
			if diff := cmp.Diff(want, got, cmp.AllowUnexported(posRecord{})); diff != "" {
				t.Fatalf("ImportRows (-Import +ImportRows):\n%s", diff)
			}
		}

		// (2) Write cells derived from the input, import them.
		cells := strings.Split(input, "|")
		var rows [][]string
		var want []dss.Record
		for i := 0; i+2 < len(cells); i += 3 {
			id, name, groups := cells[i], cells[i+1], strings.Split(cells[i+2], ";")
			rows = append(rows, []string{id, name, strings.Join(groups, " ;")})
			wantGroups := []string{}
			for _, g := range groups {
				if g = strings.TrimSpace(crlf(g)); g != "" {
					wantGroups = append(wantGroups, g)
				}
			}
			want = append(want, dss.Record{"idnumber": crlf(id), "name": crlf(name), "groups": wantGroups})
		}
		got, err := importString(writeCSV(t, comma, []string{"idnumber", "name", "groups"}, rows), comma, map[string]string{"groups": ";"})
		if err != nil {
			t.Fatalf("import of written cells: %v", err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("written cells (-want +got):\n%s", diff)
		}
	})
}

// posRecord is a record and where it was.
type posRecord struct {
	rec dss.Record
	pos dss.Pos
}

// crlf is what encoding/csv makes of a written value: "\r\n" reads as "\n".
func crlf(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }

// importLines imports input with the options that concern line ends.
func importLines(input string, comma rune, lazy, finalNewline bool) ([]dss.Record, error) {
	im := dsscsv.New(strings.NewReader(input), "fuzz.csv")
	im.Comma, im.LazyQuotes, im.RequireFinalNewline = comma, lazy, finalNewline
	var recs []dss.Record
	err := im.Import(context.Background(), func(r dss.Record) error {
		recs = append(recs, maps.Clone(r))
		return nil
	})
	return recs, err
}

func importString(input string, comma rune, lists map[string]string) ([]dss.Record, error) {
	im := dsscsv.New(strings.NewReader(input), "fuzz.csv")
	im.Comma = comma
	im.Lists = lists
	var recs []dss.Record
	err := im.Import(context.Background(), func(r dss.Record) error {
		recs = append(recs, maps.Clone(r))
		return nil
	})
	return recs, err
}

// writeCSV writes a header and rows with encoding/csv, after a byte order
// mark (so that a first key that itself begins with one survives), and
// writes a row of one empty field as `""`, which csv.Writer would write
// as a blank line that readers skip.
func writeCSV(t *testing.T, comma rune, header []string, rows [][]string) string {
	var b bytes.Buffer
	b.WriteString("\ufeff")
	w := csv.NewWriter(&b)
	w.Comma = comma
	for _, row := range append([][]string{header}, rows...) {
		if len(row) == 1 && row[0] == "" {
			w.Flush()
			b.WriteString("\"\"\n")
			continue
		}
		if err := w.Write(row); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func BenchmarkImport(b *testing.B) {
	var buf strings.Builder
	buf.WriteString("idnumber,name,email,groups\n")
	for i := range 10000 {
		buf.WriteString(strings.Repeat("1", i%5+1) + ",\"Doe, Jane\",jane@example.org,a;b;c\n")
	}
	input := buf.String()
	b.SetBytes(int64(len(input)))
	for b.Loop() {
		im := dsscsv.New(strings.NewReader(input), "bench.csv")
		im.Lists = map[string]string{"groups": ";"}
		if err := im.Import(context.Background(), func(dss.Record) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSizeHint: after its first rows, a file's importer estimates its rows
// from the file's size; a reader's importer does not know.
func TestSizeHint(t *testing.T) {
	var b strings.Builder
	b.WriteString("idnumber,name\n")
	for i := range 5000 {
		fmt.Fprintf(&b, "%06d,name %d\n", i, i%10)
	}
	path := filepath.Join(t.TempDir(), "users.csv")
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
	im := dsscsv.Open(path)
	hints := map[int]int{}
	rows := 0
	require.NoError(t, im.Import(context.Background(), func(dss.Record) error {
		rows++
		hints[rows] = im.SizeHint()
		return nil
	}))
	assert.Equal(t, 0, hints[999], "no estimate before 1000 rows")
	assert.InDelta(t, 5000, hints[1000], 50, "estimate after 1000 rows")

	im = dsscsv.New(strings.NewReader(b.String()), "r")
	require.NoError(t, im.Import(context.Background(), func(dss.Record) error { return nil }))
	assert.Equal(t, 0, im.SizeHint())

	// A Unique branch asks for the hint after 1024 records: a reader's 0
	// (unknown) leaves the branch to grow as it goes.
	tree := dss.NewTree[school]("source")
	tree.Branches.Users.Importer = dsscsv.New(strings.NewReader(b.String()), "r")
	tree.Branches.Users.Unique = true
	require.NoError(t, tree.Import(context.Background()))
	assert.Equal(t, 5000, tree.Branches.Users.Len())
}

// release is a Debian release, as distro-info-data's debian.csv has it.
type release struct {
	Series   string    `dss:"idnumber"`
	Version  string    `dss:"version"`
	Codename string    `dss:"codename"`
	Created  time.Time `dss:"created"`
	Release  time.Time `dss:"release"`
	EOL      time.Time `dss:"eol"`
	EOLLTS   time.Time `dss:"eol-lts"`
	EOLELTS  time.Time `dss:"eol-elts"`
}

type distro struct {
	Releases *dss.Branch[string, release]
}

// TestAllowShortRows imports testdata/debian.csv, laid out as
// distro-info-data's: eight columns, and rows of 4 to 8 fields, as a
// release has no end of life (or no release) yet.
func TestAllowShortRows(t *testing.T) {
	ctx := context.Background()
	open := func(short bool) *dsscsv.Importer {
		im := dsscsv.Open("testdata/debian.csv")
		im.Rename = map[string]string{"series": "idnumber"}
		im.AllowShortRows = short
		return im
	}

	t.Run("without the option, the first short row fails", func(t *testing.T) {
		_, _, err := importAll(t, open(false))
		require.ErrorIs(t, err, csv.ErrFieldCount)
		assert.EqualError(t, err, "csv testdata/debian.csv:2: short row: 6 fields, the header has 8 (AllowShortRows is off): wrong number of fields")
	})

	t.Run("records lack the missing columns", func(t *testing.T) {
		recs, lines, err := importAll(t, open(true))
		require.NoError(t, err)
		require.Len(t, recs, 16)
		assert.Equal(t, 2, lines[0])
		assert.Equal(t, 17, lines[15])
		widths := map[string]int{}
		for _, r := range recs {
			widths[r["idnumber"].(string)] = len(r)
		}
		assert.Equal(t, map[string]int{
			"buzz": 6, "hamm": 6, "woody": 6, "etch": 6, "lenny": 6, "squeeze": 7,
			"wheezy": 8, "jessie": 8, "stretch": 8, "buster": 8, "bullseye": 8, "bookworm": 8,
			"trixie": 5, "forky": 4, "sid": 4, "experimental": 4,
		}, widths)
		assert.Equal(t, dss.Record{"version": "", "codename": "Sid", "idnumber": "sid", "created": "1993-08-16"}, recs[14])
	})

	t.Run("into a tree: absent dates stay zero", func(t *testing.T) {
		tree := dss.NewTree[distro]("source")
		tree.Branches.Releases.Importer = open(true)
		require.NoError(t, tree.Import(ctx))
		require.Equal(t, 16, tree.Branches.Releases.Len())
		day := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
		sq, ok := tree.Branches.Releases.Get("squeeze")
		require.True(t, ok)
		assert.Equal(t, release{Series: "squeeze", Version: "6.0", Codename: "Squeeze",
			Created: day("2009-02-14"), Release: day("2011-02-06"), EOL: day("2014-05-31"), EOLLTS: day("2016-02-29")}, *sq)
		forky, _ := tree.Branches.Releases.Get("forky")
		assert.Equal(t, release{Series: "forky", Version: "14", Codename: "Forky", Created: day("2025-08-09")}, *forky)
	})
}

// TestShortRowsAcrossBatches: rows of every width, more than a batch of
// them, each with its own keys.
func TestShortRowsAcrossBatches(t *testing.T) {
	var b strings.Builder
	b.WriteString("idnumber,a,b,c\n")
	var want []dss.Record
	for i := range 2000 {
		rec := dss.Record{"idnumber": fmt.Sprint(i)}
		b.WriteString(fmt.Sprint(i))
		for j, k := range []string{"a", "b", "c"}[:i%4] {
			v := fmt.Sprintf("%s%d", k, i+j)
			rec[k] = v
			b.WriteString("," + v)
		}
		b.WriteString("\n")
		want = append(want, rec)
	}
	im := dsscsv.New(strings.NewReader(b.String()), "csv")
	im.AllowShortRows = true
	recs, _, err := importAll(t, im)
	require.NoError(t, err)
	if diff := cmp.Diff(want, recs); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
}

// TestEmptyCellInListColumn: rows "1," and "1,a", one membership per row as
// a LEFT JOIN exports a group without members, give the list ["a"], not
// ["", "a"] with a member whose idnumber is empty (issue 20, point 1); by
// rows and by records alike.
func TestEmptyCellInListColumn(t *testing.T) {
	for _, byRecords := range []bool{false, true} {
		t.Run(fmt.Sprintf("records=%v", byRecords), func(t *testing.T) {
			tree := dss.NewTree[school]("source")
			tree.Branches.Users.Importer = dsscsv.New(strings.NewReader("idnumber,groups\n1,\n1,a\n2,\n"), "users.csv")
			if byRecords {
				tree.Branches.Users.Preprocess = func(dss.Record) error { return nil }
			}
			require.NoError(t, tree.Import(context.Background()))
			one, _ := tree.Branches.Users.Get("1")
			assert.Equal(t, []string{"a"}, one.Groups)
			two, _ := tree.Branches.Users.Get("2")
			assert.Empty(t, two.Groups)
		})
	}
}

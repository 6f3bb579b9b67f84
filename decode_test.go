package dss

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

type dept string

type dept2 int8

type kinds struct {
	ID    string    `dss:"idnumber"`
	S     string    `dss:"s"`
	B     bool      `dss:"b"`
	I     int       `dss:"i"`
	I8    int8      `dss:"i8"`
	I64   int64     `dss:"i64"`
	U16   uint16    `dss:"u16"`
	F     float64   `dss:"f"`
	F32   float32   `dss:"f32"`
	T     time.Time `dss:"t"`
	D     dept      `dss:"d"`
	L     []string  `dss:"l"`
	LI    []int     `dss:"li"`
	LD    []dept    `dss:"ld"`
	Plain string    // key "plain", also matched as "Plain" or "PLAIN"
	// Fields that may be absent.
	PS *string             `dss:"ps"`
	PI *int                `dss:"pi"`
	PT *time.Time          `dss:"pt"`
	NF sql.Null[float64]   `dss:"nf"`
	NT sql.Null[time.Time] `dss:"nt"`
}

type kindsTree struct {
	Things *Branch[string, kinds]
}

func importKinds(t testing.TB, ignoreUnknown bool, recs ...Record) (*Tree[kindsTree], error) {
	t.Helper()
	tr := NewTree[kindsTree]("source")
	tr.Branches.Things.Importer = Records(recs...)
	tr.Branches.Things.IgnoreUnknownKeys = ignoreUnknown
	return tr, tr.Import(context.Background())
}

func TestConversions(t *testing.T) {
	utc := time.Date(2026, 11, 28, 9, 30, 0, 0, time.UTC)
	tests := []struct {
		name string
		key  string
		in   any
		want kinds
	}{
		{"string from string", "s", "x", kinds{S: "x"}},
		{"string from bytes (SQL drivers)", "s", []byte("x"), kinds{S: "x"}},
		{"string from int64 (numeric column)", "s", int64(42), kinds{S: "42"}},
		{"string from nil (NULL)", "s", nil, kinds{}},
		{"bool from text", "b", "true", kinds{B: true}},
		{"bool from 1 (SQLite)", "b", int64(1), kinds{B: true}},
		{"bool from empty cell", "b", "", kinds{}},
		{"int from text", "i", "7", kinds{I: 7}},
		{"int from negative text", "i", "-7", kinds{I: -7}},
		{"int from int64", "i", int64(7), kinds{I: 7}},
		{"int from integral float (JSON)", "i", float64(7), kinds{I: 7}},
		{"int from json.Number", "i", json.Number("7"), kinds{I: 7}},
		{"int from empty cell", "i", "", kinds{}},
		{"int8 at its limit", "i8", "127", kinds{I8: 127}},
		{"int64 max", "i64", strconv.FormatInt(math.MaxInt64, 10), kinds{I64: math.MaxInt64}},
		{"uint16 from text", "u16", "65535", kinds{U16: 65535}},
		{"float from text", "f", "2.5", kinds{F: 2.5}},
		{"float from int", "f", 3, kinds{F: 3}},
		{"float32 from text", "f32", "0.5", kinds{F32: 0.5}},
		{"time from RFC 3339", "t", "2026-11-28T09:30:00Z", kinds{T: utc}},
		{"time from SQLite text", "t", "2026-11-28 09:30:00", kinds{T: utc}},
		{"time from PostgreSQL text", "t", "2026-11-28 10:30:00.000+01", kinds{T: utc}},
		{"time from date", "t", "2026-11-28", kinds{T: time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)}},
		{"time from time.Time", "t", utc, kinds{T: utc}},
		{"named string type", "d", "physics", kinds{D: "physics"}},
		{"list from one value", "l", "a", kinds{L: []string{"a"}}},
		{"list from []string, sorted and deduplicated", "l", []string{"b", "a", "b"}, kinds{L: []string{"a", "b"}}},
		{"list from []any (JSON)", "l", []any{"a", "b"}, kinds{L: []string{"a", "b"}}},
		{"int list from text", "li", []string{"3", "1"}, kinds{LI: []int{1, 3}}},
		{"named element list", "ld", []string{"x"}, kinds{LD: []dept{"x"}}},
		{"list from nil", "l", nil, kinds{}},
		{"string list from JSON numbers", "l", []any{1001.0, 1002.0}, kinds{L: []string{"1001", "1002"}}},
		{"string list from json.Number", "l", []any{json.Number("1001"), json.Number("7.50")}, kinds{L: []string{"1001", "7.50"}}},
		{"string from integral JSON number", "s", 1001.0, kinds{S: "1001"}},
		{"string from named integer", "s", dept2(7), kinds{S: "7"}},
		{"int from named integer", "i", dept2(7), kinds{I: 7}},
		{"int list from JSON numbers", "li", []any{3.0, 1.0}, kinds{LI: []int{1, 3}}},
		{"key matched by Go name", "Plain", "p", kinds{Plain: "p"}},
		{"key matched ignoring case", "PLAIN", "p", kinds{Plain: "p"}},
		{"tag key matched ignoring case", "S", "x", kinds{S: "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := importKinds(t, false, Record{"idnumber": "1", tt.key: tt.in})
			require.NoError(t, err)
			got, ok := tr.Branches.Things.Get("1")
			require.True(t, ok)
			tt.want.ID = "1"
			if diff := cmp.Diff(tt.want, *got); diff != "" {
				t.Errorf("decoded object (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name    string
		recs    []Record
		is      error
		wantMsg string
	}{
		{"text to int", []Record{{"idnumber": "1", "i": "seven"}}, ErrConvert,
			`dss: source.things: record 1: idnumber '1': key "i" value "seven": cannot convert to int: invalid syntax`},
		{"int8 overflow", []Record{{"idnumber": "1", "i8": "128"}}, strconv.ErrRange,
			`dss: source.things: record 1: idnumber '1': key "i8" value "128": cannot convert to int8: overflows int8`},
		{"negative to uint", []Record{{"idnumber": "1", "u16": int64(-1)}}, strconv.ErrRange,
			`dss: source.things: record 1: idnumber '1': key "u16" value -1: cannot convert to uint16: overflows uint16`},
		{"fraction to int", []Record{{"idnumber": "1", "i": 1.5}}, ErrConvert,
			`dss: source.things: record 1: idnumber '1': key "i" value 1.5: cannot convert to int: not an integer`},
		{"bad bool", []Record{{"idnumber": "1", "b": "yes"}}, ErrConvert,
			`dss: source.things: record 1: idnumber '1': key "b" value "yes": cannot convert to bool: invalid syntax`},
		{"bad time", []Record{{"idnumber": "1", "t": "28/11/2026"}}, ErrConvert,
			`dss: source.things: record 1: idnumber '1': key "t" value "28/11/2026": cannot convert to time.Time: not an RFC 3339 time or date`},
		{"text not in UTF-8", []Record{{"idnumber": "1", "s": "caf\xe9"}}, ErrConvert,
			`dss: source.things: record 1: idnumber '1': key "s" value "caf\xe9": cannot convert to string: not valid UTF-8`},
		{"idnumber not in UTF-8", []Record{{"idnumber": "1\xe9"}}, ErrConvert,
			`dss: source.things: record 1: key "idnumber" value "1\xe9": cannot convert to string: not valid UTF-8`},
		{"wrong type for string", []Record{{"idnumber": "1", "s": true}}, ErrConvert,
			`dss: source.things: record 1: idnumber '1': key "s" value true: cannot convert to string: wrong type bool`},
		{"huge JSON number to int", []Record{{"idnumber": "1", "i": 1e20}}, strconv.ErrRange,
			`dss: source.things: record 1: idnumber '1': key "i" value 1e+20: cannot convert to int: overflows int`},
		{"JSON number list element out of range", []Record{{"idnumber": "1", "li": []any{1.0, 1e20}}}, strconv.ErrRange,
			`dss: source.things: record 1: idnumber '1': key "li" value [1, 1e+20]: cannot convert to int: overflows int`},
		{"bad list element", []Record{{"idnumber": "1", "li": []string{"1", "x"}}}, ErrConvert,
			`dss: source.things: record 1: idnumber '1': key "li" value ["1", "x"]: cannot convert to int: invalid syntax`},
		{"unknown key", []Record{{"idnumber": "1", "nope": "x"}}, ErrUnknownKey,
			`dss: source.things: record 1: idnumber '1': key "nope" value "x": no field for key`},
		{"two keys for one field", []Record{{"idnumber": "1", "plain": "a", "Plain": "b"}}, ErrDuplicateKey, ""},
		{"missing idnumber", []Record{{"s": "x"}}, ErrNoID,
			`dss: source.things: record 1: key "idnumber" value null: missing idnumber`},
		{"empty idnumber", []Record{{"idnumber": "1"}, {"idnumber": ""}}, ErrNoID,
			`dss: source.things: record 2: key "idnumber" value "": missing idnumber`},
		{"conflicting scalars name both records", []Record{{"idnumber": "1", "s": "a"}, {"idnumber": "2"}, {"idnumber": "1", "s": "b"}}, ErrConflict,
			`dss: source.things: record 3: idnumber '1': key "s" value "b": conflicting values: "b", earlier "a" (first record for this idnumber: record 1)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := importKinds(t, false, tt.recs...)
			require.Error(t, err)
			require.ErrorIs(t, err, tt.is)
			var ie *ImportError
			require.ErrorAs(t, err, &ie)
			require.Equal(t, "things", ie.Branch)
			if tt.wantMsg != "" {
				require.Equal(t, tt.wantMsg, err.Error())
			}
		})
	}
}

func TestDuplicateKeyMessage(t *testing.T) {
	// Map order decides which key is met first; the message names both.
	for range 20 {
		_, err := importKinds(t, false, Record{"idnumber": "1", "plain": "a", "Plain": "b"})
		require.ErrorIs(t, err, ErrDuplicateKey)
		require.Contains(t, err.Error(), `duplicate keys: "Plain" and "plain" both name field Plain`)
	}
}

func TestUniqueBranch(t *testing.T) {
	tr := NewTree[kindsTree]("source")
	tr.Branches.Things.Importer = Records(Record{"idnumber": "1"}, Record{"idnumber": "2"}, Record{"idnumber": "1"})
	require.NoError(t, tr.Import(context.Background()), "without Unique, records accumulate")
	tr.Branches.Things.Unique = true
	err := tr.Import(context.Background())
	require.ErrorIs(t, err, ErrDuplicateID)
	require.EqualError(t, err, "dss: source.things: record 3: idnumber '1': duplicate idnumber (first record for this idnumber: record 1)")
}

func TestIgnoreUnknownKeys(t *testing.T) {
	tr, err := importKinds(t, true, Record{"idnumber": "1", "nope": "x", "s": "y"})
	require.NoError(t, err)
	got, _ := tr.Branches.Things.Get("1")
	require.Equal(t, "y", got.S)
}

func TestAccumulation(t *testing.T) {
	// Semantics 6: one row per membership becomes one object with every
	// member; a scalar may repeat its value or fill a zero one.
	tr, err := importKinds(t, false,
		Record{"idnumber": "g", "l": "b"},
		Record{"idnumber": "g", "l": "a", "s": "name"},
		Record{"idnumber": "g", "l": []string{"c", "a"}, "s": "name"},
	)
	require.NoError(t, err)
	require.Equal(t, 1, tr.Branches.Things.Len())
	got, _ := tr.Branches.Things.Get("g")
	require.Equal(t, []string{"a", "b", "c"}, got.L)
	require.Equal(t, "name", got.S)
}

func TestDeriveError(t *testing.T) {
	s := NewTree[srcTree]("source")
	s.Branches.Users.Importer = Records(Record{"idnumber": "1", "_lastfirst": "Smith, Ann"}, Record{"idnumber": "2", "_lastfirst": "nocomma"})
	s.Branches.Groups.Importer = Records()
	err := s.Import(context.Background())
	require.EqualError(t, err, `dss: source.users: record 2: idnumber '2': derive: lastfirst "nocomma" is not "Last, First"`)
	require.False(t, errors.Is(err, ErrConvert))
}

func TestNoImporter(t *testing.T) {
	s := NewTree[srcTree]("source")
	s.Branches.Users.Importer = Records()
	err := s.Import(context.Background())
	require.EqualError(t, err, "dss: source.groups: no importer")
}

func TestImporterError(t *testing.T) {
	boom := errors.New("boom")
	s := NewTree[srcTree]("source")
	s.Branches.Users.Importer = ImporterFunc(func(ctx context.Context, yield func(Record) error) error { return boom })
	s.Branches.Groups.Importer = Records()
	err := s.Import(context.Background())
	require.ErrorIs(t, err, boom)
	require.EqualError(t, err, "dss: source.users: boom")
}

func TestImportCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := NewTree[srcTree]("source")
	s.Branches.Users.Importer = Records(Record{"idnumber": "1"})
	s.Branches.Groups.Importer = Records()
	require.ErrorIs(t, s.Import(ctx), context.Canceled)
}

// FuzzDecode decodes arbitrary text into every kind of field: it must never
// panic, text that is not UTF-8 must not decode into a field, an idnumber
// that decodes has no space around it and no control character, and a
// value that decodes must survive a save and load unchanged. A pointer or
// sql.Null field is absent for "" unless it holds a string. Seeds for the
// bugs it guards against are in testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	p, err := planFor(reflect.TypeFor[kinds]())
	require.NoError(f, err)
	for _, s := range []string{"", "0", "-1", "1.5", "true", "2026-11-28", "2026-11-28T09:30:00+01:00",
		"9223372036854775808", "NaN", "1e400", "\x00", "ä", " 7", "0x10"} {
		f.Add("i", s)
		f.Add("t", s)
		f.Add("f", s)
		f.Add("b", s)
		f.Add("pi", s)
		f.Add("nt", s)
	}
	f.Add("ps", "")
	f.Add("nf", "")
	f.Add("l", "a")
	f.Add("u16", "65536")
	f.Fuzz(func(t *testing.T, key, value string) {
		if key == IDKey {
			return // the record would have another idnumber than the one looked up below
		}
		tr, err := importKinds(t, true, Record{"idnumber": "1", key: value})

		// The same record as a row decodes the same, or fails the same.
		rows := NewTree[kindsTree]("source")
		rows.Branches.Things.IgnoreUnknownKeys = true
		rows.Branches.Things.Importer = RowsFunc([]string{"idnumber", key}, func(ctx context.Context, yield func([]string) error) error {
			return yield([]string{"1", value})
		})
		rowErr := rows.Import(context.Background())
		switch {
		case errors.Is(err, ErrDuplicateKey):
			// Which of the two keys a Record names depends on map order.
			require.ErrorIs(t, rowErr, ErrDuplicateKey)
		case err != nil || rowErr != nil:
			require.Equal(t, fmt.Sprint(err), fmt.Sprint(rowErr), "record and row")
		default:
			if diff := cmp.Diff(maps.Collect(tr.Branches.Things.All()), maps.Collect(rows.Branches.Things.All()),
				cmp.Comparer(func(x, y time.Time) bool { return x.Equal(y) })); diff != "" {
				t.Fatalf("record and row (-record +row):\n%s", diff)
			}
		}

		if err != nil {
			var ie *ImportError
			if !errors.As(err, &ie) {
				t.Fatalf("error is not an ImportError: %v", err)
			}
			return
		}
		i, isField := p.index(key)
		if isField && !utf8.ValidString(value) {
			t.Fatalf("key %q: text that is not UTF-8 decoded: %q", key, value)
		}
		if isField && i == p.id &&
			(value == "" || strings.TrimSpace(value) != value || strings.ContainsFunc(value, unicode.IsControl)) {
			t.Fatalf("idnumber %q imported", value)
		}
		if isField && p.fields[i].null != notNull {
			// Absent for "" unless it holds a string, present for any
			// other text that decoded.
			obj, _ := tr.Branches.Things.Get("1")
			fv := reflect.ValueOf(obj).Elem().Field(fieldIndex(t, p.fields[i].goName))
			present, base := false, fv.Type()
			if fv.Kind() == reflect.Pointer {
				present, base = !fv.IsNil(), base.Elem()
			} else {
				present, base = fv.Field(1).Bool(), fv.Field(0).Type()
			}
			if want := value != "" || base.Kind() == reflect.String; present != want {
				t.Fatalf("key %q value %q: present %v, want %v", key, value, present, want)
			}
		}
		path := t.TempDir() + "/tree.jsonl"
		require.NoError(t, tr.SaveFile(path))
		back := NewTree[kindsTree]("source")
		require.NoError(t, back.LoadFile(path))
		// The one object, whose idnumber is "1" unless key set it.
		before := slices.Collect(maps.Values(maps.Collect(tr.Branches.Things.All())))
		after := slices.Collect(maps.Values(maps.Collect(back.Branches.Things.All())))
		require.Len(t, before, 1)
		require.Len(t, after, 1)
		if diff := cmp.Diff(before[0], after[0], cmp.Comparer(func(x, y time.Time) bool { return x.Equal(y) }),
			cmp.Comparer(func(x, y float64) bool { return x == y || (x != x && y != y) })); diff != "" {
			t.Fatalf("save/load changed the object (-before +after):\n%s", diff)
		}
	})
}

// fieldIndex is the index of the kinds field named name.
func fieldIndex(t *testing.T, name string) int {
	f, ok := reflect.TypeFor[kinds]().FieldByName(name)
	require.True(t, ok, name)
	return f.Index[0]
}

func TestRedactValues(t *testing.T) {
	recs := []Record{{"idnumber": "1", "s": "secret-a"}, {"idnumber": "1", "s": "secret-b"}}
	tr := NewTree[kindsTree]("source")
	tr.RedactValues = true
	tr.Branches.Things.Importer = Records(recs...)
	err := tr.Import(context.Background())
	require.ErrorIs(t, err, ErrConflict)
	require.EqualError(t, err, `dss: source.things: record 2: idnumber '1': key "s" value [redacted]: conflicting values (first record for this idnumber: record 1)`)

	tr.Branches.Things.Importer = Records(Record{"idnumber": "1", "i": "secret-7"})
	err = tr.Import(context.Background())
	require.NotContains(t, err.Error(), "secret")
	require.ErrorIs(t, err, ErrConvert)

	tr.RedactValues = false
	require.Contains(t, tr.Import(context.Background()).Error(), `"secret-7"`)

	// Rows are redacted as Records are, the idnumber's value too.
	tr.RedactValues = true
	for _, row := range [][]string{{"1", "secret-7"}, {"secret\x1b", "7"}} {
		tr.Branches.Things.Importer = RowsFunc([]string{"idnumber", "i"}, func(ctx context.Context, yield func([]string) error) error {
			return yield(row)
		})
		err = tr.Import(context.Background())
		require.Error(t, err)
		require.NotContains(t, err.Error(), "secret")
		require.Contains(t, err.Error(), "[redacted]")
	}
}

// TestIDValidation: an idnumber with space around it, a control character,
// or nothing but space is an import error, not an object no other record
// matches (" 20240029 " once deleted the real user and created a new one).
// TrimID trims the space instead.
func TestIDValidation(t *testing.T) {
	type intTree struct {
		Rooms *Branch[int, intKeyed]
	}
	tests := []struct {
		name string
		id   any
		trim bool
		is   error  // nil: imported
		want string // the idnumber imported
	}{
		{"plain", "20240029", false, nil, "20240029"},
		{"a JSON number", 20240029.0, false, nil, "20240029"},
		{"a pointer", ptr("20240029"), false, nil, "20240029"},
		{"a pointer with space around", ptr(" 1"), false, ErrBadID, ""},
		{"a nil pointer", (*string)(nil), false, ErrNoID, ""},
		{"space inside is kept", "A 100", false, nil, "A 100"},
		{"non-ASCII letters", "café-日本", false, nil, "café-日本"},
		{"a format character is not a control", "a\u200bb", false, nil, "a\u200bb"},
		{"space around", " 20240029 ", false, ErrBadID, ""},
		{"space around, trimmed", " 20240029 ", true, nil, "20240029"},
		{"leading space", " 1", false, ErrBadID, ""},
		{"trailing CR (a Windows line end)", "100\r", false, ErrBadID, ""},
		{"trailing CR, trimmed", "100\r", true, nil, "100"},
		{"no-break space", "\u00a0100", false, ErrBadID, ""},
		{"no-break space, trimmed", "\u00a0100", true, nil, "100"},
		{"ideographic space", "100\u3000", false, ErrBadID, ""},
		{"NEL, space and control, trimmed", "1\u0085", true, nil, "1"},
		{"space as bytes (SQL drivers)", []byte(" 1"), false, ErrBadID, ""},
		{"empty", "", false, ErrNoID, ""},
		{"all space", "   ", false, ErrNoID, ""},
		{"all space, trimmed", "   ", true, ErrNoID, ""},
		{"only a CR", "\r", false, ErrNoID, ""},
		{"newline inside", "A\n100", false, ErrBadID, ""},
		{"newline inside, trimmed", "A\n100", true, ErrBadID, ""},
		{"NUL inside", "A\x00100", false, ErrBadID, ""},
		{"tab inside", "A\t100", false, ErrBadID, ""},
		{"escape sequence", "A\x1b[31m", false, ErrBadID, ""},
		{"DEL", "A\x7f", false, ErrBadID, ""},
		{"C1 control inside", "1\u00852", false, ErrBadID, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := NewTree[kindsTree]("source")
			tr.Branches.Things.TrimID = tt.trim
			tr.Branches.Things.Importer = Records(Record{"idnumber": tt.id, "s": "x"})
			err := tr.Import(context.Background())
			if tt.is == nil {
				require.NoError(t, err)
				require.Equal(t, []string{tt.want}, slices.Collect(tr.Branches.Things.Keys()))
				return
			}
			require.ErrorIs(t, err, tt.is)
			var ie *ImportError
			require.ErrorAs(t, err, &ie)
			require.Equal(t, Pos{Line: 1}, ie.Pos)
			require.Equal(t, "idnumber", ie.Key)
			require.Equal(t, tt.id, ie.Value)
		})
	}

	t.Run("message", func(t *testing.T) {
		_, err := importKinds(t, false, Record{"idnumber": "20240028"}, Record{"idnumber": " 20240029 "})
		require.EqualError(t, err, `dss: source.things: record 2: key "idnumber" value " 20240029 ": invalid idnumber: space around it (Branch.TrimID trims it)`)
		_, err = importKinds(t, false, Record{"idnumber": "A\x00100"})
		require.EqualError(t, err, `dss: source.things: record 1: key "idnumber" value "A\x00100": invalid idnumber: it holds a control character`)
	})

	t.Run("integer idnumbers", func(t *testing.T) {
		for _, tc := range []struct {
			id   any
			trim bool
			is   error
			want int
		}{
			{"7", false, nil, 7},
			{int64(7), false, nil, 7},
			{"", false, ErrNoID, 0}, // was object 0
			{"   ", true, ErrNoID, 0},
			{" 7", false, ErrBadID, 0},
			{" 7\n", true, nil, 7},
			{"7\x00", false, ErrBadID, 0},
			{7.0, false, nil, 7},
			{(*int)(nil), false, ErrNoID, 0}, // not object 0
			{sql.Null[int]{}, false, ErrNoID, 0},
			{ptr(" 7"), false, ErrBadID, 0},
		} {
			tr := NewTree[intTree]("source")
			tr.Branches.Rooms.TrimID = tc.trim
			tr.Branches.Rooms.Importer = Records(Record{"idnumber": tc.id})
			err := tr.Import(context.Background())
			if tc.is != nil {
				require.ErrorIs(t, err, tc.is, "idnumber %q", tc.id)
				require.Equal(t, 0, tr.Branches.Rooms.Len())
				continue
			}
			require.NoError(t, err, "idnumber %q", tc.id)
			require.Equal(t, []int{tc.want}, slices.Collect(tr.Branches.Rooms.Keys()))
		}
	})

	t.Run("saved trees", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "tree.jsonl")
		text := `{"dss":"tree","version":1,"tree":"source"}` + "\n" +
			`{"branch":"things","object":{"idnumber":"1"}}` + "\n" +
			`{"branch":"things","object":{"idnumber":"2\n"}}` + "\n"
		require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
		tr := NewTree[kindsTree]("source")
		err := tr.LoadFile(path)
		require.ErrorIs(t, err, ErrBadID)
		var ie *ImportError
		require.ErrorAs(t, err, &ie)
		require.Equal(t, Pos{Source: path, Line: 3}, ie.Pos)

		tr.Branches.Things.TrimID = true
		require.NoError(t, tr.LoadFile(path))
		require.Equal(t, []string{"1", "2"}, slices.Collect(tr.Branches.Things.Keys()))
	})
}

// TestInvalidUTF8Numbers: text that is not UTF-8 does not convert to a
// number, a bool or a time (it once became the zero value: {"age":"\xff7"}
// imported age 0), as it already did not to a string.
func TestInvalidUTF8Numbers(t *testing.T) {
	for _, key := range []string{"i", "i8", "i64", "u16", "f", "f32", "b", "t", "li"} {
		for _, v := range []any{"\xff7", "\xff", []byte("\xff7"), json.Number("\xff7")} {
			if key == "t" || key == "b" {
				if _, ok := v.(json.Number); ok {
					continue // not a value for these
				}
			}
			_, err := importKinds(t, false, Record{"idnumber": "1", key: v})
			require.ErrorIs(t, err, ErrConvert, "key %q value %q", key, v)
			require.ErrorContains(t, err, "not valid UTF-8", "key %q value %q", key, v)
		}
	}
	// Into a scalar already set by an earlier record of the object.
	_, err := importKinds(t, false, Record{"idnumber": "1"}, Record{"idnumber": "1", "i": "\xff"})
	require.ErrorIs(t, err, ErrConvert)

	// An integer idnumber (it became object 0).
	type intTree struct {
		Rooms *Branch[int, intKeyed]
	}
	tr := NewTree[intTree]("source")
	tr.Branches.Rooms.Importer = Records(Record{"idnumber": "\xff7"})
	err = tr.Import(context.Background())
	require.ErrorIs(t, err, ErrConvert)
	require.EqualError(t, err, `dss: source.rooms: record 1: key "idnumber" value "\xff7": cannot convert to int: not valid UTF-8`)
}

func ptr[T any](v T) *T { return &v }

// convCase is one conversion: in, into a field of type field, gives want,
// or fails with ErrConvert and the message "cannot convert to <field>: err".
type convCase struct {
	field reflect.Type
	in    any
	want  any
	err   string
}

func to[T any](in any, want T) convCase { return convCase{reflect.TypeFor[T](), in, want, ""} }
func fails[T any](in any, err string) convCase {
	return convCase{field: reflect.TypeFor[T](), in: in, err: err}
}

// TestConversionTable checks every cell of the README's conversion table:
// each row is a type of value found in a record, each column a kind of
// field, and every cell has at least one case.
func TestConversionTable(t *testing.T) {
	day := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	noon := time.Date(2026, 11, 28, 9, 30, 0, 0, time.UTC)
	rows := []string{"string", "[]byte", "json.Number", "bool", "int kinds", "uint kinds", "float kinds",
		"time.Time", "nil", "pointer, sql.Null"}
	cols := []string{"string", "bool", "int kinds", "uint kinds", "float kinds", "time.Time", "pointer", "sql.Null"}
	cells := []struct {
		row, col string
		cases    []convCase
	}{
		{"string", "string", []convCase{to("x", "x"), to("", ""), to("caf\xc3\xa9", "caf\u00e9"),
			fails[string]("caf\xe9", "not valid UTF-8")}},
		{"string", "bool", []convCase{to("true", true), to("1", true), to("F", false), to("", false),
			fails[bool]("yes", "invalid syntax")}},
		{"string", "int kinds", []convCase{to("7", 7), to("-7", int8(-7)), to("", 0),
			fails[int]("7.0", "invalid syntax"), fails[int](" 7", "invalid syntax"), fails[int8]("128", "overflows int8")}},
		{"string", "uint kinds", []convCase{to("7", uint(7)), to("", uint16(0)),
			fails[uint]("-1", "invalid syntax"), fails[uint8]("256", "overflows uint8")}},
		{"string", "float kinds", []convCase{to("2.5", 2.5), to("1e3", 1000.0), to("", 0.0),
			fails[float64]("NaN", "not a finite number"), fails[float64]("1e400", "overflows float64"),
			fails[float32]("1e39", "overflows float32")}},
		{"string", "time.Time", []convCase{to("2026-11-28T09:30:00Z", noon), to("2026-11-28 10:30:00+01", noon),
			to("2026-11-28 09:30:00", noon), to("2026-11-28", day), to("", time.Time{}),
			fails[time.Time]("28/11/2026", "not an RFC 3339 time or date")}},
		{"string", "pointer", []convCase{to("x", ptr("x")), to("", ptr("")), to("7", ptr(7)),
			to("", (*int)(nil)), to("", (*time.Time)(nil)), to("", (*bool)(nil)), to("", (*dept)(ptr(dept("")))),
			fails[*int]("x", "invalid syntax")}},
		{"string", "sql.Null", []convCase{to("", sql.Null[string]{V: "", Valid: true}), to("", sql.Null[int64]{}),
			to("2026-11-28", sql.Null[time.Time]{V: day, Valid: true}), fails[sql.Null[int]]("x", "invalid syntax")}},

		{"[]byte", "string", []convCase{to([]byte("x"), "x"), to([]byte{}, ""), fails[string]([]byte("\xff"), "not valid UTF-8")}},
		{"[]byte", "bool", []convCase{to([]byte("1"), true), to([]byte("false"), false)}},
		{"[]byte", "int kinds", []convCase{to([]byte("42"), int64(42)), fails[int]([]byte("x"), "invalid syntax")}},
		{"[]byte", "uint kinds", []convCase{to([]byte("42"), uint32(42))}},
		{"[]byte", "float kinds", []convCase{to([]byte("2.5"), 2.5)}},
		{"[]byte", "time.Time", []convCase{to([]byte("2026-11-28"), day)}},
		{"[]byte", "pointer", []convCase{to([]byte(""), ptr("")), to([]byte(""), (*int)(nil)), to([]byte("7"), ptr(7))}},
		{"[]byte", "sql.Null", []convCase{to([]byte("x"), sql.Null[string]{V: "x", Valid: true}), to([]byte{}, sql.Null[float64]{})}},

		{"json.Number", "string", []convCase{to(json.Number("1001"), "1001"), to(json.Number("7.50"), "7.50")}},
		{"json.Number", "bool", []convCase{to(json.Number("1"), true), to(json.Number("0"), false),
			fails[bool](json.Number("2"), "a number other than 0 or 1")}},
		{"json.Number", "int kinds", []convCase{to(json.Number("7"), 7), to(json.Number("1e3"), 1000), to(json.Number("2.0"), int16(2)),
			fails[int](json.Number("1.5"), "not an integer"), fails[int](json.Number("1e20"), "overflows int"),
			fails[int64](json.Number("9223372036854775808"), "overflows int64")}},
		{"json.Number", "uint kinds", []convCase{to(json.Number("18446744073709551615"), uint64(math.MaxUint64)),
			fails[uint](json.Number("-1"), "overflows uint")}},
		{"json.Number", "float kinds", []convCase{to(json.Number("2.5"), 2.5), fails[float64](json.Number("1e400"), "overflows float64")}},
		{"json.Number", "time.Time", []convCase{fails[time.Time](json.Number("1"), "wrong type json.Number")}},
		{"json.Number", "pointer", []convCase{to(json.Number("7"), ptr(7)), to(json.Number("7"), ptr("7"))}},
		{"json.Number", "sql.Null", []convCase{to(json.Number("2.5"), sql.Null[float64]{V: 2.5, Valid: true})}},

		{"bool", "string", []convCase{fails[string](true, "wrong type bool")}},
		{"bool", "bool", []convCase{to(true, true), to(false, false)}},
		{"bool", "int kinds", []convCase{fails[int](true, "wrong type bool")}},
		{"bool", "uint kinds", []convCase{fails[uint](true, "wrong type bool")}},
		{"bool", "float kinds", []convCase{fails[float64](true, "wrong type bool")}},
		{"bool", "time.Time", []convCase{fails[time.Time](true, "wrong type bool")}},
		{"bool", "pointer", []convCase{to(false, ptr(false))}},
		{"bool", "sql.Null", []convCase{to(false, sql.Null[bool]{V: false, Valid: true})}},

		{"int kinds", "string", []convCase{to(int64(42), "42"), to(int8(-5), "-5"), to(-7, "-7")}},
		{"int kinds", "bool", []convCase{to(int64(1), true), to(0, false), to(int8(1), true),
			fails[bool](int64(2), "a number other than 0 or 1")}},
		{"int kinds", "int kinds", []convCase{to(int64(7), 7), to(int16(-7), int8(-7)), fails[int8](128, "overflows int8")}},
		{"int kinds", "uint kinds", []convCase{to(7, uint(7)), fails[uint](int64(-1), "overflows uint")}},
		{"int kinds", "float kinds", []convCase{to(3, 3.0), to(int64(-3), float32(-3))}},
		{"int kinds", "time.Time", []convCase{fails[time.Time](int64(0), "wrong type int64")}},
		{"int kinds", "pointer", []convCase{to(int64(0), ptr(0)), to(int64(0), ptr("0"))}},
		{"int kinds", "sql.Null", []convCase{to(0, sql.Null[int64]{V: 0, Valid: true})}},

		{"uint kinds", "string", []convCase{to(uint64(math.MaxUint64), "18446744073709551615"), to(uint8(7), "7")}},
		{"uint kinds", "bool", []convCase{to(uint(1), true), to(uint64(0), false), fails[bool](uint8(7), "a number other than 0 or 1")}},
		{"uint kinds", "int kinds", []convCase{to(uint32(7), 7), fails[int64](uint64(math.MaxUint64), "overflows int64")}},
		{"uint kinds", "uint kinds", []convCase{to(uint8(7), uint64(7)), fails[uint8](uint(256), "overflows uint8")}},
		{"uint kinds", "float kinds", []convCase{to(uint(3), 3.0)}},
		{"uint kinds", "time.Time", []convCase{fails[time.Time](uint(0), "wrong type uint")}},
		{"uint kinds", "pointer", []convCase{to(uint(0), ptr(uint(0)))}},
		{"uint kinds", "sql.Null", []convCase{to(uint16(3), sql.Null[uint16]{V: 3, Valid: true})}},

		{"float kinds", "string", []convCase{to(1001.0, "1001"), to(1.5, "1.5"), to(1e20, "100000000000000000000"),
			to(float32(0.1), "0.1"), to(math.Copysign(0, -1), "0"), fails[string](math.NaN(), "not a finite number"),
			fails[string](math.Inf(1), "not a finite number")}},
		{"float kinds", "bool", []convCase{to(1.0, true), to(0.0, false), to(float32(1), true),
			fails[bool](0.5, "a number other than 0 or 1")}},
		{"float kinds", "int kinds", []convCase{to(7.0, 7), to(-7.0, int64(-7)), to(float32(3), 3),
			fails[int](1.5, "not an integer"), fails[int](1e20, "overflows int"), fails[int8](128.0, "overflows int8"),
			fails[int](math.NaN(), "not a finite number"), fails[int](math.Inf(-1), "not a finite number")}},
		{"float kinds", "uint kinds", []convCase{to(1e19, uint64(1e19)), fails[uint](-1.0, "overflows uint"),
			fails[uint64](1e20, "overflows uint64"), fails[uint](0.5, "not an integer")}},
		{"float kinds", "float kinds", []convCase{to(2.5, 2.5), to(float32(0.5), 0.5), to(2.5, float32(2.5)),
			fails[float32](1e39, "overflows float32"), fails[float64](math.Inf(1), "not a finite number")}},
		{"float kinds", "time.Time", []convCase{fails[time.Time](1.0, "wrong type float64")}},
		{"float kinds", "pointer", []convCase{to(0.0, ptr(0.0)), to(1001.0, ptr("1001"))}},
		{"float kinds", "sql.Null", []convCase{to(7.0, sql.Null[int64]{V: 7, Valid: true})}},

		{"time.Time", "string", []convCase{fails[string](noon, "wrong type time.Time")}},
		{"time.Time", "bool", []convCase{fails[bool](noon, "wrong type time.Time")}},
		{"time.Time", "int kinds", []convCase{fails[int](noon, "wrong type time.Time")}},
		{"time.Time", "uint kinds", []convCase{fails[uint](noon, "wrong type time.Time")}},
		{"time.Time", "float kinds", []convCase{fails[float64](noon, "wrong type time.Time")}},
		{"time.Time", "time.Time", []convCase{to(noon, noon), to(time.Time{}, time.Time{})}},
		{"time.Time", "pointer", []convCase{to(noon, ptr(noon)), to(time.Time{}, ptr(time.Time{}))}},
		{"time.Time", "sql.Null", []convCase{to(noon, sql.Null[time.Time]{V: noon, Valid: true})}},

		{"nil", "string", []convCase{to(nil, "")}},
		{"nil", "bool", []convCase{to(nil, false)}},
		{"nil", "int kinds", []convCase{to(nil, 0)}},
		{"nil", "uint kinds", []convCase{to(nil, uint(0))}},
		{"nil", "float kinds", []convCase{to(nil, 0.0)}},
		{"nil", "time.Time", []convCase{to(nil, time.Time{})}},
		{"nil", "pointer", []convCase{to(nil, (*string)(nil)), to(nil, (*int)(nil)), to(nil, (*time.Time)(nil))}},
		{"nil", "sql.Null", []convCase{to(nil, sql.Null[string]{}), to(nil, sql.Null[time.Time]{})}},

		{"pointer, sql.Null", "string", []convCase{to(ptr("x"), "x"), to((*string)(nil), ""), to(ptr(dept("x")), "x"),
			to(sql.Null[int]{V: 7, Valid: true}, "7"), fails[string](ptr(ptr("x")), "wrong type **string")}},
		{"pointer, sql.Null", "bool", []convCase{to(sql.Null[bool]{V: true, Valid: true}, true), to(sql.Null[bool]{}, false)}},
		{"pointer, sql.Null", "int kinds", []convCase{to(ptr(int64(7)), 7), to((*int)(nil), 0)}},
		{"pointer, sql.Null", "uint kinds", []convCase{to(ptr("7"), uint(7))}},
		{"pointer, sql.Null", "float kinds", []convCase{to(ptr(2.5), 2.5)}},
		{"pointer, sql.Null", "time.Time", []convCase{to(&noon, noon), to(sql.Null[time.Time]{V: noon, Valid: true}, noon),
			to((*time.Time)(nil), time.Time{})}},
		{"pointer, sql.Null", "pointer", []convCase{to((*int)(nil), (*int)(nil)), to(sql.Null[int]{}, (*int)(nil)),
			to(ptr(""), ptr("")), to(ptr(""), (*int)(nil)), to(ptr(7), ptr(7))}},
		{"pointer, sql.Null", "sql.Null", []convCase{to(ptr("x"), sql.Null[string]{V: "x", Valid: true}),
			to((*string)(nil), sql.Null[string]{}), to(sql.Null[int]{}, sql.Null[int]{})}},
	}
	covered := map[[2]string]bool{}
	for _, c := range cells {
		require.Contains(t, rows, c.row)
		require.Contains(t, cols, c.col)
		require.False(t, covered[[2]string{c.row, c.col}], "cell %s, %s twice", c.row, c.col)
		require.NotEmpty(t, c.cases, "cell %s, %s", c.row, c.col)
		covered[[2]string{c.row, c.col}] = true
		for _, tc := range c.cases {
			v := reflect.New(tc.field)
			err := assign(v.UnsafePointer(), tc.field, tc.in)
			name := fmt.Sprintf("%s into %s: %#v into %v", c.row, c.col, tc.in, tc.field)
			if s, ok := tc.in.(string); ok {
				// A row's text converts as the same text in a Record.
				w := reflect.New(tc.field)
				werr := assignText(w.UnsafePointer(), tc.field, s)
				require.Equal(t, fmt.Sprint(err), fmt.Sprint(werr), "assignText: %s", name)
				require.Equal(t, v.Elem().Interface(), w.Elem().Interface(), "assignText: %s", name)
			}
			if tc.err != "" {
				require.ErrorIs(t, err, ErrConvert, name)
				require.EqualError(t, err, "cannot convert to "+baseType(tc.field).String()+": "+tc.err, name)
				continue
			}
			require.NoError(t, err, name)
			require.Equal(t, tc.field, reflect.TypeOf(tc.want), "%s: the case's want is not a %v", name, tc.field)
			if diff := cmp.Diff(tc.want, v.Elem().Interface(), cmp.Comparer(func(x, y time.Time) bool { return x.Equal(y) })); diff != "" {
				t.Errorf("%s (-want +got):\n%s", name, diff)
			}
		}
	}
	for _, r := range rows {
		for _, c := range cols {
			require.True(t, covered[[2]string{r, c}], "the table has no case for %s into %s", r, c)
		}
	}
}

// baseType is the type a conversion error names: what a pointer or a
// sql.Null holds.
func baseType(t reflect.Type) reflect.Type {
	if t.Kind() == reflect.Pointer {
		return t.Elem()
	}
	if b, ok := sqlNullBase(t); ok {
		return b
	}
	return t
}

// TestEmptyListElements: an empty string is no element, for every element
// type and every way it comes (issue 20, point 1). Rows "1," and "1,a" (a
// LEFT JOIN's export, one membership per row) used to give the list
// ["", "a"], so that the plan added a member whose idnumber is empty; into
// an []int the empty cell added 0.
func TestEmptyListElements(t *testing.T) {
	tests := []struct {
		name string
		recs []Record
		want kinds
	}{
		{"empty cell, then a member", []Record{{"idnumber": "1", "l": ""}, {"idnumber": "1", "l": "a"}}, kinds{L: []string{"a"}}},
		{"only empty cells", []Record{{"idnumber": "1", "l": ""}, {"idnumber": "1", "l": ""}}, kinds{}},
		{"empty bytes (SQL driver)", []Record{{"idnumber": "1", "l": []byte{}}, {"idnumber": "1", "l": []byte("a")}}, kinds{L: []string{"a"}}},
		{"empty cell into []int", []Record{{"idnumber": "1", "li": ""}, {"idnumber": "1", "li": "7"}}, kinds{LI: []int{7}}},
		{"empty cell into a named element type", []Record{{"idnumber": "1", "ld": ""}}, kinds{}},
		{`"" in a []string`, []Record{{"idnumber": "1", "l": []string{"", "a", ""}}}, kinds{L: []string{"a"}}},
		{`"" in a JSON list`, []Record{{"idnumber": "1", "l": []any{"", "a"}, "li": []any{"", json.Number("3")}}}, kinds{L: []string{"a"}, LI: []int{3}}},
		{`"" in a []dept`, []Record{{"idnumber": "1", "ld": []dept{"", "x"}}}, kinds{LD: []dept{"x"}}},
		{"a pointer to an empty string", []Record{{"idnumber": "1", "l": []any{ptr(""), ptr("b")}}}, kinds{L: []string{"b"}}},
		{"0 is an element", []Record{{"idnumber": "1", "li": []string{"0"}}}, kinds{LI: []int{0}}},
		{"space is an element", []Record{{"idnumber": "1", "l": " "}}, kinds{L: []string{" "}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := importKinds(t, false, tt.recs...)
			require.NoError(t, err)
			got, ok := tr.Branches.Things.Get("1")
			require.True(t, ok)
			tt.want.ID = "1"
			if diff := cmp.Diff(tt.want, *got); diff != "" {
				t.Errorf("decoded object (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("rows", func(t *testing.T) {
		tr := NewTree[kindsTree]("source")
		tr.Branches.Things.Importer = RowsFunc([]string{"idnumber", "l", "li"}, func(ctx context.Context, yield func([]string) error) error {
			for _, row := range [][]string{{"1", "", ""}, {"1", "a", "7"}, {"2", "", ""}} {
				if err := yield(row); err != nil {
					return err
				}
			}
			return nil
		})
		require.NoError(t, tr.Import(context.Background()))
		one, _ := tr.Branches.Things.Get("1")
		require.Equal(t, []string{"a"}, one.L)
		require.Equal(t, []int{7}, one.LI)
		two, _ := tr.Branches.Things.Get("2")
		require.Empty(t, two.L)
		require.Empty(t, two.LI)
	})
}

// TestJSONNumberIDs: one number names one object. A JSON number given as a
// string idnumber keeps its text, so 1.0 and 1e0 would name other objects
// than 1 (issue 20, point 3): a fraction, an exponent or -0 is refused with
// ErrBadID. An integer key takes the number's value, which is one object
// whatever its text.
func TestJSONNumberIDs(t *testing.T) {
	for _, tc := range []struct {
		id   json.Number
		want string // "" when refused
	}{
		{"1", "1"}, {"-5", "-5"}, {"0", "0"}, {"12345678901234567890", "12345678901234567890"},
		{"1.0", ""}, {"1e0", ""}, {"1E0", ""}, {"1e+2", ""}, {"0.5", ""}, {"-0", ""}, {"-0.0", ""},
	} {
		tr, err := importKinds(t, false, Record{"idnumber": tc.id})
		if tc.want != "" {
			require.NoError(t, err, "idnumber %s", tc.id)
			require.Equal(t, []string{tc.want}, slices.Collect(tr.Branches.Things.Keys()))
			continue
		}
		require.ErrorIs(t, err, ErrBadID, "idnumber %s", tc.id)
		require.EqualError(t, err, fmt.Sprintf(`dss: source.things: record 1: key "idnumber" value %q: invalid idnumber: a number with a fraction or an exponent (1.0, 1e0) or -0 would name another object than the integer it equals; write the idnumber as an integer or a string`, tc.id))
		require.Equal(t, 0, tr.Branches.Things.Len())
	}
	t.Run("integer idnumbers", func(t *testing.T) {
		type intTree struct {
			Rooms *Branch[int, intKeyed]
		}
		tr := NewTree[intTree]("source")
		tr.Branches.Rooms.Importer = Records(Record{"idnumber": json.Number("1.0")}, Record{"idnumber": json.Number("2e0")})
		require.NoError(t, tr.Import(context.Background()))
		require.Equal(t, []int{1, 2}, slices.Collect(tr.Branches.Rooms.Keys()))
	})
	t.Run("other string fields keep the text", func(t *testing.T) {
		tr, err := importKinds(t, false, Record{"idnumber": "1", "s": json.Number("1.0")})
		require.NoError(t, err)
		got, _ := tr.Branches.Things.Get("1")
		require.Equal(t, "1.0", got.S)
	})
}

package dss

import (
	"context"
	"encoding/json"
	"errors"
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
			`dss: source.things: record 1: idnumber '1': key "i8" value "128": cannot convert to int8: value out of range`},
		{"negative to uint", []Record{{"idnumber": "1", "u16": int64(-1)}}, strconv.ErrRange,
			`dss: source.things: record 1: idnumber '1': key "u16" value -1: cannot convert to uint16: value out of range`},
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
		{"wrong type for string", []Record{{"idnumber": "1", "s": 2.5}}, ErrConvert,
			`dss: source.things: record 1: idnumber '1': key "s" value 2.5: cannot convert to string: wrong type float64`},
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
// value that decodes must survive a save and load unchanged. Seeds for the
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
	}
	f.Add("l", "a")
	f.Add("u16", "65536")
	f.Fuzz(func(t *testing.T, key, value string) {
		if key == IDKey {
			return // the record would have another idnumber than the one looked up below
		}
		tr, err := importKinds(t, true, Record{"idnumber": "1", key: value})
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

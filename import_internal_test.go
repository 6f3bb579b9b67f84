package dss

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestImportErrorHostile(t *testing.T) {
	const esc = "\x1b"
	cause := errors.New("cannot convert to int: invalid syntax")
	tests := []struct {
		name string
		e    ImportError
		want string
	}{
		// Ordinary errors read as before.
		{"ordinary", ImportError{Tree: "source", Branch: "users", Pos: Pos{Source: "users.csv", Line: 12}, ID: "11111",
			Key: "age", Value: "seven", Err: cause},
			`dss: source.users: users.csv:12: idnumber '11111': key "age" value "seven": cannot convert to int: invalid syntax`},
		{"record number", ImportError{Tree: "source", Branch: "users", Pos: Pos{Line: 2}, ID: "a b", Err: errors.New("boom")},
			`dss: source.users: record 2: idnumber 'a b': boom`},
		// The cause is printed as it is: no prefix is cut from it. The
		// connectors' errors carry none, as encoding/csv's do not.
		{"cause as is", ImportError{Tree: "source", Branch: "users", Pos: Pos{Source: "users.csv"},
			Err: errors.New("dss: csv users.csv:3:4: bare")},
			`dss: source.users: users.csv: dss: csv users.csv:3:4: bare`},
		{"importer error", ImportError{Tree: "dest", Branch: "groups", Err: errors.New("open groups.csv: no such file")},
			`dss: dest.groups: open groups.csv: no such file`},

		// Hostile parts are Go-quoted or escaped.
		{"ESC in id", ImportError{Tree: "source", Branch: "users", Pos: Pos{Line: 1}, ID: "arts" + esc + "[8m", Err: cause},
			`dss: source.users: record 1: idnumber "arts\x1b[8m": cannot convert to int: invalid syntax`},
		{"newline in id", ImportError{Tree: "source", Branch: "users", ID: "1': ok\ndss: all fine '", Err: cause},
			`dss: source.users: idnumber "1': ok\ndss: all fine '": cannot convert to int: invalid syntax`},
		{"quote and backslash in id", ImportError{Tree: "source", Branch: "users", ID: `O'Brien\`, Err: cause},
			`dss: source.users: idnumber "O'Brien\\": cannot convert to int: invalid syntax`},
		{"bidi and separator in id", ImportError{Tree: "source", Branch: "users", ID: "\u202e1\u2028", Err: cause},
			`dss: source.users: idnumber "\u202e1\u2028": cannot convert to int: invalid syntax`},
		{"invalid UTF-8 in id", ImportError{Tree: "source", Branch: "users", ID: "caf\xe9", Err: cause},
			`dss: source.users: idnumber "caf\xe9": cannot convert to int: invalid syntax`},
		{"hostile tree, branch, source", ImportError{Tree: "s\x00", Branch: "u\r", Pos: Pos{Source: "a.csv\n", Line: 3}, Err: cause},
			`dss: "s\x00"."u\r": "a.csv\n":3: cannot convert to int: invalid syntax`},
		{"quote in source", ImportError{Tree: "source", Branch: "users", Pos: Pos{Source: `it's.csv`}, Err: cause},
			`dss: source.users: "it's.csv": cannot convert to int: invalid syntax`},
		{"hostile key and value", ImportError{Tree: "source", Branch: "users", ID: "1", Key: "k\n", Value: []any{"v" + esc, struct{ S string }{"\x7f"}}, Err: cause},
			`dss: source.users: idnumber '1': key "k\n" value ["v\x1b", "{\x7f}"]: cannot convert to int: invalid syntax`},
		{"hostile cause", ImportError{Tree: "source", Branch: "users", ID: "1", Err: errors.New("bad\n\tline " + esc + "[2J\u2028\xff 'kept' \"as\" \\is")},
			`dss: source.users: idnumber '1': bad\n\tline \x1b[2J\u2028\xff 'kept' "as" \is`},
		{"joined causes", ImportError{Tree: "source", Branch: "users", Err: errors.Join(errors.New("a"), errors.New("b"))},
			`dss: source.users: a\nb`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.e.Error()
			requireOneLine(t, got)
			require.Equal(t, tt.want, got)
		})
	}
}

// TestImportHostileRecord: a record whose id and value are made to forge or
// hide lines gives a one-line import error.
func TestImportHostileRecord(t *testing.T) {
	s := NewTree[srcTree]("source")
	// The idnumber is refused (it holds control characters), and the error
	// that says so shows it escaped.
	s.Branches.Users.Importer = Records(Record{"idnumber": "7\x1b[8m\ndss: import ok", "age": "1"})
	s.Branches.Groups.Importer = Records()
	err := s.Import(context.Background())
	require.ErrorIs(t, err, ErrBadID)
	requireOneLine(t, err.Error())
	require.Equal(t, `dss: source.users: record 1: key "idnumber" value "7\x1b[8m\ndss: import ok": invalid idnumber: it holds a control character`, err.Error())

	// A printable but unusual idnumber is Go-quoted; a hostile value too.
	s.Branches.Users.Importer = Records(Record{"idnumber": "7'\u202e", "age": "x\x1b[2J\ny"})
	err = s.Import(context.Background())
	require.ErrorIs(t, err, ErrConvert)
	requireOneLine(t, err.Error())
	require.Equal(t, `dss: source.users: record 1: idnumber "7'\u202e": key "age" value "x\x1b[2J\ny": cannot convert to int: invalid syntax`, err.Error())
}

// FuzzImportError: whatever the tree, branch, source, id, key, value and
// cause, an import error is one line of printable text.
func FuzzImportError(f *testing.F) {
	f.Add("source", "users", "users.csv", "11111", "age", "seven", "cannot convert")
	f.Fuzz(func(t *testing.T, tree, branch, source, id, key, value, cause string) {
		for _, e := range []ImportError{
			{Tree: tree, Branch: branch, Pos: Pos{Source: source, Line: 1}, ID: id, Key: key, Value: value, Err: errors.New(cause)},
			{Tree: tree, Branch: branch, Pos: Pos{Source: source}, ID: id, Key: key, Value: []byte(value), Err: errors.New(cause), redact: true},
			{Tree: tree, Branch: branch, ID: id, Key: key, Value: struct{ V any }{value}},
		} {
			requireOneLine(t, e.Error())
		}
	})
}

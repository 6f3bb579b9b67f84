package dss

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

func TestActionString(t *testing.T) {
	tests := []struct {
		a    Action
		want string
	}{
		{Action{Kind: KindUpdate, Name: "update_name", ID: "11111", Attr: "name", Value: "New Name"},
			`update_name(idnumber='11111', attr="name", value="New Name")`},
		{Action{Kind: KindNew, Name: "new_users", ID: "22222"}, `new_users(idnumber='22222')`},
		{Action{Kind: KindOld, Name: "old_users", ID: "3"}, `old_users(idnumber='3')`},
		{Action{Kind: KindAdd, Name: "add_members_to_groups", ID: "students", Attr: "members", Value: "11111"},
			`add_members_to_groups(idnumber='students', attr="members", value="11111")`},
		{Action{Kind: KindRemove, Name: "remove_rooms_from_x", ID: "1", Attr: "rooms", Value: 7},
			`remove_rooms_from_x(idnumber='1', attr="rooms", value=7)`},
		{Action{Kind: KindUpdate, Name: "update_born", ID: "1", Attr: "born", Value: time.Date(2000, 1, 2, 3, 4, 5, 0, time.UTC)},
			`update_born(idnumber='1', attr="born", value="2000-01-02T03:04:05Z")`},
		{Action{Kind: KindUpdate, Name: "update_d", ID: "1", Attr: "d", Value: dept("x\"y")},
			`update_d(idnumber='1', attr="d", value="x\"y")`},
		{Action{Kind: KindUpdate, Name: "update_ok", ID: "1", Attr: "ok", Value: false},
			`update_ok(idnumber='1', attr="ok", value=false)`},
		{Action{Kind: KindUpdate, Name: "update_x", ID: "1", Attr: "x", Value: nil},
			`update_x(idnumber='1', attr="x", value=null)`},
		{Action{Kind: KindError, Name: "err_no_attr", Attr: "email", Err: errors.New("gone")},
			`err_no_attr(attr="email", error="gone")`},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, tt.a.String())
	}
	require.Equal(t, "Kind(9)", Kind(9).String())
	require.Equal(t, "old", KindOld.String())
	require.Equal(t, `["a", 1]`, fmtValue([]any{"a", 1}))
}

// requireOneLine fails unless s is one line of printable text: valid UTF-8,
// every rune printable by strconv.IsPrint, so no control character (no byte
// below 0x20, no DEL, no ESC, no newline), no line or paragraph separator,
// no bidi override.
func requireOneLine(t testing.TB, s string) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Fatalf("not valid UTF-8: %q", s)
	}
	for i, r := range s {
		if r < 0x20 || r == 0x7f || !strconv.IsPrint(r) {
			t.Fatalf("unprintable rune %U at byte %d of %q", r, i, s)
		}
	}
}

type hostileStringer struct{ s string }

func (h hostileStringer) String() string { return h.s }

type ptrStringer struct{ s string }

func (p *ptrStringer) String() string { return p.s } // panics on a nil receiver

type label string

func TestActionStringHostile(t *testing.T) {
	const esc = "\x1b"
	str := "a\nb"
	tests := []struct {
		name string
		a    Action
		want string
	}{
		// Ordinary ids and values print as the original does.
		{"plain id", Action{Kind: KindNew, Name: "new_users", ID: "22222"}, `new_users(idnumber='22222')`},
		{"double quote in id", Action{Kind: KindNew, Name: "new_users", ID: `a"b`}, `new_users(idnumber='a"b')`},
		{"space and accents", Action{Kind: KindNew, Name: "new_users", ID: "José María"}, `new_users(idnumber='José María')`},

		// Ids that would hide or forge lines are Go-quoted.
		{"ESC hides what follows", Action{Kind: KindNew, Name: "new_users", ID: "arts" + esc + "[8m"},
			`new_users(idnumber="arts\x1b[8m")`},
		{"newline forges an action", Action{Kind: KindNew, Name: "new_users", ID: "1')\nold_users(idnumber='2"},
			`new_users(idnumber="1')\nold_users(idnumber='2")`},
		{"carriage return", Action{Kind: KindOld, Name: "old_users", ID: "9\rnew_users(idnumber='9')"},
			`old_users(idnumber="9\rnew_users(idnumber='9')")`},
		{"NUL", Action{Kind: KindOld, Name: "old_users", ID: "a\x00b"}, `old_users(idnumber="a\x00b")`},
		{"DEL", Action{Kind: KindOld, Name: "old_users", ID: "a\x7fb"}, `old_users(idnumber="a\x7fb")`},
		{"line separator", Action{Kind: KindOld, Name: "old_users", ID: "a\u2028b"}, `old_users(idnumber="a\u2028b")`},
		{"bidi override", Action{Kind: KindOld, Name: "old_users", ID: "\u202e1234"}, `old_users(idnumber="\u202e1234")`},
		{"invalid UTF-8", Action{Kind: KindOld, Name: "old_users", ID: "caf\xe9\xff"}, `old_users(idnumber="caf\xe9\xff")`},
		{"single quote", Action{Kind: KindNew, Name: "new_users", ID: "O'Brien"}, `new_users(idnumber="O'Brien")`},
		{"backslash", Action{Kind: KindNew, Name: "new_users", ID: `a\nb`}, `new_users(idnumber="a\\nb")`},

		// Names, attributes, values and error text.
		{"hostile name", Action{Kind: KindNew, Name: "new_users)\nold_users(", ID: "1"},
			`"new_users)\nold_users("(idnumber='1')`},
		{"hostile attr", Action{Kind: KindUpdate, Name: "update_x", ID: "1", Attr: "x" + esc + "[8m", Value: 1},
			`update_x(idnumber='1', attr="x\x1b[8m", value=1)`},
		{"string value", Action{Kind: KindUpdate, Name: "update_name", ID: "1", Attr: "name", Value: "A" + esc + "]0;title\a"},
			`update_name(idnumber='1', attr="name", value="A\x1b]0;title\a")`},
		{"bytes value", Action{Kind: KindUpdate, Name: "update_b", ID: "1", Attr: "b", Value: []byte("x\ny")},
			`update_b(idnumber='1', attr="b", value="x\ny")`},
		{"named string value", Action{Kind: KindUpdate, Name: "update_l", ID: "1", Attr: "l", Value: label("x\u2029y")},
			`update_l(idnumber='1', attr="l", value="x\u2029y")`},
		{"Stringer value", Action{Kind: KindUpdate, Name: "update_s", ID: "1", Attr: "s", Value: hostileStringer{"x\r\ny"}},
			`update_s(idnumber='1', attr="s", value="x\r\ny")`},
		{"error value", Action{Kind: KindAdd, Name: "add_e_to_users", ID: "1", Attr: "e", Value: errors.New("x\ny")},
			`add_e_to_users(idnumber='1', attr="e", value="x\ny")`},
		{"struct value", Action{Kind: KindUpdate, Name: "update_v", ID: "1", Attr: "v", Value: struct{ S string }{"x\ny"}},
			`update_v(idnumber='1', attr="v", value="{x\ny}")`},
		{"map value", Action{Kind: KindUpdate, Name: "update_v", ID: "1", Attr: "v", Value: map[string]any{"k": "x" + esc}},
			`update_v(idnumber='1', attr="v", value="map[k:x\x1b]")`},
		{"list value", Action{Kind: KindUpdate, Name: "update_v", ID: "1", Attr: "v", Value: []any{"x\ny", label("\x00"), 2}},
			`update_v(idnumber='1', attr="v", value=["x\ny", "\x00", 2])`},
		{"pointer value", Action{Kind: KindUpdate, Name: "update_v", ID: "1", Attr: "v", Value: &str},
			`update_v(idnumber='1', attr="v", value="a\nb")`},
		{"nil pointer Stringer", Action{Kind: KindUpdate, Name: "update_v", ID: "1", Attr: "v", Value: (*ptrStringer)(nil)},
			`update_v(idnumber='1', attr="v", value=null)`},
		{"pointer Stringer", Action{Kind: KindUpdate, Name: "update_v", ID: "1", Attr: "v", Value: &ptrStringer{"\x1b"}},
			`update_v(idnumber='1', attr="v", value="\x1b")`},
		{"model error", Action{Kind: KindError, Name: "err_no_attr", Attr: "a\nb", Err: errors.New("c\x1bd")},
			`err_no_attr(attr="a\nb", error="c\x1bd")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.a.String()
			requireOneLine(t, got)
			require.Equal(t, tt.want, got)
		})
	}
}

// TestFmtValueSelfReference: a list that holds itself is cut short rather
// than exhausting the stack.
func TestFmtValueSelfReference(t *testing.T) {
	loop := []any{nil}
	loop[0] = loop
	got := fmtValue(loop)
	requireOneLine(t, got)
	require.True(t, strings.HasSuffix(got, "[...]"+strings.Repeat("]", maxValueDepth)), got)
}

// parseMessage reads back a message String wrote for an update action:
// name(idnumber=ID, attr="attr", value="value"). It fails when the message
// is ambiguous, that is, when it cannot give back exactly what was printed.
func parseMessage(t *testing.T, msg string) (name, id, attr, value string) {
	t.Helper()
	unquote := func(s string) (string, string) {
		t.Helper()
		q, err := strconv.QuotedPrefix(s)
		require.NoError(t, err, "in %q", msg)
		u, err := strconv.Unquote(q)
		require.NoError(t, err)
		return u, s[len(q):]
	}
	rest := msg
	if strings.HasPrefix(rest, `"`) {
		name, rest = unquote(rest)
	} else {
		i := strings.IndexByte(rest, '(')
		require.GreaterOrEqual(t, i, 0, "in %q", msg)
		name, rest = rest[:i], rest[i:]
	}
	var ok bool
	rest, ok = strings.CutPrefix(rest, "(idnumber=")
	require.True(t, ok, "in %q", msg)
	if strings.HasPrefix(rest, "'") {
		end := strings.IndexByte(rest[1:], '\'')
		require.GreaterOrEqual(t, end, 0, "in %q", msg)
		id, rest = rest[1:1+end], rest[2+end:]
	} else {
		id, rest = unquote(rest)
	}
	rest, ok = strings.CutPrefix(rest, ", attr=")
	require.True(t, ok, "in %q", msg)
	attr, rest = unquote(rest)
	rest, ok = strings.CutPrefix(rest, ", value=")
	require.True(t, ok, "in %q", msg)
	value, rest = unquote(rest)
	require.Equal(t, ")", rest, "in %q", msg)
	return name, id, attr, value
}

// FuzzActionString: whatever the id, name, attribute and value, an action's
// message is one line of printable text from which they can be read back;
// an id that is printable and holds no quote or backslash keeps the
// original's single-quoted form.
func FuzzActionString(f *testing.F) {
	f.Add("update_name", "11111", "name", "Old Name")
	f.Fuzz(func(t *testing.T, name, id, attr, value string) {
		if id == "" {
			id = "0" // an empty id is left out of the message
		}
		a := Action{Kind: KindUpdate, Name: name, ID: id, Attr: attr, Value: value}
		msg := a.String()
		requireOneLine(t, msg)
		gotName, gotID, gotAttr, gotValue := parseMessage(t, msg)
		require.Equal(t, []string{name, id, attr, value}, []string{gotName, gotID, gotAttr, gotValue})
		if utf8.ValidString(id) && !strings.ContainsFunc(id, func(r rune) bool { return !strconv.IsPrint(r) || r == '\'' || r == '\\' }) {
			require.Contains(t, msg, "(idnumber='"+id+"', ")
		}

		for _, v := range []any{[]byte(value), label(value), hostileStringer{value}, errors.New(value),
			struct{ S string }{value}, map[string]string{value: value}, &value, []any{value, []string{value}}} {
			a := Action{Kind: KindAdd, Name: name, ID: id, Attr: attr, Value: v}
			requireOneLine(t, a.String())
		}
		for _, a := range []Action{
			{Kind: KindNew, Name: name, Branch: name, ID: id},
			{Kind: KindOld, Name: name, Branch: name, ID: id},
			{Kind: KindError, Name: name, Attr: attr, Err: errors.New(value)},
		} {
			requireOneLine(t, a.String())
			requireOneLine(t, a.message(true))
		}
	})
}

func TestActionRedacted(t *testing.T) {
	a := Action{Kind: KindUpdate, Name: "update_name", Branch: "users", ID: "11111", Attr: "name", Value: "Ada Lovelace"}
	require.Equal(t, `update_name(idnumber='11111', attr="name", value=[redacted])`, a.Redacted())
	require.Equal(t, `new_users(idnumber='2')`, Action{Kind: KindNew, Name: "new_users", ID: "2"}.Redacted())
}

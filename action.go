package dss

import (
	"fmt"
	"log/slog"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Kind is what an Action does to the destination.
type Kind uint8

// The kinds of action, in the order a plan lists them (errors come first).
const (
	KindError  Kind = iota // the two sides' object models disagree (err_no_attr, err_integrity, err_no_branch), or DiffObjects got a nil object (err_nil_object)
	KindNew                // new_<branch>: create the object
	KindUpdate             // update_<attr>: set a scalar attribute
	KindAdd                // add_<attr>_to_<branch>: add one element to a list attribute
	KindRemove             // remove_<attr>_from_<branch>: remove one element from a list attribute
	KindOld                // old_<branch>: remove the object
)

var kindNames = [...]string{"error", "new", "update", "add", "remove", "old"}

// String returns "error", "new", "update", "add", "remove" or "old".
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Action is one difference between a source object and its destination twin:
// one thing to do to the destination. Diff yields them; Apply hands each to
// the destination template's method named after Name.
type Action struct {
	Kind   Kind
	Name   string // update_name, new_users, add_members_to_groups, err_no_attr, ...
	Branch string // the branch, users
	ID     string // the object's idnumber, as text; empty for model errors
	Attr   string // the attribute, for update, add, remove and model errors
	// Value is the source's value: the scalar to set, or the one list
	// element to add or remove.
	Value any
	// DestValue is the destination's current value of Attr (for update).
	DestValue any
	// Source and Dest are the two objects, pointers to the trees' object
	// types; Source is nil for old, Dest is nil for new.
	Source any
	Dest   any
	// Err says what is wrong, for KindError.
	Err error
	// Secret says that Attr is a field tagged secret, `dss:"key,secret"`,
	// in the source's or the destination's object type: String writes
	// its value as [redacted], as Plan.Print, the Report and dss's errors
	// and log lines do, and a saved plan leaves its values out (see
	// [Plan.MarshalJSON]). The template still gets the values in Value and
	// DestValue, and the secret fields of Source and Dest.
	Secret bool
}

// String returns the original's message for the action, one line:
//
//	update_name(idnumber='11111', attr="name", value="Old Name")
//	new_users(idnumber='22222')
//
// Whatever the action holds, the message is one line of printable text
// (every rune passes strconv.IsPrint), so that a printed plan cannot be
// forged or hidden by the ids and values in it:
//
//   - The id is written in single quotes, as it is, when it is valid UTF-8,
//     every rune is printable (strconv.IsPrint) and it holds neither a
//     single quote nor a backslash. Any other id is written Go-quoted, in
//     double quotes (strconv.Quote): idnumber="arts\x1b[8m",
//     idnumber="O'Brien". The two forms cannot be confused: a single-quoted
//     id ends at the next single quote, and a double-quoted one is read
//     back with strconv.Unquote.
//   - The name is written as it is when it is letters, digits and '_' only,
//     as the names of branches and keys that are Go identifiers are. Any
//     other name (from a key tagged "e-mail", or a hand-edited plan) is
//     Go-quoted: "update_e-mail"(idnumber='1', ...).
//   - The attribute and a model error's text are always Go-quoted.
//   - The value of a Secret action is [redacted], always.
//   - Text values (strings, string types, []byte, and the text of an error
//     or a fmt.Stringer) are Go-quoted, times are quoted RFC 3339, lists are
//     in brackets, nil is null, a pointer is what it points to, numbers and
//     booleans are as fmt prints them, and any other value (a struct, a map)
//     is as fmt prints it, Go-quoted.
func (a Action) String() string { return a.message(false) }

// LogValue makes log/slog write the action as String does, whatever the
// handler: a JSON handler would otherwise write every field, the values
// of secret attributes included.
func (a Action) LogValue() slog.Value { return slog.StringValue(a.String()) }

// Redacted is String with every value written as [redacted], as dss's own
// errors print actions when a tree has RedactValues set: for logs that must
// not hold personal data.
//
//	update_name(idnumber='11111', attr="name", value=[redacted])
func (a Action) Redacted() string { return a.message(true) }

// message is String, with the values left out when redact is set.
func (a Action) message(redact bool) string {
	var b strings.Builder
	b.WriteString(fmtName(a.Name))
	b.WriteByte('(')
	sep := ""
	if a.ID != "" {
		b.WriteString("idnumber=" + fmtID(a.ID))
		sep = ", "
	}
	switch a.Kind {
	case KindUpdate, KindAdd, KindRemove:
		fmt.Fprintf(&b, "%sattr=%q, value=%s", sep, a.Attr, a.shown(a.Value, redact))
	case KindError:
		if a.Attr != "" {
			fmt.Fprintf(&b, "%sattr=%q", sep, a.Attr)
			sep = ", "
		}
		if a.Err != nil {
			fmt.Fprintf(&b, "%serror=%q", sep, a.Err.Error())
		}
	}
	b.WriteByte(')')
	return b.String()
}

// shown is v, the action's Value or DestValue, as every review of a plan
// shows it (Print, the messages of errors, WriteHTML, WriteMarkdown):
// formatted by fmtValue, or [redacted] when redact is set or the action's
// attribute is Secret. It is the one place that decides whether a value is
// shown.
func (a Action) shown(v any, redact bool) string {
	if redact || a.Secret {
		return "[redacted]"
	}
	return fmtValue(v)
}

// printable reports whether s is valid UTF-8 whose every rune is printable
// (strconv.IsPrint) and none of the runes in special.
func printable(s, special string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !strconv.IsPrint(r) || strings.ContainsRune(special, r) {
			return false
		}
	}
	return true
}

// fmtID writes an idnumber as messages show it: in single quotes when it is
// printable and holds no single quote or backslash, Go-quoted otherwise.
func fmtID(id string) string {
	if printable(id, `'\`) {
		return "'" + id + "'"
	}
	return strconv.Quote(id)
}

// fmtName writes an action or branch name: as it is when it is letters,
// digits and '_' only, Go-quoted otherwise.
func fmtName(s string) string {
	for _, r := range s {
		if r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			return strconv.Quote(s)
		}
	}
	return s
}

// fmtBare writes a name that messages show without quotes (a tree, a
// branch, a record's source): as it is when it is printable and holds no
// quote or backslash, so that it cannot pass for a quoted one; Go-quoted
// otherwise.
func fmtBare(s string) string {
	if printable(s, `'"\`) {
		return s
	}
	return strconv.Quote(s)
}

// escapeText makes free text, such as the message of an importer's error,
// safe to print on one line: every rune that is not printable
// (strconv.IsPrint), and every byte that is not valid UTF-8, is replaced by
// its Go escape (\n, \x1b, \u2028, \xff); the rest is left as it is.
func escapeText(s string) string {
	if printable(s, "") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || !strconv.IsPrint(r) {
			q := strconv.Quote(s[i : i+size])
			b.WriteString(q[1 : len(q)-1])
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// maxValueDepth bounds how deep fmtValue follows lists and pointers, so that
// a value that holds itself cannot exhaust the stack.
const maxValueDepth = 32

// fmtValue formats a value the way messages show it, always on one line of
// printable text: text Go-quoted (strings, string types, []byte, and the
// text of an error or a fmt.Stringer), times as quoted RFC 3339, lists in
// brackets, nil and nil pointers as null, a pointer as what it points to,
// numbers and booleans as fmt prints them, and anything else (a struct, a
// map) as fmt prints it, Go-quoted.
func fmtValue(v any) string { return fmtValueDepth(v, 0) }

func fmtValueDepth(v any, depth int) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(x)
	case []byte:
		return strconv.Quote(string(x))
	case time.Time:
		return strconv.Quote(x.Format(time.RFC3339Nano))
	case nil:
		return "null"
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return "null"
		}
		// A pointer is what it points to, unless only the pointer has the
		// Error or String method.
		if e := rv.Elem().Interface(); depth < maxValueDepth && (!hasText(v) || hasText(e)) {
			return fmtValueDepth(e, depth+1)
		}
	}
	if x, ok := sqlNullValue(v); ok && depth < maxValueDepth {
		return fmtValueDepth(x, depth+1) // a sql.Null is its value, or null
	}
	if hasText(v) {
		// fmt calls Error or String, and says so if the method panics.
		return strconv.Quote(fmt.Sprint(v))
	}
	switch rv.Kind() {
	case reflect.String:
		return strconv.Quote(rv.String())
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return fmt.Sprint(v)
	case reflect.Slice, reflect.Array:
		if depth >= maxValueDepth {
			return "[...]"
		}
		parts := make([]string, rv.Len())
		for i := range parts {
			parts[i] = fmtValueDepth(rv.Index(i).Interface(), depth+1)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return strconv.Quote(fmt.Sprint(v))
}

// hasText reports whether v has an Error or String method.
func hasText(v any) bool {
	switch v.(type) {
	case error, fmt.Stringer:
		return true
	}
	return false
}

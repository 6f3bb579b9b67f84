package dss

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Kind is what an Action does to the destination.
type Kind uint8

// The kinds of action, in the order a plan lists them (errors come first).
const (
	KindError  Kind = iota // the two sides' object models disagree: err_no_attr, err_integrity, err_no_branch
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
}

// String returns the original's message for the action:
//
//	update_name(idnumber='11111', attr="name", value="Old Name")
//	new_users(idnumber='22222')
func (a Action) String() string { return a.message(false) }

// message is String, with the values left out when redact is set.
func (a Action) message(redact bool) string {
	var b strings.Builder
	b.WriteString(a.Name)
	b.WriteByte('(')
	sep := ""
	if a.ID != "" {
		fmt.Fprintf(&b, "idnumber='%s'", a.ID)
		sep = ", "
	}
	switch a.Kind {
	case KindUpdate, KindAdd, KindRemove:
		v := "[redacted]"
		if !redact {
			v = fmtValue(a.Value)
		}
		fmt.Fprintf(&b, "%sattr=%q, value=%s", sep, a.Attr, v)
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

// fmtValue formats a value the way messages show it: text quoted, times in
// RFC 3339, lists in brackets, other values as fmt prints them.
func fmtValue(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(x)
	case []byte:
		return strconv.Quote(string(x))
	case time.Time:
		return strconv.Quote(x.Format(time.RFC3339Nano))
	case fmt.Stringer:
		return strconv.Quote(x.String())
	case nil:
		return "null"
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.String:
		return strconv.Quote(rv.String())
	case reflect.Slice, reflect.Array:
		parts := make([]string, rv.Len())
		for i := range parts {
			parts[i] = fmtValue(rv.Index(i).Interface())
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return fmt.Sprint(v)
}

package dss

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
	"unsafe"
)

// Sentinel errors found inside an ImportError with errors.Is.
var (
	// ErrUnknownKey: a record key matches no field of the object type and the
	// branch does not ignore unknown keys.
	ErrUnknownKey = errors.New("no field for key")
	// ErrConvert: a value does not convert to its field's type.
	ErrConvert = errors.New("cannot convert")
	// ErrConflict: two records with the same idnumber disagree on a scalar.
	ErrConflict = errors.New("conflicting values")
	// ErrNoID: a record has no idnumber, or one that is empty or all space
	// (an empty text idnumber is ErrNoID in an integer-keyed branch too).
	ErrNoID = errors.New("missing idnumber")
	// ErrBadID: a record's idnumber holds a control character (a newline, a
	// tab, NUL, an escape) or has space around it, which would make an
	// object no other record or destination can match. Branch.TrimID trims
	// the space instead.
	ErrBadID = errors.New("invalid idnumber")
	// ErrDuplicateID: a branch marked Unique has two records with one
	// idnumber.
	ErrDuplicateID = errors.New("duplicate idnumber")
	// ErrDuplicateKey: two keys of one record name the same field ("Name"
	// and "name"), so which one would win is undefined.
	ErrDuplicateKey = errors.New("duplicate keys")
)

// keyError is a decoding failure of one key; the branch adds where.
type keyError struct {
	key   string
	value any
	err   error
}

func (e *keyError) Error() string { return fmt.Sprintf("key %q: %v", e.key, e.err) }
func (e *keyError) Unwrap() error { return e.err }

// decode writes rec into the object at obj. When merge is true the object
// already holds earlier records with the same idnumber: lists accumulate,
// and a scalar may only repeat the value it has, or fill a zero one. When
// hasID is true the object already holds the record's idnumber (the branch
// converted it to find the object), so it is not converted again.
func (p *objPlan) decode(obj unsafe.Pointer, rec Record, merge, hasID, ignoreUnknown bool) *keyError {
	var seen uint64     // fields set by this record, the first 64
	var seenMore []bool // and the others, for very wide types
	for key, v := range rec {
		i, ok := p.index(key)
		if !ok {
			if ignoreUnknown {
				continue
			}
			return &keyError{key: key, value: v, err: ErrUnknownKey}
		}
		f := &p.fields[i]
		dup := false
		if i < 64 {
			dup = seen&(1<<i) != 0
			seen |= 1 << i
		} else {
			if seenMore == nil {
				seenMore = make([]bool, len(p.fields))
			}
			dup, seenMore[i] = seenMore[i], true
		}
		if dup {
			return &keyError{key: key, value: v, err: p.duplicate(rec, key, i)}
		}
		var err error
		switch {
		case f.list:
			err = f.appendList(obj, v)
		case hasID && i == p.id:
		case merge:
			err = f.mergeScalar(obj, v)
		default:
			err = assign(f.ptr(obj), f.typ, v)
		}
		if err != nil {
			return &keyError{key: key, value: v, err: err}
		}
	}
	return nil
}

// duplicate names the other key of rec that, like key, decodes into field i.
func (p *objPlan) duplicate(rec Record, key string, i int) error {
	var other string
	for k := range rec {
		if j, ok := p.index(k); ok && j == i && k != key && (other == "" || k < other) {
			other = k
		}
	}
	return p.duplicateKeys(other, key, i)
}

// duplicateKeys is the ErrDuplicateKey error of two keys of field i.
func (p *objPlan) duplicateKeys(k1, k2 string, i int) error {
	a, b := min(k1, k2), max(k1, k2)
	return fmt.Errorf("%w: %q and %q both name field %s", ErrDuplicateKey, a, b, p.fields[i].goName)
}

// A rowPlan says how the rows of a RowImporter with the given keys decode:
// the field of each column, made once per import instead of looking up
// every key of every record.
type rowPlan struct {
	keys []string // what it was made for
	cols []int    // the field of each column, or skipCol, unknownCol, dupCol
	errs []error  // for a dupCol, its ErrDuplicateKey
	id   int      // the column of the idnumber; -1 if none
}

const (
	skipCol    = -1 // an unknown key the branch ignores
	unknownCol = -2 // an unknown key: ErrUnknownKey
	dupCol     = -3 // a key of a field an earlier column has: ErrDuplicateKey
)

// madeFor reports whether rp was made for keys. A RowImporter gives the
// same keys for every row of one import, so this is a comparison of
// strings that share their bytes; comparing them, rather than trusting the
// slice to be the same, keeps an importer that changes its keys between
// rows from decoding a row into the wrong fields.
func (rp *rowPlan) madeFor(keys []string) bool {
	return rp.cols != nil && slices.Equal(keys, rp.keys)
}

// rowPlan maps keys to fields. A key's error is the error of the first row
// that has a value for it, as it is for a record that has the key.
func (p *objPlan) rowPlan(keys []string, ignoreUnknown bool) rowPlan {
	rp := rowPlan{keys: slices.Clone(keys), cols: make([]int, len(keys)), errs: make([]error, len(keys)), id: -1}
	first := make(map[int]int, len(keys)) // field -> its first column
	for j, key := range keys {
		i, ok := p.index(key)
		switch {
		case !ok && ignoreUnknown:
			rp.cols[j] = skipCol
		case !ok:
			rp.cols[j] = unknownCol
		default:
			if k, dup := first[i]; dup {
				rp.cols[j], rp.errs[j] = dupCol, p.duplicateKeys(keys[k], key, i)
				continue
			}
			first[i], rp.cols[j] = j, i
			if i == p.id {
				rp.id = j
			}
		}
	}
	return rp
}

// decodeRow is decode for a row of text values with the keys rp was made
// for; the object holds the row's idnumber already.
func (p *objPlan) decodeRow(obj unsafe.Pointer, rp *rowPlan, keys, row []string, merge bool) *keyError {
	for j, s := range row {
		i := rp.cols[j]
		var err error
		switch {
		case i == skipCol || i == p.id:
			continue
		case i == unknownCol:
			err = ErrUnknownKey
		case i == dupCol:
			err = rp.errs[j]
		case p.fields[i].list:
			err = p.fields[i].appendText(obj, s)
		case merge:
			err = p.fields[i].mergeScalar(obj, s)
		default:
			err = assignText(p.fields[i].ptr(obj), p.fields[i].typ, s)
		}
		if err != nil {
			return &keyError{key: keys[j], value: s, err: err}
		}
	}
	return nil
}

// mergeScalar sets a zero scalar, accepts an equal one, refuses a different one.
func (f *field) mergeScalar(obj unsafe.Pointer, v any) error {
	tmp := reflect.New(f.typ)
	if err := assign(tmp.UnsafePointer(), f.typ, v); err != nil {
		return err
	}
	cur := reflect.NewAt(f.typ, f.ptr(obj)).Elem()
	if f.equal(tmp.UnsafePointer(), f.ptr(obj)) {
		return nil
	}
	if cur.IsZero() {
		cur.Set(tmp.Elem())
		return nil
	}
	return &conflictError{got: tmp.Elem().Interface(), earlier: cur.Interface()}
}

// conflictError is ErrConflict with the two values, which a redacting
// ImportError leaves out.
type conflictError struct {
	got, earlier any
	first        Pos // where the earlier record was, when known
	redact       bool
}

func (e *conflictError) Error() string {
	msg := ErrConflict.Error()
	if !e.redact {
		msg += ": " + fmtValue(e.got) + ", earlier " + fmtValue(e.earlier)
	}
	if e.first != (Pos{}) {
		msg += " (first record for this idnumber: " + e.first.String() + ")"
	}
	return msg
}

func (e *conflictError) Unwrap() error { return ErrConflict }

// appendList appends v, a slice or a single value, to the list field.
func (f *field) appendList(obj unsafe.Pointer, v any) error {
	p := f.ptr(obj)
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		return f.appendElem(p, x)
	case []string:
		for _, e := range x {
			if err := f.appendElem(p, e); err != nil {
				return err
			}
		}
		return nil
	case []any:
		for _, e := range x {
			if err := f.appendElem(p, e); err != nil {
				return err
			}
		}
		return nil
	case []byte:
		return f.appendElem(p, x)
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Slice || rv.Kind() == reflect.Array {
		for i := range rv.Len() {
			if err := f.appendElem(p, rv.Index(i).Interface()); err != nil {
				return err
			}
		}
		return nil
	}
	return f.appendElem(p, v)
}

// appendText appends s to the list field, without boxing it when the list
// holds strings. The empty string adds nothing.
func (f *field) appendText(obj unsafe.Pointer, s string) error {
	if s == "" {
		return nil
	}
	if f.elem.Kind() != reflect.String {
		return f.appendElem(f.ptr(obj), s)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w to %v: %w", ErrConvert, f.elem, errNotUTF8)
	}
	sp := (*[]string)(f.ptr(obj))
	*sp = append(*sp, s)
	return nil
}

// appendElem appends one element to the list field at p. Nothing, the
// empty string and empty bytes add nothing: an empty CSV cell (one row of a
// LEFT JOIN's export for a group without members), a "" in a JSON list and
// SQL NULL all say "no element", for every element type, as dsscsv's Lists
// drops empty elements. An element "" would be a member whose idnumber is
// empty, which no object can have (ErrNoID).
func (f *field) appendElem(p unsafe.Pointer, v any) error {
	switch x := indirect(v).(type) {
	case nil:
		return nil
	case string:
		if x == "" {
			return nil
		}
	case []byte:
		if len(x) == 0 {
			return nil
		}
	case json.Number, bool, int, int64, float64, time.Time:
	default:
		if rv := reflect.ValueOf(x); rv.Kind() == reflect.String && rv.Len() == 0 {
			return nil // a named string type
		}
	}
	if f.elem.Kind() == reflect.String {
		s, err := toString(v)
		if err != nil {
			return fmt.Errorf("%w to %v: %w", ErrConvert, f.elem, err)
		}
		sp := (*[]string)(p)
		*sp = append(*sp, s)
		return nil
	}
	e := reflect.New(f.elem)
	if err := assign(e.UnsafePointer(), f.elem, v); err != nil {
		return err
	}
	list := reflect.NewAt(f.typ, p).Elem()
	list.Set(reflect.Append(list, e.Elem()))
	return nil
}

// errIDSpace and errIDControl are the ErrBadID errors; made once, since
// they carry nothing of the record (the ImportError shows the value).
var (
	errIDSpace   = fmt.Errorf("%w: space around it (Branch.TrimID trims it)", ErrBadID)
	errIDControl = fmt.Errorf("%w: it holds a control character", ErrBadID)
)

// errIDNumber is the ErrBadID of a JSON number with a fraction or an
// exponent, or -0, given as the idnumber of a branch whose idnumbers are
// strings: its text would make 1.0, 1e0 and 1 three objects.
var errIDNumber = fmt.Errorf("%w: a number with a fraction or an exponent (1.0, 1e0) or -0 would name another object than the integer it equals; write the idnumber as an integer or a string", ErrBadID)

// integerText reports whether a JSON number's text is an integer written
// as JSON writes one: an optional minus and digits, and not -0.
func integerText(n string) bool {
	digits := strings.TrimPrefix(n, "-")
	if digits == "" || (digits == "0" && len(n) > 1) {
		return false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return false
		}
	}
	return true
}

// checkID vets an idnumber given as text: it returns s, or with trim s
// without the space around it (space as unicode.IsSpace says); ErrNoID if
// that leaves nothing; ErrBadID for space around it without trim, or for a
// control character (unicode.IsControl) anywhere. Text that is not UTF-8
// passes: converting it fails with ErrConvert.
//
// It runs once per record, so the usual idnumber, printable ASCII without
// space, is passed by one loop over its bytes; the rest is checked rune by
// rune. On "20240029" that loop takes 12 ns where TrimSpace and then the
// check take 29 ns (best of 10 runs, on a busy 2-core machine).
func checkID(s string, trim bool) (string, error) {
	i := 0
	for i < len(s) && '!' <= s[i] && s[i] <= '~' {
		i++
	}
	if i == len(s) && i > 0 {
		return s, nil
	}
	t := strings.TrimSpace(s)
	if t == "" {
		return "", ErrNoID
	}
	if len(t) != len(s) && !trim {
		return "", errIDSpace
	}
	for i := 0; i < len(t); {
		if c := t[i]; c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f { // C0 and DEL
				return "", errIDControl
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(t[i:])
		if unicode.IsControl(r) { // C1, U+0080 to U+009F
			return "", errIDControl
		}
		i += n
	}
	return t, nil
}

// vetID applies checkID to a record's idnumber value when it is text, and
// returns the value, trimmed (as a string) when trim is set; nil, or a
// pointer or sql.Null that holds nothing, is ErrNoID. A value that passes as it is
// is returned as it came: boxing a new one cost an allocation per record
// (BenchmarkDecode went from 200,562 to 300,562 allocations). string(x) of a
// []byte does not escape, so checking it copies nothing to the heap.
func vetID(v any, trim bool) (any, error) {
	var text string
	switch x := v.(type) {
	case nil:
		return v, ErrNoID
	case int, int64, int32, uint64:
		return v, nil
	case string:
		text = x
	case []byte:
		text = string(x)
	case json.Number:
		text = string(x)
	default:
		rv := reflect.ValueOf(v)
		switch rv.Kind() {
		case reflect.String:
			text = rv.String()
		case reflect.Pointer, reflect.Struct:
			// A pointer or a sql.Null is what it holds, and a nil one none.
			if i := indirect(v); i == nil || reflect.TypeOf(i) != rv.Type() {
				return vetID(i, trim)
			}
			return v, nil
		default:
			return v, nil
		}
	}
	t, err := checkID(text, trim)
	if err != nil || len(t) == len(text) {
		return v, err
	}
	// Trimmed: a copy, so that text, which may be a []byte's bytes, does
	// not escape.
	return strings.Clone(t), nil
}

package dss

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
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
func (p *objPlan) decode(obj unsafe.Pointer, rec Record, merge, hasID, ignoreUnknown bool) error {
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
	a, b := min(other, key), max(other, key)
	return fmt.Errorf("%w: %q and %q both name field %s", ErrDuplicateKey, a, b, p.fields[i].goName)
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

func (f *field) appendElem(p unsafe.Pointer, v any) error {
	if v == nil {
		return nil
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

// assign converts v to type t and stores it at p. Strings convert where that
// is unambiguous; nil and "" give the zero value of non-string types.
func assign(p unsafe.Pointer, t reflect.Type, v any) error {
	if t == timeType {
		tm, err := toTime(v)
		if err != nil {
			return fmt.Errorf("%w to time.Time: %w", ErrConvert, err)
		}
		*(*time.Time)(p) = tm
		return nil
	}
	var err error
	switch k := t.Kind(); k {
	case reflect.String:
		var s string
		if s, err = toString(v); err == nil {
			*(*string)(p) = s
		}
	case reflect.Bool:
		var b bool
		if b, err = toBool(v); err == nil {
			*(*bool)(p) = b
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		var n int64
		if n, err = toInt(v); err == nil {
			rv := reflect.NewAt(t, p).Elem()
			if rv.OverflowInt(n) {
				err = strconv.ErrRange
			} else {
				rv.SetInt(n)
			}
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		var n uint64
		if n, err = toUint(v); err == nil {
			rv := reflect.NewAt(t, p).Elem()
			if rv.OverflowUint(n) {
				err = strconv.ErrRange
			} else {
				rv.SetUint(n)
			}
		}
	case reflect.Float32, reflect.Float64:
		var f float64
		if f, err = toFloat(v); err == nil {
			rv := reflect.NewAt(t, p).Elem()
			if k == reflect.Float32 && rv.OverflowFloat(f) {
				err = strconv.ErrRange
			} else {
				rv.SetFloat(f)
			}
		}
	default:
		err = fmt.Errorf("unsupported type")
	}
	if err != nil {
		return fmt.Errorf("%w to %v: %w", ErrConvert, t, err)
	}
	return nil
}

var errType = errors.New("wrong type")

func typeErr(v any) error { return fmt.Errorf("%w %T", errType, v) }

// numErr strips the input from a strconv error: the ImportError shows the
// value once, and can redact it.
func numErr(err error) error {
	if ne, ok := err.(*strconv.NumError); ok {
		return ne.Err
	}
	return err
}

// errIDSpace and errIDControl are the ErrBadID errors; made once, since
// they carry nothing of the record (the ImportError shows the value).
var (
	errIDSpace   = fmt.Errorf("%w: space around it (Branch.TrimID trims it)", ErrBadID)
	errIDControl = fmt.Errorf("%w: it holds a control character", ErrBadID)
)

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
// returns the value, trimmed when trim is set. A value that passes as it is
// is returned as it came: boxing a new one cost an allocation per record
// (BenchmarkDecode went from 200,562 to 300,562 allocations). string(x) of a
// []byte does not escape, so checking it copies nothing to the heap.
func vetID(v any, trim bool) (any, error) {
	switch x := v.(type) {
	case string:
		t, err := checkID(x, trim)
		if err != nil || len(t) == len(x) {
			return v, err
		}
		return t, nil
	case []byte:
		t, err := checkID(string(x), trim)
		if err != nil || len(t) == len(x) {
			return v, err
		}
		return []byte(t), nil
	case json.Number:
		t, err := checkID(string(x), trim)
		if err != nil || len(t) == len(x) {
			return v, err
		}
		return json.Number(t), nil
	case nil, int, int64, int32, uint64:
		return v, nil
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.String {
		x := rv.String()
		t, err := checkID(x, trim)
		if err != nil || len(t) == len(x) {
			return v, err
		}
		return t, nil
	}
	return v, nil
}

// toString refuses text that is not UTF-8 (a CSV exported as Latin-1, say):
// it would reach the destination garbled, and a saved tree or plan could
// not carry it.
func toString(v any) (string, error) {
	s, err := anyString(v)
	if err == nil && !utf8.ValidString(s) {
		return "", errors.New("not valid UTF-8")
	}
	return s, err
}

func anyString(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case []byte:
		return string(x), nil
	case nil:
		return "", nil
	case json.Number:
		return string(x), nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case int32:
		return strconv.FormatInt(int64(x), 10), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.String {
		return rv.String(), nil
	}
	return "", typeErr(v)
}

func toBool(v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case nil:
		return false, nil
	case string, []byte:
		s, err := toString(x)
		if err != nil || s == "" {
			return false, err
		}
		b, err := strconv.ParseBool(s)
		return b, numErr(err)
	case int64, int, int32:
		n, _ := toInt(x)
		switch n {
		case 0:
			return false, nil
		case 1:
			return true, nil
		}
		return false, strconv.ErrSyntax
	}
	return false, typeErr(v)
}

func toInt(v any) (int64, error) {
	switch x := v.(type) {
	case int:
		return int64(x), nil
	case int64:
		return x, nil
	case int32:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case int8:
		return int64(x), nil
	case nil:
		return 0, nil
	case string, []byte, json.Number:
		s, err := toString(x)
		if err != nil || s == "" {
			return 0, err
		}
		n, err := strconv.ParseInt(s, 10, 64)
		return n, numErr(err)
	case float64:
		if x != math.Trunc(x) || x < math.MinInt64 || x >= math.MaxInt64 {
			return 0, errors.New("not an integer")
		}
		return int64(x), nil
	case float32:
		return toInt(float64(x))
	case uint, uint8, uint16, uint32, uint64:
		u, _ := toUint(x)
		if u > math.MaxInt64 {
			return 0, strconv.ErrRange
		}
		return int64(u), nil
	}
	return 0, typeErr(v)
}

func toUint(v any) (uint64, error) {
	switch x := v.(type) {
	case uint:
		return uint64(x), nil
	case uint64:
		return x, nil
	case uint32:
		return uint64(x), nil
	case uint16:
		return uint64(x), nil
	case uint8:
		return uint64(x), nil
	case nil:
		return 0, nil
	case string, []byte, json.Number:
		s, err := toString(x)
		if err != nil || s == "" {
			return 0, err
		}
		n, err := strconv.ParseUint(s, 10, 64)
		return n, numErr(err)
	case int, int8, int16, int32, int64, float32, float64:
		n, err := toInt(x)
		if err != nil {
			return 0, err
		}
		if n < 0 {
			return 0, strconv.ErrRange
		}
		return uint64(n), nil
	}
	return 0, typeErr(v)
}

// toFloat refuses NaN and infinities: NaN never equals itself, so a plan
// would update it forever, and JSON cannot carry either.
func toFloat(v any) (float64, error) {
	f, err := toAnyFloat(v)
	if err == nil && (math.IsNaN(f) || math.IsInf(f, 0)) {
		return 0, errors.New("not a finite number")
	}
	return f, err
}

func toAnyFloat(v any) (float64, error) {
	switch x := v.(type) {
	case float64:
		return x, nil
	case float32:
		return float64(x), nil
	case nil:
		return 0, nil
	case string, []byte, json.Number:
		s, err := toString(x)
		if err != nil || s == "" {
			return 0, err
		}
		f, err := strconv.ParseFloat(s, 64)
		return f, numErr(err)
	case int, int8, int16, int32, int64:
		n, _ := toInt(x)
		return float64(n), nil
	case uint, uint8, uint16, uint32, uint64:
		n, _ := toUint(x)
		return float64(n), nil
	}
	return 0, typeErr(v)
}

// timeLayouts are the text forms a time.Time field accepts, tried in order.
// Forms without a zone are taken as UTC.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05Z07", // PostgreSQL's text form: +00
	"2006-01-02 15:04:05",
	"2006-01-02",
}

func toTime(v any) (time.Time, error) {
	switch x := v.(type) {
	case time.Time:
		return x, nil
	case nil:
		return time.Time{}, nil
	case string, []byte:
		s, err := toString(x)
		if err != nil || s == "" {
			return time.Time{}, err
		}
		for _, layout := range timeLayouts {
			if t, err := time.Parse(layout, s); err == nil {
				return t, nil
			}
		}
		return time.Time{}, errors.New("not an RFC 3339 time or date")
	}
	return time.Time{}, typeErr(v)
}

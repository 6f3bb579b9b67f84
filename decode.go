package dss

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
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
// holds strings.
func (f *field) appendText(obj unsafe.Pointer, s string) error {
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
// is unambiguous; nil and "" give the zero value of non-string types. A
// pointer or sql.Null field is absent (nil, not Valid) for nil, and for ""
// unless it holds a string; other values convert as into the type it holds.
// The conversions are the table in the README, which TestConversionTable
// checks cell by cell.
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
	case reflect.Pointer:
		return assignPointer(p, t, v)
	case reflect.Struct:
		if base, ok := sqlNullBase(t); ok {
			return assignSQLNull(p, t, base, v)
		}
		err = errors.New("unsupported type")
	default:
		err = errors.New("unsupported type")
	}
	if errors.Is(err, strconv.ErrRange) {
		err = overflowError{t}
	}
	if err != nil {
		return fmt.Errorf("%w to %v: %w", ErrConvert, t, err)
	}
	return nil
}

// assignText is assign for a text value, without boxing it for a field of a
// string kind, the usual field of a CSV column: boxing cost an allocation
// per field.
func assignText(p unsafe.Pointer, t reflect.Type, s string) error {
	if t.Kind() != reflect.String {
		return assign(p, t, s)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w to %v: %w", ErrConvert, t, errNotUTF8)
	}
	*(*string)(p) = s
	return nil
}

// overflowError is a number too large (or negative) for its field's type,
// "overflows int8"; it unwraps to strconv.ErrRange.
type overflowError struct{ t reflect.Type }

func (e overflowError) Error() string { return "overflows " + e.t.String() }
func (e overflowError) Unwrap() error { return strconv.ErrRange }

// assignPointer stores nil for an absent value, else a new pointer to v
// converted to what t points to.
func assignPointer(p unsafe.Pointer, t reflect.Type, v any) error {
	v = indirect(v)
	if absent(v, t.Elem()) {
		*(*unsafe.Pointer)(p) = nil
		return nil
	}
	e := reflect.New(t.Elem())
	if err := assign(e.UnsafePointer(), t.Elem(), v); err != nil {
		return err
	}
	*(*unsafe.Pointer)(p) = e.UnsafePointer()
	return nil
}

// assignSQLNull stores the sql.Null of type t, holding a base: not Valid for
// an absent value, else Valid with v converted to base.
func assignSQLNull(p unsafe.Pointer, t, base reflect.Type, v any) error {
	rv := reflect.NewAt(t, p).Elem()
	v = indirect(v)
	if absent(v, base) {
		rv.SetZero()
		return nil
	}
	if err := assign(rv.Field(0).Addr().UnsafePointer(), base, v); err != nil {
		return err
	}
	rv.Field(1).SetBool(true)
	return nil
}

// absent reports whether v, the value for a pointer or sql.Null holding
// base, means no value: nil does, and so does empty text unless base is a
// string kind. CSV has no NULL: an empty cell is "no date" for a date, but
// the empty string for a string (which is a value in SQL, not NULL).
func absent(v any, base reflect.Type) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == "" && base.Kind() != reflect.String
	case []byte:
		return len(x) == 0 && base.Kind() != reflect.String
	}
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.String && rv.Len() == 0 && base.Kind() != reflect.String
}

// indirect returns what a pointer points to, nil for a nil pointer, the V
// of a valid sql.Null and nil for an invalid one; any other v as it is.
func indirect(v any) any {
	switch v.(type) {
	case nil, string, []byte, json.Number, bool, int, int64, float64, time.Time:
		return v
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return nil
		}
		if rv.Elem().Kind() == reflect.Pointer {
			return v // a pointer to a pointer: refused as the wrong type
		}
		return indirect(rv.Elem().Interface())
	}
	if b, ok := sqlNullValue(v); ok {
		return indirect(b)
	}
	return v
}

// basic returns v as the predeclared type of its kind: a named string type
// as a string, a named integer as an int64 or uint64, a named float as a
// float64 (float32 stays float32), a pointer or a sql.Null as what it holds
// (nil when that is nothing). ok is false when that changes nothing, or v
// is of no kind dss converts; the conversions call it last, for what their
// type switches do not know.
func basic(v any) (any, bool) {
	if v == nil {
		return nil, false
	}
	rv := reflect.ValueOf(v)
	var b any
	switch rv.Kind() {
	case reflect.String:
		b = rv.String()
	case reflect.Bool:
		b = rv.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		b = rv.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		b = rv.Uint()
	case reflect.Float32:
		b = float32(rv.Float())
	case reflect.Float64:
		b = rv.Float()
	case reflect.Slice:
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			b = rv.Bytes()
		}
	case reflect.Pointer, reflect.Struct:
		if i := indirect(v); i == nil || reflect.TypeOf(i) != rv.Type() {
			return i, true
		}
	}
	if b == nil || reflect.TypeOf(b) == rv.Type() {
		return nil, false
	}
	return b, true
}

var errType = errors.New("wrong type")

func typeErr(v any) error { return fmt.Errorf("%w %T", errType, v) }

// viaBasic converts v, of a type conv does not know, as its basic form (see
// basic), and names v's own type when that is the wrong type too.
func viaBasic[T any](v any, conv func(any) (T, error)) (T, error) {
	if b, ok := basic(v); ok {
		r, err := conv(b)
		if errors.Is(err, errType) {
			return r, typeErr(v)
		}
		return r, err
	}
	var zero T
	return zero, typeErr(v)
}

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

// toString refuses text that is not UTF-8 (a CSV exported as Latin-1, say):
// it would reach the destination garbled, and a saved tree or plan could
// not carry it.
func toString(v any) (string, error) {
	s, err := anyString(v)
	if err == nil && !utf8.ValidString(s) {
		return "", errNotUTF8
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
	case int8, int16, int32:
		n, _ := toInt(x)
		return strconv.FormatInt(n, 10), nil
	case uint, uint8, uint16, uint32, uint64:
		n, _ := toUint(x)
		return strconv.FormatUint(n, 10), nil
	case float64:
		return floatString(x, 64)
	case float32:
		return floatString(float64(x), 32)
	}
	return viaBasic(v, anyString)
}

// floatString is a float as a string field holds it: the shortest decimal
// that reads back as the same float, without an exponent, so that the
// float64 encoding/json makes of 1001 is "1001" and of 1.5 is "1.5".
func floatString(f float64, bits int) (string, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", errNotFinite
	}
	if f == 0 {
		f = 0 // -0 is "0"
	}
	return strconv.FormatFloat(f, 'f', -1, bits), nil
}

var (
	errNotUTF8   = errors.New("not valid UTF-8")
	errNotFinite = errors.New("not a finite number")
	errNotInt    = errors.New("not an integer")
	errNotBool   = errors.New("a number other than 0 or 1")
)

// toBool takes text as strconv.ParseBool does, and a number of any type
// when it is 0 or 1, so that a JSON 1 (a float64) and a SQLite 1 (an
// int64) agree.
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
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64, json.Number:
		f, err := toFloat(x)
		switch {
		case err != nil:
			return false, err
		case f == 0:
			return false, nil
		case f == 1:
			return true, nil
		}
		return false, errNotBool
	}
	return viaBasic(v, toBool)
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
	case string, []byte:
		s, err := toString(x)
		if err != nil || s == "" {
			return 0, err
		}
		n, err := strconv.ParseInt(s, 10, 64)
		return n, numErr(err)
	case json.Number:
		s, err := toString(x)
		if err != nil || s == "" {
			return 0, err
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if errors.Is(err, strconv.ErrSyntax) {
			return jsonNumber(x, toInt)
		}
		return n, numErr(err)
	case float64:
		if err := integral(x); err != nil {
			return 0, err
		}
		if x < math.MinInt64 || x >= math.MaxInt64 {
			return 0, strconv.ErrRange
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
	return viaBasic(v, toInt)
}

// integral refuses a float that is no integer: NaN, an infinity, a fraction.
func integral(f float64) error {
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return errNotFinite
	case f != math.Trunc(f):
		return errNotInt
	}
	return nil
}

// jsonNumber converts a json.Number that is not an integer's text (1e3,
// 2.0) as the float64 encoding/json would have made of it.
func jsonNumber[T any](n json.Number, conv func(any) (T, error)) (T, error) {
	f, err := n.Float64()
	if err != nil {
		var zero T
		return zero, numErr(err)
	}
	return conv(f)
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
	case string, []byte:
		s, err := toString(x)
		if err != nil || s == "" {
			return 0, err
		}
		n, err := strconv.ParseUint(s, 10, 64)
		return n, numErr(err)
	case json.Number:
		s, err := toString(x)
		if err != nil || s == "" {
			return 0, err
		}
		n, err := strconv.ParseUint(s, 10, 64)
		if errors.Is(err, strconv.ErrSyntax) {
			return jsonNumber(x, toUint)
		}
		return n, numErr(err)
	case float64:
		if err := integral(x); err != nil {
			return 0, err
		}
		if x < 0 || x >= math.MaxUint64 {
			return 0, strconv.ErrRange
		}
		return uint64(x), nil
	case float32:
		return toUint(float64(x))
	case int, int8, int16, int32, int64:
		n, _ := toInt(x)
		if n < 0 {
			return 0, strconv.ErrRange
		}
		return uint64(n), nil
	}
	return viaBasic(v, toUint)
}

// toFloat refuses NaN and infinities: NaN never equals itself, so a plan
// would update it forever, and JSON cannot carry either.
func toFloat(v any) (float64, error) {
	f, err := toAnyFloat(v)
	if err == nil && (math.IsNaN(f) || math.IsInf(f, 0)) {
		return 0, errNotFinite
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
	return viaBasic(v, toAnyFloat)
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
	case json.Number: // a number is not a time (seconds? milliseconds?)
		return time.Time{}, typeErr(v)
	}
	return viaBasic(v, toTime)
}

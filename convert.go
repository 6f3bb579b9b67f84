package dss

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"time"
	"unicode/utf8"
	"unsafe"
)

// The conversions of record values to field types: the table in the
// README, which TestConversionTable checks cell by cell.

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
	case string, []byte, json.Number:
		s, err := toString(x)
		if err != nil || s == "" {
			return 0, err
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if num, ok := x.(json.Number); ok && errors.Is(err, strconv.ErrSyntax) {
			return jsonNumber(num, toInt) // 1e3, 2.0
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
	case string, []byte, json.Number:
		s, err := toString(x)
		if err != nil || s == "" {
			return 0, err
		}
		n, err := strconv.ParseUint(s, 10, 64)
		if num, ok := x.(json.Number); ok && errors.Is(err, strconv.ErrSyntax) {
			return jsonNumber(num, toUint) // 1e3, 2.0
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

package dsssql

import (
	"database/sql/driver"
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/datastoresync/dss"
)

// An attr is one attribute of an object type, found by dss's rules: the
// field's tag `dss:"key"` (or `dss:"key,secret"`), else its name in
// snake_case; fields tagged "-", unexported fields and keys that begin with
// "_" are not synced.
type attr struct {
	key    string
	index  int          // the field's index in its struct
	typ    reflect.Type // the field's type
	base   reflect.Type // the scalar: the field's type, what a pointer points to, a sql.Null's V, a list's element
	list   bool
	null   int  // notNull, nullPointer or nullSQL
	secret bool // tagged "secret": its values are never shown
}

const (
	notNull = iota
	nullPointer
	nullSQL
)

var timeType = reflect.TypeFor[time.Time]()

// objType is an object type's attributes: its idnumber and the synced ones.
type objType struct {
	id    attr
	attrs []attr
	byKey map[string]int // key -> index in attrs
}

var objTypes sync.Map // reflect.Type -> *objType or error

// objectType returns t's attributes, computed once per type.
func objectType(t reflect.Type) (*objType, error) {
	if v, ok := objTypes.Load(t); ok {
		if o, ok := v.(*objType); ok {
			return o, nil
		}
		return nil, v.(error)
	}
	o, err := buildObjType(t)
	if err != nil {
		objTypes.Store(t, err)
		return nil, err
	}
	objTypes.Store(t, o)
	return o, nil
}

func buildObjType(t reflect.Type) (*objType, error) {
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("object type %v is not a struct", t)
	}
	o := &objType{id: attr{index: -1}, byKey: map[string]int{}}
	for i := range t.NumField() {
		sf := t.Field(i)
		tag, hasTag := sf.Tag.Lookup("dss")
		if !sf.IsExported() || tag == "-" {
			continue
		}
		key, opts, _ := strings.Cut(tag, ",")
		if !hasTag || key == "" {
			key = snakeCase(sf.Name)
		}
		a := attr{key: key, index: i, typ: sf.Type, base: sf.Type}
		for o := range strings.SplitSeq(opts, ",") {
			a.secret = a.secret || o == "secret"
		}
		switch {
		case sf.Type.Kind() == reflect.Slice && sf.Type.Elem().Kind() != reflect.Uint8:
			a.list, a.base = true, sf.Type.Elem()
		case sf.Type.Kind() == reflect.Pointer:
			a.null, a.base = nullPointer, sf.Type.Elem()
		default:
			if b, ok := sqlNullBase(sf.Type); ok {
				a.null, a.base = nullSQL, b
			}
		}
		if key == dss.IDKey || (!hasTag && strings.EqualFold(sf.Name, dss.IDKey)) {
			a.key = dss.IDKey
			o.id = a
			continue
		}
		if strings.HasPrefix(key, "_") {
			continue
		}
		o.byKey[key] = len(o.attrs)
		o.attrs = append(o.attrs, a)
	}
	if o.id.index < 0 {
		return nil, fmt.Errorf("object type %v has no idnumber field", t)
	}
	return o, nil
}

// snakeCase is dss's name for a field without a tag: FirstName is
// first_name, IDNumber is id_number, HTTPServer is http_server.
func snakeCase(s string) string {
	rs := []rune(s)
	var b strings.Builder
	for i, r := range rs {
		if unicode.IsUpper(r) {
			if i > 0 && (unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1]) ||
				(i+1 < len(rs) && unicode.IsLower(rs[i+1]) && unicode.IsUpper(rs[i-1]))) {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// sqlNullBase reports whether t is database/sql's Null[T], and returns T.
func sqlNullBase(t reflect.Type) (reflect.Type, bool) {
	if t.Kind() != reflect.Struct || t.PkgPath() != "database/sql" || !strings.HasPrefix(t.Name(), "Null[") || t.NumField() != 2 {
		return nil, false
	}
	v, valid := t.Field(0), t.Field(1)
	if v.Name != "V" || valid.Name != "Valid" || valid.Type.Kind() != reflect.Bool {
		return nil, false
	}
	return v.Type, true
}

// baseKind is what a scalar is, for the database.
type baseKind uint8

const (
	kindOther baseKind = iota
	kindString
	kindInt
	kindFloat
	kindBool
	kindTime
)

func (k baseKind) String() string {
	return [...]string{"unsupported", "text", "integer", "float", "boolean", "time"}[k]
}

func kindOf(t reflect.Type) baseKind {
	if t == timeType {
		return kindTime
	}
	switch t.Kind() {
	case reflect.String:
		return kindString
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return kindInt
	case reflect.Float32, reflect.Float64:
		return kindFloat
	case reflect.Bool:
		return kindBool
	}
	return kindOther
}

// plainValue returns v, a field's value or an action's Value, as a value
// database/sql passes to any driver: string, int64, float64, bool,
// time.Time, or nil for a nil pointer or an invalid sql.Null.
func plainValue(v any) (any, error) {
	switch x := v.(type) {
	case string, int64, float64, bool, time.Time, nil:
		return x, nil
	case int:
		return int64(x), nil
	}
	return plainReflect(reflect.ValueOf(v))
}

func plainReflect(rv reflect.Value) (any, error) {
	switch rv.Kind() {
	case reflect.String:
		return rv.String(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		u := rv.Uint()
		if u > math.MaxInt64 {
			return nil, fmt.Errorf("%d overflows a 64-bit integer column", u)
		}
		return int64(u), nil
	case reflect.Float32, reflect.Float64:
		return rv.Float(), nil
	case reflect.Bool:
		return rv.Bool(), nil
	case reflect.Pointer:
		if rv.IsNil() {
			return nil, nil
		}
		return plainReflect(rv.Elem())
	case reflect.Struct:
		if rv.Type() == timeType {
			return rv.Interface(), nil
		}
		if _, ok := sqlNullBase(rv.Type()); ok {
			if !rv.Field(1).Bool() {
				return nil, nil
			}
			return plainReflect(rv.Field(0))
		}
	case reflect.Invalid:
		return nil, nil
	}
	if vl, ok := rv.Interface().(driver.Valuer); ok {
		return vl.Value()
	}
	return nil, fmt.Errorf("unsupported value of type %v", rv.Type())
}

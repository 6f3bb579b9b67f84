package dsssql

import (
	"database/sql/driver"
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/datastoresync/dss"
)

// An attr is one synced attribute of an object type, as dss.AttrsOf gives
// it, with what a column needs to know of it.
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

// buildObjType reads t's attributes from dss (AttrsOf), so that a Mapping
// finds exactly the keys dss syncs, and adds what a column needs: the
// scalar under a pointer, a sql.Null or a list.
func buildObjType(t reflect.Type) (*objType, error) {
	attrs, err := dss.AttrsOf(t)
	if err != nil {
		return nil, err
	}
	o := &objType{byKey: map[string]int{}}
	for i, d := range attrs {
		a := attr{key: d.Key, index: d.Field, typ: d.Type, base: d.Type, list: d.List, secret: d.Secret}
		switch {
		case d.List:
			a.base = d.Type.Elem()
		case d.Type.Kind() == reflect.Pointer:
			a.null, a.base = nullPointer, d.Type.Elem()
		default:
			if b, ok := sqlNullBase(d.Type); ok {
				a.null, a.base = nullSQL, b
			}
		}
		if i == 0 { // the idnumber comes first
			o.id = a
			continue
		}
		o.byKey[a.key] = len(o.attrs)
		o.attrs = append(o.attrs, a)
	}
	return o, nil
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

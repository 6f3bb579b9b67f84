package dsstest

import (
	"cmp"
	"reflect"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/datastoresync/dss"
)

// layout is how a Memory reads and writes the objects of one branch: the
// Go fields of the idnumber and of the synced attributes.
type layout struct {
	typ   reflect.Type   // the object's struct type
	id    int            // the idnumber's field index
	attrs []attr         // the synced attributes, in field order
	byKey map[string]int // attribute key -> index in attrs
}

// attr is one synced attribute.
type attr struct {
	key   string
	field int
	list  bool
}

var layoutCache sync.Map // reflect.Type of a tree's struct -> map[string]*layout

// layoutsOf returns the layout of every branch of trees of type T, by
// branch name, built once per T from what dss says each branch syncs
// (dss.Branch.Attrs): dsstest does not repeat dss's naming rules.
func layoutsOf[T any]() map[string]*layout {
	rt := reflect.TypeFor[T]()
	if v, ok := layoutCache.Load(rt); ok {
		return v.(map[string]*layout)
	}
	out := map[string]*layout{}
	for _, b := range branchesOf(dss.NewTree[T]("layout")) {
		as := b.attrs() // the idnumber first
		l := &layout{typ: b.objType(), id: as[0].Field, byKey: map[string]int{}}
		for _, a := range as[1:] {
			l.byKey[a.Key] = len(l.attrs)
			l.attrs = append(l.attrs, attr{key: a.Key, field: a.Field, list: a.List})
		}
		out[b.name] = l
	}
	v, _ := layoutCache.LoadOrStore(rt, out)
	return v.(map[string]*layout)
}

// record returns the idnumber and synced attributes of obj, a struct of the
// layout's type, as a record; lists are copied.
func (l *layout) record(obj reflect.Value) dss.Record {
	rec := dss.Record{dss.IDKey: obj.Field(l.id).Interface()}
	for _, a := range l.attrs {
		rec[a.key] = clone(obj.Field(a.field).Interface())
	}
	return rec
}

// clone copies a slice, so that a Memory shares no list with the objects
// and records it is given or gives out.
func clone(v any) any {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice || rv.IsNil() {
		return v
	}
	c := reflect.MakeSlice(rv.Type(), rv.Len(), rv.Len())
	reflect.Copy(c, rv)
	return c.Interface()
}

// plain converts a value held in a Memory to the forms an importer yields
// and dss decodes whatever the field's named type (type Role string):
// string, bool, int64, uint64, float64, time.Time, or a []any of those.
func plain(v any) any {
	if _, ok := v.(time.Time); ok || v == nil {
		return v
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.String:
		return rv.String()
	case reflect.Bool:
		return rv.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return rv.Uint()
	case reflect.Float32, reflect.Float64:
		return rv.Float()
	case reflect.Slice:
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = plain(rv.Index(i).Interface())
		}
		return out
	}
	return v
}

// compareValues orders two idnumbers or list elements of one type, which
// are strings, integers or floats.
func compareValues(a, b reflect.Value) int {
	switch a.Kind() {
	case reflect.String:
		return cmp.Compare(a.String(), b.String())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return cmp.Compare(a.Int(), b.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return cmp.Compare(a.Uint(), b.Uint())
	case reflect.Float32, reflect.Float64:
		return cmp.Compare(a.Float(), b.Float())
	}
	return 0
}

// sortRecords sorts records by idnumber.
func sortRecords(recs []dss.Record) {
	slices.SortFunc(recs, func(a, b dss.Record) int {
		return compareValues(reflect.ValueOf(a[dss.IDKey]), reflect.ValueOf(b[dss.IDKey]))
	})
}

// sortList sorts a list value in place.
func sortList(list reflect.Value) {
	sort.Slice(list.Interface(), func(i, j int) bool { return compareValues(list.Index(i), list.Index(j)) < 0 })
}

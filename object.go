package dss

import (
	"cmp"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unsafe"
)

// Deriver is implemented by objects that complete themselves after decoding:
// the original's properties. dss calls Derive once per object, after every
// record with the object's idnumber has been decoded into it, for example to
// set Name from a "_lastfirst" key. An error from Derive is the record's error.
type Deriver interface {
	Derive() error
}

// IDKey is the key of every object's identifier: the record key "idnumber",
// decoded into the field tagged `dss:"idnumber"` or named IDNumber.
const IDKey = "idnumber"

// A field is one attribute of an object type: everything dss needs to decode,
// compare and encode it, computed once per type.
type field struct {
	key     string       // record key and attribute name
	goName  string       // the Go field name, for messages
	index   int          // the struct field's index
	offset  uintptr      // offset in the struct
	typ     reflect.Type // the field's type
	elem    reflect.Type // element type when list
	list    bool         // a slice: compared as a set, accumulated across records
	private bool         // key begins with "_": decoded, never synced
	secret  bool         // tagged ",secret": its values are never shown or saved in a plan
	null    nullKind     // how a value may be absent: a pointer or a sql.Null
	equal   func(a, b unsafe.Pointer) bool
	ops     *listOps // for lists
}

// objPlan is the per-type plan: built once, cached, read-only afterwards.
type objPlan struct {
	typ    reflect.Type
	fields []field
	byKey  map[string]int // exact record key -> field
	byFold map[string]int // lower-cased key or Go name -> field
	id     int            // index of the idnumber field
	synced []int          // fields compared by Diff, in declaration order
	lists  []int          // list fields
	derive bool           // *T implements Deriver
	secret []int          // fields tagged ",secret"
}

var planCache sync.Map // reflect.Type -> *objPlan or error

var timeType = reflect.TypeFor[time.Time]()

// planFor returns the cached plan of struct type t, building it on first use.
func planFor(t reflect.Type) (*objPlan, error) {
	if v, ok := planCache.Load(t); ok {
		if p, ok := v.(*objPlan); ok {
			return p, nil
		}
		return nil, v.(error)
	}
	p, err := buildPlan(t)
	if err != nil {
		v, _ := planCache.LoadOrStore(t, err)
		if e, ok := v.(error); ok {
			return nil, e
		}
		return v.(*objPlan), nil
	}
	v, _ := planCache.LoadOrStore(t, p)
	if e, ok := v.(error); ok {
		return nil, e
	}
	return v.(*objPlan), nil
}

func buildPlan(t reflect.Type) (*objPlan, error) {
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("object type %v is not a struct", t)
	}
	p := &objPlan{
		typ:    t,
		byKey:  map[string]int{},
		byFold: map[string]int{},
		id:     -1,
		derive: reflect.PointerTo(t).Implements(reflect.TypeFor[Deriver]()),
	}
	var problems []string
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
		f := field{key: key, goName: sf.Name, index: i, offset: sf.Offset, typ: sf.Type, private: strings.HasPrefix(key, "_")}
		if err := f.setOptions(opts); err != nil {
			problems = append(problems, fmt.Sprintf("field %s: %v", sf.Name, err))
			continue
		}
		if err := f.setKind(); err != nil {
			problems = append(problems, fmt.Sprintf("field %s: %v", sf.Name, err))
			continue
		}
		if f.secret && f.list {
			problems = append(problems, fmt.Sprintf("field %s: a list cannot be secret (its add and remove actions are told apart by their values)", sf.Name))
			continue
		}
		if j, dup := p.byKey[key]; dup {
			problems = append(problems, fmt.Sprintf("fields %s and %s both have key %q", p.fields[j].goName, sf.Name, key))
			continue
		}
		n := len(p.fields)
		if key == IDKey || (!hasTag && strings.EqualFold(sf.Name, IDKey)) {
			if p.id >= 0 {
				problems = append(problems, fmt.Sprintf("fields %s and %s are both the idnumber", p.fields[p.id].goName, sf.Name))
				continue
			}
			if f.list {
				problems = append(problems, fmt.Sprintf("field %s: the idnumber cannot be a list", sf.Name))
				continue
			}
			if f.null != notNull {
				problems = append(problems, fmt.Sprintf("field %s: the idnumber cannot be absent, so it cannot be a %v", sf.Name, sf.Type))
				continue
			}
			if f.secret {
				problems = append(problems, fmt.Sprintf("field %s: the idnumber cannot be secret: every message names it", sf.Name))
				continue
			}
			f.key = IDKey
			p.id = n
		} else if !f.private {
			p.synced = append(p.synced, n)
		}
		p.fields = append(p.fields, f)
		if f.list {
			p.lists = append(p.lists, n)
		}
		if f.secret {
			p.secret = append(p.secret, n)
		}
		p.byKey[f.key] = n
		for _, k := range []string{strings.ToLower(f.key), strings.ToLower(sf.Name)} {
			if _, taken := p.byFold[k]; !taken {
				p.byFold[k] = n
			}
		}
	}
	if p.id < 0 && len(problems) == 0 {
		problems = append(problems, `no idnumber field (tag a field dss:"idnumber" or name it IDNumber)`)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("object type %v: %s", t, strings.Join(problems, "; "))
	}
	return p, nil
}

// setOptions reads the options of a field's tag, the text after its first
// comma: "secret" is the only one.
//
// A field tagged `dss:"password_hash,secret"` holds a secret: its values
// are never printed (Action.String, Plan.Print and dss's errors write
// [redacted]), never logged, and never written into a saved plan, which
// leaves them out and takes them from the imported source when it is
// applied. See [Action.Secret].
func (f *field) setOptions(opts string) error {
	if opts == "" {
		return nil
	}
	for opt := range strings.SplitSeq(opts, ",") {
		switch opt {
		case "secret":
			f.secret = true
		default:
			return fmt.Errorf("unknown tag option %q (dss knows \"secret\")", opt)
		}
	}
	return nil
}

// lookup finds the field of a record key: exactly, then ignoring case and
// matching the Go field name as encoding/json does.
func (p *objPlan) lookup(key string) (*field, bool) {
	if i, ok := p.index(key); ok {
		return &p.fields[i], true
	}
	return nil, false
}

// index is lookup, giving the field's index.
func (p *objPlan) index(key string) (int, bool) {
	if i, ok := p.byKey[key]; ok {
		return i, true
	}
	i, ok := p.byFold[strings.ToLower(key)]
	return i, ok
}

// normalize makes every list of the object at obj a sorted set.
func (p *objPlan) normalize(obj unsafe.Pointer) {
	for _, i := range p.lists {
		f := &p.fields[i]
		f.ops.normalize(f.ptr(obj))
	}
}

// field returns the synced or private field with the given key, if any.
func (p *objPlan) field(key string) (*field, bool) {
	i, ok := p.byKey[key]
	if !ok {
		return nil, false
	}
	return &p.fields[i], true
}

// nullKind is how a field's value may be absent: NULL in SQL, null in JSON.
type nullKind uint8

const (
	notNull     nullKind = iota
	nullPointer          // *T: nil is absent
	nullSQL              // sql.Null[T]: Valid false is absent
)

// setKind checks that the field's type is supported and fills in its
// comparer and, for lists, its set operations.
func (f *field) setKind() error {
	t := f.typ
	if t.Kind() == reflect.Slice {
		f.list = true
		f.elem = t.Elem()
		f.ops = listOpsFor(f.elem)
		if f.ops == nil {
			return fmt.Errorf("unsupported list element type %v (want string, integer or float kinds)", f.elem)
		}
		f.equal = f.ops.equal
		return nil
	}
	if t.Kind() == reflect.Pointer {
		inner := scalarEqual(t.Elem())
		if inner == nil {
			return fmt.Errorf("unsupported type %v (a pointer may point to a string, bool, integer, float or time.Time)", t)
		}
		f.null, f.equal = nullPointer, pointerEqual(inner)
		return nil
	}
	if base, ok := sqlNullBase(t); ok {
		inner := scalarEqual(base)
		if inner == nil {
			return fmt.Errorf("unsupported type %v (a sql.Null may hold a string, bool, integer, float or time.Time)", t)
		}
		f.null, f.equal = nullSQL, sqlNullEqual(t, inner)
		return nil
	}
	f.equal = scalarEqual(t)
	if f.equal == nil {
		return fmt.Errorf("unsupported type %v (want a string, bool, integer, float, time.Time, a pointer to one, "+
			"a sql.Null of one, or a slice of string, integer or float)", t)
	}
	return nil
}

// pointerEqual compares two pointers by what they point to: two nil
// pointers are equal, a nil pointer equals no other.
func pointerEqual(inner func(a, b unsafe.Pointer) bool) func(a, b unsafe.Pointer) bool {
	return func(a, b unsafe.Pointer) bool {
		pa, pb := *(*unsafe.Pointer)(a), *(*unsafe.Pointer)(b)
		if pa == nil || pb == nil {
			return pa == pb
		}
		return inner(pa, pb)
	}
}

// sqlNullEqual compares two sql.Null values of type t: two invalid ones are
// equal whatever their V, an invalid one equals no valid one.
func sqlNullEqual(t reflect.Type, inner func(a, b unsafe.Pointer) bool) func(a, b unsafe.Pointer) bool {
	vOff, validOff := t.Field(0).Offset, t.Field(1).Offset
	return func(a, b unsafe.Pointer) bool {
		va, vb := *(*bool)(unsafe.Add(a, validOff)), *(*bool)(unsafe.Add(b, validOff))
		if !va || !vb {
			return va == vb
		}
		return inner(unsafe.Add(a, vOff), unsafe.Add(b, vOff))
	}
}

var sqlNullBases sync.Map // reflect.Type -> reflect.Type of V, or nil

// sqlNullBase reports whether t is database/sql's Null[T], and returns T.
// dss does not import database/sql for it: it knows the type by its package,
// name and fields, V and then Valid.
func sqlNullBase(t reflect.Type) (reflect.Type, bool) {
	if t.Kind() != reflect.Struct || t.PkgPath() != "database/sql" {
		return nil, false
	}
	if v, ok := sqlNullBases.Load(t); ok {
		base, _ := v.(reflect.Type)
		return base, base != nil
	}
	var base reflect.Type
	if strings.HasPrefix(t.Name(), "Null[") && t.NumField() == 2 {
		v, valid := t.Field(0), t.Field(1)
		if v.Name == "V" && valid.Name == "Valid" && valid.Type.Kind() == reflect.Bool {
			base = v.Type
		}
	}
	sqlNullBases.Store(t, base)
	return base, base != nil
}

// plainValue returns v as JSON and messages show it: a sql.Null as its V, or
// nil when it is not Valid; any other value as it is. A pointer needs no
// such care: encoding/json writes what it points to, or null.
func plainValue(v any) any {
	if b, ok := sqlNullValue(v); ok {
		return b
	}
	return v
}

// sqlNullValue returns the V of v when v is a valid sql.Null, nil when it
// is an invalid one; ok is false when v is not a sql.Null.
func sqlNullValue(v any) (any, bool) {
	if v == nil {
		return nil, false
	}
	rv := reflect.ValueOf(v)
	if _, ok := sqlNullBase(rv.Type()); !ok {
		return nil, false
	}
	if !rv.Field(1).Bool() {
		return nil, true
	}
	return rv.Field(0).Interface(), true
}

func eq[T comparable](a, b unsafe.Pointer) bool { return *(*T)(a) == *(*T)(b) }

func scalarEqual(t reflect.Type) func(a, b unsafe.Pointer) bool {
	if t == timeType {
		return func(a, b unsafe.Pointer) bool { return (*time.Time)(a).Equal(*(*time.Time)(b)) }
	}
	switch t.Kind() {
	case reflect.String:
		return eq[string]
	case reflect.Bool:
		return eq[bool]
	case reflect.Int:
		return eq[int]
	case reflect.Int8:
		return eq[int8]
	case reflect.Int16:
		return eq[int16]
	case reflect.Int32:
		return eq[int32]
	case reflect.Int64:
		return eq[int64]
	case reflect.Uint:
		return eq[uint]
	case reflect.Uint8:
		return eq[uint8]
	case reflect.Uint16:
		return eq[uint16]
	case reflect.Uint32:
		return eq[uint32]
	case reflect.Uint64:
		return eq[uint64]
	case reflect.Float32:
		return eq[float32]
	case reflect.Float64:
		return eq[float64]
	}
	return nil
}

// listOps are the set operations on one list element type. Lists compare as
// sets. Imported lists are kept sorted and without duplicates, so comparing
// two of them is one merge walk that allocates nothing.
type listOps struct {
	equal     func(a, b unsafe.Pointer) bool
	normalize func(p unsafe.Pointer)
	// diff calls add for each element of a missing from b, then remove for
	// each element of b missing from a, passing a pointer to the element.
	diff func(a, b unsafe.Pointer, add, remove func(unsafe.Pointer))
}

func listOpsFor(elem reflect.Type) *listOps {
	switch elem.Kind() {
	case reflect.String:
		return newListOps[string]()
	case reflect.Int:
		return newListOps[int]()
	case reflect.Int8:
		return newListOps[int8]()
	case reflect.Int16:
		return newListOps[int16]()
	case reflect.Int32:
		return newListOps[int32]()
	case reflect.Int64:
		return newListOps[int64]()
	case reflect.Uint:
		return newListOps[uint]()
	case reflect.Uint8:
		if elem == reflect.TypeFor[byte]() {
			return nil // []byte is a value, not a list of numbers
		}
		return newListOps[uint8]()
	case reflect.Uint16:
		return newListOps[uint16]()
	case reflect.Uint32:
		return newListOps[uint32]()
	case reflect.Uint64:
		return newListOps[uint64]()
	case reflect.Float32:
		return newListOps[float32]()
	case reflect.Float64:
		return newListOps[float64]()
	}
	return nil
}

// newListOps works on []T through unsafe pointers; a named element type with
// the same kind has the same layout.
func newListOps[T cmp.Ordered]() *listOps {
	return &listOps{
		equal: func(a, b unsafe.Pointer) bool {
			x, y := sortedSet(*(*[]T)(a)), sortedSet(*(*[]T)(b))
			return slices.Equal(x, y)
		},
		normalize: func(p unsafe.Pointer) {
			s := (*[]T)(p)
			*s = makeSet(*s)
		},
		diff: func(a, b unsafe.Pointer, add, remove func(unsafe.Pointer)) {
			x, y := sortedSet(*(*[]T)(a)), sortedSet(*(*[]T)(b))
			mergeDiff(x, y, add)
			mergeDiff(y, x, remove)
		},
	}
}

// makeSet sorts s and drops its repeated elements, in place.
func makeSet[T cmp.Ordered](s []T) []T {
	slices.Sort(s)
	return slices.Compact(s)
}

// sortedSet returns s itself when it is sorted without duplicates (as every
// imported list is), else a sorted, deduplicated copy.
func sortedSet[T cmp.Ordered](s []T) []T {
	for i := 1; i < len(s); i++ {
		if !(s[i-1] < s[i]) {
			return makeSet(slices.Clone(s))
		}
	}
	return s
}

// mergeDiff calls fn for each element of sorted set x that is not in sorted set y.
func mergeDiff[T cmp.Ordered](x, y []T, fn func(unsafe.Pointer)) {
	j := 0
	for i := range x {
		for j < len(y) && y[j] < x[i] {
			j++
		}
		if j < len(y) && y[j] == x[i] {
			continue
		}
		fn(unsafe.Pointer(&x[i]))
	}
}

// ptr returns a pointer to field f of the object at obj.
func (f *field) ptr(obj unsafe.Pointer) unsafe.Pointer { return unsafe.Add(obj, f.offset) }

// value returns field f of the object at obj as an interface, keeping its
// named type. It allocates; dss calls it only for changed values.
func (f *field) value(obj unsafe.Pointer) any {
	return reflect.NewAt(f.typ, f.ptr(obj)).Elem().Interface()
}

// elemValue returns the list element at p as an interface.
func (f *field) elemValue(p unsafe.Pointer) any {
	return reflect.NewAt(f.elem, p).Elem().Interface()
}

// snakeCase turns a Go name into the attribute name dss uses by default:
// Name -> name, FirstName -> first_name, IDNumber -> id_number.
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

// camelCase turns an action name into its template method name:
// update_name -> UpdateName, add_members_to_groups -> AddMembersToGroups.
func camelCase(s string) string {
	var b strings.Builder
	for part := range strings.SplitSeq(s, "_") {
		if part == "" {
			continue
		}
		rs := []rune(part)
		rs[0] = unicode.ToUpper(rs[0])
		b.WriteString(string(rs))
	}
	return b.String()
}

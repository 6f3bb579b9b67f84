package dss

import (
	"cmp"
	"context"
	"fmt"
	"iter"
	"math"
	"reflect"
	"slices"
	"sync"
	"unsafe"
)

// Branch is level 3: one kind of object (users, groups) in a tree, a map from
// idnumber to object that iterates in idnumber order. K is the idnumber's
// type, V the object's struct type.
//
// NewTree creates the branches; a sync program sets Importer and, if it
// wants, Filter, Preprocess, IgnoreUnknownKeys, TrimID and Unique before
// calling Import.
type Branch[K cmp.Ordered, V any] struct {
	// Importer yields the branch's records. Tree.Import fails for a branch
	// without one.
	Importer Importer
	// Filter, when set, sees each record first; a record it returns false
	// for is skipped.
	Filter func(Record) bool
	// Preprocess, when set, may change each record that Filter kept before
	// it is decoded (rename keys, normalise values). Its error is the
	// record's error.
	Preprocess func(Record) error
	// IgnoreUnknownKeys makes keys that match no field be skipped instead of
	// failing the import with ErrUnknownKey.
	IgnoreUnknownKeys bool
	// TrimID makes space around a text idnumber (" 20240029 ", space as
	// unicode.IsSpace says) be trimmed instead of failing the import with
	// ErrBadID. An idnumber that is empty or all space is ErrNoID, and one
	// holding a control character ErrBadID, either way. Saved trees loaded
	// with Tree.LoadFile are checked the same way.
	TrimID bool
	// KeepUnmatched, on a destination branch, keeps the objects that only
	// the destination has: the plan never holds old_<branch> for this
	// branch, only creations and updates, and an empty source branch is no
	// reason to refuse the plan, since nothing would be deleted. For
	// destinations that keep accounts the source never lists (an admin,
	// manual accounts); DiffSync calls it SKIP_UNMATCHED_DST.
	KeepUnmatched bool
	// Unique makes a second record with an idnumber already seen an error
	// (ErrDuplicateID, naming both records) instead of accumulating into the
	// first: for branches like users, where one record is one object. It
	// also makes the import cheaper: records need not be looked up, so the
	// branch keeps its objects in idnumber order only, and Get searches them.
	Unique bool
	// Guard limits what a plan may remove from this branch when the tree is
	// the destination (see Guard).
	Guard Guard

	name string
	tree *tree
	plan *objPlan

	mu    sync.Mutex // guards order's upkeep on reads
	objs  map[K]*V   // the index by idnumber; nil after a Unique import until Put or Delete needs it
	order []entry[K] // by idnumber once ordered() has run
	state orderState
	runs  []int    // while unsorted: where order's sorted runs start, if known
	srcs  []string // the Pos.Source of records, interned for entries
	idOff uintptr  // offset of the idnumber in V
}

// entry is one object in idnumber order: its idnumber, and the object
// without its type, for Diff, which pairs branches of different object
// types. It also remembers where the object's first record came from: src
// indexes the branch's srcs, line is Pos.Line.
//
// The idnumber is held, not read from the object at its offset: that
// trick saved 4-7% of peak memory in internal/bench but no time (see the
// commit that removed it).
type entry[K cmp.Ordered] struct {
	key  K
	obj  unsafe.Pointer
	src  int32
	line int32
}

type orderState uint8

const (
	inOrder  orderState = iota // order is sorted and complete
	unsorted                   // order is complete, not sorted
	stale                      // objects were deleted: rebuild from objs
)

// branch is what a tree needs of its branches, whatever their types.
type branch interface {
	Name() string
	Len() int
	objPlan() *objPlan
	run(ctx context.Context, imp Importer, tick func(records int)) error
	importer() Importer
	reset()
	put(rec Record, pos Pos) error
	finish(derive bool) error
	objects() iter.Seq[unsafe.Pointer]
	spans(dst branch, size int) []span
	compare(dst branch, bp *branchPair, sp span) delta
	emit(dst branch, bp *branchPair, ds []delta, ph phase, yield func(Action) bool) bool
	guard() Guard
	keepUnmatched() bool
	lookup(id string) (any, bool)
	newObject(rec Record) (any, error)
}

// newBranch is a branch before NewTree has named it and built its plan.
type newBranch interface {
	branch
	init(name string, t *tree) error
}

// keyed is the view of a branch with idnumbers of type K, whatever its
// object type; Diff pairs branches through it.
type keyed[K cmp.Ordered] interface {
	ordered() []entry[K]
}

// init readies a new branch for tree t. Its error, like planFor's, names
// the object type and what is wrong with it, without "dss: ": NewTree, which
// collects them, adds the prefix once.
func (b *Branch[K, V]) init(name string, t *tree) error {
	p, err := planFor(reflect.TypeFor[V]())
	if err != nil {
		return err
	}
	if idt := p.fields[p.id].typ; idt != reflect.TypeFor[K]() {
		return fmt.Errorf("object type %v: idnumber field %s is %v, the branch's key type is %v",
			p.typ, p.fields[p.id].goName, idt, reflect.TypeFor[K]())
	}
	b.name, b.tree, b.plan, b.idOff = name, t, p, p.fields[p.id].offset
	b.reset()
	return nil
}

// Name returns the branch's name, which pairs it with its twin in the other tree.
func (b *Branch[K, V]) Name() string { return b.name }

func (b *Branch[K, V]) objPlan() *objPlan { return b.plan }

func (b *Branch[K, V]) importer() Importer { return b.Importer }

// Attr describes an attribute of a branch's objects that dss syncs, as the
// type plan dss makes once per object type knows it.
type Attr struct {
	// Key is the record key and the attribute's name in actions
	// (update_<Key>, add_<Key>_to_<branch>); IDKey for the idnumber.
	Key string
	// Field is the index of the object struct's field (reflect's Field).
	Field int
	// Type is the field's type: string, []string, *time.Time, sql.Null[int64], ...
	Type reflect.Type
	// List is true for a list, compared as a set: its changes are add_ and
	// remove_ actions, one per element, not update_.
	List bool
	// Secret is true for a field tagged ",secret", whose values are never
	// printed, logged or saved in a plan.
	Secret bool
}

// Attrs returns what the branch's objects sync: the idnumber first, then
// every synced attribute in field order. Keys that begin with "_", which
// are decoded but never synced, are not in it. The slice is new at every
// call.
func (b *Branch[K, V]) Attrs() []Attr { return b.plan.attrs() }

// AttrsOf returns what objects of type t sync, as Branch.Attrs does for a
// branch's type: for a program that meets objects of several types, such
// as the source objects that actions carry. t is a struct type; one that
// dss cannot sync is an error naming every bad field, as NewTree's panic
// does. The type plan is made once per type and shared with the branches.
func AttrsOf(t reflect.Type) ([]Attr, error) {
	p, err := planFor(t)
	if err != nil {
		return nil, err
	}
	return p.attrs(), nil
}

func (p *objPlan) attrs() []Attr {
	out := make([]Attr, 0, 1+len(p.synced))
	for _, i := range append([]int{p.id}, p.synced...) {
		f := &p.fields[i]
		out = append(out, Attr{Key: f.key, Field: f.index, Type: f.typ, List: f.list, Secret: f.secret})
	}
	return out
}

// Len returns the number of objects in the branch.
func (b *Branch[K, V]) Len() int {
	if b.objs == nil {
		return len(b.order)
	}
	return len(b.objs)
}

// Get returns the object with the given idnumber: the original's
// source.users.get('11111'). The object may be changed in place, except its
// idnumber: to move an object, Delete it and Put it anew.
func (b *Branch[K, V]) Get(id K) (*V, bool) {
	if b.objs != nil {
		v, ok := b.objs[id]
		return v, ok
	}
	// A Unique import keeps no map: the objects are found in idnumber order.
	es := b.ordered()
	i, ok := slices.BinarySearchFunc(es, id, func(e entry[K], id K) int { return cmp.Compare(e.key, id) })
	if !ok {
		return nil, false
	}
	return (*V)(es[i].obj), true
}

// index makes sure the branch has its map, which Put and Delete keep up.
func (b *Branch[K, V]) index() {
	if b.objs != nil {
		return
	}
	es := b.ordered()
	b.objs = make(map[K]*V, len(es))
	for _, e := range es {
		b.objs[e.key] = (*V)(e.obj)
	}
}

// All yields the branch's idnumbers and objects in idnumber order.
// The branch must not change while All runs.
func (b *Branch[K, V]) All() iter.Seq2[K, *V] {
	return func(yield func(K, *V) bool) {
		for _, e := range b.ordered() {
			if !yield(e.key, (*V)(e.obj)) {
				return
			}
		}
	}
}

// Keys yields the branch's idnumbers in order.
func (b *Branch[K, V]) Keys() iter.Seq[K] {
	return func(yield func(K) bool) {
		for _, e := range b.ordered() {
			if !yield(e.key) {
				return
			}
		}
	}
}

// Put stores objects under their idnumbers, replacing any with the same
// idnumber. It builds trees from literals in tests and lets an in-memory
// template change a destination; imports do not use it.
func (b *Branch[K, V]) Put(objs ...V) {
	b.index()
	for i := range objs {
		obj := new(V)
		*obj = objs[i]
		b.store(*(*K)(b.plan.fields[b.plan.id].ptr(unsafe.Pointer(obj))), obj, Pos{})
	}
}

// Delete removes the object with the given idnumber, if any.
func (b *Branch[K, V]) Delete(id K) {
	b.index()
	if _, ok := b.objs[id]; ok {
		delete(b.objs, id)
		b.state = stale
	}
}

// store puts obj under k in the map, replacing any object there.
func (b *Branch[K, V]) store(k K, obj *V, pos Pos) {
	if _, ok := b.objs[k]; ok {
		b.objs[k] = obj
		b.state = stale
		return
	}
	b.insert(k, obj, pos)
}

// insert adds an object whose idnumber the branch does not have yet. A
// branch without a map (a Unique import) only appends it: finish finds
// repeated idnumbers.
func (b *Branch[K, V]) insert(k K, obj *V, pos Pos) {
	if b.objs != nil {
		b.objs[k] = obj
	}
	if b.state != stale {
		b.append(k, obj, pos)
	}
}

// append adds a new object to the order, noting whether the order is still
// sorted.
func (b *Branch[K, V]) append(k K, obj *V, pos Pos) {
	if n := len(b.order); n > 0 && cmp.Less(k, b.order[n-1].key) {
		// A run ends here. Noting where spares the sort finding the
		// runs again, a pass over objects no longer in the cache; the
		// count is bounded, and past it the sort finds them itself.
		if b.state == inOrder {
			b.state, b.runs = unsorted, append(b.runs[:0], 0)
		}
		if b.runs != nil && len(b.runs) < maxRuns {
			b.runs = append(b.runs, n)
		} else {
			b.runs = nil
		}
	}
	e := entry[K]{key: k, obj: unsafe.Pointer(obj), src: -1, line: int32(min(pos.Line, math.MaxInt32))}
	if pos.Source != "" {
		if n := len(b.srcs); n == 0 || b.srcs[n-1] != pos.Source {
			b.srcs = append(b.srcs, pos.Source)
		}
		e.src = int32(len(b.srcs) - 1)
	}
	b.order = append(b.order, e)
}

// firstPos returns where the first record of an object came from; obj must
// be in order. A linear search: it serves error messages only.
func (b *Branch[K, V]) firstPos(obj unsafe.Pointer) Pos {
	for _, e := range b.order {
		if e.obj == obj {
			return e.pos(b.srcs)
		}
	}
	return Pos{}
}

func (e entry[K]) pos(srcs []string) Pos {
	p := Pos{Line: int(e.line)}
	if e.src >= 0 {
		p.Source = srcs[e.src]
	}
	return p
}

// ordered returns the objects in idnumber order, sorting first if needed.
func (b *Branch[K, V]) ordered() []entry[K] {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case stale:
		b.order, b.runs = b.order[:0], nil
		for k, v := range b.objs {
			b.order = append(b.order, entry[K]{key: k, obj: unsafe.Pointer(v), src: -1})
		}
		fallthrough
	case unsorted:
		sortEntries(b.order, b.runs)
		b.state, b.runs = inOrder, nil
	}
	return b.order
}

func (b *Branch[K, V]) reset() {
	b.objs = map[K]*V{}
	b.order = nil
	b.state, b.runs = inOrder, nil
	b.srcs = nil
}

// objects yields the branch's objects in idnumber order, untyped.
func (b *Branch[K, V]) objects() iter.Seq[unsafe.Pointer] {
	return func(yield func(unsafe.Pointer) bool) {
		for _, e := range b.ordered() {
			if !yield(e.obj) {
				return
			}
		}
	}
}

func (b *Branch[K, V]) guard() Guard { return b.Guard }

func (b *Branch[K, V]) keepUnmatched() bool { return b.KeepUnmatched }

// lookup finds an object by its idnumber as text.
func (b *Branch[K, V]) lookup(id string) (any, bool) {
	var k K
	if err := assign(unsafe.Pointer(&k), reflect.TypeFor[K](), id); err != nil {
		return nil, false
	}
	return b.Get(k)
}

// newObject decodes a record into a new object outside the branch.
func (b *Branch[K, V]) newObject(rec Record) (any, error) {
	obj := new(V)
	if ke := b.plan.decode(unsafe.Pointer(obj), rec, false, false, true); ke != nil {
		return nil, ke
	}
	b.plan.normalize(unsafe.Pointer(obj))
	return obj, nil
}

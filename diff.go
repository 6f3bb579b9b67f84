package dss

import (
	"cmp"
	"fmt"
	"iter"
	"reflect"
	"strconv"
	"sync"
	"unsafe"
)

// Errors of the object models, carried by KindError actions.
var (
	// ErrNoAttr: an attribute synced on one side has no twin on the other.
	ErrNoAttr = fmt.Errorf("attribute has no twin")
	// ErrIntegrity: an attribute's types differ between the two sides.
	ErrIntegrity = fmt.Errorf("attribute types differ")
	// ErrNoBranch: a branch has no twin in the other tree.
	ErrNoBranch = fmt.Errorf("branch has no twin")
)

// pairField is one attribute synced between a source and a destination type.
type pairField struct {
	src, dst *field
}

// pairPlan is how two object types compare, built once per pair of types.
type pairPlan struct {
	fields   []pairField
	problems []Action // KindError actions without Branch
	idOK     bool     // the idnumbers have the same type
}

var pairCache sync.Map // [2]reflect.Type -> *pairPlan

func pairFor(src, dst *objPlan) *pairPlan {
	key := [2]reflect.Type{src.typ, dst.typ}
	if v, ok := pairCache.Load(key); ok {
		return v.(*pairPlan)
	}
	pp := &pairPlan{idOK: src.fields[src.id].typ == dst.fields[dst.id].typ}
	if !pp.idOK {
		pp.problems = append(pp.problems, Action{Kind: KindError, Name: "err_integrity", Attr: IDKey,
			Err: fmt.Errorf("%w: source %v, destination %v", ErrIntegrity, src.fields[src.id].typ, dst.fields[dst.id].typ)})
	}
	for _, i := range src.synced {
		sf := &src.fields[i]
		df, ok := dst.field(sf.key)
		switch {
		case !ok || df.private:
			pp.problems = append(pp.problems, Action{Kind: KindError, Name: "err_no_attr", Attr: sf.key,
				Err: fmt.Errorf("%w: source type %v has it, destination type %v does not", ErrNoAttr, src.typ, dst.typ)})
		case sf.typ != df.typ:
			pp.problems = append(pp.problems, Action{Kind: KindError, Name: "err_integrity", Attr: sf.key,
				Err: fmt.Errorf("%w: source %v, destination %v", ErrIntegrity, sf.typ, df.typ)})
		default:
			pp.fields = append(pp.fields, pairField{sf, df})
		}
	}
	for _, i := range dst.synced {
		df := &dst.fields[i]
		if sf, ok := src.field(df.key); !ok || sf.private {
			pp.problems = append(pp.problems, Action{Kind: KindError, Name: "err_no_attr", Attr: df.key,
				Err: fmt.Errorf("%w: destination type %v has it, source type %v does not", ErrNoAttr, dst.typ, src.typ)})
		}
	}
	v, _ := pairCache.LoadOrStore(key, pp)
	return v.(*pairPlan)
}

type phase uint8

const (
	phaseNew phase = iota
	phaseChange
	phaseOld
)

// branchPair is a source branch and its destination twin, with the action
// names of its attributes made once.
type branchPair struct {
	src, dst branch
	pp       *pairPlan
	names    []attrNames // per pp.fields
	new, old string
}

type attrNames struct{ update, add, remove string }

func newBranchPair(src, dst branch) *branchPair {
	name := src.Name()
	bp := &branchPair{src: src, dst: dst, pp: pairFor(src.objPlan(), dst.objPlan()),
		new: "new_" + name, old: "old_" + name}
	for _, pf := range bp.pp.fields {
		bp.names = append(bp.names, attrNames{
			update: "update_" + pf.src.key,
			add:    "add_" + pf.src.key + "_to_" + name,
			remove: "remove_" + pf.src.key + "_from_" + name,
		})
	}
	return bp
}

// Diff is the original's source - dest: it yields, lazily, the actions that
// make dest equal to t, the point of truth. The plan is deterministic: the
// same trees give the same actions in the same order, which is
//
//  1. model errors (KindError), if the two sides' object types disagree;
//  2. every new_<branch>, branches in t's order, objects in idnumber order;
//  3. every attribute change (update_<attr>, add_<attr>_to_<branch>,
//     remove_<attr>_from_<branch>), in the same order, attributes in field
//     order, list elements in sorted order;
//  4. every old_<branch>, branches in reverse order, so that objects that
//     depend on others (groups on users) go before what they depend on.
//
// Step 4 improves on the original, which deletes in branch order. Objects
// that are equal yield nothing, and comparing them allocates nothing.
// The trees must not change while the sequence runs.
func (t *Tree[T]) Diff(dst AnyTree) iter.Seq[Action] {
	return diffTrees(&t.t, dst.core())
}

func diffTrees(s, d *tree) iter.Seq[Action] {
	return func(yield func(Action) bool) {
		var pairs []*branchPair
		for _, sb := range s.branches {
			db, ok := d.byName[sb.Name()]
			if !ok {
				if !yield(Action{Kind: KindError, Name: "err_no_branch", Branch: sb.Name(),
					Err: fmt.Errorf("%w: tree %s has it, tree %s does not", ErrNoBranch, s.name, d.name)}) {
					return
				}
				continue
			}
			pairs = append(pairs, newBranchPair(sb, db))
		}
		for _, db := range d.branches {
			if _, ok := s.byName[db.Name()]; !ok {
				if !yield(Action{Kind: KindError, Name: "err_no_branch", Branch: db.Name(),
					Err: fmt.Errorf("%w: tree %s has it, tree %s does not", ErrNoBranch, d.name, s.name)}) {
					return
				}
			}
		}
		for _, bp := range pairs {
			for _, a := range bp.pp.problems {
				a.Branch = bp.src.Name()
				if !yield(a) {
					return
				}
			}
		}
		for _, ph := range []phase{phaseNew, phaseChange} {
			for _, bp := range pairs {
				if bp.pp.idOK && !bp.src.diff(bp.dst, bp, ph, yield) {
					return
				}
			}
		}
		for i := len(pairs) - 1; i >= 0; i-- {
			if bp := pairs[i]; bp.pp.idOK && !bp.src.diff(bp.dst, bp, phaseOld, yield) {
				return
			}
		}
	}
}

// diff walks the two branches' objects in idnumber order at once and yields
// the actions of one phase. It returns false when yield asked to stop.
func (b *Branch[K, V]) diff(dst branch, bp *branchPair, ph phase, yield func(Action) bool) bool {
	dk, ok := dst.(keyed[K])
	if !ok {
		return true // idnumber types differ: reported as a model error
	}
	src, dd := b.ordered(), dk.ordered()
	soff, doff := b.idOff, dk.idOffset()
	dplan := dst.objPlan()
	i, j := 0, 0
	for i < len(src) || j < len(dd) {
		var c int
		switch {
		case j == len(dd):
			c = -1
		case i == len(src):
			c = 1
		default:
			c = cmp.Compare(src[i].key(soff), dd[j].key(doff))
		}
		switch {
		case c < 0:
			if ph == phaseNew && !yield(Action{Kind: KindNew, Name: bp.new, Branch: b.name,
				ID: keyString(src[i].key(soff)), Source: (*V)(src[i].obj)}) {
				return false
			}
			i++
		case c > 0:
			if ph == phaseOld && !yield(Action{Kind: KindOld, Name: bp.old, Branch: b.name,
				ID: keyString(dd[j].key(doff)), Dest: dplan.object(dd[j].obj)}) {
				return false
			}
			j++
		default:
			if ph == phaseChange && !diffObjects(bp.pp, bp.names, b.name, src[i].obj, dd[j].obj,
				func() (string, any, any) {
					return keyString(src[i].key(soff)), (*V)(src[i].obj), dplan.object(dd[j].obj)
				},
				yield) {
				return false
			}
			i++
			j++
		}
	}
	return true
}

// diffObjects yields the attribute actions between two objects. about is
// called only when there is something to report, so that equal objects cost
// no allocation.
func diffObjects(pp *pairPlan, names []attrNames, branch string, s, d unsafe.Pointer,
	about func() (id string, src, dst any), yield func(Action) bool) bool {
	var (
		id       string
		so, do   any
		resolved bool
	)
	for n, pf := range pp.fields {
		sp, dp := pf.src.ptr(s), pf.dst.ptr(d)
		if pf.src.equal(sp, dp) {
			continue
		}
		if !resolved {
			id, so, do = about()
			resolved = true
		}
		if !pf.src.list {
			if !yield(Action{Kind: KindUpdate, Name: names[n].update, Branch: branch, ID: id, Attr: pf.src.key,
				Value: pf.src.value(s), DestValue: pf.dst.value(d), Source: so, Dest: do}) {
				return false
			}
			continue
		}
		if !diffList(pf, names[n], branch, id, so, do, sp, dp, yield) {
			return false
		}
	}
	return true
}

// diffList yields one add or remove action per element that differs. It is
// apart from diffObjects so that its closures' captures are allocated only
// for lists that differ.
func diffList(pf pairField, names attrNames, branch, id string, so, do any, sp, dp unsafe.Pointer, yield func(Action) bool) bool {
	ok := true
	emit := func(kind Kind, name string) func(unsafe.Pointer) {
		return func(e unsafe.Pointer) {
			if ok {
				ok = yield(Action{Kind: kind, Name: name, Branch: branch, ID: id, Attr: pf.src.key,
					Value: pf.src.elemValue(e), Source: so, Dest: do})
			}
		}
	}
	pf.src.ops.diff(sp, dp, emit(KindAdd, names.add), emit(KindRemove, names.remove))
	return ok
}

// object returns a pointer to the object at p, typed, as an interface.
func (p *objPlan) object(obj unsafe.Pointer) any {
	return reflect.NewAt(p.typ, obj).Interface()
}

// keyString formats an idnumber for actions and errors.
func keyString[K cmp.Ordered](k K) string {
	switch x := any(k).(type) {
	case string:
		return x
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	}
	return fmt.Sprint(k)
}

// DiffObjects is the original's u1 - u2: the actions that make one
// destination object of the named branch equal to one source object, in the
// order Diff uses. S and D are object struct types; they may differ, as the
// two trees' types do. Model errors come first, as KindError actions.
func DiffObjects[S, D any](branch string, src *S, dst *D) iter.Seq[Action] {
	return func(yield func(Action) bool) {
		sp, err := planFor(reflect.TypeFor[S]())
		if err == nil {
			var dp *objPlan
			if dp, err = planFor(reflect.TypeFor[D]()); err == nil {
				bp := newBranchPair(&objectPair{name: branch, plan: sp}, &objectPair{name: branch, plan: dp})
				for _, a := range bp.pp.problems {
					a.Branch = branch
					if !yield(a) {
						return
					}
				}
				id := fmt.Sprint(sp.fields[sp.id].value(unsafe.Pointer(src)))
				diffObjects(bp.pp, bp.names, branch, unsafe.Pointer(src), unsafe.Pointer(dst),
					func() (string, any, any) { return id, src, dst }, yield)
				return
			}
		}
		yield(Action{Kind: KindError, Name: "err_integrity", Branch: branch, Err: err})
	}
}

// objectPair lets DiffObjects reuse newBranchPair without branches.
type objectPair struct {
	branch
	name string
	plan *objPlan
}

func (o *objectPair) Name() string      { return o.name }
func (o *objectPair) objPlan() *objPlan { return o.plan }

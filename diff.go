package dss

import (
	"cmp"
	"fmt"
	"iter"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
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
	// ErrNilObject: DiffObjects was given a nil object.
	ErrNilObject = fmt.Errorf("nil object")
)

// pairField is one attribute synced between a source and a destination type.
type pairField struct {
	src, dst *field
}

// pairPlan is how two object types compare, built once per pair of types.
type pairPlan struct {
	fields   []pairField
	src      *objPlan // the source type's plan
	secret   []int    // the source type's fields that are secret in either type, by index
	problems []Action // KindError actions without Branch
	idOK     bool     // the idnumbers have the same type
}

var pairCache sync.Map // [2]reflect.Type -> *pairPlan

func pairFor(src, dst *objPlan) *pairPlan {
	key := [2]reflect.Type{src.typ, dst.typ}
	if v, ok := pairCache.Load(key); ok {
		return v.(*pairPlan)
	}
	pp := &pairPlan{src: src, idOK: src.fields[src.id].typ == dst.fields[dst.id].typ}
	if !pp.idOK {
		pp.problems = append(pp.problems, Action{Kind: KindError, Name: "err_integrity", Attr: IDKey,
			Err: fmt.Errorf("%w: source %v, destination %v", ErrIntegrity, src.fields[src.id].typ, dst.fields[dst.id].typ)})
	}
	for i := range src.fields {
		if df, ok := dst.field(src.fields[i].key); src.fields[i].secret || ok && df.secret {
			pp.secret = append(pp.secret, i)
		}
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

// The action names: what Diff calls its actions, and what Methods
// looks for methods for.
func newName(branch string) string { return "new_" + branch }
func oldName(branch string) string { return "old_" + branch }
func namesFor(branch, key string) attrNames {
	return attrNames{update: "update_" + key, add: "add_" + key + "_to_" + branch, remove: "remove_" + key + "_from_" + branch}
}

func newBranchPair(src, dst branch) *branchPair {
	name := src.Name()
	pp, names := pairNames(name, src.objPlan(), dst.objPlan())
	return &branchPair{src: src, dst: dst, pp: pp, names: names, new: newName(name), old: oldName(name)}
}

// pairNames is how two object types of the named branch compare, and the
// action names of their synced attributes.
func pairNames(branch string, src, dst *objPlan) (*pairPlan, []attrNames) {
	pp := pairFor(src, dst)
	names := make([]attrNames, len(pp.fields))
	for i, pf := range pp.fields {
		names[i] = namesFor(branch, pf.src.key)
	}
	return pp, names
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
// Step 4 improves on the original, which deletes in branch order.
//
// When the sequence starts, the branches are compared, large ones cut into
// stretches that run on up to GOMAXPROCS goroutines; what is kept is where
// the differences are, and the actions are made as they are yielded.
// Objects that are equal yield nothing, and comparing them allocates
// nothing. While the sequence runs, an Import of either tree waits for it
// to end, so the loop that ranges over it must not import them.
//
// Diff is for exploring and testing; a sync program makes its plan with
// Datastore.Plan, which diffs the same way and judges the result.
func (t *Tree[T]) Diff(dst AnyTree) iter.Seq[Action] {
	s, d := &t.t, dst.core()
	return func(yield func(Action) bool) {
		s.mu.RLock()
		defer s.mu.RUnlock()
		if d != s {
			d.mu.RLock()
			defer d.mu.RUnlock()
		}
		compareTrees(s, d).actions(yield)
	}
}

// treeDiff is two trees compared: the model errors, and what differs in
// each pair of branches, from which actions are made as they are yielded.
type treeDiff struct {
	errs   []Action // model errors, the plan's first actions
	pairs  []*branchPair
	deltas [][]delta // per pair, per span
}

// compareTrees pairs the branches of s and d and compares each pair.
func compareTrees(s, d *tree) *treeDiff {
	td := &treeDiff{}
	for _, sb := range s.branches {
		db, ok := d.byName[sb.Name()]
		if !ok {
			td.errs = append(td.errs, Action{Kind: KindError, Name: "err_no_branch", Branch: sb.Name(),
				Err: fmt.Errorf("%w: tree %s has it, tree %s does not", ErrNoBranch, s.name, d.name)})
			continue
		}
		td.pairs = append(td.pairs, newBranchPair(sb, db))
	}
	for _, db := range d.branches {
		if _, ok := s.byName[db.Name()]; !ok {
			td.errs = append(td.errs, Action{Kind: KindError, Name: "err_no_branch", Branch: db.Name(),
				Err: fmt.Errorf("%w: tree %s has it, tree %s does not", ErrNoBranch, d.name, s.name)})
		}
	}
	for _, bp := range td.pairs {
		for _, a := range bp.pp.problems {
			a.Branch = bp.src.Name()
			td.errs = append(td.errs, a)
		}
	}
	td.deltas = compareAll(td.pairs)
	return td
}

// count returns the number of actions the diff yields, so that a plan can
// be allocated once at its size.
func (td *treeDiff) count() int {
	n := len(td.errs)
	for p, ds := range td.deltas {
		for _, d := range ds {
			n += len(d.news) + d.changed
			if !td.pairs[p].dst.keepUnmatched() {
				n += len(d.olds)
			}
		}
	}
	return n
}

// actions yields the actions in the order Diff documents.
func (td *treeDiff) actions(yield func(Action) bool) {
	for _, a := range td.errs {
		if !yield(a) {
			return
		}
	}
	for _, ph := range []phase{phaseNew, phaseChange} {
		for p, bp := range td.pairs {
			if !bp.src.emit(bp.dst, bp, td.deltas[p], ph, yield) {
				return
			}
		}
	}
	for p := len(td.pairs) - 1; p >= 0; p-- {
		if bp := td.pairs[p]; !bp.dst.keepUnmatched() && !bp.src.emit(bp.dst, bp, td.deltas[p], phaseOld, yield) {
			return
		}
	}
}

// span is a stretch of a branch pair's two orders that compares on its own:
// src[slo:shi] against dst[dlo:dhi], where no idnumber outside the stretch
// can match one inside it.
type span struct{ slo, shi, dlo, dhi int }

// delta is what differs in one span: indexes into the two orders.
type delta struct {
	news    []int    // source objects the destination lacks
	changes [][2]int // objects on both sides that differ (source, destination)
	olds    []int    // destination objects the source lacks
	changed int      // the actions the changes make
}

// spans cuts the branch pair into stretches of about size source objects,
// each starting where a source idnumber starts, for compare to run on in
// parallel. It returns nil when the idnumber types differ.
func (b *Branch[K, V]) spans(dst branch, size int) []span {
	dk, ok := dst.(keyed[K])
	if !ok {
		return nil // reported as a model error
	}
	src, dd := b.ordered(), dk.ordered()
	out := make([]span, 0, len(src)/size+1)
	dlo := 0
	for slo := 0; slo < len(src) || slo == 0; slo += size {
		shi, dhi := min(slo+size, len(src)), len(dd)
		if shi < len(src) {
			k := src[shi].key
			dhi, _ = slices.BinarySearchFunc(dd[dlo:], k, func(e entry[K], k K) int { return cmp.Compare(e.key, k) })
			dhi += dlo
		}
		out = append(out, span{slo, shi, dlo, dhi})
		dlo = dhi
	}
	return out
}

// compare walks one span of the two branches in idnumber order at once and
// returns what differs. Equal objects cost no allocation.
func (b *Branch[K, V]) compare(dst branch, bp *branchPair, sp span) delta {
	dk := dst.(keyed[K])
	src, dd := b.ordered()[sp.slo:sp.shi], dk.ordered()[sp.dlo:sp.dhi]
	var d delta
	i, j := 0, 0
	for i < len(src) || j < len(dd) {
		var c int
		switch {
		case j == len(dd):
			c = -1
		case i == len(src):
			c = 1
		default:
			c = cmp.Compare(src[i].key, dd[j].key)
		}
		switch {
		case c < 0:
			d.news = append(d.news, sp.slo+i)
			i++
		case c > 0:
			d.olds = append(d.olds, sp.dlo+j)
			j++
		default:
			if n := bp.pp.count(src[i].obj, dd[j].obj); n > 0 {
				d.changes = append(d.changes, [2]int{sp.slo + i, sp.dlo + j})
				d.changed += n
			}
			i++
			j++
		}
	}
	return d
}

// emit yields the actions of one phase from the branch pair's deltas, in
// idnumber order. It returns false when yield asked to stop.
func (b *Branch[K, V]) emit(dst branch, bp *branchPair, ds []delta, ph phase, yield func(Action) bool) bool {
	dk, ok := dst.(keyed[K])
	if !ok {
		return true
	}
	src, dd := b.ordered(), dk.ordered()
	dplan := dst.objPlan()
	for _, d := range ds {
		switch ph {
		case phaseNew:
			for _, i := range d.news {
				if !yield(Action{Kind: KindNew, Name: bp.new, Branch: b.name,
					ID: keyString(src[i].key), Source: (*V)(src[i].obj)}) {
					return false
				}
			}
		case phaseChange:
			for _, c := range d.changes {
				s, t := src[c[0]], dd[c[1]]
				if !diffObjects(bp.pp, bp.names, b.name, s.obj, t.obj,
					func() (string, any, any) { return keyString(s.key), (*V)(s.obj), dplan.object(t.obj) },
					yield) {
					return false
				}
			}
		case phaseOld:
			for _, j := range d.olds {
				if !yield(Action{Kind: KindOld, Name: bp.old, Branch: b.name,
					ID: keyString(dd[j].key), Dest: dplan.object(dd[j].obj)}) {
					return false
				}
			}
		}
	}
	return true
}

// count returns the number of attribute actions between two objects, 0
// when they agree on every synced attribute.
func (pp *pairPlan) count(s, d unsafe.Pointer) int {
	n := 0
	for _, pf := range pp.fields {
		sp, dp := pf.src.ptr(s), pf.dst.ptr(d)
		switch {
		case pf.src.equal(sp, dp):
		case pf.src.list:
			n += countList(pf, sp, dp)
		default:
			n++
		}
	}
	return n
}

// countList counts the elements two different lists differ by. It is apart
// from count so that only lists that differ allocate the counter the
// closures share.
func countList(pf pairField, sp, dp unsafe.Pointer) int {
	n := 0
	one := func(unsafe.Pointer) { n++ }
	pf.src.ops.diff(sp, dp, one, one)
	return n
}

// spanSize is how many source objects one task of compareAll compares, and
// parallelMin how many objects a diff must have before it uses more than
// one goroutine. Tests make them small.
var (
	spanSize    = 1 << 14
	parallelMin = 1 << 15
)

// compareAll compares every branch pair, cut into spans that run on up to
// GOMAXPROCS goroutines, and returns each pair's deltas in span order: the
// result, and so the plan, is the same however the work was shared.
func compareAll(pairs []*branchPair) [][]delta {
	type task struct{ pair, span int }
	spans := make([][]span, len(pairs))
	out := make([][]delta, len(pairs))
	objects, n := 0, 0
	for p, bp := range pairs {
		if bp.pp.idOK {
			spans[p] = bp.src.spans(bp.dst, spanSize)
			out[p] = make([]delta, len(spans[p]))
			objects += bp.src.Len() + bp.dst.Len()
			n += len(spans[p])
		}
	}
	tasks := make([]task, 0, n)
	for p := range spans {
		for s := range spans[p] {
			tasks = append(tasks, task{p, s})
		}
	}
	var next atomic.Int64
	work := func() {
		for {
			n := int(next.Add(1)) - 1
			if n >= len(tasks) {
				return
			}
			t := tasks[n]
			bp := pairs[t.pair]
			out[t.pair][t.span] = bp.src.compare(bp.dst, bp, spans[t.pair][t.span])
		}
	}
	workers := min(runtime.GOMAXPROCS(0), len(tasks))
	if objects < parallelMin {
		workers = 1
	}
	var wg sync.WaitGroup
	for range workers - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
	return out
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
				Value: pf.src.value(s), DestValue: pf.dst.value(d), Source: so, Dest: do,
				Secret: pf.src.secret || pf.dst.secret}) {
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
func keyString[K cmp.Ordered](k K) string { return idText(k) }

// idText formats an idnumber of any type, as an interface.
func idText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	}
	return fmt.Sprint(v)
}

// DiffObjects is the original's u1 - u2: the actions that make one
// destination object of the named branch equal to one source object, in the
// order Diff uses. S and D are object struct types; they may differ, as the
// two trees' types do. Model errors come first, as KindError actions.
// A nil src or dst gives one KindError action, err_nil_object, whose Err
// wraps ErrNilObject and names the nil side.
func DiffObjects[S, D any](branch string, src *S, dst *D) iter.Seq[Action] {
	return func(yield func(Action) bool) {
		if src == nil || dst == nil {
			what := "the source object is nil"
			switch {
			case src == nil && dst == nil:
				what = "both objects are nil"
			case dst == nil:
				what = "the destination object is nil"
			}
			yield(Action{Kind: KindError, Name: "err_nil_object", Branch: branch,
				Err: fmt.Errorf("%w: %s", ErrNilObject, what)})
			return
		}
		sp, err := planFor(reflect.TypeFor[S]())
		if err == nil {
			var dp *objPlan
			if dp, err = planFor(reflect.TypeFor[D]()); err == nil {
				pp, names := pairNames(branch, sp, dp)
				for _, a := range pp.problems {
					a.Branch = branch
					if !yield(a) {
						return
					}
				}
				id := fmt.Sprint(sp.fields[sp.id].value(unsafe.Pointer(src)))
				diffObjects(pp, names, branch, unsafe.Pointer(src), unsafe.Pointer(dst),
					func() (string, any, any) { return id, src, dst }, yield)
				return
			}
		}
		yield(Action{Kind: KindError, Name: "err_integrity", Branch: branch, Err: err})
	}
}

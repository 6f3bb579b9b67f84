package dss

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"unsafe"
)

// bind turns a decoded plan's JSON values into the trees' types, and
// refuses a plan that Datastore.Plan could not have made from these trees,
// naming the first action that disagrees. Source objects are decoded into
// the source's object types; destination objects are looked up in the
// re-imported destination, whose fingerprints apply has checked; values are
// converted to the attribute's type and must be what the source object
// holds and the destination lacks; the source counts must be what the
// actions and the destination make, so that the guards judge the plan by
// what it does. Values are left out of the errors when redact is set.
func bind(s, d *tree, p *Plan, redact bool) (*Plan, error) {
	if len(p.sources) != len(p.Actions) {
		return nil, errors.New("the decoded plan's actions were changed")
	}
	if err := sameModels(s, d); err != nil {
		return nil, err
	}
	for _, name := range slices.Sorted(maps.Keys(p.fingerprints)) {
		if _, ok := d.byName[name]; !ok {
			return nil, fmt.Errorf("the plan has a fingerprint of branch %s, which %s does not have", fmtBare(name), d.name)
		}
	}
	out := &Plan{Source: p.Source, Dest: p.Dest, SourceCounts: p.SourceCounts, Actions: slices.Clone(p.Actions)}
	b := &binder{s: s, d: d, redact: redact,
		sources: map[objectRef]boundSource{}, olds: map[objectRef]int{}, seen: map[actionKey]int{},
		created: map[string]int{}, deleted: map[string]int{}}
	for i := range out.Actions {
		a := &out.Actions[i]
		if err := b.action(i, a, p.sources[i]); err != nil {
			// A hand-edited file may hold a secret's value without saying
			// it is one: the models say which attributes are.
			return nil, fmt.Errorf("action %d %s: %w", i+1, a.message(redact || a.Secret || b.secretAttr(a)), err)
		}
	}
	if err := b.counts(p.SourceCounts); err != nil {
		return nil, err
	}
	order := make([]string, len(s.branches))
	for i, br := range s.branches {
		order[i] = br.Name()
	}
	sum, err := recount(order, p.SourceCounts, out.Actions)
	if err != nil {
		return nil, err
	}
	out.Summary = sum
	return out, nil
}

// binder is what bind knows of the actions it has checked so far.
type binder struct {
	s, d   *tree
	redact bool

	sources map[objectRef]boundSource // Diff gives one object's actions one source object
	olds    map[objectRef]int         // the action that deletes each object
	seen    map[actionKey]int         // each action, to refuse repeats
	created map[string]int            // new_<branch> actions per branch
	deleted map[string]int            // old_<branch> actions per branch
}

type objectRef struct{ branch, id string }

// boundSource is a source object a decoded plan carries.
type boundSource struct {
	at  int // the first action that carries it
	rec Record
	obj any
}

// actionKey tells actions apart: two with one key would do one thing twice.
type actionKey struct {
	kind             Kind
	branch, id, attr string
	value            any // the list element, for add and remove
}

// action checks action i, a, which carries the source object rec (nil for
// old_<branch>), and gives it its objects and typed values.
func (b *binder) action(i int, a *Action, rec Record) error {
	if a.Kind == KindError {
		return errors.New("a model error, which a saved plan never holds")
	}
	if err := checkShape(*a, rec != nil); err != nil {
		return err
	}
	sb, ok := b.s.byName[a.Branch]
	if !ok {
		return fmt.Errorf("the trees have no branch %s", fmtBare(a.Branch))
	}
	db := b.d.byName[a.Branch] // sameModels: the trees have the same branches
	o := objectRef{a.Branch, a.ID}
	var src unsafe.Pointer
	if rec != nil {
		var err error
		if src, err = b.source(i, a, sb, rec); err != nil {
			return err
		}
	}
	dst, err := b.dest(a, db)
	if err != nil {
		return err
	}
	key := actionKey{kind: a.Kind, branch: a.Branch, id: a.ID, attr: a.Attr}
	switch a.Kind {
	case KindNew:
		b.created[a.Branch]++
	case KindOld:
		if so, ok := b.sources[o]; ok {
			return fmt.Errorf("it deletes the object whose source object action %d carries", so.at+1)
		}
		b.olds[o] = i
		b.deleted[a.Branch]++
	default:
		if err := b.change(a, sb.objPlan(), db.objPlan(), src, dst); err != nil {
			return err
		}
		if a.Kind != KindUpdate {
			key.value = a.Value
		}
	}
	if j, ok := b.seen[key]; ok {
		return fmt.Errorf("it repeats action %d", j+1)
	}
	b.seen[key] = i
	return nil
}

// source decodes the source object rec that action i carries, once per
// object, and sets it as the action's Source.
func (b *binder) source(i int, a *Action, sb branch, rec Record) (unsafe.Pointer, error) {
	o := objectRef{a.Branch, a.ID}
	if j, ok := b.olds[o]; ok {
		return nil, fmt.Errorf("it carries a source object with the idnumber that action %d deletes", j+1)
	}
	so, ok := b.sources[o]
	if ok && !reflect.DeepEqual(rec, so.rec) {
		return nil, fmt.Errorf("it carries another source object than action %d, with the same idnumber", so.at+1)
	}
	sp := sb.objPlan()
	if !ok {
		pp := pairFor(sp, b.d.byName[a.Branch].objPlan())
		if err := exactKeys(sp, rec, pp.secret); err != nil {
			return nil, err
		}
		obj, err := sb.newObject(rec)
		if err != nil {
			return nil, fmt.Errorf("source object: %w", err)
		}
		if err := b.secrets(sb, pp, a.ID, reflect.ValueOf(obj).UnsafePointer()); err != nil {
			return nil, err
		}
		so = boundSource{at: i, rec: rec, obj: obj}
		b.sources[o] = so
	}
	a.Source = so.obj
	src := reflect.ValueOf(so.obj).UnsafePointer()
	if id := idText(sp.fields[sp.id].value(src)); id != a.ID {
		return nil, fmt.Errorf("the source object's idnumber is %s", fmtID(id))
	}
	return src, nil
}

// secrets fills the secret fields of a source object decoded from a plan
// file, which leaves them out, from the object with its idnumber in the
// source as imported now: a plan with secrets applies only after the source
// is imported.
func (b *binder) secrets(sb branch, pp *pairPlan, id string, obj unsafe.Pointer) error {
	if len(pp.secret) == 0 {
		return nil
	}
	key := pp.src.fields[pp.secret[0]].key
	if err := b.s.ready(); err != nil {
		return fmt.Errorf("the source object's secret attribute %q is not in the plan, it is taken from the imported source: %w", key, err)
	}
	live, ok := sb.lookup(id)
	if !ok {
		return fmt.Errorf("the source object's secret attribute %q is not in the plan, and %s as imported now has no object with this idnumber to take it from",
			key, b.s.name)
	}
	lp := reflect.ValueOf(live).UnsafePointer()
	for _, fi := range pp.secret {
		f := &pp.src.fields[fi]
		reflect.NewAt(f.typ, f.ptr(obj)).Elem().Set(reflect.NewAt(f.typ, f.ptr(lp)).Elem())
	}
	return nil
}

// dest finds the destination object of the action, which must exist unless
// the action creates it, and sets it as the action's Dest.
func (b *binder) dest(a *Action, db branch) (unsafe.Pointer, error) {
	obj, found := db.lookup(a.ID)
	switch {
	case a.Kind == KindNew && found:
		return nil, errors.New("the destination has an object with this idnumber already")
	case a.Kind != KindNew && !found:
		return nil, errors.New("the destination has no object with this idnumber")
	case !found:
		return nil, nil
	}
	dst := reflect.ValueOf(obj).UnsafePointer()
	dp := db.objPlan()
	if id := idText(dp.fields[dp.id].value(dst)); id != a.ID {
		return nil, fmt.Errorf("the destination object's idnumber is %s", fmtID(id))
	}
	a.Dest = obj
	return dst, nil
}

// change checks an update, add or remove against the two objects, and
// converts its values to the attribute's type.
func (b *binder) change(a *Action, sp, dp *objPlan, src, dst unsafe.Pointer) error {
	df, ok := dp.field(a.Attr)
	if !ok || df.private || df.key == IDKey || df.list != (a.Kind != KindUpdate) {
		what := "scalar"
		if a.Kind != KindUpdate {
			what = "list"
		}
		return fmt.Errorf("branch %s has no synced %s attribute %q", fmtBare(a.Branch), what, a.Attr)
	}
	sf, _ := sp.field(a.Attr) // sameModels: a twin of the same type
	if secret := sf.secret || df.secret; secret != a.Secret {
		if secret {
			return fmt.Errorf("attribute %q is secret, and the plan does not say so", a.Attr)
		}
		return fmt.Errorf("attribute %q is not secret, and the plan says it is", a.Attr)
	}
	if a.Secret {
		// The value is the source object's, which secrets took from the
		// imported source: the plan holds none.
		if sf.equal(sf.ptr(src), df.ptr(dst)) {
			return errors.New("the destination holds the imported source's secret value already")
		}
		a.Value, a.DestValue = sf.value(src), df.value(dst)
		return nil
	}
	t := df.typ
	if df.list {
		t = df.elem
	}
	v := reflect.New(t)
	if err := assign(v.UnsafePointer(), t, a.Value); err != nil {
		return err
	}
	a.Value = v.Elem().Interface()
	switch a.Kind {
	case KindUpdate:
		if !sf.equal(sf.ptr(src), v.UnsafePointer()) {
			return fmt.Errorf("the value is not the source object's, %s", b.show(sf.value(src)))
		}
		if df.equal(df.ptr(dst), v.UnsafePointer()) {
			return errors.New("the destination holds this value already")
		}
		dv := reflect.New(t)
		if err := assign(dv.UnsafePointer(), t, a.DestValue); err != nil || !df.equal(df.ptr(dst), dv.UnsafePointer()) {
			return fmt.Errorf("dest_value is not the destination's value, %s", b.show(df.value(dst)))
		}
		a.DestValue = df.value(dst)
	case KindAdd:
		if !listHolds(sf, src, v.Elem()) {
			return errors.New("the source object's list does not hold the value")
		}
		if listHolds(df, dst, v.Elem()) {
			return errors.New("the destination's list holds the value already")
		}
	case KindRemove:
		if listHolds(sf, src, v.Elem()) {
			return errors.New("the source object's list holds the value")
		}
		if !listHolds(df, dst, v.Elem()) {
			return errors.New("the destination's list does not hold the value")
		}
	}
	return nil
}

// secretAttr reports whether the attribute of action a is secret in the
// trees' models.
func (b *binder) secretAttr(a *Action) bool {
	sb, ok := b.s.byName[a.Branch]
	db, ok2 := b.d.byName[a.Branch]
	return ok && ok2 && pairFor(sb.objPlan(), db.objPlan()).secretKey(a.Attr)
}

// show is a value for an error, or "[redacted]".
func (b *binder) show(v any) string {
	if b.redact {
		return "[redacted]"
	}
	return fmtValue(v)
}

// counts checks the plan's source counts against what its actions make:
// every source object is either created or has a twin in the destination,
// and every destination object that is not deleted has a twin, so the
// count the empty-source guard reads is the actions' own.
func (b *binder) counts(sourceCounts map[string]int) error {
	for _, sb := range b.s.branches {
		name := sb.Name()
		n, ok := sourceCounts[name]
		if !ok {
			return fmt.Errorf("the plan has no source count of branch %s", fmtBare(name))
		}
		db := b.d.byName[name]
		created, deleted, of := b.created[name], b.deleted[name], db.Len()
		if db.keepUnmatched() {
			// Objects only the destination has stay: the count is at least
			// what is created, at most that and the whole destination.
			if deleted > 0 {
				return fmt.Errorf("the plan deletes from branch %s, which keeps what only the destination has", fmtBare(name))
			}
			if n < created || n > created+of {
				return fmt.Errorf("the plan's source count of branch %s is %d, and its actions make %d to %d",
					fmtBare(name), n, created, created+of)
			}
			continue
		}
		if n != created+of-deleted {
			return fmt.Errorf("the plan's source count of branch %s is %d, and its actions make %d: %d created, and %d of the destination's %d not deleted",
				fmtBare(name), n, created+of-deleted, created, of-deleted, of)
		}
	}
	return nil
}

package dss

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
)

// ErrNotKept is wrapped by Verify's error when the destination does not
// hold what Apply wrote.
var ErrNotKept = errors.New("the destination did not keep what was applied")

// A KeysImporter is the optional upgrade of an Importer that can import the
// objects of some idnumbers only, so that [Datastore.Verify] reads back what
// Apply wrote rather than the whole branch. ImportKeys yields the records of
// those objects as Import would, and no others; ids are idnumbers as text,
// as in [Action].ID.
type KeysImporter interface {
	Importer
	ImportKeys(ctx context.Context, ids []string, yield func(Record) error) error
}

// Verify reads the destination again after Apply, before the program
// commits, and checks that every object the report's plan touched now
// equals the plan's source object, and that every object an old_ action
// deleted is gone. Some destinations do not keep a value as it
// was written: a timestamp column drops the offset, a float column keeps a
// float32, char(n) pads, a trigger rewrites. Such a destination never
// converges, and every run would apply the same changes again without a
// word; Verify makes it an error instead, so that the program can roll back.
//
// The destination tree is imported again, through the same importers, so a
// transaction's importers see its uncommitted writes. A branch whose
// importer is a [KeysImporter] reads back only the touched objects, unless
// they are more than 100 and more than an eighth of the branch (an initial
// load), which one query of the whole branch reads faster; any other branch
// is imported whole. An object with an action that failed, was not
// implemented or was not reached is not checked. Afterwards, the
// destination must be imported again before the next Plan.
//
// r must be the Report of this datastore's last Apply. Verify returns nil,
// an import's error, or an error wrapping ErrNotKept that counts the
// differences left and names the first: values are redacted when the
// destination tree redacts them.
func (ds *Datastore[S, D]) Verify(ctx context.Context, r *Report) error {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	s, d := &ds.Source.t, &ds.Dest.t
	if r == nil || r.dest != d || len(r.applied) != len(r.Plan) {
		return fmt.Errorf("dss: verify %s: the report is not one of this datastore's Apply", d.name)
	}
	objs, ids := touched(r)
	s.mu.RLock()
	d.mu.RLock()
	for name, some := range ids {
		if len(some) > keyedMin && len(some)*keyedShare > max(branchLen(s, name), branchLen(d, name)) {
			ids[name] = nil // most of the branch: one query for all is faster
		}
	}
	d.mu.RUnlock()
	s.mu.RUnlock()
	if err := d.importKeys(ctx, ids, ds.Dest.RedactValues); err != nil {
		return fmt.Errorf("dss: verify %s: %w", d.name, err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	d.mu.RLock()
	defer d.mu.RUnlock()
	var left []Action
	pairs := map[string]pairing{}
	for _, i := range objs {
		left = append(left, notKept(s, d, r.Plan[i], pairs)...)
	}
	if len(left) == 0 {
		return nil
	}
	first := left[0].message(d.redact || left[0].Secret)
	if left[0].Kind == KindUpdate && !d.redact && !left[0].Secret {
		first += " (the destination holds " + strconv.Quote(fmt.Sprint(left[0].DestValue)) + ")"
	}
	return fmt.Errorf("dss: verify %s: %w: after %d actions were applied, %d differences are left, the first: %s",
		d.name, ErrNotKept, r.Applied, len(left), first)
}

// Verify reads the touched objects of a branch back by idnumber when they
// are at most keyedMin, or at most one in keyedShare of the branch's
// objects; a branch with more of them touched is imported whole. Reading by
// key costs several times more per row than one query of the whole table
// (after an initial load of 100,000 users into PostgreSQL: 1.9 s against
// 0.3 s).
const (
	keyedMin   = 100
	keyedShare = 8
)

// branchLen returns the number of objects in t's branch name, 0 when t has
// no such branch.
func branchLen(t *tree, name string) int {
	if b := t.byName[name]; b != nil {
		return b.Len()
	}
	return 0
}

// touched returns the index in r's plan of the first action of each object
// whose every action was applied, in plan order, and those objects'
// idnumbers by branch. An object with an action that failed, was not
// implemented or was not reached is left out: it is not expected to equal
// its source.
func touched(r *Report) ([]int, map[string][]string) {
	type ref struct{ branch, id string }
	first := make(map[ref]int, len(r.Plan)) // -1: an action was not applied
	for i, a := range r.Plan {
		k := ref{a.Branch, a.ID}
		if _, seen := first[k]; !r.applied[i] {
			first[k] = -1
		} else if !seen {
			first[k] = i
		}
	}
	objs := make([]int, 0, len(first))
	ids := map[string][]string{}
	for i, a := range r.Plan {
		if first[ref{a.Branch, a.ID}] == i {
			objs = append(objs, i)
			ids[a.Branch] = append(ids[a.Branch], a.ID)
		}
	}
	return objs, ids
}

// importKeys imports the tree again, for Verify. A branch whose importer is
// a KeysImporter reads the idnumbers ids lists for it: none when ids has no
// entry for it, the whole branch when its entry is nil. Any other branch is
// imported whole.
func (t *tree) importKeys(ctx context.Context, ids map[string][]string, redact bool) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.begin(redact)
	partial := false
	for _, b := range t.branches {
		var imp Importer
		if ki, ok := b.importer().(KeysImporter); ok {
			some, ok := ids[b.Name()]
			switch {
			case !ok: // untouched: read nothing
				imp = ImporterFunc(func(context.Context, func(Record) error) error { return nil })
				partial = true
			case some != nil:
				imp = ImporterFunc(func(ctx context.Context, yield func(Record) error) error {
					return ki.ImportKeys(ctx, some, yield)
				})
				partial = true
			}
		}
		if err := b.run(ctx, imp, nil); err != nil {
			return t.end(err)
		}
	}
	err := t.end(nil)
	if partial {
		t.state = stateApplied // it holds some objects only: no plan from it
	}
	return err
}

// pairing is what notKept compares a branch's objects with, made once per
// branch.
type pairing struct {
	pp    *pairPlan
	names []attrNames
}

// notKept returns what is left to do to the object of a, the first applied
// action on it, for the destination to equal the plan's source object: its
// new_ action when it is missing, its attribute actions when it differs,
// a itself when a deleted it and it is still there. pairs keeps each
// branch's pairing.
func notKept(s, d *tree, a Action, pairs map[string]pairing) []Action {
	sb, db := s.byName[a.Branch], d.byName[a.Branch]
	if db == nil { // Apply binds no action to a branch the trees lack
		return []Action{a}
	}
	dst, found := db.lookup(a.ID)
	if a.Kind == KindOld {
		if found {
			return []Action{a}
		}
		return nil
	}
	src := a.Source
	if sb == nil || !isObject(src, sb.objPlan()) {
		return []Action{a} // no source object of the branch's type to compare with
	}
	if !found {
		return []Action{{Kind: KindNew, Name: newName(a.Branch), Branch: a.Branch, ID: a.ID, Source: src}}
	}
	if !isObject(dst, db.objPlan()) {
		return []Action{a}
	}
	p, ok := pairs[a.Branch]
	if !ok {
		p.pp, p.names = pairNames(a.Branch, sb.objPlan(), db.objPlan())
		pairs[a.Branch] = p
	}
	var left []Action
	diffObjects(p.pp, p.names, a.Branch, reflect.ValueOf(src).UnsafePointer(), reflect.ValueOf(dst).UnsafePointer(),
		func() (string, any, any) { return a.ID, src, dst },
		func(x Action) bool { left = append(left, x); return true })
	return left
}

// isObject reports whether v is a non-nil pointer to an object of p's type.
func isObject(v any, p *objPlan) bool {
	rv := reflect.ValueOf(v)
	return rv.IsValid() && rv.Type() == reflect.PointerTo(p.typ) && !rv.IsNil()
}

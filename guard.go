package dss

import (
	"errors"
	"fmt"
	"reflect"
)

// Guard holds a destination branch's safety limits. Datastore.Plan judges
// every plan by them when it makes it, and a plan that breaks one is refused
// whole by Datastore.Apply, with a *GuardError (see Plan.Refusal). The zero
// Guard is the defaults.
type Guard struct {
	// MaxDeletes limits old_<branch> actions: 0 means DefaultMaxDeletes,
	// -1 means no limit. Below -1 is invalid.
	MaxDeletes int
	// MaxDeleteFraction limits old_<branch> actions as a fraction of the
	// destination branch, from 0 to 1: 0 means DefaultMaxDeleteFraction, 1
	// means no limit. Below 0, above 1 and NaN are invalid. Like every
	// fraction limit it applies only to plans with more than GuardFloor
	// such actions, so that small branches can change by a handful of
	// objects.
	MaxDeleteFraction float64
	// MaxRemoves and MaxRemoveFraction limit the list elements a plan
	// removes from the destination branch, as a count and as a fraction of
	// all list elements in it, with the same conventions: one per
	// remove_<attr>_from_<branch> action, and every element of every object
	// an old_<branch> action deletes (deleting a group removes all its
	// members).
	MaxRemoves        int
	MaxRemoveFraction float64
	// AllowEmptySource lets a plan proceed when the source branch imported
	// nothing while the destination branch is not empty. By default that is
	// refused: a truncated export must never wipe the destination.
	AllowEmptySource bool
}

// The default limits: Microsoft's directory sync also refuses an export
// past 500 deletions by default.
const (
	DefaultMaxDeletes        = 500
	DefaultMaxDeleteFraction = 0.5
	DefaultMaxRemoves        = 1000
	DefaultMaxRemoveFraction = 0.5
	// GuardFloor is the number of deletions (or list removals) in a branch
	// that the fraction limits always allow.
	GuardFloor = 10
)

// ErrGuard is wrapped by every *GuardError.
var ErrGuard = errors.New("refused by the branch's guard")

// ErrInvalidGuard is wrapped by the refusal of a plan whose destination has
// a branch with an invalid Guard.
var ErrInvalidGuard = errors.New("invalid guard")

// check returns an error wrapping ErrInvalidGuard for the first limit of g
// that is out of its range, or nil.
func (g Guard) check() error {
	for _, c := range []struct {
		name string
		n    int
	}{{"MaxDeletes", g.MaxDeletes}, {"MaxRemoves", g.MaxRemoves}} {
		if c.n < -1 {
			return fmt.Errorf("%w: %s is %d, want -1 (no limit), 0 (the default) or more", ErrInvalidGuard, c.name, c.n)
		}
	}
	for _, c := range []struct {
		name string
		f    float64
	}{{"MaxDeleteFraction", g.MaxDeleteFraction}, {"MaxRemoveFraction", g.MaxRemoveFraction}} {
		if !(c.f >= 0 && c.f <= 1) { // NaN too
			return fmt.Errorf("%w: %s is %v, want a fraction from 0 (the default) to 1 (no limit)", ErrInvalidGuard, c.name, c.f)
		}
	}
	return nil
}

// GuardError says which limit a plan broke, and nothing was applied.
type GuardError struct {
	Tree, Branch string
	Rule         string  // "deletes", "list removals" or "empty source"
	Count        int     // objects (or list elements) the plan removes
	Of           int     // objects (or list elements) in the destination branch
	Limit        int     // the count limit in force
	Fraction     float64 // the fraction limit in force
}

// Error names the tree, branch and rule, the count and the limit.
func (e *GuardError) Error() string {
	if e.Rule == "empty source" {
		return fmt.Sprintf("dss: %s.%s: %v: the source branch is empty and the destination holds %d objects (set Guard.AllowEmptySource to allow it); nothing applied",
			e.Tree, e.Branch, ErrGuard, e.Of)
	}
	return fmt.Sprintf("dss: %s.%s: %v: the plan has %d %s of %d (%.1f%%), the limit is %d or %.0f%% (raise the branch's Guard to allow it); nothing applied",
		e.Tree, e.Branch, ErrGuard, e.Count, e.Rule, e.Of, 100*float64(e.Count)/float64(max(e.Of, 1)), e.Limit, 100*e.Fraction)
}

// Unwrap returns ErrGuard.
func (e *GuardError) Unwrap() error { return ErrGuard }

func limits(n int, f float64, defN int, defF float64) (int, float64) {
	if n == 0 {
		n = defN
	}
	if f == 0 {
		f = defF
	}
	return n, f
}

func exceeds(count, of, limit int, frac float64) bool {
	if limit >= 0 && count > limit {
		return true
	}
	return frac < 1 && count > GuardFloor && float64(count) > frac*float64(of)
}

// checkGuards checks the plan against the guards of d's branches.
func checkGuards(p *Plan, d *tree) error {
	deletes, removes := map[string]int{}, map[string]int{}
	for _, a := range p.Actions {
		switch a.Kind {
		case KindOld:
			deletes[a.Branch]++
			removes[a.Branch] += listElems(a.Dest)
		case KindRemove:
			removes[a.Branch]++
		}
	}
	for _, b := range d.branches {
		if err := b.guard().check(); err != nil {
			return fmt.Errorf("dss: %s.%s: %w; nothing applied", d.name, b.Name(), err)
		}
	}
	for _, b := range d.branches {
		g := b.guard()
		name := b.Name()
		if n, ok := p.SourceCounts[name]; ok && n == 0 && b.Len() > 0 && !g.AllowEmptySource && !b.keepUnmatched() {
			return &GuardError{Tree: d.name, Branch: name, Rule: "empty source", Of: b.Len()}
		}
		if n := deletes[name]; n > 0 {
			limit, frac := limits(g.MaxDeletes, g.MaxDeleteFraction, DefaultMaxDeletes, DefaultMaxDeleteFraction)
			if exceeds(n, b.Len(), limit, frac) {
				return &GuardError{Tree: d.name, Branch: name, Rule: "deletes", Count: n, Of: b.Len(), Limit: limit, Fraction: frac}
			}
		}
		if n := removes[name]; n > 0 {
			limit, frac := limits(g.MaxRemoves, g.MaxRemoveFraction, DefaultMaxRemoves, DefaultMaxRemoveFraction)
			if of := branchListElems(b); exceeds(n, of, limit, frac) {
				return &GuardError{Tree: d.name, Branch: name, Rule: "list removals", Count: n, Of: of, Limit: limit, Fraction: frac}
			}
		}
	}
	return nil
}

// branchListElems counts the elements of every list attribute of every
// object in the branch.
func branchListElems(b branch) int {
	p := b.objPlan()
	if len(p.lists) == 0 {
		return 0
	}
	n := 0
	for obj := range b.objects() {
		for _, i := range p.lists {
			f := &p.fields[i]
			n += reflect.NewAt(f.typ, f.ptr(obj)).Elem().Len()
		}
	}
	return n
}

// listElems counts the elements of every list attribute of obj, a pointer
// to an object, or nil.
func listElems(obj any) int {
	rv := reflect.ValueOf(obj)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return 0
	}
	p, err := planFor(rv.Type().Elem())
	if err != nil {
		return 0
	}
	n := 0
	for _, i := range p.lists {
		f := &p.fields[i]
		n += reflect.NewAt(f.typ, f.ptr(rv.UnsafePointer())).Elem().Len()
	}
	return n
}

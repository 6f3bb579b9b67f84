package dss

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
)

// ErrPanic is wrapped by the error of a template method that panicked.
var ErrPanic = errors.New("template method panicked")

// ActionError is the failure of one action: its template method returned an
// error or panicked, or the action is a model error.
type ActionError struct {
	Action Action
	Err    error

	redact bool
}

func (e *ActionError) Error() string {
	return fmt.Sprintf("dss: %s: %v", e.Action.message(e.redact), e.Err)
}

// Unwrap returns the cause.
func (e *ActionError) Unwrap() error { return e.Err }

// Report says what Apply did. Plan holds every action of the plan, in
// order; Apply attempted Plan[:Attempted] and did not reach the rest.
type Report struct {
	Plan           []Action
	Attempted      int            // actions Apply reached (applied, failed or not implemented)
	Applied        int            // actions whose template method succeeded
	Failed         []ActionError  // actions that failed, in order, each with its error
	NotImplemented map[string]int // action name -> count, for actions without a method
}

// NotApplied returns the actions Apply did not reach because it was stopped.
func (r *Report) NotApplied() []Action { return r.Plan[r.Attempted:] }

// String summarises the report in one line per fact.
func (r *Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d actions applied, %d failed", r.Applied, len(r.Plan), len(r.Failed))
	if n := len(r.Plan) - r.Attempted; n > 0 {
		fmt.Fprintf(&b, ", %d not reached", n)
	}
	for _, name := range slices.Sorted(maps.Keys(r.NotImplemented)) {
		fmt.Fprintf(&b, "\nnot implemented: %s (%d)", name, r.NotImplemented[name])
	}
	for _, f := range r.Failed {
		fmt.Fprintf(&b, "\nfailed: %s: %v", f.Action.message(f.redact), f.Err)
	}
	return b.String()
}

// ApplyOption changes how Apply runs.
type ApplyOption func(*applyConfig)

type applyConfig struct {
	stopOnError bool
}

// StopOnError makes Apply stop at the first failed action instead of going
// on with the next.
func StopOnError() ApplyOption { return func(c *applyConfig) { c.stopOnError = true } }

// Apply is the original's source >> dest: it computes the plan t.Diff(dst)
// and calls, for each action in order, the method of dst's template named
// after it (see SetTemplate).
//
// Apply refuses to start, changing nothing, when either tree's last Import
// failed, dst has no template, or the plan breaks the Guard of one of dst's
// branches (too many deletions or list removals, or an empty source branch).
// Then it goes through the whole plan:
// an action whose method returns an error or panics is recorded as failed
// and Apply goes on (or stops, with StopOnError); an action without a method
// is counted as not implemented; a model error (KindError) is a failure and
// is not dispatched. Cancelling ctx stops Apply between two actions.
//
// The Report says what was applied, what failed and what was not reached.
// The error is nil only if every reached action was applied or not
// implemented and Apply was not stopped.
func (t *Tree[T]) Apply(ctx context.Context, dst AnyTree, opts ...ApplyOption) (*Report, error) {
	s, d := &t.t, dst.core()
	if tr := failedImport(s, d); tr != nil {
		return nil, fmt.Errorf("dss: apply %s to %s: import of %s failed, nothing applied: %w", s.name, d.name, tr.name, tr.importErr)
	}
	if err := hasTemplate(s, d); err != nil {
		return nil, err
	}
	return run(ctx, s, d, makePlan(s, d), t.redact(d), opts)
}

// redact reports whether values stay out of Apply's errors: when either
// tree asks for it.
func (t *Tree[T]) redact(d *tree) bool { return t.RedactValues || t.t.redact || d.redact }

// hasTemplate refuses to apply to a destination without a template, before
// any plan is made.
func hasTemplate(s, d *tree) error {
	if d.tmpl == nil {
		return fmt.Errorf("dss: apply %s to %s: tree %s has no template (call SetTemplate), nothing applied", s.name, d.name, d.name)
	}
	return nil
}

// ApplyPlan applies a plan made earlier by Plan, perhaps by another run that
// saved it as JSON. dst must have been imported again; ApplyPlan refuses the
// plan, applying nothing, if dst's branches are not exactly as they were when
// the plan was made (their fingerprints differ), so that what was reviewed is
// what is applied. t supplies the source object types; it need not be
// imported. Otherwise ApplyPlan works as Apply does.
func (t *Tree[T]) ApplyPlan(ctx context.Context, dst AnyTree, p *Plan, opts ...ApplyOption) (*Report, error) {
	s, d := &t.t, dst.core()
	fail := func(err error) (*Report, error) {
		return nil, fmt.Errorf("dss: apply plan %s to %s: %w; nothing applied", p.Source, p.Dest, err)
	}
	if p.Source != s.name || p.Dest != d.name {
		return fail(fmt.Errorf("the trees are %s and %s", s.name, d.name))
	}
	if tr := failedImport(s, d); tr != nil {
		return fail(fmt.Errorf("import of %s failed: %w", tr.name, tr.importErr))
	}
	if err := hasTemplate(s, d); err != nil {
		return nil, err
	}
	if p.Fingerprints == nil {
		return fail(errors.New("the plan has no fingerprints (make it with Tree.Plan)"))
	}
	for _, b := range d.branches {
		if p.Fingerprints[b.Name()] != fingerprint(b) {
			return fail(fmt.Errorf("%w: branch %s changed since the plan was made", ErrDrift, b.Name()))
		}
	}
	redact := t.redact(d)
	bound, err := bind(s, d, p, redact)
	if err != nil {
		return fail(err)
	}
	return run(ctx, s, d, bound, redact, opts)
}

// ErrDrift is wrapped by ApplyPlan's error when the destination changed
// since the plan was made.
var ErrDrift = errors.New("the destination drifted")

// bind turns a decoded plan's JSON values into the trees' types: source
// objects are decoded into the source's object types, destination objects
// are looked up in the re-imported destination, values are converted to the
// attribute's type.
func bind(s, d *tree, p *Plan, redact bool) (*Plan, error) {
	if p.sources == nil {
		return p, nil
	}
	out := *p
	out.Actions = slices.Clone(p.Actions)
	out.sources = nil
	// Diff puts an object's actions side by side and gives them one source
	// object; decoding each action's record anew would not.
	var lastBranch, lastID string
	var lastSource any
	for i := range out.Actions {
		a := &out.Actions[i]
		if a.Kind == KindError {
			continue
		}
		where := func(err error) error { return fmt.Errorf("action %d %s: %w", i+1, a.message(redact), err) }
		sb, ok1 := s.byName[a.Branch]
		db, ok2 := d.byName[a.Branch]
		if !ok1 || !ok2 {
			return nil, where(fmt.Errorf("%w: %s", ErrNoBranch, a.Branch))
		}
		if rec := p.sources[i]; rec != nil {
			if lastSource == nil || a.Branch != lastBranch || a.ID != lastID {
				obj, err := sb.newObject(rec)
				if err != nil {
					return nil, where(err)
				}
				lastBranch, lastID, lastSource = a.Branch, a.ID, obj
			}
			a.Source = lastSource
		}
		if a.Kind == KindNew {
			continue
		}
		obj, ok := db.lookup(a.ID)
		if !ok {
			return nil, where(fmt.Errorf("%w: no object with this idnumber", ErrDrift))
		}
		a.Dest = obj
		if a.Kind == KindOld {
			continue
		}
		f, ok := db.objPlan().field(a.Attr)
		if !ok {
			return nil, where(fmt.Errorf("%w: %q", ErrNoAttr, a.Attr))
		}
		t := f.typ
		if f.list {
			t = f.elem
		}
		v := reflect.New(t)
		if err := assign(v.UnsafePointer(), t, a.Value); err != nil {
			return nil, where(err)
		}
		a.Value = v.Elem().Interface()
		if a.Kind == KindUpdate {
			a.DestValue = f.value(reflect.ValueOf(obj).UnsafePointer())
		} else {
			a.DestValue = nil
		}
	}
	return &out, nil
}

// run checks the guards, then dispatches every action of the plan.
func run(ctx context.Context, s, d *tree, p *Plan, redact bool, opts []ApplyOption) (*Report, error) {
	var cfg applyConfig
	for _, o := range opts {
		o(&cfg)
	}
	if err := checkGuards(p, d); err != nil {
		return nil, err
	}
	r := &Report{Plan: p.Actions, NotImplemented: map[string]int{}}
	for i, a := range r.Plan {
		if err := ctx.Err(); err != nil {
			return r, fmt.Errorf("dss: apply %s to %s: stopped after %d of %d actions: %w", s.name, d.name, i, len(r.Plan), err)
		}
		r.Attempted = i + 1
		var err error
		if a.Kind == KindError {
			err = a.Err
		} else if m, ok := d.tmpl.methods[a.Name]; !ok {
			r.NotImplemented[a.Name]++
			continue
		} else {
			err = call(ctx, m, a)
		}
		if err == nil {
			r.Applied++
			continue
		}
		r.Failed = append(r.Failed, ActionError{Action: a, Err: err, redact: redact})
		if cfg.stopOnError {
			return r, fmt.Errorf("dss: apply %s to %s: stopped at the first failure: %w", s.name, d.name, &r.Failed[len(r.Failed)-1])
		}
	}
	if n := len(r.Failed); n > 0 {
		return r, fmt.Errorf("dss: apply %s to %s: %d of %d actions failed, the first: %w", s.name, d.name, n, len(r.Plan), &r.Failed[0])
	}
	return r, nil
}

// call runs one template method, turning a panic into an error.
func call(ctx context.Context, m templateMethod, a Action) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v", ErrPanic, p)
		}
	}()
	return m(ctx, a)
}

package dss

import (
	"context"
	"errors"
	"fmt"
	"maps"
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
}

func (e *ActionError) Error() string { return fmt.Sprintf("dss: %v: %v", e.Action, e.Err) }

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
		fmt.Fprintf(&b, "\nfailed: %v: %v", f.Action, f.Err)
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
// failed or dst has no template. Then it goes through the whole plan:
// an action whose method returns an error or panics is recorded as failed
// and Apply goes on (or stops, with StopOnError); an action without a method
// is counted as not implemented; a model error (KindError) is a failure and
// is not dispatched. Cancelling ctx stops Apply between two actions.
//
// The Report says what was applied, what failed and what was not reached.
// The error is nil only if every reached action was applied or not
// implemented and Apply was not stopped.
func (t *Tree[T]) Apply(ctx context.Context, dst AnyTree, opts ...ApplyOption) (*Report, error) {
	var cfg applyConfig
	for _, o := range opts {
		o(&cfg)
	}
	s, d := &t.t, dst.core()
	for _, tr := range []*tree{s, d} {
		if tr.importErr != nil {
			return nil, fmt.Errorf("dss: apply %s to %s: import of %s failed, nothing applied: %w", s.name, d.name, tr.name, tr.importErr)
		}
	}
	if d.tmpl == nil {
		return nil, fmt.Errorf("dss: apply %s to %s: tree %s has no template (call SetTemplate), nothing applied", s.name, d.name, d.name)
	}
	r := &Report{Plan: slices.Collect(diffTrees(s, d)), NotImplemented: map[string]int{}}
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
		r.Failed = append(r.Failed, ActionError{Action: a, Err: err})
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

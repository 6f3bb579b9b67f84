package dss

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"
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

// Error names the action (values redacted when the trees redact them) and the cause.
func (e *ActionError) Error() string {
	return fmt.Sprintf("dss: %s: %s", e.Action.message(e.redact), escapeText(fmt.Sprint(e.Err)))
}

// Unwrap returns the cause.
func (e *ActionError) Unwrap() error { return e.Err }

// Report says what Apply did. Plan holds every action of the plan, in
// order; Apply attempted Plan[:Attempted] and did not reach the rest.
type Report struct {
	Plan           []Action
	Attempted      int            // actions Apply reached (applied, failed or not implemented)
	Applied        int            // actions the template applied
	Failed         []ActionError  // actions that failed, in order, each with its error
	NotImplemented map[string]int // action name -> count, for actions without a method (AllowPartial)
}

// NotApplied returns the actions Apply did not reach because it was stopped.
func (r *Report) NotApplied() []Action { return r.Plan[r.Attempted:] }

// LogValue makes log/slog write the report as String does, whatever the
// handler, so that a JSON handler does not write the actions' values.
func (r *Report) LogValue() slog.Value { return slog.StringValue(r.String()) }

// maxReportedFailures is how many failures Report.String lists one by one.
const maxReportedFailures = 10

// String summarises the report in one line per fact, listing at most the
// first ten failures.
func (r *Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d actions applied, %d failed", r.Applied, len(r.Plan), len(r.Failed))
	if n := len(r.Plan) - r.Attempted; n > 0 {
		fmt.Fprintf(&b, ", %d not reached", n)
	}
	for _, name := range slices.Sorted(maps.Keys(r.NotImplemented)) {
		fmt.Fprintf(&b, "\nnot implemented: %s (%d)", fmtName(name), r.NotImplemented[name])
	}
	for i, f := range r.Failed {
		if i == maxReportedFailures {
			fmt.Fprintf(&b, "\n... and %d more failures", len(r.Failed)-i)
			break
		}
		fmt.Fprintf(&b, "\nfailed: %s: %s", f.Action.message(f.redact), escapeText(fmt.Sprint(f.Err)))
	}
	return b.String()
}

// ApplyOption changes how Apply runs.
type ApplyOption func(*applyConfig)

type applyConfig struct {
	stopOnError  bool
	allowPartial bool
}

// StopOnError makes Apply stop at the first failed action instead of going
// on with the next.
func StopOnError() ApplyOption { return func(c *applyConfig) { c.stopOnError = true } }

// AllowPartial lets Apply run a plan that holds actions the template does
// not implement: they are skipped and counted in Report.NotImplemented.
// Without it, Apply refuses such a plan before the first action.
func AllowPartial() ApplyOption { return func(c *applyConfig) { c.allowPartial = true } }

// apply checks everything that can refuse the plan, then dispatches it.
func apply(ctx context.Context, s, d *tree, p *Plan, tmpl Template, obs *observer, opts []ApplyOption) (*Report, error) {
	var cfg applyConfig
	for _, o := range opts {
		o(&cfg)
	}
	fail := func(err error) (*Report, error) {
		return nil, fmt.Errorf("dss: apply %s to %s: %w; nothing applied", s.name, d.name, err)
	}
	switch {
	case p == nil:
		return fail(errors.New("the plan is nil"))
	case tmpl == nil:
		return fail(errors.New("the template is nil"))
	case p.spent:
		return fail(ErrSpent)
	}
	if err := d.ready(); err != nil {
		return fail(err)
	}
	redact := s.redact || d.redact
	bound := p
	if p.decoded {
		if p.Source != s.name || p.Dest != d.name {
			return fail(fmt.Errorf("the plan is for %s to %s", p.Source, p.Dest))
		}
		for _, b := range d.branches {
			if p.fingerprints[b.Name()] != fingerprint(b, s) {
				return fail(fmt.Errorf("%w: branch %s changed since the plan was made", ErrDrift, b.Name()))
			}
		}
		var err error
		if bound, err = bind(s, d, p, redact); err != nil {
			return fail(err)
		}
	} else {
		if p.s != s || p.d != d {
			return fail(errors.New("the plan was made by another datastore"))
		}
		if err := s.ready(); err != nil {
			return fail(err)
		}
		if p.srcGen != s.gen || p.dstGen != d.gen {
			return fail(fmt.Errorf("%w: a tree was imported again since it was made", ErrStale))
		}
	}
	// The verdict made with the plan; then what will be dispatched is
	// judged: a decoded plan against this destination, and a plan made here
	// once more, since its actions are exported.
	if err := p.refusal; err != nil {
		return nil, err
	}
	if err := judge(bound, d); err != nil {
		return nil, err
	}
	if r, ok := tmpl.(resolver); ok {
		rt, err := r.resolveFor(d)
		if err != nil {
			return nil, err
		}
		tmpl = rt
	}
	if !cfg.allowPartial {
		if err := missing(bound.Actions, tmpl); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	r, err := run(ctx, s, d, p, bound.Actions, tmpl, redact, cfg, obs)
	obs.applied(d, r, time.Since(start), err)
	return r, err
}

// takes reports whether tmpl handles a: a combination asks its parts, with
// the branch; another Implementer is asked for the name.
func takes(tmpl Template, a Action) bool {
	switch t := tmpl.(type) {
	case *combined:
		return t.handlesAction(a)
	case Implementer:
		return t.Implements(a.Name)
	}
	return true
}

// missing lists the plan's actions that the template does not implement.
func missing(plan []Action, tmpl Template) error {
	counts := map[string]int{}
	for _, a := range plan {
		if a.Kind != KindError && !takes(tmpl, a) {
			counts[a.Name]++
		}
	}
	if len(counts) == 0 {
		return nil
	}
	var problems []string
	for _, name := range slices.Sorted(maps.Keys(counts)) {
		problems = append(problems, fmt.Sprintf("no method %s for %d %s actions (pass dss.AllowPartial() to skip them)",
			fmtName(camelCase(name)), counts[name], fmtName(name)))
	}
	return &TemplateError{Type: templateType(tmpl), Problems: problems}
}

// batchLimiter is a template that takes some actions one at a time.
type batchLimiter interface {
	batchLimit(branch, name string) int
}

// run dispatches the actions of the plan p, a batch at a time. The plan is
// spent, and the destination no longer as imported, from the first call on.
func run(ctx context.Context, s, d *tree, p *Plan, actions []Action, tmpl Template, redact bool, cfg applyConfig, obs *observer) (*Report, error) {
	start := time.Now()
	r := &Report{Plan: actions, NotImplemented: map[string]int{}}
	limiter, _ := tmpl.(batchLimiter)
	stopped := func(err error) (*Report, error) {
		return r, fmt.Errorf("dss: apply %s to %s: stopped after %d of %d actions: %w", s.name, d.name, r.Attempted, len(actions), err)
	}
	for i := 0; i < len(actions); {
		if err := ctx.Err(); err != nil {
			return stopped(err)
		}
		a := actions[i]
		if a.Kind == KindError { // judge refuses a plan with one; never dispatch it
			r.Attempted = i + 1
			r.Failed = append(r.Failed, ActionError{Action: a, Err: a.Err, redact: redact})
			i++
			continue
		}
		if !takes(tmpl, a) { // only with AllowPartial
			r.Attempted = i + 1
			r.NotImplemented[a.Name]++
			i++
			continue
		}
		end := i + 1
		limit := 0
		if limiter != nil {
			limit = limiter.batchLimit(a.Branch, a.Name)
		}
		for end < len(actions) && actions[end].Name == a.Name && actions[end].Branch == a.Branch && (limit == 0 || end-i < limit) {
			end++
		}
		batch := actions[i:end:end]
		p.spent, d.state = true, stateApplied
		bstart := time.Now()
		err := call(ctx, tmpl, batch)
		var be *BatchError
		switch {
		case err == nil:
			r.Applied += len(batch)
			r.Attempted = end
			i = end
		case errors.As(err, &be) && be.Index >= 0 && be.Index < len(batch):
			r.Applied += be.Index
			r.Attempted = i + be.Index + 1
			r.Failed = append(r.Failed, ActionError{Action: batch[be.Index], Err: be.Err, redact: redact})
			i += be.Index + 1
		default: // the whole batch failed
			r.Attempted = end
			for _, a := range batch {
				r.Failed = append(r.Failed, ActionError{Action: a, Err: err, redact: redact})
			}
			i = end
		}
		obs.batch(d, a.Name, len(batch), r.Attempted, len(actions), time.Since(bstart), time.Since(start), err)
		if err != nil && cfg.stopOnError {
			return r, fmt.Errorf("dss: apply %s to %s: stopped at the first failure: %w", s.name, d.name, &r.Failed[len(r.Failed)-1])
		}
	}
	if n := len(r.Failed); n > 0 {
		return r, fmt.Errorf("dss: apply %s to %s: %d of %d actions failed, the first: %w", s.name, d.name, n, len(actions), &r.Failed[0])
	}
	return r, nil
}

// ErrDrift is wrapped by Apply's error when the destination changed since a
// saved plan was made.
var ErrDrift = errors.New("the destination drifted")

// call hands one batch to the template, turning a panic into an error.
func call(ctx context.Context, tmpl Template, batch []Action) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v", ErrPanic, p)
		}
	}()
	return tmpl.Apply(ctx, batch)
}

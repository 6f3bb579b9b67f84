package dss

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"
	"unsafe"
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
			if p.fingerprints[b.Name()] != fingerprint(b) {
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
	if m, ok := tmpl.(*methods); ok {
		rm, err := m.resolve(d)
		if err != nil {
			return nil, err
		}
		tmpl = rm
	}
	if im, ok := tmpl.(Implementer); ok && !cfg.allowPartial {
		if err := missing(bound.Actions, im, tmpl); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	r, err := run(ctx, s, d, p, bound.Actions, tmpl, redact, cfg, obs)
	obs.applied(d, r, time.Since(start), err)
	return r, err
}

// missing lists the plan's actions that the template does not implement.
func missing(plan []Action, im Implementer, tmpl Template) error {
	counts := map[string]int{}
	for _, a := range plan {
		if a.Kind != KindError && !im.Implements(a.Name) {
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
	typ := fmt.Sprintf("%T", tmpl)
	if m, ok := tmpl.(*methods); ok {
		typ = fmt.Sprintf("%T", m.v)
	}
	return &TemplateError{Type: typ, Problems: problems}
}

// batchLimiter is a template that takes some actions one at a time.
type batchLimiter interface {
	batchLimit(name string) int
}

// run dispatches the actions of the plan p, a batch at a time. The plan is
// spent, and the destination no longer as imported, from the first call on.
func run(ctx context.Context, s, d *tree, p *Plan, actions []Action, tmpl Template, redact bool, cfg applyConfig, obs *observer) (*Report, error) {
	start := time.Now()
	r := &Report{Plan: actions, NotImplemented: map[string]int{}}
	limiter, _ := tmpl.(batchLimiter)
	im, _ := tmpl.(Implementer)
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
		if im != nil && !im.Implements(a.Name) { // only with AllowPartial
			r.Attempted = i + 1
			r.NotImplemented[a.Name]++
			i++
			continue
		}
		end := i + 1
		limit := 0
		if limiter != nil {
			limit = limiter.batchLimit(a.Name)
		}
		for end < len(actions) && actions[end].Name == a.Name && (limit == 0 || end-i < limit) {
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
	show := func(v any) string {
		if redact {
			return "[redacted]"
		}
		return fmtValue(v)
	}
	out := &Plan{Source: p.Source, Dest: p.Dest, SourceCounts: p.SourceCounts, Actions: slices.Clone(p.Actions)}
	type object struct{ branch, id string }
	type source struct {
		at  int // the first action that carries it
		rec Record
		obj any
	}
	sources := map[object]source{} // Diff gives one object's actions one source object
	olds := map[object]int{}
	type actionKey struct {
		kind             Kind
		branch, id, attr string
		value            any // the list element, for add and remove
	}
	seen := map[actionKey]int{}
	created, deleted := map[string]int{}, map[string]int{}
	for i := range out.Actions {
		a := &out.Actions[i]
		rec := p.sources[i]
		where := func(err error) error { return fmt.Errorf("action %d %s: %w", i+1, a.message(redact), err) }
		if a.Kind == KindError {
			return nil, where(errors.New("a model error, which a saved plan never holds"))
		}
		if err := checkShape(*a, rec != nil); err != nil {
			return nil, where(err)
		}
		sb, ok := s.byName[a.Branch]
		if !ok {
			return nil, where(fmt.Errorf("the trees have no branch %s", fmtBare(a.Branch)))
		}
		db := d.byName[a.Branch] // sameModels: the trees have the same branches
		sp, dp := sb.objPlan(), db.objPlan()
		o := object{a.Branch, a.ID}

		var src unsafe.Pointer
		if rec != nil {
			if j, ok := olds[o]; ok {
				return nil, where(fmt.Errorf("it carries a source object with the idnumber that action %d deletes", j+1))
			}
			so, ok := sources[o]
			if ok && !reflect.DeepEqual(rec, so.rec) {
				return nil, where(fmt.Errorf("it carries another source object than action %d, with the same idnumber", so.at+1))
			}
			if !ok {
				if err := exactKeys(sp, rec); err != nil {
					return nil, where(err)
				}
				obj, err := sb.newObject(rec)
				if err != nil {
					return nil, where(fmt.Errorf("source object: %w", err))
				}
				so = source{at: i, rec: rec, obj: obj}
				sources[o] = so
			}
			a.Source = so.obj
			src = reflect.ValueOf(so.obj).UnsafePointer()
			if id := idText(sp.fields[sp.id].value(src)); id != a.ID {
				return nil, where(fmt.Errorf("the source object's idnumber is %s", fmtID(id)))
			}
		}

		var dst unsafe.Pointer
		obj, found := db.lookup(a.ID)
		switch {
		case a.Kind == KindNew && found:
			return nil, where(errors.New("the destination has an object with this idnumber already"))
		case a.Kind != KindNew && !found:
			return nil, where(errors.New("the destination has no object with this idnumber"))
		case found:
			dst = reflect.ValueOf(obj).UnsafePointer()
			if id := idText(dp.fields[dp.id].value(dst)); id != a.ID {
				return nil, where(fmt.Errorf("the destination object's idnumber is %s", fmtID(id)))
			}
			a.Dest = obj
		}

		key := actionKey{kind: a.Kind, branch: a.Branch, id: a.ID, attr: a.Attr}
		switch a.Kind {
		case KindNew:
			created[a.Branch]++
		case KindOld:
			if so, ok := sources[o]; ok {
				return nil, where(fmt.Errorf("it deletes the object whose source object action %d carries", so.at+1))
			}
			olds[o] = i
			deleted[a.Branch]++
		default:
			df, ok := dp.field(a.Attr)
			if !ok || df.private || df.key == IDKey || df.list != (a.Kind != KindUpdate) {
				what := "scalar"
				if a.Kind != KindUpdate {
					what = "list"
				}
				return nil, where(fmt.Errorf("branch %s has no synced %s attribute %q", fmtBare(a.Branch), what, a.Attr))
			}
			sf, _ := sp.field(a.Attr) // sameModels: a twin of the same type
			t := df.typ
			if df.list {
				t = df.elem
			}
			v := reflect.New(t)
			if err := assign(v.UnsafePointer(), t, a.Value); err != nil {
				return nil, where(err)
			}
			a.Value = v.Elem().Interface()
			switch a.Kind {
			case KindUpdate:
				if !sf.equal(sf.ptr(src), v.UnsafePointer()) {
					return nil, where(fmt.Errorf("the value is not the source object's, %s", show(sf.value(src))))
				}
				if df.equal(df.ptr(dst), v.UnsafePointer()) {
					return nil, where(errors.New("the destination holds this value already"))
				}
				dv := reflect.New(t)
				if err := assign(dv.UnsafePointer(), t, a.DestValue); err != nil || !df.equal(df.ptr(dst), dv.UnsafePointer()) {
					return nil, where(fmt.Errorf("dest_value is not the destination's value, %s", show(df.value(dst))))
				}
				a.DestValue = df.value(dst)
			case KindAdd:
				if !listHolds(sf, src, v.Elem()) {
					return nil, where(errors.New("the source object's list does not hold the value"))
				}
				if listHolds(df, dst, v.Elem()) {
					return nil, where(errors.New("the destination's list holds the value already"))
				}
				key.value = a.Value
			case KindRemove:
				if listHolds(sf, src, v.Elem()) {
					return nil, where(errors.New("the source object's list holds the value"))
				}
				if !listHolds(df, dst, v.Elem()) {
					return nil, where(errors.New("the destination's list does not hold the value"))
				}
				key.value = a.Value
			}
		}
		if j, ok := seen[key]; ok {
			return nil, where(fmt.Errorf("it repeats action %d", j+1))
		}
		seen[key] = i
	}
	// Every source object is either created or has a twin in the
	// destination, and every destination object that is not deleted has a
	// twin: the count the empty-source guard reads is the actions' own.
	order := make([]string, len(s.branches))
	for i, b := range s.branches {
		name := b.Name()
		order[i] = name
		n, ok := p.SourceCounts[name]
		if !ok {
			return nil, fmt.Errorf("the plan has no source count of branch %s", fmtBare(name))
		}
		db := d.byName[name]
		if db.keepUnmatched() {
			// Objects only the destination has stay: the count is at least
			// what is created, at most that and the whole destination.
			if deleted[name] > 0 {
				return nil, fmt.Errorf("the plan deletes from branch %s, which keeps what only the destination has", fmtBare(name))
			}
			if of := db.Len(); n < created[name] || n > created[name]+of {
				return nil, fmt.Errorf("the plan's source count of branch %s is %d, and its actions make %d to %d",
					fmtBare(name), n, created[name], created[name]+of)
			}
			continue
		}
		if of := db.Len(); n != created[name]+of-deleted[name] {
			return nil, fmt.Errorf("the plan's source count of branch %s is %d, and its actions make %d: %d created, and %d of the destination's %d not deleted",
				fmtBare(name), n, created[name]+of-deleted[name], created[name], of-deleted[name], of)
		}
	}
	sum, err := recount(order, p.SourceCounts, out.Actions)
	if err != nil {
		return nil, err
	}
	out.Summary = sum
	return out, nil
}

// call hands one batch to the template, turning a panic into an error.
func call(ctx context.Context, tmpl Template, batch []Action) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v", ErrPanic, p)
		}
	}()
	return tmpl.Apply(ctx, batch)
}

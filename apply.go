package dss

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"golang.org/x/time/rate"
)

// ErrPanic is wrapped by the error of a template method that panicked.
var ErrPanic = errors.New("template method panicked")

// ActionError is the failure of one action: its template method returned an
// error or panicked, or the action is a model error.
type ActionError struct {
	Action Action
	Err    error

	redact bool
	index  int // the action's index in the plan
}

// Error names the action (values redacted when the trees redact them) and the cause.
func (e *ActionError) Error() string {
	return fmt.Sprintf("dss: %s: %s", e.Action.message(e.redact), escapeText(fmt.Sprint(e.Err)))
}

// Unwrap returns the cause.
func (e *ActionError) Unwrap() error { return e.Err }

// Report says what Apply did. Plan holds every action of the plan, in
// order. Each action is exactly one of: applied, failed, not implemented
// (with AllowPartial), or not reached, so that Applied + len(Failed) + the
// sum of NotImplemented + len(NotApplied()) == len(Plan), however many
// workers ran and however Apply stopped.
type Report struct {
	Plan           []Action
	Attempted      int            // actions Apply reached (applied, failed or not implemented)
	Applied        int            // actions the template applied
	Failed         []ActionError  // actions that failed, in plan order, each with its error
	NotImplemented map[string]int // action name -> count, for actions without a method (AllowPartial)
	// Retries is how many times Apply called the template again after a
	// temporary error (see [Temporary]).
	Retries int

	// reached marks the actions Apply reached, by plan index; nil when
	// Apply reached a prefix of the plan, Plan[:Attempted].
	reached []bool
	// applied marks the actions the template applied, by plan index, and
	// dest is the tree they were applied to: Verify reads them.
	applied []bool
	dest    *tree
}

// NotApplied returns the actions Apply did not reach because it was
// stopped, in plan order. With Workers, these need not be the plan's last
// actions: actions of other objects may have run beside them.
func (r *Report) NotApplied() []Action {
	if r.reached == nil {
		return r.Plan[r.Attempted:]
	}
	var out []Action
	for i, ok := range r.reached {
		if !ok {
			out = append(out, r.Plan[i])
		}
	}
	return out
}

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
	if r.Retries > 0 {
		fmt.Fprintf(&b, ", %d retries", r.Retries)
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
	workers      int
	batchSize    int
	limiter      *rate.Limiter
	retry        RetryPolicy
}

// StopOnError makes Apply stop at the first failed action instead of going
// on with the next: no call of the template starts after it, and the calls
// already running (with Workers) finish and are counted.
func StopOnError() ApplyOption { return func(c *applyConfig) { c.stopOnError = true } }

// AllowPartial lets Apply run a plan that holds actions the template does
// not implement: they are skipped and counted in Report.NotImplemented.
// Without it, Apply refuses such a plan before the first action.
func AllowPartial() ApplyOption { return func(c *applyConfig) { c.allowPartial = true } }

// Workers lets Apply make up to n calls of the template at once, for a
// destination behind a network API where each call waits for a server.
// The template must say that it is safe for concurrent use (see
// [Concurrent]); Apply refuses, applying nothing, Workers(n) with n > 1 and
// a template that does not, and any n < 1. Workers(1), the default, calls
// the template one batch after another in plan order.
//
// What may run at once: Apply cuts the plan into phases, one for each run
// of consecutive actions of one section (new_, changes, old_) and one
// branch: the creates of each branch in branch order, then the changes of
// each branch, then the deletes of each branch in reverse order. A phase
// starts only once every call of the one before has returned, so whatever
// the plan orders across branches (groups created before their memberships
// are added, users deleted after the groups that held them) stays ordered.
// Inside a phase, batches on different objects run at once; the actions of
// one object (one branch and idnumber) never run at once and run in plan
// order: an object's update_email starts only after its update_name
// returned.
func Workers(n int) ApplyOption { return func(c *applyConfig) { c.workers = n } }

// BatchSize makes Apply hand the template at most n actions per call. A
// template whose methods take batches otherwise gets a whole run of
// consecutive actions of one name in one call, which Workers cannot split;
// BatchSize(100) with Workers(8) makes eight calls of 100 at once. n < 1
// is refused.
func BatchSize(n int) ApplyOption { return func(c *applyConfig) { c.batchSize = n } }

// RateLimit makes every call of the template, retries included, first
// take a token from l (golang.org/x/time/rate), so that Apply stays under
// the destination's rate limit: rate.NewLimiter(200, 1) allows 200 calls a
// second. With one-action methods, a call is one action. The limiter may
// be shared with the rest of the program. A nil l sets no limit.
func RateLimit(l *rate.Limiter) ApplyOption { return func(c *applyConfig) { c.limiter = l } }

// Retry sets how Apply retries the actions whose template call returned a
// temporary error (see [Temporary]); without it, Apply retries with
// [DefaultRetryPolicy].
func Retry(p RetryPolicy) ApplyOption { return func(c *applyConfig) { c.retry = p } }

// Concurrent is an optional interface of a Template: one whose Concurrent
// method returns true may be called from several goroutines at once, and
// Apply may then run it on Workers. A template that does not implement it
// is called by one goroutine at a time: the default, right for a template
// that writes through one *sql.Tx. A Methods template is concurrent when
// the value it was made of implements Concurrent.
type Concurrent interface {
	Concurrent() bool
}

// isConcurrent reports whether v, a template, says it is safe for
// concurrent use.
func isConcurrent(v any) bool {
	c, ok := v.(Concurrent)
	return ok && c.Concurrent()
}

// check says what is wrong with the options, before anything is applied.
func (c *applyConfig) check(tmpl Template) error {
	switch {
	case c.workers < 1:
		return fmt.Errorf("Workers(%d): want at least 1", c.workers)
	case c.batchSize < 1:
		return fmt.Errorf("BatchSize(%d): want at least 1", c.batchSize)
	}
	if err := c.retry.check(); err != nil {
		return err
	}
	if l := c.limiter; l != nil && l.Limit() != rate.Inf && (l.Burst() < 1 || l.Limit() <= 0) {
		return fmt.Errorf("RateLimit: a limiter of %v a second and burst %d: want both above 0, or rate.Inf", l.Limit(), l.Burst())
	}
	if c.workers > 1 && !isConcurrent(tmpl) {
		return &TemplateError{Type: templateType(tmpl), Problems: []string{fmt.Sprintf(
			"Workers(%d) needs a template safe for concurrent use: give it a method Concurrent() bool that returns true", c.workers)}}
	}
	return nil
}

// apply checks everything that can refuse the plan, then dispatches it.
func apply(ctx context.Context, s, d *tree, p *Plan, tmpl Template, obs *observer, opts []ApplyOption) (*Report, error) {
	cfg := applyConfig{workers: 1, batchSize: math.MaxInt}
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
	if err := cfg.check(tmpl); err != nil {
		var te *TemplateError
		if errors.As(err, &te) {
			return nil, err
		}
		return fail(err)
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

// section is the part of a plan an action belongs to: Apply runs one
// section of one branch (a phase) after the other.
func section(k Kind) Kind {
	if k == KindAdd || k == KindRemove {
		return KindUpdate
	}
	return k
}

// unit is one call's worth of actions of a phase: a batch, whose first
// actions may already be done (a *BatchError, a retry).
type unit struct {
	first int      // the plan index of batch[0]
	batch []Action // the actions not yet applied or failed
	deps  int      // units of the phase on the same objects that have not finished
	next  []*unit  // the units that wait for this one
	mark  *unit    // the last unit that added this one to its next

	skip uint8 // not called: a model error or an action not implemented

	calls int       // calls of batch[0] so far
	since time.Time // the first call of batch[0]
	err   error     // batch[0]'s last temporary error, until a call succeeds
	whole bool      // err failed the whole batch
}

// What a unit that is not called is.
const (
	skipError = 1 + iota
	skipNotImplemented
)

// units is a min-heap of units by plan index: the ready units, the
// earliest first.
type units []*unit

func (h units) Len() int           { return len(h) }
func (h units) Less(i, j int) bool { return h[i].first < h[j].first }
func (h units) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *units) Push(x any)        { *h = append(*h, x.(*unit)) }
func (h *units) Pop() any {
	old := *h
	u := old[len(old)-1]
	*h = old[:len(old)-1]
	return u
}

// result is what became of one call of the template, or of a wait to
// retry one.
type result struct {
	u       *unit
	woke    bool          // the wait before a retry is over
	err     error         // the template's error
	waitErr error         // the rate limiter's, when the template was not called
	start   time.Time     // when the call began
	took    time.Duration // how long the call took
}

// runner applies one plan: a scheduler on Apply's goroutine that hands
// ready units to up to cfg.workers calls at once, and keeps the report.
type runner struct {
	ctx     context.Context
	s, d    *tree
	p       *Plan
	actions []Action
	tmpl    Template
	redact  bool
	cfg     applyConfig
	obs     *observer
	limiter batchLimiter
	start   time.Time
	r       *Report
	ready   units
	calls   int // calls running
	waiting int // units waiting to be retried, with Workers
	pending int // units of the phase not finished
	results chan result
	waitCtx context.Context // the rate limiter's and the retries' waits; cancelled on stop
	cancel  context.CancelFunc
	// Why Apply stopped, nil while it goes on; stopFail is the failure
	// that stopped it under StopOnError.
	stopErr  error
	stopFail *ActionError
}

// run dispatches the actions of the plan p, phase by phase. The plan is
// spent, and the destination no longer as imported, from the first call on.
func run(ctx context.Context, s, d *tree, p *Plan, actions []Action, tmpl Template, redact bool, cfg applyConfig, obs *observer) (*Report, error) {
	x := &runner{ctx: ctx, s: s, d: d, p: p, actions: actions, tmpl: tmpl, redact: redact, cfg: cfg, obs: obs,
		start: time.Now(), results: make(chan result, 1),
		r: &Report{Plan: actions, NotImplemented: map[string]int{}, reached: make([]bool, len(actions)),
			applied: make([]bool, len(actions)), dest: d}}
	x.limiter, _ = tmpl.(batchLimiter)
	x.cfg.retry = cfg.retry.withDefaults()
	x.waitCtx, x.cancel = context.WithCancel(ctx)
	defer x.cancel()
	for i := 0; i < len(actions) && x.stopErr == nil; {
		end := i + 1
		for end < len(actions) && section(actions[end].Kind) == section(actions[i].Kind) && actions[end].Branch == actions[i].Branch {
			end++
		}
		x.phase(i, end)
		i = end
	}
	r := x.r
	slices.SortStableFunc(r.Failed, func(a, b ActionError) int { return a.index - b.index })
	switch {
	case x.stopFail != nil:
		return r, fmt.Errorf("dss: apply %s to %s: stopped at the first failure: %w", s.name, d.name, x.stopFail)
	case x.stopErr != nil:
		return r, fmt.Errorf("dss: apply %s to %s: stopped after %d of %d actions: %w", s.name, d.name, r.Attempted, len(actions), x.stopErr)
	case len(r.Failed) > 0:
		return r, fmt.Errorf("dss: apply %s to %s: %d of %d actions failed, the first: %w", s.name, d.name, len(r.Failed), len(actions), &r.Failed[0])
	}
	return r, nil
}

// stop makes Apply start no new call: the first reason is kept.
func (x *runner) stop(err error) {
	if x.stopErr == nil && err != nil {
		x.stopErr = err
		x.cancel()
	}
}

// phase applies actions[lo:hi], one section of one branch: it returns
// when every unit of it finished, or when Apply stopped and no call runs.
func (x *runner) phase(lo, hi int) {
	if err := x.ctx.Err(); err != nil {
		x.stop(err)
		return
	}
	var last map[string]*unit // idnumber -> the last unit on it
	if x.cfg.workers > 1 {
		last = map[string]*unit{}
	}
	x.ready = x.ready[:0]
	x.pending = 0
	all := make([]unit, 0, hi-lo) // one allocation; never grown, so &all[j] stays
	for i := lo; i < hi; {
		a := x.actions[i]
		switch {
		case a.Kind == KindError: // judge refuses a plan with one; never dispatch it
			all = append(all, unit{first: i, batch: x.actions[i : i+1 : i+1], skip: skipError})
		case !takes(x.tmpl, a): // only with AllowPartial
			all = append(all, unit{first: i, batch: x.actions[i : i+1 : i+1], skip: skipNotImplemented})
		default:
			all = append(all, unit{first: i, batch: x.cut(i, hi)})
		}
		u := &all[len(all)-1]
		if last != nil {
			for _, b := range u.batch {
				if prev := last[b.ID]; prev != nil && prev != u && prev.mark != u {
					prev.mark = u
					prev.next = append(prev.next, u)
					u.deps++
				}
				last[b.ID] = u
			}
		}
		if u.deps == 0 {
			x.ready = append(x.ready, u) // in plan order: a heap already
		}
		x.pending++
		i += len(u.batch)
	}
	for {
		for x.stopErr == nil && x.calls < x.cfg.workers && len(x.ready) > 0 {
			if err := x.ctx.Err(); err != nil {
				x.stop(err)
				break
			}
			x.dispatch(heap.Pop(&x.ready).(*unit))
		}
		if x.pending == 0 {
			return
		}
		if x.calls+x.waiting == 0 {
			if x.stopErr == nil {
				panic("dss: apply: units left that no call waits for")
			}
			return
		}
		select {
		case res := <-x.results:
			x.done(res)
		case <-x.waitCtx.Done():
			x.stop(x.ctx.Err()) // a no-op unless ctx was cancelled
			x.done(<-x.results)
		}
	}
}

// cut returns the batch that begins at plan index i, in a phase that ends
// at hi: the run of actions of one name, cut to the template's batch limit
// and BatchSize.
func (x *runner) cut(i, hi int) []Action {
	name := x.actions[i].Name
	limit := x.cfg.batchSize
	if x.limiter != nil {
		if l := x.limiter.batchLimit(x.actions[i].Branch, name); l > 0 {
			limit = min(limit, l)
		}
	}
	end := i + 1
	for end < hi && x.actions[end].Name == name && end-i < limit {
		end++
	}
	return x.actions[i:end:end]
}

// dispatch starts the call of u's batch: on a goroutine of its own with
// Workers, on this one without.
func (x *runner) dispatch(u *unit) {
	switch u.skip {
	case skipError:
		x.fail(u.first, u.batch[0].Err)
		x.finish(u)
		return
	case skipNotImplemented:
		x.reach(u.first)
		x.r.NotImplemented[u.batch[0].Name]++
		x.finish(u)
		return
	}
	x.p.spent, x.d.state = true, stateApplied
	u.calls++
	x.calls++
	if x.cfg.workers == 1 {
		x.done(x.call(u))
		return
	}
	go func() { x.results <- x.call(u) }()
}

// call waits for the rate limit, then calls the template with u's batch.
func (x *runner) call(u *unit) result {
	if x.cfg.limiter != nil {
		if err := x.cfg.limiter.Wait(x.waitCtx); err != nil {
			return result{u: u, waitErr: err}
		}
	}
	start := time.Now()
	err := call(x.ctx, x.tmpl, u.batch)
	return result{u: u, err: err, start: start, took: time.Since(start)}
}

// retry waits d, then hands u back to be called again. With Workers the
// wait holds no worker: other objects' actions run meanwhile. Without, it
// holds Apply, so that the plan's order stays whole.
func (x *runner) retry(u *unit, d time.Duration) {
	wait := func() result {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-x.waitCtx.Done():
		}
		return result{u: u, woke: true}
	}
	if x.cfg.workers == 1 {
		wait()
		x.woke(u)
		return
	}
	x.waiting++
	go func() { x.results <- wait() }()
}

// reach counts the action at plan index i as reached.
func (x *runner) reach(i int) {
	x.r.reached[i] = true
	x.r.Attempted++
}

// fail counts the action at plan index i as failed with err.
func (x *runner) fail(i int, err error) {
	x.reach(i)
	x.r.Failed = append(x.r.Failed, ActionError{Action: x.actions[i], Err: err, redact: x.redact, index: i})
}

// failHead fails u's first action, or its whole batch when its error
// failed the whole batch, and returns how many failed.
func (x *runner) failHead(u *unit, err error, whole bool) int {
	n := 1
	if whole {
		n = len(u.batch)
	}
	for i := range n {
		x.fail(u.first+i, err)
	}
	u.first += n
	u.batch = u.batch[n:]
	u.calls, u.err, u.whole = 0, nil, false
	return n
}

// abandon finishes u when Apply stopped: an action that waited to be
// retried keeps its last error; the rest is not reached.
func (x *runner) abandon(u *unit) {
	if u.err != nil {
		x.failHead(u, fmt.Errorf("not retried, Apply stopped: %w", u.err), u.whole)
	}
	x.finish(u)
}

// woke takes u back after its wait to retry.
func (x *runner) woke(u *unit) {
	if err := x.ctx.Err(); err != nil {
		x.stop(err)
	}
	if x.stopErr != nil {
		x.abandon(u)
		return
	}
	heap.Push(&x.ready, u)
}

// done takes what became of one call of u, or of its wait to retry.
func (x *runner) done(res result) {
	u := res.u
	if res.woke {
		x.waiting--
		x.woke(u)
		return
	}
	x.calls--
	if res.waitErr != nil { // the template was not called
		if err := x.ctx.Err(); err != nil {
			x.stop(err)
		} else {
			x.stop(fmt.Errorf("waiting for the rate limit: %w", res.waitErr))
		}
		x.abandon(u)
		return
	}
	n, applied, cause, whole := len(u.batch), len(u.batch), error(nil), false
	var be *BatchError
	switch {
	case res.err == nil:
	case errors.As(res.err, &be) && be.Index >= 0 && be.Index < n:
		applied, cause = be.Index, be.Err
	default:
		applied, cause, whole = 0, res.err, true
	}
	for i := range applied {
		x.reach(u.first + i)
		x.r.applied[u.first+i] = true
	}
	x.r.Applied += applied
	name := u.batch[0].Name
	if u.calls == 1 {
		u.since = res.start
	}
	if applied > 0 { // a new first action, called once, just now
		u.first += applied
		u.batch = u.batch[applied:]
		u.calls, u.since, u.err, u.whole = 1, res.start, nil, false
	}
	wait, retry := time.Duration(0), false
	if cause != nil {
		wait, retry = x.cfg.retry.delay(cause, u.calls, u.since)
	}
	x.obs.batch(x.d, name, n, x.r.Attempted, len(x.actions), res.took, x.start, res.err, retry, wait)
	switch {
	case cause == nil:
		x.finish(u)
	case retry && x.stopErr == nil:
		x.r.Retries++
		u.err, u.whole = cause, whole
		x.retry(u, wait)
	default:
		if u.calls > 1 {
			cause = fmt.Errorf("after %d calls: %w", u.calls, cause)
		}
		n := x.failHead(u, cause, whole)
		if x.cfg.stopOnError && x.stopErr == nil {
			ae := x.r.Failed[len(x.r.Failed)-n] // the batch's first failure
			x.stopFail = &ae
			x.stop(&ae)
		}
		if len(u.batch) == 0 || x.stopErr != nil {
			x.finish(u)
		} else {
			heap.Push(&x.ready, u) // Apply goes on after the failed action
		}
	}
}

// finish ends u: the units that waited for it may start.
func (x *runner) finish(u *unit) {
	x.pending--
	for _, v := range u.next {
		if v.deps--; v.deps == 0 && x.stopErr == nil {
			heap.Push(&x.ready, v)
		}
	}
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

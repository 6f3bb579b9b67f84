package dss

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"
)

// scenario is a datastore with one change of every kind, imported.
func scenario(t *testing.T) (*Datastore[srcTree, dstTree], *memDest) {
	t.Helper()
	return newDatastore(t,
		[]Record{
			{"idnumber": "1", "_lastfirst": "B, A", "department": "x", "tags": []string{"t"}},
			{"idnumber": "2", "_lastfirst": "D, C", "department": "y", "age": 3},
		},
		[]Record{
			{"idnumber": "1", "_first": "A", "_last": "Old", "department": "x", "tags": []string{"u"}},
			{"idnumber": "9", "_first": "Z", "_last": "Z", "department": "x"},
		},
		[]Record{{"idnumber": "x", "members": []string{"1", "9"}}, {"idnumber": "old"}},
	)
}

func TestApplyConverges(t *testing.T) {
	// Semantics 10: each action goes to the template method named after it;
	// applying the plan to the destination leaves nothing to do.
	ds, m := scenario(t)
	p := mustPlan(t, ds)
	r, err := ds.Apply(context.Background(), p, Methods(&fakeTemplate{m}))
	require.NoError(t, err)
	require.Equal(t, len(p.Actions), r.Applied)
	require.Equal(t, len(p.Actions), r.Attempted)
	require.Empty(t, r.Failed)
	require.Empty(t, r.NotImplemented)
	require.Equal(t, []string{
		"new_users:2", "new_groups:y",
		"update_name:1", "add_tags_to_users:1", "remove_tags_from_users:1", "remove_members_from_groups:x",
		"old_groups:old", "old_users:9",
	}, m.calls)
	require.NoError(t, ds.ImportDest(context.Background()))
	require.Empty(t, planMessages(mustPlan(t, ds)), "the destination did not converge")
}

// partialTemplate implements four of the scenario's eight actions.
type partialTemplate struct {
	calls int
	fail  map[string]error
	panic string
	after func()
}

func (p *partialTemplate) do(a Action) error {
	p.calls++
	if p.after != nil {
		defer p.after()
	}
	if a.Name == p.panic {
		panic("template bug")
	}
	return p.fail[a.Name]
}

func (p *partialTemplate) NewUsers(ctx context.Context, a Action) error   { return p.do(a) }
func (p *partialTemplate) UpdateName(ctx context.Context, a Action) error { return p.do(a) }
func (p *partialTemplate) OldUsers(ctx context.Context, a Action) error   { return p.do(a) }
func (p *partialTemplate) OldGroups(ctx context.Context, a Action) error  { return p.do(a) }

func TestApplyRefusesMissingMethods(t *testing.T) {
	ds, _ := scenario(t)
	p := mustPlan(t, ds)
	tmpl := &partialTemplate{}
	r, err := ds.Apply(context.Background(), p, Methods(tmpl))
	require.Nil(t, r)
	var te *TemplateError
	require.ErrorAs(t, err, &te)
	require.Equal(t, []string{
		"no method AddTagsToUsers for 1 add_tags_to_users actions (pass dss.AllowPartial() to skip them)",
		"no method NewGroups for 1 new_groups actions (pass dss.AllowPartial() to skip them)",
		"no method RemoveMembersFromGroups for 1 remove_members_from_groups actions (pass dss.AllowPartial() to skip them)",
		"no method RemoveTagsFromUsers for 1 remove_tags_from_users actions (pass dss.AllowPartial() to skip them)",
	}, te.Problems)
	require.Contains(t, err.Error(), "nothing applied")
	require.Zero(t, tmpl.calls)

	// The refusal spends nothing: the same plan applies with the opt-in.
	r, err = ds.Apply(context.Background(), p, Methods(tmpl), AllowPartial())
	require.NoError(t, err)
	require.Equal(t, 4, r.Applied)
	require.Equal(t, map[string]int{
		"new_groups": 1, "add_tags_to_users": 1, "remove_tags_from_users": 1, "remove_members_from_groups": 1,
	}, r.NotImplemented)
}

// A Template of the program's own that says what it implements is refused
// the same way.
type ownTemplate struct{ n int }

func (o *ownTemplate) Apply(ctx context.Context, batch []Action) error { o.n += len(batch); return nil }
func (o *ownTemplate) Implements(name string) bool                     { return name != "old_users" }

func TestApplyImplementer(t *testing.T) {
	ds, _ := scenario(t)
	tmpl := &ownTemplate{}
	_, err := ds.Apply(context.Background(), mustPlan(t, ds), tmpl)
	require.ErrorContains(t, err, "dss: template *dss.ownTemplate: no method OldUsers for 1 old_users actions")
	require.Zero(t, tmpl.n)
}

func TestApplyReport(t *testing.T) {
	boom := errors.New("boom")
	ds, _ := scenario(t)
	tmpl := &partialTemplate{fail: map[string]error{"update_name": boom}, panic: "old_groups"}
	r, err := ds.Apply(context.Background(), mustPlan(t, ds), Methods(tmpl), AllowPartial())
	require.ErrorIs(t, err, boom)
	require.EqualError(t, err, `dss: apply source to dest: 2 of 8 actions failed, the first: dss: update_name(idnumber='1', attr="name", value="A B"): boom`)
	require.Equal(t, 8, r.Attempted)
	require.Equal(t, 2, r.Applied) // new_users, old_users
	require.Len(t, r.Failed, 2)
	require.ErrorIs(t, r.Failed[1].Err, ErrPanic)
	require.Equal(t, "old_groups", r.Failed[1].Action.Name)
	require.Empty(t, r.NotApplied())
	require.Contains(t, r.String(), "2 of 8 actions applied, 2 failed")
	require.Contains(t, r.String(), "not implemented: add_tags_to_users (1)")
	checkReport(t, r)
}

func TestApplyStopOnError(t *testing.T) {
	boom := errors.New("boom")
	ds, _ := scenario(t)
	tmpl := &partialTemplate{fail: map[string]error{"update_name": boom}}
	r, err := ds.Apply(context.Background(), mustPlan(t, ds), Methods(tmpl), StopOnError(), AllowPartial())
	require.ErrorIs(t, err, boom)
	require.Equal(t, 3, r.Attempted) // new_users, new_groups (not implemented), update_name
	require.Equal(t, 2, tmpl.calls)
	require.Len(t, r.NotApplied(), 5)
	checkReport(t, r)
}

func TestApplyCancelStopsBetweenActions(t *testing.T) {
	ds, _ := scenario(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tmpl := &partialTemplate{after: cancel}
	r, err := ds.Apply(ctx, mustPlan(t, ds), Methods(tmpl), AllowPartial())
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, 1, tmpl.calls)
	require.Equal(t, 1, r.Applied)
	require.Equal(t, 1, r.Attempted)
	require.Len(t, r.NotApplied(), 7)
	require.Equal(t, "new_groups", r.NotApplied()[0].Name)
	checkReport(t, r)
}

// TestApplyBatches: a Template gets each run of consecutive actions of one
// name in one call, and a *BatchError says exactly where a batch stopped.
func TestApplyBatches(t *testing.T) {
	ds, _ := newDatastore(t,
		[]Record{{"idnumber": "1"}, {"idnumber": "2"}, {"idnumber": "3"}, {"idnumber": "4", "email": "e"}},
		[]Record{{"idnumber": "4"}}, nil)
	boom := errors.New("duplicate key")
	var calls [][]string
	tmpl := TemplateFunc(func(ctx context.Context, batch []Action) error {
		var ids []string
		for _, a := range batch {
			ids = append(ids, a.Name+":"+a.ID)
		}
		calls = append(calls, ids)
		if batch[0].Name == "new_users" && len(batch) == 3 {
			return &BatchError{Index: 1, Err: boom} // the second user fails
		}
		return nil
	})
	r, err := ds.Apply(context.Background(), mustPlan(t, ds), tmpl)
	require.ErrorIs(t, err, boom)
	require.Equal(t, [][]string{
		{"new_users:1", "new_users:2", "new_users:3"},
		{"new_users:3"}, // Apply goes on after the failed action
		{"update_email:4"},
	}, calls)
	require.Equal(t, 3, r.Applied)
	require.Equal(t, 4, r.Attempted)
	require.Len(t, r.Failed, 1)
	require.Equal(t, "2", r.Failed[0].Action.ID)

	// An error that does not say where fails the whole batch.
	ds, _ = newDatastore(t, []Record{{"idnumber": "1"}, {"idnumber": "2"}}, nil, nil)
	r, err = ds.Apply(context.Background(), mustPlan(t, ds), TemplateFunc(func(ctx context.Context, batch []Action) error {
		return boom
	}))
	require.ErrorIs(t, err, boom)
	require.Zero(t, r.Applied)
	require.Len(t, r.Failed, 2)
}

func TestApplyRedactsValues(t *testing.T) {
	ds, _ := scenario(t)
	ds.Source.RedactValues = true
	require.NoError(t, ds.Import(context.Background()))
	r, err := ds.Apply(context.Background(), mustPlan(t, ds),
		Methods(&partialTemplate{fail: map[string]error{"update_name": errors.New("boom")}}), AllowPartial())
	require.EqualError(t, err, `dss: apply source to dest: 1 of 8 actions failed, the first: dss: update_name(idnumber='1', attr="name", value=[redacted]): boom`)
	require.NotContains(t, r.String(), "A B")
}

func TestApplyBadTemplates(t *testing.T) {
	for _, tt := range []struct {
		name string
		tmpl Template
		want string
	}{
		{"nil", nil, "dss: apply source to dest: the template is nil; nothing applied"},
		{"nil value", Methods(nil), "dss: template nil: template is nil; nothing applied"},
		{"not a struct", Methods(42), "dss: template int: int is not a struct or a pointer to one; nothing applied"},
		{"nil pointer", Methods((*fakeTemplate)(nil)), "dss: template *dss.fakeTemplate: template is a nil pointer; nothing applied"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ds, m := scenario(t)
			p := mustPlan(t, ds)
			r, err := ds.Apply(context.Background(), p, tt.tmpl)
			require.Nil(t, r)
			require.EqualError(t, err, tt.want)
			require.Empty(t, m.calls)
			// Nothing was spent: the plan still applies.
			_, err = ds.Apply(context.Background(), p, Methods(&fakeTemplate{m}))
			require.NoError(t, err)
		})
	}
}

// checkReport requires what every Report promises: each action of the
// plan is exactly one of applied, failed, not implemented, not reached.
func checkReport(t *testing.T, r *Report) {
	t.Helper()
	ni := 0
	for _, n := range r.NotImplemented {
		ni += n
	}
	notApplied := r.NotApplied()
	require.Equal(t, len(r.Plan), r.Applied+len(r.Failed)+ni+len(notApplied), "applied+failed+not implemented+not reached")
	require.Equal(t, len(r.Plan)-len(notApplied), r.Attempted)
	require.True(t, slices.IsSortedFunc(r.Failed, func(a, b ActionError) int { return a.index - b.index }), "failures in plan order")
	seen := map[string]bool{}
	for _, f := range r.Failed {
		seen[f.Action.String()] = true
	}
	for _, a := range notApplied {
		require.False(t, seen[a.String()], "%s both failed and not reached", a)
	}
}

// workload is a datastore whose plan has every kind of action on many
// objects: 20 users and 3 groups to create; 40 users whose name and email
// both change, so that update_name and update_email alternate object by
// object; members added to and removed from two groups; 20 users and 3
// groups to delete.
func workload(t *testing.T) (*Datastore[srcTree, dstTree], *memDest) {
	t.Helper()
	var src, dst []Record
	for i := range 60 {
		id := fmt.Sprintf("%03d", i)
		src = append(src, Record{"idnumber": id, "name": "N" + id, "email": id + "@new", "department": fmt.Sprintf("d%d", i%5)})
	}
	for i := 20; i < 80; i++ {
		id := fmt.Sprintf("%03d", i)
		dst = append(dst, Record{"idnumber": id, "name": "O" + id, "email": id + "@old", "department": fmt.Sprintf("d%d", i%5)})
	}
	groups := []Record{
		{"idnumber": "d3", "members": []string{"023", "028", "070", "075"}},
		{"idnumber": "d4", "members": []string{"024", "071"}},
		{"idnumber": "d5"}, {"idnumber": "d6"}, {"idnumber": "d7"},
	}
	return newDatastore(t, src, dst, groups)
}

// phaseOf numbers the plan's phases as the Workers documentation states
// them: a new one at every change of section (new, changes, old) or branch.
func phaseOf(plan []Action) []int {
	sect := func(k Kind) int {
		switch k {
		case KindNew:
			return 1
		case KindOld:
			return 3
		case KindError:
			return 0
		}
		return 2
	}
	out := make([]int, len(plan))
	for i := 1; i < len(plan); i++ {
		out[i] = out[i-1]
		if sect(plan[i].Kind) != sect(plan[i-1].Kind) || plan[i].Branch != plan[i-1].Branch {
			out[i]++
		}
	}
	return out
}

// checker is a Template safe for concurrent use that checks, under the
// race detector, the ordering Workers promises: no two calls on one object
// at once, each object's actions in plan order, no action before every
// action of the phases before it was done with. Each call takes latency
// (or vary's), on the fake clock of a synctest bubble.
type checker struct {
	latency time.Duration
	vary    func(a Action) time.Duration // the latency of a batch by its first action, if set
	// fail, if set, is asked for each action of a batch in turn; its
	// first error stops the batch there (a *BatchError), and errPanicNow
	// makes the call panic.
	fail func(a Action) error

	mu         sync.Mutex
	index      map[string]int // action message -> plan index
	phase      []int
	phaseSize  []int
	phaseDone  []int
	done       map[int]bool        // plan index -> the action will not be called again
	busy       map[string]bool     // branch/idnumber -> a call on it runs
	last       map[string]int      // branch/idnumber -> plan index of its last action called
	calls      [][]string          // the batches, in the order they started
	seq        map[string][]string // branch/idnumber -> its actions, in the order called
	inflight   int
	maxPhase   map[int]int // phase -> the most calls at once in it
	violations []string
}

var errPanicNow = errors.New("panic now")

func newChecker(plan []Action, latency time.Duration) *checker {
	c := &checker{latency: latency, index: map[string]int{}, phase: phaseOf(plan), done: map[int]bool{},
		busy: map[string]bool{}, last: map[string]int{}, maxPhase: map[int]int{}, seq: map[string][]string{}}
	for i, a := range plan {
		c.index[a.String()] = i
	}
	n := c.phase[len(c.phase)-1] + 1
	c.phaseSize, c.phaseDone = make([]int, n), make([]int, n)
	for _, p := range c.phase {
		c.phaseSize[p]++
	}
	return c
}

func (c *checker) Concurrent() bool { return true }

func (c *checker) Apply(ctx context.Context, batch []Action) error {
	c.enter(batch)
	decided := len(batch) // the actions dss will not call again
	tried := len(batch)   // the actions the call got to
	defer func() { c.exit(batch, decided, tried) }()
	d := c.latency
	if c.vary != nil {
		d = c.vary(batch[0])
	}
	time.Sleep(d)
	if c.fail == nil {
		return nil
	}
	for k, a := range batch {
		err := c.fail(a)
		tried = k + 1
		var te *TemporaryError
		switch {
		case err == nil:
			continue
		case errors.Is(err, errPanicNow):
			panic(a.String()) // fails the whole batch
		case errors.As(err, &te):
			decided = k // retried from k
		default:
			decided = k + 1
		}
		return &BatchError{Index: k, Err: err}
	}
	return nil
}

func (c *checker) enter(batch []Action) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, a := range batch {
		if obj := a.Branch + "/" + a.ID; c.busy[obj] {
			c.violations = append(c.violations, "two calls at once on "+obj)
		}
	}
	var names []string
	for _, a := range batch {
		i := c.index[a.String()]
		obj := a.Branch + "/" + a.ID
		names = append(names, a.Name+":"+a.ID)
		c.busy[obj] = true
		if last, ok := c.last[obj]; ok && last > i || ok && last == i && c.done[i] {
			c.violations = append(c.violations, fmt.Sprintf("%s (action %d) after action %d", a, i, last))
		}
		for p := range c.phase[i] {
			if c.phaseDone[p] < c.phaseSize[p] {
				c.violations = append(c.violations, fmt.Sprintf("%s started before phase %d ended", a, p))
			}
		}
	}
	c.calls = append(c.calls, names)
	c.inflight++
	p := c.phase[c.index[batch[0].String()]]
	c.maxPhase[p] = max(c.maxPhase[p], c.inflight)
}

func (c *checker) exit(batch []Action, decided, tried int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inflight--
	for k, a := range batch {
		obj := a.Branch + "/" + a.ID
		delete(c.busy, obj)
		i := c.index[a.String()]
		if k < tried {
			c.last[obj] = i
			c.seq[obj] = append(c.seq[obj], a.String())
		}
		if k < decided && !c.done[i] {
			c.done[i] = true
			c.phaseDone[c.phase[i]]++
		}
	}
}

// TestApplyWorkersOrder: with Workers, calls on different objects run at
// once, even in a plan of mixed updates, while no object gets two calls at
// once or its actions out of order, and no phase starts before the one
// before it ended.
func TestApplyWorkersOrder(t *testing.T) {
	for _, tt := range []struct {
		workers, batch int
	}{{1, 1}, {8, 1}, {8, 2}, {3, 1000}} {
		t.Run(fmt.Sprintf("workers=%d,batch=%d", tt.workers, tt.batch), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ds, _ := workload(t)
				p := mustPlan(t, ds)
				c := newChecker(p.Actions, 10*time.Millisecond)
				r, err := ds.Apply(context.Background(), p, c, Workers(tt.workers), BatchSize(tt.batch))
				require.NoError(t, err)
				checkReport(t, r)
				require.Equal(t, len(p.Actions), r.Applied)
				require.Empty(t, c.violations)
				// Every object got its actions in plan order: none lost,
				// none twice.
				want := map[string][]string{}
				for _, a := range p.Actions {
					want[a.Branch+"/"+a.ID] = append(want[a.Branch+"/"+a.ID], a.String())
				}
				require.Equal(t, want, c.seq)
				first := slices.IndexFunc(p.Actions, func(a Action) bool { return a.Name == "update_name" })
				require.Equal(t, []string{"update_name", "update_email", "update_name"},
					[]string{p.Actions[first].Name, p.Actions[first+1].Name, p.Actions[first+2].Name})
				updates := phaseOf(p.Actions)[first]
				if tt.workers == 1 { // one call after the other, in plan order
					var calls []string
					for _, call := range c.calls {
						calls = append(calls, call...)
					}
					var plan []string
					for _, a := range p.Actions {
						plan = append(plan, a.Name+":"+a.ID)
					}
					require.Equal(t, plan, calls)
					for _, n := range c.maxPhase {
						require.Equal(t, 1, n)
					}
					return
				}
				// The mixed updates (update_name and update_email of one
				// object after the other) ran on every worker.
				require.Equal(t, tt.workers, c.maxPhase[updates], "calls at once in the phase of mixed updates")
			})
		})
	}
}

// concurrentFake is the in-memory fake template, whose destination takes
// a lock per call, declared safe for concurrent use.
type concurrentFake struct{ fakeTemplate }

func (c *concurrentFake) Concurrent() bool { return true }

// TestApplyWorkersOptions: Workers needs a template that says it is safe
// for concurrent use; bad option values are refused before anything is
// applied; a Methods or Combine template of concurrent parts converges.
func TestApplyWorkersOptions(t *testing.T) {
	for _, tt := range []struct {
		name string
		tmpl func(m *memDest) Template
		opts []ApplyOption
		want string
	}{
		{"sequential template", func(m *memDest) Template { return Methods(&fakeTemplate{m}) }, []ApplyOption{Workers(2)},
			"dss: template *dss.fakeTemplate: Workers(2) needs a template safe for concurrent use: give it a method Concurrent() bool that returns true; nothing applied"},
		{"func", func(m *memDest) Template { return TemplateFunc(func(context.Context, []Action) error { return nil }) }, []ApplyOption{Workers(8)},
			"dss: template dss.TemplateFunc: Workers(8) needs a template safe for concurrent use"},
		{"combined, one part sequential", func(m *memDest) Template {
			return Combine(Methods(&concurrentFake{fakeTemplate{m}}), Methods(&fakeTemplate{m}))
		}, []ApplyOption{Workers(2)}, "Workers(2) needs a template safe for concurrent use"},
		{"no workers", func(m *memDest) Template { return Methods(&concurrentFake{fakeTemplate{m}}) }, []ApplyOption{Workers(0)},
			"dss: apply source to dest: Workers(0): want at least 1; nothing applied"},
		{"no batch", func(m *memDest) Template { return Methods(&concurrentFake{fakeTemplate{m}}) }, []ApplyOption{BatchSize(0)},
			"dss: apply source to dest: BatchSize(0): want at least 1; nothing applied"},
		{"no token", func(m *memDest) Template { return Methods(&concurrentFake{fakeTemplate{m}}) }, []ApplyOption{RateLimit(rate.NewLimiter(10, 0))},
			"dss: apply source to dest: RateLimit: a limiter of 10 a second and burst 0: want both above 0, or rate.Inf; nothing applied"},
		{"negative retry", func(m *memDest) Template { return Methods(&concurrentFake{fakeTemplate{m}}) }, []ApplyOption{Retry(RetryPolicy{Attempts: -1})},
			"dss: apply source to dest: Retry({Attempts:-1 Wait:0s MaxWait:0s MaxTime:0s}): a negative field; nothing applied"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ds, m := scenario(t)
			p := mustPlan(t, ds)
			r, err := ds.Apply(context.Background(), p, tt.tmpl(m), tt.opts...)
			require.Nil(t, r)
			require.ErrorContains(t, err, tt.want)
			require.Empty(t, m.calls)
			// Nothing was spent: the plan applies on workers with a
			// template safe for concurrent use.
			tmpl := Combine(Methods(&concurrentFake{fakeTemplate{m}}))
			r, err = ds.Apply(context.Background(), p, tmpl, Workers(4))
			require.NoError(t, err)
			checkReport(t, r)
			require.Equal(t, len(p.Actions), r.Applied)
			require.NoError(t, ds.ImportDest(context.Background()))
			require.Empty(t, planMessages(mustPlan(t, ds)), "the destination did not converge")
		})
	}
}

// TestApplyWorkersStopOnError: at the first failure no new call starts;
// the calls in flight finish and are counted; an action waiting to be
// retried is failed with its last error; the rest is not reached.
func TestApplyWorkersStopOnError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ds := newUsers(t, 40)
		s := newScripted(10 * time.Millisecond)
		boom := errors.New("boom")
		s.slow["005"], s.script["005"] = 5*time.Millisecond, []error{boom}
		s.slow["001"], s.script["001"] = 2*time.Millisecond, []error{RetryAfter(errors.New("503"), time.Second)}
		start := time.Now()
		r, err := ds.Apply(context.Background(), mustPlan(t, ds), s, Workers(8), BatchSize(1), StopOnError())
		require.EqualError(t, err, "dss: apply source to dest: stopped at the first failure: dss: new_users(idnumber='005'): boom")
		// 001's wait freed its worker at 2 ms for 008, the last call.
		require.Equal(t, 12*time.Millisecond, time.Since(start), "Apply returns when the calls in flight return")
		checkReport(t, r)
		require.Equal(t, 9, s.started, "no call after the failure")
		require.Equal(t, 7, r.Applied)
		require.Len(t, r.Failed, 2)
		require.EqualError(t, r.Failed[0].Err, "not retried, Apply stopped: 503")
		require.Equal(t, boom, r.Failed[1].Err)
		require.Len(t, r.NotApplied(), 31)
		require.Equal(t, "009", r.NotApplied()[0].ID)
	})
}

// TestApplyWorkersCancel: cancelling ctx starts no new call; the calls in
// flight get the cancelled ctx and are counted as they return. Apply
// returns as soon as they have: at once for a template that honours ctx,
// after its calls for one that does not.
func TestApplyWorkersCancel(t *testing.T) {
	for _, honour := range []bool{true, false} {
		t.Run(fmt.Sprintf("honour=%v", honour), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ds := newUsers(t, 40)
				s := newScripted(10 * time.Millisecond)
				s.honourCtx = honour
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				time.AfterFunc(25*time.Millisecond, cancel)
				start := time.Now()
				r, err := ds.Apply(ctx, mustPlan(t, ds), s, Workers(8), BatchSize(1))
				require.ErrorIs(t, err, context.Canceled)
				checkReport(t, r)
				require.Equal(t, 24, s.started)
				require.Len(t, r.NotApplied(), 16)
				if honour {
					require.Equal(t, 25*time.Millisecond, time.Since(start))
					require.Equal(t, 16, r.Applied)
					require.Len(t, r.Failed, 8)
					require.ErrorIs(t, r.Failed[0].Err, context.Canceled)
					require.EqualError(t, err, "dss: apply source to dest: stopped after 24 of 40 actions: context canceled")
					return
				}
				require.Equal(t, 30*time.Millisecond, time.Since(start))
				require.Equal(t, 24, r.Applied)
				require.Empty(t, r.Failed)
			})
		})
	}
}

// TestApplyWorkersPanic: a template that panics on one worker fails that
// action; the others go on.
func TestApplyWorkersPanic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ds := newUsers(t, 20)
		s := newScripted(time.Millisecond)
		s.panics["003"] = true
		r, err := ds.Apply(context.Background(), mustPlan(t, ds), s, Workers(4), BatchSize(1))
		require.ErrorIs(t, err, ErrPanic)
		checkReport(t, r)
		require.Equal(t, 19, r.Applied)
		require.Len(t, r.Failed, 1)
		require.EqualError(t, r.Failed[0].Err, "template method panicked: template bug on 003")
	})
}

// TestApplyRateLimit: every call, retries included, first takes a token of
// the limiter, whatever the workers.
func TestApplyRateLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ds := newUsers(t, 30)
		s := newScripted(0)
		s.script["007"] = []error{RetryAfter(errors.New("429"), time.Millisecond)}
		start := time.Now()
		r, err := ds.Apply(context.Background(), mustPlan(t, ds), s, Workers(8), BatchSize(1),
			RateLimit(rate.NewLimiter(rate.Every(10*time.Millisecond), 1)))
		require.NoError(t, err)
		checkReport(t, r)
		require.Equal(t, 30, r.Applied)
		var times []time.Duration
		for _, c := range s.calls {
			times = append(times, c...)
		}
		slices.Sort(times)
		require.Len(t, times, 31)
		for i := 1; i < len(times); i++ {
			require.GreaterOrEqual(t, times[i]-times[i-1], 10*time.Millisecond)
		}
		require.Equal(t, 300*time.Millisecond, time.Since(start))

		// A limiter that cannot give a token before ctx's deadline stops
		// Apply; the actions it held back are not reached.
		ds = newUsers(t, 3)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		r, err = ds.Apply(ctx, mustPlan(t, ds), newScripted(0), BatchSize(1), RateLimit(rate.NewLimiter(rate.Every(time.Hour), 1)))
		require.ErrorContains(t, err, "dss: apply source to dest: stopped after 1 of 3 actions: waiting for the rate limit: rate: Wait(n=1) would exceed context deadline")
		checkReport(t, r)
		require.Equal(t, 1, r.Applied)
		require.Len(t, r.NotApplied(), 2)
	})
}

// TestApplyWorkersProgress: with workers, Progress is called after every
// call from one goroutine at a time, Done never goes back and ends at
// Total; the Debug lines name each call.
func TestApplyWorkersProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ds := newUsers(t, 50)
		var buf bytes.Buffer
		ds.Logger = slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
		var in atomic.Int32
		var done []int
		ds.Progress = func(p Progress) {
			require.Equal(t, int32(1), in.Add(1), "Progress called from two goroutines at once")
			defer in.Add(-1)
			require.Equal(t, 50, p.Total)
			done = append(done, p.Done)
		}
		s := newScripted(time.Millisecond)
		s.script["010"] = []error{Temporary(errors.New("503"))}
		r, err := ds.Apply(context.Background(), mustPlan(t, ds), s, Workers(8), BatchSize(1))
		require.NoError(t, err)
		checkReport(t, r)
		require.Len(t, done, 51) // one call per action, and the retry
		require.True(t, slices.IsSorted(done))
		require.Equal(t, 50, done[50])
		var batches, retries int
		for _, rec := range logRecords(t, &buf) {
			switch rec["msg"] {
			case "dss: apply batch":
				batches++
				if _, ok := rec["retry_in"]; ok {
					retries++
					require.Equal(t, "503", rec["error"])
				}
			case "dss: apply":
				require.Equal(t, float64(50), rec["applied"])
				require.Equal(t, float64(1), rec["retries"])
			}
		}
		require.Equal(t, 51, batches)
		require.Equal(t, 1, retries)
	})
}

// TestApplyWorkersRandom: random plans of every kind of action, applied on
// random workers and batch sizes through a template whose calls take
// random times and fail at random (temporary once or twice, for good, or
// by panicking), keep every ordering promise and an exact report.
func TestApplyWorkersRandom(t *testing.T) {
	for seed := range uint64(40) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rng := mrand.New(mrand.NewPCG(seed, 18))
				pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
				user := func(id int) Record {
					var tags []string
					for _, tag := range []string{"a", "b", "c"} {
						if rng.IntN(2) == 0 {
							tags = append(tags, tag)
						}
					}
					return Record{"idnumber": fmt.Sprintf("%02d", id), "name": pick("Ada", "Bob", "Cy"),
						"email": pick("x@e", "y@e"), "department": pick("", "d1", "d2", "d3"), "tags": tags}
				}
				var src, dst, groups []Record
				for id := range 40 {
					if rng.IntN(4) > 0 {
						src = append(src, user(id))
					}
					if rng.IntN(4) > 0 {
						dst = append(dst, user(id))
					}
				}
				for _, g := range []string{"d1", "d2", "d4"} {
					if rng.IntN(3) > 0 {
						var members []string
						for range rng.IntN(6) {
							members = append(members, fmt.Sprintf("%02d", rng.IntN(40)))
						}
						slices.Sort(members)
						groups = append(groups, Record{"idnumber": g, "members": slices.Compact(members)})
					}
				}
				ds, _ := newDatastore(t, src, dst, groups)
				open := Guard{MaxDeletes: -1, MaxDeleteFraction: 1, MaxRemoves: -1, MaxRemoveFraction: 1, AllowEmptySource: true}
				ds.Dest.Branches.Users.Guard, ds.Dest.Branches.Groups.Guard = open, open
				p := mustPlan(t, ds)
				if len(p.Actions) == 0 {
					return
				}
				const (
					ok = iota
					temporary
					final
					panics
				)
				fate := make([]int, len(p.Actions))
				for i := range fate {
					switch n := rng.IntN(100); {
					case n < 10:
						fate[i] = temporary
					case n < 14:
						fate[i] = final
					case n < 16:
						fate[i] = panics
					}
				}
				c := newChecker(p.Actions, 0)
				latency := make([]time.Duration, len(p.Actions))
				for i := range latency {
					latency[i] = time.Duration(rng.IntN(4)) * time.Millisecond
				}
				c.vary = func(a Action) time.Duration { return latency[c.index[a.String()]] }
				var mu sync.Mutex
				calls := map[int]int{}
				c.fail = func(a Action) error {
					i := c.index[a.String()]
					mu.Lock()
					defer mu.Unlock()
					calls[i]++
					switch fate[i] {
					case temporary:
						if calls[i] <= 1+i%2 {
							return RetryAfter(errors.New("503"), time.Duration(i%3)*time.Millisecond)
						}
					case final:
						return errors.New("400")
					case panics:
						return errPanicNow
					}
					return nil
				}
				workers := []int{1, 2, 3, 8}[rng.IntN(4)]
				opts := []ApplyOption{Workers(workers), BatchSize([]int{1, 2, 5, 1000}[rng.IntN(4)])}
				stop := rng.IntN(4) == 0
				if stop {
					opts = append(opts, StopOnError())
				}
				r, err := ds.Apply(context.Background(), p, c, opts...)
				checkReport(t, r)
				require.Empty(t, c.violations)
				failed := map[int]bool{}
				for _, f := range r.Failed {
					failed[f.index] = true
				}
				for i, f := range fate {
					if (f == final || f == panics) && r.reached[i] {
						require.True(t, failed[i], "action %d", i)
					}
					if f == temporary && r.reached[i] && !failed[i] {
						require.Equal(t, 2+i%2, calls[i], "action %d was applied on its last call", i)
					}
				}
				require.Equal(t, len(r.Failed) > 0, err != nil)
				if !stop {
					require.Empty(t, r.NotApplied())
				}
			})
		})
	}
}

// TestApplyStopOnErrorBatch: a batch that fails whole stops Apply at its
// first action, and all its actions are failed.
func TestApplyStopOnErrorBatch(t *testing.T) {
	ds := newUsers(t, 3)
	boom := errors.New("boom")
	r, err := ds.Apply(context.Background(), mustPlan(t, ds),
		TemplateFunc(func(context.Context, []Action) error { return boom }), StopOnError())
	require.EqualError(t, err, "dss: apply source to dest: stopped at the first failure: dss: new_users(idnumber='000'): boom")
	checkReport(t, r)
	require.Len(t, r.Failed, 3)
}

package dss

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"
)

// Datastore is level 1, the root: it owns the source tree (the point of
// truth) and the destination tree, and the whole lifecycle of a sync.
//
//	ds := dss.New[Source, Dest]()
//	// set ds.Source's and ds.Dest's importers
//	err := ds.Import(ctx)                      // +source, +dest, at once
//	plan, err := ds.Plan()                      // source - dest, judged by the guards
//	err = plan.Print(os.Stdout)                 // source > dest
//	report, err := ds.Apply(ctx, plan, tmpl)    // source >> dest, once
//
// S and D are the two trees' structs of branches; they may differ, as long
// as branches of the same name hold objects with the same synced attributes.
//
// The lifecycle is enforced, not just documented. A plan is judged by the
// destination's guards when it is made, so a dry run ([Plan.Refusal]) and
// the real run can never disagree. A plan is applied at most once, and only
// to the import it was made from: after an Apply, the destination must be
// imported again before the next plan. The methods of one Datastore may be
// called from several goroutines; they run one at a time.
type Datastore[S, D any] struct {
	// Source is the tree named "source", the point of truth.
	Source *Tree[S]
	// Dest is the tree named "dest", the destination the plan changes.
	Dest *Tree[D]

	// Logger, if set, gets a record of each phase: at Info, each tree's
	// import (objects, time), the plan (counts per branch; a refused plan at
	// Warn, with why) and the apply (applied, failed, not reached, retries,
	// time); at Debug, each branch's import (records, objects, time) and
	// each call of the template (action, count, time, error, and retry_in
	// when it will be retried). dss logs nothing without it.
	Logger *slog.Logger
	// Progress, if set, is called as a long phase goes: every 1024 records
	// a branch imports, and after every call of the template. During
	// Import it may be called from the two trees' goroutines at once;
	// during Apply, from Apply's goroutine only, even with Workers. It
	// must return quickly, and must not call the datastore's methods, which
	// wait for the phase that calls it.
	Progress func(Progress)

	// PlanKeys, if set, authenticate saved plans (see the README's Safety
	// for what a plan file is trusted for). A plan that Plan makes is saved
	// (MarshalJSON) with a tag: an HMAC-SHA256 of its canonical form under
	// PlanKeys[0]. Apply and Replan refuse a plan read from a file, with
	// ErrUnauthenticated and applying nothing, unless its tag verifies under
	// the key of its ID among PlanKeys. To rotate, put the new key first and
	// keep the old one after it until no plan tagged with it waits to be
	// applied. Without PlanKeys, plans are saved without a tag and a plan
	// file is trusted to be what dss wrote. Set PlanKeys before Plan; a key
	// that is unfit fails Plan, Apply and Replan with ErrPlanKey.
	PlanKeys []PlanKey

	mu sync.Mutex
}

// New returns a datastore with an empty source tree of type S, named
// "source", and an empty destination tree of type D, named "dest". Like
// [NewTree], it panics, naming every wrong field, when S or D is not a
// struct of branches.
func New[S, D any]() *Datastore[S, D] {
	return &Datastore[S, D]{Source: NewTree[S]("source"), Dest: NewTree[D]("dest")}
}

// Errors of the lifecycle, wrapped by the errors of Plan and Apply. Each
// means nothing was applied.
var (
	// ErrNotImported: a tree was never imported, or its last import failed,
	// or the destination was applied to since its last import.
	ErrNotImported = errors.New("not imported")
	// ErrStale: the plan was made before the latest import of a tree.
	ErrStale = errors.New("the plan is stale")
	// ErrSpent: the plan was applied already.
	ErrSpent = errors.New("the plan was applied already")
)

// Import is the original's +source and +dest: it imports both trees at
// the same time, one goroutine each; each tree still runs its importers in
// branch order. The importers of the two trees must not share state without
// locking. It returns the trees' errors joined, each an *ImportError. Every
// plan made before it is stale.
func (ds *Datastore[S, D]) Import(ctx context.Context) error {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	obs := ds.observer()
	var serr, derr error
	var wg sync.WaitGroup
	wg.Go(func() { serr = ds.Source.t.importAll(ctx, ds.Source.RedactValues, obs) })
	derr = ds.Dest.t.importAll(ctx, ds.Dest.RedactValues, obs)
	wg.Wait()
	return errors.Join(serr, derr)
}

// ImportDest imports the destination tree only, as Import does. A program
// that applies a saved plan needs the destination as it is now, not the
// source: the plan carries the source's objects. A saved plan leaves the
// values of secret fields out, though: to apply a plan whose objects have
// secret fields, Import both trees, and Apply takes the secrets from the
// source.
func (ds *Datastore[S, D]) ImportDest(ctx context.Context) error {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	return ds.Dest.t.importAll(ctx, ds.Dest.RedactValues, ds.observer())
}

// Plan is the original's source - dest, made data: every action that makes
// the destination equal to the source, in Diff's order, with a summary and
// the guards' verdict. A plan that breaks a destination branch's [Guard] is
// still returned, so that it can be printed and reviewed; its Refusal says
// why, and Apply refuses it. Plan fails, wrapping ErrNotImported, unless
// both trees were imported successfully and the destination was not applied
// to since.
func (ds *Datastore[S, D]) Plan() (*Plan, error) {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	return ds.plan()
}

// plan is Plan, for a caller that holds ds.mu.
func (ds *Datastore[S, D]) plan() (*Plan, error) {
	if err := checkPlanKeys(ds.PlanKeys); err != nil {
		return nil, err
	}
	s, d := &ds.Source.t, &ds.Dest.t
	s.mu.RLock()
	defer s.mu.RUnlock()
	d.mu.RLock()
	defer d.mu.RUnlock()
	for _, tr := range []*tree{s, d} {
		if err := tr.ready(); err != nil {
			return nil, fmt.Errorf("dss: plan %s to %s: %w", s.name, d.name, err)
		}
	}
	start := time.Now()
	p := makePlan(s, d)
	p.key = signing(ds.PlanKeys)
	ds.observer().planned(p, time.Since(start))
	return p, nil
}

func (ds *Datastore[S, D]) observer() *observer {
	if ds.Logger == nil && ds.Progress == nil {
		return nil
	}
	return &observer{log: ds.Logger, progress: ds.Progress}
}

// Apply is the original's source >> dest: it hands the plan's actions to
// tmpl, in plan order, each run of consecutive actions with the same name
// and branch in one call (see [Template]); with [Workers], calls on
// different objects run at once, in the order Workers states. The plan is either one that Plan made, or one
// decoded from JSON ([Plan.UnmarshalJSON]) that a reviewer saw.
//
// Apply refuses, calling no method and returning a nil Report, when:
//   - the plan is refused by the guards (its Refusal, a *GuardError);
//   - the plan was applied already (ErrSpent);
//   - a plan Plan made is stale: either tree was imported since (ErrStale);
//   - the destination was never imported, its import failed, or it was
//     applied to since (ErrNotImported);
//   - a decoded plan is not authenticated, when the datastore has
//     PlanKeys: it has no tag, or its tag does not verify under the key it
//     names (ErrUnauthenticated);
//   - a decoded plan does not match the destination as imported now: its
//     fingerprints differ (ErrDrift), or an action does not fit the trees,
//     its own kind, branch and attribute, the source object it carries or
//     the destination object; its guards are judged again against this
//     destination;
//   - a decoded plan carries source objects with secret fields (tagged
//     `dss:"key,secret"`), which the file leaves out, and the source is not
//     imported (ErrNotImported), or has no object with the idnumber to take
//     them from, or holds for an update_<secret> the value the destination
//     has already. Apply takes every secret value from the source as
//     imported now;
//   - the template cannot take every action of the plan: a *TemplateError
//     names the methods that are wrong or missing, unless AllowPartial is
//     given, and then actions without a method are counted as not
//     implemented.
//
// Then it goes through the whole plan. An action whose method returns an
// error or panics is recorded as failed and Apply goes on (or stops, with
// StopOnError); an error marked [Temporary] is retried first (see
// [RetryPolicy]); a model error (KindError) is a failure and is not
// dispatched. Cancelling ctx starts no new call: Apply returns once the
// calls in flight (with [Workers]) have returned. [RateLimit] paces the
// calls.
//
// Apply holds the datastore while it runs: the template must not call the
// datastore's methods.
//
// Once Apply has called a method, the plan is spent and the destination
// tree no longer says what the destination holds: the next plan needs a new
// Import. The Report says what was applied, what failed and what was not
// reached. The error is nil only if every reached action was applied (or
// not implemented, with AllowPartial) and Apply was not stopped.
func (ds *Datastore[S, D]) Apply(ctx context.Context, p *Plan, tmpl Template, opts ...ApplyOption) (*Report, error) {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	if p != nil {
		if err := ds.authenticate(p, "apply"); err != nil {
			return nil, err
		}
	}
	return apply(ctx, &ds.Source.t, &ds.Dest.t, p, tmpl, ds.observer(), opts)
}

// Save writes both trees to the directory dir, which must exist, as
// source.jsonl and dest.jsonl in the saved-tree format (see
// [Tree.SaveFile]): the original's write_to_disk.
func (ds *Datastore[S, D]) Save(dir string) error {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	if err := ds.Source.SaveFile(filepath.Join(dir, ds.Source.Name()+".jsonl")); err != nil {
		return err
	}
	return ds.Dest.SaveFile(filepath.Join(dir, ds.Dest.Name()+".jsonl"))
}

// Load reads both trees back from the files Save wrote to dir, instead of
// importing them: the original's read_from_disk. A load counts as an
// import: every plan made before it is stale.
func (ds *Datastore[S, D]) Load(dir string) error {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	serr := ds.Source.LoadFile(filepath.Join(dir, ds.Source.Name()+".jsonl"))
	derr := ds.Dest.LoadFile(filepath.Join(dir, ds.Dest.Name()+".jsonl"))
	return errors.Join(serr, derr)
}

// treeState is where a tree is in the lifecycle.
type treeState uint8

const (
	stateEmpty   treeState = iota // never imported
	stateFailed                   // the last import or load failed
	stateReady                    // imported: it says what its side holds
	stateApplied                  // a plan was applied to it since its import
)

// ready says why the tree cannot be planned from or applied to, or nil.
func (t *tree) ready() error {
	switch t.state {
	case stateEmpty:
		return fmt.Errorf("tree %s was never imported: %w", t.name, ErrNotImported)
	case stateFailed:
		return fmt.Errorf("the import of %s failed: %w: %w", t.name, ErrNotImported, t.importErr)
	case stateApplied:
		return fmt.Errorf("a plan was applied to %s since its import (import it again): %w", t.name, ErrNotImported)
	}
	return nil
}

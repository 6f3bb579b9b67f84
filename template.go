package dss

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// Template is what a destination implements to apply a plan: the contract
// between dss and the program's own code. Apply gives it the plan's
// actions in plan order, cut into batches: each batch is a run of
// consecutive actions with the same Name and Branch (at most [BatchSize]),
// so that a template can write a thousand new users with one COPY or one
// multi-row INSERT. A template that implements [Concurrent] may be called
// from several goroutines at once, with [Workers].
//
// Apply returns nil when every action of the batch was applied. To say that
// the batch stopped at one action, it returns a *BatchError: the actions
// before its Index were applied, the one at Index failed, and the rest were
// not attempted (Datastore.Apply goes on with them, unless StopOnError).
// Any other error fails the whole batch. An error marked [Temporary], alone
// or as a BatchError's Err, is retried from the action it names.
//
// Most programs write one method per action name instead, and let [Methods]
// make the Template; a type that implements Template itself is checked by
// the compiler.
type Template interface {
	Apply(ctx context.Context, batch []Action) error
}

// Implementer is an optional interface of a Template: one that implements
// only some actions says which, so that Datastore.Apply can refuse a plan it
// cannot complete before the first action. The templates Methods returns
// implement it.
type Implementer interface {
	// Implements reports whether the template handles actions named name
	// (new_users, update_name, ...).
	Implements(name string) bool
}

// TemplateFunc adapts a function to a Template.
type TemplateFunc func(ctx context.Context, batch []Action) error

// Apply calls f(ctx, batch).
func (f TemplateFunc) Apply(ctx context.Context, batch []Action) error { return f(ctx, batch) }

// BatchError is a template's error that says which action of its batch
// failed: the actions before Index were applied, the action at Index failed
// with Err, and the actions after it were not attempted.
type BatchError struct {
	Index int
	Err   error
}

// Error names the failed action by its place in the batch, then the cause.
func (e *BatchError) Error() string {
	return fmt.Sprintf("action %d of the batch: %v", e.Index+1, e.Err)
}

// Unwrap returns the cause.
func (e *BatchError) Unwrap() error { return e.Err }

// The two signatures a method of a Methods template may have.
type (
	actionMethod = func(ctx context.Context, a Action) error
	batchMethod  = func(ctx context.Context, batch []Action) error
)

// Methods returns the original's template: a Template that hands each batch
// to the method of v named after its actions, in CamelCase: new_users to
// NewUsers, update_name to UpdateName, add_members_to_groups to
// AddMembersToGroups. A method takes either one action or the whole batch:
//
//	func (t *Accounts) UpdateName(ctx context.Context, a dss.Action) error    // once per action
//	func (t *Accounts) NewUsers(ctx context.Context, batch []dss.Action) error // once per batch
//
// v is a struct or a pointer to one. Datastore.Apply resolves its methods
// against the destination's action names once, before the first action,
// and refuses with one *TemplateError that lists every problem at once: a
// method named after an action with the wrong signature, a method with an
// action's signature that is named after no action (a typo; it suggests the
// nearest names), methods lost because v is not a pointer, v that is not a
// struct, and actions of the plan that have no method.
func Methods(v any) Template { return &methods{v: v} }

// methods is the template Methods returns; resolve makes a copy with its
// table filled for one destination.
type methods struct {
	v     any
	table map[string]method // action name -> method
}

// method is one resolved method: it takes a single action or a batch.
type method struct {
	single actionMethod
	batch  batchMethod
}

func (m *methods) Apply(ctx context.Context, batch []Action) error {
	if len(batch) == 0 {
		return nil
	}
	f, ok := m.table[batch[0].Name]
	switch {
	case !ok:
		return fmt.Errorf("%w: %s", ErrNotImplemented, batch[0].Name)
	case f.batch != nil:
		return f.batch(ctx, batch)
	}
	for i, a := range batch {
		if err := f.single(ctx, a); err != nil {
			return &BatchError{Index: i, Err: err}
		}
	}
	return nil
}

// Concurrent reports whether the value the template was made of says it
// is safe for concurrent use (see [Concurrent]).
func (m *methods) Concurrent() bool { return isConcurrent(m.v) }

func (m *methods) Implements(name string) bool {
	_, ok := m.table[name]
	return ok
}

// batchLimit is how many actions named name Apply hands over in one call:
// one for a method that takes one action, so that Apply checks the context
// and counts between any two.
func (m *methods) batchLimit(_, name string) int {
	if f, ok := m.table[name]; ok && f.single != nil {
		return 1
	}
	return 0
}

// ErrNotImplemented is wrapped by the error of a template that has no
// method for an action.
var ErrNotImplemented = errors.New("no template method")

// TemplateError is Datastore.Apply's error for a template that cannot apply
// the plan: every problem at once, as net/rpc reports unsuitable methods.
// Nothing was applied.
type TemplateError struct {
	Type     string   // the template's type
	Problems []string // one line per problem
}

// Error lists every problem, separated by "; ".
func (e *TemplateError) Error() string {
	return fmt.Sprintf("dss: template %s: %s; nothing applied", e.Type, strings.Join(e.Problems, "; "))
}

// actionNames returns every action name a tree can receive, by method name.
func (t *tree) actionNames() map[string]string {
	names := map[string]string{}
	for _, b := range t.branches {
		add := func(n string) { names[camelCase(n)] = n }
		add(newName(b.Name()))
		add(oldName(b.Name()))
		p := b.objPlan()
		for _, i := range p.synced {
			f := &p.fields[i]
			n := namesFor(b.Name(), f.key)
			if f.list {
				add(n.add)
				add(n.remove)
			} else {
				add(n.update)
			}
		}
	}
	return names
}

var (
	ctxType    = reflect.TypeFor[context.Context]()
	actionType = reflect.TypeFor[Action]()
	batchType  = reflect.TypeFor[[]Action]()
	errorType  = reflect.TypeFor[error]()
)

// methodShape says whether m, a method with its receiver, takes one action
// or a batch, or neither.
func methodShape(m reflect.Method) (single, batch bool) {
	mt := m.Type
	if mt.NumIn() != 3 || mt.In(1) != ctxType || mt.NumOut() != 1 || mt.Out(0) != errorType {
		return false, false
	}
	return mt.In(2) == actionType, mt.In(2) == batchType
}

const wantSignature = "want func(context.Context, dss.Action) error or func(context.Context, []dss.Action) error"

// resolver is a template that must be resolved against the destination
// before it applies: Methods and Combine.
type resolver interface {
	resolveFor(t *tree) (Template, error)
}

func (m *methods) resolveFor(t *tree) (Template, error) {
	rm, err := m.resolve(t)
	if err != nil {
		return nil, err
	}
	return rm, nil
}

// resolve returns m with its method table for the destination t.
func (m *methods) resolve(t *tree) (*methods, error) {
	if m.v == nil {
		return nil, &TemplateError{Type: "nil", Problems: []string{"template is nil"}}
	}
	rv := reflect.ValueOf(m.v)
	rt := rv.Type()
	if st := rt; st.Kind() != reflect.Struct && (st.Kind() != reflect.Pointer || st.Elem().Kind() != reflect.Struct) {
		return nil, &TemplateError{Type: rt.String(), Problems: []string{fmt.Sprintf("%v is not a struct or a pointer to one", rt)}}
	}
	if rt.Kind() == reflect.Pointer && rv.IsNil() {
		return nil, &TemplateError{Type: rt.String(), Problems: []string{"template is a nil pointer"}}
	}
	names := t.actionNames()
	table := map[string]method{}
	var problems []string
	for i := range rt.NumMethod() {
		meth := rt.Method(i)
		action, named := names[meth.Name]
		single, batch := methodShape(meth)
		switch {
		case named && single:
			table[action] = method{single: rv.Method(i).Interface().(actionMethod)}
		case named && batch:
			table[action] = method{batch: rv.Method(i).Interface().(batchMethod)}
		case named:
			problems = append(problems, fmt.Sprintf("method %s for %s has type %v, %s", meth.Name, action, meth.Type, wantSignature))
		case single || batch:
			problems = append(problems, fmt.Sprintf("method %s matches no action of tree %s (did you mean one of %s?)",
				meth.Name, t.name, strings.Join(closest(meth.Name, names), ", ")))
		}
	}
	if rt.Kind() != reflect.Pointer {
		pt := reflect.PointerTo(rt)
		for i := range pt.NumMethod() {
			meth := pt.Method(i)
			if _, named := names[meth.Name]; named {
				if _, ok := rt.MethodByName(meth.Name); !ok {
					problems = append(problems, fmt.Sprintf("method %s has a pointer receiver: pass a *%v", meth.Name, rt))
				}
			}
		}
	}
	if len(problems) > 0 {
		return nil, &TemplateError{Type: rt.String(), Problems: problems}
	}
	return &methods{v: m.v, table: table}, nil
}

// closest returns up to three method names nearest to name.
func closest(name string, names map[string]string) []string {
	type scored struct {
		name string
		d    int
	}
	var all []scored
	lower := strings.ToLower(name)
	for n := range names {
		all = append(all, scored{n, editDistance(lower, strings.ToLower(n))})
	}
	slices.SortFunc(all, func(a, b scored) int {
		if a.d != b.d {
			return a.d - b.d
		}
		return strings.Compare(a.name, b.name)
	})
	var out []string
	for _, s := range all[:min(3, len(all))] {
		out = append(out, s.name)
	}
	return out
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

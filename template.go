package dss

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// A template method has this signature; Apply calls it once per action of
// the method's name.
type templateMethod = func(ctx context.Context, a Action) error

// template is a destination's template with its methods resolved once.
type template struct {
	methods map[string]templateMethod // action name -> bound method
}

// TemplateError is SetTemplate's error: every method of the template that
// cannot be used, at once, as net/rpc reports unsuitable methods.
type TemplateError struct {
	Type     string   // the template's type
	Problems []string // one line per unusable method
}

func (e *TemplateError) Error() string {
	return fmt.Sprintf("dss: template %s: %s", e.Type, strings.Join(e.Problems, "; "))
}

// SetTemplate sets the template whose methods Apply calls to act on this
// tree, the destination. Each action name maps to one method: update_name to
// UpdateName, new_users to NewUsers, add_members_to_groups to
// AddMembersToGroups. A method has the signature
//
//	func(ctx context.Context, a dss.Action) error
//
// SetTemplate resolves the methods once. It returns a *TemplateError listing
// every method named after one of this tree's actions whose signature is
// wrong, every method with the right signature that is named after no
// action (a typo), and methods left out because tmpl is not a pointer. It
// keeps the previous template on error. Actions without a method are
// reported by Apply as not implemented.
func (t *Tree[T]) SetTemplate(tmpl any) error {
	tt, err := resolveTemplate(&t.t, tmpl)
	if err != nil {
		return err
	}
	t.t.tmpl = tt
	return nil
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
	errorType  = reflect.TypeFor[error]()
)

func isActionMethod(m reflect.Method) bool {
	mt := m.Type // includes the receiver
	return mt.NumIn() == 3 && mt.In(1) == ctxType && mt.In(2) == actionType &&
		mt.NumOut() == 1 && mt.Out(0) == errorType
}

func resolveTemplate(t *tree, tmpl any) (*template, error) {
	if tmpl == nil {
		return nil, &TemplateError{Type: "nil", Problems: []string{"template is nil"}}
	}
	names := t.actionNames()
	rv := reflect.ValueOf(tmpl)
	rt := rv.Type()
	tt := &template{methods: map[string]templateMethod{}}
	var problems []string
	for i := range rt.NumMethod() {
		m := rt.Method(i)
		action, named := names[m.Name]
		switch {
		case named && isActionMethod(m):
			tt.methods[action] = rv.Method(i).Interface().(templateMethod)
		case named:
			problems = append(problems, fmt.Sprintf("method %s for %s has type %v, want func(context.Context, dss.Action) error",
				m.Name, action, m.Type))
		case isActionMethod(m):
			problems = append(problems, fmt.Sprintf("method %s matches no action of tree %s (did you mean one of %s?)",
				m.Name, t.name, strings.Join(closest(m.Name, names), ", ")))
		}
	}
	if rt.Kind() != reflect.Pointer {
		pt := reflect.PointerTo(rt)
		for i := range pt.NumMethod() {
			m := pt.Method(i)
			if _, named := names[m.Name]; named {
				if _, ok := rt.MethodByName(m.Name); !ok {
					problems = append(problems, fmt.Sprintf("method %s has a pointer receiver: pass a *%v", m.Name, rt))
				}
			}
		}
	}
	if len(problems) > 0 {
		return nil, &TemplateError{Type: rt.String(), Problems: problems}
	}
	return tt, nil
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

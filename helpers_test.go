package dss

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Test object types: the source's user derives Name from "_lastfirst", the
// destination's from "_first" and "_last", as in the seed.
type srcUser struct {
	ID         string    `dss:"idnumber"`
	LastFirst  string    `dss:"_lastfirst"`
	Name       string    `dss:"name"`
	Email      string    `dss:"email"`
	Department string    `dss:"department"`
	Age        int       `dss:"age"`
	Active     bool      `dss:"active"`
	Born       time.Time `dss:"born"`
	Tags       []string  `dss:"tags"`
}

func (u *srcUser) Derive() error {
	if u.LastFirst == "" {
		return nil
	}
	last, first, ok := strings.Cut(u.LastFirst, ", ")
	if !ok {
		return fmt.Errorf("lastfirst %q is not \"Last, First\"", u.LastFirst)
	}
	u.Name = first + " " + last
	return nil
}

type dstUser struct {
	ID         string    `dss:"idnumber"`
	First      string    `dss:"_first"`
	Last       string    `dss:"_last"`
	Name       string    `dss:"name"`
	Email      string    `dss:"email"`
	Department string    `dss:"department"`
	Age        int       `dss:"age"`
	Active     bool      `dss:"active"`
	Born       time.Time `dss:"born"`
	Tags       []string  `dss:"tags"`
}

func (u *dstUser) Derive() error {
	if u.First != "" || u.Last != "" {
		u.Name = u.First + " " + u.Last
	}
	return nil
}

type group struct {
	ID      string   `dss:"idnumber"`
	Members []string `dss:"members"`
}

type srcTree struct {
	Users  *Branch[string, srcUser]
	Groups *Branch[string, group]
}

type dstTree struct {
	Users  *Branch[string, dstUser]
	Groups *Branch[string, group]
}

// deptGroups derives groups from the users' departments, one record per
// membership, as the seed does.
func deptGroups(users *Branch[string, srcUser]) Importer {
	return ImporterFunc(func(ctx context.Context, yield func(Record) error) error {
		for id, u := range users.All() {
			if u.Department == "" {
				continue
			}
			if err := yield(Record{"idnumber": u.Department, "members": id}); err != nil {
				return err
			}
		}
		return nil
	})
}

func newSource(t testing.TB, users ...Record) *Tree[srcTree] {
	t.Helper()
	s := NewTree[srcTree]("source")
	s.Branches.Users.Importer = Records(users...)
	s.Branches.Groups.Importer = deptGroups(s.Branches.Users)
	if err := s.Import(context.Background()); err != nil {
		t.Fatalf("source import: %v", err)
	}
	return s
}

func newDest(t testing.TB, users []Record, groups []Record) *Tree[dstTree] {
	t.Helper()
	d := NewTree[dstTree]("dest")
	d.Branches.Users.Importer = Records(users...)
	d.Branches.Groups.Importer = Records(groups...)
	if err := d.Import(context.Background()); err != nil {
		t.Fatalf("dest import: %v", err)
	}
	return d
}

// memDest is an in-memory destination application: the datastore's
// destination tree imports from it and fakeTemplate writes to it, so that
// applying a plan, importing again and planning again shows whether the
// plan converged.
type memDest struct {
	mu     sync.Mutex
	users  map[string]dstUser
	groups map[string]group
	calls  []string // "action:idnumber", in the order the template got them
}

// newMemDest holds the objects the records describe.
func newMemDest(t testing.TB, users, groups []Record) *memDest {
	t.Helper()
	d := newDest(t, users, groups)
	m := &memDest{users: map[string]dstUser{}, groups: map[string]group{}}
	for id, u := range d.Branches.Users.All() {
		m.users[id] = *u
	}
	for id, g := range d.Branches.Groups.All() {
		m.groups[id] = *g
	}
	return m
}

// importers makes d import from m.
func (m *memDest) importers(d *Tree[dstTree]) {
	d.Branches.Users.Importer = ImporterFunc(func(ctx context.Context, yield func(Record) error) error {
		m.mu.Lock()
		defer m.mu.Unlock()
		for _, u := range m.users {
			if err := yield(Record{"idnumber": u.ID, "name": u.Name, "email": u.Email, "department": u.Department,
				"age": u.Age, "active": u.Active, "born": u.Born, "tags": slices.Clone(u.Tags)}); err != nil {
				return err
			}
		}
		return nil
	})
	d.Branches.Groups.Importer = ImporterFunc(func(ctx context.Context, yield func(Record) error) error {
		m.mu.Lock()
		defer m.mu.Unlock()
		for _, g := range m.groups {
			if err := yield(Record{"idnumber": g.ID, "members": slices.Clone(g.Members)}); err != nil {
				return err
			}
		}
		return nil
	})
}

// newDatastore imports a datastore whose source is the users (groups derive
// from their departments) and whose destination is an in-memory
// application holding dusers and dgroups.
func newDatastore(t testing.TB, susers, dusers, dgroups []Record) (*Datastore[srcTree, dstTree], *memDest) {
	t.Helper()
	ds := New[srcTree, dstTree]()
	ds.Source.Branches.Users.Importer = Records(susers...)
	ds.Source.Branches.Groups.Importer = deptGroups(ds.Source.Branches.Users)
	m := newMemDest(t, dusers, dgroups)
	m.importers(ds.Dest)
	if err := ds.Import(context.Background()); err != nil {
		t.Fatalf("import: %v", err)
	}
	return ds, m
}

// mustPlan makes a plan that the guards allow.
func mustPlan(t testing.TB, ds *Datastore[srcTree, dstTree]) *Plan {
	t.Helper()
	p, err := ds.Plan()
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	if err := p.Refusal(); err != nil {
		t.Fatalf("plan refused: %v", err)
	}
	// The diff counts the actions before it makes them, so that the plan
	// is allocated once, at its size.
	if len(p.Actions) != cap(p.Actions) {
		t.Fatalf("plan of %d actions has capacity %d", len(p.Actions), cap(p.Actions))
	}
	return p
}

// messages returns the plan's messages.
func messages(plan func(func(Action) bool)) []string {
	var out []string
	for a := range plan {
		out = append(out, a.String())
	}
	return out
}

// planMessages returns the messages of a plan's actions.
func planMessages(p *Plan) []string {
	var out []string
	for _, a := range p.Actions {
		out = append(out, a.String())
	}
	return out
}

// fakeTemplate writes to an in-memory destination, one method per action.
type fakeTemplate struct {
	m *memDest
}

// change applies fn to the object of an action in objs.
func change[V any](f *fakeTemplate, a Action, objs map[string]V, fn func(*V)) error {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	f.m.calls = append(f.m.calls, a.Name+":"+a.ID)
	o, ok := objs[a.ID]
	if !ok {
		return fmt.Errorf("no %s %s", a.Branch, a.ID)
	}
	fn(&o)
	objs[a.ID] = o
	return nil
}

func (f *fakeTemplate) user(a Action, fn func(u *dstUser)) error {
	return change(f, a, f.m.users, fn)
}

func (f *fakeTemplate) group(a Action, fn func(g *group)) error {
	return change(f, a, f.m.groups, fn)
}

func (f *fakeTemplate) NewUsers(ctx context.Context, a Action) error {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	f.m.calls = append(f.m.calls, a.Name+":"+a.ID)
	s := a.Source.(*srcUser)
	if _, ok := f.m.users[s.ID]; ok {
		return fmt.Errorf("user %s exists", s.ID)
	}
	f.m.users[s.ID] = dstUser{ID: s.ID, Name: s.Name, Email: s.Email, Department: s.Department,
		Age: s.Age, Active: s.Active, Born: s.Born, Tags: slices.Clone(s.Tags)}
	return nil
}

func (f *fakeTemplate) OldUsers(ctx context.Context, a Action) error {
	return remove(f, a, f.m.users)
}

// remove deletes the object of an old_ action from objs.
func remove[V any](f *fakeTemplate, a Action, objs map[string]V) error {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	f.m.calls = append(f.m.calls, a.Name+":"+a.ID)
	if _, ok := objs[a.ID]; !ok {
		return fmt.Errorf("no %s %s", a.Branch, a.ID)
	}
	delete(objs, a.ID)
	return nil
}

func (f *fakeTemplate) UpdateName(ctx context.Context, a Action) error {
	return f.user(a, func(u *dstUser) { u.Name = a.Value.(string) })
}

func (f *fakeTemplate) UpdateEmail(ctx context.Context, a Action) error {
	return f.user(a, func(u *dstUser) { u.Email = a.Value.(string) })
}

func (f *fakeTemplate) UpdateDepartment(ctx context.Context, a Action) error {
	return f.user(a, func(u *dstUser) { u.Department = a.Value.(string) })
}

func (f *fakeTemplate) UpdateAge(ctx context.Context, a Action) error {
	return f.user(a, func(u *dstUser) { u.Age = a.Value.(int) })
}

func (f *fakeTemplate) UpdateActive(ctx context.Context, a Action) error {
	return f.user(a, func(u *dstUser) { u.Active = a.Value.(bool) })
}

func (f *fakeTemplate) UpdateBorn(ctx context.Context, a Action) error {
	return f.user(a, func(u *dstUser) { u.Born = a.Value.(time.Time) })
}

func (f *fakeTemplate) AddTagsToUsers(ctx context.Context, a Action) error {
	return f.user(a, func(u *dstUser) { u.Tags = append(slices.Clone(u.Tags), a.Value.(string)) })
}

func (f *fakeTemplate) RemoveTagsFromUsers(ctx context.Context, a Action) error {
	return f.user(a, func(u *dstUser) {
		u.Tags = slices.DeleteFunc(slices.Clone(u.Tags), func(s string) bool { return s == a.Value.(string) })
	})
}

// NewGroups takes its actions as one batch, as a bulk insert would.
func (f *fakeTemplate) NewGroups(ctx context.Context, batch []Action) error {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	for _, a := range batch {
		f.m.calls = append(f.m.calls, a.Name+":"+a.ID)
		g := a.Source.(*group)
		f.m.groups[g.ID] = group{ID: g.ID, Members: slices.Clone(g.Members)}
	}
	return nil
}

func (f *fakeTemplate) OldGroups(ctx context.Context, a Action) error {
	return remove(f, a, f.m.groups)
}

func (f *fakeTemplate) AddMembersToGroups(ctx context.Context, a Action) error {
	return f.group(a, func(g *group) { g.Members = append(slices.Clone(g.Members), a.Value.(string)) })
}

func (f *fakeTemplate) RemoveMembersFromGroups(ctx context.Context, a Action) error {
	return f.group(a, func(g *group) {
		g.Members = slices.DeleteFunc(slices.Clone(g.Members), func(s string) bool { return s == a.Value.(string) })
	})
}

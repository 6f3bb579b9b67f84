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

// messages returns the plan's messages.
func messages(plan func(func(Action) bool)) []string {
	var out []string
	for a := range plan {
		out = append(out, a.String())
	}
	return out
}

// fakeTemplate is an in-memory destination: its methods really change the
// destination tree, so a second diff shows whether the plan converged.
type fakeTemplate struct {
	mu    sync.Mutex
	dest  *Tree[dstTree]
	calls []string
}

func (f *fakeTemplate) record(a Action) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, a.Name+":"+a.ID)
}

func (f *fakeTemplate) NewUsers(ctx context.Context, a Action) error {
	f.record(a)
	s := a.Source.(*srcUser)
	f.dest.Branches.Users.Put(dstUser{ID: s.ID, Name: s.Name, Email: s.Email, Department: s.Department,
		Age: s.Age, Active: s.Active, Born: s.Born, Tags: slices.Clone(s.Tags)})
	return nil
}

func (f *fakeTemplate) OldUsers(ctx context.Context, a Action) error {
	f.record(a)
	f.dest.Branches.Users.Delete(a.ID)
	return nil
}

func (f *fakeTemplate) UpdateName(ctx context.Context, a Action) error {
	f.record(a)
	a.Dest.(*dstUser).Name = a.Value.(string)
	return nil
}

func (f *fakeTemplate) UpdateEmail(ctx context.Context, a Action) error {
	f.record(a)
	a.Dest.(*dstUser).Email = a.Value.(string)
	return nil
}

func (f *fakeTemplate) UpdateDepartment(ctx context.Context, a Action) error {
	f.record(a)
	a.Dest.(*dstUser).Department = a.Value.(string)
	return nil
}

func (f *fakeTemplate) UpdateAge(ctx context.Context, a Action) error {
	f.record(a)
	a.Dest.(*dstUser).Age = a.Value.(int)
	return nil
}

func (f *fakeTemplate) UpdateActive(ctx context.Context, a Action) error {
	f.record(a)
	a.Dest.(*dstUser).Active = a.Value.(bool)
	return nil
}

func (f *fakeTemplate) UpdateBorn(ctx context.Context, a Action) error {
	f.record(a)
	a.Dest.(*dstUser).Born = a.Value.(time.Time)
	return nil
}

func (f *fakeTemplate) AddTagsToUsers(ctx context.Context, a Action) error {
	f.record(a)
	u := a.Dest.(*dstUser)
	u.Tags = append(u.Tags, a.Value.(string))
	return nil
}

func (f *fakeTemplate) RemoveTagsFromUsers(ctx context.Context, a Action) error {
	f.record(a)
	u := a.Dest.(*dstUser)
	u.Tags = slices.DeleteFunc(u.Tags, func(s string) bool { return s == a.Value.(string) })
	return nil
}

func (f *fakeTemplate) NewGroups(ctx context.Context, a Action) error {
	f.record(a)
	g := a.Source.(*group)
	f.dest.Branches.Groups.Put(group{ID: g.ID, Members: slices.Clone(g.Members)})
	return nil
}

func (f *fakeTemplate) OldGroups(ctx context.Context, a Action) error {
	f.record(a)
	f.dest.Branches.Groups.Delete(a.ID)
	return nil
}

func (f *fakeTemplate) AddMembersToGroups(ctx context.Context, a Action) error {
	f.record(a)
	g := a.Dest.(*group)
	g.Members = append(g.Members, a.Value.(string))
	return nil
}

func (f *fakeTemplate) RemoveMembersFromGroups(ctx context.Context, a Action) error {
	f.record(a)
	g := a.Dest.(*group)
	g.Members = slices.DeleteFunc(g.Members, func(s string) bool { return s == a.Value.(string) })
	return nil
}

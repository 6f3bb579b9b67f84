package dsstest_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/datastoresync/dss"
	"github.com/datastoresync/dss/dsstest"
	"github.com/google/go-cmp/cmp"
)

type Role string

// Staff is the source's object: every kind of attribute, an integer
// idnumber, and a private key.
type Staff struct {
	ID       int       `dss:"idnumber"`
	Name     string    `dss:"name"`
	Role     Role      `dss:"role"`
	Age      uint8     `dss:"age"`
	Score    float32   `dss:"score"`
	Active   bool      `dss:"active"`
	Born     time.Time `dss:"born"`
	Rooms    []int     `dss:"rooms"`
	Tags     []Role    `dss:"tags"`
	LastName string    `dss:"_last"`
}

// Member is the destination's: the same synced attributes, in another
// order, under other Go names, with a private key of its own.
type Member struct {
	Tags    []Role    `dss:"tags"`
	Rooms   []int     `dss:"rooms"`
	Born    time.Time `dss:"born"`
	Active  bool      `dss:"active"`
	Score   float32   `dss:"score"`
	Age     uint8     `dss:"age"`
	Role    Role      `dss:"role"`
	Label   string    `dss:"name"`
	Key     int       `dss:"idnumber"`
	Created string    `dss:"_created"`
}

type StaffTree struct {
	People *dss.Branch[int, Staff]
}

type MemberTree struct {
	People *dss.Branch[int, Member]
}

var (
	day1 = time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)
	day2 = time.Date(1991, 2, 3, 0, 0, 0, 0, time.UTC)
)

func staffStore(t *testing.T) *dss.Datastore[StaffTree, MemberTree] {
	t.Helper()
	ds := dss.New[StaffTree, MemberTree]()
	dsstest.Import(t, ds.Source, dsstest.Records{"people": {
		{"idnumber": 1, "name": "Ada", "role": "admin", "age": 36, "score": 0.5, "active": true, "born": day1,
			"rooms": []int{3, 1}, "tags": []string{"b", "a"}, "_last": "Lovelace"},
		{"idnumber": 10, "name": "Grace", "role": "user", "age": 85, "born": day2},
		{"idnumber": 2, "name": "Alan", "rooms": []int{7}},
	}})
	dsstest.Import(t, ds.Dest, dsstest.Records{"people": {
		{"idnumber": 1, "name": "Ada L.", "role": "user", "age": 35, "score": 0.25, "born": day2,
			"rooms": []int{1, 2}, "tags": []string{"c", "b"}, "_created": "yesterday"},
		{"idnumber": 3, "name": "Alan"},
	}})
	return ds
}

// TestConvergesEveryKind applies creations, updates of every scalar kind,
// list additions and removals and a deletion, between two object types
// that differ in all but their synced attributes, and checks what the
// Memory holds: the source's synced attributes, in the destination's types.
func TestConvergesEveryKind(t *testing.T) {
	ds := staffStore(t)
	var mem *dsstest.Memory
	run(t, func(tb testing.TB) { mem = dsstest.Converges(tb, ds) }).passed(t)
	want := dsstest.Records{"people": {
		{"idnumber": 1, "name": "Ada", "role": Role("admin"), "age": uint8(36), "score": float32(0.5), "active": true,
			"born": day1, "rooms": []int{1, 3}, "tags": []Role{"a", "b"}},
		{"idnumber": 2, "name": "Alan", "role": Role(""), "age": uint8(0), "score": float32(0), "active": false,
			"born": time.Time{}, "rooms": []int{7}, "tags": []Role(nil)},
		{"idnumber": 10, "name": "Grace", "role": Role("user"), "age": uint8(85), "score": float32(0), "active": false,
			"born": day2, "rooms": []int(nil), "tags": []Role(nil)},
	}}
	if diff := cmp.Diff(want, mem.Records()); diff != "" {
		t.Errorf("the Memory holds (-want +got):\n%s", diff)
	}
	// ds.Dest imports from the Memory: it holds what the plan made.
	m, ok := ds.Dest.Branches.People.Get(10)
	if !ok || m.Label != "Grace" || !m.Born.Equal(day2) {
		t.Errorf("the destination holds %+v, want Grace", m)
	}
}

// TestMemoryRecordsAreCopies: changing what Records returns changes
// nothing in the Memory.
func TestMemoryRecordsAreCopies(t *testing.T) {
	ds := staffStore(t)
	mem := dsstest.NewMemory(ds)
	recs := mem.Records()
	recs["people"][0]["rooms"].([]int)[0] = 99
	recs["people"][0]["name"] = "changed"
	if got := mem.Records()["people"][0]; got["rooms"].([]int)[0] != 1 || got["name"] != "Ada L." {
		t.Errorf("the Memory changed with its copy: %v", got)
	}
	// Nor does changing the objects it was copied from.
	a, _ := ds.Dest.Branches.People.Get(1)
	a.Rooms[0] = 42
	if got := mem.Records()["people"][0]["rooms"].([]int); got[0] != 1 {
		t.Errorf("the Memory shares its lists with the destination's objects: %v", got)
	}
}

// TestNewMemory: the destination imports from the Memory, not from the
// importers, filters and preprocessing it had.
func TestNewMemory(t *testing.T) {
	ds := dss.New[School, School]()
	dsstest.Import(t, ds.Source, dsstest.Records{"users": {{"idnumber": "1", "name": "Ada"}}})
	ds.Dest.Branches.Users.Filter = func(r dss.Record) bool { return r["idnumber"] != "2" }
	ds.Dest.Branches.Users.Preprocess = func(r dss.Record) error { return errors.New("raw records only") }
	dsstest.Import(t, ds.Dest, dsstest.Records{"users": nil})
	mem := dsstest.NewMemory(ds)
	if got := mem.Records(); len(got) != 0 {
		t.Errorf("a Memory of an empty destination holds %v", got)
	}
	if ds.Dest.Branches.Users.Filter != nil || ds.Dest.Branches.Users.Preprocess != nil {
		t.Error("the destination keeps its Filter or Preprocess")
	}
	if _, err := ds.Apply(context.Background(), dsstest.Plan(t, ds), mem); err != nil {
		t.Fatal(err)
	}
	if err := ds.ImportDest(context.Background()); err != nil {
		t.Fatal(err)
	}
	if u, ok := ds.Dest.Branches.Users.Get("1"); !ok || u.Name != "Ada" {
		t.Errorf("after the apply, the destination imports %v", u)
	}
	dsstest.AssertPlan(t, dsstest.Plan(t, ds))
}

// TestMemoryApplyStrict: an action that does not fit what the Memory holds
// fails, at its index in the batch, and changes nothing after it.
func TestMemoryApplyStrict(t *testing.T) {
	ds := staffStore(t)
	src, _ := ds.Source.Branches.People.Get(1)
	ok := dss.Action{Kind: dss.KindUpdate, Name: "update_name", Branch: "people", ID: "3", Attr: "name", Value: "Alan T."}
	tests := []struct {
		name string
		a    dss.Action
		want string
	}{
		{"a new object that exists", dss.Action{Kind: dss.KindNew, Name: "new_people", Branch: "people", ID: "1", Source: src}, "the object exists"},
		{"a new object of another type", dss.Action{Kind: dss.KindNew, Name: "new_people", Branch: "people", ID: "7", Source: &Member{Key: 7}},
			"the source object is a *dsstest_test.Member, not a *dsstest_test.Staff"},
		{"an old object that is not there", dss.Action{Kind: dss.KindOld, Name: "old_people", Branch: "people", ID: "5"}, "no such object"},
		{"an update of an object that is not there", dss.Action{Kind: dss.KindUpdate, Name: "update_name", Branch: "people", ID: "5", Attr: "name", Value: "x"}, "no such object"},
		{"an unknown branch", dss.Action{Kind: dss.KindOld, Name: "old_users", Branch: "users", ID: "1"}, `no branch "users"`},
		{"an unknown attribute", dss.Action{Kind: dss.KindUpdate, Name: "update_mail", Branch: "people", ID: "1", Attr: "mail", Value: "x"}, `no attribute "mail"`},
		{"a value of another type", dss.Action{Kind: dss.KindUpdate, Name: "update_age", Branch: "people", ID: "1", Attr: "age", Value: 36}, `attribute "age" is a uint8`},
		{"an update of a list", dss.Action{Kind: dss.KindUpdate, Name: "update_rooms", Branch: "people", ID: "1", Attr: "rooms", Value: []int{1}}, `attribute "rooms" is a list`},
		{"an element added to a scalar", dss.Action{Kind: dss.KindAdd, Name: "add_name_to_people", Branch: "people", ID: "1", Attr: "name", Value: "x"}, `attribute "name" is not a list`},
		{"an element added twice", dss.Action{Kind: dss.KindAdd, Name: "add_rooms_to_people", Branch: "people", ID: "1", Attr: "rooms", Value: 2}, `attribute "rooms" holds 2 already`},
		{"an element removed that is absent", dss.Action{Kind: dss.KindRemove, Name: "remove_rooms_from_people", Branch: "people", ID: "1", Attr: "rooms", Value: 5}, `attribute "rooms" does not hold 5`},
		{"a model error", dss.Action{Kind: dss.KindError, Name: "err_no_attr", Branch: "people", Attr: "x", Err: dss.ErrNoAttr}, "a model error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := dsstest.NewMemory(ds)
			before := mem.Records()
			err := mem.Apply(context.Background(), []dss.Action{ok, tt.a, ok})
			var be *dss.BatchError
			if !errors.As(err, &be) || be.Index != 1 {
				t.Fatalf("err = %v, want a *dss.BatchError at index 1", err)
			}
			if !strings.HasPrefix(be.Err.Error(), "dsstest: memory: ") || !strings.Contains(be.Err.Error(), tt.want) {
				t.Errorf("err = %q, want it to say %q", be.Err, tt.want)
			}
			after := mem.Records()
			if after["people"][1]["name"] != "Alan T." {
				t.Error("the action before the bad one was not applied")
			}
			after["people"][1]["name"] = "Alan"
			if diff := cmp.Diff(before, after); diff != "" {
				t.Errorf("the bad action changed the Memory (-before +after):\n%s", diff)
			}
		})
	}
}

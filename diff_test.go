package dss

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

func TestDiffPlan(t *testing.T) {
	born := time.Date(2000, 1, 2, 0, 0, 0, 0, time.UTC)
	src := newSource(t,
		Record{"idnumber": "11111", "_lastfirst": "Name, Old", "email": "old@x", "department": "students", "age": "30", "born": "2000-01-02", "tags": []string{"a", "b"}},
		Record{"idnumber": "22222", "_lastfirst": "User, New", "department": "students"},
		Record{"idnumber": "33333", "_lastfirst": "Same, Ann", "department": "staff"},
	)
	dst := newDest(t,
		[]Record{
			{"idnumber": "11111", "_first": "New", "_last": "Name", "email": "old@x", "department": "students", "age": 31, "born": born, "tags": []string{"b", "c"}},
			{"idnumber": "33333", "_first": "Ann", "_last": "Same", "department": "staff"},
			{"idnumber": "44444", "_first": "Gone", "_last": "User", "department": "staff"},
		},
		[]Record{
			{"idnumber": "students", "members": []string{"11111", "44444"}},
			{"idnumber": "staff", "members": []string{"33333", "44444"}},
			{"idnumber": "legacy", "members": []string{"44444"}},
		},
	)
	want := []string{
		// Semantics 7: every new_ first, branches in order.
		`new_users(idnumber='22222')`,
		// Then attribute changes: scalars by value, lists as sets.
		`update_name(idnumber='11111', attr="name", value="Old Name")`,
		`update_age(idnumber='11111', attr="age", value=30)`,
		`add_tags_to_users(idnumber='11111', attr="tags", value="a")`,
		`remove_tags_from_users(idnumber='11111', attr="tags", value="c")`,
		`remove_members_from_groups(idnumber='staff', attr="members", value="44444")`,
		`add_members_to_groups(idnumber='students', attr="members", value="22222")`,
		`remove_members_from_groups(idnumber='students', attr="members", value="44444")`,
		// Then every old_, branches in reverse order: groups before users.
		`old_groups(idnumber='legacy')`,
		`old_users(idnumber='44444')`,
	}
	if diff := cmp.Diff(want, messages(src.Diff(dst))); diff != "" {
		t.Errorf("plan (-want +got):\n%s", diff)
	}
}

func TestDiffActionFields(t *testing.T) {
	// Semantics 1 and 9: the source is the point of truth; an action carries
	// both values and both objects.
	src := newSource(t, Record{"idnumber": "1", "_lastfirst": "B, A", "age": 5})
	dst := newDest(t, []Record{{"idnumber": "1", "_first": "A", "_last": "B", "age": 6}}, nil)
	got := slices.Collect(src.Diff(dst))
	require.Len(t, got, 1)
	a := got[0]
	s, _ := src.Branches.Users.Get("1")
	d, _ := dst.Branches.Users.Get("1")
	want := Action{Kind: KindUpdate, Name: "update_age", Branch: "users", ID: "1", Attr: "age", Value: 5, DestValue: 6, Source: s, Dest: d}
	if diff := cmp.Diff(want, a, cmp.Comparer(func(x, y error) bool { return x == y })); diff != "" {
		t.Errorf("action (-want +got):\n%s", diff)
	}
	require.Same(t, s, a.Source.(*srcUser))
	require.Same(t, d, a.Dest.(*dstUser))
	require.Equal(t, "update", a.Kind.String())
}

func TestDiffEqualIsEmpty(t *testing.T) {
	recs := []Record{
		{"idnumber": "1", "_lastfirst": "B, A", "department": "x", "tags": []string{"t", "u"}},
		{"idnumber": "2", "_lastfirst": "D, C", "department": "x"},
	}
	src := newSource(t, recs...)
	dst := newDest(t,
		[]Record{
			{"idnumber": "2", "_first": "C", "_last": "D", "department": "x"},
			{"idnumber": "1", "_first": "A", "_last": "B", "department": "x", "tags": []string{"u", "t", "u"}},
		},
		[]Record{{"idnumber": "x", "members": []string{"2", "1"}}},
	)
	require.Empty(t, messages(src.Diff(dst)))
	sum, _ := summarize(&src.t, &dst.t, src.Diff(dst), nil)
	require.Equal(t, 0, sum.Changes())
	require.Equal(t, []BranchSummary{{Branch: "users", Unchanged: 2}, {Branch: "groups", Unchanged: 1}}, sum.Branches)
}

// TestDiffEqualAllocatesNothing: comparing equal objects allocates nothing,
// as Diff's comment says: comparing a branch pair of 2000 equal users, with
// list attributes equal as sets in another order, makes zero allocations.
// What a Diff allocates besides does not depend on the number of objects
// but on the branches and attributes: the branch pairs, every attribute's
// action names (built anew for each Diff), the spans and the iterator.
func TestDiffEqualAllocatesNothing(t *testing.T) {
	trees := func(n int) (*Tree[srcTree], *Tree[dstTree]) {
		var recs, drecs []Record
		for i := range n {
			id := string(rune('a'+i%26)) + time.Duration(i).String()
			recs = append(recs, Record{"idnumber": id, "_lastfirst": "L, F", "tags": []string{"x", "y"}, "age": i})
			drecs = append(drecs, Record{"idnumber": id, "_first": "F", "_last": "L", "tags": []string{"y", "x"}, "age": i})
		}
		return newSource(t, recs...), newDest(t, drecs, nil)
	}

	const n = 2000
	src, dst := trees(n)
	bp := newBranchPair(src.t.byName["users"], dst.t.byName["users"])
	spans := bp.src.spans(bp.dst, spanSize)
	compared := 0
	for _, sp := range spans {
		require.Equal(t, sp.shi-sp.slo, sp.dhi-sp.dlo, "span %+v pairs every object", sp)
		compared += sp.shi - sp.slo
	}
	require.Equal(t, n, compared, "the spans cover every object")
	allocs := testing.AllocsPerRun(10, func() {
		for _, sp := range spans {
			if d := bp.src.compare(bp.dst, bp, sp); d.news != nil || d.changes != nil || d.olds != nil {
				t.Fatalf("span %+v: the objects differ: %+v", sp, d)
			}
		}
	})
	require.Zero(t, allocs, "allocations comparing %d equal objects", n)

	// Through the whole Diff, equal objects add no allocation either.
	diffAllocs := func(src *Tree[srcTree], dst *Tree[dstTree]) float64 {
		return testing.AllocsPerRun(10, func() {
			for a := range src.Diff(dst) {
				t.Fatalf("unexpected action %v", a)
			}
		})
	}
	empty, full := diffAllocs(trees(0)), diffAllocs(src, dst)
	require.Zero(t, full-empty, "allocations of Diff: %v with no objects, %v with %d equal ones", empty, full, n)
}

func TestDiffDeterministic(t *testing.T) {
	// The same data imported in any order gives the same plan.
	var recs []Record
	for i := range 200 {
		id := string(rune('0'+i%10)) + string(rune('a'+i%26)) + string(rune('A'+i/26))
		recs = append(recs, Record{"idnumber": id, "_lastfirst": "L, F", "department": "d" + string(rune('a'+i%5)), "tags": []string{"x" + id[:1], "y"}})
	}
	var first []string
	for trial := range 5 {
		shuffled := slices.Clone(recs)
		rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		src := newSource(t, shuffled...)
		dst := newDest(t, []Record{{"idnumber": "zzz"}, {"idnumber": "000"}}, []Record{{"idnumber": "dz", "members": "zzz"}})
		got := messages(src.Diff(dst))
		if trial == 0 {
			first = got
			require.Greater(t, len(got), 200)
			continue
		}
		require.Equal(t, first, got, "trial %d", trial)
	}
}

func TestDiffStopsEarly(t *testing.T) {
	src := newSource(t, Record{"idnumber": "1"}, Record{"idnumber": "2"}, Record{"idnumber": "3"})
	dst := newDest(t, nil, nil)
	n := 0
	for range src.Diff(dst) {
		n++
		if n == 2 {
			break
		}
	}
	require.Equal(t, 2, n)
}

type badUser struct {
	ID     string `dss:"idnumber"`
	Name   int    `dss:"name"` // the source's is a string
	Extra  string `dss:"extra"`
	Secret string `dss:"_secret"` // private: needs no twin
}

type badTree struct {
	Users *Branch[string, badUser]
	Rooms *Branch[string, group]
}

func TestDiffModelErrors(t *testing.T) {
	// Semantics 8: a mismatch of the object models is reported, not crashed on.
	src := newSource(t, Record{"idnumber": "1", "_lastfirst": "B, A"})
	dst := NewTree[badTree]("dest")
	dst.Branches.Users.Put(badUser{ID: "1", Name: 3})
	got := slices.Collect(src.Diff(dst))
	var names []string
	for _, a := range got {
		require.Equal(t, KindError, a.Kind, a.String())
		names = append(names, a.Name+" "+a.Branch+" "+a.Attr)
	}
	want := []string{
		"err_no_branch groups ",
		"err_no_branch rooms ",
		"err_integrity users name",
		"err_no_attr users email",
		"err_no_attr users department",
		"err_no_attr users age",
		"err_no_attr users active",
		"err_no_attr users born",
		"err_no_attr users tags",
		"err_no_attr users extra",
	}
	require.Equal(t, want, names)
	require.Equal(t, len(got), compareTrees(&src.t, dst.core()).count(), "counted before they are made")
	require.ErrorIs(t, got[0].Err, ErrNoBranch)
	require.ErrorIs(t, got[2].Err, ErrIntegrity)
	require.ErrorIs(t, got[3].Err, ErrNoAttr)
	require.Equal(t, `err_integrity(attr="name", error="attribute types differ: source string, destination int")`, got[2].String())
}

type intKeyed struct {
	ID   int    `dss:"idnumber"`
	Name string `dss:"name"`
}

func TestDiffIntKeys(t *testing.T) {
	type tr struct{ Rooms *Branch[int, intKeyed] }
	src, dst := NewTree[tr]("source"), NewTree[tr]("dest")
	src.Branches.Rooms.Importer = Records(Record{"idnumber": "10", "name": "a"}, Record{"idnumber": 9, "name": "b"})
	require.NoError(t, src.Import(context.Background()))
	dst.Branches.Rooms.Put(intKeyed{ID: 10, Name: "x"}, intKeyed{ID: 100})
	// Numeric order, not text order.
	require.Equal(t, []string{
		`new_rooms(idnumber='9')`,
		`update_name(idnumber='10', attr="name", value="a")`,
		`old_rooms(idnumber='100')`,
	}, messages(src.Diff(dst)))
}

func TestDiffObjects(t *testing.T) {
	// Semantics 11: the original's u1 - u2.
	u1 := &srcUser{ID: "11111", Name: "Old Name", Tags: []string{"b", "a"}}
	u2 := &dstUser{ID: "11111", Name: "New Name", Tags: []string{"a"}}
	require.Equal(t, []string{
		`update_name(idnumber='11111', attr="name", value="Old Name")`,
		`add_tags_to_users(idnumber='11111', attr="tags", value="b")`,
	}, messages(DiffObjects("users", u1, u2)))

	// Models that disagree: only model errors, each wrapping its sentinel.
	var names []string
	for _, a := range slices.Collect(DiffObjects("users", u1, &badUser{ID: "11111"})) {
		require.Equal(t, KindError, a.Kind, a.String())
		require.Equal(t, "users", a.Branch, a.String())
		switch a.Name {
		case "err_integrity":
			require.ErrorIs(t, a.Err, ErrIntegrity)
		case "err_no_attr":
			require.ErrorIs(t, a.Err, ErrNoAttr)
		}
		names = append(names, a.Name+" "+a.Attr)
	}
	require.Equal(t, []string{
		"err_integrity name",
		"err_no_attr email", "err_no_attr department", "err_no_attr age", "err_no_attr active",
		"err_no_attr born", "err_no_attr tags", "err_no_attr extra",
	}, names)

	// A type dss cannot use is one err_integrity action saying why, in
	// the words of the other model errors: no "dss: " inside an action.
	got := slices.Collect(DiffObjects("x", &struct{ A int }{}, u2))
	require.Len(t, got, 1)
	require.Equal(t, KindError, got[0].Kind)
	require.Equal(t, "err_integrity", got[0].Name)
	require.Equal(t, "x", got[0].Branch)
	require.EqualError(t, got[0].Err, `object type struct { A int }: no idnumber field (tag a field dss:"idnumber" or name it IDNumber)`)
}

// TestDiffObjectsNil: a nil object is one KindError action naming the nil
// side, not a panic inside reflect.
func TestDiffObjectsNil(t *testing.T) {
	u1 := &srcUser{ID: "11111", Name: "Old Name"}
	u2 := &dstUser{ID: "11111", Name: "New Name"}
	for _, tt := range []struct {
		name string
		seq  func() []Action
		want string
	}{
		{"source", func() []Action { return slices.Collect(DiffObjects[srcUser]("users", nil, u2)) },
			"nil object: the source object is nil"},
		{"destination", func() []Action { return slices.Collect(DiffObjects[srcUser, dstUser]("users", u1, nil)) },
			"nil object: the destination object is nil"},
		{"both", func() []Action { return slices.Collect(DiffObjects[srcUser, dstUser]("users", nil, nil)) },
			"nil object: both objects are nil"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got []Action
			require.NotPanics(t, func() { got = tt.seq() })
			require.Len(t, got, 1)
			a := got[0]
			require.Equal(t, KindError, a.Kind)
			require.Equal(t, "err_nil_object", a.Name)
			require.Equal(t, "users", a.Branch)
			require.ErrorIs(t, a.Err, ErrNilObject)
			require.EqualError(t, a.Err, tt.want)
		})
	}
	// A consumer that stops at once is not called again (the range
	// statement would panic if it were).
	n := 0
	for range DiffObjects[srcUser, dstUser]("users", nil, u2) {
		n++
		break
	}
	require.Equal(t, 1, n)
}

// TestDiffSpans: cutting the branches into spans compared on several
// goroutines gives the plan of one walk over everything, whatever the
// spans' size, including spans where only one side has objects.
func TestDiffSpans(t *testing.T) {
	size, min := spanSize, parallelMin
	t.Cleanup(func() { spanSize, parallelMin = size, min })
	actions := 0
	for c := range 200 {
		rng := rand.New(rand.NewPCG(7, uint64(c)))
		ds, _ := randomTrees(t, rng)
		src, dst := ds.Source, ds.Dest
		spanSize, parallelMin = 1<<30, 1<<30
		want := messages(src.Diff(dst))
		actions += len(want)
		for _, s := range []int{1, 2, 3, 7} {
			spanSize, parallelMin = s, 0
			require.Equal(t, want, messages(src.Diff(dst)), "case %d, spans of %d", c, s)
		}
	}
	require.Greater(t, actions, 200, "the cases have actions to compare")
}

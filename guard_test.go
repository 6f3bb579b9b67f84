package dss

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// guardScenario: a destination of n users in one group; the source keeps
// the first keep of them.
func guardScenario(t *testing.T, n, keep int) (*Datastore[srcTree, dstTree], *memDest) {
	var srecs, drecs []Record
	var members []string
	for i := range n {
		id := fmt.Sprintf("u%04d", i)
		if i < keep {
			srecs = append(srecs, Record{"idnumber": id, "department": "all"})
		}
		drecs = append(drecs, Record{"idnumber": id, "department": "all"})
		members = append(members, id)
	}
	return newDatastore(t, srecs, drecs, []Record{{"idnumber": "all", "members": members}})
}

func TestGuards(t *testing.T) {
	tests := []struct {
		name      string
		n, keep   int
		guard     func(d *Tree[dstTree])
		wantRule  string
		wantCount int
	}{
		{"a handful of deletes passes", 12, 2, nil, "", 0},
		{"more than half refused", 100, 40, nil, "deletes", 60},
		{"more than 500 refused", 2000, 1400, nil, "deletes", 600},
		{"memberships are guarded apart", 100, 40, func(d *Tree[dstTree]) { d.Branches.Users.Guard.MaxDeleteFraction = 1 }, "list removals", 60},
		{"limits can be raised per branch", 100, 40, func(d *Tree[dstTree]) {
			d.Branches.Users.Guard.MaxDeleteFraction = 0.7
			d.Branches.Groups.Guard.MaxRemoveFraction = 1
		}, "", 0},
		{"limits can be lowered per branch", 100, 97, func(d *Tree[dstTree]) { d.Branches.Users.Guard.MaxDeletes = 2 }, "deletes", 3},
		{"no count limit", 2000, 1400, func(d *Tree[dstTree]) {
			d.Branches.Users.Guard.MaxDeletes = -1
		}, "", 0},
		{"an empty source is refused", 3, 0, nil, "empty source", 0},
		{"an empty source can be allowed", 3, 0, func(d *Tree[dstTree]) {
			d.Branches.Users.Guard.AllowEmptySource = true
			d.Branches.Groups.Guard.AllowEmptySource = true
		}, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds, m := guardScenario(t, tt.n, tt.keep)
			if tt.guard != nil {
				tt.guard(ds.Dest)
			}
			p, err := ds.Plan()
			require.NoError(t, err)
			verdict := p.Refusal()
			r, err := ds.Apply(context.Background(), p, Methods(&fakeTemplate{m}))
			require.Equal(t, verdict, err, "the plan's verdict is what Apply says")
			if tt.wantRule == "" {
				require.NoError(t, err)
				require.NoError(t, ds.ImportDest(context.Background()))
				require.Empty(t, planMessages(mustPlan(t, ds)))
				return
			}
			var ge *GuardError
			require.ErrorAs(t, err, &ge)
			require.ErrorIs(t, err, ErrGuard)
			require.Equal(t, tt.wantRule, ge.Rule)
			require.Equal(t, tt.wantCount, ge.Count)
			require.Nil(t, r)
			require.Empty(t, m.calls, "a refused plan applies nothing")
			require.Contains(t, err.Error(), "nothing applied")
		})
	}
}

func TestGuardMessage(t *testing.T) {
	ds, _ := guardScenario(t, 100, 40)
	p, err := ds.Plan()
	require.NoError(t, err)
	err = p.Refusal()
	require.EqualError(t, err, "dss: dest.users: refused by the branch's guard: the plan has 60 deletes of 100 (60.0%), the limit is 500 or 50% (raise the branch's Guard to allow it); nothing applied")
}

// TestGuardCountsMembersOfDeletedObjects: deleting a group removes all its
// members, and the list-removal limits count them (issue 10, point 1).
func TestGuardCountsMembersOfDeletedObjects(t *testing.T) {
	var srecs, drecs []Record
	var members []string
	for i := range 100 {
		id := fmt.Sprintf("u%04d", i)
		srecs = append(srecs, Record{"idnumber": id}) // no department: no group
		drecs = append(drecs, Record{"idnumber": id})
		members = append(members, id)
	}
	srecs[0]["department"] = "all" // one group stays, so the source is not empty
	drecs[0]["department"] = "all"
	ds, m := newDatastore(t, srecs, drecs, []Record{
		{"idnumber": "all", "members": members[:1]},
		{"idnumber": "big", "members": members},
	})
	p, err := ds.Plan()
	require.NoError(t, err)
	var ge *GuardError
	require.ErrorAs(t, p.Refusal(), &ge)
	require.Equal(t, "list removals", ge.Rule)
	require.Equal(t, 100, ge.Count, "the members of the deleted group are removals")
	require.Equal(t, 101, ge.Of)
	_, err = ds.Apply(context.Background(), p, Methods(&fakeTemplate{m}))
	require.ErrorIs(t, err, ErrGuard)
	require.Len(t, m.groups, 2)

	ds.Dest.Branches.Groups.Guard.MaxRemoveFraction = 1
	require.NoError(t, ds.Import(context.Background()))
	_, err = ds.Apply(context.Background(), mustPlan(t, ds), Methods(&fakeTemplate{m}))
	require.NoError(t, err)
	require.Len(t, m.groups, 1)
}

// TestGuardJudgesWhatIsApplied: a plan's actions are exported; actions
// added to a plan after it was judged are judged again by Apply.
func TestGuardJudgesWhatIsApplied(t *testing.T) {
	ds, m := guardScenario(t, 100, 100)
	p := mustPlan(t, ds)
	require.Empty(t, p.Actions)
	for id, u := range ds.Dest.Branches.Users.All() {
		p.Actions = append(p.Actions, Action{Kind: KindOld, Name: "old_users", Branch: "users", ID: id, Dest: u})
	}
	_, err := ds.Apply(context.Background(), p, Methods(&fakeTemplate{m}))
	var ge *GuardError
	require.ErrorAs(t, err, &ge)
	require.Equal(t, 100, ge.Count)
	require.Empty(t, m.calls)
}

// TestGuardInvalid: a limit that means nothing (a count below -1, a
// fraction below 0, above 1 or NaN) refuses every plan, naming the branch,
// the field and the range, instead of passing for a limit (issue 20, point
// 4: "the limit is 500 or -50%", "NaN%").
func TestGuardInvalid(t *testing.T) {
	tests := []struct {
		name  string
		guard Guard
		want  string
	}{
		{"count below -1", Guard{MaxDeletes: -5}, "MaxDeletes is -5, want -1 (no limit), 0 (the default) or more"},
		{"removes below -1", Guard{MaxRemoves: -2}, "MaxRemoves is -2, want -1 (no limit), 0 (the default) or more"},
		{"negative fraction", Guard{MaxDeleteFraction: -0.5}, "MaxDeleteFraction is -0.5, want a fraction from 0 (the default) to 1 (no limit)"},
		{"fraction above 1", Guard{MaxDeleteFraction: 2}, "MaxDeleteFraction is 2, want a fraction from 0 (the default) to 1 (no limit)"},
		{"NaN fraction", Guard{MaxRemoveFraction: math.NaN()}, "MaxRemoveFraction is NaN, want a fraction from 0 (the default) to 1 (no limit)"},
		{"infinite fraction", Guard{MaxRemoveFraction: math.Inf(1)}, "MaxRemoveFraction is +Inf, want a fraction from 0 (the default) to 1 (no limit)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds, m := guardScenario(t, 12, 12) // nothing to delete: the guard is refused for itself
			ds.Dest.Branches.Groups.Guard = tt.guard
			p, err := ds.Plan()
			require.NoError(t, err)
			require.ErrorIs(t, p.Refusal(), ErrInvalidGuard)
			require.EqualError(t, p.Refusal(), "dss: dest.groups: invalid guard: "+tt.want+"; nothing applied")
			r, err := ds.Apply(context.Background(), p, Methods(&fakeTemplate{m}))
			require.ErrorIs(t, err, ErrInvalidGuard)
			require.Nil(t, r)
			require.Empty(t, m.calls)
		})
	}
	for _, g := range []Guard{{MaxDeletes: -1, MaxRemoves: -1}, {MaxDeleteFraction: 1, MaxRemoveFraction: 1}, {MaxDeleteFraction: 0.01}} {
		ds, _ := guardScenario(t, 12, 12)
		ds.Dest.Branches.Users.Guard = g
		require.NoError(t, mustPlan(t, ds).Refusal(), "%+v is valid", g)
	}
}

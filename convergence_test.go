package dss

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// convergenceCases is the number of random cases: 300, or
// $DSS_CONVERGENCE_CASES (CI runs 5000).
func convergenceCases(t *testing.T) int {
	if s := os.Getenv("DSS_CONVERGENCE_CASES"); s != "" {
		n, err := strconv.Atoi(s)
		require.NoError(t, err, "DSS_CONVERGENCE_CASES")
		return n
	}
	return 300
}

// convergenceSeed is the seed of TestConvergence's random cases:
// $DSS_CONVERGENCE_SEED when set, to replay a failing run, else the clock.
func convergenceSeed(t *testing.T) uint64 {
	if s := os.Getenv("DSS_CONVERGENCE_SEED"); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		require.NoError(t, err, "DSS_CONVERGENCE_SEED")
		return seed
	}
	return uint64(time.Now().UnixNano())
}

// randomTrees builds a source and a destination that share some users and
// differ in every way dss knows: scalars, lists, additions and deletions.
func randomTrees(t *testing.T, rng *rand.Rand) (*Datastore[srcTree, dstTree], *memDest) {
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	tags := func() []string {
		var out []string
		for _, tg := range []string{"a", "b", "c", "d"} {
			if rng.IntN(2) == 0 {
				out = append(out, tg)
			}
		}
		return out
	}
	day := func() string {
		return time.Date(1990+rng.IntN(3), 1, 1+rng.IntN(3), 0, 0, 0, 0, time.UTC).Format(time.RFC3339)
	}
	n := rng.IntN(30)
	var srecs, drecs []Record
	var groups []Record
	for i := range n {
		id := fmt.Sprintf("%03d", rng.IntN(40))
		first, last := pick("Ann", "Bo", "Cy"), pick("Ng", "Oz")
		dept := pick("x", "y", "z", "")
		if rng.IntN(4) > 0 {
			srecs = append(srecs, Record{"idnumber": id, "_lastfirst": last + ", " + first, "email": pick("a@x", "b@x"),
				"department": dept, "age": rng.IntN(3), "active": rng.IntN(2) == 1, "born": day(), "tags": tags()})
		}
		if rng.IntN(4) > 0 {
			did := id
			if rng.IntN(5) == 0 {
				did = fmt.Sprintf("%03d", 40+i) // destination only
			}
			drecs = append(drecs, Record{"idnumber": did, "_first": pick(first, "Di"), "_last": last, "email": pick("a@x", "b@x"),
				"department": pick(dept, "y"), "age": rng.IntN(3), "active": rng.IntN(2) == 1, "born": day(), "tags": tags()})
			groups = append(groups, Record{"idnumber": pick("x", "y", "w"), "members": did})
		}
	}
	// Random records may repeat an idnumber with other scalars: keep the
	// first of each, as a well-formed export would.
	dedupe := func(recs []Record) []Record {
		seen := map[any]bool{}
		var out []Record
		for _, r := range recs {
			if !seen[r["idnumber"]] {
				seen[r["idnumber"]] = true
				out = append(out, r)
			}
		}
		return out
	}
	// Users are unique either way; a Unique branch keeps no map.
	ds := New[srcTree, dstTree]()
	ds.Source.Branches.Users.Unique = rng.IntN(2) == 0
	ds.Source.Branches.Users.Importer = Records(dedupe(srecs)...)
	ds.Source.Branches.Groups.Importer = deptGroups(ds.Source.Branches.Users)
	ds.Dest.Branches.Users.Unique = rng.IntN(2) == 0
	m := newMemDest(t, dedupe(drecs), groups)
	m.importers(ds.Dest)
	require.NoError(t, ds.Import(context.Background()))
	for _, g := range []*Guard{&ds.Dest.Branches.Users.Guard, &ds.Dest.Branches.Groups.Guard} {
		*g = Guard{MaxDeleteFraction: 1, MaxRemoveFraction: 1, AllowEmptySource: true}
	}
	return ds, m
}

// TestConvergence is the property that makes dss a sync tool: applying the
// plan through a template that really changes the destination leaves nothing
// to do, whether the plan is applied at once or saved as JSON and applied by
// a later run.
//
// Its cases are random: each is drawn from the seed, which the test logs,
// and the case's number. To replay a failing run, set the seed it printed:
//
//	DSS_CONVERGENCE_SEED=1234 go test -run TestConvergence -v .
//
// with DSS_CONVERGENCE_CASES at least the failing case's number plus one.
func TestConvergence(t *testing.T) {
	seed := convergenceSeed(t)
	cases := convergenceCases(t)
	t.Logf("seed %d ($DSS_CONVERGENCE_SEED replays it), %d cases ($DSS_CONVERGENCE_CASES)", seed, cases)
	for c := range cases {
		rng := rand.New(rand.NewPCG(seed, uint64(c)))
		ds, m := randomTrees(t, rng)
		viaJSON := c%2 == 1
		p := mustPlan(t, ds)
		before := planMessages(p)
		var err error
		if viaJSON {
			// A later run applies the saved plan to the destination it imports.
			next := New[srcTree, dstTree]()
			next.Dest.Branches.Users.Guard = ds.Dest.Branches.Users.Guard
			next.Dest.Branches.Groups.Guard = ds.Dest.Branches.Groups.Guard
			m.importers(next.Dest)
			require.NoError(t, next.ImportDest(context.Background()))
			_, err = next.Apply(context.Background(), savePlan(t, p), Methods(&fakeTemplate{m}))
		} else {
			_, err = ds.Apply(context.Background(), p, Methods(&fakeTemplate{m}))
		}
		require.NoError(t, err, "case %d (DSS_CONVERGENCE_SEED=%d)", c, seed)
		require.NoError(t, ds.ImportDest(context.Background()))
		if after := planMessages(mustPlan(t, ds)); len(after) > 0 {
			t.Fatalf("case %d (DSS_CONVERGENCE_SEED=%d, json %v) did not converge.\nplan:\n%v\nleft:\n%v", c, seed, viaJSON, before, after)
		}
	}
}

// TestConvergenceSeed: $DSS_CONVERGENCE_SEED sets TestConvergence's seed,
// and a seed and a case number make the same trees and plan again, so that
// a failing run can be replayed.
func TestConvergenceSeed(t *testing.T) {
	t.Setenv("DSS_CONVERGENCE_SEED", "1234567890123")
	seed := convergenceSeed(t)
	require.Equal(t, uint64(1234567890123), seed)
	var plans [2][]string
	for i := range plans {
		ds, _ := randomTrees(t, rand.New(rand.NewPCG(seed, 7)))
		plans[i] = planMessages(mustPlan(t, ds))
	}
	require.NotEmpty(t, plans[0])
	require.Equal(t, plans[0], plans[1], "a replayed case makes the same plan")
}

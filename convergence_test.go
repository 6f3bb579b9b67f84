package dss

import (
	"context"
	"encoding/json"
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

// randomTrees builds a source and a destination that share some users and
// differ in every way dss knows: scalars, lists, additions and deletions.
func randomTrees(t *testing.T, rng *rand.Rand) (*Tree[srcTree], *Tree[dstTree]) {
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
	// Users are unique either way; a Unique branch keeps no map, which the
	// template's Put and Delete must then build.
	src := NewTree[srcTree]("source")
	src.Branches.Users.Unique = rng.IntN(2) == 0
	src.Branches.Users.Importer = Records(dedupe(srecs)...)
	src.Branches.Groups.Importer = deptGroups(src.Branches.Users)
	require.NoError(t, src.Import(context.Background()))
	dst := NewTree[dstTree]("dest")
	dst.Branches.Users.Unique = rng.IntN(2) == 0
	dst.Branches.Users.Importer = Records(dedupe(drecs)...)
	dst.Branches.Groups.Importer = Records(groups...)
	require.NoError(t, dst.Import(context.Background()))
	for _, g := range []*Guard{&dst.Branches.Users.Guard, &dst.Branches.Groups.Guard} {
		*g = Guard{MaxDeleteFraction: 1, MaxRemoveFraction: 1, AllowEmptySource: true}
	}
	return src, dst
}

// TestConvergence is the property that makes dss a sync tool: applying the
// plan through a template that really changes the destination leaves nothing
// to do, whether the plan is applied at once or saved as JSON and applied by
// a later run.
func TestConvergence(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	cases := convergenceCases(t)
	t.Logf("seed %d, %d cases ($DSS_CONVERGENCE_CASES)", seed, cases)
	for c := range cases {
		rng := rand.New(rand.NewPCG(seed, uint64(c)))
		src, dst := randomTrees(t, rng)
		viaJSON := c%2 == 1
		tmpl := &fakeTemplate{dest: dst}
		require.NoError(t, dst.SetTemplate(tmpl))
		before := messages(src.Diff(dst))
		var err error
		if viaJSON {
			var p *Plan
			p, err = src.Plan(dst)
			require.NoError(t, err)
			data, merr := json.Marshal(p)
			require.NoError(t, merr)
			var saved Plan
			require.NoError(t, json.Unmarshal(data, &saved))
			_, err = NewTree[srcTree]("source").ApplyPlan(context.Background(), dst, &saved)
		} else {
			_, err = src.Apply(context.Background(), dst)
		}
		require.NoError(t, err, "case %d (seed %d)", c, seed)
		if after := messages(src.Diff(dst)); len(after) > 0 {
			t.Fatalf("case %d (seed %d, json %v) did not converge.\nplan:\n%v\nleft:\n%v", c, seed, viaJSON, before, after)
		}
	}
}

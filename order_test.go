package dss

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

type keyed32 struct {
	ID  int
	Seq int // the entry's place before sorting, to check stability
}

// TestSortEntries compares sortEntries with the standard library's stable
// sort on inputs shaped like exports: sorted, a few runs, reversed, random
// with and without repeats, around the sizes where the algorithm changes.
func TestSortEntries(t *testing.T) {
	shapes := map[string]func(rng *rand.Rand, i, n int) int{
		"sorted":     func(_ *rand.Rand, i, _ int) int { return i },
		"two runs":   func(_ *rand.Rand, i, n int) int { return (i%(n/2+1))*2 + i/(n/2+1) },
		"reversed":   func(_ *rand.Rand, i, n int) int { return n - i },
		"random":     func(rng *rand.Rand, _, n int) int { return rng.IntN(n + 1) },
		"repeats":    func(rng *rand.Rand, _, _ int) int { return rng.IntN(5) },
		"five runs":  func(_ *rand.Rand, i, n int) int { return i % (n/5 + 1) }, // equal keys across runs
		"short runs": func(rng *rand.Rand, i, n int) int { return i%7*n + rng.IntN(3) },
	}
	for name, shape := range shapes {
		for _, n := range []int{0, 1, 2, 31, 32, 33, 64, 65, 100, 1000, 5000} {
			t.Run(fmt.Sprintf("%s/%d", name, n), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(n), 1))
				objs := make([]keyed32, n)
				es := make([]entry[int], n)
				for i := range objs {
					objs[i] = keyed32{ID: shape(rng, i, n), Seq: i}
					es[i] = entry[int]{key: objs[i].ID, obj: unsafe.Pointer(&objs[i]), line: int32(i)}
				}
				want := slices.Clone(es)
				slices.SortStableFunc(want, func(x, y entry[int]) int { return cmp.Compare(x.key, y.key) })
				// The runs given, as a branch notes them, or found.
				runs := []int{0}
				for i := 1; i < n; i++ {
					if es[i].key < es[i-1].key {
						runs = append(runs, i)
					}
				}
				given := slices.Clone(es)
				sortEntries(given, runs)
				require.Equal(t, seqs(want), seqs(given), "runs given")
				sortEntries(es, nil)
				require.Equal(t, seqs(want), seqs(es), "runs found")
			})
		}
	}
}

func seqs(es []entry[int]) []int {
	s := make([]int, len(es))
	for i, e := range es {
		s[i] = (*keyed32)(e.obj).Seq
	}
	return s
}

// TestUniqueRepeatsFirstInFile: with several repeated idnumbers, the error
// names the repeat that comes first in the input, whatever the idnumbers'
// order, and its first record.
func TestUniqueRepeatsFirstInFile(t *testing.T) {
	tr := NewTree[kindsTree]("source")
	tr.Branches.Things.Unique = true
	tr.Branches.Things.Importer = Records(
		Record{"idnumber": "9"}, Record{"idnumber": "5"}, Record{"idnumber": "1"},
		Record{"idnumber": "7"}, Record{"idnumber": "9"}, Record{"idnumber": "1"}, Record{"idnumber": "1"})
	err := tr.Import(context.Background())
	require.ErrorIs(t, err, ErrDuplicateID)
	require.EqualError(t, err, "dss: source.things: record 5: idnumber '9': duplicate idnumber (first record for this idnumber: record 1)")
}

// TestUniqueBranchWithoutMap: a Unique import keeps no map, yet Get, Len,
// All, Put and Delete behave as on any branch.
func TestUniqueBranchWithoutMap(t *testing.T) {
	tr := NewTree[kindsTree]("source")
	b := tr.Branches.Things
	b.Unique = true
	var recs []Record
	for _, id := range []string{"100000", "100001", "1000000", "100002", "1000001", "099"} {
		recs = append(recs, Record{"idnumber": id, "s": "v" + id})
	}
	b.Importer = Records(recs...)
	require.NoError(t, tr.Import(context.Background()))
	require.Nil(t, b.objs, "a Unique import builds no map")
	require.Equal(t, 6, b.Len())
	require.Equal(t, []string{"099", "100000", "1000000", "1000001", "100001", "100002"}, slices.Collect(b.Keys()))
	for _, r := range recs {
		got, ok := b.Get(r["idnumber"].(string))
		require.True(t, ok, r["idnumber"])
		require.Equal(t, r["s"], got.S)
	}
	_, ok := b.Get("100003")
	require.False(t, ok)
	_, ok = b.Get("")
	require.False(t, ok)

	b.Put(kinds{ID: "5", S: "five"})
	b.Delete("100000")
	require.Equal(t, 6, b.Len())
	got, ok := b.Get("5")
	require.True(t, ok)
	require.Equal(t, "five", got.S)
	_, ok = b.Get("100000")
	require.False(t, ok)
	require.Equal(t, []string{"099", "1000000", "1000001", "100001", "100002", "5"}, slices.Collect(b.Keys()))
}

// TestBranchRuns: a branch notes where its order's runs start as objects
// come, up to maxRuns, and the sort uses them; past maxRuns it finds them
// itself. Either way the order ends sorted.
func TestBranchRuns(t *testing.T) {
	for _, n := range []int{3, 100, maxRuns + 10} {
		for _, unique := range []bool{false, true} {
			t.Run(fmt.Sprintf("%d runs, unique %v", n, unique), func(t *testing.T) {
				// n descending blocks of minRun+1 ascending idnumbers: n
				// runs, long enough to be merged as they are.
				var recs []Record
				var want []string
				for i := n - 1; i >= 0; i-- {
					for j := range minRun + 1 {
						id := fmt.Sprintf("%06d-%02d", i, j)
						recs = append(recs, Record{"idnumber": id})
						want = append(want, id)
					}
				}
				slices.Sort(want)
				tr := NewTree[kindsTree]("source")
				tr.Branches.Things.Unique = unique
				tr.Branches.Things.Importer = Records(recs...)
				require.NoError(t, tr.Import(context.Background()))
				require.Equal(t, want, slices.Collect(tr.Branches.Things.Keys()))
			})
		}
	}
}

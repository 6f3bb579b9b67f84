package dss

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDatastoreImport(t *testing.T) {
	ds := New[srcTree, dstTree]()
	ds.Source.Branches.Users.Importer = Records(Record{"idnumber": "1", "department": "x"})
	ds.Source.Branches.Groups.Importer = deptGroups(ds.Source.Branches.Users)
	ds.Dest.Branches.Users.Importer = Records(Record{"idnumber": "1"})
	ds.Dest.Branches.Groups.Importer = Records()
	require.NoError(t, ds.Import(context.Background()))
	require.Equal(t, 1, ds.Source.Branches.Groups.Len())
	require.Equal(t, 1, ds.Dest.Branches.Users.Len())

	ds.Dest.Branches.Users.Importer = Records(Record{"idnumber": "1", "age": "x"})
	ds.Source.Branches.Users.Importer = Records(Record{"idnumber": ""})
	err := ds.Import(context.Background())
	require.ErrorIs(t, err, ErrNoID)
	require.ErrorIs(t, err, ErrConvert)
	require.Contains(t, err.Error(), "dss: source.users")
	require.Contains(t, err.Error(), "dss: dest.users")

	_, err = ds.Plan()
	require.ErrorIs(t, err, ErrNotImported)
	require.ErrorIs(t, err, ErrNoID, "the plan's error says why the import failed")
	require.ErrorContains(t, err, "dss: plan source to dest: the import of source failed")
}

// TestDryRunAgreesWithApply: the verdict printed by a dry run is the one
// the real run gives, for a refused plan and an allowed one.
func TestDryRunAgreesWithApply(t *testing.T) {
	// A header-only export: the source imports empty.
	ds, m := newDatastore(t, nil,
		[]Record{{"idnumber": "1", "department": "x"}, {"idnumber": "2"}},
		[]Record{{"idnumber": "x", "members": []string{"1"}}})
	dry, err := ds.Plan()
	require.NoError(t, err)
	var ge *GuardError
	require.ErrorAs(t, dry.Refusal(), &ge)
	require.Equal(t, "empty source", ge.Rule)
	var out bytes.Buffer
	require.NoError(t, dry.Print(&out))
	require.Contains(t, out.String(), "\nrefused: "+ge.Error()+"\n")

	real, err := ds.Plan()
	require.NoError(t, err)
	r, err := ds.Apply(context.Background(), real, Methods(&fakeTemplate{m}))
	require.Nil(t, r)
	require.Equal(t, dry.Refusal(), err)
	require.Empty(t, m.calls)
	_, err = json.Marshal(real)
	require.ErrorIs(t, err, ErrGuard, "a refused plan cannot be saved")
}

func TestApplyOnce(t *testing.T) {
	ds, m := scenario(t)
	p := mustPlan(t, ds)
	tmpl := Methods(&fakeTemplate{m})
	_, err := ds.Apply(context.Background(), p, tmpl)
	require.NoError(t, err)
	calls := len(m.calls)

	r, err := ds.Apply(context.Background(), p, tmpl)
	require.Nil(t, r)
	require.ErrorIs(t, err, ErrSpent)
	require.EqualError(t, err, "dss: apply source to dest: the plan was applied already; nothing applied")

	// Without a new import, the destination tree is what it was before the
	// apply: a new plan would do it all again, so there is none.
	_, err = ds.Plan()
	require.ErrorIs(t, err, ErrNotImported)
	require.ErrorContains(t, err, "a plan was applied to dest since its import (import it again)")
	require.Len(t, m.calls, calls, "nothing was applied twice")

	require.NoError(t, ds.ImportDest(context.Background()))
	require.Empty(t, mustPlan(t, ds).Actions)
}

func TestApplyStalePlan(t *testing.T) {
	ds, m := scenario(t)
	p := mustPlan(t, ds)
	require.NoError(t, ds.Import(context.Background()))
	_, err := ds.Apply(context.Background(), p, Methods(&fakeTemplate{m}))
	require.ErrorIs(t, err, ErrStale)
	require.Empty(t, m.calls)

	// Importing one tree through the tree itself makes plans stale too.
	p = mustPlan(t, ds)
	require.NoError(t, ds.Source.Import(context.Background()))
	_, err = ds.Apply(context.Background(), p, Methods(&fakeTemplate{m}))
	require.ErrorIs(t, err, ErrStale)

	// A plan of another datastore is refused.
	other, _ := scenario(t)
	_, err = ds.Apply(context.Background(), mustPlan(t, other), Methods(&fakeTemplate{m}))
	require.ErrorContains(t, err, "the plan was made by another datastore")
	require.Empty(t, m.calls)
}

func TestApplyNeverImportedDest(t *testing.T) {
	ds, m := scenario(t)
	saved := savePlan(t, mustPlan(t, ds))

	fresh := New[srcTree, dstTree]()
	m.importers(fresh.Dest)
	_, err := fresh.Plan()
	require.ErrorIs(t, err, ErrNotImported)
	require.ErrorContains(t, err, "tree source was never imported")
	// A saved plan needs the destination as it is now.
	_, err = fresh.Apply(context.Background(), saved, Methods(&fakeTemplate{m}))
	require.ErrorIs(t, err, ErrNotImported)
	require.ErrorContains(t, err, "tree dest was never imported")
	require.Empty(t, m.calls)

	// An import that failed is no better.
	fresh.Dest.Branches.Users.Importer = Records(Record{"idnumber": "1", "age": "x"})
	require.Error(t, fresh.ImportDest(context.Background()))
	_, err = fresh.Apply(context.Background(), saved, Methods(&fakeTemplate{m}))
	require.ErrorIs(t, err, ErrNotImported)
	require.ErrorIs(t, err, ErrConvert)
	require.Empty(t, m.calls)
}

// TestImportAndPlanConcurrently runs imports and plans of one datastore
// from several goroutines; under -race this finds any unguarded access. Every
// plan sees whole imports: the source alternates between two exports, and
// each plan is one of the two plans they make.
func TestImportAndPlanConcurrently(t *testing.T) {
	users := func(suffix string) []Record {
		var recs []Record
		for i := range 200 {
			recs = append(recs, Record{"idnumber": fmt.Sprint(i), "email": fmt.Sprintf("%d@%s", i, suffix)})
		}
		return recs
	}
	a, b := users("a"), users("b")
	ds, _ := newDatastore(t, a, a, nil)
	var mu sync.Mutex
	turn := 0
	ds.Source.Branches.Users.Importer = ImporterFunc(func(ctx context.Context, yield func(Record) error) error {
		mu.Lock()
		recs := a
		if turn++; turn%2 == 0 {
			recs = b
		}
		mu.Unlock()
		for _, r := range recs {
			if err := yield(r); err != nil {
				return err
			}
		}
		return nil
	})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 20 {
				assert.NoError(t, ds.Import(context.Background()))
			}
		})
		wg.Go(func() {
			for range 20 {
				assert.NoError(t, ds.Source.Import(context.Background()))
			}
		})
		wg.Go(func() {
			for range 20 {
				p, err := ds.Plan()
				assert.NoError(t, err)
				require.Contains(t, []int{0, 200}, len(p.Actions), "a plan saw half an import")
				_ = messages(ds.Source.Diff(ds.Dest))
			}
		})
	}
	wg.Wait()
}

func TestDatastoreSaveLoad(t *testing.T) {
	ds, _ := scenario(t)
	dir := t.TempDir()
	require.NoError(t, ds.Save(dir))
	want := planMessages(mustPlan(t, ds))

	loaded := New[srcTree, dstTree]()
	require.NoError(t, loaded.Load(dir))
	require.Equal(t, want, planMessages(mustPlan(t, loaded)))

	require.NoError(t, os.Remove(filepath.Join(dir, "dest.jsonl")))
	err := loaded.Load(dir)
	require.ErrorIs(t, err, os.ErrNotExist)
	_, err = loaded.Plan()
	require.ErrorIs(t, err, ErrNotImported, "a failed load leaves no tree to plan from")
}

package dss

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

func TestPlanJSONRoundTrip(t *testing.T) {
	ds, _ := scenario(t)
	p := mustPlan(t, ds)
	require.Len(t, p.Actions, 8)
	require.Equal(t, map[string]int{"users": 2, "groups": 2}, p.SourceCounts)

	data, err := json.Marshal(p)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(data), `{"version":1,"source":"source","dest":"dest"`), string(data))

	var back Plan
	require.NoError(t, json.Unmarshal(data, &back))
	require.Equal(t, planMessages(p), planMessages(&back))
	require.Len(t, back.fingerprints, 2)
	require.Equal(t, p.Summary, back.Summary, "the summary comes back")
	again, err := json.Marshal(&back)
	require.NoError(t, err)
	require.JSONEq(t, string(data), string(again), "decode then encode changes nothing")
}

// TestPlanJSONGolden: the saved plan's JSON, the format a reviewer reads
// and a later run applies, is exactly testdata/plan.json.golden for the
// scenario. Fingerprints are SHA-256 over the destination's objects, so
// they are stable for this fixed input. Rerun with -update to rewrite the
// file when the format changes on purpose (and raise the version when an
// older dss could not read it).
func TestPlanJSONGolden(t *testing.T) {
	ds, _ := scenario(t)
	p := mustPlan(t, ds)
	data, err := json.Marshal(p)
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, json.Indent(&buf, data, "", "\t"))
	buf.WriteByte('\n')

	const golden = "testdata/plan.json.golden"
	if *update {
		require.NoError(t, os.WriteFile(golden, buf.Bytes(), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	if diff := cmp.Diff(string(want), buf.String()); diff != "" {
		t.Errorf("plan JSON (-%s +got); rerun with -update if intended:\n%s", golden, diff)
	}
	var back Plan
	require.NoError(t, json.Unmarshal(want, &back), "the golden file reads as a plan")
	require.Equal(t, planMessages(p), planMessages(&back))
}

// savePlan encodes and decodes a plan, as a later run reads a saved one.
func savePlan(t *testing.T, p *Plan) *Plan {
	t.Helper()
	data, err := json.Marshal(p)
	require.NoError(t, err)
	var saved Plan
	require.NoError(t, json.Unmarshal(data, &saved))
	return &saved
}

func TestApplySavedPlan(t *testing.T) {
	// A plan saved by one run and applied by the next, against a freshly
	// imported destination: values and objects come back typed.
	ds, m := scenario(t)
	saved := savePlan(t, mustPlan(t, ds))

	next := New[srcTree, dstTree]() // the next run imports the destination only
	m.importers(next.Dest)
	require.NoError(t, next.ImportDest(context.Background()))
	r, err := next.Apply(context.Background(), saved, Methods(&fakeTemplate{m}))
	require.NoError(t, err)
	require.Equal(t, 8, r.Applied)
	require.NoError(t, ds.ImportDest(context.Background()))
	require.Empty(t, planMessages(mustPlan(t, ds)), "the saved plan did not converge")
	require.IsType(t, &srcUser{}, r.Plan[0].Source)
	shared := 0
	for i := 1; i < len(r.Plan); i++ {
		if a, b := r.Plan[i-1], r.Plan[i]; a.Source != nil && a.Branch == b.Branch && a.ID == b.ID {
			require.Same(t, a.Source, b.Source, "one object's actions share its source object, as Diff's do")
			shared++
		}
	}
	require.Positive(t, shared, "the scenario has an object with several actions")

	_, err = next.Apply(context.Background(), saved, Methods(&fakeTemplate{m}))
	require.ErrorIs(t, err, ErrSpent, "a saved plan applies once")
}

func TestApplySavedPlanRefusesDrift(t *testing.T) {
	ds, m := scenario(t)
	saved := savePlan(t, mustPlan(t, ds))
	m.users["1"] = dstUser{ID: "1", Email: "changed@x"} // the destination changes after review
	require.NoError(t, ds.ImportDest(context.Background()))
	r, err := ds.Apply(context.Background(), saved, Methods(&fakeTemplate{m}))
	require.Nil(t, r)
	require.ErrorIs(t, err, ErrDrift)
	require.EqualError(t, err, "dss: apply source to dest: the destination drifted: branch users changed since the plan was made; nothing applied")
	require.Empty(t, m.calls)
}

func TestPlanDecodeErrors(t *testing.T) {
	var p Plan
	require.ErrorContains(t, json.Unmarshal([]byte(`{"version":2}`), &p), "version 2, this dss reads version 1")
	require.ErrorContains(t, json.Unmarshal([]byte(`{"version":1,"fingerprints":{},"actions":[{"kind":"explode"}]}`), &p), `action 1: unknown kind "explode"`)
	require.ErrorContains(t, json.Unmarshal([]byte(`{"version":1,"actions":[]}`), &p), "no fingerprints")
}

// TestSavePlanRefuses: only a plan that could be applied can be saved.
func TestSavePlanRefuses(t *testing.T) {
	ds, m := scenario(t)
	p := mustPlan(t, ds)
	require.NoError(t, ds.ImportDest(context.Background()))
	_, err := json.Marshal(p)
	require.ErrorIs(t, err, ErrStale)

	p = mustPlan(t, ds)
	_, err = ds.Apply(context.Background(), p, Methods(&fakeTemplate{m}))
	require.NoError(t, err)
	_, err = json.Marshal(p)
	require.ErrorIs(t, err, ErrSpent)

	_, err = json.Marshal(&Plan{})
	require.ErrorContains(t, err, "the plan was not made by Datastore.Plan")
}

// TestApplyPlanRedactsValues: an action of a saved plan that no longer
// binds is named in the error without its values when the source tree
// redacts them.
func TestApplyPlanRedactsValues(t *testing.T) {
	ds, m := scenario(t)
	saved := savePlan(t, mustPlan(t, ds))
	i := slices.IndexFunc(saved.Actions, func(a Action) bool { return a.Kind == KindUpdate })
	require.GreaterOrEqual(t, i, 0)
	saved.Actions[i].Value = map[string]any{"secret": "hunter2"} // converts to no attribute type
	ds.Source.RedactValues = true
	require.NoError(t, ds.Import(context.Background()))
	_, err := ds.Apply(context.Background(), saved, Methods(&fakeTemplate{m}))
	require.ErrorIs(t, err, ErrConvert)
	require.NotContains(t, err.Error(), "hunter2")
	require.Contains(t, err.Error(), "[redacted]")
}

package dss

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPlanJSONRoundTrip(t *testing.T) {
	src, dst := scenario(t)
	p, err := src.Plan(dst)
	require.NoError(t, err)
	require.Len(t, p.Actions, 8)
	require.Equal(t, map[string]int{"users": 2, "groups": 2}, p.SourceCounts)
	require.Len(t, p.Fingerprints, 2)

	data, err := json.Marshal(p)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(data), `{"version":1,"source":"source","dest":"dest"`), string(data))

	var back Plan
	require.NoError(t, json.Unmarshal(data, &back))
	require.Equal(t, messages(src.Diff(dst)), planMessages(&back))
	require.Equal(t, p.Summary, back.Summary, "the summary comes back")
	again, err := json.Marshal(&back)
	require.NoError(t, err)
	require.JSONEq(t, string(data), string(again), "decode then encode changes nothing")
}

func planMessages(p *Plan) []string {
	var out []string
	for _, a := range p.Actions {
		out = append(out, a.String())
	}
	return out
}

func TestApplySavedPlan(t *testing.T) {
	// A plan saved by one run and applied by the next, against a freshly
	// imported destination: values and objects come back typed.
	src, dst := scenario(t)
	p, err := src.Plan(dst)
	require.NoError(t, err)
	data, err := json.Marshal(p)
	require.NoError(t, err)

	var saved Plan
	require.NoError(t, json.Unmarshal(data, &saved))
	_, dst2 := scenario(t) // the next run imports the destination again
	bare := NewTree[srcTree]("source")
	tmpl := &fakeTemplate{dest: dst2}
	require.NoError(t, dst2.SetTemplate(tmpl))
	r, err := bare.ApplyPlan(context.Background(), dst2, &saved)
	require.NoError(t, err)
	require.Equal(t, 8, r.Applied)
	require.Empty(t, messages(src.Diff(dst2)), "the saved plan did not converge")
	require.IsType(t, &srcUser{}, r.Plan[0].Source)
	shared := 0
	for i := 1; i < len(r.Plan); i++ {
		if a, b := r.Plan[i-1], r.Plan[i]; a.Source != nil && a.Branch == b.Branch && a.ID == b.ID {
			require.Same(t, a.Source, b.Source, "one object's actions share its source object, as Diff's do")
			shared++
		}
	}
	require.Positive(t, shared, "the scenario has an object with several actions")
}

func TestApplyPlanRefusesDrift(t *testing.T) {
	src, dst := scenario(t)
	p, err := src.Plan(dst)
	require.NoError(t, err)
	tmpl := &fakeTemplate{dest: dst}
	require.NoError(t, dst.SetTemplate(tmpl))
	u, _ := dst.Branches.Users.Get("1")
	u.Email = "changed@x" // the destination changes after review
	r, err := src.ApplyPlan(context.Background(), dst, p)
	require.Nil(t, r)
	require.ErrorIs(t, err, ErrDrift)
	require.EqualError(t, err, "dss: apply plan source to dest: the destination drifted: branch users changed since the plan was made; nothing applied")
	require.Empty(t, tmpl.calls)

	_, err = src.ApplyPlan(context.Background(), NewTree[dstTree]("other"), p)
	require.ErrorContains(t, err, "the trees are source and other")
	p.Fingerprints = nil
	_, err = src.ApplyPlan(context.Background(), dst, p)
	require.ErrorContains(t, err, "the plan has no fingerprints")
}

func TestPlanDecodeErrors(t *testing.T) {
	var p Plan
	require.ErrorContains(t, json.Unmarshal([]byte(`{"version":2}`), &p), "version 2, this dss reads version 1")
	require.ErrorContains(t, json.Unmarshal([]byte(`{"version":1,"actions":[{"kind":"explode"}]}`), &p), `action 1: unknown kind "explode"`)
}

// TestApplyPlanRedactsValues: an action of a saved plan that no longer
// binds is named in the error without its values when the source tree
// redacts them.
func TestApplyPlanRedactsValues(t *testing.T) {
	src, dst := scenario(t)
	p, err := src.Plan(dst)
	require.NoError(t, err)
	data, err := json.Marshal(p)
	require.NoError(t, err)
	var saved Plan
	require.NoError(t, json.Unmarshal(data, &saved))
	i := slices.IndexFunc(saved.Actions, func(a Action) bool { return a.Kind == KindUpdate })
	require.GreaterOrEqual(t, i, 0)
	saved.Actions[i].Value = map[string]any{"secret": "hunter2"} // converts to no attribute type
	require.NoError(t, dst.SetTemplate(&fakeTemplate{dest: dst}))
	bare := NewTree[srcTree]("source")
	bare.RedactValues = true
	_, err = bare.ApplyPlan(context.Background(), dst, &saved)
	require.ErrorIs(t, err, ErrConvert)
	require.NotContains(t, err.Error(), "hunter2")
	require.Contains(t, err.Error(), "[redacted]")
}

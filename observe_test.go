package dss

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// logRecords returns the JSON log lines as maps, in order.
func logRecords(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), line)
		out = append(out, m)
	}
	return out
}

func TestLogger(t *testing.T) {
	var buf bytes.Buffer
	ds := New[srcTree, dstTree]()
	ds.Logger = slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ds.Source.Branches.Users.Importer = Records(Record{"idnumber": "1", "department": "x"}, Record{"idnumber": "2"})
	ds.Source.Branches.Groups.Importer = deptGroups(ds.Source.Branches.Users)
	m := newMemDest(t, []Record{{"idnumber": "2"}}, nil)
	m.importers(ds.Dest)
	require.NoError(t, ds.Import(context.Background()))
	p := mustPlan(t, ds)
	_, err := ds.Apply(context.Background(), p, Methods(&fakeTemplate{m}))
	require.NoError(t, err)

	var got []string
	for _, r := range logRecords(t, &buf) {
		switch r["msg"] {
		case "dss: import branch":
			got = append(got, fmt.Sprintf("%s %s.%s records=%v objects=%v", r["level"], r["tree"], r["branch"], r["records"], r["objects"]))
		case "dss: import":
			got = append(got, fmt.Sprintf("%s %s objects=%v", r["level"], r["tree"], r["objects"]))
		case "dss: plan":
			got = append(got, fmt.Sprintf("%s plan actions=%v users=%v", r["level"], r["actions"], r["users"]))
		case "dss: apply batch":
			got = append(got, fmt.Sprintf("%s batch %s actions=%v", r["level"], r["action"], r["actions"]))
		case "dss: apply":
			got = append(got, fmt.Sprintf("%s apply applied=%v failed=%v", r["level"], r["applied"], r["failed"]))
		default:
			t.Errorf("unexpected record %v", r)
		}
		require.Contains(t, r, "duration")
	}
	// The two trees import at once: sort their lines out.
	imports := got[:6]
	require.ElementsMatch(t, []string{
		"DEBUG source.users records=2 objects=2",
		"DEBUG source.groups records=1 objects=1",
		"INFO source objects=3",
		"DEBUG dest.users records=1 objects=1",
		"DEBUG dest.groups records=0 objects=0",
		"INFO dest objects=1",
	}, imports)
	require.Equal(t, []string{
		"INFO plan actions=2 users=map[created:1 deleted:0 unchanged:1 updated:0]",
		"DEBUG batch new_users actions=1",
		"DEBUG batch new_groups actions=1",
		"INFO apply applied=2 failed=0",
	}, got[6:])

	// A refused plan is logged at Warn, with why.
	buf.Reset()
	ds.Source.Branches.Users.Importer = Records()
	require.NoError(t, ds.Import(context.Background()))
	p, err = ds.Plan()
	require.NoError(t, err)
	var refused map[string]any
	for _, r := range logRecords(t, &buf) {
		if r["msg"] == "dss: plan refused" {
			refused = r
		}
	}
	require.NotNil(t, refused)
	require.Equal(t, "WARN", refused["level"])
	require.Equal(t, p.Refusal().Error(), refused["refusal"])
}

func TestProgress(t *testing.T) {
	var recs []Record
	for i := range 3000 {
		recs = append(recs, Record{"idnumber": fmt.Sprintf("%05d", i)})
	}
	ds, m := newDatastore(t, nil, nil, nil)
	ds.Source.Branches.Users.Importer = Records(recs...)
	var mu sync.Mutex
	var imports []int
	var applies [][2]int
	ds.Progress = func(p Progress) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case p.Phase == "import" && p.Tree == "source" && p.Branch == "users":
			imports = append(imports, p.Done)
		case p.Phase == "apply":
			require.Equal(t, "new_users", p.Branch)
			applies = append(applies, [2]int{p.Done, p.Total})
		}
	}
	require.NoError(t, ds.Import(context.Background()))
	require.Equal(t, []int{1024, 2048, 3000}, imports)
	_, err := ds.Apply(context.Background(), mustPlan(t, ds), Methods(&fakeTemplate{m}))
	require.NoError(t, err)
	require.Len(t, applies, 3000, "one call per action for a one-action method")
	require.Equal(t, [2]int{3000, 3000}, applies[2999])
}

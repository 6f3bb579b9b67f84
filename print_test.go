package dss

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

func TestPrintGolden(t *testing.T) {
	ds, _ := scenario(t)
	p := mustPlan(t, ds)
	var buf bytes.Buffer
	require.NoError(t, p.Print(&buf))
	sum := p.Summary
	require.Equal(t, []BranchSummary{
		{Branch: "users", Created: 1, Updated: 1, Deleted: 1, Unchanged: 0},
		{Branch: "groups", Created: 1, Updated: 1, Deleted: 1, Unchanged: 0},
	}, sum.Branches)
	require.Equal(t, 6, sum.Changes())

	const golden = "testdata/plan.golden"
	if *update {
		require.NoError(t, os.WriteFile(golden, buf.Bytes(), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	if diff := cmp.Diff(string(want), buf.String()); diff != "" {
		t.Errorf("Print output (-%s +got); rerun with -update if intended:\n%s", golden, diff)
	}
	// One message per action, then a blank line and the summary.
	lines := strings.Split(buf.String(), "\n")
	require.Len(t, p.Actions, 8)
	require.Equal(t, "", lines[8])
	require.True(t, strings.HasPrefix(lines[9], "branch"))
}

type failingWriter struct{}

func (failingWriter) Write(p []byte) (int, error) { return 0, errors.New("disk full") }

func TestPrintWriteError(t *testing.T) {
	ds, _ := scenario(t)
	err := mustPlan(t, ds).Print(failingWriter{})
	require.EqualError(t, err, "dss: print: disk full")
}

func TestSummaryModelErrors(t *testing.T) {
	ds := New[srcTree, badTree]()
	ds.Source.Branches.Users.Importer = Records(Record{"idnumber": "1"})
	ds.Source.Branches.Groups.Importer = Records()
	ds.Dest.Branches.Users.Importer = Records()
	ds.Dest.Branches.Rooms.Importer = Records()
	require.NoError(t, ds.Import(context.Background()))
	p, err := ds.Plan()
	require.NoError(t, err)
	require.Equal(t, 10, p.Summary.Errors)
	require.Contains(t, p.Summary.String(), "10 model errors")
	// A plan with model errors is refused, and printing it says so.
	require.ErrorContains(t, p.Refusal(), "the trees' object models disagree")
	var buf bytes.Buffer
	require.NoError(t, p.Print(&buf))
	require.Contains(t, buf.String(), "\nrefused: "+p.Refusal().Error()+"\n")
	_, err = ds.Apply(context.Background(), p, TemplateFunc(func(context.Context, []Action) error { return nil }))
	require.Equal(t, p.Refusal(), err)
}

// TestPrintHostileIDs: ids and values that would forge plan lines or hide
// them in a terminal print as one Go-quoted line per action, and the plan
// has exactly one line per action.
func TestPrintHostileIDs(t *testing.T) {
	// Import refuses idnumbers with control characters; these get through.
	ds, _ := newDatastore(t, []Record{
		{"idnumber": "1') old_users(idnumber='5", "email": "A\x1b[8m\nold_users(idnumber='5')"},
		{"idnumber": "2\u202e", "department": "x\u2028y"},
	}, []Record{{"idnumber": "5"}}, nil)
	p, err := ds.Plan()
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, p.Print(&buf))
	plan, _, ok := strings.Cut(buf.String(), "\n\n")
	require.True(t, ok)
	lines := strings.Split(plan, "\n")
	for _, l := range lines {
		requireOneLine(t, l)
	}
	require.Equal(t, []string{
		`new_users(idnumber="1') old_users(idnumber='5")`,
		`new_users(idnumber="2\u202e")`,
		`new_groups(idnumber="x\u2028y")`,
		`old_users(idnumber='5')`,
	}, lines)
	require.Len(t, p.Actions, len(lines))
}

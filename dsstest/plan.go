package dsstest

import (
	"bytes"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/datastoresync/dss"
	"github.com/google/go-cmp/cmp"
)

// update is the flag that makes Golden rewrite its files. It is not named
// -update: a test package that defines its own -update flag, as many do,
// would panic at start ("flag redefined") if dsstest took the name.
var update = flag.Bool("dsstest.update", false, "rewrite the golden plan files that dsstest.Golden compares with")

// Plan returns ds.Plan(), failing the test (t.Fatalf) if the plan cannot be
// made. A plan that the guards refuse is returned: its refusal is part of
// what [AssertPlan] and [Golden] compare.
func Plan[S, D any](t testing.TB, ds *dss.Datastore[S, D]) *dss.Plan {
	t.Helper()
	p, err := ds.Plan()
	if err != nil {
		t.Fatalf("dsstest: %v", err)
	}
	return p
}

// Lines returns the plan as Print writes its actions: one line per action,
// then, if the guards refuse the plan, "refused: " and the reason.
func Lines(p *dss.Plan) []string {
	var out []string
	for _, a := range p.Actions {
		out = append(out, a.String())
	}
	if err := p.Refusal(); err != nil {
		out = append(out, "refused: "+err.Error())
	}
	return out
}

// AssertPlan reports an error (t.Errorf) unless Lines(p) are want, with a
// diff of the two (-want +got). Writing the lines as Go raw strings keeps
// their quotes readable:
//
//	dsstest.AssertPlan(t, plan,
//		`new_users(idnumber='2')`,
//		`update_name(idnumber='1', attr="name", value="Ada")`,
//	)
//
// A plan with nothing to do matches no lines; a refused plan ends with its
// "refused: " line.
func AssertPlan(t testing.TB, p *dss.Plan, want ...string) {
	t.Helper()
	if p == nil {
		t.Errorf("dsstest: the plan is nil")
		return
	}
	if diff := diffLines(want, Lines(p)); diff != "" {
		t.Errorf("dsstest: the plan differs (-want +got):\n%s", diff)
	}
}

// diffLines diffs two lists of lines, treating nil as empty.
func diffLines(want, got []string) string {
	if want == nil {
		want = []string{}
	}
	if got == nil {
		got = []string{}
	}
	return cmp.Diff(want, got)
}

// Golden compares the plan, as p.Print writes it (actions, summary and
// verdict), with the file at path, and reports an error (t.Errorf) with a
// diff (-want +got) when they differ. Line endings \r\n in the file count
// as \n, so a checkout that converts them does not fail the test.
//
// Run the test with -dsstest.update to write the file instead, creating
// its directory:
//
//	go test ./mysync -run TestPlan -dsstest.update
//
// The flag is defined only in test binaries that import dsstest, so name
// those packages rather than ./... . It is not -update, so that it cannot
// clash with a flag of the test's own package.
func Golden(t testing.TB, p *dss.Plan, path string) {
	t.Helper()
	if p == nil {
		t.Errorf("dsstest: the plan is nil")
		return
	}
	var buf bytes.Buffer
	if err := p.Print(&buf); err != nil {
		t.Fatalf("dsstest: %v", err)
	}
	got := buf.String()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatalf("dsstest: update %s: %v", path, err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatalf("dsstest: update %s: %v", path, err)
		}
		t.Logf("dsstest: wrote %s", path)
		return
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		t.Errorf("dsstest: golden file %s does not exist (run the test with -dsstest.update to write it); the plan is:\n%s", path, got)
		return
	}
	if err != nil {
		t.Fatalf("dsstest: %v", err)
	}
	want := strings.ReplaceAll(string(data), "\r\n", "\n")
	if want != got {
		t.Errorf("dsstest: the plan differs from %s (-want +got; run the test with -dsstest.update to rewrite it):\n%s",
			path, cmp.Diff(strings.Split(want, "\n"), strings.Split(got, "\n")))
	}
}

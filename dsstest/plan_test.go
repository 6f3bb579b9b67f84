package dsstest_test

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/datastoresync/dss"
	"github.com/datastoresync/dss/dsstest"
)

// scenario returns a datastore, imported, whose plan creates user 2 and
// renames user 1.
func scenario(t *testing.T) *dss.Datastore[School, School] {
	t.Helper()
	ds := dss.New[School, School]()
	dsstest.Import(t, ds.Source, dsstest.Records{"users": {{"idnumber": "1", "name": "Ada"}, {"idnumber": "2", "name": "Grace"}}})
	dsstest.Import(t, ds.Dest, dsstest.Records{"users": {{"idnumber": "1", "name": "Ada L."}}})
	return ds
}

// refused returns a datastore whose plan the guards refuse.
func refused(t *testing.T) *dss.Datastore[School, School] {
	t.Helper()
	ds := dss.New[School, School]()
	dsstest.Import(t, ds.Source, dsstest.Records{})
	dsstest.Import(t, ds.Dest, dsstest.Records{"users": {{"idnumber": "1", "name": "Ada"}}})
	return ds
}

const refusal = "refused: dss: dest.users: refused by the branch's guard: the source branch is empty and the destination holds 1 objects (set Guard.AllowEmptySource to allow it); nothing applied"

func TestPlan(t *testing.T) {
	ds := scenario(t)
	var p *dss.Plan
	run(t, func(tb testing.TB) { p = dsstest.Plan(tb, ds) }).passed(t)
	if p == nil || len(p.Actions) != 2 {
		t.Fatalf("plan = %v, want 2 actions", p)
	}

	// A refused plan is returned: its refusal is for AssertPlan to check.
	bad := refused(t)
	run(t, func(tb testing.TB) { p = dsstest.Plan(tb, bad) }).passed(t)
	if p.Refusal() == nil {
		t.Error("the plan is not refused")
	}

	never := dss.New[School, School]()
	f := run(t, func(tb testing.TB) { dsstest.Plan(tb, never) })
	f.failed(t, true, "dsstest: dss: plan source to dest: tree source was never imported")
}

func TestLines(t *testing.T) {
	want := []string{`new_users(idnumber='2')`, `update_name(idnumber='1', attr="name", value="Ada")`}
	if got := dsstest.Lines(dsstest.Plan(t, scenario(t))); !slices.Equal(got, want) {
		t.Errorf("Lines = %q, want %q", got, want)
	}
	want = []string{`old_users(idnumber='1')`, refusal}
	if got := dsstest.Lines(dsstest.Plan(t, refused(t))); !slices.Equal(got, want) {
		t.Errorf("Lines of a refused plan = %q, want %q", got, want)
	}
	ds := scenario(t)
	dsstest.Import(t, ds.Dest, dsstest.Records{"users": {{"idnumber": "1", "name": "Ada"}, {"idnumber": "2", "name": "Grace"}}})
	if got := dsstest.Lines(dsstest.Plan(t, ds)); got != nil {
		t.Errorf("Lines of an empty plan = %q, want none", got)
	}
}

func TestAssertPlan(t *testing.T) {
	newUser, rename := `new_users(idnumber='2')`, `update_name(idnumber='1', attr="name", value="Ada")`
	tests := []struct {
		name string
		ds   func(t *testing.T) *dss.Datastore[School, School]
		want []string
		fail []string // what the failure says; nil when AssertPlan passes
	}{
		{"the same lines", scenario, []string{newUser, rename}, nil},
		{"a line missing", scenario, []string{newUser},
			[]string{"dsstest: the plan differs (-want +got):", "update_name(idnumber='1'"}},
		{"a line too many", scenario, []string{newUser, rename, "old_users(idnumber='3')"},
			[]string{"old_users(idnumber='3')"}},
		{"the lines in another order", scenario, []string{rename, newUser}, []string{"differs"}},
		{"nothing wanted of a plan that does something", scenario, nil, []string{"differs"}},
		{"a refused plan, its refusal wanted", refused, []string{`old_users(idnumber='1')`, refusal}, nil},
		{"a refused plan, its refusal not wanted", refused, []string{`old_users(idnumber='1')`},
			[]string{"refused: dss: dest.users: refused by the branch's guard: the source branch is empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := dsstest.Plan(t, tt.ds(t))
			f := run(t, func(tb testing.TB) { dsstest.AssertPlan(tb, p, tt.want...) })
			if tt.fail == nil {
				f.passed(t)
				return
			}
			// go-cmp's diff is not stable text: check what it names.
			f.failed(t, false, tt.fail...)
		})
	}
	t.Run("a nil plan", func(t *testing.T) {
		run(t, func(tb testing.TB) { dsstest.AssertPlan(tb, nil) }).failed(t, false, "the plan is nil")
	})
}

func TestGolden(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new", "plan.golden")
	p := dsstest.Plan(t, scenario(t))
	const printed = "new_users(idnumber='2')\nupdate_name(idnumber='1', attr=\"name\", value=\"Ada\")\n\n" +
		"branch  created  updated  deleted  unchanged\n" +
		"users         1        1        0          0\n" +
		"groups        0        0        0          0\n"

	f := run(t, func(tb testing.TB) { dsstest.Golden(tb, p, path) })
	f.failed(t, false, "golden file "+path+" does not exist", "-dsstest.update", printed)

	setUpdate(t, true)
	f = run(t, func(tb testing.TB) { dsstest.Golden(tb, p, path) })
	f.passed(t)
	if len(f.logs) != 1 || !strings.Contains(f.logs[0], "wrote "+path) {
		t.Errorf("logs = %q, want one that says it wrote %s", f.logs, path)
	}
	if data, err := os.ReadFile(path); err != nil || string(data) != printed {
		t.Fatalf("the golden file holds %q (%v), want %q", data, err, printed)
	}
	setUpdate(t, false)

	run(t, func(tb testing.TB) { dsstest.Golden(tb, p, path) }).passed(t)

	crlf := strings.ReplaceAll(printed, "\n", "\r\n")
	if err := os.WriteFile(path, []byte(crlf), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, func(tb testing.TB) { dsstest.Golden(tb, p, path) }).passed(t)

	edited := strings.Replace(printed, "Ada", "Ada Lovelace", 1)
	if err := os.WriteFile(path, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	f = run(t, func(tb testing.TB) { dsstest.Golden(tb, p, path) })
	f.failed(t, false, "the plan differs from "+path, "-want +got", "-dsstest.update", "Lovelace")

	// The verdict is part of the golden plan.
	rp := dsstest.Plan(t, refused(t))
	f = run(t, func(tb testing.TB) { dsstest.Golden(tb, rp, path) })
	f.failed(t, false, "the plan differs from "+path, "the source branch is empty")
}

// setUpdate sets -dsstest.update for the rest of the test.
func setUpdate(t *testing.T, on bool) {
	t.Helper()
	fl := flag.Lookup("dsstest.update")
	if fl == nil {
		t.Fatal("dsstest defines no -dsstest.update flag")
	}
	old := fl.Value.String()
	if err := fl.Value.Set(map[bool]string{true: "true", false: "false"}[on]); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fl.Value.Set(old) })
}

// TestUpdateFlagLeavesUpdateFree: a test package that imports dsstest can
// still define its own -update flag, as many do; if dsstest defined it, the
// test binary would panic at start with "flag redefined: update".
func TestUpdateFlagLeavesUpdateFree(t *testing.T) {
	if flag.Lookup("update") != nil {
		t.Fatal("-update is defined: a test package that defines its own would panic")
	}
}

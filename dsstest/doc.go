// Package dsstest helps a sync program test its own model with dss: the
// records a test starts from, the plan dss must make of them, and that
// applying the plan leaves nothing to do. It is built on dss's public API
// only, as go-cmp's cmpopts is on cmp's.
//
// A test imports literal records into each tree, checks the plan line by
// line, and checks that the plan converges:
//
//	func TestRename(t *testing.T) {
//		ds := newSync() // the program's datastore, with its branches' settings
//		dsstest.Import(t, ds.Source, dsstest.Records{
//			"users": {{"idnumber": "1", "_lastfirst": "Lovelace, Ada"}},
//		})
//		dsstest.Import(t, ds.Dest, dsstest.Records{
//			"users": {{"idnumber": "1", "name": "Ada L."}},
//		})
//		dsstest.AssertPlan(t, dsstest.Plan(t, ds),
//			`update_name(idnumber='1', attr="name", value="Ada Lovelace")`,
//		)
//		dsstest.Converges(t, ds)
//	}
//
// [Import] replaces the importers of the branches it names and keeps
// everything else, so the records go through the program's own Filter,
// Preprocess and Derive. [AssertPlan] compares the plan's lines ([Lines])
// with the ones wanted and prints a diff; a refused plan ends with its
// "refused: " line, so a test cannot miss a guard's verdict. [Golden]
// compares the whole printed plan with a file under testdata instead, which
// the flag -dsstest.update rewrites.
//
// [Converges] applies the plan to a [Memory], an in-memory destination that
// implements every action, imports the destination again from it and
// checks that the next plan is empty: the property that makes a sync a
// sync. It catches models that disagree with themselves, such as a
// destination whose Derive changes what the plan just set. A Memory holds
// objects as records of their idnumber and synced attributes; see its
// documentation for what that leaves out.
//
// Helpers stop the test with t.Fatalf when they cannot go on (a bad record,
// a plan that cannot be made, a golden file that cannot be read);
// assertions (AssertPlan, Golden, Converges) report a difference with
// t.Errorf and let the test go on. Every message starts with "dsstest: ".
package dsstest

package dsstest

import (
	"iter"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/datastoresync/dss"
)

// Records holds literal records by branch name: what a test imports into a
// tree with [Import], and what a [Memory] holds.
//
//	dsstest.Records{
//		"users":  {{"idnumber": "1", "name": "Ada"}},
//		"groups": {{"idnumber": "staff", "members": []string{"1"}}},
//	}
type Records map[string][]dss.Record

// Import imports tree from recs, failing the test (t.Fatalf) if a branch
// name is unknown or the import fails.
//
// Each branch that recs names imports its records from then on: Import sets
// its Importer to dss.Records(recs[name]...), so a branch named with no
// records imports nothing. The branch keeps everything else (Unique,
// Filter, Preprocess, Guard), so the records go through the program's own
// preprocessing and Derive. A branch that recs does not name keeps its
// Importer (one that derives groups from users, say), or imports nothing
// if it has none.
func Import[T any](t testing.TB, tree *dss.Tree[T], recs Records) {
	t.Helper()
	branches := branchesOf(tree)
	var names []string
	for _, b := range branches {
		names = append(names, b.name)
	}
	for _, name := range slices.Sorted(maps.Keys(recs)) {
		if !slices.Contains(names, name) {
			t.Fatalf("dsstest: import %s: no branch %q (the tree has %s)", tree.Name(), name, strings.Join(names, ", "))
			return
		}
	}
	for _, b := range branches {
		if rs, ok := recs[b.name]; ok {
			b.setImporter(dss.Records(rs...))
		} else if b.importer() == nil {
			b.setImporter(dss.Records())
		}
	}
	if err := tree.Import(t.Context()); err != nil {
		t.Fatalf("dsstest: import %s: %v", tree.Name(), err)
	}
}

// branch is one *dss.Branch[K, V] of a tree, reached by reflection: its
// types are the program's, unknown to dsstest.
type branch struct {
	name string
	v    reflect.Value // the *dss.Branch[K, V]
}

var branchPkg = reflect.TypeFor[dss.Record]().PkgPath()

// branchesOf returns the branches of tree in field order: the fields of T
// that hold a *dss.Branch.
func branchesOf[T any](tree *dss.Tree[T]) []branch {
	rv := reflect.ValueOf(tree.Branches).Elem()
	var out []branch
	for i := range rv.NumField() {
		sf, fv := rv.Type().Field(i), rv.Field(i)
		if !sf.IsExported() || !isBranch(sf.Type) || fv.IsNil() {
			continue // a field tagged "-"
		}
		out = append(out, branch{name: fv.MethodByName("Name").Call(nil)[0].String(), v: fv})
	}
	return out
}

func isBranch(t reflect.Type) bool {
	return t.Kind() == reflect.Pointer && t.Elem().PkgPath() == branchPkg && strings.HasPrefix(t.Elem().Name(), "Branch[")
}

// attrs returns what the branch syncs: the idnumber, then its attributes.
func (b branch) attrs() []dss.Attr {
	return b.v.MethodByName("Attrs").Call(nil)[0].Interface().([]dss.Attr)
}

// objType returns V, the branch's object type.
func (b branch) objType() reflect.Type { return b.v.MethodByName("Get").Type().Out(0).Elem() }

func (b branch) importer() dss.Importer {
	imp, _ := b.v.Elem().FieldByName("Importer").Interface().(dss.Importer)
	return imp
}

func (b branch) setImporter(imp dss.Importer) {
	b.v.Elem().FieldByName("Importer").Set(reflect.ValueOf(&imp).Elem())
}

// clearRaw removes the branch's Filter and Preprocess, which read raw records.
func (b branch) clearRaw() {
	for _, name := range []string{"Filter", "Preprocess"} {
		f := b.v.Elem().FieldByName(name)
		f.SetZero()
	}
}

// all yields the branch's idnumbers and objects (*V) in idnumber order.
func (b branch) all() iter.Seq2[reflect.Value, reflect.Value] {
	return b.v.MethodByName("All").Call(nil)[0].Seq2()
}

package dss

import (
	"database/sql"
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestBranchAttrs: a branch says what its objects sync, from the type plan:
// the idnumber first, then the synced attributes in field order, with their
// keys by every naming rule; "_" keys and fields dss skips are not in it
// (issue 20, point 5: dsstest learned this by diffing probe trees).
func TestBranchAttrs(t *testing.T) {
	type account struct {
		Name     string          // untagged: "name"
		HTTPHost string          // an acronym: "http_host"
		Mail     string          `dss:"e_mail"`
		IDNumber int             // the idnumber by its name, not first
		Hash     string          `dss:"hash,secret"`
		Rooms    []int           `dss:"rooms"`
		Phone    *string         `dss:"phone"`
		Floor    sql.Null[int64] `dss:"floor"`
		Born     time.Time       `dss:"born"`
		Dept     string          `dss:"_dept"` // decoded, not synced
		Skip     string          `dss:"-"`
		hidden   string
	}
	type tree struct {
		Accounts *Branch[int, account]
	}
	got := NewTree[tree]("t").Branches.Accounts.Attrs()
	want := []Attr{
		{Key: "idnumber", Field: 3, Type: reflect.TypeFor[int]()},
		{Key: "name", Field: 0, Type: reflect.TypeFor[string]()},
		{Key: "http_host", Field: 1, Type: reflect.TypeFor[string]()},
		{Key: "e_mail", Field: 2, Type: reflect.TypeFor[string]()},
		{Key: "hash", Field: 4, Type: reflect.TypeFor[string](), Secret: true},
		{Key: "rooms", Field: 5, Type: reflect.TypeFor[[]int](), List: true},
		{Key: "phone", Field: 6, Type: reflect.TypeFor[*string]()},
		{Key: "floor", Field: 7, Type: reflect.TypeFor[sql.Null[int64]]()},
		{Key: "born", Field: 8, Type: reflect.TypeFor[time.Time]()},
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b reflect.Type) bool { return a == b })); diff != "" {
		t.Errorf("Attrs (-want +got):\n%s", diff)
	}
	for _, a := range got {
		if f := reflect.TypeFor[account]().Field(a.Field); f.Type != a.Type {
			t.Errorf("attribute %q: field %d is %s %v, not a %v", a.Key, a.Field, f.Name, f.Type, a.Type)
		}
	}
	of, err := AttrsOf(reflect.TypeFor[account]())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, of, cmp.Comparer(func(a, b reflect.Type) bool { return a == b })); diff != "" {
		t.Errorf("AttrsOf differs from Attrs (-Attrs +AttrsOf):\n%s", diff)
	}
	got[0].Key = "changed"
	if again := NewTree[tree]("t").Branches.Accounts.Attrs(); again[0].Key != IDKey {
		t.Error("Attrs shares its slice with the type plan")
	}
	_ = account{}.hidden
}

// AttrsOf refuses, with NewTree's words, a type that dss cannot sync.
func TestAttrsOfRefuses(t *testing.T) {
	for _, typ := range []reflect.Type{
		reflect.TypeFor[string](),
		reflect.TypeFor[struct{ Name string }](), // no idnumber
		reflect.TypeFor[struct {
			IDNumber string
			Ch       chan int
		}](), // a field type dss cannot hold
	} {
		if _, err := AttrsOf(typ); err == nil {
			t.Errorf("AttrsOf(%v): no error", typ)
		}
	}
}

package dsstest

import (
	"reflect"
	"testing"
	"time"

	"github.com/datastoresync/dss"
	"github.com/google/go-cmp/cmp"
)

type role string

// wide has a field of every kind the naming rules treat apart.
type wide struct {
	ID        int            `dss:"idnumber"`
	FirstName string         // untagged: first_name
	HTTPHost  string         // an acronym: http_host
	Mail      string         `dss:"e_mail"`
	Role      role           `dss:"role"`
	Age       uint8          `dss:"age"`
	Score     float32        `dss:"score"`
	Active    bool           `dss:"active"`
	Born      time.Time      `dss:"born"`
	Rooms     []int          `dss:"rooms"`
	Tags      []string       `dss:"tags"`
	Dept      string         `dss:"_dept"` // private: not synced
	Skip      string         `dss:"-"`
	Map       map[string]int `dss:"-"` // a kind dss cannot hold, skipped
	hidden    string
}

type byName struct {
	IDNumber string // the idnumber by its name
	Name     string
}

type wideTree struct {
	Wide   *dss.Branch[int, wide]
	ByName *dss.Branch[string, byName] `dss:"people"`
}

func TestLayout(t *testing.T) {
	ls := layoutsOf[wideTree]()
	type view struct {
		ID    int
		Attrs []attr
	}
	got := map[string]view{}
	for name, l := range ls {
		got[name] = view{l.id, l.attrs}
	}
	want := map[string]view{
		"wide": {0, []attr{{"first_name", 1, false}, {"http_host", 2, false}, {"e_mail", 3, false}, {"role", 4, false},
			{"age", 5, false}, {"score", 6, false}, {"active", 7, false}, {"born", 8, false}, {"rooms", 9, true}, {"tags", 10, true}}},
		"people": {0, []attr{{"name", 1, false}}},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(attr{})); diff != "" {
		t.Errorf("layouts (-want +got):\n%s", diff)
	}
	if again := layoutsOf[wideTree](); reflect.ValueOf(again).Pointer() != reflect.ValueOf(ls).Pointer() {
		t.Error("the layouts are built again: they are not cached")
	}
	_ = wide{}.hidden
}

func TestPlain(t *testing.T) {
	born := time.Date(2000, 1, 2, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		in, want any
	}{
		{role("admin"), "admin"},
		{uint8(7), uint64(7)},
		{int32(-3), int64(-3)},
		{float32(0.5), float64(0.5)},
		{true, true},
		{born, born},
		{[]role{"a", "b"}, []any{"a", "b"}},
		{[]int(nil), []any{}},
		{nil, nil},
	}
	for _, tt := range tests {
		if got := plain(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("plain(%#v) = %#v, want %#v", tt.in, got, tt.want)
		}
	}
}

package dsssql

import (
	"database/sql"
	"reflect"
	"testing"
	"time"

	"github.com/datastoresync/dss"
)

// fieldsObj has every kind of field name and tag dss reads.
type fieldsObj struct {
	ID         string `dss:"idnumber"`
	FirstName  string
	HTTPServer string
	URL2Go     int
	Tagged     *string `dss:"nick,secret"`
	Skipped    string  `dss:"-"`
	Private    string  `dss:"_private"`
	unexported string
	When       sql.Null[time.Time]
	Roles      []string `dss:"roles"`
	Password   string   `dss:",secret"`
}

// TestFieldsAsDss: the attributes a Mapping finds in an object type are
// the ones dss syncs (Branch.Attrs): keys, fields, lists, secrets.
func TestFieldsAsDss(t *testing.T) {
	tree := dss.NewTree[struct {
		Objs *dss.Branch[string, fieldsObj]
	}]("t")
	want := tree.Branches.Objs.Attrs()
	got, err := objectType(reflect.TypeFor[fieldsObj]())
	if err != nil {
		t.Fatal(err)
	}
	all := append([]attr{got.id}, got.attrs...)
	if len(all) != len(want) {
		t.Fatalf("%d attributes, dss has %d: %+v", len(all), len(want), want)
	}
	for i, w := range want {
		g := all[i]
		if g.key != w.Key || g.index != w.Field || g.list != w.List || g.secret != w.Secret || g.typ != w.Type {
			t.Errorf("attribute %d: got %+v, dss has %+v", i, g, w)
		}
	}
	_ = fieldsObj{}.unexported
}

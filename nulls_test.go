package dss

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

// Fields that may be absent (issue 12, point 3): a pointer or a sql.Null
// holds NULL apart from the zero value.

type nullUser struct {
	ID    string              `dss:"idnumber"`
	Nick  *string             `dss:"nick"`
	Age   *int                `dss:"age"`
	Born  *time.Time          `dss:"born"`
	Admin *bool               `dss:"admin"`
	Dept  *dept               `dss:"dept"`
	Score sql.Null[float64]   `dss:"score"`
	Left  sql.Null[time.Time] `dss:"left"`
	Room  sql.Null[string]    `dss:"room"`
}

type nullTree struct {
	Users *Branch[string, nullUser]
}

var nullDay = time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)

func importNulls(t *testing.T, recs ...Record) (*Tree[nullTree], error) {
	t.Helper()
	tr := NewTree[nullTree]("source")
	tr.Branches.Users.Importer = Records(recs...)
	return tr, tr.Import(context.Background())
}

var cmpTimes = cmp.Comparer(func(x, y time.Time) bool { return x.Equal(y) })

// TestNullDecode: NULL decodes to nil or an invalid sql.Null, apart from the
// empty string and from zero; an empty CSV cell is the empty string for a
// string, and no value for any other type.
func TestNullDecode(t *testing.T) {
	tests := []struct {
		name string
		rec  Record
		want nullUser
	}{
		{"no keys: every field absent", Record{}, nullUser{}},
		{"NULL string", Record{"nick": nil}, nullUser{}},
		{"empty string", Record{"nick": ""}, nullUser{Nick: ptr("")}},
		{"empty bytes (SQL driver)", Record{"nick": []byte{}}, nullUser{Nick: ptr("")}},
		{"string", Record{"nick": "x"}, nullUser{Nick: ptr("x")}},
		{"NULL int", Record{"age": nil}, nullUser{}},
		{"empty cell for an int", Record{"age": ""}, nullUser{}},
		{"zero int", Record{"age": int64(0)}, nullUser{Age: ptr(0)}},
		{"zero int from text", Record{"age": "0"}, nullUser{Age: ptr(0)}},
		{"NULL date", Record{"born": nil}, nullUser{}},
		{"empty cell for a date", Record{"born": ""}, nullUser{}},
		{"date", Record{"born": "2026-11-28"}, nullUser{Born: &nullDay}},
		{"zero time is a value", Record{"born": time.Time{}}, nullUser{Born: &time.Time{}}},
		{"false is a value", Record{"admin": false}, nullUser{Admin: ptr(false)}},
		{"empty cell for a bool", Record{"admin": ""}, nullUser{}},
		{"named string type", Record{"dept": "physics"}, nullUser{Dept: ptr(dept("physics"))}},
		{"named string type, empty", Record{"dept": ""}, nullUser{Dept: ptr(dept(""))}},
		{"NULL sql.Null", Record{"score": nil, "left": nil, "room": nil}, nullUser{}},
		{"zero sql.Null", Record{"score": 0.0}, nullUser{Score: sql.Null[float64]{V: 0, Valid: true}}},
		{"empty cell for a sql.Null float", Record{"score": ""}, nullUser{}},
		{"empty cell for a sql.Null time", Record{"left": ""}, nullUser{}},
		{"empty sql.Null string", Record{"room": ""}, nullUser{Room: sql.Null[string]{V: "", Valid: true}}},
		{"sql.Null time", Record{"left": "2026-11-28"}, nullUser{Left: sql.Null[time.Time]{V: nullDay, Valid: true}}},
		{"pointer values", Record{"nick": ptr("x"), "age": (*int)(nil), "room": sql.Null[string]{V: "r", Valid: true}},
			nullUser{Nick: ptr("x"), Room: sql.Null[string]{V: "r", Valid: true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := Record{"idnumber": "1"}
			for k, v := range tt.rec {
				rec[k] = v
			}
			tr, err := importNulls(t, rec)
			require.NoError(t, err)
			got, ok := tr.Branches.Users.Get("1")
			require.True(t, ok)
			tt.want.ID = "1"
			if diff := cmp.Diff(tt.want, *got, cmpTimes); diff != "" {
				t.Errorf("decoded (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("errors", func(t *testing.T) {
		_, err := importNulls(t, Record{"idnumber": "1", "age": "seven"})
		require.ErrorIs(t, err, ErrConvert)
		require.EqualError(t, err, `dss: source.users: record 1: idnumber '1': key "age" value "seven": cannot convert to int: invalid syntax`)
		_, err = importNulls(t, Record{"idnumber": "1", "score": "x"})
		require.EqualError(t, err, `dss: source.users: record 1: idnumber '1': key "score" value "x": cannot convert to float64: invalid syntax`)
	})
}

// TestNullMerge: records with one idnumber accumulate; an absent value may
// be filled, a value only repeated. The empty string is a value.
func TestNullMerge(t *testing.T) {
	tr, err := importNulls(t,
		Record{"idnumber": "1", "nick": nil, "score": nil},
		Record{"idnumber": "1", "nick": "x", "score": 2.5},
		Record{"idnumber": "1", "nick": "x", "score": 2.5, "age": "7"},
	)
	require.NoError(t, err)
	got, _ := tr.Branches.Users.Get("1")
	require.Equal(t, nullUser{ID: "1", Nick: ptr("x"), Age: ptr(7), Score: sql.Null[float64]{V: 2.5, Valid: true}}, *got)

	for _, tc := range []struct {
		name        string
		first, then any
		key, want   string
	}{
		{"value, then NULL", "x", nil, "nick", `conflicting values: null, earlier "x"`},
		{"empty, then value", "", "x", "nick", `conflicting values: "x", earlier ""`},
		{"zero, then NULL", 0, nil, "age", `conflicting values: null, earlier 0`},
		{"sql.Null value, then NULL", "r", nil, "room", `conflicting values: null, earlier "r"`},
	} {
		_, err := importNulls(t, Record{"idnumber": "1", tc.key: tc.first}, Record{"idnumber": "1", tc.key: tc.then})
		require.ErrorIs(t, err, ErrConflict, tc.name)
		require.ErrorContains(t, err, tc.want, tc.name)
	}
}

// nullTrees imports a source and a destination of nullUser objects.
func nullTrees(t *testing.T, src, dst []nullUser) (*Tree[nullTree], *Tree[nullTree]) {
	t.Helper()
	s, d := NewTree[nullTree]("source"), NewTree[nullTree]("dest")
	s.Branches.Users.Importer = Records()
	d.Branches.Users.Importer = Records()
	require.NoError(t, s.Import(context.Background()))
	require.NoError(t, d.Import(context.Background()))
	s.Branches.Users.Put(src...)
	d.Branches.Users.Put(dst...)
	return s, d
}

// TestNullDiff: NULL and a value differ, and so do NULL and the empty
// string or zero; two NULLs are equal, and pointers compare by what they
// point to. An update's Value is the pointer, or the sql.Null, that
// database/sql turns into NULL.
func TestNullDiff(t *testing.T) {
	day2 := nullDay
	src := []nullUser{
		{ID: "1", Nick: nil, Age: ptr(0), Born: &nullDay, Score: sql.Null[float64]{}, Room: sql.Null[string]{V: "", Valid: true}},
		{ID: "2", Nick: ptr("x"), Age: nil, Born: nil, Score: sql.Null[float64]{V: 1, Valid: true}},
		{ID: "3", Nick: ptr("same"), Born: &nullDay, Left: sql.Null[time.Time]{}},
	}
	dst := []nullUser{
		{ID: "1", Nick: ptr(""), Age: nil, Born: &day2, Score: sql.Null[float64]{V: 0, Valid: true}, Room: sql.Null[string]{}},
		{ID: "2", Nick: nil, Age: ptr(0), Born: &time.Time{}, Score: sql.Null[float64]{}},
		// Other pointers to equal values, and an invalid sql.Null whose V
		// is not zero: no difference.
		{ID: "3", Nick: ptr("same"), Born: ptr(nullDay.In(time.FixedZone("x", 3600))), Left: sql.Null[time.Time]{V: nullDay}},
	}
	s, d := nullTrees(t, src, dst)
	var got []Action
	for a := range s.Diff(d) {
		got = append(got, a)
	}
	var msgs []string
	for _, a := range got {
		msgs = append(msgs, a.String())
	}
	require.Equal(t, []string{
		`update_nick(idnumber='1', attr="nick", value=null)`,
		`update_age(idnumber='1', attr="age", value=0)`,
		`update_score(idnumber='1', attr="score", value=null)`,
		`update_room(idnumber='1', attr="room", value="")`,
		`update_nick(idnumber='2', attr="nick", value="x")`,
		`update_age(idnumber='2', attr="age", value=null)`,
		`update_born(idnumber='2', attr="born", value=null)`,
		`update_score(idnumber='2', attr="score", value=1)`,
	}, msgs)

	// What a template hands to database/sql: NULL for the absent values,
	// the value for the others.
	wantSQL := []driver.Value{nil, int64(0), nil, "", "x", nil, nil, 1.0}
	wantDest := []driver.Value{"", nil, 0.0, nil, nil, int64(0), time.Time{}, nil}
	for i, a := range got {
		v, err := sqlArg(a.Value)
		require.NoError(t, err)
		require.Equal(t, wantSQL[i], v, "%s: value", a)
		dv, err := sqlArg(a.DestValue)
		require.NoError(t, err)
		require.Equal(t, wantDest[i], dv, "%s: dest value", a)
	}
	// The values keep their field's type: a typed nil pointer, a sql.Null.
	require.Equal(t, (*string)(nil), got[0].Value)
	require.Equal(t, sql.Null[float64]{}, got[2].Value)
	require.Equal(t, ptr("x"), got[4].Value)
	require.Equal(t, ptr(0), got[5].DestValue)
}

// sqlArg is what database/sql makes of an argument for a driver that has
// no converter of its own: a Valuer's value, else the default conversion,
// which turns a nil pointer into NULL.
func sqlArg(v any) (driver.Value, error) {
	if vr, ok := v.(driver.Valuer); ok {
		return vr.Value()
	}
	return driver.DefaultParameterConverter.ConvertValue(v)
}

// TestNullSaveLoad: a saved tree writes an absent value as null, and
// loading it gives back NULL, the empty string and zero apart.
func TestNullSaveLoad(t *testing.T) {
	objs := []nullUser{
		{ID: "1"},
		{ID: "2", Nick: ptr(""), Age: ptr(0), Born: &time.Time{}, Admin: ptr(false), Dept: ptr(dept("")),
			Score: sql.Null[float64]{Valid: true}, Left: sql.Null[time.Time]{Valid: true}, Room: sql.Null[string]{Valid: true}},
		{ID: "3", Nick: ptr("x"), Age: ptr(7), Born: &nullDay, Admin: ptr(true), Dept: ptr(dept("d")),
			Score: sql.Null[float64]{V: 2.5, Valid: true}, Left: sql.Null[time.Time]{V: nullDay, Valid: true}, Room: sql.Null[string]{V: "r", Valid: true}},
	}
	tr, _ := nullTrees(t, objs, nil)
	path := filepath.Join(t.TempDir(), "tree.jsonl")
	require.NoError(t, tr.SaveFile(path))
	text, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(text)), "\n")
	require.Len(t, lines, 4)
	require.JSONEq(t, `{"branch":"users","object":{"idnumber":"1","nick":null,"age":null,"born":null,"admin":null,"dept":null,"score":null,"left":null,"room":null}}`, lines[1])
	require.JSONEq(t, `{"branch":"users","object":{"idnumber":"2","nick":"","age":0,"born":"0001-01-01T00:00:00Z","admin":false,"dept":"","score":0,"left":"0001-01-01T00:00:00Z","room":""}}`, lines[2])

	back := NewTree[nullTree]("source")
	require.NoError(t, back.LoadFile(path))
	for _, want := range objs {
		got, ok := back.Branches.Users.Get(want.ID)
		require.True(t, ok)
		if diff := cmp.Diff(want, *got, cmpTimes); diff != "" {
			t.Errorf("object %s (-saved +loaded):\n%s", want.ID, diff)
		}
	}
	require.Empty(t, slices.Collect(back.Diff(tr)), "the loaded tree differs from the saved one")
}

// nullDest is an in-memory destination of nullUser objects, written by its
// template the way a SQL template writes: whatever Value holds.
type nullDest struct {
	mu    sync.Mutex
	objs  map[string]Record
	calls []Action
}

func (m *nullDest) importer() Importer {
	return ImporterFunc(func(ctx context.Context, yield func(Record) error) error {
		m.mu.Lock()
		defer m.mu.Unlock()
		for _, rec := range m.objs {
			if err := yield(rec); err != nil {
				return err
			}
		}
		return nil
	})
}

func (m *nullDest) Apply(ctx context.Context, batch []Action) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, a := range batch {
		m.calls = append(m.calls, a)
		if a.Kind == KindUpdate {
			m.objs[a.ID][a.Attr] = a.Value
		}
	}
	return nil
}

// TestNullPlanJSON: a saved plan carries NULL as null, the later run hands
// the template the same typed values as the plan it was made from, and
// applying them converges. Fingerprints tell NULL from the empty string, so
// a destination that changed one into the other since is drift.
func TestNullPlanJSON(t *testing.T) {
	src := []Record{
		{"idnumber": "1", "nick": nil, "age": 0, "born": nil, "score": nil, "room": ""},
		{"idnumber": "2", "nick": "x", "age": nil, "born": "2026-11-28", "score": 1.5, "room": nil},
		{"idnumber": "3"},
	}
	m := &nullDest{objs: map[string]Record{
		"1": {"idnumber": "1", "nick": "", "age": nil, "born": "2026-11-28", "score": 0, "room": nil},
		"2": {"idnumber": "2", "nick": nil, "age": 0, "born": nil, "score": nil, "room": ""},
		"3": {"idnumber": "3", "nick": nil},
	}}
	ds := New[nullTree, nullTree]()
	ds.Source.Branches.Users.Importer = Records(src...)
	ds.Dest.Branches.Users.Importer = m.importer()
	require.NoError(t, ds.Import(context.Background()))
	p, err := ds.Plan()
	require.NoError(t, err)
	require.NoError(t, p.Refusal())
	direct := planMessages(p)
	data, err := json.Marshal(p)
	require.NoError(t, err)
	doc := docOf(t, data)
	a := doc.action(t, "update_nick", "1")
	require.Contains(t, a, "value", "a NULL value is written as null")
	require.Nil(t, a["value"])
	require.Equal(t, "", a["dest_value"])
	require.Equal(t, map[string]any{"idnumber": "1", "nick": nil, "age": json.Number("0"), "born": nil, "admin": nil,
		"dept": nil, "score": nil, "left": nil, "room": ""}, a["source"])
	require.Equal(t, "2026-11-28T00:00:00Z", doc.action(t, "update_born", "1")["dest_value"])
	require.Equal(t, json.Number("1.5"), doc.action(t, "update_score", "2")["value"])

	// A later run.
	var saved Plan
	require.NoError(t, json.Unmarshal(data, &saved))
	next := New[nullTree, nullTree]()
	next.Dest.Branches.Users.Importer = m.importer()
	require.NoError(t, next.ImportDest(context.Background()))
	r, err := next.Apply(context.Background(), &saved, m)
	require.NoError(t, err)
	require.Equal(t, len(direct), r.Applied)
	var msgs []string
	for _, a := range m.calls {
		msgs = append(msgs, a.String())
	}
	require.Equal(t, direct, msgs)
	up, err := planFor(reflect.TypeFor[nullUser]())
	require.NoError(t, err)
	for _, a := range m.calls {
		f, _ := up.field(a.Attr)
		require.Equal(t, f.typ, reflect.TypeOf(a.Value), "%s: the value has the field's type", a)
		require.Equal(t, f.typ, reflect.TypeOf(a.DestValue), "%s: the destination value has the field's type", a)
	}

	// The template wrote NULL where the source has it: nothing left to do.
	require.NoError(t, ds.ImportDest(context.Background()))
	p, err = ds.Plan()
	require.NoError(t, err)
	require.Empty(t, planMessages(p))

	// NULL turned into the empty string in a field no action touches:
	// drift.
	ds.Source.Branches.Users.Importer = Records(append(src, Record{"idnumber": "4"})...)
	require.NoError(t, ds.Import(context.Background()))
	p, err = ds.Plan()
	require.NoError(t, err)
	require.Equal(t, []string{"new_users(idnumber='4')"}, planMessages(p))
	data, err = json.Marshal(p)
	require.NoError(t, err)
	m.objs["3"]["nick"] = "" // was NULL
	var stale Plan
	require.NoError(t, json.Unmarshal(data, &stale))
	later := New[nullTree, nullTree]()
	later.Dest.Branches.Users.Importer = m.importer()
	require.NoError(t, later.ImportDest(context.Background()))
	_, err = later.Apply(context.Background(), &stale, m)
	require.ErrorIs(t, err, ErrDrift)
}

// TestNullFingerprint: a branch's fingerprint tells NULL from the empty
// string, zero and the zero time, and does not depend on which pointer
// holds a value.
func TestNullFingerprint(t *testing.T) {
	fp := func(objs ...nullUser) string {
		s, d := nullTrees(t, nil, objs)
		return fingerprint(d.Branches.Users, &s.t)
	}
	null := fp(nullUser{ID: "1"})
	for _, o := range []nullUser{
		{ID: "1", Nick: ptr("")},
		{ID: "1", Age: ptr(0)},
		{ID: "1", Born: &time.Time{}},
		{ID: "1", Admin: ptr(false)},
		{ID: "1", Score: sql.Null[float64]{Valid: true}},
		{ID: "1", Left: sql.Null[time.Time]{Valid: true}},
		{ID: "1", Room: sql.Null[string]{Valid: true}},
	} {
		require.NotEqual(t, null, fp(o), "%+v", o)
	}
	require.Equal(t, fp(nullUser{ID: "1", Nick: ptr("x")}), fp(nullUser{ID: "1", Nick: ptr("x")}))
	require.Equal(t, null, fp(nullUser{ID: "1", Room: sql.Null[string]{V: "ignored"}}), "an invalid sql.Null's V is not part of it")
}

// TestNullFieldTypes: what may and may not be absent.
func TestNullFieldTypes(t *testing.T) {
	type ptrID struct {
		ID *string `dss:"idnumber"`
	}
	type nullID struct {
		ID sql.Null[string] `dss:"idnumber"`
	}
	type bad struct {
		ID   string              `dss:"idnumber"`
		PP   **int               // a pointer to a pointer
		PL   *[]string           // a pointer to a list
		NB   sql.Null[[]byte]    // a sql.Null of bytes
		PN   *sql.Null[string]   // a pointer to a sql.Null
		LP   []*string           // a list of pointers
		NS   sql.NullString      // the older Null types are not supported
		Fine sql.Null[time.Time] // this one is
	}
	_, err := planFor(reflect.TypeFor[ptrID]())
	require.EqualError(t, err, "object type dss.ptrID: field ID: the idnumber cannot be absent, so it cannot be a *string")
	_, err = planFor(reflect.TypeFor[nullID]())
	require.EqualError(t, err, "object type dss.nullID: field ID: the idnumber cannot be absent, so it cannot be a sql.Null[string]")
	_, err = planFor(reflect.TypeFor[bad]())
	require.EqualError(t, err, "object type dss.bad: "+
		"field PP: unsupported type **int (a pointer may point to a string, bool, integer, float or time.Time); "+
		"field PL: unsupported type *[]string (a pointer may point to a string, bool, integer, float or time.Time); "+
		"field NB: unsupported type sql.Null[[]uint8] (a sql.Null may hold a string, bool, integer, float or time.Time); "+
		"field PN: unsupported type *sql.Null[string] (a pointer may point to a string, bool, integer, float or time.Time); "+
		"field LP: unsupported list element type *string (want string, integer or float kinds); "+
		"field NS: unsupported type sql.NullString (want a string, bool, integer, float, time.Time, a pointer to one, a sql.Null of one, or a slice of string, integer or float)")
}

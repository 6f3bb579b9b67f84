package dss_test

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/datastoresync/dss"
)

type title string

// rowObj has a field of each kind a row's text decodes into.
type rowObj struct {
	IDNumber string           `dss:"idnumber"`
	Name     string           `dss:"name"`
	Title    title            `dss:"title"`
	Age      int              `dss:"age"`
	Level    *int8            `dss:"level"`
	Nick     sql.Null[string] `dss:"nick"`
	Active   bool             `dss:"active"`
	Born     time.Time        `dss:"born"`
	Tags     []string         `dss:"tags"`
	Scores   []int            `dss:"scores"`
	Note     string           `dss:"_note"`
}

type rowTree struct {
	Objs *dss.Branch[string, rowObj]
}

type intObj struct {
	IDNumber int    `dss:"idnumber"`
	Name     string `dss:"name"`
}

type intTree struct {
	Objs *dss.Branch[int, intObj]
}

// rowsOnly is a RowImporter that counts which of its methods dss called.
type rowsOnly struct {
	dss.RowImporter
	imports, rowImports int
}

func (r *rowsOnly) Import(ctx context.Context, yield func(dss.Record) error) error {
	r.imports++
	return r.RowImporter.Import(ctx, yield)
}

func (r *rowsOnly) ImportRows(ctx context.Context, yield func(keys, row []string) error) error {
	r.rowImports++
	return r.RowImporter.ImportRows(ctx, yield)
}

func rowsOf(keys []string, rows ...[]string) *rowsOnly {
	return &rowsOnly{RowImporter: dss.RowsFunc(keys, func(ctx context.Context, yield func([]string) error) error {
		for _, r := range rows {
			if err := yield(r); err != nil {
				return err
			}
		}
		return nil
	})}
}

// recordsOf yields the records the rows stand for, as an Importer without
// rows does.
func recordsOf(keys []string, rows ...[]string) dss.Importer {
	return dss.ImporterFunc(func(ctx context.Context, yield func(dss.Record) error) error {
		for _, r := range rows {
			rec := dss.Record{}
			for i, v := range r {
				rec[keys[i]] = v
			}
			if err := yield(rec); err != nil {
				return err
			}
		}
		return nil
	})
}

// importRows imports a tree of T whose only branch is set up by setup,
// given im, and returns the branch's objects, or the error.
func importRows[T any, K cmp.Ordered, V any](t *testing.T, im dss.Importer, branch func(*T) *dss.Branch[K, V], setup func(*dss.Branch[K, V])) (map[K]V, error) {
	t.Helper()
	tree := dss.NewTree[T]("source")
	b := branch(tree.Branches)
	b.Importer = im
	setup(b)
	if err := tree.Import(context.Background()); err != nil {
		return nil, err
	}
	out := map[K]V{}
	for k, v := range b.All() {
		out[k] = *v
	}
	return out, nil
}

// TestRowsDecodeAsRecords holds the promise of RowImporter: a row decodes
// as the Record of its keys and values would, objects and errors alike.
func TestRowsDecodeAsRecords(t *testing.T) {
	all := []string{"idnumber", "name", "title", "age", "level", "nick", "active", "born", "tags", "scores", "_note"}
	full := []string{"1", "Ann", "Dr", "41", "-3", "", "true", "2024-02-29", "x", "7", "n"}
	cases := []struct {
		name          string
		keys          []string
		rows          [][]string
		unique, trim  bool
		ignoreUnknown bool
		errIs         error // for errors whose text depends on map order
	}{
		{name: "every kind", keys: all, rows: [][]string{full, {"2", "", "", "", "", "Bo", "0", "", "", "", ""}}, unique: true},
		{name: "accumulate lists", keys: all, rows: [][]string{{"1", "Ann"}, full, {"1", "Ann", "Dr", "41", "-3", "", "true", "2024-02-29", "y", "8", "n"}}},
		{name: "a later record fills a zero", keys: all, rows: [][]string{{"1", "", "", "0"}, {"1", "Ann", "Dr", "41"}}},
		{name: "keys in another order and case", keys: []string{"NAME", "Scores", "IDNumber"}, rows: [][]string{{"Ann", "1", "a"}, {"Bo", "2", "b"}}, unique: true},
		{name: "short rows", keys: all, rows: [][]string{{"1", "Ann"}, {"2"}}},
		{name: "conflict", keys: all, rows: [][]string{full, {"1", "Ann B"}}},
		{name: "repeated id in a unique branch", keys: []string{"idnumber", "name"}, rows: [][]string{{"1", "a"}, {"2", "b"}, {"1", "c"}}, unique: true},
		{name: "no id column", keys: []string{"name"}, rows: [][]string{{"Ann"}}},
		{name: "row without its id", keys: []string{"name", "idnumber"}, rows: [][]string{{"Ann", "1"}, {"Bo"}}},
		{name: "empty id", keys: []string{"idnumber", "name"}, rows: [][]string{{"", "Ann"}}},
		{name: "space around the id", keys: []string{"idnumber", "name"}, rows: [][]string{{" 1 ", "Ann"}}},
		{name: "space around the id, trimmed", keys: []string{"idnumber", "name"}, rows: [][]string{{" 1 ", "Ann"}, {"2\t", "Bo"}}, trim: true},
		{name: "control character in the id", keys: []string{"idnumber", "name"}, rows: [][]string{{"1\x1b", "Ann"}}},
		{name: "id not UTF-8", keys: []string{"idnumber", "name"}, rows: [][]string{{"1\xff", "Ann"}}},
		{name: "value not UTF-8", keys: []string{"idnumber", "name"}, rows: [][]string{{"1", "An\xffn"}}},
		{name: "list element not UTF-8", keys: []string{"idnumber", "tags"}, rows: [][]string{{"1", "\xff"}}},
		{name: "named string not UTF-8", keys: []string{"idnumber", "title"}, rows: [][]string{{"1", "\xfe"}}},
		{name: "bad int", keys: []string{"idnumber", "age"}, rows: [][]string{{"1", "forty"}}},
		{name: "overflow through a pointer", keys: []string{"idnumber", "level"}, rows: [][]string{{"1", "300"}}},
		{name: "bad list int", keys: []string{"idnumber", "scores"}, rows: [][]string{{"1", "1.5"}}},
		{name: "bad time", keys: []string{"idnumber", "born"}, rows: [][]string{{"1", "yesterday"}}},
		{name: "unknown key", keys: []string{"idnumber", "shoe"}, rows: [][]string{{"1", "42"}}},
		{name: "unknown key past a short row", keys: []string{"idnumber", "shoe"}, rows: [][]string{{"1"}, {"2", "42"}}},
		{name: "unknown key ignored", keys: []string{"idnumber", "shoe", "name"}, rows: [][]string{{"1", "42", "Ann"}}, ignoreUnknown: true},
		{name: "two keys of one field", keys: []string{"idnumber", "name", "Name"}, rows: [][]string{{"1", "a", "b"}}, errIs: dss.ErrDuplicateKey},
		{name: "two id keys", keys: []string{"idnumber", "IDNUMBER"}, rows: [][]string{{"1", "1"}}, errIs: dss.ErrDuplicateKey},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			setup := func(b *dss.Branch[string, rowObj]) {
				b.Unique, b.TrimID, b.IgnoreUnknownKeys = c.unique, c.trim, c.ignoreUnknown
			}
			objs := func(tr *rowTree) *dss.Branch[string, rowObj] { return tr.Objs }
			rows := rowsOf(c.keys, c.rows...)
			got, gotErr := importRows(t, rows, objs, setup)
			want, wantErr := importRows(t, recordsOf(c.keys, c.rows...), objs, setup)
			assert.Equal(t, 0, rows.imports, "Import was called")
			assert.Equal(t, 1, rows.rowImports, "ImportRows calls")
			if c.errIs != nil {
				require.ErrorIs(t, gotErr, c.errIs)
				require.ErrorIs(t, wantErr, c.errIs)
				return
			}
			if wantErr != nil {
				require.EqualError(t, gotErr, wantErr.Error())
				return
			}
			require.NoError(t, gotErr)
			if diff := gocmp.Diff(want, got); diff != "" {
				t.Errorf("rows (-as records +as rows):\n%s", diff)
			}
		})
	}

	t.Run("integer idnumbers", func(t *testing.T) {
		objs := func(tr *intTree) *dss.Branch[int, intObj] { return tr.Objs }
		for _, rows := range [][][]string{
			{{"7", "a"}, {"12", "b"}},
			{{"x", "a"}},
			{{"99999999999999999999", "a"}},
			{{" 7", "a"}},
		} {
			got, gotErr := importRows(t, rowsOf([]string{"idnumber", "name"}, rows...), objs, func(*dss.Branch[int, intObj]) {})
			want, wantErr := importRows(t, recordsOf([]string{"idnumber", "name"}, rows...), objs, func(*dss.Branch[int, intObj]) {})
			if wantErr != nil {
				require.EqualError(t, gotErr, wantErr.Error())
				continue
			}
			require.NoError(t, gotErr)
			assert.Equal(t, want, got)
		}
	})
}

// TestRowsPathChoice checks when dss takes the rows and when the Records.
func TestRowsPathChoice(t *testing.T) {
	keys := []string{"idnumber", "name"}
	rows := [][]string{{"1", "Ann"}, {"2", "Bo"}}
	objs := func(tr *rowTree) *dss.Branch[string, rowObj] { return tr.Objs }

	t.Run("a branch with a Filter is given Records", func(t *testing.T) {
		im := rowsOf(keys, rows...)
		got, err := importRows(t, im, objs, func(b *dss.Branch[string, rowObj]) {
			b.Filter = func(r dss.Record) bool { return r["name"] == "Bo" }
		})
		require.NoError(t, err)
		assert.Equal(t, []string{"2"}, sortedKeys(got))
		assert.Equal(t, 1, im.imports)
		assert.Equal(t, 0, im.rowImports)
	})
	t.Run("a branch with a Preprocess is given Records", func(t *testing.T) {
		im := rowsOf(keys, rows...)
		got, err := importRows(t, im, objs, func(b *dss.Branch[string, rowObj]) {
			b.Preprocess = func(r dss.Record) error { r["name"] = "x"; return nil }
		})
		require.NoError(t, err)
		assert.Equal(t, "x", got["1"].Name)
		assert.Equal(t, 1, im.imports)
	})
	t.Run("ErrSkipRows before any row: Import is called", func(t *testing.T) {
		im := &skipper{RowImporter: rowsOf(keys, rows...)}
		got, err := importRows(t, im, objs, func(*dss.Branch[string, rowObj]) {})
		require.NoError(t, err)
		assert.Equal(t, []string{"1", "2"}, sortedKeys(got))
	})
	t.Run("ErrSkipRows after a row is an error", func(t *testing.T) {
		im := &skipper{RowImporter: rowsOf(keys, rows...), after: 1}
		_, err := importRows(t, im, objs, func(*dss.Branch[string, rowObj]) {})
		require.ErrorIs(t, err, dss.ErrSkipRows)
		var ie *dss.ImportError
		require.ErrorAs(t, err, &ie)
		assert.Equal(t, "objs", ie.Branch)
	})
	t.Run("a row longer than its keys is an error", func(t *testing.T) {
		_, err := importRows(t, rowsOf(keys, []string{"1", "Ann", "extra"}), objs, func(*dss.Branch[string, rowObj]) {})
		require.EqualError(t, err, "dss: source.objs: record 1: row of 3 values for 2 keys")
		_, err = importRows(t, rowsOf(keys, []string{"1", "Ann", "extra"}), objs, func(b *dss.Branch[string, rowObj]) {
			b.Filter = func(dss.Record) bool { return true }
		})
		require.EqualError(t, err, "dss: source.objs: row of 3 values for 2 keys")
	})
	t.Run("RowsFunc of a nil function fails the import", func(t *testing.T) {
		_, err := importRows(t, dss.RowsFunc(keys, nil), objs, func(*dss.Branch[string, rowObj]) {})
		require.EqualError(t, err, "dss: source.objs: RowsFunc: nil function")
		_, err = importRows(t, dss.RowsFunc(keys, nil), objs, func(b *dss.Branch[string, rowObj]) {
			b.Filter = func(dss.Record) bool { return true }
		})
		require.EqualError(t, err, "dss: source.objs: RowsFunc: nil function")
	})
	t.Run("RowsFunc copies its keys", func(t *testing.T) {
		k := []string{"idnumber", "name"}
		im := dss.RowsFunc(k, func(ctx context.Context, yield func([]string) error) error {
			return yield([]string{"1", "Ann"})
		})
		k[1] = "shoe"
		got, err := importRows(t, im, objs, func(*dss.Branch[string, rowObj]) {})
		require.NoError(t, err)
		assert.Equal(t, "Ann", got["1"].Name)
	})
}

// skipper returns ErrSkipRows from ImportRows after yielding after rows.
type skipper struct {
	dss.RowImporter
	after int
}

func (s *skipper) ImportRows(ctx context.Context, yield func(keys, row []string) error) error {
	n := 0
	err := s.RowImporter.ImportRows(ctx, func(keys, row []string) error {
		if n == s.after {
			return dss.ErrSkipRows
		}
		n++
		return yield(keys, row)
	})
	if errors.Is(err, dss.ErrSkipRows) {
		return dss.ErrSkipRows
	}
	return err
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// Records with fixed keys, here courses as lines of text, can be yielded as
// rows of values in the order of their keys: dss maps the keys to fields
// once, and makes no Record per line.
func ExampleRowsFunc() {
	// In a program: f, err := os.Open("courses.txt")
	const coursesTxt = "c1 Algebra 5\nc2 Biology 4\n"

	source := dss.NewTree[catalog]("source")
	source.Branches.Courses.Importer = dss.RowsFunc([]string{"idnumber", "name", "credits"},
		func(ctx context.Context, yield func(row []string) error) error {
			for line := range strings.Lines(coursesTxt) {
				if err := yield(strings.Fields(line)); err != nil {
					return err
				}
			}
			return nil
		})
	if err := source.Import(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	for id, c := range source.Branches.Courses.All() {
		fmt.Println(id, c.Name, c.Credits)
	}
	// Output:
	// c1 Algebra 5
	// c2 Biology 4
}

// TestRowsKeysChange: an importer that changes its keys between rows, even
// in the same slice, has each row decoded by the keys it came with.
func TestRowsKeysChange(t *testing.T) {
	keys := []string{"idnumber", "name", "title"}
	rows := rowImporterFunc(func(ctx context.Context, yield func(keys, row []string) error) error {
		if err := yield(keys, []string{"1", "Ann", "Dr"}); err != nil {
			return err
		}
		keys[1], keys[2] = "title", "name" // the same slice, other keys
		return yield(keys, []string{"2", "Prof", "Bo"})
	})
	got, err := importRows(t, rows, func(tr *rowTree) *dss.Branch[string, rowObj] { return tr.Objs }, func(*dss.Branch[string, rowObj]) {})
	require.NoError(t, err)
	assert.Equal(t, rowObj{IDNumber: "1", Name: "Ann", Title: "Dr"}, got["1"])
	assert.Equal(t, rowObj{IDNumber: "2", Name: "Bo", Title: "Prof"}, got["2"])
}

// rowImporterFunc is a RowImporter of a function; its Import is not used.
type rowImporterFunc func(ctx context.Context, yield func(keys, row []string) error) error

func (f rowImporterFunc) ImportRows(ctx context.Context, yield func(keys, row []string) error) error {
	return f(ctx, yield)
}

func (f rowImporterFunc) Import(context.Context, func(dss.Record) error) error {
	return errors.New("Import called")
}

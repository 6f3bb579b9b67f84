package dsssql_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/datastoresync/dss"
	"github.com/datastoresync/dss/dsssql"
)

// TestDriverValues records the Go types each driver returns, and checks that
// dss converts every one of them to its field's type.
func TestDriverValues(t *testing.T) {
	type values struct {
		IDNumber string    `dss:"idnumber"`
		N        int       `dss:"n"`
		NText    string    `dss:"n_text"` // an integer into a string
		F        float64   `dss:"f"`
		OK       bool      `dss:"ok"`
		TS       time.Time `dss:"ts"`
		TSText   time.Time `dss:"ts_text"` // a timestamp kept as text
		Raw      string    `dss:"raw"`     // bytes into a string
		Missing  int       `dss:"missing"` // NULL into an int
	}
	type valueTree struct {
		Values *dss.Branch[string, values]
	}
	ts := time.Date(2024, 1, 2, 3, 4, 5, 678000000, time.UTC)
	want := values{IDNumber: "1", N: 42, NText: "42", F: 2.5, OK: true, TS: ts, TSText: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), Raw: "raw"}
	wantTypes := map[string]map[string]string{
		"sqlite": {"idnumber": "string", "n": "int64", "n_text": "int64", "f": "float64", "ok": "int64",
			"ts": "time.Time", "ts_text": "string", "raw": "[]uint8", "missing": "<nil>"},
		"postgres": {"idnumber": "string", "n": "int64", "n_text": "int64", "f": "float64", "ok": "bool",
			"ts": "time.Time", "ts_text": "string", "raw": "[]uint8", "missing": "<nil>"},
	}
	forEachBackend(t, func(t *testing.T, b backend, db *sql.DB) {
		exec(t, db, `CREATE TABLE vals (idnumber TEXT, n INTEGER, f DOUBLE PRECISION, ok BOOLEAN,
			ts `+b.timestamp+`, ts_text TEXT, raw `+b.blob+`, missing INTEGER)`)
		for _, text := range []string{"2024-01-02 03:04:05", "2024-01-02T03:04:05Z"} {
			exec(t, db, `INSERT INTO vals VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
				"1", 42, 2.5, true, ts, text, []byte("raw"), nil)
		}
		q := `SELECT idnumber, n, n AS n_text, f, ok, ts, ts_text, raw, missing FROM vals`

		got := map[string]string{}
		err := dsssql.Query(db, q).Import(context.Background(), func(r dss.Record) error {
			for k, v := range r {
				got[k] = fmt.Sprintf("%T", v)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s value types: %v", b.name, got)
		if d := cmp.Diff(wantTypes[b.kind], got); d != "" {
			t.Errorf("value types (-want +got):\n%s", d)
		}

		tree := dss.NewTree[valueTree]("dest")
		tree.Branches.Values.Importer = dsssql.Query(db, q)
		if err := tree.Import(context.Background()); err != nil {
			t.Fatal(err)
		}
		v, _ := tree.Branches.Values.Get("1")
		if d := cmp.Diff(&want, v); d != "" {
			t.Errorf("decoded (-want +got):\n%s", d)
		}
	})
}

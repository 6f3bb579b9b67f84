package dsssql_test

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/datastoresync/dss"
	"github.com/datastoresync/dss/dsssql"
)

// TestMappingCopy: in a dsssql.Tx on PostgreSQL, new rows and their list
// elements are inserted with COPY; in a *sql.Tx with arrays, and so are the
// rows of a table with a column of a type pgx does not know (an enum), sent
// as text and cast by the server, and of a table with a rule, which COPY
// would not apply. Every way writes the same rows, and a
// second run has nothing to do. The cases run one after the other, since
// the count of copied rows is the package's.
func TestMappingCopy(t *testing.T) {
	for _, tc := range []struct {
		name   string
		open   func(testing.TB) *sql.DB
		enum   bool
		rule   bool
		copies bool
	}{
		{"dsssql.Tx", openPostgres, false, false, true},
		{"sql.Tx", openPostgresArrays, false, false, false},
		{"dsssql.Tx, an enum column", openPostgres, true, false, true},
		{"sql.Tx, an enum column", openPostgresArrays, true, false, false},
		{"dsssql.Tx, a rule on the table", openPostgres, false, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := tc.open(t)
			nameType := "TEXT"
			if tc.enum {
				exec(t, db, `CREATE TYPE label AS ENUM ('alpha', 'beta', 'gamma')`)
				nameType = "label"
			}
			exec(t, db, `CREATE TABLE grp (idnumber VARCHAR(20) PRIMARY KEY, name `+nameType+` NOT NULL)`)
			exec(t, db, `CREATE TABLE grp_members (g VARCHAR(20) NOT NULL REFERENCES grp, u VARCHAR(20) NOT NULL, PRIMARY KEY (g, u))`)
			if tc.rule {
				// COPY does not apply rules: the groups must be INSERTed.
				exec(t, db, `CREATE TABLE audit (idnumber VARCHAR(20))`)
				exec(t, db, `CREATE RULE audit AS ON INSERT TO grp DO ALSO INSERT INTO audit VALUES (NEW.idnumber)`)
			}
			var src []dss.Record
			members := 0
			for i := range 300 {
				var ms []string
				for j := range i % 4 {
					ms = append(ms, fmt.Sprintf("u%d", j))
				}
				members += len(ms)
				src = append(src, dss.Record{"idnumber": fmt.Sprintf("g%03d", i),
					"name": []string{"alpha", "beta", "gamma"}[i%3], "members": ms})
			}
			sync := func() *dss.Plan {
				ds := dss.New[rTree, rTree]()
				ds.Source.Branches.Groups.Importer = dss.Records(src...)
				groups := dsssql.Map(ds.Dest.Branches.Groups, "grp", "idnumber")
				groups.Lists = map[string]dsssql.Join{"members": {Table: "grp_members", Owner: "g", Member: "u"}}
				ds.Dest.Branches.Groups.Importer = groups
				plan, _, err := syncRun(t, db, ds, groups)
				if err != nil {
					t.Fatal(err)
				}
				return plan
			}
			before := dsssql.CopiedRows()
			if plan := sync(); len(plan.Actions) != 300 {
				t.Fatalf("first run: %d actions, want 300 new_groups", len(plan.Actions))
			}
			copied := dsssql.CopiedRows() - before
			var want int64
			if tc.copies {
				want = int64(members) // the join table's columns are all VARCHAR
				if !tc.enum && !tc.rule {
					want += 300
				}
			}
			if copied != want {
				t.Errorf("%d rows copied, want %d", copied, want)
			}
			wantRows(t, db, `SELECT COUNT(*), MIN(idnumber), MAX(idnumber), COUNT(DISTINCT name) FROM grp`, "300|g000|g299|3")
			wantRows(t, db, `SELECT COUNT(*) FROM grp_members`, fmt.Sprint(members))
			if tc.rule {
				wantRows(t, db, `SELECT COUNT(*) FROM audit`, "300")
			}
			if plan := sync(); len(plan.Actions) != 0 {
				t.Errorf("second run: %d actions, want none", len(plan.Actions))
			}
		})
	}
}

// TestMappingValueErrorsWithheld: a value the column refuses fails its
// action, and the error that quotes it is withheld unless ShowValues is
// set: PostgreSQL's data exception (text that is not a UUID) and pgx's
// error of a value it cannot encode (a number too large for an INTEGER),
// which for arrays quotes every value of the statement's column; with
// COPY and with arrays.
func TestMappingValueErrorsWithheld(t *testing.T) {
	for _, open := range []func(testing.TB) *sql.DB{openPostgres, openPostgresArrays} {
		db := open(t)
		exec(t, db, `CREATE TABLE users (idnumber VARCHAR(20) PRIMARY KEY, name TEXT NOT NULL, email UUID NOT NULL, age BIGINT NOT NULL)`)
		exec(t, db, `CREATE TABLE small (idnumber VARCHAR(20) PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL, age INTEGER NOT NULL)`)
		for _, tc := range []struct{ table, secret string }{
			{"users", "secret.mail@example.com"},
			{"small", "5000000042"},
		} {
			for _, show := range []bool{false, true} {
				var src []dss.Record
				for i := range 10 {
					r := dss.Record{"idnumber": fmt.Sprintf("u%d", i), "name": "N",
						"email": "6f1c2a1e-8d2b-4c3e-9f4a-00000000000" + fmt.Sprint(i), "age": i}
					if i == 6 && tc.table == "users" {
						r["email"] = tc.secret
					} else if i == 6 {
						r["age"] = 5000000042
					}
					src = append(src, r)
				}
				ds := dss.New[mUsers, mUsers]()
				ds.Source.Branches.Users.Importer = dss.Records(src...)
				users := dsssql.Map(ds.Dest.Branches.Users, tc.table, "idnumber")
				users.ShowValues = show
				ds.Dest.Branches.Users.Importer = users
				ds.Dest.RedactValues = !show
				_, report, err := syncRun(t, db, ds, users)
				if err == nil || !strings.Contains(err.Error(), `new_users idnumber "u6"`) {
					t.Fatalf("%s, ShowValues %v: Apply: %v, want the failure of u6", tc.table, show, err)
				}
				if report.Applied != 9 || len(report.Failed) != 1 {
					t.Errorf("%s, ShowValues %v: report %v, want 9 applied and u6 failed", tc.table, show, report)
				}
				if shown := strings.Contains(err.Error(), tc.secret); shown != show {
					t.Errorf("%s, ShowValues %v: the value is shown %v: %v", tc.table, show, shown, err)
				}
			}
		}
	}
}

// TestTxGivesBackItsConnection: a dsssql.Tx holds one connection from
// BeginTx to Commit or Rollback, and a second Rollback or Commit after
// either reports sql.ErrTxDone; BeginTx on a closed database fails, saying
// where.
func TestTxGivesBackItsConnection(t *testing.T) {
	db := openSQLite(t)
	ctx := t.Context()
	for _, end := range []string{"commit", "rollback"} {
		tx, err := dsssql.BeginTx(ctx, db, nil)
		if err != nil {
			t.Fatal(err)
		}
		if n := db.Stats().InUse; n != 1 {
			t.Fatalf("%d connections in use during the transaction, want 1", n)
		}
		if end == "commit" {
			err = tx.Commit()
		} else {
			err = tx.Rollback()
		}
		if err != nil {
			t.Fatalf("%s: %v", end, err)
		}
		if n := db.Stats().InUse; n != 0 {
			t.Errorf("after %s: %d connections in use, want 0", end, n)
		}
		if err := tx.Rollback(); !errors.Is(err, sql.ErrTxDone) {
			t.Errorf("Rollback after %s: %v, want sql.ErrTxDone", end, err)
		}
	}
	db.Close()
	if _, err := dsssql.BeginTx(ctx, db, nil); err == nil || !strings.HasPrefix(err.Error(), "dsssql: ") {
		t.Errorf("BeginTx on a closed database: %v", err)
	}
}

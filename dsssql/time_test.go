package dsssql_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/datastoresync/dss"
	"github.com/datastoresync/dss/dsssql"
)

// tUser has times stored three ways and fields that may be NULL.
type tUser struct {
	IDNumber string          `dss:"idnumber"`
	Nick     *string         `dss:"nick"`
	Age      sql.Null[int64] `dss:"age"`
	Born     time.Time       `dss:"born"`    // DATE
	Seen     time.Time       `dss:"seen"`    // TIMESTAMP
	Login    time.Time       `dss:"login"`   // BIGINT: seconds since 1970
	LeftAt   *time.Time      `dss:"left_at"` // a nullable TIMESTAMP with microseconds
}

type tUsers struct {
	Users *dss.Branch[string, tUser]
}

// timeSchema is the table: seen is a TIMESTAMP without time zone in
// PostgreSQL (microseconds), a DATETIME in MySQL (whole seconds), a
// TIMESTAMP in SQLite (kept as text, to the nanosecond).
func timeSchema(b backend) string {
	seen := map[string]string{"sqlite": "TIMESTAMP", "postgres": "TIMESTAMP", "mysql": "DATETIME"}[b.kind]
	left := map[string]string{"sqlite": "TIMESTAMP", "postgres": "TIMESTAMPTZ", "mysql": "DATETIME(6)"}[b.kind]
	return `CREATE TABLE users (idnumber VARCHAR(20) PRIMARY KEY, nick VARCHAR(20), age BIGINT,
		born DATE NOT NULL, seen ` + seen + ` NOT NULL, login BIGINT NOT NULL, left_at ` + left + `)`
}

// TestMappingTimesAndNulls: NULL for nil pointers and invalid sql.Null,
// apart from "" and 0; time.Time in DATE, TIMESTAMP and Unix seconds
// columns. Every run after the first has nothing to do, in any time zone
// the source gives.
func TestMappingTimesAndNulls(t *testing.T) {
	forEachDB(t, func(t *testing.T, b backend, db *sql.DB) {
		exec(t, db, timeSchema(b))
		paris := time.FixedZone("Paris", 3600)
		seen := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
		left := time.Date(2025, 1, 2, 3, 4, 5, 123456000, time.UTC)
		src := []dss.Record{
			{"idnumber": "1", "nick": nil, "age": nil, "born": time.Date(2001, 2, 3, 0, 0, 0, 0, time.UTC), "seen": seen, "login": seen, "left_at": nil},
			{"idnumber": "2", "nick": "", "age": 0, "born": time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC), "seen": seen.In(paris), "login": seen.In(paris), "left_at": left.In(paris)},
			{"idnumber": "3", "nick": "c", "age": 7, "born": time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), "seen": seen.Add(time.Second), "login": time.Unix(0, 0), "left_at": left},
		}
		for run := range 2 {
			ds := dss.New[tUsers, tUsers]()
			ds.Source.Branches.Users.Importer = dss.Records(src...)
			users := dsssql.Map(ds.Dest.Branches.Users, "users", "idnumber")
			ds.Dest.Branches.Users.Importer = users
			plan, _, err := syncRun(t, db, ds, users)
			if err != nil {
				t.Fatalf("run %d: %v", run+1, err)
			}
			if want := []int{3, 0}[run]; len(plan.Actions) != want {
				t.Errorf("run %d: %d actions, want %d:\n%v", run+1, len(plan.Actions), want, plan.Actions)
			}
		}
		wantRows(t, db, `SELECT idnumber, nick, age, login FROM users`,
			"1|NULL|NULL|1714979289", "2||0|1714979289", "3|c|7|0")
		wantRows(t, db, `SELECT COUNT(*) FROM users WHERE left_at IS NULL`, "1")
	})
}

// TestMappingTimePrecision: a time finer than its column keeps is refused,
// with the action and the column named, rather than written rounded and
// updated again on every run.
func TestMappingTimePrecision(t *testing.T) {
	forEachDB(t, func(t *testing.T, b backend, db *sql.DB) {
		exec(t, db, timeSchema(b))
		base := dss.Record{"idnumber": "1", "born": time.Date(2001, 2, 3, 0, 0, 0, 0, time.UTC),
			"seen": time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC), "login": time.Unix(1e9, 0)}
		nanos := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
		cases := []struct {
			name, attr string
			value      time.Time
			refused    bool   // on this database
			want       string // in the error
		}{
			{"seen in nanoseconds", "seen", nanos, b.kind != "sqlite", "fractional digits"},
			{"seen in microseconds", "seen", nanos.Truncate(time.Microsecond), b.kind == "mysql", "keeps 0 fractional digits"},
			{"left_at in nanoseconds", "left_at", nanos, b.kind != "sqlite", "keeps 6 fractional digits"},
			{"login with a fraction", "login", nanos, true, "whole seconds"},
			{"born at noon", "born", time.Date(2001, 2, 3, 12, 0, 0, 0, time.UTC), true, "keeps a date"},
			{"born at midnight in Paris", "born", time.Date(2001, 2, 3, 0, 0, 0, 0, time.FixedZone("Paris", 3600)), true, "not midnight UTC"},
		}
		for _, c := range cases {
			rec := dss.Record{}
			for k, v := range base {
				rec[k] = v
			}
			rec[c.attr] = c.value
			ds := dss.New[tUsers, tUsers]()
			ds.Source.Branches.Users.Importer = dss.Records(rec)
			users := dsssql.Map(ds.Dest.Branches.Users, "users", "idnumber")
			ds.Dest.Branches.Users.Importer = users
			tx, plan := planIn(t, db, ds, users)
			_, err := ds.Apply(context.Background(), plan, users)
			tx.Rollback()
			var ae *dss.ActionError
			switch {
			case !c.refused && err != nil:
				t.Errorf("%s: %v", c.name, err)
			case c.refused && (!errors.As(err, &ae) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "column "+c.attr)):
				t.Errorf("%s: Apply: %v, want an error of the action with %q", c.name, err, c.want)
			case c.refused && strings.Contains(err.Error(), "2024"):
				t.Errorf("%s: the error shows the value: %v", c.name, err)
			}
		}
	})
}

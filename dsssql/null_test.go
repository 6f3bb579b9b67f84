package dsssql_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/datastoresync/dss"
	"github.com/datastoresync/dss/dsssql"
)

// maybeUser has columns that may be NULL: pointer fields and sql.Null.
type maybeUser struct {
	IDNumber string              `dss:"idnumber"`
	Nick     *string             `dss:"nick"`
	Age      *int                `dss:"age"`
	Born     *time.Time          `dss:"born"`
	Score    sql.Null[float64]   `dss:"score"`
	Left     sql.Null[time.Time] `dss:"left_on"`
}

type maybeTree struct {
	Users *dss.Branch[string, maybeUser]
}

// maybeTemplate writes to the table with database/sql, passing each
// action's value as it is: a nil pointer or an invalid sql.Null is NULL.
type maybeTemplate struct{ db *sql.DB }

func (m maybeTemplate) NewUsers(ctx context.Context, a dss.Action) error {
	u := a.Source.(*maybeUser)
	_, err := m.db.ExecContext(ctx, `INSERT INTO users (idnumber, nick, age, born, score, left_on) VALUES ($1, $2, $3, $4, $5, $6)`,
		u.IDNumber, u.Nick, u.Age, u.Born, u.Score, u.Left)
	return err
}

func (m maybeTemplate) set(ctx context.Context, a dss.Action) error {
	_, err := m.db.ExecContext(ctx, `UPDATE users SET `+a.Attr+` = $1 WHERE idnumber = $2`, a.Value, a.ID)
	return err
}

func (m maybeTemplate) UpdateNick(ctx context.Context, a dss.Action) error   { return m.set(ctx, a) }
func (m maybeTemplate) UpdateAge(ctx context.Context, a dss.Action) error    { return m.set(ctx, a) }
func (m maybeTemplate) UpdateBorn(ctx context.Context, a dss.Action) error   { return m.set(ctx, a) }
func (m maybeTemplate) UpdateScore(ctx context.Context, a dss.Action) error  { return m.set(ctx, a) }
func (m maybeTemplate) UpdateLeftOn(ctx context.Context, a dss.Action) error { return m.set(ctx, a) }

// TestNullRoundTrip: a JSON source with nulls, empty strings and numbers,
// synced into a table whose columns may be NULL. The template hands the
// actions' values to database/sql as they are; NULL, the empty string and
// 0 land apart, and the next plan is empty.
func TestNullRoundTrip(t *testing.T) {
	const source = `[
		{"idnumber": "1", "nick": null, "age": 0,    "born": null,         "score": null, "left_on": null},
		{"idnumber": "2", "nick": "",   "age": null, "born": "2001-02-03", "score": 0,    "left_on": "2026-07-01"},
		{"idnumber": "3", "nick": "c",  "age": 41,   "born": null,         "score": 1.5,  "left_on": null}
	]`
	var recs []dss.Record
	if err := json.Unmarshal([]byte(source), &recs); err != nil {
		t.Fatal(err)
	}
	forEachBackend(t, func(t *testing.T, b backend, db *sql.DB) {
		exec(t, db, `CREATE TABLE users (idnumber TEXT PRIMARY KEY, nick TEXT, age INTEGER, born `+b.timestamp+`,
			score DOUBLE PRECISION, left_on `+b.timestamp+`)`)
		// Each the other way round: a value where the source has NULL,
		// NULL where it has '' or 0.
		exec(t, db, `INSERT INTO users VALUES ($1, $2, $3, $4, $5, $6)`, "1", "a", nil, time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC), 0.0, nil)
		exec(t, db, `INSERT INTO users VALUES ($1, $2, $3, $4, $5, $6)`, "2", nil, 0, nil, nil, nil)

		ds := dss.New[maybeTree, maybeTree]()
		ds.Source.Branches.Users.Importer = dss.Records(recs...)
		ds.Dest.Branches.Users.Importer = dsssql.Query(db, `SELECT idnumber, nick, age, born, score, left_on FROM users`)
		ctx := context.Background()
		if err := ds.Import(ctx); err != nil {
			t.Fatal(err)
		}
		plan, err := ds.Plan()
		if err != nil {
			t.Fatal(err)
		}
		var msgs []string
		for _, a := range plan.Actions {
			msgs = append(msgs, a.String())
		}
		want := []string{
			`new_users(idnumber='3')`,
			`update_nick(idnumber='1', attr="nick", value=null)`,
			`update_age(idnumber='1', attr="age", value=0)`,
			`update_born(idnumber='1', attr="born", value=null)`,
			`update_score(idnumber='1', attr="score", value=null)`,
			`update_nick(idnumber='2', attr="nick", value="")`,
			`update_age(idnumber='2', attr="age", value=null)`,
			`update_born(idnumber='2', attr="born", value="2001-02-03T00:00:00Z")`,
			`update_score(idnumber='2', attr="score", value=0)`,
			`update_left_on(idnumber='2', attr="left_on", value="2026-07-01T00:00:00Z")`,
		}
		if d := cmp.Diff(want, msgs); d != "" {
			t.Fatalf("plan (-want +got):\n%s", d)
		}
		if _, err := ds.Apply(ctx, plan, dss.Methods(maybeTemplate{db})); err != nil {
			t.Fatal(err)
		}

		// What the table holds now, NULL as such.
		rows, err := db.Query(`SELECT idnumber, nick IS NULL, COALESCE(nick, ''), age IS NULL, born IS NULL,
			score IS NULL, left_on IS NULL FROM users ORDER BY idnumber`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var got []string
		for rows.Next() {
			var id, nick string
			var nickNull, ageNull, bornNull, scoreNull, leftNull bool
			if err := rows.Scan(&id, &nickNull, &nick, &ageNull, &bornNull, &scoreNull, &leftNull); err != nil {
				t.Fatal(err)
			}
			var nulls []string
			for i, null := range []bool{nickNull, ageNull, bornNull, scoreNull, leftNull} {
				if null {
					nulls = append(nulls, []string{"nick", "age", "born", "score", "left_on"}[i])
				}
			}
			got = append(got, id+": nick "+nick+"; NULL: "+strings.Join(nulls, " "))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		wantRows := []string{
			"1: nick ; NULL: nick born score left_on",
			"2: nick ; NULL: age",
			"3: nick c; NULL: born left_on",
		}
		if d := cmp.Diff(wantRows, got); d != "" {
			t.Errorf("table (-want +got):\n%s", d)
		}

		if err := ds.ImportDest(ctx); err != nil {
			t.Fatal(err)
		}
		plan, err = ds.Plan()
		if err != nil {
			t.Fatal(err)
		}
		if len(plan.Actions) != 0 {
			t.Errorf("the destination did not converge: %v", plan.Actions)
		}
	})
}

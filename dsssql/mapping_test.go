package dsssql_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/datastoresync/dss"
	"github.com/datastoresync/dss/dsssql"
)

type mUser struct {
	IDNumber string `dss:"idnumber"`
	Name     string `dss:"name"`
	Email    string `dss:"email"`
	Age      int    `dss:"age"`
}

type mUsers struct {
	Users *dss.Branch[string, mUser]
}

// planIn begins a transaction, gives it to the mappings, imports both
// trees and plans. The transaction is rolled back when t ends, unless it
// was committed.
func planIn[S, D any](t *testing.T, db *sql.DB, ds *dss.Datastore[S, D], ms ...*dsssql.Mapping) (runTx, *dss.Plan) {
	t.Helper()
	ctx := context.Background()
	var tx runTx
	var err error
	if _, plain := plainTx.Load(db); plain {
		tx, err = db.BeginTx(ctx, nil)
	} else {
		tx, err = dsssql.BeginTx(ctx, db, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback() })
	for _, m := range ms {
		m.DB = tx
	}
	if err := ds.Import(ctx); err != nil {
		t.Fatal(err)
	}
	plan, err := ds.Plan()
	if err != nil {
		t.Fatal(err)
	}
	return tx, plan
}

// runTx is the transaction of a test's run: a *dsssql.Tx, or a *sql.Tx
// for the databases in plainTx.
type runTx interface {
	dsssql.DB
	Commit() error
	Rollback() error
}

// syncRun imports both trees through the mappings in one transaction,
// plans, applies through them (combined when there are several) and
// commits when Apply succeeds and Verify finds that every change stuck,
// reading the touched rows back through the mappings' ImportKeys.
func syncRun[S, D any](t *testing.T, db *sql.DB, ds *dss.Datastore[S, D], ms ...*dsssql.Mapping) (*dss.Plan, *dss.Report, error) {
	t.Helper()
	tx, plan := planIn(t, db, ds, ms...)
	ts := make([]dss.Template, len(ms))
	for i, m := range ms {
		ts[i] = m
	}
	report, err := ds.Apply(context.Background(), plan, dss.Combine(ts...))
	if err == nil {
		err = ds.Verify(context.Background(), report)
	}
	if err != nil {
		tx.Rollback()
		return plan, report, err
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return plan, report, nil
}

// rowsOf returns the rows of query, each as its columns' text joined by "|".
func rowsOf(t *testing.T, db *sql.DB, query string) []string {
	t.Helper()
	rows, err := db.Query(query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			switch x := v.(type) {
			case nil:
				parts[i] = "NULL"
			case []byte:
				parts[i] = string(x)
			default:
				parts[i] = fmt.Sprint(x)
			}
		}
		out = append(out, strings.Join(parts, "|"))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func wantRows(t *testing.T, db *sql.DB, query string, want ...string) {
	t.Helper()
	got := rowsOf(t, db, query)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got %q\nwant %q", query, got, want)
	}
}

// TestMappingScalars: new, update and old users written in bulk, the
// second run has nothing to do, and a renamed column is read and written.
func TestMappingScalars(t *testing.T) {
	forEachDB(t, func(t *testing.T, b backend, db *sql.DB) {
		exec(t, db, `CREATE TABLE users (idnumber VARCHAR(20) PRIMARY KEY, name TEXT NOT NULL, mail TEXT NOT NULL, age INTEGER NOT NULL)`)
		exec(t, db, `INSERT INTO users VALUES ('1', 'Old', 'a@x', 30), ('2', 'Gone', 'g@x', 40), ('3', 'Same', 's@x', 50)`)
		src := []dss.Record{
			{"idnumber": "1", "name": "Ada", "email": "a@x", "age": 36},
			{"idnumber": "3", "name": "Same", "email": "s@x", "age": 50},
		}
		for i := range 3000 {
			src = append(src, dss.Record{"idnumber": fmt.Sprintf("n%05d", i), "name": "New", "email": "n@x", "age": i})
		}
		ds := dss.New[mUsers, mUsers]()
		ds.Source.Branches.Users.Importer = dss.Records(src...)
		users := dsssql.Map(ds.Dest.Branches.Users, "users", "idnumber")
		users.Columns = map[string]string{"email": "mail"}
		ds.Dest.Branches.Users.Importer = users
		ds.Dest.Branches.Users.Guard.MaxDeleteFraction = 1
		plan, _, err := syncRun(t, db, ds, users)
		if err != nil {
			t.Fatal(err)
		}
		if s := plan.Summary.Changes(); s != 3000+1+1 {
			t.Errorf("first plan has %d changes, want 3002:\n%v", s, plan.Summary)
		}
		wantRows(t, db, `SELECT idnumber, name, mail, age FROM users WHERE idnumber < 'n'`, "1|Ada|a@x|36", "3|Same|s@x|50")
		wantRows(t, db, `SELECT COUNT(*), SUM(age) FROM users WHERE idnumber >= 'n'`, fmt.Sprint(3000, "|", 2999*3000/2))
		plan, _, err = syncRun(t, db, ds, users)
		if err != nil {
			t.Fatal(err)
		}
		if len(plan.Actions) != 0 {
			t.Errorf("second plan has %d actions, want none: %v", len(plan.Actions), plan.Actions[0])
		}
	})
}

// TestMappingFailingRow: a row that breaks a constraint is reported as its
// action; the others are written (Apply goes on after the failure with the
// rest of the batch), and the transaction is still usable.
func TestMappingFailingRow(t *testing.T) {
	forEachDB(t, func(t *testing.T, b backend, db *sql.DB) {
		exec(t, db, `CREATE TABLE users (idnumber VARCHAR(20) PRIMARY KEY, name TEXT NOT NULL, email VARCHAR(50) NOT NULL UNIQUE, age INTEGER NOT NULL CHECK (age >= 0))`)
		var src []dss.Record
		for i := range 100 {
			src = append(src, dss.Record{"idnumber": fmt.Sprintf("u%03d", i), "name": "N", "email": fmt.Sprintf("%d@x", i), "age": i})
		}
		src[57]["age"] = -1
		ds := dss.New[mUsers, mUsers]()
		ds.Source.Branches.Users.Importer = dss.Records(src...)
		users := dsssql.Map(ds.Dest.Branches.Users, "users", "idnumber")
		ds.Dest.Branches.Users.Importer = users
		ctx := context.Background()
		tx, plan := planIn(t, db, ds, users)
		report, err := ds.Apply(ctx, plan, users)
		var ae *dss.ActionError
		if !errors.As(err, &ae) || ae.Action.ID != "u057" {
			t.Fatalf("Apply: %v, want the failure of u057", err)
		}
		if !strings.Contains(err.Error(), "new_users idnumber \"u057\"") {
			t.Errorf("the error does not name the action and idnumber: %v", err)
		}
		if report.Applied != 99 || len(report.Failed) != 1 {
			t.Errorf("report: %v", report)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO users VALUES ('later', 'L', 'l@x', 1)`); err != nil {
			t.Fatalf("the transaction is not usable after the failure: %v", err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		wantRows(t, db, `SELECT COUNT(*), MIN(idnumber), MAX(idnumber) FROM users WHERE idnumber <> 'later'`, "99|u000|u099")
		wantRows(t, db, `SELECT COUNT(*) FROM users WHERE idnumber = 'u057'`, "0")
	})
}

// TestMappingValuesWithheld: the error of a failing row names its action
// and idnumber but not its values, not even in MySQL's message, which
// quotes the duplicate value, unless ShowValues is set.
func TestMappingValuesWithheld(t *testing.T) {
	forEachDB(t, func(t *testing.T, b backend, db *sql.DB) {
		exec(t, db, `CREATE TABLE users (idnumber VARCHAR(20) PRIMARY KEY, name VARCHAR(20) NOT NULL, email VARCHAR(50) NOT NULL UNIQUE, age INTEGER NOT NULL)`)
		for _, show := range []bool{false, true} {
			ds := dss.New[mUsers, mUsers]()
			ds.Source.Branches.Users.Importer = dss.Records(
				dss.Record{"idnumber": "u1", "name": "A", "email": "secret.mail@example.com", "age": 1},
				dss.Record{"idnumber": "u2", "name": "B", "email": "secret.mail@example.com", "age": 2})
			users := dsssql.Map(ds.Dest.Branches.Users, "users", "idnumber")
			users.ShowValues = show
			ds.Dest.Branches.Users.Importer = users
			ds.Dest.RedactValues = !show
			_, _, err := syncRun(t, db, ds, users)
			if err == nil {
				t.Fatal("Apply succeeded with a duplicate email")
			}
			if !strings.Contains(err.Error(), `new_users idnumber "u2"`) {
				t.Errorf("the error does not name the action and idnumber: %v", err)
			}
			if shown := strings.Contains(err.Error(), "secret.mail"); shown != (show && b.kind == "mysql") {
				t.Errorf("ShowValues %v: the value is shown %v: %v", show, shown, err)
			}
		}
	})
}

// TestMappingFailingSmallBatch: a batch of fewer than four one-statement
// actions goes without a savepoint; a failing one is still its action's
// error, and changed nothing. SQLite and MySQL go on in the transaction;
// PostgreSQL's error says the transaction is aborted.
func TestMappingFailingSmallBatch(t *testing.T) {
	forEachDB(t, func(t *testing.T, b backend, db *sql.DB) {
		exec(t, db, `CREATE TABLE users (idnumber VARCHAR(20) PRIMARY KEY, name VARCHAR(20) NOT NULL, email VARCHAR(50) NOT NULL, age INTEGER NOT NULL CHECK (age >= 0))`)
		exec(t, db, `INSERT INTO users VALUES ('u1', 'A', 'a@x', 1), ('u2', 'B', 'b@x', 2), ('u3', 'C', 'c@x', 3)`)
		ds := dss.New[mUsers, mUsers]()
		ds.Source.Branches.Users.Importer = dss.Records(
			dss.Record{"idnumber": "u1", "name": "A", "email": "a@x", "age": 10},
			dss.Record{"idnumber": "u2", "name": "B", "email": "b@x", "age": -1},
			dss.Record{"idnumber": "u3", "name": "C", "email": "c@x", "age": 30})
		users := dsssql.Map(ds.Dest.Branches.Users, "users", "idnumber")
		ds.Dest.Branches.Users.Importer = users
		tx, plan := planIn(t, db, ds, users)
		report, err := ds.Apply(context.Background(), plan, users, dss.StopOnError())
		var ae *dss.ActionError
		if !errors.As(err, &ae) || ae.Action.ID != "u2" || report.Applied != 1 {
			t.Fatalf("Apply: %v, want the failure of u2 after one applied", err)
		}
		if aborted := strings.Contains(err.Error(), "the transaction is aborted"); aborted != (b.kind == "postgres") {
			t.Errorf("the error says the transaction is aborted: %v, on %s: %v", aborted, b.name, err)
		}
		if b.kind == "postgres" {
			return
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		wantRows(t, db, `SELECT idnumber, age FROM users`, "u1|10", "u2|2", "u3|3")
	})
}

type rGroup struct {
	IDNumber string   `dss:"idnumber"`
	Name     string   `dss:"name"`
	Members  []string `dss:"members"`
}

type rTree struct {
	Groups *dss.Branch[string, rGroup]
}

// TestMappingRowsAsRecords: a Mapping whose columns are all text imports
// as rows (ImportRows); the objects are those its records give (Import,
// which a Filter asks for): a NULL name is "", a group without members has
// an empty list.
func TestMappingRowsAsRecords(t *testing.T) {
	forEachDB(t, func(t *testing.T, b backend, db *sql.DB) {
		exec(t, db, `CREATE TABLE grp (idnumber VARCHAR(20) PRIMARY KEY, name VARCHAR(20))`)
		exec(t, db, `CREATE TABLE grp_members (g VARCHAR(20) NOT NULL, u VARCHAR(20) NOT NULL)`)
		exec(t, db, `INSERT INTO grp VALUES ('g1', 'One'), ('g2', NULL), ('g3', '')`)
		exec(t, db, `INSERT INTO grp_members VALUES ('g1', 'u1'), ('g1', 'u2'), ('g3', 'u1')`)
		ctx := context.Background()
		var got [2]string
		for i, filter := range []func(dss.Record) bool{nil, func(dss.Record) bool { return true }} {
			dest := dss.NewTree[rTree]("dest")
			groups := dsssql.Map(dest.Branches.Groups, "grp", "idnumber")
			groups.Lists = map[string]dsssql.Join{"members": {Table: "grp_members", Owner: "g", Member: "u"}}
			groups.DB = db
			dest.Branches.Groups.Importer = groups
			dest.Branches.Groups.Filter = filter
			if err := dest.Import(ctx); err != nil {
				t.Fatal(err)
			}
			for _, g := range dest.Branches.Groups.All() {
				got[i] += fmt.Sprintf("%+v\n", *g)
			}
		}
		want := "{IDNumber:g1 Name:One Members:[u1 u2]}\n{IDNumber:g2 Name: Members:[]}\n{IDNumber:g3 Name: Members:[u1]}\n"
		if got[0] != want || got[1] != want {
			t.Errorf("as rows:\n%s\nas records:\n%s\nwant:\n%s", got[0], got[1], want)
		}
	})
}

// TestMappingRefusesPool: Apply through a *sql.DB, whose statements would
// go to any of its connections, is refused before anything is written.
func TestMappingRefusesPool(t *testing.T) {
	db := openSQLite(t)
	exec(t, db, `CREATE TABLE users (idnumber VARCHAR(20) PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL, age INTEGER NOT NULL)`)
	ds := dss.New[mUsers, mUsers]()
	ds.Source.Branches.Users.Importer = dss.Records(dss.Record{"idnumber": "u1", "name": "A", "email": "a@x", "age": 1})
	users := dsssql.Map(ds.Dest.Branches.Users, "users", "idnumber")
	users.DB = db
	ds.Dest.Branches.Users.Importer = users
	ctx := context.Background()
	if err := ds.Import(ctx); err != nil {
		t.Fatal(err)
	}
	plan, err := ds.Plan()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ds.Apply(ctx, plan, users); err == nil || !strings.Contains(err.Error(), "not a *sql.DB") {
		t.Errorf("Apply through a *sql.DB: %v", err)
	}
	wantRows(t, db, `SELECT COUNT(*) FROM users`, "0")
}

// TestMappingCancel: a context cancelled while a batch is written fails
// the batch with the context's error, and nothing is committed.
func TestMappingCancel(t *testing.T) {
	forEachDB(t, func(t *testing.T, b backend, db *sql.DB) {
		exec(t, db, `CREATE TABLE users (idnumber VARCHAR(20) PRIMARY KEY, name VARCHAR(20) NOT NULL, email VARCHAR(50) NOT NULL, age INTEGER NOT NULL, stamp INTEGER)`)
		var src []dss.Record
		for i := range 50 {
			src = append(src, dss.Record{"idnumber": fmt.Sprintf("u%03d", i), "name": "N", "email": "e", "age": i})
		}
		ds := dss.New[mUsers, mUsers]()
		ds.Source.Branches.Users.Importer = dss.Records(src...)
		users := dsssql.Map(ds.Dest.Branches.Users, "users", "idnumber")
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		// The stamp is taken once per batch, before its first statement.
		users.Stamps = map[string]func() any{"stamp": func() any { cancel(); return 1 }}
		ds.Dest.Branches.Users.Importer = users
		tx, plan := planIn(t, db, ds, users)
		if _, err := ds.Apply(ctx, plan, users); !errors.Is(err, context.Canceled) {
			t.Errorf("Apply: %v, want context.Canceled", err)
		}
		tx.Rollback()
		wantRows(t, db, `SELECT COUNT(*) FROM users`, "0")
	})
}

// TestMappingKilledConnection: PostgreSQL ends the connection in the middle
// of a chunk. Apply fails the batch with the cause, does not hang or
// panic, and nothing is committed.
func TestMappingKilledConnection(t *testing.T) {
	db := openPostgres(t)
	exec(t, db, `CREATE TABLE users (idnumber VARCHAR(20) PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL, age INTEGER NOT NULL)`)
	exec(t, db, `CREATE FUNCTION die() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF NEW.idnumber = 'u050' THEN PERFORM pg_terminate_backend(pg_backend_pid()); END IF;
			RETURN NEW;
		END $$`)
	exec(t, db, `CREATE TRIGGER die BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION die()`)
	var src []dss.Record
	for i := range 100 {
		src = append(src, dss.Record{"idnumber": fmt.Sprintf("u%03d", i), "name": "N", "email": "e", "age": i})
	}
	ds := dss.New[mUsers, mUsers]()
	ds.Source.Branches.Users.Importer = dss.Records(src...)
	users := dsssql.Map(ds.Dest.Branches.Users, "users", "idnumber")
	ds.Dest.Branches.Users.Importer = users
	_, report, err := syncRun(t, db, ds, users)
	if err == nil || report == nil || report.Applied != 0 {
		t.Fatalf("Apply: %v, report %v: want every action failed", err, report)
	}
	if !strings.Contains(err.Error(), "terminat") {
		t.Errorf("the error does not give the cause: %v", err)
	}
	wantRows(t, db, `SELECT COUNT(*) FROM users`, "0")
}

// TestMappingBadAction: an action without a source object (a batch made
// by hand) fails as its own action, after the ones before it are written.
func TestMappingBadAction(t *testing.T) {
	db := openSQLite(t)
	exec(t, db, `CREATE TABLE users (idnumber VARCHAR(20) PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL, age INTEGER NOT NULL)`)
	ds := dss.New[mUsers, mUsers]()
	users := dsssql.Map(ds.Dest.Branches.Users, "users", "idnumber")
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	users.DB = tx
	newUser := func(id string, src any) dss.Action {
		return dss.Action{Kind: dss.KindNew, Name: "new_users", Branch: "users", ID: id, Source: src}
	}
	batch := []dss.Action{
		newUser("u1", &mUser{IDNumber: "u1", Name: "A"}),
		newUser("u2", &mUser{IDNumber: "u2", Name: "B"}),
		newUser("u3", nil),
		newUser("u4", &mUser{IDNumber: "u4", Name: "D"}),
		newUser("u5", &mUser{IDNumber: "u5", Name: "E"}),
	}
	err = users.Apply(context.Background(), batch)
	var be *dss.BatchError
	if !errors.As(err, &be) || be.Index != 2 || !strings.Contains(err.Error(), "no source object") {
		t.Fatalf("Apply: %v, want the failure of action 3", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	wantRows(t, db, `SELECT idnumber FROM users`, "u1", "u2")
}

type secretUser struct {
	IDNumber string `dss:"idnumber"`
	Email    string `dss:"email,secret"`
}

type secretUsers struct {
	Users *dss.Branch[string, secretUser]
}

// TestMappingSecretWithheld: a secret attribute's values stay out of
// errors even with ShowValues, on every database.
func TestMappingSecretWithheld(t *testing.T) {
	forEachDB(t, func(t *testing.T, b backend, db *sql.DB) {
		exec(t, db, `CREATE TABLE users (idnumber VARCHAR(20) PRIMARY KEY, email VARCHAR(50) NOT NULL UNIQUE)`)
		ds := dss.New[secretUsers, secretUsers]()
		ds.Source.Branches.Users.Importer = dss.Records(
			dss.Record{"idnumber": "u1", "email": "secret.mail@example.com"},
			dss.Record{"idnumber": "u2", "email": "secret.mail@example.com"})
		users := dsssql.Map(ds.Dest.Branches.Users, "users", "idnumber")
		users.ShowValues = true
		ds.Dest.Branches.Users.Importer = users
		_, _, err := syncRun(t, db, ds, users)
		if err == nil || !strings.Contains(err.Error(), `new_users idnumber "u2"`) || strings.Contains(err.Error(), "secret.mail") {
			t.Errorf("Apply: %v, want the failure of u2 without the value", err)
		}
	})
}

// TestMappingDialect: a declared dialect is used as it is; one that is not
// the database's fails the first use with the database's error, and an
// unknown one is refused.
func TestMappingDialect(t *testing.T) {
	db := openSQLite(t)
	exec(t, db, `CREATE TABLE users (idnumber VARCHAR(20) PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL, age INTEGER NOT NULL)`)
	for _, c := range []struct {
		d    dsssql.Dialect
		want string // in the error; "" for none
	}{
		{dsssql.SQLite, ""},
		{dsssql.Detect, ""},
		{dsssql.Postgres, "read the columns of users"},
		{dsssql.Dialect(9), "unknown dialect Dialect(9)"},
	} {
		ds := dss.New[mUsers, mUsers]()
		users := dsssql.Map(ds.Dest.Branches.Users, "users", "idnumber")
		users.Dialect, users.DB = c.d, db
		err := users.Import(context.Background(), func(dss.Record) error { return nil })
		if (err == nil) != (c.want == "") || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("Dialect %v: %v, want %q", c.d, err, c.want)
		}
	}
}

// TestMappingUpdateWithoutRow: an update whose row went away after the
// import (here deleted in the same transaction) is its action's error, in
// a large batch and in a small one, and the others are written. MySQL
// counts the rows changed, not those matched, and is not checked.
func TestMappingUpdateWithoutRow(t *testing.T) {
	forEachDB(t, func(t *testing.T, b backend, db *sql.DB) {
		exec(t, db, `CREATE TABLE users (idnumber VARCHAR(20) PRIMARY KEY, name VARCHAR(20) NOT NULL, email VARCHAR(50) NOT NULL, age INTEGER NOT NULL)`)
		var src []dss.Record
		for i := range 10 {
			exec(t, db, fmt.Sprintf(`INSERT INTO users VALUES ('u%d', 'N', 'e%d', %d)`, i, i, i))
			// u0 to u7 get a new age (one batch of 8), u9 a new name (a batch of 1).
			r := dss.Record{"idnumber": fmt.Sprintf("u%d", i), "name": "N", "email": fmt.Sprintf("e%d", i), "age": i}
			if i < 8 {
				r["age"] = 100 + i
			}
			if i == 9 {
				r["name"] = "M"
			}
			src = append(src, r)
		}
		ds := dss.New[mUsers, mUsers]()
		ds.Source.Branches.Users.Importer = dss.Records(src...)
		users := dsssql.Map(ds.Dest.Branches.Users, "users", "idnumber")
		ds.Dest.Branches.Users.Importer = users
		tx, plan := planIn(t, db, ds, users)
		if _, err := tx.ExecContext(context.Background(), `DELETE FROM users WHERE idnumber IN ('u3', 'u9')`); err != nil {
			t.Fatal(err)
		}
		report, err := ds.Apply(context.Background(), plan, users)
		if b.kind == "mysql" {
			if err != nil {
				t.Errorf("Apply on MySQL: %v", err)
			}
			return
		}
		var failed []string
		for _, f := range report.Failed {
			failed = append(failed, f.Action.ID)
			if !strings.Contains(f.Err.Error(), "no row to update") || strings.Contains(f.Err.Error(), "aborted") {
				t.Errorf("%s: %v", f.Action.ID, f.Err)
			}
		}
		if !slices.Equal(failed, []string{"u3", "u9"}) || report.Applied != 7 {
			t.Errorf("failed %v, applied %d: want u3 and u9 failed, 7 applied (%v)", failed, report.Applied, err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatalf("commit after the failures: %v", err)
		}
		wantRows(t, db, `SELECT COUNT(*) FROM users WHERE age >= 100`, "7")
	})
}

// TestMappingVerify: Verify reads back, through ImportKeys, only the rows
// Apply touched, and finds a change that a trigger undid.
func TestMappingVerify(t *testing.T) {
	forEachDB(t, func(t *testing.T, b backend, db *sql.DB) {
		exec(t, db, `CREATE TABLE users (idnumber VARCHAR(20) PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL, age INTEGER NOT NULL)`)
		switch b.kind {
		case "sqlite":
			exec(t, db, `CREATE TRIGGER lower_email AFTER UPDATE OF email ON users BEGIN
				UPDATE users SET email = lower(NEW.email) WHERE idnumber = NEW.idnumber; END`)
		case "postgres":
			exec(t, db, `CREATE FUNCTION lower_email() RETURNS trigger AS $$
				BEGIN NEW.email := lower(NEW.email); RETURN NEW; END $$ LANGUAGE plpgsql`)
			exec(t, db, `CREATE TRIGGER lower_email BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION lower_email()`)
		case "mysql":
			exec(t, db, `CREATE TRIGGER lower_email BEFORE UPDATE ON users FOR EACH ROW SET NEW.email = LOWER(NEW.email)`)
		}
		exec(t, db, `INSERT INTO users VALUES ('1', 'Ada', 'a@x', 36), ('2', 'Bob', 'b@x', 40), ('3', 'Cy', 'c@x', 50)`)
		ds := dss.New[mUsers, mUsers]()
		users := dsssql.Map(ds.Dest.Branches.Users, "users", "idnumber")
		ds.Dest.Branches.Users.Importer = users
		ds.Dest.Branches.Users.Guard.MaxDeleteFraction = 1

		// Kept: a rename, a new user, a deleted one.
		ds.Source.Branches.Users.Importer = dss.Records(
			dss.Record{"idnumber": "1", "name": "Ada", "email": "a@x", "age": 36},
			dss.Record{"idnumber": "2", "name": "Robert", "email": "b@x", "age": 40},
			dss.Record{"idnumber": "3", "name": "Cy", "email": "c@x", "age": 50},
			dss.Record{"idnumber": "4", "name": "Dee", "email": "d@x", "age": 20})
		exec(t, db, `INSERT INTO users VALUES ('5', 'Eve', 'e@x', 30)`)
		if _, _, err := syncRun(t, db, ds, users); err != nil {
			t.Fatal(err)
		}
		wantRows(t, db, `SELECT idnumber, name FROM users ORDER BY idnumber`, "1|Ada", "2|Robert", "3|Cy", "4|Dee")
		// ImportKeys reads the rows of the idnumbers asked for, and no others.
		users.DB = db
		var got []string
		err := users.ImportKeys(context.Background(), []string{"4", "2", "5"}, func(r dss.Record) error {
			got = append(got, fmt.Sprintf("%s|%s", r["idnumber"], r["name"])) // MySQL: bytes
			return nil
		})
		slices.Sort(got)
		if err != nil || !slices.Equal(got, []string{"2|Robert", "4|Dee"}) {
			t.Errorf("ImportKeys(4, 2, 5) = %q, %v; want 2|Robert, 4|Dee", got, err)
		}

		// Not kept: the trigger lower-cases the email.
		ds.Source.Branches.Users.Importer = dss.Records(
			dss.Record{"idnumber": "1", "name": "Ada", "email": "Ada@X", "age": 36},
			dss.Record{"idnumber": "2", "name": "Robert", "email": "b@x", "age": 40},
			dss.Record{"idnumber": "3", "name": "Cy", "email": "c@x", "age": 50},
			dss.Record{"idnumber": "4", "name": "Dee", "email": "d@x", "age": 20})
		_, _, err = syncRun(t, db, ds, users)
		if !errors.Is(err, dss.ErrNotKept) {
			t.Fatalf("err = %v, want ErrNotKept", err)
		}
		if want := `update_email(idnumber='1', attr="email", value="Ada@X") (the destination holds "ada@x")`; !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v\nwant it to say %s", err, want)
		}
		wantRows(t, db, `SELECT idnumber, email FROM users WHERE idnumber = '1'`, "1|a@x") // rolled back
	})
}

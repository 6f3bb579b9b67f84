package dsssql_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/datastoresync/dss"
	"github.com/datastoresync/dss/dsssql"
)

// benchUsers is how many users the benchmarks load.
const benchUsers = 100_000

// benchBackends are the databases the benchmarks run on: SQLite always,
// PostgreSQL and MySQL when their variables are set.
func benchBackends(b *testing.B) []backend {
	all := []backend{backends[0]}
	if os.Getenv("DSS_TEST_POSTGRES") != "" {
		all = append(all, backends[1])
	}
	if os.Getenv("DSS_TEST_MYSQL") != "" {
		all = append(all, backend{name: "mysql", open: openMySQL})
	}
	return all
}

const benchSchema = `CREATE TABLE users (idnumber VARCHAR(20) PRIMARY KEY, name VARCHAR(100) NOT NULL,
	email VARCHAR(100) NOT NULL, age INTEGER NOT NULL)`

// BenchmarkInitialLoad writes 100,000 new users into an empty table in one
// transaction. Both programs get the same plan, made outside the timer, and
// apply it with ds.Apply: through a Mapping, and through the template a
// competent engineer would write instead, which takes each batch's users
// from the actions (a type assertion, no reflection) and writes them with
// multi-row INSERTs of 1,024 rows prepared once (SQLite, MySQL), or one
// INSERT ... SELECT FROM unnest of arrays per 10,000 rows (PostgreSQL).
//
//	go test -run '^$' -bench InitialLoad -benchtime 5x ./dsssql
func BenchmarkInitialLoad(b *testing.B) {
	src := make([]dss.Record, benchUsers)
	for i := range src {
		src[i] = dss.Record{"idnumber": fmt.Sprintf("u%07d", i), "name": fmt.Sprintf("User %d", i),
			"email": fmt.Sprintf("u%d@example.com", i), "age": i % 90}
	}
	for _, be := range benchBackends(b) {
		for _, how := range []string{"mapping", "plain"} {
			b.Run(be.name+"/"+how, func(b *testing.B) {
				db := be.open(b)
				ctx := context.Background()
				for b.Loop() {
					b.StopTimer()
					mustExec(b, db, `DROP TABLE IF EXISTS users`)
					mustExec(b, db, benchSchema)
					ds := dss.New[mUsers, mUsers]()
					ds.Source.Branches.Users.Importer = dss.Records(src...)
					ds.Source.Branches.Users.Unique = true
					users := dsssql.Map(ds.Dest.Branches.Users, "users", "idnumber")
					ds.Dest.Branches.Users.Importer = users
					tx, err := db.BeginTx(ctx, nil)
					if err != nil {
						b.Fatal(err)
					}
					users.DB = tx
					if err := ds.Import(ctx); err != nil {
						b.Fatal(err)
					}
					plan, err := ds.Plan()
					if err != nil {
						b.Fatal(err)
					}
					var tmpl dss.Template = users
					if how == "plain" {
						tmpl = plainInserts(tx, be)
					}
					runtime.GC() // the garbage of the set-up is not the writer's
					b.StartTimer()
					if _, err := ds.Apply(ctx, plan, tmpl); err != nil {
						b.Fatal(err)
					}
					if err := tx.Commit(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// plainInserts is the hand-written template of new users.
func plainInserts(tx *sql.Tx, be backend) dss.Template {
	return dss.TemplateFunc(func(ctx context.Context, batch []dss.Action) error {
		users := make([]mUser, len(batch))
		for i, a := range batch {
			users[i] = *a.Source.(*mUser)
		}
		if be.name == "postgres" {
			return plainPostgres(ctx, tx, users)
		}
		return plainMultiRow(ctx, tx, users)
	})
}

func mustExec(b *testing.B, db *sql.DB, q string) {
	b.Helper()
	if _, err := db.Exec(q); err != nil {
		b.Fatal(err)
	}
}

// plainMultiRow inserts the users 1,024 rows per statement.
func plainMultiRow(ctx context.Context, tx *sql.Tx, src []mUser) error {
	prep := map[int]*sql.Stmt{}
	args := make([]any, 0, 4*1024)
	for start := 0; start < len(src); {
		n := 1024
		for n > len(src)-start {
			n /= 2
		}
		st, ok := prep[n]
		if !ok {
			var err error
			st, err = tx.PrepareContext(ctx, `INSERT INTO users (idnumber, name, email, age) VALUES `+
				strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?), ", n), ", "))
			if err != nil {
				return err
			}
			prep[n] = st
		}
		args = args[:0]
		for _, u := range src[start : start+n] {
			args = append(args, u.IDNumber, u.Name, u.Email, u.Age)
		}
		if _, err := st.ExecContext(ctx, args...); err != nil {
			return err
		}
		start += n
	}
	return nil
}

// plainPostgres inserts the users 10,000 rows per statement, as arrays.
func plainPostgres(ctx context.Context, tx *sql.Tx, src []mUser) error {
	for start := 0; start < len(src); start += 10_000 {
		rows := src[start:min(start+10_000, len(src))]
		ids, names, emails := make([]string, len(rows)), make([]string, len(rows)), make([]string, len(rows))
		ages := make([]int64, len(rows))
		for i, u := range rows {
			ids[i], names[i], emails[i], ages[i] = u.IDNumber, u.Name, u.Email, int64(u.Age)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO users (idnumber, name, email, age)
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[])`, ids, names, emails, ages); err != nil {
			return err
		}
	}
	return nil
}

// textUser is a user of text columns only, as usersync's.
type textUser struct {
	IDNumber string `dss:"idnumber"`
	Name     string `dss:"name"`
	Email    string `dss:"email"`
}

type textUsers struct {
	Users *dss.Branch[string, textUser]
}

// loadText fills a table of 100,000 text users.
func loadText(b *testing.B, be backend, db *sql.DB) {
	b.Helper()
	mustExec(b, db, `DROP TABLE IF EXISTS users`)
	mustExec(b, db, `CREATE TABLE users (idnumber VARCHAR(20) PRIMARY KEY, name VARCHAR(100) NOT NULL, email VARCHAR(100) NOT NULL)`)
	tx, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	q := `INSERT INTO users VALUES (?, ?, ?)`
	if be.name == "postgres" {
		q = `INSERT INTO users VALUES ($1, $2, $3)`
	}
	for i := range benchUsers {
		if _, err := tx.Exec(q, fmt.Sprintf("u%07d", i), fmt.Sprintf("User %d", i), fmt.Sprintf("u%d@example.com", i)); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkImportDest imports 100,000 users of text columns: through a
// Mapping, which yields rows of text, and through Query, a Record per row.
//
//	go test -run '^$' -bench ImportDest ./dsssql
func BenchmarkImportDest(b *testing.B) {
	for _, be := range benchBackends(b) {
		b.Run(be.name+"/mapping", func(b *testing.B) {
			db := be.open(b)
			loadText(b, be, db)
			for b.Loop() {
				dest := dss.NewTree[textUsers]("dest")
				users := dsssql.Map(dest.Branches.Users, "users", "idnumber")
				users.DB = db
				dest.Branches.Users.Importer = users
				dest.Branches.Users.Unique = true
				if err := dest.Import(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(be.name+"/query", func(b *testing.B) {
			db := be.open(b)
			loadText(b, be, db)
			for b.Loop() {
				dest := dss.NewTree[textUsers]("dest")
				dest.Branches.Users.Importer = dsssql.Query(db, `SELECT idnumber, name, email FROM users`)
				dest.Branches.Users.Unique = true
				if err := dest.Import(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkChanged applies the updates of 1% of 100,000 users, each
// changing one attribute in turn (name, email, age), so that the plan
// alternates update_name, update_email, update_age: a thousand batches of
// one action. The plain program is a template that runs one prepared
// UPDATE per change in the transaction.
//
//	go test -run '^$' -bench Changed ./dsssql
func BenchmarkChanged(b *testing.B) {
	users := make([]mUser, benchUsers)
	for i := range users {
		users[i] = mUser{IDNumber: fmt.Sprintf("u%07d", i), Name: fmt.Sprintf("User %d", i), Email: fmt.Sprintf("u%d@example.com", i), Age: i % 90}
	}
	// source returns the users with 1% changed, differently in round n.
	source := func(n int) []dss.Record {
		recs := make([]dss.Record, len(users))
		for i, u := range users {
			r := dss.Record{"idnumber": u.IDNumber, "name": u.Name, "email": u.Email, "age": u.Age}
			if i%100 == 37 {
				switch (i / 100) % 3 {
				case 0:
					r["name"] = fmt.Sprintf("%s %d", u.Name, n)
				case 1:
					r["email"] = fmt.Sprintf("%d.%s", n, u.Email)
				case 2:
					r["age"] = 100 + n
				}
			}
			recs[i] = r
		}
		return recs
	}
	for _, be := range benchBackends(b) {
		for _, how := range []string{"mapping", "plain"} {
			b.Run(be.name+"/"+how, func(b *testing.B) {
				db := be.open(b)
				mustExec(b, db, benchSchema)
				ctx := context.Background()
				tx, err := db.BeginTx(ctx, nil)
				if err != nil {
					b.Fatal(err)
				}
				if be.name == "postgres" {
					err = plainPostgres(ctx, tx, users)
				} else {
					err = plainMultiRow(ctx, tx, users)
				}
				if err != nil {
					b.Fatal(err)
				}
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
				n := 0
				for b.Loop() {
					b.StopTimer()
					n++
					ds := dss.New[mUsers, mUsers]()
					ds.Source.Branches.Users.Importer = dss.Records(source(n)...)
					m := dsssql.Map(ds.Dest.Branches.Users, "users", "idnumber")
					ds.Dest.Branches.Users.Importer = m
					tx, err := db.BeginTx(ctx, nil)
					if err != nil {
						b.Fatal(err)
					}
					m.DB = tx
					if err := ds.Import(ctx); err != nil {
						b.Fatal(err)
					}
					plan, err := ds.Plan()
					if err != nil {
						b.Fatal(err)
					}
					if len(plan.Actions) != benchUsers/100 {
						b.Fatalf("%d actions", len(plan.Actions))
					}
					runtime.GC()
					b.StartTimer()
					var tmpl dss.Template = m
					if how == "plain" {
						stmts := map[string]*sql.Stmt{}
						tmpl = dss.TemplateFunc(func(ctx context.Context, batch []dss.Action) error {
							return plainUpdates(ctx, tx, be, stmts, batch)
						})
					}
					_, err = ds.Apply(ctx, plan, tmpl)
					if err != nil {
						b.Fatal(err)
					}
					if err := tx.Commit(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// plainUpdates runs one prepared UPDATE per action, each prepared once
// per transaction (stmts).
func plainUpdates(ctx context.Context, tx *sql.Tx, be backend, stmts map[string]*sql.Stmt, actions []dss.Action) error {
	for _, a := range actions {
		st, ok := stmts[a.Attr]
		if !ok {
			q := `UPDATE users SET ` + a.Attr + ` = ? WHERE idnumber = ?`
			if be.name == "postgres" {
				q = `UPDATE users SET ` + a.Attr + ` = $1 WHERE idnumber = $2`
			}
			var err error
			if st, err = tx.PrepareContext(ctx, q); err != nil {
				return err
			}
			stmts[a.Attr] = st
		}
		if _, err := st.ExecContext(ctx, a.Value, a.ID); err != nil {
			return err
		}
	}
	return nil
}

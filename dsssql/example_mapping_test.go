package dsssql_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"strings"

	_ "modernc.org/sqlite" // the "sqlite" driver

	"github.com/datastoresync/dss"
	"github.com/datastoresync/dss/dsssql"
)

// The source: the school's users and cohorts, as a CSV export would give
// them. Users have no surrogate ids; cohorts list their members' idnumbers.
type Student struct {
	IDNumber  string `dss:"idnumber"`
	FirstName string `dss:"firstname"`
	LastName  string `dss:"lastname"`
	Email     string `dss:"email"`
}

type Cohort struct {
	IDNumber string   `dss:"idnumber"`
	Name     string   `dss:"name"`
	Members  []string `dss:"members"`
}

type School struct {
	Users   *dss.Branch[string, Student]
	Cohorts *dss.Branch[string, Cohort]
}

// moodleSchema is shaped like Moodle's tables: surrogate ids, users owned
// by the sync when auth = 'sis', soft deleted, with Unix-time stamps, and
// cohort members that are pairs of ids.
const moodleSchema = `
CREATE TABLE mdl_user (id INTEGER PRIMARY KEY, auth TEXT NOT NULL DEFAULT 'manual',
	deleted INTEGER NOT NULL DEFAULT 0, idnumber TEXT NOT NULL, firstname TEXT NOT NULL,
	lastname TEXT NOT NULL, email TEXT NOT NULL, lang TEXT NOT NULL DEFAULT 'en',
	timecreated INTEGER NOT NULL DEFAULT 0, timemodified INTEGER NOT NULL DEFAULT 0,
	UNIQUE (auth, idnumber));
CREATE TABLE mdl_cohort (id INTEGER PRIMARY KEY, idnumber TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
	timemodified INTEGER NOT NULL DEFAULT 0);
CREATE TABLE mdl_cohort_members (id INTEGER PRIMARY KEY,
	cohortid INTEGER NOT NULL REFERENCES mdl_cohort (id), userid INTEGER NOT NULL REFERENCES mdl_user (id),
	UNIQUE (cohortid, userid));
INSERT INTO mdl_user (auth, idnumber, firstname, lastname, email) VALUES ('manual', 'admin', 'Site', 'Admin', 'admin@example.com');`

// moodle declares the two tables of a destination tree.
func moodle(dest *dss.Tree[School], now func() any) []*dsssql.Mapping {
	users := dsssql.Map(dest.Branches.Users, "mdl_user", "idnumber")
	users.Scope = map[string]any{"auth": "sis"}                                   // the rows the sync owns
	users.SoftDelete = &dsssql.SoftDelete{Column: "deleted", Deleted: 1, Live: 0} // never DELETE a user
	users.Insert = map[string]any{"timecreated": now}
	users.Stamps = map[string]func() any{"timemodified": now}

	cohorts := dsssql.Map(dest.Branches.Cohorts, "mdl_cohort", "idnumber")
	cohorts.Stamps = map[string]func() any{"timemodified": now}
	cohorts.Lists = map[string]dsssql.Join{"members": {
		Table: "mdl_cohort_members", Owner: "cohortid", OwnerID: "id", Member: "userid",
		// userid is mdl_user.id, found by the member's idnumber.
		Lookup: &dsssql.Lookup{Table: "mdl_user", ID: "id", Key: "idnumber", Scope: map[string]any{"auth": "sis", "deleted": 0}},
	}}
	dest.Branches.Users.Importer = users
	dest.Branches.Cohorts.Importer = cohorts
	return []*dsssql.Mapping{users, cohorts}
}

// syncSchool runs once: import both sides in one transaction, plan, apply
// through the mappings, commit.
func syncSchool(ctx context.Context, db *sql.DB, csv string, now int64) {
	ds := dss.New[School, School]()
	var users, members []dss.Record
	for line := range strings.Lines(strings.TrimSpace(csv)) {
		f := strings.Split(strings.TrimSpace(line), ",")
		users = append(users, dss.Record{"idnumber": f[0], "firstname": f[1], "lastname": f[2], "email": f[0] + "@example.com"})
		members = append(members, dss.Record{"idnumber": f[3], "name": "Year " + f[3], "members": f[0]})
	}
	ds.Source.Branches.Users.Importer = dss.Records(users...)
	ds.Source.Branches.Cohorts.Importer = dss.Records(members...)
	ds.Dest.Branches.Users.Guard.MaxDeleteFraction = 1

	// A dsssql.Tx is a *sql.Tx that keeps its connection: on PostgreSQL
	// through pgx, the mappings insert new rows with COPY.
	tx, err := dsssql.BeginTx(ctx, db, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer tx.Rollback()
	mappings := moodle(ds.Dest, func() any { return now })
	for _, m := range mappings {
		m.DB = tx
	}
	if err := ds.Import(ctx); err != nil {
		log.Fatal(err)
	}
	plan, err := ds.Plan()
	if err != nil {
		log.Fatal(err)
	}
	if len(plan.Actions) == 0 {
		fmt.Println("nothing to do")
		return
	}
	for _, a := range plan.Actions {
		fmt.Println(a)
	}
	if _, err := ds.Apply(ctx, plan, dss.Combine(mappings[0], mappings[1])); err != nil {
		log.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		log.Fatal(err)
	}
}

// Sync a school's users and cohorts into tables shaped like Moodle's, with
// no SQL but the schema: the mappings import the rows the sync owns and
// write the plan in bulk. A second run has nothing to do; a student who
// leaves is marked deleted, and comes back as the same row.
func ExampleMap() {
	ctx := context.Background()
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // one connection: one in-memory database
	if _, err := db.Exec(moodleSchema); err != nil {
		log.Fatal(err)
	}
	show := func() {
		rows, err := db.Query(`SELECT u.id, u.auth, u.deleted, u.idnumber, u.firstname, u.timemodified,
				COALESCE((SELECT GROUP_CONCAT(c.idnumber) FROM mdl_cohort_members m JOIN mdl_cohort c ON c.id = m.cohortid WHERE m.userid = u.id), '-')
			FROM mdl_user u ORDER BY u.id`)
		if err != nil {
			log.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var id, deleted, modified int
			var auth, idnumber, first, cohorts string
			if err := rows.Scan(&id, &auth, &deleted, &idnumber, &first, &modified, &cohorts); err != nil {
				log.Fatal(err)
			}
			fmt.Println(id, auth, deleted, idnumber, first, modified, cohorts)
		}
	}

	syncSchool(ctx, db, `
		s1,Ada,Lovelace,y7
		s2,Alan,Turing,y8`, 1000)
	show()
	syncSchool(ctx, db, `
		s1,Ada,Lovelace,y7
		s2,Alan,Turing,y8`, 2000)
	syncSchool(ctx, db, `
		s1,Ada,Lovelace,y8`, 3000) // Alan leaves, Ada moves up
	show()
	syncSchool(ctx, db, `
		s1,Ada,Lovelace,y8
		s2,Alan,Turing,y8`, 4000) // Alan comes back
	show()
	// Output:
	// new_users(idnumber='s1')
	// new_users(idnumber='s2')
	// new_cohorts(idnumber='y7')
	// new_cohorts(idnumber='y8')
	// 1 manual 0 admin Site 0 -
	// 2 sis 0 s1 Ada 1000 y7
	// 3 sis 0 s2 Alan 1000 y8
	// nothing to do
	// add_members_to_cohorts(idnumber='y8', attr="members", value="s1")
	// remove_members_from_cohorts(idnumber='y8', attr="members", value="s2")
	// old_cohorts(idnumber='y7')
	// old_users(idnumber='s2')
	// 1 manual 0 admin Site 0 -
	// 2 sis 0 s1 Ada 1000 y8
	// 3 sis 1 s2 Alan 3000 -
	// new_users(idnumber='s2')
	// add_members_to_cohorts(idnumber='y8', attr="members", value="s2")
	// 1 manual 0 admin Site 0 -
	// 2 sis 0 s1 Ada 1000 y8
	// 3 sis 0 s2 Alan 4000 y8
}

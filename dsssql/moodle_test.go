package dsssql_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"

	"github.com/datastoresync/dss"
	"github.com/datastoresync/dss/dsssql"
)

// A schema shaped like Moodle's: users with surrogate ids, owned by the
// sync when auth = 'sis', soft deleted; cohorts whose members are user ids.
type mdlUser struct {
	IDNumber  string `dss:"idnumber"`
	FirstName string `dss:"firstname"`
	LastName  string `dss:"lastname"`
	Email     string `dss:"email"`
}

type mdlCohort struct {
	IDNumber string   `dss:"idnumber"`
	Name     string   `dss:"name"`
	Members  []string `dss:"members"`
}

type mdlGroup struct {
	IDNumber string   `dss:"idnumber"`
	Members  []string `dss:"members"`
}

type mdlTree struct {
	Users   *dss.Branch[string, mdlUser]
	Cohorts *dss.Branch[string, mdlCohort]
	Groups  *dss.Branch[string, mdlGroup]
}

func mdlSchema(b backend) []string {
	return []string{
		`CREATE TABLE mdl_user (id ` + b.serial + `,
			auth VARCHAR(20) NOT NULL DEFAULT 'manual', deleted SMALLINT NOT NULL DEFAULT 0,
			idnumber VARCHAR(100) NOT NULL, firstname VARCHAR(100) NOT NULL, lastname VARCHAR(100) NOT NULL,
			email VARCHAR(100) NOT NULL, lang VARCHAR(30) NOT NULL DEFAULT 'en',
			timecreated BIGINT NOT NULL DEFAULT 0, timemodified BIGINT NOT NULL DEFAULT 0,
			UNIQUE (auth, idnumber))`,
		`CREATE TABLE mdl_cohort (id ` + b.serial + `, idnumber VARCHAR(100) NOT NULL UNIQUE,
			name VARCHAR(254) NOT NULL, component VARCHAR(100) NOT NULL DEFAULT '', timemodified BIGINT NOT NULL DEFAULT 0)`,
		`CREATE TABLE mdl_cohort_members (id ` + b.serial + `,
			cohortid BIGINT NOT NULL REFERENCES mdl_cohort (id), userid BIGINT NOT NULL REFERENCES mdl_user (id),
			timeadded BIGINT NOT NULL DEFAULT 0, UNIQUE (cohortid, userid))`,
		// A join table of keys, and rows that are not the sync's.
		`CREATE TABLE grp (idnumber VARCHAR(100) PRIMARY KEY)`,
		`CREATE TABLE group_members (group_idnumber VARCHAR(100) NOT NULL REFERENCES grp (idnumber),
			user_idnumber VARCHAR(100) NOT NULL, PRIMARY KEY (group_idnumber, user_idnumber))`,
		`INSERT INTO mdl_user (auth, idnumber, firstname, lastname, email) VALUES ('manual', 'u1', 'Not', 'Ours', 'm@x')`,
	}
}

// mdlMappings declares the three branches' tables.
func mdlMappings(ds *dss.Datastore[mdlTree, mdlTree], now func() any) []*dsssql.Mapping {
	users := dsssql.Map(ds.Dest.Branches.Users, "mdl_user", "idnumber")
	users.Scope = map[string]any{"auth": "sis"}
	users.SoftDelete = &dsssql.SoftDelete{Column: "deleted", Deleted: 1, Live: 0}
	users.Insert = map[string]any{"timecreated": now}
	users.Stamps = map[string]func() any{"timemodified": now}
	cohorts := dsssql.Map(ds.Dest.Branches.Cohorts, "mdl_cohort", "idnumber")
	cohorts.Stamps = map[string]func() any{"timemodified": now}
	cohorts.Lists = map[string]dsssql.Join{"members": {
		Table: "mdl_cohort_members", Owner: "cohortid", Member: "userid", OwnerID: "id",
		Lookup: &dsssql.Lookup{Table: "mdl_user", ID: "id", Key: "idnumber", Scope: map[string]any{"auth": "sis", "deleted": 0}},
		Insert: map[string]any{"timeadded": now},
	}}
	groups := dsssql.Map(ds.Dest.Branches.Groups, "grp", "idnumber")
	groups.Lists = map[string]dsssql.Join{"members": {Table: "group_members", Owner: "group_idnumber", Member: "user_idnumber"}}
	ds.Dest.Branches.Users.Importer = users
	ds.Dest.Branches.Cohorts.Importer = cohorts
	ds.Dest.Branches.Groups.Importer = groups
	for _, g := range []*dss.Guard{&ds.Dest.Branches.Users.Guard, &ds.Dest.Branches.Cohorts.Guard, &ds.Dest.Branches.Groups.Guard} {
		g.MaxDeleteFraction, g.MaxRemoveFraction, g.AllowEmptySource = 1, 1, true
	}
	return []*dsssql.Mapping{users, cohorts, groups}
}

// TestMappingMoodle syncs into tables shaped like Moodle's: a scope, soft
// delete, stamps, a join table of surrogate ids looked up by idnumber and
// one of keys. Every run converges; a user that leaves is marked deleted
// and one that comes back is revived, not inserted again.
func TestMappingMoodle(t *testing.T) {
	forEachDB(t, func(t *testing.T, b backend, db *sql.DB) {
		for _, q := range mdlSchema(b) {
			exec(t, db, q)
		}
		clock := int64(1000)
		now := func() any { return clock }
		user := func(id, first string) dss.Record {
			return dss.Record{"idnumber": id, "firstname": first, "lastname": "L" + id, "email": id + "@x"}
		}
		step := func(name string, wantChanges int, users []dss.Record, cohorts, groups []dss.Record) {
			t.Helper()
			ds := dss.New[mdlTree, mdlTree]()
			ds.Source.Branches.Users.Importer = dss.Records(users...)
			ds.Source.Branches.Cohorts.Importer = dss.Records(cohorts...)
			ds.Source.Branches.Groups.Importer = dss.Records(groups...)
			plan, _, err := syncRun(t, db, ds, mdlMappings(ds, now)...)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if n := plan.Summary.Changes(); n != wantChanges {
				t.Errorf("%s: %d changes, want %d:\n%v", name, n, wantChanges, plan.Summary)
			}
			ds = dss.New[mdlTree, mdlTree]()
			ds.Source.Branches.Users.Importer = dss.Records(users...)
			ds.Source.Branches.Cohorts.Importer = dss.Records(cohorts...)
			ds.Source.Branches.Groups.Importer = dss.Records(groups...)
			plan, _, err = syncRun(t, db, ds, mdlMappings(ds, now)...)
			if err != nil {
				t.Fatalf("%s, again: %v", name, err)
			}
			if len(plan.Actions) != 0 {
				t.Errorf("%s, again: %d actions, want none, the first %v", name, len(plan.Actions), plan.Actions[0])
			}
		}
		cohort := func(id string, members ...string) []dss.Record {
			recs := []dss.Record{{"idnumber": id, "name": "Cohort " + id}}
			for _, m := range members {
				recs = append(recs, dss.Record{"idnumber": id, "members": m})
			}
			return recs
		}
		group := func(id string, members ...string) []dss.Record {
			recs := []dss.Record{{"idnumber": id}}
			for _, m := range members {
				recs = append(recs, dss.Record{"idnumber": id, "members": m})
			}
			return recs
		}
		usersQ := `SELECT id, auth, deleted, idnumber, firstname, lang, timecreated, timemodified FROM mdl_user`
		membersQ := `SELECT c.idnumber, u.idnumber, u.auth, m.timeadded FROM mdl_cohort_members m JOIN mdl_cohort c ON c.id = m.cohortid JOIN mdl_user u ON u.id = m.userid`

		step("first run", 3+2+1, []dss.Record{user("u1", "Ada"), user("u2", "Bob"), user("u3", "Cy")},
			append(cohort("c1", "u1", "u2"), cohort("c2")...), group("g1", "u1", "u3"))
		wantRows(t, db, usersQ,
			"1|manual|0|u1|Not|en|0|0", "2|sis|0|u1|Ada|en|1000|1000", "3|sis|0|u2|Bob|en|1000|1000", "4|sis|0|u3|Cy|en|1000|1000")
		wantRows(t, db, membersQ, "c1|u1|sis|1000", "c1|u2|sis|1000")
		wantRows(t, db, `SELECT group_idnumber, user_idnumber FROM group_members`, "g1|u1", "g1|u3")

		clock = 2000
		step("u2 leaves, c2 goes", 1+1+1, []dss.Record{user("u1", "Ada"), user("u3", "Cy")},
			cohort("c1", "u1"), group("g1", "u1", "u3"))
		wantRows(t, db, usersQ,
			"1|manual|0|u1|Not|en|0|0", "2|sis|0|u1|Ada|en|1000|1000", "3|sis|1|u2|Bob|en|1000|2000", "4|sis|0|u3|Cy|en|1000|1000")
		wantRows(t, db, membersQ, "c1|u1|sis|1000")
		wantRows(t, db, `SELECT idnumber FROM mdl_cohort`, "c1")

		clock = 3000
		step("u2 comes back renamed", 1+1+1, []dss.Record{user("u1", "Ada"), user("u2", "Robert"), user("u3", "Cy")},
			cohort("c1", "u1", "u2"), group("g1", "u1", "u2", "u3"))
		wantRows(t, db, usersQ,
			"1|manual|0|u1|Not|en|0|0", "2|sis|0|u1|Ada|en|1000|1000", "3|sis|0|u2|Robert|en|3000|3000", "4|sis|0|u3|Cy|en|1000|1000")
		wantRows(t, db, membersQ, "c1|u1|sis|1000", "c1|u2|sis|3000")
		wantRows(t, db, `SELECT group_idnumber, user_idnumber FROM group_members`, "g1|u1", "g1|u2", "g1|u3")

		clock = 4000
		step("everyone leaves", 3+1+1, nil, nil, nil)
		wantRows(t, db, `SELECT COUNT(*) FROM mdl_user WHERE deleted = 0`, "1")
		wantRows(t, db, `SELECT COUNT(*) FROM mdl_cohort_members`, "0")
		wantRows(t, db, `SELECT COUNT(*) FROM group_members`, "0")
	})
}

type sdGroup struct {
	IDNumber string   `dss:"idnumber"`
	Members  []string `dss:"members"`
}

type sdTree struct {
	Groups *dss.Branch[string, sdGroup]
}

// TestMappingSoftDeleteLists: a soft deleted object loses its join table
// rows; revived, it gets the elements it comes back with, not its old ones.
func TestMappingSoftDeleteLists(t *testing.T) {
	forEachDB(t, func(t *testing.T, b backend, db *sql.DB) {
		exec(t, db, `CREATE TABLE grp (idnumber VARCHAR(20) PRIMARY KEY, suspended BOOLEAN NOT NULL DEFAULT FALSE)`)
		exec(t, db, `CREATE TABLE grp_members (g VARCHAR(20) NOT NULL, u VARCHAR(20) NOT NULL, PRIMARY KEY (g, u))`)
		run := func(name string, groups ...dss.Record) {
			t.Helper()
			ds := dss.New[sdTree, sdTree]()
			ds.Source.Branches.Groups.Importer = dss.Records(groups...)
			m := dsssql.Map(ds.Dest.Branches.Groups, "grp", "idnumber")
			m.SoftDelete = &dsssql.SoftDelete{Column: "suspended", Deleted: true, Live: false}
			m.Lists = map[string]dsssql.Join{"members": {Table: "grp_members", Owner: "g", Member: "u"}}
			ds.Dest.Branches.Groups.Importer = m
			ds.Dest.Branches.Groups.Guard = dss.Guard{MaxDeleteFraction: 1, MaxRemoveFraction: 1}
			if _, _, err := syncRun(t, db, ds, m); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		run("first", dss.Record{"idnumber": "g1", "members": "a"}, dss.Record{"idnumber": "g1", "members": "b"}, dss.Record{"idnumber": "g2", "members": "a"})
		run("g1 goes", dss.Record{"idnumber": "g2", "members": "a"})
		wantRows(t, db, `SELECT g, u FROM grp_members`, "g2|a")
		wantRows(t, db, `SELECT idnumber FROM grp WHERE suspended`, "g1")
		run("g1 comes back", dss.Record{"idnumber": "g1", "members": "c"}, dss.Record{"idnumber": "g2", "members": "a"})
		wantRows(t, db, `SELECT g, u FROM grp_members`, "g1|c", "g2|a")
		wantRows(t, db, `SELECT COUNT(*) FROM grp WHERE suspended`, "0")
		wantRows(t, db, `SELECT COUNT(*) FROM grp`, "2")
	})
}

// TestMappingSurrogateIdsAfterRollback: a new cohort that fails makes its
// chunk roll back and the cohorts before it be inserted again, with new
// ids; their members must get the new ids, not those looked up before the
// rollback.
func TestMappingSurrogateIdsAfterRollback(t *testing.T) {
	forEachDB(t, func(t *testing.T, b backend, db *sql.DB) {
		for _, q := range mdlSchema(b) {
			exec(t, db, q)
		}
		exec(t, db, `CREATE TABLE checked (id `+b.serial+`, idnumber VARCHAR(100) NOT NULL UNIQUE,
			name VARCHAR(254) NOT NULL CHECK (name <> 'bad'), timemodified BIGINT NOT NULL DEFAULT 0)`)
		exec(t, db, `CREATE TABLE checked_members (cohortid BIGINT NOT NULL REFERENCES checked (id),
			userid BIGINT NOT NULL REFERENCES mdl_user (id), timeadded BIGINT NOT NULL DEFAULT 0)`)
		ds := dss.New[mdlTree, mdlTree]()
		ds.Source.Branches.Users.Importer = dss.Records(
			dss.Record{"idnumber": "u1", "firstname": "A", "lastname": "B", "email": "e"},
			dss.Record{"idnumber": "u2", "firstname": "C", "lastname": "D", "email": "f"})
		var cohorts []dss.Record
		for i := 1; i <= 6; i++ {
			name := fmt.Sprintf("Cohort %d", i)
			if i == 4 {
				name = "bad"
			}
			id := fmt.Sprintf("c%d", i)
			cohorts = append(cohorts, dss.Record{"idnumber": id, "name": name, "members": "u1"}, dss.Record{"idnumber": id, "members": "u2"})
		}
		ds.Source.Branches.Cohorts.Importer = dss.Records(cohorts...)
		ds.Source.Branches.Groups.Importer = dss.Records()
		ms := mdlMappings(ds, func() any { return 1 })
		cohortsM := dsssql.Map(ds.Dest.Branches.Cohorts, "checked", "idnumber")
		cohortsM.Lists = map[string]dsssql.Join{"members": {
			Table: "checked_members", Owner: "cohortid", Member: "userid", OwnerID: "id",
			Lookup: &dsssql.Lookup{Table: "mdl_user", ID: "id", Key: "idnumber", Scope: map[string]any{"auth": "sis", "deleted": 0}},
		}}
		ds.Dest.Branches.Cohorts.Importer = cohortsM
		tx, plan := planIn(t, db, ds, ms[0], cohortsM, ms[2])
		report, err := ds.Apply(context.Background(), plan, dss.Combine(ms[0], cohortsM, ms[2]))
		if cerr := tx.Commit(); cerr != nil {
			t.Fatal(cerr)
		}
		var ae *dss.ActionError
		if !errors.As(err, &ae) || ae.Action.ID != "c4" || len(report.Failed) != 1 {
			t.Fatalf("Apply: %v, want the failure of c4 alone", err)
		}
		wantRows(t, db, `SELECT c.idnumber, u.idnumber FROM checked_members m JOIN checked c ON c.id = m.cohortid JOIN mdl_user u ON u.id = m.userid`,
			"c1|u1", "c1|u2", "c2|u1", "c2|u2", "c3|u1", "c3|u2", "c5|u1", "c5|u2", "c6|u1", "c6|u2")
	})
}

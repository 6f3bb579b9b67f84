package dsssql_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"

	_ "modernc.org/sqlite" // the "sqlite" driver

	"github.com/datastoresync/dss"
	"github.com/datastoresync/dss/dsssql"
)

// Account and Team are the destination's objects.
type Account struct {
	IDNumber string `dss:"idnumber"`
	Name     string `dss:"name"`
	Active   bool   `dss:"active"`
}

type Team struct {
	IDNumber string   `dss:"idnumber"`
	Members  []string `dss:"members"`
}

type App struct {
	Users  *dss.Branch[string, Account]
	Groups *dss.Branch[string, Team]
}

// Import a destination tree from an SQLite database: a table of users, and
// groups whose members come from a join, one row per membership.
func Example() {
	// Each connection to ":memory:" opens a database of its own: keep one.
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for _, q := range []string{
		`CREATE TABLE users (idnumber TEXT PRIMARY KEY, name TEXT, active BOOLEAN)`,
		`INSERT INTO users VALUES ('11111', 'Ada Lovelace', TRUE), ('22222', 'Alan Turing', FALSE)`,
		`CREATE TABLE groups (idnumber TEXT PRIMARY KEY)`,
		`INSERT INTO groups VALUES ('students'), ('teachers')`,
		`CREATE TABLE group_members (group_id TEXT, user_id TEXT)`,
		`INSERT INTO group_members VALUES ('students', '22222'), ('students', '11111')`,
	} {
		if _, err := db.Exec(q); err != nil {
			log.Fatal(err)
		}
	}

	dest := dss.NewTree[App]("dest")
	dest.Branches.Users.Importer = dsssql.Table(db, "users")
	// Values are parameters; a group without members has one row with a
	// NULL member, and so an empty list.
	groups := dsssql.Query(db, `
		SELECT g.idnumber, m.user_id AS members
		FROM groups g LEFT JOIN group_members m ON m.group_id = g.idnumber
		WHERE g.idnumber <> $1`, "staff")
	groups.Name = "groups" // for positions and errors
	dest.Branches.Groups.Importer = groups

	if err := dest.Import(context.Background()); err != nil {
		log.Fatal(err)
	}
	for _, u := range dest.Branches.Users.All() {
		fmt.Printf("%+v\n", *u)
	}
	for _, g := range dest.Branches.Groups.All() {
		fmt.Printf("%+v\n", *g)
	}
	// Output:
	// {IDNumber:11111 Name:Ada Lovelace Active:true}
	// {IDNumber:22222 Name:Alan Turing Active:false}
	// {IDNumber:students Members:[11111 22222]}
	// {IDNumber:teachers Members:[]}
}

// A table's name from configuration is quoted; it stays one identifier,
// whatever it holds.
func ExampleQuoteIdentifier() {
	fmt.Println("SELECT * FROM " + dsssql.QuoteIdentifier(`users"; DROP TABLE users; --`))
	// Output:
	// SELECT * FROM "users""; DROP TABLE users; --"
}

// A bad value is reported with the importer's name, the row number and the
// key.
func ExampleImporter_Position() {
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE users (idnumber TEXT, name TEXT, active TEXT);
		INSERT INTO users VALUES ('11111', 'Ada Lovelace', 'true'), ('22222', 'Alan Turing', 'maybe')`); err != nil {
		log.Fatal(err)
	}
	dest := dss.NewTree[struct{ Users *dss.Branch[string, Account] }]("dest")
	dest.Branches.Users.Importer = dsssql.Table(db, "users")
	fmt.Println(dest.Import(context.Background()))
	// Output:
	// dss: dest.users: users:2: idnumber '22222': key "active" value "maybe": cannot convert to bool: invalid syntax
}

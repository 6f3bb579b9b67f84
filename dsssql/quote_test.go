package dsssql_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/datastoresync/dss"
	"github.com/datastoresync/dss/dsssql"
)

func TestQuoteIdentifier(t *testing.T) {
	tests := []struct{ name, want string }{
		{`users`, `"users"`},
		{`Mixed Case`, `"Mixed Case"`},
		{``, `""`},
		{`"`, `""""`},
		{`a"b`, `"a""b"`},
		{`users"; DROP TABLE users; --`, `"users""; DROP TABLE users; --"`},
		{`x' OR '1'='1`, `"x' OR '1'='1"`},
		{"nul\x00here", "\"nul\uFFFDhere\""},
		{`schema.table`, `"schema.table"`},
		{`Straße_名前`, `"Straße_名前"`},
	}
	for _, tt := range tests {
		got := dsssql.QuoteIdentifier(tt.name)
		if got != tt.want {
			t.Errorf("QuoteIdentifier(%q) = %q, want %q", tt.name, got, tt.want)
		}
		// Whatever the name, the result is one identifier: the only
		// quotes inside it are doubled.
		inner := got[1 : len(got)-1]
		if got[0] != '"' || got[len(got)-1] != '"' || strings.Contains(strings.ReplaceAll(inner, `""`, ""), `"`) || strings.ContainsRune(got, 0) {
			t.Errorf("QuoteIdentifier(%q) = %q is not one quoted identifier", tt.name, got)
		}
	}
}

// TestHostileNames creates tables and columns with hostile names in each
// database, reads them back through Table, and checks that nothing else was
// touched.
func TestHostileNames(t *testing.T) {
	names := []string{
		`users"; DROP TABLE users; --`,
		`a""b"`,
		`x' OR '1'='1`,
		`Mixed Case`,
		`select`,
		`Straße_名前`,
		`--`,
		`/*`,
	}
	forEachBackend(t, func(t *testing.T, b backend, db *sql.DB) {
		ctx := context.Background()
		exec(t, db, `CREATE TABLE users (idnumber TEXT)`)
		exec(t, db, `INSERT INTO users VALUES ('11111')`)
		for _, name := range names {
			table, col := dsssql.QuoteIdentifier(name), dsssql.QuoteIdentifier(name+" col")
			exec(t, db, `CREATE TABLE `+table+` (idnumber TEXT, `+col+` TEXT)`)
			exec(t, db, `INSERT INTO `+table+` VALUES ($1, $2)`, "1", name)
			for _, im := range []*dsssql.Importer{dsssql.Table(db, name), dsssql.Table(db, name, "idnumber", name+" col")} {
				var recs []dss.Record
				if err := im.Import(ctx, func(r dss.Record) error {
					recs = append(recs, r)
					return nil
				}); err != nil {
					t.Fatalf("Table(%q): %v", name, err)
				}
				if len(recs) != 1 || recs[0]["idnumber"] != "1" || recs[0][name+" col"] != name || len(recs[0]) != 2 {
					t.Errorf("Table(%q) yielded %v", name, recs)
				}
				if p := im.Position(); p.Source != name || p.Line != 1 {
					t.Errorf("Table(%q).Position() = %#v, want the table's name and row 1", name, p)
				}
			}
		}
		var n int
		if err := db.QueryRow(`SELECT COUNT(*) FROM users`).Scan(&n); err != nil || n != 1 {
			t.Errorf("users: %d rows, %v; want 1 row, untouched", n, err)
		}
	})
}

// TestTableNoColumn checks that a column a table lacks fails the import,
// also in SQLite, which reads "nosuch" as a string when no column has that name.
func TestTableNoColumn(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend, db *sql.DB) {
		exec(t, db, `CREATE TABLE users (idnumber TEXT)`)
		exec(t, db, `INSERT INTO users VALUES ('1')`)
		err := dsssql.Table(db, "users", "idnumber", "nosuch").Import(context.Background(), func(r dss.Record) error {
			t.Errorf("yield called with %v", r)
			return nil
		})
		if err == nil || !strings.HasPrefix(err.Error(), "sql users: ") || !strings.Contains(err.Error(), "nosuch") {
			t.Errorf("Import: %v, want an error naming the importer and the column", err)
		}
	})
}

// TestTableNUL checks that Table refuses a name with NUL before it reaches
// the database.
func TestTableNUL(t *testing.T) {
	for _, im := range []*dsssql.Importer{
		dsssql.Table(nil, "users\x00; DROP TABLE users"),
		dsssql.Table(nil, "users", "idnumber", "name\x00"),
	} {
		err := im.Import(context.Background(), func(dss.Record) error {
			t.Error("yield called")
			return nil
		})
		if err == nil || !strings.HasPrefix(err.Error(), "sql users") || !strings.Contains(err.Error(), "contains NUL") {
			t.Errorf("Import: %v, want an error about NUL", err)
		}
	}
}

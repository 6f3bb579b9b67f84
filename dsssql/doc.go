// Package dsssql imports dss branches from SQL databases through
// database/sql, and writes them back with Mapping.
//
// Query runs one query and yields each row as a dss.Record keyed by column
// name, with values as the driver returns them and NULL as nil; the dss core
// converts them to the object's field types and accumulates list fields
// across rows that share an idnumber, so a JOIN with one row per membership
// becomes one group with all its members:
//
//	dest.Branches.Users.Importer = dsssql.Query(db,
//		`SELECT idnumber, name, email FROM users WHERE active = $1`, true)
//	dest.Branches.Groups.Importer = dsssql.Query(db,
//		`SELECT g.idnumber, m.user_id AS members
//		   FROM groups g LEFT JOIN group_members m ON m.group_id = g.idnumber`)
//
// Values are always passed as query parameters, never spliced into the text.
// Identifiers that come from configuration, such as a table name, go through
// QuoteIdentifier, or Table, which quotes them itself.
//
// # Tables declared once
//
// A Mapping stores a destination branch in a table, both ways: it is the
// branch's Importer (one query of the rows the sync owns) and the Template
// of the branch's actions, which it writes in bulk inside the run's
// transaction. Declare it once with Map: the table, the column that holds
// the idnumber, and, where the schema differs from the object, renames:
//
//	users := dsssql.Map(dest.Branches.Users, "users", "idnumber")
//	users.Columns = map[string]string{"email": "mail"} // attribute -> column
//	dest.Branches.Users.Importer = users
//
// Each run hands the Mapping its transaction, then imports, plans and
// applies as usual, with the Mappings combined into one Template (and the
// program's own methods for whatever they do not write):
//
//	tx, err := db.BeginTx(ctx, nil)
//	users.DB = tx
//	err = ds.Import(ctx)
//	plan, err := ds.Plan()
//	report, err := ds.Apply(ctx, plan, dss.Combine(users, dss.Methods(&own{})))
//	err = tx.Commit()
//
// Before its first read the Mapping checks the declaration against the
// database's catalog and returns one *SchemaError naming every problem. It
// writes each batch in chunks between a savepoint and its release:
// PostgreSQL gets one statement per chunk whose parameters are arrays
// (unnest), SQLite and MySQL multi-row statements, each size prepared once
// per transaction. When a statement fails, the chunk is rolled back to its
// savepoint and written one action at a time to find the failing one, which
// is reported as a *dss.BatchError naming its action and idnumber; the
// transaction stays usable.
//
// Scope, SoftDelete, Insert and Stamps fit schemas the sync shares with an
// application; Lists stores list attributes in join tables, holding keys
// or surrogate ids (Join, Lookup). The Dialect is detected unless set.
//
// The package depends on no driver: open the database with the driver of
// your choice. It is tested with PostgreSQL through pgx
// (github.com/jackc/pgx/v5/stdlib, driver name "pgx"), with SQLite through
// modernc.org/sqlite (driver name "sqlite"), which needs no C compiler, and
// with MariaDB through github.com/go-sql-driver/mysql (driver name "mysql",
// with parseTime=true so that times read as time.Time).
package dsssql

// Package dsssql imports dss branches from SQL databases through
// database/sql.
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
// The package depends on no driver: open the database with the driver of
// your choice. It is tested with PostgreSQL through pgx
// (github.com/jackc/pgx/v5/stdlib, driver name "pgx") and with SQLite through
// modernc.org/sqlite (driver name "sqlite"), which needs no C compiler.
package dsssql

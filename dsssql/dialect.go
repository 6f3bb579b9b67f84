package dsssql

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Dialect is the SQL a Mapping writes: each database's fast path for bulk
// writes, its quoting and its catalog.
type Dialect uint8

// The dialects. The zero Dialect asks the Mapping to find out on first use,
// with SELECT version(): PostgreSQL names itself, MySQL and MariaDB answer
// with a version number, and SQLite, which has no version(), answers
// sqlite_version().
const (
	Detect   Dialect = iota // find out from the database
	Postgres                // PostgreSQL: arrays of values through unnest
	SQLite                  // SQLite: multi-row statements, prepared once per size
	MySQL                   // MySQL and MariaDB: multi-row statements, prepared once per size
)

// String returns the dialect's name.
func (d Dialect) String() string {
	switch d {
	case Detect:
		return "detect"
	case Postgres:
		return "postgres"
	case SQLite:
		return "sqlite"
	case MySQL:
		return "mysql"
	}
	return "Dialect(" + strconv.Itoa(int(d)) + ")"
}

// detectDialect asks db which database it is. A failed SELECT version()
// aborts a PostgreSQL transaction, so it is asked first: only SQLite,
// where a failed statement leaves the transaction as it was, lacks it.
func detectDialect(ctx context.Context, db Queryer) (Dialect, error) {
	v, err := queryString(ctx, db, `SELECT version()`)
	if err == nil {
		switch {
		case strings.HasPrefix(v, "PostgreSQL"):
			return Postgres, nil
		case strings.Contains(v, "MariaDB"), v != "" && v[0] >= '0' && v[0] <= '9': // MySQL: "8.0.36"
			return MySQL, nil
		}
		return Detect, fmt.Errorf("cannot tell which database version() %q is (set the Mapping's Dialect)", v)
	}
	if ctx.Err() != nil {
		return Detect, ctx.Err()
	}
	if _, err2 := queryString(ctx, db, `SELECT sqlite_version()`); err2 == nil {
		return SQLite, nil
	}
	return Detect, fmt.Errorf("cannot tell which database this is (set the Mapping's Dialect): %w", err)
}

// quote quotes an identifier: in backticks for MySQL, in double quotes
// otherwise (QuoteIdentifier).
func (d Dialect) quote(name string) string {
	if d == MySQL {
		name = strings.ReplaceAll(name, "\x00", "\uFFFD")
		return "`" + strings.ReplaceAll(name, "`", "``") + "`"
	}
	return QuoteIdentifier(name)
}

// maxParams is how many parameters one statement may have: SQLite's
// limit is 32,766, MySQL's 65,535; PostgreSQL's arrays are one each.
func (d Dialect) maxParams() int {
	if d == MySQL {
		return 65535
	}
	return 32766
}

// errNoRows is queryString's error for a query without rows.
var errNoRows = errors.New("no row")

// queryString returns the one text value of query's first row.
func queryString(ctx context.Context, db Queryer, query string, args ...any) (string, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var v string
	if rows.Next() {
		err = rows.Scan(&v)
	} else {
		err = rows.Err()
		if err == nil {
			err = errNoRows
		}
	}
	return v, err
}

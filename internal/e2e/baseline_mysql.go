package main

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/go-sql-driver/mysql"
)

// The MySQL baseline: the export is loaded as it is into a temporary
// staging table (LOAD DATA LOCAL INFILE), which derives each user's name as
// it loads; then a few set-based statements make the three tables match it,
// all in one transaction.

// mysqlStaging holds the export; its primary key, added after the load,
// refuses repeated idnumbers (LOAD DATA LOCAL would skip them with a
// warning), and an index on department serves the groups.
var mysqlStaging = []string{
	`CREATE TEMPORARY TABLE staging (
		idnumber   VARCHAR(255) NOT NULL,
		lastfirst  TEXT NOT NULL,
		email      TEXT NOT NULL,
		department VARCHAR(255) NOT NULL,
		name       TEXT NOT NULL
	) DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin`,
	// The name is derived as usersync's Derive does: split at the first
	// comma, each part trimmed, "First Last". (MySQL's TRIM trims spaces
	// only, all the white space that the benchmark's exports have.) A
	// doubled quote inside quotes is one quote, as in CSV; a backslash is
	// not an escape.
	`LOAD DATA LOCAL INFILE %s INTO TABLE staging CHARACTER SET utf8mb4
		FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '"' ESCAPED BY ''
		LINES TERMINATED BY '\n' IGNORE 1 LINES
		(idnumber, @lastfirst, email, department)
		SET lastfirst = @lastfirst,
			name = CONCAT(TRIM(SUBSTRING(@lastfirst, LOCATE(',', @lastfirst) + 1)), ' ', TRIM(SUBSTRING_INDEX(@lastfirst, ',', 1)))`,
	`ALTER TABLE staging ADD PRIMARY KEY (idnumber), ADD INDEX (department, idnumber)`,
}

// mysqlSyncStatements make the tables match staging, in an order the
// foreign keys allow, as the PostgreSQL baseline's do. Changed values are
// compared as bytes: MySQL's = ignores trailing spaces.
var mysqlSyncStatements = []string{
	"DELETE m FROM group_members m LEFT JOIN staging s ON s.idnumber = m.user_idnumber AND s.department = m.group_idnumber WHERE s.idnumber IS NULL",
	"DELETE FROM `groups` WHERE NOT EXISTS (SELECT 1 FROM staging s WHERE s.department = `groups`.idnumber)",
	"DELETE u FROM users u LEFT JOIN staging s ON s.idnumber = u.idnumber WHERE s.idnumber IS NULL",
	`UPDATE users u JOIN staging s ON s.idnumber = u.idnumber
		SET u.name = s.name, u.email = s.email, u.department = s.department
		WHERE NOT (CAST(u.name AS BINARY) = CAST(s.name AS BINARY) AND CAST(u.email AS BINARY) = CAST(s.email AS BINARY)
			AND CAST(u.department AS BINARY) = CAST(s.department AS BINARY))`,
	`INSERT INTO users (idnumber, name, email, department)
		SELECT s.idnumber, s.name, s.email, s.department FROM staging s
		LEFT JOIN users u ON u.idnumber = s.idnumber WHERE u.idnumber IS NULL
		ORDER BY s.idnumber`,
	"INSERT INTO `groups` (idnumber) SELECT DISTINCT s.department FROM staging s" +
		" WHERE s.department <> '' AND NOT EXISTS (SELECT 1 FROM `groups` g WHERE g.idnumber = s.department)",
	`INSERT INTO group_members (group_idnumber, user_idnumber)
		SELECT s.department, s.idnumber FROM staging s
		LEFT JOIN group_members m ON m.group_idnumber = s.department AND m.user_idnumber = s.idnumber
		WHERE s.department <> '' AND m.group_idnumber IS NULL
		ORDER BY s.department, s.idnumber`,
}

// mysqlConfig reads a mysql:// URL, as usersync takes it, into the
// driver's configuration.
func mysqlConfig(dsn string) (*mysql.Config, error) {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme != "mysql" {
		return nil, errors.New("the MySQL DSN must be a mysql:// URL")
	}
	c := mysql.NewConfig()
	c.User, c.Net, c.Addr, c.DBName = u.User.Username(), "tcp", u.Host, strings.TrimPrefix(u.Path, "/")
	c.Passwd, _ = u.User.Password()
	return c, nil
}

func syncMySQL(ctx context.Context, csvPath, dsn string) error {
	f, err := os.Open(csvPath)
	if err != nil {
		return err
	}
	header, err := bufio.NewReader(f).ReadString('\n')
	f.Close()
	if err != nil || strings.TrimRight(header, "\r\n") != exportHeader {
		return fmt.Errorf("%s: the first line is not %q", csvPath, exportHeader)
	}
	config, err := mysqlConfig(dsn)
	if err != nil {
		return err
	}
	mysql.RegisterLocalFile(csvPath)
	connector, err := mysql.NewConnector(config)
	if err != nil {
		return err
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	conn, err := db.Conn(ctx) // the temporary table is the connection's
	if err != nil {
		return err
	}
	defer conn.Close()

	// MySQL commits DDL at once: the tables and the staging table are
	// made before the transaction that changes rows.
	for _, stmt := range mysqlSchema() {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	// LOAD DATA takes no parameters: the file's name is a literal.
	file := "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(csvPath) + "'"
	for _, stmt := range mysqlStaging {
		if _, err := conn.ExecContext(ctx, strings.Replace(stmt, "%s", file, 1)); err != nil {
			return fmt.Errorf("%s: %w", csvPath, err)
		}
	}
	// What usersync refuses: an empty idnumber, a name without a comma.
	var bad string
	err = conn.QueryRowContext(ctx, `SELECT idnumber FROM staging WHERE idnumber = '' OR LOCATE(',', lastfirst) = 0 LIMIT 1`).Scan(&bad)
	switch {
	case err == nil:
		return fmt.Errorf("%s: user %q: an empty idnumber, or a name that is not \"Last, First\"", csvPath, bad)
	case !errors.Is(err, sql.ErrNoRows):
		return err
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, stmt := range mysqlSyncStatements {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	return tx.Commit()
}

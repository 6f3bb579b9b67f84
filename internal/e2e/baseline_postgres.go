package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// The PostgreSQL baseline: the export is copied as it is into a temporary
// staging table (COPY FROM STDIN), which derives each user's name as it
// loads; then a few set-based statements make the three tables match it,
// all in one transaction.

// stagingTable holds the export. The name is derived as usersync's Derive
// does: split at the first comma, each part trimmed of white space, "First
// Last". (Go's strings.TrimSpace also trims Unicode spaces such as U+00A0;
// btrim here trims the ASCII ones, all that the benchmark's exports have.)
const stagingTable = `CREATE TEMPORARY TABLE staging (
	idnumber   TEXT PRIMARY KEY,
	lastfirst  TEXT NOT NULL,
	email      TEXT NOT NULL,
	department TEXT NOT NULL,
	name       TEXT GENERATED ALWAYS AS (
		btrim(substr(lastfirst, strpos(lastfirst, ',') + 1), E' \t\n\x0b\f\r') || ' ' ||
		btrim(split_part(lastfirst, ',', 1), E' \t\n\x0b\f\r')) STORED
) ON COMMIT DROP`

// The export's rows have no NULLs: an empty field is an empty string.
const copyExport = `COPY staging (idnumber, lastfirst, email, department) FROM STDIN
	WITH (FORMAT csv, FORCE_NOT_NULL (idnumber, lastfirst, email, department))`

// syncStatements make the tables match staging, in an order the foreign
// keys allow: memberships, groups and users that go first, then users that
// change, then users, groups and memberships that come.
var syncStatements = []string{
	`DELETE FROM group_members m WHERE NOT EXISTS (
		SELECT FROM staging s WHERE s.idnumber = m.user_idnumber AND s.department = m.group_idnumber)`,
	`DELETE FROM "groups" g WHERE NOT EXISTS (SELECT FROM staging s WHERE s.department = g.idnumber)`,
	`DELETE FROM users u WHERE NOT EXISTS (SELECT FROM staging s WHERE s.idnumber = u.idnumber)`,
	`UPDATE users u SET name = s.name, email = s.email, department = s.department
		FROM staging s
		WHERE s.idnumber = u.idnumber AND (u.name, u.email, u.department) IS DISTINCT FROM (s.name, s.email, s.department)`,
	`INSERT INTO users (idnumber, name, email, department)
		SELECT s.idnumber, s.name, s.email, s.department FROM staging s
		WHERE NOT EXISTS (SELECT FROM users u WHERE u.idnumber = s.idnumber)
		ORDER BY s.idnumber`,
	`INSERT INTO "groups" (idnumber)
		SELECT DISTINCT s.department FROM staging s
		WHERE s.department <> '' AND NOT EXISTS (SELECT FROM "groups" g WHERE g.idnumber = s.department)`,
	`INSERT INTO group_members (group_idnumber, user_idnumber)
		SELECT s.department, s.idnumber FROM staging s
		WHERE s.department <> '' AND NOT EXISTS (
			SELECT FROM group_members m WHERE m.group_idnumber = s.department AND m.user_idnumber = s.idnumber)
		ORDER BY s.department, s.idnumber`,
}

func syncPostgres(ctx context.Context, csvPath, dsn string) error {
	f, err := os.Open(csvPath)
	if err != nil {
		return err
	}
	defer f.Close()
	export := bufio.NewReaderSize(f, 64<<10)
	header, err := export.ReadString('\n')
	if err != nil || strings.TrimRight(header, "\r\n") != exportHeader {
		return fmt.Errorf("%s: the first line is not %q", csvPath, exportHeader)
	}

	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.Background())

	for _, stmt := range append(slices.Clone(schema), stagingTable) {
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return err
		}
	}
	if _, err := tx.Conn().PgConn().CopyFrom(ctx, export, copyExport); err != nil {
		return fmt.Errorf("%s: %w", csvPath, err)
	}
	// What usersync refuses: an empty idnumber, a name without a comma.
	// (COPY refused repeated idnumbers: staging's primary key.)
	var bad string
	err = tx.QueryRow(ctx, `SELECT idnumber FROM staging WHERE idnumber = '' OR strpos(lastfirst, ',') = 0 LIMIT 1`).Scan(&bad)
	switch {
	case err == nil:
		return fmt.Errorf("%s: user %q: an empty idnumber, or a name that is not \"Last, First\"", csvPath, bad)
	case !errors.Is(err, pgx.ErrNoRows):
		return err
	}
	// A temporary table is never analyzed automatically: without this, the
	// planner guesses its size.
	if _, err := tx.Exec(ctx, `ANALYZE staging`); err != nil {
		return err
	}
	for _, stmt := range syncStatements {
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return err
		}
	}
	return tx.Commit(ctx)
}

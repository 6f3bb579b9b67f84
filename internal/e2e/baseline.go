package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// baselineFlag, as the first argument, makes this program the hand-written
// SQL baseline instead of the benchmark: the benchmark runs itself again
// with it, so that the baseline is a whole process, as usersync is.
const baselineFlag = "-baseline"

// The tables, as usersync creates them (examples/usersync/db.go), with the
// index on group_members (user_idnumber) that makes deleting a user cheap.
var schema = []string{
	`CREATE TABLE IF NOT EXISTS users (
		idnumber   VARCHAR(255) PRIMARY KEY,
		name       TEXT NOT NULL,
		email      TEXT NOT NULL,
		department VARCHAR(255) NOT NULL
	)`,
	`CREATE TABLE IF NOT EXISTS "groups" (idnumber VARCHAR(255) PRIMARY KEY)`,
	`CREATE TABLE IF NOT EXISTS group_members (
		group_idnumber VARCHAR(255) NOT NULL,
		user_idnumber  VARCHAR(255) NOT NULL,
		PRIMARY KEY (group_idnumber, user_idnumber),
		FOREIGN KEY (group_idnumber) REFERENCES "groups" (idnumber),
		FOREIGN KEY (user_idnumber) REFERENCES users (idnumber)
	)`,
	`CREATE INDEX IF NOT EXISTS group_members_user_idnumber ON group_members (user_idnumber)`,
}

// mysqlSchema is schema as usersync writes it for MySQL: "groups" quoted
// `groups`, tables in utf8mb4_bin, no CREATE INDEX (InnoDB indexes a
// foreign key itself).
func mysqlSchema() []string {
	var out []string
	for _, stmt := range schema {
		if !strings.HasPrefix(stmt, "CREATE INDEX") {
			out = append(out, strings.ReplaceAll(stmt, `"groups"`, "`groups`")+" DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin")
		}
	}
	return out
}

// exportHeader is the header line the baselines accept, the only one the
// benchmark writes. (usersync reads columns by name, in any order.)
const exportHeader = "idnumber,name,email,department"

// baseline syncs the export at -csv into the SQLite file at -db or the
// PostgreSQL database at -dsn, with the flags usersync takes for the same.
func baseline(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("e2e "+baselineFlag, flag.ContinueOnError)
	fs.SetOutput(stderr)
	csvPath := fs.String("csv", "", "the users export")
	dbPath := fs.String("db", "", "the SQLite database file")
	dsn := fs.String("dsn", "", "a PostgreSQL or MySQL (mysql://) URL; overrides -db")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	case *csvPath == "":
		return errors.New("-csv is required")
	case strings.HasPrefix(*dsn, "mysql://"):
		return syncMySQL(ctx, *csvPath, *dsn)
	case *dsn != "":
		return syncPostgres(ctx, *csvPath, *dsn)
	case *dbPath != "":
		return syncSQLite(ctx, *csvPath, *dbPath)
	}
	return errors.New("-db or -dsn is required")
}

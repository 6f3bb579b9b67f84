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

// The tables, as usersync creates them (examples/usersync/db.go).
var schema = []string{
	`CREATE TABLE IF NOT EXISTS users (
		idnumber   TEXT PRIMARY KEY,
		name       TEXT NOT NULL,
		email      TEXT NOT NULL,
		department TEXT NOT NULL
	)`,
	`CREATE TABLE IF NOT EXISTS "groups" (
		idnumber TEXT PRIMARY KEY
	)`,
	`CREATE TABLE IF NOT EXISTS group_members (
		group_idnumber TEXT NOT NULL REFERENCES "groups" (idnumber),
		user_idnumber  TEXT NOT NULL REFERENCES users (idnumber),
		PRIMARY KEY (group_idnumber, user_idnumber)
	)`,
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
	dsn := fs.String("dsn", "", "a PostgreSQL URL; overrides -db")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	case *csvPath == "":
		return errors.New("-csv is required")
	case *dsn != "":
		return syncPostgres(ctx, *csvPath, *dsn)
	case *dbPath != "":
		return syncSQLite(ctx, *csvPath, *dbPath)
	}
	return errors.New("-db or -dsn is required")
}

// Command usersync is dss's main job, the original's scenario end to end:
// the school's users come from a CSV export, the application keeps users,
// groups and group memberships in a database, and every run makes the
// database match the export, in one transaction.
//
//	go run ./examples/usersync                  # the SQLite file usersync.db
//	go run ./examples/usersync -dry-run         # print the plan only
//	go run ./examples/usersync -dsn postgres://user@host/db
//	go run ./examples/usersync -out plan.json   # save the plan for review
//	go run ./examples/usersync -plan plan.json  # apply the reviewed plan
//
// Exit status: 0 when the plan was applied or there was nothing to do, 1 on
// error; with -dry-run -detailed-exitcode, 2 when there are changes.
package main

import (
	"context"
	"database/sql"
	_ "embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/datastoresync/dss"
	"github.com/datastoresync/dss/dsscsv"
)

// The export that ships with the example; -csv reads another.
//
//go:embed testdata/users.csv
var defaultCSV string

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const (
	exitOK      = 0
	exitError   = 1
	exitChanges = 2
)

// run is the whole program, apart from the process: tests call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("usersync", flag.ContinueOnError)
	fs.SetOutput(stderr)
	csvPath := fs.String("csv", "", "the users export (default: the example's testdata/users.csv)")
	dbPath := fs.String("db", "usersync.db", "the SQLite database file, created when missing")
	dsn := fs.String("dsn", "", "a PostgreSQL URL (postgres://...); overrides -db")
	busy := fs.Duration("busy-timeout", 5*time.Second, "how long to wait for a locked SQLite database")
	dryRun := fs.Bool("dry-run", false, "print the plan and change nothing")
	detailed := fs.Bool("detailed-exitcode", false, "with -dry-run: exit 2 when there are changes")
	out := fs.String("out", "", "write the plan to this JSON file and change nothing")
	planFile := fs.String("plan", "", "apply the plan saved in this JSON file, if the database has not changed since")
	if err := fs.Parse(args); err != nil {
		return exitError
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "usersync: unexpected arguments: %s\n", strings.Join(fs.Args(), " "))
		return exitError
	}
	code, err := sync(ctx, options{
		csvPath: *csvPath, dbPath: *dbPath, dsn: *dsn, busy: *busy, dryRun: *dryRun, detailed: *detailed,
		out: *out, plan: *planFile,
	}, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "usersync: %v\n", err)
		return exitError
	}
	return code
}

type options struct {
	csvPath, dbPath, dsn string
	busy                 time.Duration
	dryRun, detailed     bool
	out, plan            string
}

func sync(ctx context.Context, o options, stdout io.Writer) (int, error) {
	db, err := openDatabase(ctx, o.dbPath, o.dsn, o.busy)
	if err != nil {
		return exitError, err
	}
	defer db.db.Close()
	if err := db.createSchema(ctx); err != nil {
		return exitError, err
	}

	source := dss.NewTree[Source]("source")
	dest := dss.NewTree[Dest]("dest")
	db.importers(dest)

	var export *dsscsv.Importer
	if o.csvPath != "" {
		export = dsscsv.Open(o.csvPath)
	} else {
		export = dsscsv.New(strings.NewReader(defaultCSV), "users.csv")
	}
	export.Rename = map[string]string{"name": "_lastfirst"} // "Last, First"; Derive makes the name
	source.Branches.Users.Importer = export
	source.Branches.Users.Unique = true // one row per user: a repeated idnumber is an error
	source.Branches.Groups.Importer = departmentGroups(source.Branches.Users)

	var plan *dss.Plan
	if o.plan != "" {
		if err := dest.Import(ctx); err != nil {
			return exitError, err
		}
		data, err := os.ReadFile(o.plan)
		if err != nil {
			return exitError, err
		}
		plan = new(dss.Plan)
		if err := json.Unmarshal(data, plan); err != nil {
			return exitError, fmt.Errorf("%s: %w", o.plan, err)
		}
	} else {
		// The export and the database are read at the same time.
		if err := dss.ImportAll(ctx, source, dest); err != nil {
			return exitError, err
		}
		if plan, err = source.Plan(dest); err != nil {
			return exitError, err
		}
	}

	for _, a := range plan.Actions {
		fmt.Fprintln(stdout, a)
	}
	if len(plan.Actions) > 0 {
		fmt.Fprintln(stdout)
	}
	fmt.Fprint(stdout, plan.Summary)

	switch {
	case len(plan.Actions) == 0:
		fmt.Fprintln(stdout, "nothing to do")
		return exitOK, nil
	case o.out != "":
		data, err := json.MarshalIndent(plan, "", "  ")
		if err != nil {
			return exitError, err
		}
		if err := os.WriteFile(o.out, append(data, '\n'), 0o644); err != nil {
			return exitError, err
		}
		fmt.Fprintf(stdout, "plan written to %s; apply it with -plan %s\n", o.out, o.out)
		return exitOK, nil
	case o.dryRun:
		fmt.Fprintln(stdout, "dry run: nothing applied")
		if o.detailed {
			return exitChanges, nil
		}
		return exitOK, nil
	}
	return apply(ctx, db, source, dest, plan, stdout)
}

// apply runs the plan in one transaction: all of it or nothing.
func apply(ctx context.Context, db *database, source *dss.Tree[Source], dest *dss.Tree[Dest], plan *dss.Plan, stdout io.Writer) (code int, err error) {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return exitError, fmt.Errorf("begin transaction on %s: %w", db.where, err)
	}
	defer func() {
		if err != nil {
			// A transaction that is not committed changes nothing, even when
			// the rollback itself fails because the connection is gone: the
			// server discards it when the connection ends.
			if rerr := tx.Rollback(); rerr != nil && !errors.Is(rerr, sql.ErrTxDone) {
				err = fmt.Errorf("%w; not committed, %s is unchanged (rollback: %v)", err, db.where, rerr)
			} else {
				err = fmt.Errorf("%w; rolled back, %s is unchanged", err, db.where)
			}
		}
	}()
	if err := dest.SetTemplate(&Template{db: db, tx: tx}); err != nil {
		return exitError, err
	}
	report, err := source.ApplyPlan(ctx, dest, plan, dss.StopOnError())
	if err != nil {
		return exitError, err
	}
	if n := len(report.NotImplemented); n > 0 {
		return exitError, fmt.Errorf("the template misses %d kinds of action: %v", n, report.NotImplemented)
	}
	if err := tx.Commit(); err != nil {
		return exitError, fmt.Errorf("commit on %s: %w", db.where, err)
	}
	fmt.Fprintf(stdout, "applied %d actions to %s\n", report.Applied, db.where)
	return exitOK, nil
}

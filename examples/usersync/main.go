// Command usersync is dss's main job, the original's scenario end to end:
// the school's users come from a CSV export, the application keeps users,
// groups and group memberships in a database, and every run makes the
// database match the export, in one transaction.
//
//	go run ./examples/usersync                  # the SQLite file usersync.db
//	go run ./examples/usersync -dry-run         # print the plan only
//	go run ./examples/usersync -dsn postgres://user@host/db
//	go run ./examples/usersync -dsn mysql://user@host:3306/db
//	go run ./examples/usersync -out plan.json   # save the plan for review
//	go run ./examples/usersync -plan plan.json  # apply the reviewed plan
//	go run ./examples/usersync -dry-run -html plan.html -markdown plan.md
//
// A saved plan file is trusted for nothing by default: -plan reads the
// export again and applies the plan only if the export and the database
// make exactly the saved plan. With -plan-key-file (or $USERSYNC_PLAN_KEY),
// -out tags the plan with an HMAC-SHA256 under the key, and -plan applies
// a file only if its tag verifies, without the export.
//
// The run reads and writes the database in one transaction that holds a
// lock to the commit (PostgreSQL: an advisory lock; SQLite: BEGIN
// IMMEDIATE; MySQL: GET_LOCK), so two runs at once apply one export after
// the other.
//
// Before it commits, a run reads the database again, in its transaction,
// and checks that it now equals the export (or, with -plan, that every
// change of the plan stuck). A column that does not keep what is written (a
// timestamp without time zone given an offset, real for a float64, char(n)
// padding, a trigger) would otherwise make every run apply the same changes
// again; the run rolls back instead, naming the first change that did not
// stick. -no-verify skips the check and commits.
//
// Exit status: 0 when the plan was applied or there was nothing to do; 1 on
// error or when the guards refuse the plan, in every mode, so that a dry run
// fails exactly when the real run would; with -dry-run -detailed-exitcode,
// 2 when there are changes.
package main

import (
	"context"
	"database/sql"
	_ "embed"
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
	"github.com/datastoresync/dss/dsssql"
	"github.com/datastoresync/dss/dsssql/dsn"
	"github.com/datastoresync/dss/internal/planfile"
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
	// exitUsage is a bad flag. It is 1, not the 2 of Go's flag package:
	// with -dry-run -detailed-exitcode, 2 means "there are changes", and a
	// script must not read a mistyped limit as that.
	exitUsage = exitError
)

// checkLimits refuses guard limits that mean nothing, before anything is
// read: dss.Guard would refuse them too, but only once both sides are
// imported.
func checkLimits(maxDeletes int, maxFraction float64) error {
	if maxDeletes < -1 {
		return fmt.Errorf("-max-deletes %d: want -1 (no limit), 0 (dss's default) or more", maxDeletes)
	}
	if !(maxFraction >= 0 && maxFraction <= 1) { // NaN too
		return fmt.Errorf("-max-delete-fraction %v: want a fraction from 0 (dss's default, 0.5) to 1 (no limit)", maxFraction)
	}
	return nil
}

// run is the whole program, apart from the process: tests call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("usersync", flag.ContinueOnError)
	fs.SetOutput(stderr)
	csvPath := fs.String("csv", "", "the users export (default: the example's testdata/users.csv)")
	dbPath := fs.String("db", "usersync.db", "the SQLite database file, created when missing")
	address := fs.String("dsn", "", "a PostgreSQL (postgres://...) or MySQL/MariaDB (mysql://user:password@host:port/database) URL; overrides -db")
	busy := fs.Duration("busy-timeout", 5*time.Second, "how long to wait for another run's lock on the database")
	dryRun := fs.Bool("dry-run", false, "print the plan and change nothing")
	detailed := fs.Bool("detailed-exitcode", false, "with -dry-run: exit 2 when there are changes")
	out := fs.String("out", "", "write the plan to this JSON file and change nothing")
	planFile := fs.String("plan", "", "apply the plan saved in this JSON file, if the database has not changed since")
	showValues := fs.Bool("show-values", false, "let error messages show values from the export and the database (names, emails)")
	noVerify := fs.Bool("no-verify", false, "commit without first reading the database again to check that every change stuck (a column or trigger that alters values makes every run repeat its changes)")
	noFinalNewline := fs.Bool("allow-no-final-newline", false, "accept an export whose last line has no line ending (by default it may be cut short, and is refused)")
	maxDeletes := fs.Int("max-deletes", 0, "refuse a plan that deletes more users or groups, or removes more memberships, than this (0: dss's default, 500 and 1000; -1: no limit)")
	maxFraction := fs.Float64("max-delete-fraction", 0, "refuse a plan that deletes more than this fraction of the users or groups, or of the memberships, once more than 10 would go (0: dss's default, 0.5; 1: no limit)")
	allowEmpty := fs.Bool("allow-empty-source", false, "apply an export with no users even when the database has some (by default such an export is taken as broken)")
	verbose := fs.Bool("verbose", false, "print every action of a long plan, not only its first lines")
	var keyFiles []string
	fs.Func("plan-key-file", "a file holding a key that authenticates saved plans (repeat it to accept older keys; the first tags -out's plans); $"+planKeyEnv+" may hold one too. With a key, -plan needs no export; without, -plan imports the export again and applies the saved plan only if the export and the database make exactly it",
		func(path string) error { keyFiles = append(keyFiles, path); return nil })
	htmlPath := fs.String("html", "", "also write the plan as a page to review in a browser, one self-contained HTML file (in every mode, a refused plan too)")
	mdPath := fs.String("markdown", "", "also write a Markdown summary of the plan for a pull request or a ticket, at most 60,000 bytes (in every mode, a refused plan too)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "usersync: unexpected arguments: %s\n", strings.Join(fs.Args(), " "))
		return exitUsage
	}
	if err := checkLimits(*maxDeletes, *maxFraction); err != nil {
		fmt.Fprintf(stderr, "usersync: %v\n", err)
		return exitUsage
	}
	keys, err := planKeys(keyFiles, os.Getenv(planKeyEnv))
	if err != nil {
		fmt.Fprintf(stderr, "usersync: %v\n", err)
		return exitUsage
	}
	code, err := syncUsers(ctx, options{
		csvPath: *csvPath, dbPath: *dbPath, dsn: *address, busy: *busy, dryRun: *dryRun, detailed: *detailed,
		out: *out, plan: *planFile, showValues: *showValues, noFinalNewline: *noFinalNewline,
		guard: dss.Guard{MaxDeletes: *maxDeletes, MaxDeleteFraction: *maxFraction, MaxRemoves: *maxDeletes,
			MaxRemoveFraction: *maxFraction, AllowEmptySource: *allowEmpty},
		verbose: *verbose, progress: terminal(stderr), noVerify: *noVerify, keys: keys, html: *htmlPath, markdown: *mdPath,
	}, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "usersync: %v\n", dsn.Redact(err, *address))
		return exitError
	}
	return code
}

type options struct {
	csvPath, dbPath, dsn string
	busy                 time.Duration
	dryRun, detailed     bool
	out, plan            string
	showValues           bool
	noFinalNewline       bool
	guard                dss.Guard     // for every destination branch
	verbose              bool          // print every action of a long plan
	progress             io.Writer     // where progress goes, or nil
	noVerify             bool          // commit without checking that the database took every change
	keys                 []dss.PlanKey // authenticate saved plans; none: -plan makes the plan again
	html, markdown       string        // where to write the plan's page and Markdown summary, or ""
}

// syncUsers is one run. The database is read and written in one transaction that
// holds the run's lock from before the destination is imported to the
// commit, so two runs at once never mix two exports: the second waits for
// the first, then plans against its result.
func syncUsers(ctx context.Context, o options, stdout io.Writer) (code int, err error) {
	db, err := openDatabase(ctx, o.dbPath, o.dsn, o.busy)
	if err != nil {
		return exitError, err
	}
	defer db.db.Close()
	if err := db.createSchema(ctx); err != nil {
		return exitError, err
	}

	ds := dss.New[Source, Dest]()
	ds.Dest.Branches.Users.Guard, ds.Dest.Branches.Groups.Guard = o.guard, o.guard
	ds.PlanKeys = o.keys
	if o.progress != nil {
		ds.Progress = newProgress(o.progress).report
	}
	// Names and emails stay out of error messages unless asked for.
	ds.Source.RedactValues, ds.Dest.RedactValues = !o.showValues, !o.showValues
	var export *dsscsv.Importer
	if o.csvPath != "" {
		export = dsscsv.Open(o.csvPath)
	} else {
		export = dsscsv.New(strings.NewReader(defaultCSV), "users.csv")
	}
	export.Rename = map[string]string{"name": "_lastfirst"} // "Last, First"; Derive makes the name
	export.RequireFinalNewline = !o.noFinalNewline          // a file cut inside its last row is refused
	ds.Source.Branches.Users.Importer = export
	ds.Source.Branches.Users.Unique = true // one row per user: a repeated idnumber is an error
	ds.Source.Branches.Groups.Importer = departmentGroups(ds.Source.Branches.Users)

	tx, err := db.begin(ctx)
	if err != nil {
		return exitError, err
	}
	committed := false
	defer func() {
		if !committed {
			err = rollback(tx, db, err)
		}
	}()
	tables := db.tables(ds.Dest, tx, o.showValues)

	var plan *dss.Plan
	if o.plan != "" {
		if plan, err = savedPlan(ctx, ds, o.plan, stdout); err != nil {
			return exitError, err
		}
	} else {
		// The export and the database are read at the same time.
		if err := ds.Import(ctx); err != nil {
			return exitError, err
		}
		if plan, err = ds.Plan(); err != nil {
			return exitError, err
		}
	}
	if err := planfile.Print(stdout, plan, o.verbose || o.out != ""); err != nil {
		return exitError, err
	}
	if err := writeReviews(stdout, plan, o.html, o.markdown); err != nil {
		return exitError, err
	}
	if err := plan.Refusal(); err != nil {
		if o.out != "" {
			// An older plan in that file would say what this export does not.
			if rerr := os.Remove(o.out); rerr == nil {
				fmt.Fprintf(stdout, "removed the older plan %s\n", o.out)
			} else if !errors.Is(rerr, os.ErrNotExist) {
				return exitError, fmt.Errorf("%w; and the older plan %s stays: %v", err, o.out, rerr)
			}
		}
		return exitError, err
	}

	switch {
	case o.out != "":
		if err := planfile.Write(o.out, plan); err != nil {
			return exitError, err
		}
		if len(o.keys) > 0 {
			fmt.Fprintf(stdout, "plan written to %s, tagged with the plan key; apply it with -plan %s and the key\n", o.out, o.out)
		} else {
			fmt.Fprintf(stdout, "plan written to %s; apply it with -plan %s and the same export\n", o.out, o.out)
		}
		return exitOK, nil
	case len(plan.Actions) == 0:
		fmt.Fprintln(stdout, "nothing to do")
		return exitOK, nil
	case o.dryRun:
		fmt.Fprintln(stdout, "dry run: nothing applied")
		if o.detailed {
			return exitChanges, nil
		}
		return exitOK, nil
	}

	report, err := ds.Apply(ctx, plan, tables, dss.StopOnError())
	if err != nil {
		return exitError, err
	}
	if !o.noVerify {
		// The rows the plan touched are read back in the run's transaction
		// (dsssql.Mapping.ImportKeys): each must now equal the export's user
		// or group, or be gone.
		if err := ds.Verify(ctx, report); err != nil {
			return exitError, fmt.Errorf("%w; a column type or a trigger does not keep the values as written,"+
				" so no run would converge (-no-verify commits anyway)", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return exitError, fmt.Errorf("commit on %s: %w", db.where, err)
	}
	committed = true
	fmt.Fprintf(stdout, "applied %d actions to %s\n", report.Applied, db.where)
	return exitOK, nil
}

// rollback ends a transaction that is not to be committed, and says so in
// the run's error, if any.
func rollback(tx *dsssql.Tx, db *database, err error) error {
	// A transaction that is not committed changes nothing, even when the
	// rollback itself fails because the connection is gone: the server
	// discards it when the connection ends.
	rerr := tx.Rollback()
	switch {
	case err == nil:
		return nil
	case rerr != nil && !errors.Is(rerr, sql.ErrTxDone):
		return fmt.Errorf("%w; not committed, %s is unchanged (rollback: %v)", err, db.where, rerr)
	}
	return fmt.Errorf("%w; rolled back, %s is unchanged", err, db.where)
}

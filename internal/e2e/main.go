// Command e2e measures usersync end to end against a hand-written SQL
// program doing the same work, on SQLite and PostgreSQL: it builds the
// usersync binary, writes exports of N users, and runs both programs as
// processes of their own on fresh databases, timing each whole run and
// reading its peak RSS. After every pair it checks that both programs left
// the same tables. See README.md.
//
//	go run ./internal/e2e -n 10000,100000 -runs 3
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	ok, err := child(ctx, os.Args[1:])
	if !ok {
		err = run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	}
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
}

// child runs the hidden modes in which the benchmark runs itself again, and
// says whether args asked for one.
func child(ctx context.Context, args []string) (ok bool, err error) {
	switch {
	case len(args) > 0 && args[0] == baselineFlag:
		return true, baseline(ctx, args[1:], os.Stderr)
	case len(args) > 0 && args[0] == measureFlag:
		return true, measure(ctx, args[1:], os.Stdout, os.Stderr)
	}
	return false, nil
}

// A scenario is the state a measured run starts from and the export it syncs.
type scenario struct {
	name    string // for -scenarios
	title   string
	prepare bool // the database first holds the initial export (not timed)
	changed bool // the measured run syncs the changed export
}

var scenarios = []scenario{
	{name: "initial", title: "initial load"},
	{name: "nothing", title: "nothing to do", prepare: true},
	{name: "changed", title: "1% changed", prepare: true, changed: true},
}

type options struct {
	ns        []int
	runs      int
	databases []string
	scenarios []scenario
	dsn       string
	mysqlDSN  string
	usersync  string
	dir       string
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("e2e", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ns := fs.String("n", "10000,100000", "comma-separated numbers of users")
	runs := fs.Int("runs", 3, "measured runs of each program per scenario; figures are medians")
	dbs := fs.String("db", "sqlite,postgres,mysql", "comma-separated databases: sqlite, postgres, mysql")
	scs := fs.String("scenarios", "initial,nothing,changed", "comma-separated scenarios")
	dsn := fs.String("dsn", os.Getenv("DSS_TEST_POSTGRES"), "PostgreSQL URL; each run gets a schema of its own in it (default $DSS_TEST_POSTGRES)")
	mysqlDSN := fs.String("mysql-dsn", os.Getenv("DSS_TEST_MYSQL"), "MySQL or MariaDB server, as the driver's DSN (root@tcp(127.0.0.1:3306)/test); each run gets a database of its own on it (default $DSS_TEST_MYSQL)")
	usersync := fs.String("usersync", "", "the usersync binary (default: go build ./examples/usersync, from inside the module)")
	dir := fs.String("dir", "", "working directory for exports and SQLite files (default: a temporary one, removed)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	o := &options{runs: *runs, dsn: *dsn, mysqlDSN: *mysqlDSN, usersync: *usersync, dir: *dir}
	if o.runs < 1 {
		return nil, errors.New("-runs must be at least 1")
	}
	for s := range strings.SplitSeq(*ns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-n: %q is not a positive number", s)
		}
		o.ns = append(o.ns, n)
	}
	for s := range strings.SplitSeq(*dbs, ",") {
		switch s = strings.TrimSpace(s); s {
		case "sqlite":
		case "postgres":
			if o.dsn == "" {
				return nil, errors.New("postgres needs -dsn or DSS_TEST_POSTGRES (or use -db sqlite)")
			}
		case "mysql":
			if o.mysqlDSN == "" {
				return nil, errors.New("mysql needs -mysql-dsn or DSS_TEST_MYSQL (or use -db sqlite,postgres)")
			}
		default:
			return nil, fmt.Errorf("-db: unknown database %q: sqlite, postgres or mysql", s)
		}
		o.databases = append(o.databases, s)
	}
	for s := range strings.SplitSeq(*scs, ",") {
		i := -1
		for j, sc := range scenarios {
			if sc.name == strings.TrimSpace(s) {
				i = j
			}
		}
		if i < 0 {
			return nil, fmt.Errorf("-scenarios: unknown scenario %q: initial, nothing or changed", s)
		}
		o.scenarios = append(o.scenarios, scenarios[i])
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if o.dir == "" {
		if o.dir, err = os.MkdirTemp("", "dss-e2e-"); err != nil {
			return err
		}
		defer os.RemoveAll(o.dir)
	}
	if o.usersync == "" {
		o.usersync = filepath.Join(o.dir, "usersync")
		fmt.Fprintln(stderr, "e2e: building usersync")
		build := exec.CommandContext(ctx, "go", "build", "-o", o.usersync, "github.com/datastoresync/dss/examples/usersync")
		build.Stdout, build.Stderr = stderr, stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("go build usersync (run from inside the dss module, or pass -usersync): %w", err)
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	progs := [2]program{
		// usersync's PostgreSQL lock is one per database, shared by runs in
		// other schemas: it must not wait for it in a measured run (see
		// runMeasured).
		{name: "usersync", path: o.usersync, pgArgs: []string{"-busy-timeout", "1ms"}},
		{name: "SQL", path: self, args: []string{baselineFlag}},
	}

	var admin, mysqlAdmin *sql.DB
	if slices.Contains(o.databases, "postgres") {
		if admin, err = sql.Open("pgx", o.dsn); err != nil {
			return err
		}
		defer admin.Close()
		if err := admin.PingContext(ctx); err != nil {
			return fmt.Errorf("connecting to PostgreSQL: %w", err)
		}
	}
	if slices.Contains(o.databases, "mysql") {
		if mysqlAdmin, err = sql.Open("mysql", o.mysqlDSN); err != nil {
			return err
		}
		defer mysqlAdmin.Close()
		if err := mysqlAdmin.PingContext(ctx); err != nil {
			return fmt.Errorf("connecting to MySQL: %w", err)
		}
	}

	fmt.Fprintf(stdout, "Machine: %s\n", machine(ctx, admin, mysqlAdmin))
	fmt.Fprintf(stdout, "Runs: %d of each program per row, alternating; figures are medians\n\n", o.runs)
	fmt.Fprintln(stdout, "| N | database | scenario | usersync s | SQL s | usersync / SQL | usersync rows/s | SQL rows/s | usersync peak RSS | SQL peak RSS |")
	fmt.Fprintln(stdout, "|---|---|---|---|---|---|---|---|---|---|")
	var refusals []string
	for _, n := range o.ns {
		ex := exports{
			initial: filepath.Join(o.dir, fmt.Sprintf("users-%d.csv", n)),
			changed: filepath.Join(o.dir, fmt.Sprintf("users-%d-changed.csv", n)),
		}
		if ex.initialRows, ex.changedRows, err = writeExports(n, ex.initial, ex.changed); err != nil {
			return err
		}
		for _, database := range o.databases {
			ts := &targets{kind: database, dir: o.dir}
			name := "SQLite"
			switch database {
			case "postgres":
				ts.dsn, ts.admin, name = o.dsn, admin, "PostgreSQL"
			case "mysql":
				ts.dsn, ts.admin, name = o.mysqlDSN, mysqlAdmin, "MySQL"
			}
			for _, sc := range o.scenarios {
				fmt.Fprintf(stderr, "e2e: N=%d %s %s\n", n, name, sc.title)
				res, err := measureScenario(ctx, ts, self, progs, sc, ex, o.runs)
				if errors.Is(err, errRefused) {
					fmt.Fprintf(stdout, "| %s | %s | %s | refused | | | | | | |\n", thousands(n), name, sc.title)
					refusals = append(refusals, fmt.Sprintf("N=%d %s %s: %v", n, name, sc.title, err))
					continue
				}
				if err != nil {
					return fmt.Errorf("scenario %q, N=%d, %s: %w", sc.title, n, name, err)
				}
				rows := ex.initialRows
				if sc.changed {
					rows = ex.changedRows
				}
				u, s := res[0], res[1]
				fmt.Fprintf(stdout, "| %s | %s | %s | %.3f | %.3f | %.2fx | %s | %s | %s | %s |\n",
					thousands(n), name, sc.title, u.Seconds, s.Seconds, u.Seconds/s.Seconds,
					thousands(int(float64(rows)/u.Seconds)), thousands(int(float64(rows)/s.Seconds)),
					mib(u.RSSBytes), mib(s.RSSBytes))
			}
		}
	}
	for _, r := range refusals {
		fmt.Fprintf(stdout, "\n%s\n", r)
	}
	return nil
}

// exports are the two exports of one N.
type exports struct {
	initial, changed         string
	initialRows, changedRows int
}

// measureScenario measures both programs on the scenario, runs times each,
// alternating which goes first, and returns their median results.
func measureScenario(ctx context.Context, ts *targets, self string, progs [2]program, sc scenario, ex exports, runs int) ([2]result, error) {
	var all [2][]result
	for r := range runs {
		order := []int{0, 1}
		if r%2 == 1 {
			order = []int{1, 0}
		}
		pair, err := measurePair(ctx, ts, self, progs, order, sc, ex)
		if err != nil {
			return [2]result{}, err
		}
		for i := range pair {
			all[i] = append(all[i], pair[i])
		}
	}
	return [2]result{median(all[0]), median(all[1])}, nil
}

// runMeasured runs the program on the target. A usersync run that finds
// usersync's lock taken (another run holds it, in another schema of the same
// database) changed nothing and waited for nothing: it is run again once the
// lock is free.
func runMeasured(ctx context.Context, ts *targets, self string, p program, csvPath string, t *target) (result, error) {
	for attempt := 1; ; attempt++ {
		res, err := p.run(ctx, self, csvPath, t)
		if !errors.Is(err, errLocked) || !ts.postgres() || attempt == 20 {
			return res, err
		}
		if err := ts.waitForUsersyncLock(ctx, t); err != nil {
			return res, err
		}
	}
}

// measurePair gives each program a fresh database in the scenario's state,
// runs them in the order given, and checks that they leave the same
// tables, holding the export's users. When they do not, the databases are
// kept for a look.
func measurePair(ctx context.Context, ts *targets, self string, progs [2]program, order []int, sc scenario, ex exports) (pair [2]result, err error) {
	var tgts [2]*target
	keep := false
	defer func() {
		for _, t := range tgts {
			if t == nil {
				continue
			}
			if keep {
				fmt.Fprintf(os.Stderr, "e2e: kept %s\n", t)
			} else if derr := ts.drop(context.WithoutCancel(ctx), t); derr != nil && err == nil {
				err = derr
			}
		}
	}()
	for i := range tgts {
		if tgts[i], err = ts.fresh(ctx); err != nil {
			return pair, err
		}
		if !sc.prepare {
			continue
		}
		// The state to start from: the initial export, loaded by one
		// program for both (the baseline, the faster one).
		if _, err := progs[1].run(ctx, self, ex.initial, tgts[i]); err != nil {
			return pair, fmt.Errorf("preparing: %w", err)
		}
		if err := ts.settle(ctx, tgts[i]); err != nil {
			return pair, err
		}
	}

	csvPath, rows := ex.initial, ex.initialRows
	if sc.changed {
		csvPath, rows = ex.changed, ex.changedRows
	}
	for _, i := range order {
		if pair[i], err = runMeasured(ctx, ts, self, progs[i], csvPath, tgts[i]); err != nil {
			return pair, err
		}
	}

	var dumps [2][]string
	for i, t := range tgts {
		if dumps[i], err = ts.dump(ctx, t); err != nil {
			return pair, err
		}
	}
	if err := compareDumps(progs[0].name, dumps[0], progs[1].name, dumps[1]); err != nil {
		keep = true
		return pair, err
	}
	if got := countUsers(dumps[0]); got != rows {
		keep = true
		return pair, fmt.Errorf("both programs left %d users, the export has %d", got, rows)
	}
	return pair, nil
}

// thousands writes n with commas: 1,234,567.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

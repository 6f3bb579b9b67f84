// Command rabbitsync syncs a directory file (users with tags and password
// hashes, vhosts, and each user's permissions per vhost) into RabbitMQ
// through its management HTTP API: dss applying to an application behind
// an API, on a real server.
//
//	go run ./examples/rabbitsync                       # its testdata directory into the local broker
//	go run ./examples/rabbitsync -dry-run              # print the plan only
//	go run ./examples/rabbitsync -url http://admin:secret@mq.example:15672 -dir directory.json
//	go run ./examples/rabbitsync -concurrency 16 -rate 100
//	go run ./examples/rabbitsync -out plan.json        # save the plan for review
//	go run ./examples/rabbitsync -plan plan.json       # apply the reviewed plan
//
// The destination is imported with GET /api/users, /api/vhosts and
// /api/permissions; the plan is applied with one PUT or DELETE per action,
// on -concurrency workers, under -rate requests a second, retrying what
// the server answers 429 or 503 (after its Retry-After) and connections
// that fail or reset. The sync manages only the users and vhosts that carry
// its tag (-managed-tag, which it writes on all it creates) and the
// permissions between them: guest, the administrators and everything else
// is never imported, so never changed or deleted, and a directory that
// names one of them is refused.
//
// Password hashes are secrets (dss:"password_hash,secret"): no output of
// the program, and no plan file, holds one, and the password in -url is
// printed as xxxxx.
//
// Exit status: 0 when the plan was applied or there was nothing to do; 1 on
// error or when the guards refuse the plan, in every mode; with -dry-run
// -detailed-exitcode, 2 when there are changes.
package main

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"

	"golang.org/x/time/rate"

	"github.com/datastoresync/dss"
	"github.com/datastoresync/dss/internal/planfile"
)

// The directory that ships with the example (go run ./examples/rabbitsync
// -generate writes it again); -dir reads another.
//
//go:embed testdata/directory.json
var defaultDirectory []byte

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

// defaultURL is the local broker's management API, as `rabbitmq-plugins
// enable rabbitmq_management` starts it.
const defaultURL = "http://guest:guest@127.0.0.1:15672"

// builtinTags are RabbitMQ's own user tags: a sync that managed the users
// with one of them would take over every administrator, say.
var builtinTags = []string{"administrator", "impersonator", "management", "monitoring", "policymaker"}

// options are one run's settings.
type options struct {
	dir              string     // the directory file; "" is the embedded one
	directory        *Directory // the directory itself, instead of dir (tests, -bench)
	url              string
	managed          string
	workers          int
	rate             float64
	dryRun, detailed bool
	out, plan        string
	guard            dss.Guard
	verbose          bool
}

// run is the whole program, apart from the process: tests call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rabbitsync", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.dir, "dir", "", "the directory file, JSON (default: the example's testdata/directory.json)")
	fs.StringVar(&o.url, "url", defaultURL, "the management API, with the credentials as its user info")
	fs.StringVar(&o.managed, "managed-tag", "rabbitsync", "the tag of the users and vhosts this sync manages; it never touches any other")
	fs.IntVar(&o.workers, "concurrency", 8, "requests in flight at once")
	fs.Float64Var(&o.rate, "rate", 0, "requests a second at most (0: no limit)")
	fs.BoolVar(&o.dryRun, "dry-run", false, "print the plan and change nothing")
	fs.BoolVar(&o.detailed, "detailed-exitcode", false, "with -dry-run: exit 2 when there are changes")
	fs.StringVar(&o.out, "out", "", "write the plan to this JSON file and change nothing")
	fs.StringVar(&o.plan, "plan", "", "apply the plan saved in this JSON file, if the directory and the broker make exactly that plan now")
	maxDeletes := fs.Int("max-deletes", 0, "refuse a plan that deletes more users, vhosts or permissions than this (0: dss's default, 500; -1: no limit)")
	maxFraction := fs.Float64("max-delete-fraction", 0, "refuse a plan that deletes more than this fraction of the users, vhosts or permissions, once more than 10 would go (0: dss's default, 0.5; 1: no limit)")
	allowEmpty := fs.Bool("allow-empty-source", false, "apply a directory with no users, vhosts or permissions even when the broker has some (by default such a directory is taken as broken)")
	fs.BoolVar(&o.verbose, "verbose", false, "print every action of a long plan, not only its first lines")
	gen := fs.String("generate", "", "write a generated directory to this file and exit (see -gen-*)")
	var g genSpec
	fs.IntVar(&g.users, "gen-users", 200, "with -generate: users")
	fs.IntVar(&g.vhosts, "gen-vhosts", 20, "with -generate: vhosts")
	fs.IntVar(&g.perms, "gen-permissions", 200, "with -generate: permissions")
	fs.StringVar(&g.prefix, "gen-prefix", "rabbitsync-", "with -generate: the prefix of every user and vhost name")
	bench := fs.Bool("bench", false, "measure syncs of 2,000 users, 200 vhosts and 2,000 permissions into -url at 1 and 8 workers, and exit")
	benchRuns := fs.Int("bench-runs", 3, "with -bench: runs of each measurement")
	if err := fs.Parse(args); err != nil {
		return exitError
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "rabbitsync: unexpected arguments: %s\n", strings.Join(fs.Args(), " "))
		return exitError
	}
	o.guard = dss.Guard{MaxDeletes: *maxDeletes, MaxDeleteFraction: *maxFraction, AllowEmptySource: *allowEmpty}
	var (
		code int
		err  error
	)
	switch {
	case *gen != "":
		code, err = exitOK, writeDirectory(*gen, generate(g))
	case *bench:
		code, err = exitOK, runBench(ctx, o, *benchRuns, stdout)
	default:
		code, _, err = syncBroker(ctx, o, stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "rabbitsync: %v\n", err)
		return exitError
	}
	return code
}

// syncBroker is one run: import the directory and the broker, plan, print,
// and apply.
func syncBroker(ctx context.Context, o options, stdout io.Writer) (int, *dss.Report, error) {
	if o.workers < 1 {
		return exitError, nil, fmt.Errorf("-concurrency %d: want at least 1", o.workers)
	}
	if o.rate < 0 {
		return exitError, nil, fmt.Errorf("-rate %g: want 0 (no limit) or more", o.rate)
	}
	if o.managed == "" || strings.Contains(o.managed, ",") || slices.Contains(builtinTags, o.managed) {
		return exitError, nil, fmt.Errorf("-managed-tag %q: want a tag of this sync's own, without commas, not one of RabbitMQ's (%s)",
			o.managed, strings.Join(builtinTags, ", "))
	}
	c, err := newClient(o.url, o.workers)
	if err != nil {
		return exitError, nil, err
	}
	dir := o.directory
	if dir == nil {
		dir, err = loadDirectory(o.dir)
	}
	if err != nil {
		return exitError, nil, err
	}
	ds := dss.New[Broker, Broker]()
	dst := ds.Dest.Branches
	dst.Users.Guard, dst.Vhosts.Guard, dst.Permissions.Guard = o.guard, o.guard, o.guard
	sourceImporters(ds.Source, dir, o.managed)
	b := newBroker(c, o.managed)
	b.importers(ds.Dest)

	// A saved plan leaves the password hashes out: applying one imports
	// the directory too, and takes them from it.
	if err := ds.Import(ctx); err != nil {
		return exitError, nil, fmt.Errorf("%w (API %s)", err, c.where())
	}
	var plan *dss.Plan
	if o.plan != "" {
		// The file is trusted for nothing: the plan the directory and the
		// broker make now is applied, and only if it is the saved one.
		saved, err := planfile.Read(o.plan)
		if err != nil {
			return exitError, nil, err
		}
		if plan, err = ds.Replan(saved); err != nil {
			return exitError, nil, fmt.Errorf("%s: %w", o.plan, err)
		}
	} else if plan, err = ds.Plan(); err != nil {
		return exitError, nil, err
	}
	if err := planfile.Print(stdout, plan, o.verbose || o.out != ""); err != nil {
		return exitError, nil, err
	}
	if err := plan.Refusal(); err != nil {
		if o.out != "" {
			if rerr := os.Remove(o.out); rerr == nil {
				fmt.Fprintf(stdout, "removed the older plan %s\n", o.out)
			} else if !errors.Is(rerr, os.ErrNotExist) {
				return exitError, nil, fmt.Errorf("%w; and the older plan %s stays: %v", err, o.out, rerr)
			}
		}
		return exitError, nil, err
	}
	if err := b.collisions(plan); err != nil {
		return exitError, nil, err
	}
	switch {
	case o.out != "":
		if err := planfile.Write(o.out, plan); err != nil {
			return exitError, nil, err
		}
		fmt.Fprintf(stdout, "plan written to %s; apply it with -plan %s\n", o.out, o.out)
		return exitOK, nil, nil
	case len(plan.Actions) == 0:
		fmt.Fprintln(stdout, "nothing to do")
		return exitOK, nil, nil
	case o.dryRun:
		fmt.Fprintln(stdout, "dry run: nothing applied")
		if o.detailed {
			return exitChanges, nil, nil
		}
		return exitOK, nil, nil
	}
	// One request per call of the template (its methods take one action),
	// so the rate limit is requests a second. Temporary errors are retried
	// with dss's default policy: 5 tries within a minute.
	opts := []dss.ApplyOption{dss.Workers(o.workers)}
	if o.rate > 0 {
		opts = append(opts, dss.RateLimit(rate.NewLimiter(rate.Limit(o.rate), 1)))
	}
	report, err := ds.Apply(ctx, plan, dss.Methods(&Template{c: c, managed: o.managed}), opts...)
	if report != nil {
		fmt.Fprintln(stdout, report)
	}
	if err != nil {
		return exitError, report, err
	}
	fmt.Fprintf(stdout, "applied %d actions to %s\n", report.Applied, c.where())
	return exitOK, report, nil
}

// loadDirectory reads the directory file at path, or the embedded one.
func loadDirectory(path string) (*Directory, error) {
	if path == "" {
		return readDirectory(bytes.NewReader(defaultDirectory), "testdata/directory.json")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readDirectory(bufio.NewReader(f), path)
}

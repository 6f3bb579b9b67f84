package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/datastoresync/dss"
	"github.com/datastoresync/dss/internal/planfile"
)

// planKeyEnv names the environment variable that may hold a plan key
// itself, for a run where a file is not at hand (a CI secret).
const planKeyEnv = "USERSYNC_PLAN_KEY"

// planKeys reads the keys that authenticate saved plans: the files of
// -plan-key-file in order, then $USERSYNC_PLAN_KEY if set. The first key
// tags the plans -out writes; -plan accepts any of them. A key is the text
// of its file (or variable) without the white space around it, at least
// dss.MinPlanKeySize bytes: `openssl rand -hex 32 > plan.key`. Errors name
// the file or the variable, never what it holds.
func planKeys(files []string, env string) ([]dss.PlanKey, error) {
	var keys []dss.PlanKey
	add := func(where string, secret []byte) error {
		secret = []byte(strings.TrimSpace(string(secret)))
		if len(secret) < dss.MinPlanKeySize {
			return fmt.Errorf("plan key %s: %d bytes, want at least %d (make one with: openssl rand -hex 32)", where, len(secret), dss.MinPlanKeySize)
		}
		keys = append(keys, dss.PlanKey{Secret: secret})
		return nil
	}
	for _, f := range files {
		secret, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("plan key: %w", err)
		}
		if err := add(f, secret); err != nil {
			return nil, err
		}
	}
	if env != "" {
		if err := add("$"+planKeyEnv, []byte(env)); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

// savedPlan reads the plan that -plan names and readies it to apply.
//
// With plan keys, the file must carry a tag that one of them verifies,
// which is checked at once, before anything is imported, so that a dry run
// refuses a forged file as the real run does; then the database is
// imported, and dss.Datastore.Apply checks the fingerprints and every
// action. The export is not needed: it may have changed since.
//
// Without keys, the file is trusted for nothing: the export and the
// database are imported again, and the plan applied is the one they make
// now, only if it is the saved plan, action by action and value by value
// (dss.Datastore.Replan).
func savedPlan(ctx context.Context, ds *dss.Datastore[Source, Dest], path string, stdout io.Writer) (*dss.Plan, error) {
	saved, err := planfile.Read(path)
	if err != nil {
		return nil, err
	}
	if len(ds.PlanKeys) > 0 {
		if err := ds.Authenticate(saved); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if err := ds.ImportDest(ctx); err != nil {
			return nil, err
		}
		fmt.Fprintf(stdout, "%s carries a valid tag of a plan key\n", path)
		return saved, nil
	}
	if err := ds.Import(ctx); err != nil {
		return nil, err
	}
	plan, err := ds.Replan(saved)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	fmt.Fprintf(stdout, "%s is the plan the export and the database make now\n", path)
	return plan, nil
}

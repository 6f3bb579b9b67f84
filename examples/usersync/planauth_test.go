package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// testKey is a plan key for tests: 64 hexadecimal digits, as
// `openssl rand -hex 32` makes one.
const testKey = "5f1d0c9a3e7b2f4a8c6d1e0b9a7f3c2d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8091"

// writeKey writes a key file and returns its path.
func writeKey(t *testing.T, key string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "plan.key")
	require.NoError(t, os.WriteFile(p, []byte(key+"\n"), 0o600))
	return p
}

// keyFlags are the flags of a run with the test's plan key.
func keyFlags(t *testing.T) []string { return []string{"-plan-key-file", writeKey(t, testKey)} }

// forgeEmail makes the careful edit of issue 20, point 0, in a plan that
// renames 20240001: the action becomes update_email to the attacker's
// address, with the current email as dest_value and the carried source
// object made to agree (email changed, name and _lastfirst set back to
// the database's), so that every check of the plan passes.
func forgeEmail(t *testing.T, planPath string) {
	t.Helper()
	data, err := os.ReadFile(planPath)
	require.NoError(t, err)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc map[string]any
	require.NoError(t, dec.Decode(&doc))
	actions := doc["actions"].([]any)
	require.Len(t, actions, 1)
	a := actions[0].(map[string]any)
	require.Equal(t, "update_name", a["name"])
	a["name"], a["attr"] = "update_email", "email"
	a["value"], a["dest_value"] = "attacker@evil.example", "chidi.okafor@school.example"
	src := a["source"].(map[string]any)
	src["email"], src["name"], src["_lastfirst"] = "attacker@evil.example", "Chidi Okafor", "Okafor, Chidi"
	edited, err := json.MarshalIndent(doc, "", "  ")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(planPath, edited, 0o644))
}

// TestForgedPlanRefused is issue 20, point 0, through usersync: a plan saved
// with -out (one rename) and edited with care into a change of the user's
// email to the attacker's was applied by -plan, exit 0: a password-reset
// takeover. It is refused now, and the database is unchanged: by default
// because the export and the database, imported again, make another plan;
// with a plan key because the file's tag does not verify.
func TestForgedPlanRefused(t *testing.T) {
	for _, b := range backends(t) {
		renamed := writeCSV(t, t.TempDir(), strings.Replace(defaultCSV, `"Okafor, Chidi"`, `"Okafor-Bello, Chidi"`, 1))
		for _, mode := range []struct {
			name  string
			flags []string
			env   string
			want  string
		}{
			{"made again", nil, "",
				`plan.json: dss: replan source to dest: the saved plan is not the plan the trees make now: action 1: the saved plan has update_email(idnumber='20240001', attr="email", value=[redacted]), the trees make update_name(idnumber='20240001', attr="name", value=[redacted]); nothing applied`},
			{"key file", keyFlags(t), "",
				`plan.json: dss: authenticate source to dest: the plan is not authenticated: its tag does not verify under key "`},
			{"key in the environment", nil, testKey,
				`plan.json: dss: authenticate source to dest: the plan is not authenticated: its tag does not verify under key "`},
		} {
			t.Run(b.name+"/"+mode.name, func(t *testing.T) {
				t.Setenv(planKeyEnv, mode.env)
				b := b
				b.flags = append(slices.Clone(b.flags), mode.flags...)
				code, _, errOut := runSync(t, b)
				require.Equal(t, exitOK, code, errOut)
				before := snapshot(t, b.db)

				planPath := filepath.Join(t.TempDir(), "plan.json")
				code, out, errOut := runSync(t, b, "-csv", renamed, "-out", planPath)
				require.Equal(t, exitOK, code, errOut)
				require.Equal(t, []string{`update_name(idnumber='20240001', attr="name", value="Chidi Okafor-Bello")`}, planLines(out))
				forgeEmail(t, planPath)

				for _, dry := range []bool{true, false} {
					args := []string{"-csv", renamed, "-plan", planPath}
					if dry {
						args = append(args, "-dry-run")
					}
					code, out, errOut = runSync(t, b, args...)
					require.Equal(t, exitError, code, out)
					require.Contains(t, errOut, mode.want)
					require.NotContains(t, out+errOut, "attacker")
					require.NotContains(t, out+errOut, testKey)
					require.Equal(t, before, snapshot(t, b.db), "the forged plan changed the database")
				}
				require.Contains(t, before[0], "20240001|Chidi Okafor|chidi.okafor@school.example|mathematics")

				// The plan as it was written applies.
				code, _, errOut = runSync(t, b, "-csv", renamed, "-out", planPath)
				require.Equal(t, exitOK, code, errOut)
				code, out, errOut = runSync(t, b, "-csv", renamed, "-plan", planPath)
				require.Equal(t, exitOK, code, errOut)
				require.Contains(t, out, "applied 1 actions")
				require.Contains(t, snapshot(t, b.db)[0], "20240001|Chidi Okafor-Bello|chidi.okafor@school.example|mathematics")
			})
		}
	}
}

// TestPlanKeyFlags: keys rotate, a plan without a valid tag is refused
// when a key is given, a key with a plan needs no export, and a key is
// never printed.
func TestPlanKeyFlags(t *testing.T) {
	b := backends(t)[0]
	t.Setenv(planKeyEnv, "")
	code, _, errOut := runSync(t, b)
	require.Equal(t, exitOK, code, errOut)
	renamed := writeCSV(t, t.TempDir(), strings.Replace(defaultCSV, `"Okafor, Chidi"`, `"Okafor-Bello, Chidi"`, 1))
	oldKey, newKey := writeKey(t, testKey), writeKey(t, strings.Repeat("ab", 32))
	planPath := filepath.Join(t.TempDir(), "plan.json")

	// A plan tagged with the old key, before the rotation.
	code, out, errOut := runSync(t, b, "-csv", renamed, "-out", planPath, "-plan-key-file", oldKey)
	require.Equal(t, exitOK, code, errOut)
	require.Contains(t, out, "tagged with the plan key")
	data, err := os.ReadFile(planPath)
	require.NoError(t, err)
	require.Contains(t, string(data), `"mac"`)
	require.NotContains(t, string(data), testKey)

	t.Run("the new key alone refuses it", func(t *testing.T) {
		code, out, errOut := runSync(t, b, "-plan", planPath, "-plan-key-file", newKey)
		require.Equal(t, exitError, code, out)
		require.Contains(t, errOut, "which is not one of this datastore's PlanKeys")
	})
	t.Run("a plan without a tag is refused when a key is given", func(t *testing.T) {
		untagged := filepath.Join(t.TempDir(), "plan.json")
		code, _, errOut := runSync(t, b, "-csv", renamed, "-out", untagged)
		require.Equal(t, exitOK, code, errOut)
		code, _, errOut = runSync(t, b, "-plan", untagged, "-plan-key-file", oldKey)
		require.Equal(t, exitError, code)
		require.Contains(t, errOut, "it has no tag, and this datastore applies only plans tagged with one of its PlanKeys")
	})
	t.Run("a short key is a usage error", func(t *testing.T) {
		short := writeKey(t, "hunter2-hunter2")
		code, out, errOut := runSync(t, b, "-plan", planPath, "-plan-key-file", short)
		require.Equal(t, exitUsage, code)
		require.Empty(t, out)
		require.Equal(t, "usersync: plan key "+short+": 15 bytes, want at least 32 (make one with: openssl rand -hex 32)\n", errOut)
		t.Setenv(planKeyEnv, "hunter2-hunter2")
		code, _, errOut = runSync(t, b, "-plan", planPath)
		require.Equal(t, exitUsage, code)
		require.Equal(t, "usersync: plan key $USERSYNC_PLAN_KEY: 15 bytes, want at least 32 (make one with: openssl rand -hex 32)\n", errOut)
	})
	t.Run("new and old keys: applied, with no export", func(t *testing.T) {
		// The default export does not rename anyone: with a key the plan
		// does not need the export it was made from.
		code, out, errOut := runSync(t, b, "-plan", planPath, "-plan-key-file", newKey, "-plan-key-file", oldKey)
		require.Equal(t, exitOK, code, errOut)
		require.Contains(t, out, "carries a valid tag of a plan key")
		require.Contains(t, out, "applied 1 actions")
		require.NotContains(t, out+errOut, testKey)
	})
}

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/datastoresync/dss"
	"github.com/stretchr/testify/require"
)

// reviewFiles reads the page and the Markdown summary a run wrote.
func reviewFiles(t *testing.T, page, md string) (string, string) {
	t.Helper()
	p, err := os.ReadFile(page)
	require.NoError(t, err)
	m, err := os.ReadFile(md)
	require.NoError(t, err)
	return string(p), string(m)
}

// markdownActions is the action lines of a Markdown summary's code blocks,
// without the destination's value an update line ends with.
func markdownActions(md string) []string {
	var out []string
	for _, l := range planLines(md) {
		l, _, _ = strings.Cut(l, "  # was ")
		out = append(out, l)
	}
	return out
}

// pageIDs is the set of idnumbers in the rows of a page's data.
func pageIDs(page string) []string {
	var ids []string
	for _, m := range regexp.MustCompile(`"i":"'(\d+|[a-z]+)'"`).FindAllStringSubmatch(page, -1) {
		ids = append(ids, m[1])
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// TestReviewFiles: -html and -markdown write the plan's page and summary, in
// a dry run as with -out, and they hold the plan -out saves.
func TestReviewFiles(t *testing.T) {
	b := backends(t)[0]
	code, _, errOut := runSync(t, b)
	require.Equal(t, exitOK, code, errOut)
	before := snapshot(t, b.db)
	export := editedCSV(t)
	dir := t.TempDir()
	at := func(name string) string { return filepath.Join(dir, name) }

	code, out, errOut := runSync(t, b, "-csv", export, "-dry-run", "-show-values", "-html", at("dry.html"), "-markdown", at("dry.md"))
	require.Equal(t, exitOK, code, errOut)
	require.Contains(t, out, "page written to "+at("dry.html")+"\n")
	require.Contains(t, out, "summary written to "+at("dry.md")+"\n")
	code, out, errOut = runSync(t, b, "-csv", export, "-out", at("plan.json"), "-show-values", "-html", at("out.html"), "-markdown", at("out.md"))
	require.Equal(t, exitOK, code, errOut)
	require.Equal(t, before, snapshot(t, b.db))
	printed := planLines(out)
	require.Len(t, printed, 6)

	// The dry run and -out write the same page and summary.
	page, md := reviewFiles(t, at("out.html"), at("out.md"))
	dryPage, dryMD := reviewFiles(t, at("dry.html"), at("dry.md"))
	require.Equal(t, page, dryPage)
	require.Equal(t, md, dryMD)

	// They hold the plan -out saved: every action, as Print writes it.
	data, err := os.ReadFile(at("plan.json"))
	require.NoError(t, err)
	var saved dss.Plan
	require.NoError(t, json.Unmarshal(data, &saved))
	var want, wantIDs []string
	for _, a := range saved.Actions {
		want = append(want, a.String())
		wantIDs = append(wantIDs, a.ID)
	}
	slices.Sort(wantIDs)
	wantIDs = slices.Compact(wantIDs)
	require.ElementsMatch(t, want, markdownActions(md))
	require.ElementsMatch(t, printed, markdownActions(md))
	require.Equal(t, wantIDs, pageIDs(page))
	require.Contains(t, md, "✅ **Accepted by the guards: 6 actions, changing 5 objects**")
	require.Contains(t, md, "| users | 0 | 2 | 0 | 0 | 1 | 37 |\n")
	require.Contains(t, md, `update_name(idnumber='20240001', attr="name", value="Chidi Okafor-Bello")  # was "Chidi Okafor"`)
	require.Contains(t, page, `"a":"name","o":"\"Chidi Okafor\"","n":"\"Chidi Okafor-Bello\""`)

	// Without -show-values, the trees redact values, and so do the page and
	// the summary.
	code, _, errOut = runSync(t, b, "-csv", export, "-dry-run", "-html", at("r.html"), "-markdown", at("r.md"))
	require.Equal(t, exitOK, code, errOut)
	page, md = reviewFiles(t, at("r.html"), at("r.md"))
	for _, s := range []string{page, md} {
		require.NotContains(t, s, "Okafor-Bello")
		require.Contains(t, s, "[redacted]")
	}
}

// TestReviewFilesRefused: a refused plan's page and summary say why first,
// and the run fails as it does without them.
func TestReviewFilesRefused(t *testing.T) {
	b := backends(t)[0]
	code, _, errOut := runSync(t, b)
	require.Equal(t, exitOK, code, errOut)
	before := snapshot(t, b.db)
	lines := strings.SplitAfter(defaultCSV, "\n")
	export := writeCSV(t, t.TempDir(), strings.Join(lines[:3], "")) // 2 of 40 users
	dir := t.TempDir()
	page, md := filepath.Join(dir, "plan.html"), filepath.Join(dir, "plan.md")
	for _, mode := range [][]string{{"-dry-run"}, {}} {
		code, out, errOut := runSync(t, b, append(mode, "-csv", export, "-html", page, "-markdown", md)...)
		require.Equal(t, exitError, code, out)
		require.Contains(t, errOut, "refused by the branch's guard")
		require.Equal(t, before, snapshot(t, b.db))
		p, m := reviewFiles(t, page, md)
		require.Contains(t, p, `<section id="verdict" class="verdict refused"><h2>Refused: Apply will not run this plan</h2>`)
		require.Contains(t, p, "the plan has 38 deletes of 40 (95.0%)")
		require.Contains(t, m, "⛔ **Refused: Apply will not run this plan**\n\n```\ndss: dest.users: refused by the branch's guard: the plan has 38 deletes of 40 (95.0%)")
		require.NoError(t, os.Remove(page))
	}
}

// TestReviewFileUnwritable: a page that cannot be written fails the run
// before anything is applied.
func TestReviewFileUnwritable(t *testing.T) {
	b := backends(t)[0]
	missing := filepath.Join(t.TempDir(), "no-such-dir", "plan.html")
	code, out, errOut := runSync(t, b, "-html", missing)
	require.Equal(t, exitError, code, out)
	require.Contains(t, errOut, "no-such-dir")
	require.NotContains(t, out, "applied")
	require.Empty(t, snapshot(t, b.db)[0], "the run applied its plan")
}

// TestREADMEMarkdown: the README shows the Markdown summary of the example's
// plan on a new database as usersync writes it.
func TestREADMEMarkdown(t *testing.T) {
	b := backends(t)[0]
	md := filepath.Join(t.TempDir(), "plan.md")
	code, out, errOut := runSync(t, b, "-dry-run", "-markdown", md)
	require.Equal(t, exitOK, code, errOut+out)
	data, err := os.ReadFile(md)
	require.NoError(t, err)
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	require.Contains(t, string(readme), "````markdown\n"+string(data)+"````\n", "the README's Markdown of the example plan is not what usersync writes")
}

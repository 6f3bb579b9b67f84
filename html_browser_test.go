package dss

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/performance"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// The browser tests open the pages WriteHTML writes in a real Chromium,
// driven through chromedp: headless, with a fresh profile, nothing from the
// network, under a timeout.

// browser starts Chromium from DSS_TEST_CHROMIUM, or skips the test.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := os.Getenv("DSS_TEST_CHROMIUM")
	if path == "" {
		t.Skip("DSS_TEST_CHROMIUM is unset: set it to a Chromium binary (apt-get install chromium; /usr/bin/chromium) to test the plan page in a browser")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1200, 900),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
	}
	ctx, cancelTimeout := context.WithTimeout(context.Background(), 90*time.Second)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		cancelTimeout()
	})
	require.NoError(t, chromedp.Do(bctx), "start %s", path)
	return bctx
}

// pageFile writes the plan's page into a temporary directory and returns
// its file URL.
func pageFile(t *testing.T, p *Plan) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "plan.html")
	var buf bytes.Buffer
	require.NoError(t, p.WriteHTML(&buf))
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
	return (&url.URL{Scheme: "file", Path: path}).String()
}

// search types q into the page's search box and waits for its answer.
func search(ctx context.Context, q string) (string, error) {
	if err := chromedp.Do(ctx,
		chromedp.Evaluate[chromedp.Void](`document.getElementById("q").value = ""`),
		chromedp.SendKeys(chromedp.ID("q"), q),
		// The script marks the answer with the query it answers.
		chromedp.WaitVisible(chromedp.CSS(`#found[data-q="`+strings.ToLower(q)+`"]`)),
	); err != nil {
		return "", err
	}
	return chromedp.Run(ctx, chromedp.Text(chromedp.ID("found")))
}

// open navigates to the page and waits for its script to have run, which
// also shows that the page's CSP let it run.
func open(ctx context.Context, u string) error {
	return chromedp.Do(ctx, chromedp.Navigate(u), chromedp.WaitVisible(chromedp.CSS(`html[data-ready="1"]`)))
}

// texts is the text of every element the CSS selector finds.
func texts(ctx context.Context, css string) ([]string, error) {
	return chromedp.Run(ctx, chromedp.Evaluate[[]string](fmt.Sprintf(
		`Array.from(document.querySelectorAll(%q)).map(e => e.textContent)`, css)))
}

func TestPageInBrowser(t *testing.T) {
	ctx := browser(t)
	ds, _ := scenario(t)
	p := mustPlan(t, ds)

	require.NoError(t, open(ctx, pageFile(t, p)))
	verdict, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("verdict")))
	require.NoError(t, err)
	users, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("table.counts tbody tr")))
	require.NoError(t, err)
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll("details.group table.rows tbody tr")).map(tr => Array.from(tr.cells).map(c => c.innerText).join(" | "))`))
	require.NoError(t, err)
	require.Equal(t, "Accepted by the guards: 8 actions, changing 6 objects", strings.TrimSpace(verdict))
	require.Equal(t, strings.Fields("users 1 1 1 1 1 0"), strings.Fields(users))
	require.Equal(t, []string{
		"'2'",
		`'1' | name | "A Old" | "A B"`,
		`'1' | tags | "t" | "u"`, // added | removed
		"'9'",
		"'y'",
		`'x' | members |  | "9"`,
		"'old'",
	}, rows)

	found, err := search(ctx, "A Old")
	require.NoError(t, err)
	require.Equal(t, "1 matching row", found)
	hit, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#results tr.hit")))
	require.NoError(t, err)
	require.Equal(t, strings.Fields(`users: update '1' name: "A Old" → "A B"`), strings.Fields(hit))
	found, err = search(ctx, "nobody")
	require.NoError(t, err)
	require.Equal(t, "no match", found)
}

func TestPageHostileValuesInBrowser(t *testing.T) {
	ctx := browser(t)
	// A dialog (alert) or a console message from a blocked script would
	// mean a value reached the page as markup.
	var dialogs, violations, exceptions atomic.Int32
	require.NoError(t, chromedp.Listen(ctx, func(ev any) {
		switch e := ev.(type) {
		case *page.EventJavascriptDialogOpening:
			dialogs.Add(1)
		case *cdplog.EventEntryAdded:
			if strings.Contains(e.Entry.Text, "Content Security Policy") {
				violations.Add(1)
			}
		case *runtime.EventExceptionThrown:
			exceptions.Add(1)
		}
	}))
	_, err := chromedp.Call(ctx, cdplog.Enable, cdp.Empty{})
	require.NoError(t, err)
	require.NoError(t, open(ctx, pageFile(t, hostilePlan())))
	pwned, err := chromedp.Run(ctx, chromedp.Evaluate[string](`String(document.documentElement.dataset.pwned)`))
	require.NoError(t, err)
	title, err := chromedp.Run(ctx, chromedp.Title())
	require.NoError(t, err)
	ids, err := texts(ctx, `details[data-g="0"] tbody td`)
	require.NoError(t, err)
	news, err := texts(ctx, `details[data-g="1"] tbody td.new`)
	require.NoError(t, err)
	olds, err := texts(ctx, `details[data-g="1"] tbody td.old`)
	require.NoError(t, err)
	added, err := texts(ctx, `details[data-g="2"] tbody .v.p`)
	require.NoError(t, err)
	require.Equal(t, "undefined", pwned, "a script from the plan's values ran")
	require.Equal(t, `dss plan: source</title><script> → dest (accepted)`, title)
	var wantIDs, wantNew, wantOld, wantAdded []string
	for _, h := range hostile {
		wantIDs = append(wantIDs, fmtID(h))
		wantNew = append(wantNew, fmtValue(h))
		wantOld = append(wantOld, fmtValue("was "+h))
		wantAdded = append(wantAdded, fmtValue(h))
	}
	require.Equal(t, wantIDs, ids)
	require.Equal(t, wantNew, news)
	require.Equal(t, wantOld, olds)
	require.Equal(t, wantAdded, added)

	// Searching for the markup finds it as text.
	found, err := search(ctx, "<script>")
	require.NoError(t, err)
	require.Equal(t, "6 matching rows", found)
	pwned, err = chromedp.Run(ctx, chromedp.Evaluate[string](`String(document.documentElement.dataset.pwned)`))
	require.NoError(t, err)
	require.Equal(t, "undefined", pwned)
	require.Zero(t, dialogs.Load(), "a dialog opened")
	require.Zero(t, exceptions.Load(), "the page's script failed")
	require.Zero(t, violations.Load(), "the page's CSP blocked something: a script or style of its own, or a value's")
}

// TestPage100kInBrowser opens the page of usersync's initial load at
// 100,000 users and searches it, logging how long that took from the
// navigation and how much memory the browser used:
// the page's JavaScript heap, and the PSS of all the browser's processes.
func TestPage100kInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the 100,000-action page is skipped")
	}
	ctx := browser(t)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate("about:blank")))
	t.Logf("browser PSS with a blank page: %.0f MiB", float64(browserPSS(t, ctx))/(1<<20))
	for _, c := range []struct {
		name  string
		plan  *Plan
		query string
		want  string
	}{
		{"initial-load-100k", bigPlan(100_000), "20099999", "1 matching row"},
		{"updates-100k", updatesPlan(100_000), "lovelace 49999", "1 matching row"},
		{"initial-load-1M", bigPlan(1_000_000), "20139999", "1 matching row"},
	} {
		t.Run(c.name, func(t *testing.T) {
			u := pageFile(t, c.plan)
			fi, err := os.Stat(strings.TrimPrefix(u, "file://"))
			require.NoError(t, err)
			require.Less(t, fi.Size(), int64(15<<20))
			start := time.Now()
			require.NoError(t, open(ctx, u))
			loaded := time.Since(start)
			found, err := search(ctx, c.query)
			require.NoError(t, err)
			answered := time.Since(start)
			require.Equal(t, c.want, found)
			if len(c.plan.Actions) > PageMaxActions {
				// Beyond the page's limits: the first actions of each group,
				// and a note that says how many are left out.
				found, err := search(ctx, "20999999")
				require.NoError(t, err)
				require.Equal(t, "no match", found)
				capped, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("capped")))
				require.NoError(t, err)
				require.Contains(t, capped, "860,000 actions are left out")
			}

			_, err = chromedp.Call(ctx, performance.Enable, performance.EnableParams{})
			require.NoError(t, err)
			metrics, err := chromedp.Call(ctx, performance.GetMetrics, cdp.Empty{})
			require.NoError(t, err)
			heap := 0.0
			for _, m := range metrics.Metrics {
				if m.Name == "JSHeapUsedSize" {
					heap = m.Value
				}
			}
			pss := browserPSS(t, ctx)
			t.Logf("%s: page %.1f MiB; loaded in %v, search answered %v after the navigation began; JS heap %.0f MiB; browser PSS %.0f MiB",
				c.name, float64(fi.Size())/(1<<20), loaded.Round(time.Millisecond), answered.Round(time.Millisecond), heap/(1<<20), float64(pss)/(1<<20))

			shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
			require.NoError(t, err)
			_, err = png.Decode(bytes.NewReader(shot))
			require.NoError(t, err)
			dir := os.Getenv("DSS_TEST_ARTIFACTS")
			if dir == "" {
				dir = t.TempDir()
			}
			out := filepath.Join(dir, "plan-"+c.name+".png")
			require.NoError(t, os.WriteFile(out, shot, 0o644))
			t.Logf("screenshot: %s", out)
		})
	}
}

// browserPSS is the proportional set size of the browser and every process
// it started (each process's own memory, and its share of what they map
// together), from /proc/PID/smaps_rollup.
func browserPSS(t *testing.T, ctx context.Context) int64 {
	proc := chromedp.FromContext(ctx).Browser.Process()
	entries, err := os.ReadDir("/proc")
	if proc == nil || err != nil {
		t.Logf("no browser process or no /proc: %v", err)
		return 0
	}
	children := map[int][]int{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// The fields after the command, which is in parentheses.
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		children[ppid] = append(children[ppid], pid)
	}
	var total int64
	var walk func(pid int)
	walk = func(pid int) {
		rollup, _ := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
		for line := range strings.Lines(string(rollup)) {
			if f := strings.Fields(line); len(f) == 3 && f[0] == "Pss:" {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				total += kb << 10
			}
		}
		for _, c := range children[pid] {
			walk(c)
		}
	}
	walk(proc.Pid)
	return total
}

// TestPageScreenshot takes the screenshot of a plan's page that the README
// shows; -update rewrites testdata/plan-page.png.
func TestPageScreenshot(t *testing.T) {
	ctx := browser(t)
	p := demoPlan(t)
	require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(1000, 900)))
	require.NoError(t, open(ctx, pageFile(t, p)))
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	img, err := png.Decode(bytes.NewReader(shot))
	require.NoError(t, err)
	require.Greater(t, img.Bounds().Dx(), 900)
	const golden = "testdata/plan-page.png"
	if *update {
		require.NoError(t, os.WriteFile(golden, shot, 0o644))
	}
	_, err = os.Stat(golden)
	require.NoError(t, err, "rerun with -update to take the README's screenshot")
}

// demoPlan is the plan the README's screenshot shows: a school's export
// against last term's accounts.
func demoPlan(t *testing.T) *Plan {
	t.Helper()
	src := []Record{
		{"idnumber": "20240001", "_lastfirst": "Okafor, Chidi", "email": "chidi.okafor@school.example", "department": "mathematics"},
		{"idnumber": "20240008", "_lastfirst": "Lindqvist, Astrid", "email": "astrid.lindqvist@school.example", "department": "physics"},
		{"idnumber": "20240015", "_lastfirst": "Nakamura, Haruto", "email": "haruto.nakamura@school.example", "department": "history"},
		{"idnumber": "20240022", "_lastfirst": "García, Lucía", "email": "lucia.garcia@school.example", "department": "languages"},
		{"idnumber": "20240029", "_lastfirst": "Mensah, Kofi", "email": "kofi.mensah@school.example", "department": "mathematics"},
		{"idnumber": "20240036", "_lastfirst": "Kowalska, Zofia", "email": "zofia.kowalska@school.example", "department": "physics"},
	}
	dst := []Record{
		{"idnumber": "20240001", "_first": "Chidi", "_last": "Okafor", "email": "c.okafor@school.example", "department": "mathematics"},
		{"idnumber": "20240008", "_first": "Astrid", "_last": "Lindquist", "email": "astrid.lindqvist@school.example", "department": "physics"},
		{"idnumber": "20240015", "_first": "Haruto", "_last": "Nakamura", "email": "haruto.nakamura@school.example", "department": "history"},
		{"idnumber": "20230990", "_first": "Ines", "_last": "Duarte", "email": "ines.duarte@school.example", "department": "history"},
	}
	groups := []Record{
		{"idnumber": "mathematics", "members": []string{"20240001"}},
		{"idnumber": "physics", "members": []string{"20240008"}},
		{"idnumber": "history", "members": []string{"20240015", "20230990"}},
		{"idnumber": "chess-club", "members": []string{"20230990"}},
	}
	ds, _ := newDatastore(t, src, dst, groups)
	p := mustPlan(t, ds)
	return p
}

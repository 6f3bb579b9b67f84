package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/datastoresync/dss"
	"github.com/stretchr/testify/require"
)

// The tests that need a broker read its management API's URL from
// DSS_TEST_RABBITMQ (http://guest:guest@127.0.0.1:15672 in .ci/run). Each
// test's users and vhosts have names and a managed tag of their own (the
// process id and a counter), so that two runs at once, and the example's own
// default run, never see each other's; each deletes what it made.

var testSeq atomic.Int64

// testBroker is one test's corner of the broker.
type testBroker struct {
	url, tag, prefix string
	c                *client
}

// newTestBroker skips the test without DSS_TEST_RABBITMQ; otherwise it
// returns a unique tag and prefix, and deletes everything with the tag when
// the test ends.
func newTestBroker(t *testing.T) *testBroker {
	t.Helper()
	raw := os.Getenv("DSS_TEST_RABBITMQ")
	if raw == "" {
		t.Skip("DSS_TEST_RABBITMQ is not set (e.g. http://guest:guest@127.0.0.1:15672); skipping the tests against RabbitMQ")
	}
	c, err := newClient(raw, 8)
	require.NoError(t, err)
	id := fmt.Sprintf("%d-%d-%d", os.Getpid(), time.Now().UnixNano()%1e6, testSeq.Add(1))
	tb := &testBroker{url: raw, tag: "rstest-" + id, prefix: "rstest-" + id + "-", c: c}
	t.Cleanup(func() {
		// Not through a sync: a bug in the sync must not reach past the
		// test's own names.
		if err := deletePrefixed(context.Background(), c, tb.prefix); err != nil {
			t.Errorf("clean up %s: %v", tb.prefix, err)
		}
	})
	return tb
}

// dirFile writes d to a file of the test's and returns its path.
func dirFile(t *testing.T, d *Directory) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "directory.json")
	require.NoError(t, writeDirectory(path, d))
	return path
}

// runArgs runs the program with args, and returns its exit code, stdout
// and stderr.
func runArgs(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// args are the flags of a run of this test with directory file dir.
func (tb *testBroker) args(dir string, more ...string) []string {
	return append([]string{"-url", tb.url, "-managed-tag", tb.tag, "-dir", dir}, more...)
}

// get decodes GET path of the API into out.
func (tb *testBroker) get(t *testing.T, path string, out any) {
	t.Helper()
	require.NoError(t, tb.c.do(context.Background(), http.MethodGet, path, nil, out, ""))
}

// raw returns the API's answer to GET path, as it is.
func (tb *testBroker) raw(t *testing.T, path string) string {
	t.Helper()
	var v any
	tb.get(t, path, &v)
	data, err := json.Marshal(v)
	require.NoError(t, err)
	return string(data)
}

// canLogIn reports whether user can authenticate to the API with password.
func (tb *testBroker) canLogIn(t *testing.T, user, password string) bool {
	t.Helper()
	c := *tb.c
	c.user, c.pass = user, password
	return c.do(context.Background(), http.MethodGet, "/api/whoami", nil, nil, "") == nil
}

// TestSyncConverges: a directory is synced into the broker, the next run
// has nothing to do (-dry-run -detailed-exitcode exits 0), a user logs in
// with the password whose hash the directory holds, and a changed
// directory (tags, a password, a description, a permission, a user and a
// vhost gone) converges too.
func TestSyncConverges(t *testing.T) {
	tb := newTestBroker(t)
	d := generate(genSpec{users: 30, vhosts: 5, perms: 40, prefix: tb.prefix})
	dir := dirFile(t, d)
	code, out, errOut := runArgs(t, tb.args(dir)...)
	require.Equal(t, exitOK, code, errOut)
	require.Contains(t, out, "applied 75 actions to http://127.0.0.1:15672")

	code, out, errOut = runArgs(t, tb.args(dir, "-dry-run", "-detailed-exitcode")...)
	require.Equal(t, exitOK, code, errOut)
	require.Contains(t, out, "nothing to do")
	require.True(t, tb.canLogIn(t, d.Users[2].Name, "pw-"+d.Users[2].Name), "user 2 (tag management) logs in")
	require.False(t, tb.canLogIn(t, d.Users[2].Name, "wrong"))

	// Change one of each, and remove a user and a vhost.
	d.Users[2].Tags = []string{"monitoring"}
	d.Users[3].PasswordHash = passwordHash(d.Users[3].Name, "new password")
	d.Vhosts[1].Description = "changed"
	d.Permissions[0].Write = "^nothing$"
	gone, goneVhost := d.Users[len(d.Users)-1].Name, d.Vhosts[len(d.Vhosts)-1].Name
	d.Users = d.Users[:len(d.Users)-1]
	d.Vhosts = d.Vhosts[:len(d.Vhosts)-1]
	var perms []DirPermission
	for _, p := range d.Permissions {
		if p.User != gone && p.Vhost != goneVhost {
			perms = append(perms, p)
		}
	}
	d.Permissions = perms
	dir = dirFile(t, d)
	code, out, errOut = runArgs(t, tb.args(dir, "-dry-run", "-detailed-exitcode")...)
	require.Equal(t, exitChanges, code, errOut)
	require.Contains(t, out, fmt.Sprintf("update_tags(idnumber='%s', attr=\"tags\", value=\"monitoring\")", d.Users[2].Name))
	require.Contains(t, out, fmt.Sprintf("update_password_hash(idnumber='%s', attr=\"password_hash\", value=[redacted])", d.Users[3].Name))
	require.Contains(t, out, fmt.Sprintf("old_users(idnumber='%s')", gone))
	code, _, errOut = runArgs(t, tb.args(dir)...)
	require.Equal(t, exitOK, code, errOut)
	code, out, errOut = runArgs(t, tb.args(dir, "-dry-run", "-detailed-exitcode")...)
	require.Equal(t, exitOK, code, errOut)
	require.Contains(t, out, "nothing to do")
	require.True(t, tb.canLogIn(t, d.Users[3].Name, "new password"))
	var who struct{ Tags apiTags }
	tb.get(t, "/api/users/"+d.Users[2].Name, &who)
	require.ElementsMatch(t, []string{"monitoring", tb.tag}, []string(who.Tags))
}

// TestUnmanagedUntouched: guest, vhost "/", and a user without the sync's
// tag (with a permission on one of the sync's vhosts) are neither changed
// nor deleted by a sync whose directory does not have them; a directory
// that names guest is refused before any request that changes anything.
func TestUnmanagedUntouched(t *testing.T) {
	tb := newTestBroker(t)
	ctx := context.Background()
	d := generate(genSpec{users: 5, vhosts: 2, perms: 5, prefix: tb.prefix})
	dir := dirFile(t, d)
	code, _, errOut := runArgs(t, tb.args(dir)...)
	require.Equal(t, exitOK, code, errOut)

	outsider := tb.prefix + "outsider"
	require.NoError(t, tb.c.do(ctx, http.MethodPut, "/api/users/"+outsider,
		map[string]string{"password": "x", "tags": "administrator"}, nil, ""))
	t.Cleanup(func() { tb.c.do(ctx, http.MethodDelete, "/api/users/"+outsider, nil, nil, "") })
	perm := "/api/permissions/" + d.Vhosts[0].Name + "/" + outsider
	require.NoError(t, tb.c.do(ctx, http.MethodPut, perm, map[string]string{"configure": "", "write": "", "read": ".*"}, nil, ""))
	before := map[string]string{}
	for _, p := range []string{"/api/users/guest", "/api/users/guest/permissions", "/api/vhosts/%2F", "/api/users/" + outsider, perm} {
		before[p] = tb.raw(t, p)
	}

	// The next directory has other users: the sync deletes its own old
	// ones, and nothing else.
	d2 := generate(genSpec{users: 5, vhosts: 2, perms: 5, prefix: tb.prefix + "v2-"})
	d2.Vhosts = d.Vhosts
	for i := range d2.Permissions {
		d2.Permissions[i].Vhost = d.Vhosts[i%2].Name
	}
	code, out, errOut := runArgs(t, tb.args(dirFile(t, d2), "-allow-empty-source", "-max-delete-fraction", "1")...)
	require.Equal(t, exitOK, code, errOut)
	require.Contains(t, out, fmt.Sprintf("old_users(idnumber='%s')", d.Users[0].Name))
	for p, want := range before {
		require.Equal(t, want, tb.raw(t, p), "GET %s after the sync", p)
	}

	// A directory that names guest is refused, and nothing is applied.
	d3 := generate(genSpec{users: 3, vhosts: 1, perms: 0, prefix: tb.prefix + "v3-"})
	d3.Users = append(d3.Users, DirUser{Name: "guest", PasswordHash: passwordHash("guest", "taken over"),
		HashingAlgorithm: "rabbit_password_hashing_sha256"})
	code, _, errOut = runArgs(t, tb.args(dirFile(t, d3), "-max-delete-fraction", "1", "-allow-empty-source")...)
	require.Equal(t, exitError, code)
	require.Contains(t, errOut, `the directory names 1 accounts or vhosts the broker has and this sync does not manage (no tag "`+tb.tag+`"), which it never touches: user "guest"`)
	for p, want := range before {
		require.Equal(t, want, tb.raw(t, p), "GET %s after the refused sync", p)
	}
	var u struct{ Name string }
	err := tb.c.do(ctx, http.MethodGet, "/api/users/"+d3.Users[0].Name, nil, &u, "")
	var ae *apiError
	require.True(t, errors.As(err, &ae) && ae.status == http.StatusNotFound, "the refused plan created nothing: %v", err)
}

// TestSecretsNeverShown: no password hash of the directory, new or changed,
// is in the program's output or in a plan file, in any mode; the saved plan
// applies (taking the hashes from the directory) and the users log in.
func TestSecretsNeverShown(t *testing.T) {
	tb := newTestBroker(t)
	d := generate(genSpec{users: 8, vhosts: 2, perms: 8, prefix: tb.prefix})
	hashes := []string{}
	noHash := func(what, text string) {
		t.Helper()
		for _, h := range hashes {
			require.NotContains(t, text, h, "%s shows a password hash", what)
		}
	}
	plan := filepath.Join(t.TempDir(), "plan.json")
	// Round 1 creates the users; round 2 changes every password.
	for round := 1; round <= 2; round++ {
		password := func(name string) string { return fmt.Sprintf("round %d of %s", round, name) }
		for i := range d.Users {
			d.Users[i].PasswordHash = passwordHash(d.Users[i].Name, password(d.Users[i].Name))
			hashes = append(hashes, d.Users[i].PasswordHash)
		}
		dir := dirFile(t, d)
		code, out, errOut := runArgs(t, tb.args(dir, "-out", plan, "-verbose")...)
		require.Equal(t, exitOK, code, errOut)
		noHash("-out's output", out+errOut)
		data, err := os.ReadFile(plan)
		require.NoError(t, err)
		noHash("the plan file", string(data))
		if round == 2 {
			require.Contains(t, out, fmt.Sprintf(`update_password_hash(idnumber='%s', attr="password_hash", value=[redacted])`, d.Users[0].Name))
			require.Contains(t, string(data), `"secret": true`)
		}
		code, out, errOut = runArgs(t, tb.args(dir, "-plan", plan, "-verbose")...)
		require.Equal(t, exitOK, code, errOut)
		noHash("-plan's output", out+errOut)
		require.Contains(t, out, fmt.Sprintf("applied %d actions", map[int]int{1: 18, 2: 8}[round]))
		for _, u := range d.Users {
			if len(u.Tags) > 0 { // a user with no tag may not use the management API
				require.True(t, tb.canLogIn(t, u.Name, password(u.Name)), "round %d: %s logs in", round, u.Name)
			}
		}
		code, out, errOut = runArgs(t, tb.args(dir, "-dry-run", "-detailed-exitcode")...)
		require.Equal(t, exitOK, code, errOut)
		require.Contains(t, out, "nothing to do")
	}
}

// TestURLPasswordNeverPrinted: the password in -url is in no output, when
// the API cannot be reached and when the URL does not parse.
func TestURLPasswordNeverPrinted(t *testing.T) {
	for _, u := range []string{
		"http://guest:hunter2@127.0.0.1:1",
		"http://guest:hunter2@[::1",
		"ftp://guest:hunter2@127.0.0.1:15672",
		"http://guest:hunter2@127.0.0.1:1/api%zz",
	} {
		code, out, errOut := runArgs(t, "-url", u, "-concurrency", "1")
		require.Equal(t, exitError, code, u)
		require.NotContains(t, out+errOut, "hunter2", u)
		require.NotEmpty(t, errOut)
	}
}

// fakeAPI serves the three lists the destination importers read, as
// RabbitMQ 3.10 does, with tags as lists, or as older brokers do, as text.
func fakeAPI(t *testing.T, textTags bool) *httptest.Server {
	tags := func(ts ...string) any {
		if textTags {
			return strings.Join(ts, ",")
		}
		return ts
	}
	answers := map[string]any{
		"/api/users": []map[string]any{
			{"name": "guest", "password_hash": "g", "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": tags("administrator")},
			{"name": "mine", "password_hash": "m", "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": tags("monitoring", "sync-a")},
			{"name": "theirs", "password_hash": "t", "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": tags("sync-b")},
		},
		"/api/vhosts": []map[string]any{
			{"name": "/", "description": "Default virtual host", "tags": tags()},
			{"name": "a/b", "description": "mine", "tags": tags("sync-a")},
		},
		"/api/permissions": []map[string]any{
			{"user": "guest", "vhost": "/", "configure": ".*", "write": ".*", "read": ".*"},
			{"user": "mine", "vhost": "/", "configure": "", "write": "", "read": ".*"},
			{"user": "mine", "vhost": "a/b", "configure": "", "write": ".*", "read": ".*"},
			{"user": "theirs", "vhost": "a/b", "configure": "", "write": "", "read": ".*"},
		},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "guest" || p != "guest" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		a, ok := answers[r.URL.Path]
		if r.Method != http.MethodGet || !ok {
			t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
			w.WriteHeader(http.StatusNotFound)
			return
		}
		json.NewEncoder(w).Encode(a)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestImportKeepsOnlyManaged: the destination importers leave out every
// user and vhost without the managed tag (guest, another sync's user, vhost
// "/") and every permission that is not a managed user's on a managed vhost,
// whether the API writes tags as lists or as text.
func TestImportKeepsOnlyManaged(t *testing.T) {
	for _, textTags := range []bool{false, true} {
		srv := fakeAPI(t, textTags)
		c, err := newClient(strings.Replace(srv.URL, "http://", "http://guest:guest@", 1), 1)
		require.NoError(t, err)
		tr := dss.NewTree[Broker]("dest")
		b := newBroker(c, "sync-a")
		b.importers(tr)
		require.NoError(t, tr.Import(context.Background()))
		var users, vhosts, perms []string
		for name, u := range tr.Branches.Users.All() {
			users = append(users, name+" "+u.Tags)
		}
		for name := range tr.Branches.Vhosts.All() {
			vhosts = append(vhosts, name)
		}
		for id := range tr.Branches.Permissions.All() {
			perms = append(perms, id)
		}
		require.Equal(t, []string{"mine monitoring"}, users, "text tags: %v", textTags)
		require.Equal(t, []string{"a/b"}, vhosts)
		require.Equal(t, []string{"a%2Fb/mine"}, perms)
		require.Equal(t, map[string]map[string]bool{"users": {"guest": true, "theirs": true}, "vhosts": {"/": true}}, b.unmanaged)
	}
}

// TestTemporaryErrors: a 429 or 503 is temporary, with the wait its
// Retry-After asks (seconds or a date), and so is a PUT answered 400
// user_already_exists (another run created the user first); any other
// status is final; a refused connection is temporary; an error answer's
// text is in the error with the request's password hash taken out.
func TestTemporaryErrors(t *testing.T) {
	var status atomic.Int64
	var header, body atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h, _ := header.Load().(string); h != "" {
			w.Header().Set("Retry-After", h)
		}
		w.WriteHeader(int(status.Load()))
		io.WriteString(w, body.Load().(string))
	}))
	defer srv.Close()
	c, err := newClient(srv.URL, 1)
	require.NoError(t, err)
	const refused = `{"error":"bad_request","reason":"hash HASH-123 refused"}`
	for _, tc := range []struct {
		status int
		header string
		body   string
		temp   bool
		after  time.Duration
		want   string
	}{
		{503, "3", refused, true, 3 * time.Second, `"bad_request hash [redacted] refused"`},
		{429, "", refused, true, 0, `"bad_request hash [redacted] refused"`},
		{503, time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat), refused, true, 89 * time.Second, `503 Service Unavailable`},
		{400, "", refused, false, 0, `400 Bad Request: "bad_request hash [redacted] refused"`},
		{500, "5", refused, false, 0, `500 Internal Server Error`},
		// Another PUT created the user first: sent again, this one updates.
		{400, "", `{"error":"bad_request","reason":["user_already_exists","x"]}`, true, 0,
			`400 Bad Request: "bad_request [\"user_already_exists\",\"x\"]"`},
	} {
		status.Store(int64(tc.status))
		header.Store(tc.header)
		body.Store(tc.body)
		err := c.do(context.Background(), http.MethodPut, "/api/users/x", map[string]string{"password_hash": "HASH-123"}, nil, "HASH-123")
		require.Error(t, err)
		require.NotContains(t, err.Error(), "HASH-123")
		require.Contains(t, err.Error(), tc.want)
		var te *dss.TemporaryError
		require.Equal(t, tc.temp, errors.As(err, &te), "%d", tc.status)
		if tc.temp {
			require.InDelta(t, tc.after.Seconds(), te.After.Seconds(), 1.5, "%d %s", tc.status, tc.header)
		}
	}
	srv.Close()
	var te *dss.TemporaryError
	require.ErrorAs(t, c.do(context.Background(), http.MethodDelete, "/api/users/x", nil, nil, ""), &te, "a refused connection is temporary")
}

// TestDirectoryRefused: a directory file with an unknown key, or a
// permission of a user or vhost it does not have, is refused by name.
func TestDirectoryRefused(t *testing.T) {
	for _, tc := range []struct{ file, want string }{
		{`{"users":[{"name":"a","pasword_hash":"x"}]}`, `json: unknown field "pasword_hash"`},
		{`{"users":[{"name":"a"}],"vhosts":[{"name":"v"}],"permissions":[{"user":"b","vhost":"v"}]}`, `permission 1: user "b" is not in the directory`},
		{`{"users":[{"name":"a"}],"vhosts":[{"name":"v"}],"permissions":[{"user":"a","vhost":"w"}]}`, `permission 1: vhost "w" is not in the directory`},
		{`{"users":[]} {}`, "data after the directory"},
		{`{"users":[{"name":".."}]}`, `user 1: the name ".." cannot be a segment of the API's paths`},
		{`{"vhosts":[{"name":"."}]}`, `vhost 1: the name "." cannot be a segment of the API's paths`},
	} {
		_, err := readDirectory(strings.NewReader(tc.file), "d.json")
		require.ErrorContains(t, err, "directory d.json: ")
		require.ErrorContains(t, err, tc.want)
	}
}

// TestTestdataIsGenerated: the directory that ships with the example is
// the generator's, with the sizes it promises (200 users, 20 vhosts, 200
// permissions). TestSyncConverges logs in with a generated password, which
// checks the hashes' format against RabbitMQ itself.
func TestTestdataIsGenerated(t *testing.T) {
	d, err := loadDirectory("")
	require.NoError(t, err)
	want := generate(genSpec{users: 200, vhosts: 20, perms: 200, prefix: "rabbitsync-"})
	require.Equal(t, want, d)
	require.Len(t, d.Users, 200)
	require.Len(t, d.Vhosts, 20)
	require.Len(t, d.Permissions, 200)
}

// TestRetryAfter reads Retry-After as seconds or as an HTTP date.
func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	require.Equal(t, 7*time.Second, retryAfter("7", now))
	require.Equal(t, 30*time.Second, retryAfter(now.Add(30*time.Second).Format(http.TimeFormat), now))
	require.Equal(t, time.Duration(0), retryAfter(now.Add(-time.Minute).Format(http.TimeFormat), now))
	require.Equal(t, time.Duration(0), retryAfter("soon", now))
	require.Equal(t, time.Duration(0), retryAfter("-3", now))
}

// TestManagedTagRefused: a managed tag that is one of RabbitMQ's own (a
// sync that managed "administrator" would take over every administrator),
// empty, or holds a comma is refused before any request.
func TestManagedTagRefused(t *testing.T) {
	for _, tag := range []string{"administrator", "management", "monitoring", "policymaker", "impersonator", "", "a,b"} {
		code, _, errOut := runArgs(t, "-managed-tag", tag, "-url", "http://guest:guest@127.0.0.1:1")
		require.Equal(t, exitError, code, tag)
		require.Contains(t, errOut, fmt.Sprintf("-managed-tag %q: want a tag of this sync's own", tag))
	}
}

// TestBench: -bench, on a small directory, prints its table and leaves no
// user or vhost of its own behind.
func TestBench(t *testing.T) {
	tb := newTestBroker(t)
	saved := benchSpec
	benchSpec = genSpec{users: 20, vhosts: 3, perms: 20}
	defer func() { benchSpec = saved }()
	var out bytes.Buffer
	require.NoError(t, runBench(context.Background(), options{url: tb.url, workers: 8}, 1, &out))
	require.Contains(t, out.String(), "RabbitMQ at http://127.0.0.1:15672: 20 users, 3 vhosts, 20 permissions; median of 1 runs")
	require.Regexp(t, `(?m)^8 +initial +43 `, out.String())
	require.Regexp(t, `(?m)^1 +1% change +3 `, out.String())
	var users []struct{ Name string }
	tb.get(t, "/api/users", &users)
	for _, u := range users {
		require.False(t, strings.HasPrefix(u.Name, fmt.Sprintf("rsbench-%d-", os.Getpid())), "left behind: %s", u.Name)
	}
}

// TestTwoRunsAtOnce: two runs of one directory at the same time both
// succeed (every request is idempotent: the second PUT of a user writes
// what the first did), and the next run has nothing to do.
func TestTwoRunsAtOnce(t *testing.T) {
	tb := newTestBroker(t)
	dir := dirFile(t, generate(genSpec{users: 30, vhosts: 2, perms: 30, prefix: tb.prefix}))
	codes := make(chan string, 2)
	for range 2 {
		go func() {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tb.args(dir), &stdout, &stderr)
			codes <- fmt.Sprintf("%d %s", code, stderr.String())
		}()
	}
	require.Equal(t, "0 ", <-codes)
	require.Equal(t, "0 ", <-codes)
	code, out, errOut := runArgs(t, tb.args(dir, "-dry-run", "-detailed-exitcode")...)
	require.Equal(t, exitOK, code, errOut)
	require.Contains(t, out, "nothing to do")
}

// TestSavedPlanDrift: a plan saved with -out is refused by -plan, applying
// nothing, when a user it does not even change was changed on the broker
// since; a fresh plan then converges.
func TestSavedPlanDrift(t *testing.T) {
	tb := newTestBroker(t)
	d := generate(genSpec{users: 6, vhosts: 1, perms: 6, prefix: tb.prefix})
	dir := dirFile(t, d)
	code, _, errOut := runArgs(t, tb.args(dir)...)
	require.Equal(t, exitOK, code, errOut)
	d.Vhosts[0].Description = "reviewed change"
	dir = dirFile(t, d)
	plan := filepath.Join(t.TempDir(), "plan.json")
	code, _, errOut = runArgs(t, tb.args(dir, "-out", plan)...)
	require.Equal(t, exitOK, code, errOut)
	// Someone changes user 1's tags on the broker.
	u := d.Users[1]
	require.NoError(t, tb.c.do(context.Background(), http.MethodPut, "/api/users/"+u.Name, map[string]string{
		"password_hash": u.PasswordHash, "hashing_algorithm": u.HashingAlgorithm, "tags": "policymaker," + tb.tag}, nil, u.PasswordHash))
	code, out, errOut := runArgs(t, tb.args(dir, "-plan", plan)...)
	require.Equal(t, exitError, code)
	require.Contains(t, errOut, "the destination drifted: branch users changed since the plan was made; nothing applied")
	require.NotContains(t, out, "applied")
	var v struct{ Description string }
	tb.get(t, "/api/vhosts/"+d.Vhosts[0].Name, &v)
	require.NotEqual(t, "reviewed change", v.Description)
	code, _, errOut = runArgs(t, tb.args(dir)...)
	require.Equal(t, exitOK, code, errOut)
	code, out, _ = runArgs(t, tb.args(dir, "-dry-run", "-detailed-exitcode")...)
	require.Equal(t, exitOK, code)
	require.Contains(t, out, "nothing to do")
}

// TestForgedPlanRefused: a saved plan edited with care (the reviewed
// change of a user's tags turned into administrator, in the action and in
// the source object it carries alike) is refused by -plan, which makes the
// plan again from the directory and applies it only if it is the saved
// one; nothing is applied.
func TestForgedPlanRefused(t *testing.T) {
	tb := newTestBroker(t)
	d := generate(genSpec{users: 3, vhosts: 1, perms: 3, prefix: tb.prefix})
	dir := dirFile(t, d)
	code, _, errOut := runArgs(t, tb.args(dir)...)
	require.Equal(t, exitOK, code, errOut)
	d.Users[1].Tags = []string{"policymaker"} // the reviewed change
	dir = dirFile(t, d)
	plan := filepath.Join(t.TempDir(), "plan.json")
	code, _, errOut = runArgs(t, tb.args(dir, "-out", plan)...)
	require.Equal(t, exitOK, code, errOut)
	data, err := os.ReadFile(plan)
	require.NoError(t, err)
	require.Contains(t, string(data), `"policymaker"`)
	forged := strings.ReplaceAll(string(data), `"policymaker"`, `"administrator"`)
	require.NoError(t, os.WriteFile(plan, []byte(forged), 0o600))

	code, out, errOut := runArgs(t, tb.args(dir, "-plan", plan)...)
	require.Equal(t, exitError, code, out)
	require.Contains(t, errOut, "is not the plan")
	require.NotContains(t, out, "applied")
	var u struct{ Tags any }
	tb.get(t, "/api/users/"+d.Users[1].Name, &u)
	require.NotContains(t, fmt.Sprint(u.Tags), "administrator")

	// The plan as saved applies.
	require.NoError(t, os.WriteFile(plan, data, 0o600))
	code, out, errOut = runArgs(t, tb.args(dir, "-plan", plan)...)
	require.Equal(t, exitOK, code, errOut)
	require.Contains(t, out, "applied")
	tb.get(t, "/api/users/"+d.Users[1].Name, &u)
	require.Contains(t, fmt.Sprint(u.Tags), "policymaker")
}

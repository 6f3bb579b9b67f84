package dss

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// pageOf writes the plan's page.
func pageOf(t testing.TB, p *Plan) string {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, p.WriteHTML(&buf))
	return buf.String()
}

// pageDataOf decodes the data the page's script reads.
func pageDataOf(t testing.TB, page string) []pageGroupData {
	t.Helper()
	const open = `<script type="application/json" id="plan-data">`
	i := strings.Index(page, open)
	require.GreaterOrEqual(t, i, 0, "no data in the page")
	rest := page[i+len(open):]
	j := strings.Index(rest, "</script>")
	require.GreaterOrEqual(t, j, 0)
	var d struct {
		Groups []pageGroupData `json:"groups"`
	}
	require.NoError(t, json.Unmarshal([]byte(rest[:j]), &d))
	return d.Groups
}

func TestWriteHTML(t *testing.T) {
	ds, _ := scenario(t)
	p := mustPlan(t, ds)
	page := pageOf(t, p)

	// The verdict comes before the counts and the actions.
	v := strings.Index(page, `id="verdict"`)
	require.Positive(t, v)
	require.Less(t, v, strings.Index(page, `id="counts"`))
	require.Contains(t, page, "Accepted by the guards: 8 actions, changing 6 objects")
	require.Contains(t, page, `<th scope="row">users</th><td class="k-new"><svg class="bar" width="60" height="10" aria-hidden="true"><rect width="60" height="10"></rect></svg><span class="n">1</span>`)

	groups := pageDataOf(t, page)
	var labels []string
	for _, g := range groups {
		labels = append(labels, fmt.Sprintf("%s %d/%d", g.Label, len(g.Rows), g.Total))
	}
	require.Equal(t, []string{
		"users: new 1/1", "users: update 1/1", "users: list changes 1/2", "users: old 1/1",
		"groups: new 1/1", "groups: list changes 1/1", "groups: old 1/1",
	}, labels)
	// An update shows its attribute, the old value and the new one; list
	// changes, the elements added and removed per object, as Print shows them.
	require.Equal(t, pageRow{ID: "'1'", Attr: "name", Old: `"A Old"`, New: `"A B"`}, groups[1].Rows[0])
	require.Equal(t, pageRow{ID: "'1'", Attr: "tags", Add: []string{`"t"`}, Del: []string{`"u"`}}, groups[2].Rows[0])
	require.Equal(t, pageRow{ID: "'9'"}, groups[3].Rows[0])

	// One file: nothing from the network, only the page's own style and script.
	require.Equal(t, 2, strings.Count(page, "<script"))
	require.Equal(t, 1, strings.Count(page, "<style"))
	for _, s := range []string{"http:", "https:", "src=", "href=", "@import", "url("} {
		require.NotContains(t, page, s)
	}
	require.Contains(t, page, `default-src 'none'`)
}

// refusedPlan deletes 19 of 20 users, which the default guard refuses.
func refusedPlan(t *testing.T) *Plan {
	t.Helper()
	var users []Record
	for i := range 20 {
		users = append(users, Record{"idnumber": fmt.Sprint(i), "_first": "A", "_last": "B"})
	}
	ds, _ := newDatastore(t, []Record{{"idnumber": "0", "_lastfirst": "B, A"}}, users, nil)
	p, err := ds.Plan()
	require.NoError(t, err)
	require.Error(t, p.Refusal())
	return p
}

func TestWriteHTMLRefused(t *testing.T) {
	p := refusedPlan(t)
	page := pageOf(t, p)
	// The guard's words, before anything else of the plan.
	reason := `<p class="reason">` + escapeHTMLText(p.Refusal().Error()) + `</p>`
	i := strings.Index(page, reason)
	require.Positive(t, i, "the page lacks the guard's words %s", reason)
	require.Contains(t, page, `class="verdict refused"`)
	require.Less(t, i, strings.Index(page, `id="counts"`))
	require.Contains(t, page, "<title>dss plan: source → dest (refused)</title>")
}

// escapeHTMLText is what html/template makes of text.
func escapeHTMLText(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}

// hostile are ids and values that would be markup, end an element, or
// break a line or a script if a page wrote them as they are.
var hostile = []string{
	`<script>document.documentElement.dataset.pwned="1"</script>`,
	`</textarea><img src=x onerror="document.documentElement.dataset.pwned=1">`,
	`</script><script>document.documentElement.dataset.pwned=1</script>`,
	`"'><svg onload=alert(1)>`,
	"line\u2028sep\u2029para\x00nul\x1b[31m",
	`<!--`, `]]>`, `&amp;`, "\u202eevil",
}

// hostilePlan is a plan whose ids, attribute values and branch names are
// hostile, as a hand-edited plan file's could be.
func hostilePlan() *Plan {
	p := &Plan{Source: "source</title><script>", Dest: "dest"}
	for i, h := range hostile {
		p.Actions = append(p.Actions,
			Action{Kind: KindNew, Name: "new_users", Branch: "users", ID: h},
			Action{Kind: KindUpdate, Name: "update_name", Branch: "users", ID: fmt.Sprint(i), Attr: "name", Value: h, DestValue: "was " + h},
			Action{Kind: KindAdd, Name: "add_members_to_groups", Branch: "<b>groups</b>", ID: h, Attr: "members", Value: h},
		)
	}
	p.Summary = Summary{Branches: []BranchSummary{{Branch: "users", Created: len(hostile)}}}
	return p
}

func TestWriteHTMLHostile(t *testing.T) {
	p := hostilePlan()
	page := pageOf(t, p)
	require.Equal(t, 2, strings.Count(page, "<script"), "a value made a script element")
	for _, s := range []string{"<img", "<svg onload", "</textarea>", "<!--", "\u2028", "\u2029", "\x00", "\x1b", "\u202e", "<b>"} {
		require.NotContains(t, page, s)
	}
	// The data holds each value as Print writes it.
	groups := pageDataOf(t, page)
	require.Len(t, groups, 3)
	for i, h := range hostile {
		require.Equal(t, fmtID(h), groups[0].Rows[i].ID)
		require.Equal(t, fmtValue(h), groups[1].Rows[i].New)
		require.Equal(t, fmtValue("was "+h), groups[1].Rows[i].Old)
		require.Equal(t, []string{fmtValue(h)}, groups[2].Rows[i].Add)
	}
	require.Equal(t, "<b>groups</b>: list changes", groups[2].Label) // set as text by the script
}

func TestWriteHTMLRedacts(t *testing.T) {
	ds, _ := scenario(t)
	ds.Source.RedactValues = true
	require.NoError(t, ds.Import(t.Context()))
	p := mustPlan(t, ds)
	page := pageOf(t, p)
	groups := pageDataOf(t, page)
	require.Equal(t, pageRow{ID: "'1'", Attr: "name", Old: "[redacted]", New: "[redacted]"}, groups[1].Rows[0])
	for _, v := range []string{"A B", "Old A", `\"t\"`, `\"u\"`} {
		require.NotContains(t, page, v)
	}
	require.Contains(t, page, "Values show as [redacted]")
}

// bigPlan is a plan of n actions in the groups of usersync's initial load:
// n users and a group per 100 of them, each user new.
func bigPlan(n int) *Plan {
	p := &Plan{Source: "source", Dest: "dest"}
	p.Actions = make([]Action, 0, n+n/100)
	for i := range n {
		p.Actions = append(p.Actions, Action{Kind: KindNew, Name: "new_users", Branch: "users", ID: strconv.Itoa(20000000 + i)})
	}
	for i := range n / 100 {
		p.Actions = append(p.Actions, Action{Kind: KindNew, Name: "new_groups", Branch: "groups", ID: fmt.Sprintf("department-%04d", i)})
	}
	p.Summary = Summary{Branches: []BranchSummary{{Branch: "users", Created: n}, {Branch: "groups", Created: n / 100}}}
	return p
}

func TestWriteHTMLCapped(t *testing.T) {
	// At 100,000 actions the page holds them all, in less than 15 MB.
	page := pageOf(t, updatesPlan(100_000))
	require.Less(t, len(page), 15<<20)
	require.NotContains(t, page, `id="capped"`)
	rows := 0
	for _, g := range pageDataOf(t, page) {
		rows += len(g.Rows)
	}
	require.Equal(t, 50_000+500, rows, "50,000 updates, and 500 groups' list changes")

	// Beyond its limits (here 1,500 actions; PageMaxActions in WriteHTML),
	// a page holds the same first n of each group, and says what it left
	// out: 2,000 new users and 20 new groups.
	var buf bytes.Buffer
	require.NoError(t, bigPlan(2_000).writeHTML(&buf, 1_500, PageMaxBytes))
	page = buf.String()
	groups := pageDataOf(t, page)
	require.Len(t, groups, 2)
	users, depts := groups[0], groups[1]
	require.Equal(t, 2_000, users.Total)
	require.Equal(t, 20, depts.Total)
	require.Len(t, depts.Rows, 20, "a small group shows whole")
	require.Len(t, users.Rows, 1_480)
	require.Equal(t, "'20000000'", users.Rows[0].ID)
	require.Equal(t, "'20001479'", users.Rows[len(users.Rows)-1].ID)
	require.Contains(t, page, `<p class="capped" id="capped">This page holds the first 1,480 actions of each branch and kind: 1,500 of 2,020. 520 actions are left out.</p>`)
	require.Contains(t, page, "2,000 actions, the first ones in this page")

	// Long values show their first kilobyte; the byte limit cuts the groups.
	long := strings.Repeat("é", 3000)
	p := &Plan{Source: "s", Dest: "d"}
	for i := range 100 {
		p.Actions = append(p.Actions, Action{Kind: KindUpdate, Name: "update_name", Branch: "users", ID: fmt.Sprint(i), Attr: "name", Value: long, DestValue: long})
	}
	const maxBytes = 50_000 // about 25 rows of 2 kB
	buf.Reset()
	require.NoError(t, p.writeHTML(&buf, PageMaxActions, maxBytes))
	groups = pageDataOf(t, buf.String())
	row := groups[0].Rows[0]
	// 6,002 bytes quoted: the cut falls inside an é, and moves before it.
	require.Equal(t, `"`+strings.Repeat("é", 499)+"… (5,003 more bytes)", row.New)
	cost := func(r pageRow) int { return len(r.ID) + len(r.Attr) + len(r.Old) + len(r.New) + pageRowCost }
	total := 0
	for _, r := range groups[0].Rows {
		total += cost(r)
	}
	require.Less(t, len(groups[0].Rows), 100)
	require.LessOrEqual(t, total, maxBytes)
	require.Greater(t, total+cost(row), maxBytes, "one more row would have fit")
}

func TestWriteHTMLWriteError(t *testing.T) {
	ds, _ := scenario(t)
	err := mustPlan(t, ds).WriteHTML(failingWriter{})
	require.ErrorContains(t, err, "dss: write html: ")
	require.ErrorContains(t, err, "disk full")
}

func TestReviewFit(t *testing.T) {
	for _, c := range []struct {
		name       string
		sizes      []int // the groups' lengths, each action costing 1
		perGroup   int
		maxActions int
		maxBytes   int
		want       []int
	}{
		{"all fit", []int{3, 5}, 100, 10, 100, []int{3, 5}},
		{"one limit for all", []int{10, 10}, 100, 10, 100, []int{5, 5}},
		{"small groups whole", []int{2, 100, 100}, 100, 50, 100, []int{2, 24, 24}},
		{"bytes bind", []int{100, 100}, 100, 1000, 30, []int{15, 15}},
		{"per group binds", []int{100, 3}, 20, 1000, 1000, []int{20, 3}},
		{"nothing fits", []int{5}, 100, 0, 100, []int{0}},
		{"empty", nil, 100, 10, 10, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := &review{}
			for _, n := range c.sizes {
				r.groups = append(r.groups, reviewGroup{idx: make([]int, n)})
			}
			calls := 0
			r.fit(c.perGroup, c.maxActions, c.maxBytes, func(g, k int) int { calls++; return 1 })
			var got []int
			for _, g := range r.groups {
				got = append(got, g.shown)
			}
			require.Equal(t, c.want, got)
			want := 0
			for _, n := range c.sizes {
				want += min(n, c.maxActions, c.perGroup)
			}
			require.Equal(t, want, calls, "cost is asked once for each action that could be shown")
		})
	}
}

func BenchmarkWriteHTML(b *testing.B) {
	for _, c := range []struct {
		name string
		plan func() *Plan
	}{
		{"initial-load-100k", func() *Plan { return bigPlan(100_000) }},
		{"updates-100k", func() *Plan { return updatesPlan(100_000) }},
		{"initial-load-1M", func() *Plan { return bigPlan(1_000_000) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			p := c.plan()
			var buf bytes.Buffer
			for b.Loop() {
				buf.Reset()
				if err := p.WriteHTML(&buf); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(buf.Len())/(1<<20), "MiB/page")
		})
	}
}

// updatesPlan is a plan of n changes with values: half renames, a quarter
// members added, a quarter removed, in groups of 100 members.
func updatesPlan(n int) *Plan {
	p := &Plan{Source: "source", Dest: "dest"}
	for i := range n / 2 {
		p.Actions = append(p.Actions, Action{Kind: KindUpdate, Name: "update_name", Branch: "users", ID: fmt.Sprint(20000000 + i),
			Attr: "name", Value: fmt.Sprintf("Ada Lovelace %d", i), DestValue: fmt.Sprintf("Ada Byron %d", i)})
	}
	for i := range n / 2 {
		k := KindAdd
		name := "add_members_to_groups"
		if i%2 == 1 {
			k, name = KindRemove, "remove_members_from_groups"
		}
		p.Actions = append(p.Actions, Action{Kind: k, Name: name, Branch: "groups", ID: fmt.Sprintf("department-%04d", i/100),
			Attr: "members", Value: fmt.Sprint(20000000 + i)})
	}
	return p
}

// secretPlan renames user 1 and changes the user's secret password hash.
func secretPlan(t *testing.T) *Plan {
	t.Helper()
	ds := New[secTree, secTree]()
	ds.Source.Branches.Users.Importer = Records(Record{"idnumber": "1", "name": "Ada", "password_hash": "new-" + marker})
	ds.Dest.Branches.Users.Importer = Records(Record{"idnumber": "1", "name": "Byron", "password_hash": "old-" + marker})
	require.NoError(t, ds.Import(t.Context()))
	p, err := ds.Plan()
	require.NoError(t, err)
	return p
}

func TestWriteHTMLSecret(t *testing.T) {
	// A field tagged secret shows as [redacted] in the page, as in Print,
	// in both the old and the new value; the other fields show.
	page := pageOf(t, secretPlan(t))
	require.NotContains(t, page, marker)
	groups := pageDataOf(t, page)
	require.Equal(t, []pageRow{
		{ID: "'1'", Attr: "name", Old: `"Byron"`, New: `"Ada"`},
		{ID: "'1'", Attr: "password_hash", Old: "[redacted]", New: "[redacted]"},
	}, groups[0].Rows)
}

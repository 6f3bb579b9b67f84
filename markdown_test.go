package dss

import (
	"bytes"
	"encoding/json"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

func markdownOf(t testing.TB, p *Plan, opts MarkdownOptions) string {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, p.WriteMarkdown(&buf, opts))
	return buf.String()
}

func TestWriteMarkdownGolden(t *testing.T) {
	ds, _ := scenario(t)
	got := markdownOf(t, mustPlan(t, ds), MarkdownOptions{})
	const golden = "testdata/plan.md"
	if *update {
		require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("WriteMarkdown (-%s +got); rerun with -update if intended:\n%s", golden, diff)
	}
}

func TestWriteMarkdownRefused(t *testing.T) {
	p := refusedPlan(t)
	md := markdownOf(t, p, MarkdownOptions{})
	// The verdict and the guard's words come before the counts.
	want := "⛔ **Refused: Apply will not run this plan**\n\n```\n" + p.Refusal().Error() + "\n```\n\n| branch |"
	require.Contains(t, md, want)
	require.Contains(t, md, "<details><summary>users: old, 19 actions</summary>\n\n```\nold_users(idnumber='1')\n")
	require.True(t, strings.HasSuffix(md, "\nAll 19 actions are listed.\n"))
}

func TestWriteMarkdownLimits(t *testing.T) {
	p := bigPlan(100_000)
	md := markdownOf(t, p, MarkdownOptions{})
	require.LessOrEqual(t, len(md), MarkdownMaxBytes)
	require.Contains(t, md, "<details><summary>users: new, 100,000 actions, the first 20 listed</summary>\n\n```\nnew_users(idnumber='20000000')\n")
	require.Contains(t, md, "<details><summary>groups: new, 1,000 actions, the first 20 listed</summary>")
	require.True(t, strings.HasSuffix(md, "40 of 101,000 actions are listed (the first 20 of each branch and kind); 100,960 are left out.\n"), md[len(md)-200:])

	// The size binds before PerGroup does: every group lists the same n.
	md = markdownOf(t, p, MarkdownOptions{PerGroup: 1000, MaxBytes: 20_000})
	require.LessOrEqual(t, len(md), 20_000)
	require.Greater(t, len(md), 15_000, "the summary uses the room it has")
	m := regexp.MustCompile(`users: new, 100,000 actions, the first (\d+) listed`).FindStringSubmatch(md)
	require.NotNil(t, m)
	n, _ := strconv.Atoi(m[1])
	require.Greater(t, n, 20)
	require.Contains(t, md, "groups: new, 1,000 actions, the first "+m[1]+" listed")
	require.Equal(t, 2*n, strings.Count(md, "\nnew_"))

	md = markdownOf(t, p, MarkdownOptions{PerGroup: -1})
	require.Contains(t, md, "users: new, 100,000 actions, none listed")
	require.NotContains(t, md, "```")

	var buf bytes.Buffer
	err := p.WriteMarkdown(&buf, MarkdownOptions{MaxBytes: 500})
	require.ErrorContains(t, err, "dss: write markdown: the verdict and the counts take ")
	require.Zero(t, buf.Len(), "a summary that does not fit is not written at all")

	// A long value is cut, and still fits.
	long := &Plan{Source: "s", Dest: "d", Actions: []Action{{Kind: KindUpdate, Name: "update_name", Branch: "users", ID: "1", Attr: "name", Value: strings.Repeat("x", 1<<20)}}}
	md = markdownOf(t, long, MarkdownOptions{})
	require.Contains(t, md, `value="`+strings.Repeat("x", 1000-len(`update_name(idnumber='1', attr="name", value="`))+"… (1,047,636 more bytes)\n")
	require.Contains(t, md, "\nThe plan's one action is listed.\n")
}

func TestWriteMarkdownHostile(t *testing.T) {
	p := hostilePlan()
	p.Actions = append(p.Actions, Action{Kind: KindOld, Name: "old_teams", Branch: "@everyone", ID: "@everyone"})
	p.Actions = append(p.Actions, Action{Kind: KindUpdate, Name: "update_name", Branch: "users", ID: "fence", Attr: "name", Value: "````\n</details><script>x</script>", DestValue: "`"})
	md := markdownOf(t, p, MarkdownOptions{})
	text := markdownOutside(t, md, func(line string) bool {
		return strings.HasPrefix(line, "new_users(") || strings.HasPrefix(line, "update_name(") ||
			strings.HasPrefix(line, "old_teams(") || strings.HasPrefix(line, "add_members_to_groups(")
	})
	require.Contains(t, text, "| \\@everyone | 0 | 0 | 0 | 0 | 1 | 0 |")
	require.Contains(t, text, "&#64;everyone: old, 1 action")
	require.Contains(t, text, `### dss plan: source\<\/title\>\<script\> → dest`)
	require.Contains(t, text, `<summary>&lt;b&gt;groups&lt;/b&gt;: list changes, 9 actions</summary>`[len("<summary>"):len("<summary>")+30])
	require.Contains(t, md, "update_name(idnumber='fence', attr=\"name\", value=\"````\\n</details><script>x</script>\")  # was \"`\"\n")
	require.Contains(t, md, "\n`````\nupdate_name")
	for _, s := range []string{"\u2028", "\x00", "\x1b", "\u202e"} {
		require.NotContains(t, md, s)
	}
}

// markdownOutside checks that every line of the summary's code blocks is an
// action's, that no line could end its block, and that outside them the
// summary's only markup is its own and nothing mentions anyone; it returns
// the text outside the code blocks, without the summary's own tags.
func markdownOutside(t testing.TB, md string, action func(line string) bool) string {
	t.Helper()
	var outside []string
	fence := ""
	for line := range strings.Lines(md) {
		line = strings.TrimSuffix(line, "\n")
		switch {
		case fence == "" && strings.HasPrefix(line, "```"):
			fence = line
		case fence != "" && line == fence:
			fence = ""
		case fence == "":
			outside = append(outside, line)
		default:
			require.True(t, action(line), "a line of a code block is not an action: %q", line)
			require.NotContains(t, line, fence, "a line could end its code block")
		}
	}
	require.Empty(t, fence, "a code block is not closed")
	text := strings.Join(outside, "\n")
	for _, tag := range []string{"<details>", "<summary>", "</summary>", "</details>"} {
		text = strings.ReplaceAll(text, tag, "")
	}
	require.NotRegexp(t, `(^|[^\\])<`, text, "markup outside the code blocks")
	require.NotRegexp(t, `(^|[^\\])@`, text, "a mention outside the code blocks")
	return text
}

// FuzzReviews writes the page and the summary of a plan whose names, ids and
// values are the fuzzer's: the page has only its own two scripts and its
// data holds each text as Print writes it; the summary's code blocks hold
// only actions, and nothing outside them is markup.
func FuzzReviews(f *testing.F) {
	for _, h := range hostile {
		f.Add("users", h, h)
	}
	f.Add("@team", "````", "`")
	f.Add("</script>", "", "\u2028")
	f.Fuzz(func(t *testing.T, branch, id, value string) {
		p := &Plan{Source: branch, Dest: "dest", Actions: []Action{
			{Kind: KindNew, Name: "new_" + branch, Branch: branch, ID: id},
			{Kind: KindUpdate, Name: "update_name", Branch: branch, ID: id, Attr: "name", Value: value, DestValue: id},
			{Kind: KindAdd, Name: "add_members_to_" + branch, Branch: branch, ID: id, Attr: value, Value: value},
		}}
		page := pageOf(t, p)
		require.Equal(t, 2, strings.Count(page, "<script"))
		require.Equal(t, 2, strings.Count(page, "</script"))
		require.NotContains(t, page, "<!--")
		groups := pageDataOf(t, page)
		require.Len(t, groups, 3)
		wantID := ""
		if id != "" {
			wantID = clip(fmtID(id))
		}
		require.Equal(t, wantID, groups[0].Rows[0].ID)
		require.Equal(t, clip(fmtValue(value)), groups[1].Rows[0].New)
		require.Equal(t, []string{clip(fmtValue(value))}, groups[2].Rows[0].Add)

		md := markdownOf(t, p, MarkdownOptions{})
		require.LessOrEqual(t, len(md), MarkdownMaxBytes)
		markdownOutside(t, md, func(line string) bool {
			// A line longer than a review shows is clipped (clip), maybe
			// inside the action's name.
			head, clipped := line, false
			if i := strings.LastIndex(line, "… ("); i >= 0 && strings.HasSuffix(line, " more bytes)") {
				head, clipped = line[:i], true
			}
			for _, a := range p.Actions {
				start := fmtName(a.Name) + "("
				if strings.HasPrefix(head, start) || clipped && strings.HasPrefix(start, head) {
					return true
				}
			}
			return false
		})
	})
}

func TestWriteMarkdownSecret(t *testing.T) {
	md := markdownOf(t, secretPlan(t), MarkdownOptions{})
	require.NotContains(t, md, marker)
	require.Contains(t, md, "update_name(idnumber='1', attr=\"name\", value=\"Ada\")  # was \"Byron\"\n"+
		"update_password_hash(idnumber='1', attr=\"password_hash\", value=[redacted])  # was [redacted]\n")

	sc, _ := scenario(t)
	sc.Dest.RedactValues = true
	require.NoError(t, sc.Import(t.Context()))
	md = markdownOf(t, mustPlan(t, sc), MarkdownOptions{})
	require.Contains(t, md, "update_name(idnumber='1', attr=\"name\", value=[redacted])  # was [redacted]\n")
	require.NotContains(t, md, "A Old")
}

func TestWriteMarkdownWriteError(t *testing.T) {
	ds, _ := scenario(t)
	err := mustPlan(t, ds).WriteMarkdown(failingWriter{}, MarkdownOptions{})
	require.EqualError(t, err, "dss: write markdown: disk full")
}

func BenchmarkWriteMarkdown(b *testing.B) {
	p := bigPlan(100_000)
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := p.WriteMarkdown(&buf, MarkdownOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestReviewsOfEmptyAndDecodedPlans(t *testing.T) {
	// Nothing to do: the verdict says so, and there are no groups.
	ds, _ := newDatastore(t, nil, nil, nil)
	p := mustPlan(t, ds)
	page := pageOf(t, p)
	require.Contains(t, page, "<h2>Nothing to do: the destination equals the source</h2>")
	require.Empty(t, pageDataOf(t, page))
	md := markdownOf(t, p, MarkdownOptions{})
	require.Contains(t, md, "✅ **Nothing to do: the destination equals the source**\n")
	require.NotContains(t, md, "<details>")

	// A plan read from a file has no verdict until Apply judges it.
	sc, _ := scenario(t)
	data, err := json.Marshal(mustPlan(t, sc))
	require.NoError(t, err)
	var decoded Plan
	require.NoError(t, json.Unmarshal(data, &decoded))
	want := "Not judged yet: this plan of 8 actions was read from a file; the guards judge it when it is applied"
	require.Contains(t, pageOf(t, &decoded), `<section id="verdict" class="verdict unjudged"><h2>`+want+`</h2>`)
	require.Contains(t, markdownOf(t, &decoded, MarkdownOptions{}), "⚠️ **"+want+"**\n")
}

package dss

import (
	"bytes"
	"fmt"
	"html"
	"io"
	"strings"
)

// MarkdownMaxBytes is the size WriteMarkdown keeps within by default:
// 60,000 bytes. GitHub refuses a pull-request or issue comment of more than
// 65,536 characters, and a byte is at most one character (a UTF-16 code
// unit, as GitHub counts, takes one to three bytes of UTF-8, and a pair of
// them four), so the summary always fits, with 5,536 characters to spare
// for what a program adds around it (a heading, a link to the whole plan).
// GitLab takes a million characters; Jira Cloud's comments take 32,767,
// for which MaxBytes 30000 fits.
const MarkdownMaxBytes = 60_000

// MarkdownPerGroup is how many actions of each branch and kind
// WriteMarkdown lists by default.
const MarkdownPerGroup = 20

// MarkdownOptions are WriteMarkdown's options. The zero value is the
// default: MarkdownPerGroup actions of each branch and kind, within
// MarkdownMaxBytes.
type MarkdownOptions struct {
	// PerGroup is the most actions listed of each branch and kind; 0 means
	// MarkdownPerGroup, and a negative value lists none.
	PerGroup int
	// MaxBytes is the most bytes the summary takes; 0 means
	// MarkdownMaxBytes.
	MaxBytes int
}

// WriteMarkdown writes a summary of the plan in GitHub Flavored Markdown,
// for a pull request or a ticket: a heading, the verdict (a refused plan
// says why, in the guard's words), a table of the actions per branch and
// kind, and for each branch and kind a <details> block that lists its first
// actions as Print writes them (an update followed by its current value,
// "# was ..."). It ends with a line that says how many actions it lists and
// how many it leaves out.
//
// The summary takes at most opts.MaxBytes bytes: every group lists the same
// first n actions, n at most opts.PerGroup, as large as fits, and a line
// longer than a kilobyte is cut. When even the verdict and the table do not
// fit, WriteMarkdown writes nothing and returns an error.
//
// Ids and values are written as Print writes them, inside code blocks,
// where nothing is Markdown or HTML; the names in the table and the blocks'
// titles are escaped. Values are [redacted] as in WriteHTML: for secret
// fields, and every value when either tree of the plan has RedactValues.
func (p *Plan) WriteMarkdown(w io.Writer, opts MarkdownOptions) error {
	perGroup, maxBytes := opts.PerGroup, opts.MaxBytes
	if perGroup == 0 {
		perGroup = MarkdownPerGroup
	}
	perGroup = max(perGroup, 0)
	if maxBytes == 0 {
		maxBytes = MarkdownMaxBytes
	}
	r := newReview(p)

	var head bytes.Buffer
	r.markdownHead(&head)
	// Every group's block takes its title and fences besides its lines; the
	// last line takes at most this much.
	const blockCost, footCost = 160, 240
	fixed := head.Len() + len(r.groups)*blockCost + footCost
	if fixed > maxBytes {
		return fmt.Errorf("dss: write markdown: the verdict and the counts take %d bytes, more than the %d of MaxBytes", fixed, maxBytes)
	}
	lines := make([][]string, len(r.groups))
	r.fit(perGroup, len(p.Actions), maxBytes-fixed, func(g, k int) int {
		l := r.markdownLine(r.groups[g].idx[k])
		lines[g] = append(lines[g], l)
		return len(l) + 1
	})

	out := &head
	listed := 0
	for g := range r.groups {
		grp := &r.groups[g]
		listed += grp.shown
		title := fmt.Sprintf("%s: %s, %s", fmtBare(grp.branch), grp.kindLabel(), plural(len(grp.idx), "action"))
		switch {
		case grp.shown == len(grp.idx):
		case grp.shown == 0:
			title += ", none listed"
		default:
			title += fmt.Sprintf(", the first %s listed", thousands(grp.shown))
		}
		// The title is HTML: escaped, and with no @ that would mention someone.
		title = strings.ReplaceAll(html.EscapeString(title), "@", "&#64;")
		fmt.Fprintf(out, "<details><summary>%s</summary>\n\n", title)
		if grp.shown > 0 {
			block := lines[g][:grp.shown]
			fence := codeFence(block)
			fmt.Fprintf(out, "%s\n", fence)
			for _, l := range block {
				out.WriteString(l)
				out.WriteByte('\n')
			}
			fmt.Fprintf(out, "%s\n", fence)
		}
		out.WriteString("\n</details>\n\n")
	}
	switch left := len(p.Actions) - listed; {
	case len(p.Actions) == 0:
	case len(p.Actions) == 1 && left == 0:
		out.WriteString("The plan's one action is listed.\n")
	case left == 0:
		fmt.Fprintf(out, "All %s are listed.\n", plural(listed, "action"))
	default:
		fmt.Fprintf(out, "%s of %s are listed (the first %s of each branch and kind); %s left out.\n",
			thousands(listed), plural(len(p.Actions), "action"), thousands(r.most()), leftOut(left))
	}
	if out.Len() > maxBytes {
		// The costs above are upper bounds: this is a bug.
		return fmt.Errorf("dss: write markdown: %d bytes, more than the %d of MaxBytes", out.Len(), maxBytes)
	}
	if _, err := w.Write(out.Bytes()); err != nil {
		return fmt.Errorf("dss: write markdown: %w", err)
	}
	return nil
}

// leftOut says how many actions are left out.
func leftOut(n int) string {
	if n == 1 {
		return "1 is"
	}
	return thousands(n) + " are"
}

// most is the largest number of actions a group shows.
func (r *review) most() int {
	n := 0
	for _, g := range r.groups {
		n = max(n, g.shown)
	}
	return n
}

// markdownHead writes the heading, the verdict and the counts.
func (r *review) markdownHead(b *bytes.Buffer) {
	fmt.Fprintf(b, "### dss plan: %s → %s\n\n", mdEscape(fmtBare(r.p.Source)), mdEscape(fmtBare(r.p.Dest)))
	state, title, reason := r.verdict()
	mark := map[string]string{verdictRefused: "⛔", verdictAccepted: "✅", verdictNothing: "✅", verdictUnjudged: "⚠️"}[state]
	fmt.Fprintf(b, "%s **%s**\n\n", mark, title) // dss's own words and numbers
	if reason != "" {
		reason = clip(reason)
		fence := codeFence([]string{reason})
		fmt.Fprintf(b, "%s\n%s\n%s\n\n", fence, reason, fence)
	}
	b.WriteString("| branch | new | update | add | remove | old | unchanged objects |\n|:--|--:|--:|--:|--:|--:|--:|\n")
	for _, c := range r.counts {
		fmt.Fprintf(b, "| %s |", mdEscape(fmtBare(c.branch)))
		for _, k := range pageKinds {
			fmt.Fprintf(b, " %s |", thousands(c.kinds[k]))
		}
		fmt.Fprintf(b, " %s |\n", thousands(c.unchanged))
	}
	b.WriteByte('\n')
	if n := r.total(KindError); n > 0 {
		fmt.Fprintf(b, "%s.\n\n", plural(n, "model error"))
	}
	if r.redactsSome() {
		b.WriteString("Values show as \\[redacted\\]: the trees of this plan redact them (RedactValues).\n\n")
	}
}

// markdownLine is the i-th action as Print writes it; an update adds the
// destination's current value.
func (r *review) markdownLine(i int) string {
	a := &r.p.Actions[i]
	l := a.message(r.redact)
	if a.Kind == KindUpdate {
		l += "  # was " + a.shown(a.DestValue, r.redact)
	}
	return clip(l)
}

// codeFence is a fence of backticks longer than any run of backticks in the
// lines, so that none of them can end the code block.
func codeFence(lines []string) string {
	longest := 0
	for _, l := range lines {
		run := 0
		for i := 0; i < len(l); i++ {
			if l[i] == '`' {
				run++
				longest = max(longest, run)
			} else {
				run = 0
			}
		}
	}
	return strings.Repeat("`", max(3, longest+1))
}

// mdEscape makes one line of printable text plain Markdown text: every ASCII
// punctuation character is backslash-escaped, so that none starts emphasis,
// a link, HTML, an entity, a table cell or a mention.
func mdEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x80 && strings.IndexByte("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", c) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	return b.String()
}

package dss

import (
	"bufio"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"html/template"
	"io"
)

// The page's limits: at most PageMaxActions actions, whose texts (ids,
// attributes, values, as Print shows them) take at most about
// PageMaxBytes. A larger plan's page holds the first n actions of each
// branch and kind, the same n for every group, as large as the limits
// allow, and says how many it leaves out; its verdict and counts are
// always complete.
const (
	// PageMaxActions is the most actions a page holds.
	PageMaxActions = 150_000
	// PageMaxBytes is about the most bytes the texts of a page's actions take.
	PageMaxBytes = 12 << 20
)

// pageRowCost is what an action takes in the page beyond its texts: the
// JSON keys, quotes and commas of its row.
const pageRowCost = 24

// pageOpen is the size up to which a group is open when the page loads;
// larger ones are collapsed under their counts.
const pageOpen = 25

//go:embed review/page.css
var pageCSS string

//go:embed review/page.js
var pageJS string

// pageCSP is the page's Content-Security-Policy: nothing from the network,
// no plugin or frame, and only the page's own stylesheet and script (by
// their hashes). A value that escaped its escaping still could not run.
var pageCSP = "default-src 'none'; style-src " + cspHash(pageCSS) + "; script-src " + cspHash(pageJS) +
	"; base-uri 'none'; form-action 'none'"

func cspHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(h[:]) + "'"
}

// WriteHTML writes the plan as one self-contained HTML page for a person to
// review in a browser: it loads nothing from the network and needs no other
// file.
//
// The page shows the verdict first (a refused plan says why, in the
// guard's words), then the number of actions per branch and kind with a
// bar chart, a search box over idnumbers and values, and the actions
// grouped by branch and kind: updates as attribute, old value and new value
// side by side, list changes as the elements added and removed per object.
// Groups of more than 25 actions are collapsed under their counts, and a
// group lists its rows 200 at a time when it is opened.
//
// Ids and values are written as Print writes them (Go-quoted where they are
// not plain printable text), and as data that the page's script shows as
// text: nothing in them is markup or runs. The page's Content-Security-Policy
// allows only its own stylesheet and script. When either tree the plan was
// made from has RedactValues set, every value shows as [redacted].
//
// A plan larger than the page's limits (PageMaxActions, PageMaxBytes) shows
// the first n actions of each branch and kind and says how many it leaves
// out; a text longer than a kilobyte shows its first kilobyte. A plan of a
// million actions thus makes a page of about the size of one of 150,000,
// which a browser opens in about a second.
//
// It returns the first write error.
func (p *Plan) WriteHTML(w io.Writer) error { return p.writeHTML(w, PageMaxActions, PageMaxBytes) }

// writeHTML is WriteHTML within the limits given, which tests make small.
func (p *Plan) writeHTML(w io.Writer, maxActions, maxBytes int) error {
	r := newReview(p)
	texts := make([][]actionText, len(r.groups))
	for g := range texts {
		texts[g] = make([]actionText, 0, min(len(r.groups[g].idx), maxActions))
	}
	r.fit(maxActions, maxActions, maxBytes, func(g, k int) int {
		t := r.text(r.groups[g].idx[k])
		texts[g] = append(texts[g], t)
		return t.size + pageRowCost
	})

	bw := bufio.NewWriterSize(w, 64<<10)
	state, title, reason := r.verdict()
	fmt.Fprintf(bw, `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="%s">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>dss plan: %s → %s (%s)</title>
<style>%s</style>
</head>
`, pageCSP, html.EscapeString(fmtBare(p.Source)), html.EscapeString(fmtBare(p.Dest)), state, pageCSS)
	if err := pageBody.Execute(bw, r.pageData(state, title, reason)); err != nil {
		return fmt.Errorf("dss: write html: %w", err)
	}
	// The data is JSON inside a script element that is never run: encoding/json
	// writes <, > and & as \u003c, \u003e and \u0026, and U+2028 and U+2029
	// escaped, so no value can end the element or start a comment.
	bw.WriteString(`<script type="application/json" id="plan-data">`)
	if err := json.NewEncoder(bw).Encode(r.pageJSON(texts)); err != nil {
		return fmt.Errorf("dss: write html: %w", err)
	}
	bw.WriteString("</script>\n<script>")
	bw.WriteString(pageJS)
	bw.WriteString("</script>\n</body></html>\n")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("dss: write html: %w", err)
	}
	return nil
}

// pageData is what the page's template shows.
type pageData struct {
	Source, Dest         string
	State, Title, Reason string
	Counts               []pageCount
	Errors               string
	Groups               []pageGroup
	Left                 string // actions left out, or ""
	PerGroup, Shown      string
	Total                string
	Redacted             bool
}

type pageCount struct {
	Branch    string
	Cells     []pageCell
	Unchanged string
}

type pageCell struct {
	Kind string // the CSS class
	N    string
	W    int // the bar's width in pixels
}

type pageGroup struct {
	Index         int
	Branch, Kind  string
	Class, Count  string
	Open, Partial bool
}

// pageKinds are the counts table's columns.
var pageKinds = [...]Kind{KindNew, KindUpdate, KindAdd, KindRemove, KindOld}

// barWidth is the width of the widest bar.
const barWidth = 60

func (r *review) pageData(state, title, reason string) pageData {
	d := pageData{Source: fmtBare(r.p.Source), Dest: fmtBare(r.p.Dest), State: state, Title: title,
		Reason: reason, Redacted: r.redactsSome()}
	most := 0
	for _, c := range r.counts {
		for _, k := range pageKinds {
			most = max(most, c.kinds[k])
		}
	}
	for _, c := range r.counts {
		pc := pageCount{Branch: fmtBare(c.branch), Unchanged: thousands(c.unchanged)}
		for _, k := range pageKinds {
			w := 0
			if n := c.kinds[k]; n > 0 {
				w = max(1, n*barWidth/most)
			}
			pc.Cells = append(pc.Cells, pageCell{Kind: "k-" + k.String(), N: thousands(c.kinds[k]), W: w})
		}
		d.Counts = append(d.Counts, pc)
	}
	if n := r.total(KindError); n > 0 {
		d.Errors = plural(n, "model error")
	}
	shown := 0
	for i, g := range r.groups {
		shown += g.shown
		d.Groups = append(d.Groups, pageGroup{Index: i, Branch: fmtBare(g.branch), Kind: g.kindLabel(),
			Class: "k-" + g.kind.String(), Count: plural(len(g.idx), "action"),
			Open: len(g.idx) <= pageOpen, Partial: g.shown < len(g.idx)})
	}
	if left := r.left(); left > 0 {
		d.Left, d.Shown, d.Total = thousands(left), thousands(shown), thousands(len(r.p.Actions))
		most := 0
		for _, g := range r.groups {
			most = max(most, g.shown)
		}
		d.PerGroup = thousands(most)
	}
	return d
}

var pageBody = template.Must(template.New("page").Parse(`<body>
<header>
<h1>Plan for <span class="tree">{{.Dest}}</span> from <span class="tree">{{.Source}}</span></h1>
<section id="verdict" class="verdict {{.State}}"><h2>{{.Title}}</h2>{{if .Reason}}
<p class="reason">{{.Reason}}</p>{{end}}</section>
</header>
<main>
<section id="counts"><h2>Actions per branch and kind</h2>
<table class="counts"><thead><tr><th>branch</th><th>new</th><th>update</th><th>add</th><th>remove</th><th>old</th><th>unchanged objects</th></tr></thead>
<tbody>{{range .Counts}}
<tr><th scope="row">{{.Branch}}</th>{{range .Cells}}<td class="{{.Kind}}"><svg class="bar" width="60" height="10" aria-hidden="true"><rect width="{{.W}}" height="10"></rect></svg><span class="n">{{.N}}</span></td>{{end}}<td class="n">{{.Unchanged}}</td></tr>{{end}}
</tbody></table>{{if .Errors}}
<p class="errors">{{.Errors}}</p>{{end}}{{if .Redacted}}
<p class="note">Values show as [redacted]: the trees of this plan redact them (RedactValues).</p>{{end}}
</section>
<section id="find"><label for="q">Search idnumbers and values</label>
<input id="q" type="search" autocomplete="off" spellcheck="false" placeholder="an idnumber, a name, an email">
<span id="found" role="status"></span>
<div id="results"></div>
</section>
<section id="actions"><h2>Actions</h2>{{if .Left}}
<p class="capped" id="capped">This page holds the first {{.PerGroup}} actions of each branch and kind: {{.Shown}} of {{.Total}}. {{.Left}} actions are left out.</p>{{end}}
<noscript><p>The actions are listed by the page's script, which is off here; the verdict and the counts above are complete.</p></noscript>
{{range .Groups}}<details class="group" data-g="{{.Index}}"{{if .Open}} open{{end}}><summary><span class="kind {{.Class}}">{{.Kind}}</span> <span class="branch">{{.Branch}}</span> <span class="count">{{.Count}}{{if .Partial}}, the first ones in this page{{end}}</span></summary><div class="rows"></div></details>
{{end}}</section>
</main>
`))

// pageRow is one row of a group in the page's data. New and old rows have
// the id only; update rows the attribute, old and new value; list rows the
// attribute and the elements added and removed; model errors the error.
type pageRow struct {
	ID   string   `json:"i"`
	Attr string   `json:"a,omitempty"`
	Old  string   `json:"o,omitempty"`
	New  string   `json:"n,omitempty"`
	Add  []string `json:"p,omitempty"`
	Del  []string `json:"m,omitempty"`
	Err  string   `json:"e,omitempty"`
}

type pageGroupData struct {
	Label string    `json:"label"`
	Kind  string    `json:"kind"` // error, new, update, add (list changes), old
	Total int       `json:"total"`
	Rows  []pageRow `json:"rows"`
}

// pageJSON is the data of the page's groups: the rows of the actions each
// shows, an object's consecutive list changes of one attribute in one row.
func (r *review) pageJSON(texts [][]actionText) any {
	groups := make([]pageGroupData, len(r.groups))
	for gi, g := range r.groups {
		gd := pageGroupData{Label: fmtBare(g.branch) + ": " + g.kindLabel(), Kind: g.kind.String(), Total: len(g.idx)}
		gd.Rows = make([]pageRow, 0, g.shown)
		for k, i := range g.idx[:g.shown] {
			t := &texts[gi][k]
			if !t.listElements {
				gd.Rows = append(gd.Rows, pageRow{ID: t.id, Attr: t.attr, Old: t.dest, New: t.value, Err: t.err})
				continue
			}
			if n := len(gd.Rows); n == 0 || gd.Rows[n-1].ID != t.id || gd.Rows[n-1].Attr != t.attr {
				gd.Rows = append(gd.Rows, pageRow{ID: t.id, Attr: t.attr})
			}
			row := &gd.Rows[len(gd.Rows)-1]
			if r.p.Actions[i].Kind == KindAdd {
				row.Add = append(row.Add, t.value)
			} else {
				row.Del = append(row.Del, t.value)
			}
		}
		groups[gi] = gd
	}
	return struct {
		Groups []pageGroupData `json:"groups"`
	}{groups}
}

package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/datastoresync/dss"
	"github.com/datastoresync/dss/internal/planfile"
)

// terminal returns w if it is a terminal, where progress is worth showing,
// else nil.
func terminal(w io.Writer) io.Writer {
	f, ok := w.(*os.File)
	if !ok {
		return nil
	}
	if fi, err := f.Stat(); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	return w
}

// progress writes dss's progress reports on one terminal line, at most ten
// times a second.
type progress struct {
	mu   sync.Mutex
	w    io.Writer
	last time.Time
}

func newProgress(w io.Writer) *progress { return &progress{w: w} }

func (p *progress) report(r dss.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	done := r.Phase == "apply" && r.Done == r.Total
	now := time.Now()
	if !done && now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last = now
	fmt.Fprintf(p.w, "\r\x1b[K%s", progressLine(r))
	if done {
		fmt.Fprintln(p.w)
	}
}

// progressLine is one report as text.
func progressLine(r dss.Progress) string {
	rate := 0.0
	if s := r.Elapsed.Seconds(); s > 0 {
		rate = float64(r.Done) / s
	}
	if r.Phase == "import" {
		return fmt.Sprintf("import %s.%s: %d records (%.0f/s)", r.Tree, r.Branch, r.Done, rate)
	}
	return fmt.Sprintf("apply: %d of %d actions (%.0f/s), at %s", r.Done, r.Total, rate, r.Branch)
}

// writeReviews writes the plan's page (WriteHTML) to htmlPath and its
// Markdown summary (WriteMarkdown) to mdPath, where they are not "", and
// says so.
func writeReviews(stdout io.Writer, plan *dss.Plan, htmlPath, mdPath string) error {
	if htmlPath != "" {
		if err := planfile.Atomic(htmlPath, plan.WriteHTML); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "page written to %s\n", htmlPath)
	}
	if mdPath != "" {
		err := planfile.Atomic(mdPath, func(w io.Writer) error { return plan.WriteMarkdown(w, dss.MarkdownOptions{}) })
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "summary written to %s\n", mdPath)
	}
	return nil
}

package dss

import (
	"bufio"
	"fmt"
	"io"
)

// Print is the original's source > dest: it writes the plan to w, one
// action per line, a blank line, the summary and, when the plan would be
// refused, a last line that says why:
//
//	new_users(idnumber='22222')
//	update_name(idnumber='11111', attr="name", value="Old Name")
//
//	branch  created  updated  deleted  unchanged
//	users         1        1        0          0
//	groups        0        0        0          1
//
// It returns the first write error.
func (p *Plan) Print(w io.Writer) error {
	bw := bufio.NewWriter(w)
	for _, a := range p.Actions {
		bw.WriteString(a.String())
		bw.WriteByte('\n')
	}
	if len(p.Actions) > 0 {
		bw.WriteByte('\n')
	}
	bw.WriteString(p.Summary.String())
	if p.refusal != nil {
		fmt.Fprintf(bw, "refused: %v\n", p.refusal)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("dss: print: %w", err)
	}
	return nil
}

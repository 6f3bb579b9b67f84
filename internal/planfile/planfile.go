// Package planfile holds what dss's example programs do with a plan at
// the command line: print its head, read and write its JSON file, and
// write a file atomically. usersync and rabbitsync share it.
package planfile

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/datastoresync/dss"
)

// Short is how many actions a plan may have and still be printed whole
// without -verbose: about a screen.
const Short = 40

// Print prints the plan, its summary and its refusal, if any. A plan
// longer than Short is cut to its first Short/2 actions unless all is set.
func Print(w io.Writer, plan *dss.Plan, all bool) error {
	if all || len(plan.Actions) <= Short {
		return plan.Print(w)
	}
	bw := bufio.NewWriter(w)
	for _, a := range plan.Actions[:Short/2] {
		fmt.Fprintln(bw, a)
	}
	fmt.Fprintf(bw, "... and %d more actions (-verbose prints them all, -out saves them)\n\n", len(plan.Actions)-Short/2)
	bw.WriteString(plan.Summary.String())
	if err := plan.Refusal(); err != nil {
		fmt.Fprintf(bw, "refused: %v\n", err)
	}
	return bw.Flush()
}

// Read reads a plan that Write wrote.
func Read(path string) (*dss.Plan, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	plan := new(dss.Plan)
	if err := json.Unmarshal(data, plan); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return plan, nil
}

// Write writes the plan to path as indented JSON, atomically.
func Write(path string, plan *dss.Plan) error {
	data, err := json.MarshalIndent(plan, "", "  ")
	if err != nil {
		return err
	}
	return Atomic(path, func(w io.Writer) error {
		_, err := w.Write(append(data, '\n'))
		return err
	})
}

// Atomic writes a file at path through write, by way of a temporary file
// renamed over it: a reader sees the older file or the whole new one,
// never a part, and a failed write leaves the older file as it was.
func Atomic(path string, write func(io.Writer) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	bw := bufio.NewWriter(f)
	if err := write(bw); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

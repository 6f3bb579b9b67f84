// Package input is what dss's file connectors (dsscsv, dssjsonl) share:
// where an import reads from, and the text of their positioned errors.
package input

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// Errors of an Input that cannot be read.
var (
	ErrReadTwice = errors.New("reader already read: use Open to import a file again")
	ErrNoReader  = errors.New("no reader: make the Importer with Open or New")
)

// An Input is a file opened anew at every import, or a reader read once.
type Input struct {
	Path string    // the file, when not empty
	R    io.Reader // else the reader
	read bool      // R has been read
}

// Open returns the reader for one import, the file's size when it is a
// regular file (else 0), and a function that closes what Open opened. Its
// error is an *fs.PathError when the file will not open, else ErrReadTwice
// or ErrNoReader.
func (in *Input) Open() (r io.Reader, size int64, close func() error, err error) {
	if in.Path == "" {
		if in.read {
			return nil, 0, nil, ErrReadTwice
		}
		in.read = true
		if in.R == nil {
			return nil, 0, nil, ErrNoReader
		}
		return in.R, 0, func() error { return nil }, nil
	}
	f, err := os.Open(in.Path)
	if err != nil {
		return nil, 0, nil, err
	}
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		size = st.Size()
	}
	return f, size, f.Close, nil
}

// IsOpenError reports whether err, from Open, is the file's failing to open.
func IsOpenError(err error) bool {
	var pe *fs.PathError
	return errors.As(err, &pe)
}

// Message is the text of a connector's positioned error: "kind
// source:line:column: cause", leaving out a line or column of 0 (a column
// only with its line) and a nil cause.
func Message(kind, source string, line, column int, err error) string {
	var b strings.Builder
	b.WriteString(kind + " " + source)
	if line > 0 {
		fmt.Fprintf(&b, ":%d", line)
		if column > 0 {
			fmt.Fprintf(&b, ":%d", column)
		}
	}
	if err != nil {
		b.WriteString(": " + err.Error())
	}
	return b.String()
}

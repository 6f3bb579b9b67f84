package input

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpen(t *testing.T) {
	in := &Input{R: strings.NewReader("x")}
	if r, size, done, err := in.Open(); err != nil || r == nil || size != 0 || done() != nil {
		t.Fatalf("first Open of a reader: %v", err)
	}
	if _, _, _, err := in.Open(); !errors.Is(err, ErrReadTwice) || IsOpenError(err) {
		t.Fatalf("second Open of a reader: %v", err)
	}
	if _, _, _, err := (&Input{}).Open(); !errors.Is(err, ErrNoReader) {
		t.Fatalf("Open of nothing: %v", err)
	}
	path := filepath.Join(t.TempDir(), "f.csv")
	if err := os.WriteFile(path, []byte("12345"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := &Input{Path: path}
	for range 2 { // a file opens at every import
		_, size, done, err := file.Open()
		if err != nil || size != 5 {
			t.Fatalf("Open of a file: size %d, %v", size, err)
		}
		if err := done(); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, _, err := (&Input{Path: path + ".missing"}).Open(); !IsOpenError(err) {
		t.Fatalf("Open of a missing file: %v", err)
	}
}

func TestMessage(t *testing.T) {
	cause := errors.New("bad")
	for _, c := range []struct {
		line, col int
		err       error
		want      string
	}{
		{12, 5, cause, "csv a.csv:12:5: bad"},
		{12, 0, cause, "csv a.csv:12: bad"},
		{0, 5, cause, "csv a.csv: bad"},
		{0, 0, nil, "csv a.csv"},
	} {
		if got := Message("csv", "a.csv", c.line, c.col, c.err); got != c.want {
			t.Errorf("Message(%d, %d, %v) = %q, want %q", c.line, c.col, c.err, got, c.want)
		}
	}
}

package dss

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
)

// The saved-tree format, version 1, is JSON Lines: a header line
//
//	{"dss":"tree","version":1,"tree":"source"}
//
// then one line per object, branches in order, objects in idnumber order:
//
//	{"branch":"users","object":{"idnumber":"11111","name":"Old Name","_lastfirst":"Name, Old"}}
//
// An object holds every attribute, "_" keys included, under its record key;
// lists are arrays, times RFC 3339 strings, and an absent value (a nil
// pointer, a sql.Null that is not Valid) is null. JSON Lines because the standard
// library reads and writes it, people can read and diff it, a line is a
// position an error can name, and it streams: neither saving nor loading
// holds more than one object's text at a time.
const saveVersion = 1

type saveHeader struct {
	DSS     string `json:"dss"`
	Version int    `json:"version"`
	Tree    string `json:"tree"`
}

type saveLine struct {
	Branch string `json:"branch"`
	Object Record `json:"object"`
}

// SaveFile writes the tree to path in the saved-tree format (see LoadFile).
// It is the original's write_to_disk. The file is the tree's data, the
// values of secret fields included (LoadFile must give back the tree that
// was imported, or the next plan would change every secret): it is created
// readable and writable by its owner only (0600 on Unix), and is to be kept
// as the source itself is. A saved plan, which people review, holds no
// secret. It writes a temporary file in path's
// directory, syncs it to disk (fsync), renames it over path and then syncs
// the directory. So a reader sees the old file or the whole new one, never
// a part; and once SaveFile returns nil the new file survives a crash of the
// system or a power cut, as far as the disk keeps what fsync asked of it.
// Where a directory cannot be synced (Windows, and file systems that refuse
// it as invalid or unsupported), the rename is left to the system to write:
// after a crash path may hold the old file, never a partial one. An error
// before the rename leaves path as it was and removes the temporary file;
// an error syncing the directory is returned with the new file in place.
func (t *Tree[T]) SaveFile(path string) (err error) {
	t.t.mu.RLock()
	defer t.t.mu.RUnlock()
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("dss: save %s: %w", t.t.name, err)
	}
	renamed := false
	defer func() {
		if err != nil {
			if !renamed {
				f.Close()
				os.Remove(f.Name())
			}
			err = fmt.Errorf("dss: save %s to %s: %w", t.t.name, path, err)
		}
	}()
	w := bufio.NewWriter(f)
	if err := t.t.save(w); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := fsync(f); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	renamed = true
	return syncDir(dir)
}

// fsync flushes a file to disk; tests replace it to see what is synced.
var fsync = (*os.File).Sync

// syncDir syncs directory dir, so that a rename in it is on disk. It
// returns nil where directories cannot be synced: on Windows, and when the
// file system refuses with EINVAL or an error that is errors.ErrUnsupported
// (ENOTSUP, EOPNOTSUPP, ENOSYS).
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = fsync(d)
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, errors.ErrUnsupported) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	return nil
}

func (t *tree) save(w io.Writer) error {
	enc := json.NewEncoder(w)
	if err := enc.Encode(saveHeader{DSS: "tree", Version: saveVersion, Tree: t.name}); err != nil {
		return err
	}
	for _, b := range t.branches {
		p := b.objPlan()
		for obj := range b.objects() {
			if err := enc.Encode(saveLine{Branch: b.Name(), Object: p.record(obj)}); err != nil {
				return err
			}
		}
	}
	return nil
}

// LoadFile replaces the tree's objects with those SaveFile wrote to path,
// instead of importing again: the original's read_from_disk. Objects are
// decoded as imported records are, so a file that does not fit the tree's
// types is an *ImportError naming the file and line; Derive is not called
// again, since saved objects are complete. A failed load, a missing file
// included, leaves the tree empty and failed, as a failed Import does.
func (t *Tree[T]) LoadFile(path string) error {
	t.t.mu.Lock()
	defer t.t.mu.Unlock()
	t.t.begin(t.RedactValues)
	f, err := os.Open(path)
	if err != nil {
		return t.t.end(fmt.Errorf("dss: load %s: %w", t.t.name, err))
	}
	defer f.Close()
	return t.t.end(t.t.load(bufio.NewReader(f), path))
}

func (t *tree) load(r *bufio.Reader, path string) error {
	loadErr := func(line int, err error) error {
		return fmt.Errorf("dss: load %s: %s:%d: %w", t.name, path, line, err)
	}
	line := 0
	header := false
	for {
		text, err := r.ReadBytes('\n')
		if len(bytes.TrimSpace(text)) > 0 {
			line++
			dec := json.NewDecoder(bytes.NewReader(text))
			dec.UseNumber()
			if !header {
				var h saveHeader
				if err := dec.Decode(&h); err != nil {
					return loadErr(line, err)
				}
				if h.DSS != "tree" || h.Version != saveVersion {
					return loadErr(line, fmt.Errorf("not a saved dss tree of version %d", saveVersion))
				}
				if h.Tree != t.name {
					return loadErr(line, fmt.Errorf("the file holds tree %q", h.Tree))
				}
				header = true
			} else {
				var sl saveLine
				if err := dec.Decode(&sl); err != nil {
					return loadErr(line, err)
				}
				b, ok := t.byName[sl.Branch]
				if !ok {
					return loadErr(line, fmt.Errorf("no branch %q", sl.Branch))
				}
				if err := b.put(sl.Object, Pos{Source: path, Line: line}); err != nil {
					return err
				}
			}
		} else if len(text) > 0 {
			line++
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return loadErr(line, err)
		}
	}
	if !header {
		return loadErr(line, errors.New("empty file"))
	}
	for _, b := range t.branches {
		if err := b.finish(false); err != nil {
			return err
		}
	}
	return nil
}

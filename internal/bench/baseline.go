package main

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// The baseline is the same job in plain Go, without dss: what a competent
// Go programmer would write for this one scenario. It reads the CSVs with
// encoding/csv into maps of structs, derives the names, builds the groups as
// sets, and counts the actions by walking the maps. Unlike dss it makes no
// Action values and no deterministic order, and it knows its columns.

type bUser struct {
	name, email, department string
}

type bSet = map[string]struct{}

func importBaseline(dir string) (func() (map[string]int, error), error) {
	src := map[string]*bUser{}
	err := readCSV(filepath.Join(dir, srcUsersFile), []string{"idnumber", "lastfirst", "email", "department"}, func(f []string) error {
		last, first, ok := strings.Cut(f[1], ",")
		if !ok {
			return fmt.Errorf("name %q is not \"Last, First\"", f[1])
		}
		if _, dup := src[f[0]]; dup {
			return fmt.Errorf("idnumber %q repeated", f[0])
		}
		src[f[0]] = &bUser{name: strings.TrimSpace(first) + " " + strings.TrimSpace(last), email: f[2], department: f[3]}
		return nil
	})
	if err != nil {
		return nil, err
	}
	srcGroups := map[string]bSet{}
	for id, u := range src {
		if u.department == "" {
			continue
		}
		g := srcGroups[u.department]
		if g == nil {
			g = bSet{}
			srcGroups[u.department] = g
		}
		g[id] = struct{}{}
	}

	dst := map[string]*bUser{}
	err = readCSV(filepath.Join(dir, dstUsersFile), []string{"idnumber", "firstname", "lastname", "email", "department"}, func(f []string) error {
		if _, dup := dst[f[0]]; dup {
			return fmt.Errorf("idnumber %q repeated", f[0])
		}
		dst[f[0]] = &bUser{name: f[1] + " " + f[2], email: f[3], department: f[4]}
		return nil
	})
	if err != nil {
		return nil, err
	}
	dstGroups := map[string]bSet{}
	err = readCSV(filepath.Join(dir, membershipsFile), []string{"group", "user"}, func(f []string) error {
		g := dstGroups[f[0]]
		if g == nil {
			g = bSet{}
			dstGroups[f[0]] = g
		}
		g[f[1]] = struct{}{}
		return nil
	})
	if err != nil {
		return nil, err
	}

	return func() (map[string]int, error) {
		counts := map[string]int{}
		for id, s := range src {
			d, ok := dst[id]
			if !ok {
				counts["new_users"]++
				continue
			}
			if s.name != d.name {
				counts["update_name"]++
			}
			if s.email != d.email {
				counts["update_email"]++
			}
			if s.department != d.department {
				counts["update_department"]++
			}
		}
		for id := range dst {
			if _, ok := src[id]; !ok {
				counts["old_users"]++
			}
		}
		for name, s := range srcGroups {
			d, ok := dstGroups[name]
			if !ok {
				counts["new_groups"]++
				continue
			}
			for m := range s {
				if _, ok := d[m]; !ok {
					counts["add_members_to_groups"]++
				}
			}
			for m := range d {
				if _, ok := s[m]; !ok {
					counts["remove_members_from_groups"]++
				}
			}
		}
		for name := range dstGroups {
			if _, ok := srcGroups[name]; !ok {
				counts["old_groups"]++
			}
		}
		return counts, nil
	}, nil
}

// readCSV calls row with the fields of each record of the file, in the
// order of columns, after checking the header. The fields are valid only
// during the call; strings taken from them may be kept.
func readCSV(path string, columns []string, row func([]string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReaderSize(f, 64<<10))
	r.ReuseRecord = true
	r.FieldsPerRecord = len(columns)
	header, err := r.Read()
	if err != nil {
		return fmt.Errorf("%s: header: %w", path, err)
	}
	for i, c := range columns {
		if strings.TrimSpace(header[i]) != c {
			return fmt.Errorf("%s: column %d is %q, want %q", path, i+1, header[i], c)
		}
	}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if err := row(rec); err != nil {
			line, _ := r.FieldPos(0)
			return fmt.Errorf("%s:%d: %w", path, line, err)
		}
	}
}

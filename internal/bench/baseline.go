package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// The floor: sorted slices and merge walks. It is the same job in plain Go,
// without dss, as a competent engineer would write it for this one scenario,
// and it is what dss is measured against.
//
// Each file is read with encoding/csv (ReuseRecord, keeping the strings it
// returns) into one slice, sized once from a count of the file's lines.
// Users are sorted by idnumber with slices.SortFunc, and a repeated
// idnumber is an error, as in a Unique branch. A group is a run of
// memberships (group, user) sorted by group and then user, so its members
// are a sorted set (collecting members per group in a map of slices instead
// was no faster at N = 1,000,000 and peaked 8% higher). The source and the destination are read on two
// goroutines. The actions are counted by merge walks: two sorted slices
// walked together, for the users, the groups, and the members of each
// group found on both sides.
//
// Unlike dss, it makes no Action values, has no guards, and knows its
// columns.

type floorUser struct {
	id, name, email, department string
}

type membership struct {
	group, user string
}

// floorSide is one side's users, sorted by idnumber, and its memberships,
// sorted by group and user.
type floorSide struct {
	users       []floorUser
	memberships []membership
}

func importFloor(dir string) (func() (map[string]int, error), error) {
	var src, dst floorSide
	var srcErr, dstErr error
	var wg sync.WaitGroup
	wg.Go(func() { src, srcErr = readFloorSource(dir) })
	wg.Go(func() { dst, dstErr = readFloorDest(dir) })
	wg.Wait()
	if err := errors.Join(srcErr, dstErr); err != nil {
		return nil, err
	}
	return func() (map[string]int, error) { return diffFloor(&src, &dst), nil }, nil
}

// readFloorSource reads the source's users and derives its groups from
// their departments.
func readFloorSource(dir string) (floorSide, error) {
	var s floorSide
	path := filepath.Join(dir, srcUsersFile)
	lines, err := countLines(path)
	if err != nil {
		return s, err
	}
	s.users = make([]floorUser, 0, lines)
	err = readCSV(path, []string{"idnumber", "lastfirst", "email", "department"}, func(f []string) error {
		last, first, ok := strings.Cut(f[1], ",")
		if !ok {
			return fmt.Errorf("name %q is not \"Last, First\"", f[1])
		}
		name := strings.TrimSpace(first) + " " + strings.TrimSpace(last)
		s.users = append(s.users, floorUser{id: f[0], name: name, email: f[2], department: f[3]})
		return nil
	})
	if err != nil {
		return s, err
	}
	if err := sortUsers(path, s.users); err != nil {
		return s, err
	}
	s.memberships = make([]membership, 0, len(s.users))
	for _, u := range s.users {
		if u.department != "" {
			s.memberships = append(s.memberships, membership{group: u.department, user: u.id})
		}
	}
	s.memberships = sortMemberships(s.memberships)
	return s, nil
}

// readFloorDest reads the destination's users and memberships.
func readFloorDest(dir string) (floorSide, error) {
	var s floorSide
	path := filepath.Join(dir, dstUsersFile)
	lines, err := countLines(path)
	if err != nil {
		return s, err
	}
	s.users = make([]floorUser, 0, lines)
	err = readCSV(path, []string{"idnumber", "firstname", "lastname", "email", "department"}, func(f []string) error {
		s.users = append(s.users, floorUser{id: f[0], name: f[1] + " " + f[2], email: f[3], department: f[4]})
		return nil
	})
	if err != nil {
		return s, err
	}
	if err := sortUsers(path, s.users); err != nil {
		return s, err
	}

	path = filepath.Join(dir, membershipsFile)
	if lines, err = countLines(path); err != nil {
		return s, err
	}
	s.memberships = make([]membership, 0, lines)
	err = readCSV(path, []string{"group", "user"}, func(f []string) error {
		s.memberships = append(s.memberships, membership{group: f[0], user: f[1]})
		return nil
	})
	if err != nil {
		return s, err
	}
	s.memberships = sortMemberships(s.memberships)
	return s, nil
}

// sortUsers sorts users by idnumber and refuses a repeated one.
func sortUsers(path string, users []floorUser) error {
	slices.SortFunc(users, func(a, b floorUser) int { return strings.Compare(a.id, b.id) })
	for i := 1; i < len(users); i++ {
		if users[i].id == users[i-1].id {
			return fmt.Errorf("%s: idnumber %q repeated", path, users[i].id)
		}
	}
	return nil
}

// sortMemberships sorts ms by group and user and drops repeated ones: a
// group's members are a set.
func sortMemberships(ms []membership) []membership {
	slices.SortFunc(ms, compareMemberships)
	return slices.Compact(ms)
}

func compareMemberships(a, b membership) int {
	if c := strings.Compare(a.group, b.group); c != 0 {
		return c
	}
	return strings.Compare(a.user, b.user)
}

// diffFloor counts the actions that would make dst like src.
func diffFloor(src, dst *floorSide) map[string]int {
	counts := map[string]int{}
	mergeWalk(src.users, dst.users, func(s, d *floorUser) int { return strings.Compare(s.id, d.id) }, func(s, d *floorUser) {
		switch {
		case d == nil:
			counts["new_users"]++
		case s == nil:
			counts["old_users"]++
		default:
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
	})
	byGroup := func(s, d *floorGroup) int { return strings.Compare(s.name, d.name) }
	byUser := func(s, d *membership) int { return strings.Compare(s.user, d.user) }
	mergeWalk(groups(src.memberships), groups(dst.memberships), byGroup, func(s, d *floorGroup) {
		switch {
		case d == nil:
			counts["new_groups"]++
		case s == nil:
			counts["old_groups"]++
		default:
			mergeWalk(s.members, d.members, byUser, func(s, d *membership) {
				switch {
				case d == nil:
					counts["add_members_to_groups"]++
				case s == nil:
					counts["remove_members_from_groups"]++
				}
			})
		}
	})
	return counts
}

// A floorGroup is a run of memberships of one group, sorted by user.
type floorGroup struct {
	name    string
	members []membership
}

// groups cuts memberships sorted by group into one run per group.
func groups(ms []membership) []floorGroup {
	var gs []floorGroup
	for len(ms) > 0 {
		n := 1
		for n < len(ms) && ms[n].group == ms[0].group {
			n++
		}
		gs = append(gs, floorGroup{name: ms[0].group, members: ms[:n]})
		ms = ms[n:]
	}
	return gs
}

// mergeWalk walks a and b, both sorted by compare and without repeats,
// together: it calls both with each element of a and its equal in b, with
// an element of a and nil when b has no equal, and with nil and an element
// of b when a has none.
func mergeWalk[T any](a, b []T, compare func(x, y *T) int, both func(x, y *T)) {
	for len(a) > 0 || len(b) > 0 {
		c := -1 // only a is left
		if len(a) == 0 {
			c = 1
		} else if len(b) > 0 {
			c = compare(&a[0], &b[0])
		}
		switch {
		case c < 0:
			both(&a[0], nil)
			a = a[1:]
		case c > 0:
			both(nil, &b[0])
			b = b[1:]
		default:
			both(&a[0], &b[0])
			a, b = a[1:], b[1:]
		}
	}
}

// countLines counts the newlines in the file at path: at least its number
// of records, since the header takes one, so a slice of that capacity is
// never grown.
func countLines(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	n := 0
	for {
		k, err := f.Read(buf)
		n += bytes.Count(buf[:k], []byte{'\n'})
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return 0, fmt.Errorf("%s: %w", path, err)
		}
	}
}

// readCSV calls row with the fields of each record of the file, in the
// order of columns, after checking the header. The slice is valid only
// during the call; the strings in it may be kept.
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

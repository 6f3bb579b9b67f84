package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The scenario "users-groups", built exactly as issue 5 describes it so that
// figures compare across tools. Everything derives from N:
//
//   - source user i (0 <= i < N) has idnumber 100000+i, first name
//     firstNames[i%17], last name lastNames[(i/17)%23], email
//     first.last.idnumber@example.edu in lower case, department
//     dept-%04d of i%D, where D = N/100 + 7;
//   - the destination has the same users except: i%100 == 1 is absent;
//     i%50 == 7 has its first name + "x"; i%40 == 3 has its email prefixed
//     "old."; i%25 == 11 is in department (i+1)%D; plus N/100
//     destination-only users 900000000+j in dept-0000;
//   - source groups derive from the source users' departments; destination
//     groups are one membership per destination user in its department,
//     plus dept-legacy with 100000 and 100002.

const scenario = "users-groups"

// The file names in the benchmark's directory.
const (
	srcUsersFile    = "users.csv"
	dstUsersFile    = "dest_users.csv"
	membershipsFile = "memberships.csv"
	manifestFile    = "manifest.json" // what -reuse checks
)

var (
	firstNames = [17]string{"Ada", "Alan", "Barbara", "Claude", "Donald", "Edsger", "Frances", "Grace", "Ken",
		"Leslie", "Margaret", "Niklaus", "Ole", "Radia", "Shafi", "Tony", "Whitfield"}
	lastNames = [23]string{"Allen", "Backus", "Cerf", "Dijkstra", "Engelbart", "Floyd", "Goldwasser", "Hamilton",
		"Hopper", "Kahn", "Knuth", "Lamport", "Liskov", "Lovelace", "McCarthy", "Perlman", "Ritchie", "Shannon",
		"Thompson", "Turing", "Wirth", "Yao", "Zuse"}
)

// The scenario's rules, by source index i.
func departments(n int) int   { return n/100 + 7 }
func oldUsers(n int) int      { return n / 100 }
func absent(i int) bool       { return i%100 == 1 }
func renamed(i int) bool      { return i%50 == 7 }
func emailChanged(i int) bool { return i%40 == 3 }
func moved(i int) bool        { return i%25 == 11 }

// The action names the benchmark counts, in plan order.
var actionNames = []string{
	"new_users", "new_groups",
	"update_name", "update_email", "update_department",
	"add_members_to_groups", "remove_members_from_groups",
	"old_groups", "old_users",
}

// appendDept appends dept-%04d of k.
func appendDept(b []byte, k int) []byte {
	b = append(b, "dept-"...)
	for p := 1000; p > 1 && k < p; p /= 10 {
		b = append(b, '0')
	}
	return strconv.AppendInt(b, int64(k), 10)
}

func dept(k int) string { return string(appendDept(nil, k)) }

// manifest is what a directory of generated files holds; -reuse reuses the
// files only when it matches.
type manifest struct {
	Scenario string `json:"scenario"`
	N        int    `json:"n"`
}

// generate writes the scenario's three CSV files for n users into dir. With
// reuse, it keeps files that exist and were generated for the same n, and
// reports whether it did.
func generate(dir string, n int, reuse bool) (reused bool, err error) {
	if n < 1 {
		return false, fmt.Errorf("n must be at least 1, not %d", n)
	}
	want := manifest{Scenario: scenario, N: n}
	if reuse && filesExist(dir) {
		var got manifest
		if b, err := os.ReadFile(filepath.Join(dir, manifestFile)); err == nil && json.Unmarshal(b, &got) == nil && got == want {
			return true, nil
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, err
	}
	// The manifest goes first and last: removed before, so that an
	// interrupted run is not reused, and written once every file is complete.
	if err := os.Remove(filepath.Join(dir, manifestFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	d := departments(n)
	err = writeFile(filepath.Join(dir, srcUsersFile), func(w *bufio.Writer) {
		w.WriteString("idnumber,lastfirst,email,department\n")
		var b []byte
		for i := range n {
			first, last := firstNames[i%17], lastNames[(i/17)%23]
			b = strconv.AppendInt(b[:0], int64(100000+i), 10)
			b = append(b, ",\""...)
			b = append(b, last...)
			b = append(b, ", "...)
			b = append(b, first...)
			b = append(b, "\","...)
			b = appendEmail(b, first, last, 100000+i)
			b = append(b, ',')
			b = appendDept(b, i%d)
			b = append(b, '\n')
			w.Write(b)
		}
	})
	if err != nil {
		return false, err
	}
	err = writeFile(filepath.Join(dir, dstUsersFile), func(w *bufio.Writer) {
		w.WriteString("idnumber,firstname,lastname,email,department\n")
		var b []byte
		for i := range n {
			if absent(i) {
				continue
			}
			first, last := firstNames[i%17], lastNames[(i/17)%23]
			b = strconv.AppendInt(b[:0], int64(100000+i), 10)
			b = append(b, ',')
			b = append(b, first...)
			if renamed(i) {
				b = append(b, 'x')
			}
			b = append(b, ',')
			b = append(b, last...)
			b = append(b, ',')
			if emailChanged(i) {
				b = append(b, "old."...)
			}
			b = appendEmail(b, first, last, 100000+i)
			b = append(b, ',')
			b = appendDept(b, destDept(i, d))
			b = append(b, '\n')
			w.Write(b)
		}
		for j := range oldUsers(n) {
			b = strconv.AppendInt(b[:0], int64(900000000+j), 10)
			b = append(b, ",Former,Student,"...)
			b = appendEmail(b, "Former", "Student", 900000000+j)
			b = append(b, ",dept-0000\n"...)
			w.Write(b)
		}
	})
	if err != nil {
		return false, err
	}
	err = writeFile(filepath.Join(dir, membershipsFile), func(w *bufio.Writer) {
		w.WriteString("group,user\n")
		var b []byte
		for i := range n {
			if absent(i) {
				continue
			}
			b = appendDept(b[:0], destDept(i, d))
			b = append(b, ',')
			b = strconv.AppendInt(b, int64(100000+i), 10)
			b = append(b, '\n')
			w.Write(b)
		}
		for j := range oldUsers(n) {
			b = append(b[:0], "dept-0000,"...)
			b = strconv.AppendInt(b, int64(900000000+j), 10)
			b = append(b, '\n')
			w.Write(b)
		}
		w.WriteString("dept-legacy,100000\ndept-legacy,100002\n")
	})
	if err != nil {
		return false, err
	}
	m, _ := json.Marshal(want)
	return false, os.WriteFile(filepath.Join(dir, manifestFile), append(m, '\n'), 0o644)
}

// destDept is the index of destination user i's department.
func destDept(i, d int) int {
	if moved(i) {
		return (i + 1) % d
	}
	return i % d
}

// appendEmail appends first.last.id@example.edu in lower case.
func appendEmail(b []byte, first, last string, id int) []byte {
	b = append(b, strings.ToLower(first)...)
	b = append(b, '.')
	b = append(b, strings.ToLower(last)...)
	b = append(b, '.')
	b = strconv.AppendInt(b, int64(id), 10)
	return append(b, "@example.edu"...)
}

func filesExist(dir string) bool {
	for _, f := range []string{srcUsersFile, dstUsersFile, membershipsFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return false
		}
	}
	return true
}

// writeFile writes path through a buffered writer, reporting the first
// error of writing, flushing or closing.
func writeFile(path string, write func(*bufio.Writer)) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 256<<10)
	write(w) // a bufio.Writer keeps its first error; Flush returns it
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Close()
}

// expected returns the action counts the scenario must give for n users,
// computed from the rules alone, without the files. User counts are closed
// forms (how many i < n have a residue); group counts need to know which
// departments exist on each side, which for some n is not every one (when
// 100 divides D, department 1 holds only absent users and departments 11,
// 36, 61 and 86 only moved ones), so they come from per-department counters.
func expected(n int) map[string]int {
	d := departments(n)
	counts := map[string]int{
		"new_users":         residues(n, 100, 1),
		"update_name":       residues(n, 50, 7),  // never absent: i%100 is 7 or 57
		"update_email":      residues(n, 40, 3),  // never absent: odd i%20
		"update_department": residues(n, 25, 11), // never absent; (i+1)%D != i%D as D >= 7
		"old_users":         oldUsers(n),
	}
	src := make([]int, d)  // source members per department
	dst := make([]int, d)  // destination members per department
	lost := make([]int, d) // source members missing from the destination group
	in := make([]int, d)   // destination members not in the source group
	for i := range n {
		k := i % d
		src[k]++
		switch {
		case absent(i):
			lost[k]++
		case moved(i):
			lost[k]++
			dst[(i+1)%d]++
			in[(i+1)%d]++
		default:
			dst[k]++
		}
	}
	dst[0] += oldUsers(n)
	in[0] += oldUsers(n)
	counts["old_groups"] = 1 // dept-legacy
	for k := range d {
		switch {
		case src[k] > 0 && dst[k] == 0:
			counts["new_groups"]++
		case src[k] == 0 && dst[k] > 0:
			counts["old_groups"]++
		case src[k] > 0 && dst[k] > 0:
			counts["add_members_to_groups"] += lost[k]
			counts["remove_members_from_groups"] += in[k]
		}
	}
	return fill(counts)
}

// residues counts the i in [0, n) with i%m == r.
func residues(n, m, r int) int {
	if n <= r {
		return 0
	}
	return (n - r + m - 1) / m
}

// fill gives every counted action name a count, zero if missing.
func fill(counts map[string]int) map[string]int {
	for _, name := range actionNames {
		counts[name] += 0
	}
	return counts
}

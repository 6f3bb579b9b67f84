package main

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestScenario generates the files and runs both measurements in this
// process: their counts must agree with each other and with the closed
// forms. Besides the usual size, the sizes include edge cases of the
// scenario: fewer users than departments, and N = 9300, where D = 100 and
// five departments hold only users that are absent from the destination or
// moved out of it, so that their groups are new.
func TestScenario(t *testing.T) {
	for _, n := range []int{1, 2, 7, 150, 2000, 9300} {
		dir := t.TempDir()
		if _, err := generate(dir, n, false); err != nil {
			t.Fatal(err)
		}
		want := expected(n)
		for _, side := range []string{"floor", "dss"} {
			r, err := measure(side, dir, n)
			if err != nil {
				t.Fatalf("n=%d: %v", n, err)
			}
			if !maps.Equal(r.Actions, want) {
				t.Errorf("n=%d: %s:\n%s", n, side, diffCounts("got", r.Actions, "want", want))
			}
			if r.N != n || r.TotalSeconds <= 0 || r.Mallocs == 0 || r.HeapAlloc == 0 || r.PeakRSSBytes == 0 ||
				r.LiveBytes == 0 || r.LiveBytes > r.HeapAlloc {
				t.Errorf("n=%d: %s: implausible figures %+v", n, side, r)
			}
		}
	}
}

// TestExpected pins the closed forms at N = 2000 to numbers worked out by
// hand: D = 27, 20 absent, 40 renamed, 50 with a new email, 80 moved, 20
// destination-only users.
func TestExpected(t *testing.T) {
	want := map[string]int{
		"new_users": 20, "update_name": 40, "update_email": 50, "update_department": 80, "old_users": 20,
		"new_groups": 0, "old_groups": 1,
		"add_members_to_groups":      20 + 80, // the absent and the moved leave their source group
		"remove_members_from_groups": 80 + 20, // the moved join another; the old users are in dept-0000
	}
	if got := expected(2000); !maps.Equal(got, want) {
		t.Errorf("expected(2000):\n%s", diffCounts("got", got, "want", want))
	}
	// D = 100: every user of department 1 is absent, every user of
	// departments 11, 36, 61 and 86 moved, so their groups are new.
	if got := expected(9300)["new_groups"]; got != 5 {
		t.Errorf("expected(9300) has %d new groups, want 5", got)
	}
}

func TestGenerate(t *testing.T) {
	dir := t.TempDir()
	if _, err := generate(dir, 200, false); err != nil {
		t.Fatal(err)
	}
	lines := func(name string) []string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	}
	src, dst, mem := lines(srcUsersFile), lines(dstUsersFile), lines(membershipsFile)
	for _, c := range []struct{ got, want string }{
		{src[0], "idnumber,lastfirst,email,department"},
		{src[1], `100000,"Allen, Ada",ada.allen.100000@example.edu,dept-0000`},
		{src[18], `100017,"Backus, Ada",ada.backus.100017@example.edu,dept-0008`}, // D = 9
		{dst[0], "idnumber,firstname,lastname,email,department"},
		{dst[1], "100000,Ada,Allen,ada.allen.100000@example.edu,dept-0000"},
		{dst[2], "100002,Barbara,Allen,barbara.allen.100002@example.edu,dept-0002"}, // 100001 is absent
		{dst[3], "100003,Claude,Allen,old.claude.allen.100003@example.edu,dept-0003"},
		{dst[7], "100007,Gracex,Allen,grace.allen.100007@example.edu,dept-0007"},
		{dst[11], "100011,Niklaus,Allen,niklaus.allen.100011@example.edu,dept-0003"}, // moved to (11+1)%9
		{dst[len(dst)-1], "900000001,Former,Student,former.student.900000001@example.edu,dept-0000"},
		{mem[0], "group,user"},
		{mem[len(mem)-3], "dept-0000,900000001"},
		{mem[len(mem)-1], "dept-legacy,100002"},
	} {
		if c.got != c.want {
			t.Errorf("got  %s\nwant %s", c.got, c.want)
		}
	}
	if len(src) != 1+200 || len(dst) != 1+200-2+2 || len(mem) != 1+200-2+2+2 {
		t.Errorf("%d, %d, %d lines", len(src), len(dst), len(mem))
	}

	// -reuse keeps files made for the same n, and only those.
	if reused, err := generate(dir, 200, true); err != nil || !reused {
		t.Errorf("same n: reused %v, %v", reused, err)
	}
	if reused, err := generate(dir, 300, true); err != nil || reused {
		t.Errorf("other n: reused %v, %v", reused, err)
	}
}

func TestDept(t *testing.T) {
	for k, want := range map[int]string{0: "dept-0000", 7: "dept-0007", 50: "dept-0050", 999: "dept-0999", 1000: "dept-1000", 10006: "dept-10006"} {
		if got := dept(k); got != want {
			t.Errorf("dept(%d) = %q, want %q", k, got, want)
		}
	}
}

// TestFloorEdges gives the floor and dss the same small hand-made files,
// with what the generated scenario lacks: a user without a department, a
// membership listed twice, a member only the destination has in a group
// both sides have, groups on one side only, and idnumbers whose text order
// is not their numeric order. Both must count the same actions, and these.
func TestFloorEdges(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(srcUsersFile, `idnumber,lastfirst,email,department
10,"Lovelace, Ada",ada@example.edu,math
9,"Turing, Alan",alan@example.edu,math
100,"Hopper, Grace",grace@example.edu,
11,"Knuth, Donald",don@example.edu,cs
`)
	write(dstUsersFile, `idnumber,firstname,lastname,email,department
9,Alan,Turing,alan@old.example.edu,math
10,Ada,Lovelace,ada@example.edu,physics
100,Grace,Hopper,grace@example.edu,
12,Edsger,Dijkstra,edsger@example.edu,math
`)
	write(membershipsFile, `group,user
math,9
math,12
math,9
physics,10
`)
	want := fill(map[string]int{
		"new_users": 1, "update_email": 1, "update_department": 1, "old_users": 1,
		"new_groups": 1, "old_groups": 1, // cs; physics
		"add_members_to_groups": 1, "remove_members_from_groups": 1, // math: 10 in, 12 out
	})
	for _, side := range []string{"floor", "dss"} {
		r, err := measure(side, dir, 4)
		if err != nil {
			t.Fatalf("%s: %v", side, err)
		}
		if !maps.Equal(r.Actions, want) {
			t.Errorf("%s:\n%s", side, diffCounts("got", r.Actions, "want", want))
		}
	}
}

// TestFloorRepeatedID: like a Unique branch in dss, the floor refuses a
// repeated idnumber, naming the file and the idnumber.
func TestFloorRepeatedID(t *testing.T) {
	dir := t.TempDir()
	if _, err := generate(dir, 150, false); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(dir, dstUsersFile), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("100005,Ada,Allen,ada@example.edu,dept-0000\n"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = measure("floor", dir, 150)
	if err == nil || !strings.Contains(err.Error(), dstUsersFile) || !strings.Contains(err.Error(), `"100005" repeated`) {
		t.Errorf("got %v, want an error naming %s and idnumber 100005", err, dstUsersFile)
	}
}

func TestMergeWalk(t *testing.T) {
	a, b := []int{1, 3, 4, 7}, []int{2, 3, 7, 8, 9}
	var got []string
	mergeWalk(a, b, func(x, y *int) int { return *x - *y }, func(x, y *int) {
		switch {
		case y == nil:
			got = append(got, fmt.Sprintf("%d-", *x))
		case x == nil:
			got = append(got, fmt.Sprintf("-%d", *y))
		default:
			got = append(got, fmt.Sprintf("%d=%d", *x, *y))
		}
	})
	want := []string{"1-", "-2", "3=3", "4-", "7=7", "-8", "-9"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

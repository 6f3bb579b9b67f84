package dss

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
)

// Tree is level 2: one side of the sync, the source (the point of truth) or
// the destination. T is the program's struct of branches, each an exported
// field of type *Branch[K, V]:
//
//	type School struct {
//		Users  *dss.Branch[string, User]
//		Groups *dss.Branch[string, Group]
//	}
//
// A branch's name is its field's tag `dss:"name"`, else its Go name in
// snake_case (Users: users, GroupMembers: group_members). Branches keep the
// order of their fields: importers run in that order, and Diff lists actions
// in it.
type Tree[T any] struct {
	// Branches holds the tree's branches, typed: tree.Branches.Users.Get(id)
	// is the original's source.users.get(id).
	Branches *T
	// RedactValues keeps record values out of error messages: import
	// errors of this tree and apply errors that involve it say
	// "[redacted]" where a value would be, for data that must not reach
	// logs. Errors still name the branch, position, idnumber and key.
	RedactValues bool
	t            tree
}

// tree is the part of a Tree that does not depend on T.
type tree struct {
	name     string
	branches []branch
	byName   map[string]branch

	// mu is held by Import and Load, and read-held while the tree is
	// diffed, so that a plan never sees half an import.
	mu        sync.RWMutex
	gen       uint64    // counts imports and loads, so that a plan knows its own
	state     treeState // where the tree is in the lifecycle
	importErr error     // the last Import's error
	redact    bool      // RedactValues, as of the last Import or Load
}

// AnyTree is any *Tree[T], whatever its T: the two sides of a sync usually
// have different branch structs, and Diff takes the other side as an
// AnyTree.
type AnyTree interface {
	Import(ctx context.Context) error
	core() *tree
}

func (t *Tree[T]) core() *tree { return &t.t }

// NewTree returns a tree named name ("source", "dest") with a new, empty
// branch in every field of T.
//
// A wrong T is a programming error, so NewTree panics, naming each field
// that is wrong: a T that is not a struct, a field that is not a *Branch, an
// object type dss cannot decode, two branches with the same name.
func NewTree[T any](name string) *Tree[T] {
	t := &Tree[T]{Branches: new(T)}
	t.t.name = name
	t.t.byName = map[string]branch{}
	rt := reflect.TypeFor[T]()
	if rt.Kind() != reflect.Struct {
		panic(fmt.Sprintf("dss: NewTree: %v is not a struct of branches", rt))
	}
	var problems []string
	rv := reflect.ValueOf(t.Branches).Elem()
	for i := range rt.NumField() {
		sf := rt.Field(i)
		tag := sf.Tag.Get("dss")
		if tag == "-" {
			continue
		}
		if !sf.IsExported() || sf.Type.Kind() != reflect.Pointer {
			problems = append(problems, fmt.Sprintf("field %s: type %v is not a *dss.Branch[K, V]", sf.Name, sf.Type))
			continue
		}
		b, ok := reflect.New(sf.Type.Elem()).Interface().(newBranch)
		if !ok {
			problems = append(problems, fmt.Sprintf("field %s: type %v is not a *dss.Branch[K, V]", sf.Name, sf.Type))
			continue
		}
		bname := tag
		if bname == "" {
			bname = snakeCase(sf.Name)
		}
		if _, dup := t.t.byName[bname]; dup {
			problems = append(problems, fmt.Sprintf("field %s: a branch named %q exists already", sf.Name, bname))
			continue
		}
		if err := b.init(bname, &t.t); err != nil {
			problems = append(problems, fmt.Sprintf("field %s: %v", sf.Name, err))
			continue
		}
		rv.Field(i).Set(reflect.ValueOf(b))
		t.t.branches = append(t.t.branches, b)
		t.t.byName[bname] = b
	}
	if len(problems) == 0 && len(t.t.branches) == 0 {
		problems = append(problems, "no branches")
	}
	if len(problems) > 0 {
		panic(fmt.Sprintf("dss: NewTree[%v]: %s", rt, strings.Join(problems, "; ")))
	}
	return t
}

// Name returns the tree's name.
func (t *Tree[T]) Name() string { return t.t.name }

// Import is the original's +source: it empties every branch and runs the
// branches' importers in branch order, so that an importer can read the
// branches before it. It stops at the first error, which is an *ImportError
// naming the branch and, for a bad record, its position, key and value.
//
// A tree whose last Import failed cannot be planned from or applied to.
// Import waits for plans and diffs of the tree that are running, and they
// wait for it: neither sees the other half done.
func (t *Tree[T]) Import(ctx context.Context) error {
	return t.t.importAll(ctx, t.RedactValues, nil)
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"

	"github.com/datastoresync/dss"
)

// User is a RabbitMQ user, on both sides. Its password arrives as a hash
// (RabbitMQ's own format) and is a secret: dss never prints it, logs it or
// writes it into a plan file.
type User struct {
	Name             string `dss:"idnumber"`
	PasswordHash     string `dss:"password_hash,secret"`
	HashingAlgorithm string `dss:"hashing_algorithm"`
	// Tags are the user's tags, sorted and joined by commas, without the
	// sync's own managed tag, which the template adds to every write. One
	// text, so that a change of tags is one update_tags: RabbitMQ replaces
	// a user's tags whole.
	Tags string `dss:"tags"`
}

// Vhost is a virtual host.
type Vhost struct {
	Name        string `dss:"idnumber"`
	Description string `dss:"description"`
}

// Permission is one user's permissions on one virtual host. Its idnumber
// is the vhost and the user, each escaped as a URL path segment, joined by
// "/": the end of its API path, /api/permissions/{vhost}/{user}, and
// unambiguous whatever the names hold.
type Permission struct {
	ID        string `dss:"idnumber"`
	Vhost     string `dss:"_vhost"`
	User      string `dss:"_user"`
	Configure string `dss:"configure"`
	Write     string `dss:"write"`
	Read      string `dss:"read"`
}

// Broker is the tree on both sides: the directory and the broker. Branch
// order is what dss creates in (users and vhosts before the permissions
// that name them) and the reverse of what it deletes in.
type Broker struct {
	Users       *dss.Branch[string, User]
	Vhosts      *dss.Branch[string, Vhost]
	Permissions *dss.Branch[string, Permission]
}

// permissionID is the idnumber of user's permission on vhost.
func permissionID(vhost, user string) string {
	return url.PathEscape(vhost) + "/" + url.PathEscape(user)
}

// joinTags returns tags sorted, without duplicates, empty ones and the
// managed tag, joined by commas.
func joinTags(tags []string, managed string) string {
	var out []string
	for _, t := range tags {
		if t = strings.TrimSpace(t); t != "" && t != managed {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return strings.Join(slices.Compact(out), ",")
}

// Directory is the file the sync reads: the users, vhosts and permissions
// the broker must have, as JSON.
type Directory struct {
	Users       []DirUser       `json:"users"`
	Vhosts      []DirVhost      `json:"vhosts"`
	Permissions []DirPermission `json:"permissions"`
}

// DirUser is a user of the directory file.
type DirUser struct {
	Name             string   `json:"name"`
	PasswordHash     string   `json:"password_hash"`
	HashingAlgorithm string   `json:"hashing_algorithm"`
	Tags             []string `json:"tags"`
}

// DirVhost is a vhost of the directory file.
type DirVhost struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// DirPermission is a permission of the directory file.
type DirPermission struct {
	User      string `json:"user"`
	Vhost     string `json:"vhost"`
	Configure string `json:"configure"`
	Write     string `json:"write"`
	Read      string `json:"read"`
}

// readDirectory decodes a directory file, refusing unknown keys and a
// permission that names a user or vhost the file does not have. Errors
// name the file and the entry, never a password hash.
func readDirectory(r io.Reader, name string) (*Directory, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var d Directory
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("directory %s: %w", name, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("directory %s: data after the directory", name)
	}
	users, vhosts := map[string]bool{}, map[string]bool{}
	for i, u := range d.Users {
		if u.Name == "." || u.Name == ".." {
			return nil, fmt.Errorf("directory %s: user %d: the name %q cannot be a segment of the API's paths", name, i+1, u.Name)
		}
		users[u.Name] = true
	}
	for i, v := range d.Vhosts {
		if v.Name == "." || v.Name == ".." {
			return nil, fmt.Errorf("directory %s: vhost %d: the name %q cannot be a segment of the API's paths", name, i+1, v.Name)
		}
		vhosts[v.Name] = true
	}
	for i, p := range d.Permissions {
		switch {
		case !users[p.User]:
			return nil, fmt.Errorf("directory %s: permission %d: user %q is not in the directory", name, i+1, p.User)
		case !vhosts[p.Vhost]:
			return nil, fmt.Errorf("directory %s: permission %d: vhost %q is not in the directory", name, i+1, p.Vhost)
		}
	}
	return &d, nil
}

// sourceImporters sets the directory's importers on the source tree.
// managed is the sync's tag, which the directory's tags need not hold.
func sourceImporters(t *dss.Tree[Broker], d *Directory, managed string) {
	b := t.Branches
	b.Users.Unique, b.Vhosts.Unique, b.Permissions.Unique = true, true, true
	b.Users.Importer = dss.ImporterFunc(func(ctx context.Context, yield func(dss.Record) error) error {
		for _, u := range d.Users {
			if err := yield(dss.Record{"idnumber": u.Name, "password_hash": u.PasswordHash,
				"hashing_algorithm": u.HashingAlgorithm, "tags": joinTags(u.Tags, managed)}); err != nil {
				return err
			}
		}
		return nil
	})
	b.Vhosts.Importer = dss.ImporterFunc(func(ctx context.Context, yield func(dss.Record) error) error {
		for _, v := range d.Vhosts {
			if err := yield(dss.Record{"idnumber": v.Name, "description": v.Description}); err != nil {
				return err
			}
		}
		return nil
	})
	b.Permissions.Importer = dss.ImporterFunc(func(ctx context.Context, yield func(dss.Record) error) error {
		for _, p := range d.Permissions {
			if err := yield(dss.Record{"idnumber": permissionID(p.Vhost, p.User), "_vhost": p.Vhost, "_user": p.User,
				"configure": p.Configure, "write": p.Write, "read": p.Read}); err != nil {
				return err
			}
		}
		return nil
	})
}

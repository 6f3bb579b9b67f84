package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"

	"github.com/datastoresync/dss/internal/planfile"
)

// genSpec is the size and the names of a generated directory.
type genSpec struct {
	users, vhosts, perms int
	prefix               string // of every user and vhost name
}

// generate makes a directory deterministically: the same spec gives the
// same file. User i is <prefix>user-<i>, with the password
// "pw-<prefix>user-<i>" hashed as RabbitMQ does (see passwordHash), and
// some of them the tags monitoring or management (never administrator);
// permission k grants user k mod users a pattern on a vhost, each pair of
// user and vhost at most once. testdata/directory.json is
//
//	go run ./examples/rabbitsync -generate examples/rabbitsync/testdata/directory.json
func generate(s genSpec) *Directory {
	d := &Directory{Users: []DirUser{}, Vhosts: []DirVhost{}, Permissions: []DirPermission{}}
	tagSets := [][]string{{}, {"monitoring"}, {"management"}, {"management", "monitoring"}, {"policymaker"}}
	for i := range s.users {
		name := fmt.Sprintf("%suser-%04d", s.prefix, i)
		d.Users = append(d.Users, DirUser{Name: name, PasswordHash: passwordHash(name, "pw-"+name),
			HashingAlgorithm: "rabbit_password_hashing_sha256", Tags: tagSets[i%len(tagSets)]})
	}
	for i := range s.vhosts {
		d.Vhosts = append(d.Vhosts, DirVhost{Name: fmt.Sprintf("%svhost-%03d", s.prefix, i),
			Description: fmt.Sprintf("vhost %d of the generated directory", i)})
	}
	if s.users == 0 || s.vhosts == 0 {
		return d
	}
	patterns := []string{".*", "^amq\\.", "", "^" + s.prefix}
	seen := map[[2]int]bool{}
	for k := 0; len(d.Permissions) < s.perms && k < s.perms*4+s.users*s.vhosts; k++ {
		u, v := k%s.users, (k+k/s.users*7)%s.vhosts
		if seen[[2]int{u, v}] {
			continue
		}
		seen[[2]int{u, v}] = true
		d.Permissions = append(d.Permissions, DirPermission{User: d.Users[u].Name, Vhost: d.Vhosts[v].Name,
			Configure: patterns[k%len(patterns)], Write: patterns[(k+1)%len(patterns)], Read: patterns[(k+2)%len(patterns)]})
	}
	return d
}

// passwordHash is password hashed as RabbitMQ's
// rabbit_password_hashing_sha256 does: base64 of a 4-byte salt followed by
// SHA-256 of the salt and the password. The salt comes from the name, so
// that a generated directory is the same every time; a real directory
// takes its hashes from rabbitmqctl hash_password or from a broker.
func passwordHash(name, password string) string {
	salt := sha256.Sum256([]byte("salt:" + name))
	h := sha256.Sum256(append(salt[:4:4], password...))
	return base64.StdEncoding.EncodeToString(append(salt[:4:4], h[:]...))
}

// writeDirectory writes d to path as indented JSON.
func writeDirectory(path string, d *Directory) error {
	data, err := json.MarshalIndent(d, "", " ")
	if err != nil {
		return err
	}
	return planfile.Atomic(path, func(w io.Writer) error {
		_, err := w.Write(append(data, '\n'))
		return err
	})
}

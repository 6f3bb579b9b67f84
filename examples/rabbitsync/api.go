package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/datastoresync/dss"
)

// client talks to RabbitMQ's management HTTP API.
type client struct {
	base       *url.URL // scheme, host and path prefix; no user info
	user, pass string
	http       *http.Client
}

// newClient parses the API's URL, whose user info holds the credentials
// (http://guest:guest@127.0.0.1:15672). The password goes into each
// request's Authorization header only: no URL the program prints, and no
// error of net/http, holds it.
func newClient(raw string, conns int) (*client, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse's error quotes the whole URL, password included.
		return nil, errors.New("-url is not a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("-url %s: want http://user:password@host:port", redactedURL(u))
	}
	c := &client{base: &url.URL{Scheme: u.Scheme, Host: u.Host, Path: strings.TrimSuffix(u.Path, "/")}}
	if u.User != nil {
		c.user = u.User.Username()
		c.pass, _ = u.User.Password()
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = max(conns, 2) // one kept-alive connection per worker
	c.http = &http.Client{Transport: tr, Timeout: 60 * time.Second}
	return c, nil
}

// redactedURL is u with its password, if any, replaced by "xxxxx".
func redactedURL(u *url.URL) string { return u.Redacted() }

// where names the API in messages, without the password.
func (c *client) where() string { return c.base.String() }

// apiError is a request the API answered with an error status.
type apiError struct {
	method, path string
	status       int
	reason       string // the API's "error" and "reason", shortened
}

func (e *apiError) Error() string {
	msg := fmt.Sprintf("%s %s: %s", e.method, e.path, http.StatusText(e.status))
	if e.status != 0 {
		msg = fmt.Sprintf("%s %s: %d %s", e.method, e.path, e.status, http.StatusText(e.status))
	}
	if e.reason != "" {
		msg += ": " + e.reason
	}
	return msg
}

// do sends one request to path (already escaped) with body as JSON, and
// decodes a JSON answer into out when out is not nil. A 429 or 503, and a
// connection that failed, reset or timed out, are temporary: dss retries
// them, after the Retry-After the server asked for. Every request of the
// template is idempotent (a PUT of the same body, a DELETE), so a request
// that may have reached the server can safely be sent again. scrub is text
// that must not appear in an error (a password hash the body held).
func (c *client) do(ctx context.Context, method, path string, body, out any, scrub string) error {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(data)
	}
	u := *c.base
	u.RawPath = c.base.Path + path
	u.Path, _ = url.PathUnescape(u.RawPath)
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return err
	}
	req.SetBasicAuth(c.user, c.pass)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() == nil && transient(err) {
			return dss.Temporary(fmt.Errorf("%s %s: %w", method, path, err))
		}
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		e := &apiError{method: method, path: path, status: resp.StatusCode, reason: reason(resp.Body, scrub)}
		switch {
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
			return dss.RetryAfter(e, retryAfter(resp.Header.Get("Retry-After"), time.Now()))
		case method == http.MethodPut && resp.StatusCode == http.StatusBadRequest && strings.Contains(e.reason, "already_exists"):
			// Two PUTs that create one user at once: RabbitMQ answers the
			// second 400 user_already_exists. Sent again, it updates.
			return dss.Temporary(e)
		}
		return e
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16)) // keep the connection for the next request
	return err
}

// transient reports whether a failed request may succeed if sent again:
// the connection was refused, reset or cut, or timed out.
func transient(err error) bool {
	var ne net.Error
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.As(err, &ne) && ne.Timeout()
}

// reason reads the API's error answer, {"error":...,"reason":...}, as one
// short printable line, with scrub (a secret the request held) taken out.
func reason(r io.Reader, scrub string) string {
	data, _ := io.ReadAll(io.LimitReader(r, 4096))
	var e struct {
		Error  string          `json:"error"`
		Reason json.RawMessage `json:"reason"` // a text, or a list such as ["user_already_exists","ada"]
	}
	text := strings.TrimSpace(string(data))
	if json.Unmarshal(data, &e) == nil && (e.Error != "" || len(e.Reason) > 0) {
		var r string
		if json.Unmarshal(e.Reason, &r) != nil {
			r = string(e.Reason)
		}
		text = strings.TrimSpace(e.Error + " " + r)
	}
	if scrub != "" {
		text = strings.ReplaceAll(text, scrub, "[redacted]")
	}
	if len(text) > 200 {
		text = text[:200] + "..."
	}
	return strconv.Quote(text)
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date.
func retryAfter(h string, now time.Time) time.Duration {
	if h == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// apiTags reads the tags of a user or vhost as the API writes them: a list
// (RabbitMQ 3.9 and later) or one text of comma-separated tags.
type apiTags []string

func (t *apiTags) UnmarshalJSON(data []byte) error {
	var list []string
	if err := json.Unmarshal(data, &list); err == nil {
		*t = list
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return errors.New("tags are neither a list nor a text")
	}
	*t = strings.Split(s, ",")
	return nil
}

// broker imports the destination from the API. It keeps only what the
// sync manages: users and vhosts with the managed tag, and the permissions
// of a managed user on a managed vhost. Every other account, vhost and
// permission (guest, the administrators, other syncs') is left out of the
// tree, so no plan can change or delete it; unmanaged holds their names,
// so that a plan that would create over one can be refused.
type broker struct {
	c         *client
	managed   string
	unmanaged map[string]map[string]bool // branch -> names the broker has and the sync does not manage
}

func newBroker(c *client, managed string) *broker {
	return &broker{c: c, managed: managed, unmanaged: map[string]map[string]bool{"users": {}, "vhosts": {}}}
}

// importers sets the broker's importers on the destination tree.
func (b *broker) importers(t *dss.Tree[Broker]) {
	br := t.Branches
	br.Users.Importer = dss.ImporterFunc(func(ctx context.Context, yield func(dss.Record) error) error {
		var users []struct {
			Name             string  `json:"name"`
			PasswordHash     string  `json:"password_hash"`
			HashingAlgorithm string  `json:"hashing_algorithm"`
			Tags             apiTags `json:"tags"`
		}
		if err := b.c.do(ctx, http.MethodGet, "/api/users", nil, &users, ""); err != nil {
			return err
		}
		clear(b.unmanaged["users"])
		for _, u := range users {
			if !slices.Contains(u.Tags, b.managed) {
				b.unmanaged["users"][u.Name] = true
				continue
			}
			if err := yield(dss.Record{"idnumber": u.Name, "password_hash": u.PasswordHash,
				"hashing_algorithm": u.HashingAlgorithm, "tags": joinTags(u.Tags, b.managed)}); err != nil {
				return err
			}
		}
		return nil
	})
	br.Vhosts.Importer = dss.ImporterFunc(func(ctx context.Context, yield func(dss.Record) error) error {
		var vhosts []struct {
			Name        string  `json:"name"`
			Description string  `json:"description"`
			Tags        apiTags `json:"tags"`
		}
		if err := b.c.do(ctx, http.MethodGet, "/api/vhosts", nil, &vhosts, ""); err != nil {
			return err
		}
		clear(b.unmanaged["vhosts"])
		for _, v := range vhosts {
			if !slices.Contains(v.Tags, b.managed) {
				b.unmanaged["vhosts"][v.Name] = true
				continue
			}
			if err := yield(dss.Record{"idnumber": v.Name, "description": v.Description}); err != nil {
				return err
			}
		}
		return nil
	})
	br.Permissions.Importer = dss.ImporterFunc(func(ctx context.Context, yield func(dss.Record) error) error {
		var perms []struct {
			User      string `json:"user"`
			Vhost     string `json:"vhost"`
			Configure string `json:"configure"`
			Write     string `json:"write"`
			Read      string `json:"read"`
		}
		if err := b.c.do(ctx, http.MethodGet, "/api/permissions", nil, &perms, ""); err != nil {
			return err
		}
		for _, p := range perms {
			// Imported after users and vhosts: only a managed user's
			// permission on a managed vhost is the sync's.
			if _, ok := br.Users.Get(p.User); !ok {
				continue
			}
			if _, ok := br.Vhosts.Get(p.Vhost); !ok {
				continue
			}
			if err := yield(dss.Record{"idnumber": permissionID(p.Vhost, p.User), "_vhost": p.Vhost, "_user": p.User,
				"configure": p.Configure, "write": p.Write, "read": p.Read}); err != nil {
				return err
			}
		}
		return nil
	})
}

// collisions refuses a plan that would create a user or vhost the broker
// has and the sync does not manage: its PUT would take over guest, an
// administrator or another sync's account.
func (b *broker) collisions(plan *dss.Plan) error {
	var names []string
	for _, a := range plan.Actions {
		if a.Kind == dss.KindNew && b.unmanaged[a.Branch][a.ID] {
			names = append(names, fmt.Sprintf("%s %q", strings.TrimSuffix(a.Branch, "s"), a.ID))
		}
	}
	if len(names) == 0 {
		return nil
	}
	return fmt.Errorf("the directory names %d accounts or vhosts the broker has and this sync does not manage (no tag %q), which it never touches: %s",
		len(names), b.managed, strings.Join(names, ", "))
}

// Template applies the plan through the API, one request per action. Every
// request is idempotent, which makes retrying a request that timed out
// safe: a PUT sends the object's whole state from the directory, and a
// DELETE of what is gone already (404) is done.
type Template struct {
	c       *client
	managed string
}

// Concurrent says the template may be called from several goroutines at
// once: it holds no state but the HTTP client, which is safe for that.
func (t *Template) Concurrent() bool { return true }

func (t *Template) putUser(ctx context.Context, a dss.Action) error {
	u := a.Source.(*User)
	tags := t.managed
	if u.Tags != "" {
		tags = u.Tags + "," + t.managed
	}
	body := map[string]string{"password_hash": u.PasswordHash, "hashing_algorithm": u.HashingAlgorithm, "tags": tags}
	return t.c.do(ctx, http.MethodPut, "/api/users/"+url.PathEscape(u.Name), body, nil, u.PasswordHash)
}

func (t *Template) putVhost(ctx context.Context, a dss.Action) error {
	v := a.Source.(*Vhost)
	body := map[string]string{"description": v.Description, "tags": t.managed}
	return t.c.do(ctx, http.MethodPut, "/api/vhosts/"+url.PathEscape(v.Name), body, nil, "")
}

func (t *Template) putPermission(ctx context.Context, a dss.Action) error {
	p := a.Source.(*Permission)
	body := map[string]string{"configure": p.Configure, "write": p.Write, "read": p.Read}
	return t.c.do(ctx, http.MethodPut, "/api/permissions/"+p.ID, body, nil, "")
}

// del deletes what path names; what is gone already is done.
func (t *Template) del(ctx context.Context, path string) error {
	err := t.c.do(ctx, http.MethodDelete, path, nil, nil, "")
	if ae := (*apiError)(nil); errors.As(err, &ae) && ae.status == http.StatusNotFound {
		return nil
	}
	return err
}

// NewUsers creates a user.
func (t *Template) NewUsers(ctx context.Context, a dss.Action) error { return t.putUser(ctx, a) }

// UpdatePasswordHash sets a user's password hash: a PUT of the whole user.
func (t *Template) UpdatePasswordHash(ctx context.Context, a dss.Action) error {
	return t.putUser(ctx, a)
}

// UpdateHashingAlgorithm sets a user's hashing algorithm.
func (t *Template) UpdateHashingAlgorithm(ctx context.Context, a dss.Action) error {
	return t.putUser(ctx, a)
}

// UpdateTags sets a user's tags.
func (t *Template) UpdateTags(ctx context.Context, a dss.Action) error { return t.putUser(ctx, a) }

// OldUsers deletes a user, and with it the user's permissions.
func (t *Template) OldUsers(ctx context.Context, a dss.Action) error {
	return t.del(ctx, "/api/users/"+url.PathEscape(a.ID))
}

// NewVhosts creates a vhost.
func (t *Template) NewVhosts(ctx context.Context, a dss.Action) error { return t.putVhost(ctx, a) }

// UpdateDescription sets a vhost's description.
func (t *Template) UpdateDescription(ctx context.Context, a dss.Action) error {
	return t.putVhost(ctx, a)
}

// OldVhosts deletes a vhost, and with it every permission on it.
func (t *Template) OldVhosts(ctx context.Context, a dss.Action) error {
	return t.del(ctx, "/api/vhosts/"+url.PathEscape(a.ID))
}

// NewPermissions grants a user permissions on a vhost.
func (t *Template) NewPermissions(ctx context.Context, a dss.Action) error {
	return t.putPermission(ctx, a)
}

// UpdateConfigure sets a permission's configure pattern.
func (t *Template) UpdateConfigure(ctx context.Context, a dss.Action) error {
	return t.putPermission(ctx, a)
}

// UpdateWrite sets a permission's write pattern.
func (t *Template) UpdateWrite(ctx context.Context, a dss.Action) error {
	return t.putPermission(ctx, a)
}

// UpdateRead sets a permission's read pattern.
func (t *Template) UpdateRead(ctx context.Context, a dss.Action) error {
	return t.putPermission(ctx, a)
}

// OldPermissions revokes a user's permissions on a vhost.
func (t *Template) OldPermissions(ctx context.Context, a dss.Action) error {
	return t.del(ctx, "/api/permissions/"+a.ID)
}

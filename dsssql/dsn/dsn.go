// Package dsn reads the database address a sync program is given on its
// command line or in its environment, with the drivers' own parsers: a
// PostgreSQL URL or keyword/value string (pgx's ParseConfig, which also
// reads PGPASSWORD, the password file...), or a mysql:// URL
// (mysql://user:password@host:3306/database?params, read with net/url and
// the MySQL driver's mysql.Config, FormatDSN and ParseDSN, the password set
// apart).
//
// The point is the password. The driver gets the parsed configuration,
// never the text, so it cannot quote the password in an error; String
// names the database by user, hosts, ports and database, on one printable
// line; and Redact masks the password, in every form a DSN may write it,
// in errors that repeat it all the same. No error of this package quotes
// the text it was given.
//
//	d, err := dsn.Parse(os.Getenv("APP_DSN"))
//	if err != nil {
//		return err // never quotes the DSN
//	}
//	db := d.OpenDB()
//	if err := db.PingContext(ctx); err != nil {
//		return fmt.Errorf("open %s: %w", d, dsn.Redact(err, os.Getenv("APP_DSN")))
//	}
package dsn

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/datastoresync/dss/dsssql"
	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// dsnMask stands for a password in messages.
const dsnMask = "xxxxx"

// A dsnError is a DSN that cannot be used, in words that never quote it.
type dsnError struct{ text string }

func (e *dsnError) Error() string { return e.text }

// errDSN is a DSN that does not parse. The parsers' messages are not shown:
// in a malformed DSN a password may sit anywhere, and they quote it.
var errDSN = &dsnError{"does not parse as a postgres:// or mysql:// URL or a PostgreSQL keyword/value string" +
	" (the parser's message is not shown, as it may quote the password; in a URL, a '/', '?', '@', '#' or space in a password," +
	" and an '@' after the host, must be percent-encoded)"}

// DSN is a database address as its driver read it.
type DSN struct {
	// Dialect is the database's: dsssql.Postgres or dsssql.MySQL.
	Dialect dsssql.Dialect

	connector driver.Connector // opens connections with the parsed configuration
	shown     string           // the database for messages, without the password
	password  string
}

// OpenDB returns a database handle that opens connections with the
// parsed configuration (sql.OpenDB), without connecting yet.
func (d *DSN) OpenDB() *sql.DB { return sql.OpenDB(d.connector) }

// String names the database for messages and logs, without its password,
// as a URL: postgres://user@host:5432/db, mysql://user@host:3306/db. A
// control character in it is escaped, and the whole quoted, so that a
// newline or a terminal escape can neither break nor hide the line.
func (d *DSN) String() string {
	if strings.ContainsFunc(d.shown, func(r rune) bool { return !strconv.IsPrint(r) }) {
		return strconv.Quote(d.shown)
	}
	return d.shown
}

// Parse reads dsn with its driver's parser: a mysql:// URL with the MySQL
// driver's, anything else with pgx's. Its error never quotes dsn.
func Parse(dsn string) (*DSN, error) {
	switch {
	case mislaidPassword(dsn):
		return nil, errDSN
	case strings.HasPrefix(dsn, "mysql://"):
		return parseMySQL(dsn)
	}
	config, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, errDSN
	}
	var hosts []string // a host comes again for each TLS mode it is tried with
	for _, h := range append([]*pgconn.FallbackConfig{{Host: config.Host, Port: config.Port}}, config.Fallbacks...) {
		if hp := net.JoinHostPort(h.Host, strconv.Itoa(int(h.Port))); !slices.Contains(hosts, hp) {
			hosts = append(hosts, hp)
		}
	}
	u := url.URL{Scheme: "postgres", User: url.User(config.User), Host: strings.Join(hosts, ","), Path: "/" + config.Database}
	if strings.HasPrefix(config.Host, "/") { // a Unix socket's directory
		u.Host, u.RawQuery = "", url.Values{"host": {config.Host}}.Encode()
	}
	return &DSN{dsssql.Postgres, stdlib.GetConnector(*config), u.String(), config.Password}, nil
}

// mislaidPassword reports whether dsn is a URL with an '@' after its user
// information. A '/' in a password that is not percent-encoded ends the
// user information early, and the parsers read the rest of the password as
// a host, port, database or parameter, which messages would show: pgx reads
// postgres://u:1234/S3cret@host/db as host u, port 1234, database
// "S3cret@host/db". The '@' left behind gives it away; one that belongs
// after the host must be percent-encoded (%40).
func mislaidPassword(dsn string) bool {
	scheme, rest, ok := strings.Cut(dsn, "://")
	if !ok || strings.ContainsAny(scheme, " =") { // keyword/value
		return false
	}
	// The user information ends at the first '@' before any '/' (pgx), or
	// before any '/', '?' or '#' (net/url, which reads mysql:// URLs).
	ends := "@/"
	if scheme == "mysql" {
		ends = "@/?#"
	}
	if i := strings.IndexAny(rest, ends); i >= 0 && rest[i] == '@' {
		rest = rest[i+1:]
	}
	return strings.Contains(rest, "@")
}

// parseMySQL reads a mysql:// URL. The MySQL driver's own DSN
// (user@tcp(host:port)/database?params) is written and read by the driver
// without the password, which is set apart: a '/' or an '@' in it would
// not survive that text.
func parseMySQL(dsn string) (*DSN, error) {
	u, err := url.Parse(dsn)
	if err != nil || u.Opaque != "" || u.Fragment != "" || strings.Contains(strings.TrimPrefix(u.Path, "/"), "/") {
		return nil, errDSN
	}
	config := mysql.NewConfig()
	config.User, config.Net, config.DBName = u.User.Username(), "tcp", strings.TrimPrefix(u.Path, "/")
	if config.Addr = u.Host; u.Host != "" && u.Port() == "" {
		config.Addr = net.JoinHostPort(u.Hostname(), "3306")
	}
	text, sep := config.FormatDSN(), "?"
	if strings.Contains(text, "?") {
		sep = "&"
	}
	if u.RawQuery != "" {
		text += sep + u.RawQuery
	}
	parsed, err := mysql.ParseDSN(text)
	switch {
	case err != nil:
		err = errors.New("the MySQL driver refuses it: " + err.Error())
	case parsed.User != config.User:
		err = errors.New("a user name with a ':' is not supported")
	case parsed.DBName == "":
		err = errors.New("no database: mysql://user@host:3306/database")
	}
	var connector driver.Connector
	if err == nil {
		parsed.Passwd, _ = u.User.Password()
		if connector, err = mysql.NewConnector(parsed); err != nil {
			err = errors.New("the MySQL driver refuses it: " + err.Error())
		}
	}
	if err != nil { // the text has no password: the reason may be shown
		return nil, &dsnError{err.Error()}
	}
	shown := url.URL{Scheme: "mysql", User: url.User(parsed.User), Host: parsed.Addr, Path: "/" + parsed.DBName}
	return &DSN{dsssql.MySQL, connector, shown.String(), parsed.Passwd}, nil
}

// Describe is Parse(dsn).String(), or words that say dsn does not parse,
// without quoting it.
func Describe(dsn string) string {
	d, err := Parse(dsn)
	if err != nil {
		return "(a DSN that does not parse, not shown)"
	}
	return d.String()
}

// Redact removes dsn, and its password as read and as a DSN writes it (as
// typed, percent-encoded, quoted), from err's text, in case a driver repeats
// them. When dsn does not parse, the password is unknown, and err's text is
// not shown at all, unless err is this package's own. errors.Is and
// errors.As still reach err, whose own text is not redacted.
func Redact(err error, dsn string) error {
	if err == nil || dsn == "" {
		return err
	}
	p, perr := Parse(dsn)
	var de *dsnError
	switch {
	case perr != nil && errors.As(err, &de):
		return err // says why, without quoting the DSN
	case perr != nil: // the password is unknown, and the text may quote it
		return &redactedError{text: "the DSN " + errDSN.text + "; the error is not shown, as it may quote the password", err: err}
	}
	text := strings.ReplaceAll(err.Error(), dsn, p.shown)
	if pw := p.password; pw != "" {
		// Longest first, so that no part of a longer form is left behind.
		forms := []string{url.QueryEscape(pw), url.PathEscape(pw), strings.TrimPrefix(url.UserPassword("", pw).String(), ":"),
			strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(pw), pw}
		slices.SortStableFunc(forms, func(a, b string) int { return len(b) - len(a) })
		for _, s := range forms {
			text = strings.ReplaceAll(text, s, dsnMask)
		}
	}
	if text == err.Error() {
		return err
	}
	return &redactedError{text: text, err: err}
}

// redactedError is an error whose text has had a password removed.
type redactedError struct {
	text string
	err  error
}

func (e *redactedError) Error() string { return e.text }
func (e *redactedError) Unwrap() error { return e.err }

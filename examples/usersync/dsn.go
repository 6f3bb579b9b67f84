package main

import (
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

// -dsn is read once, by the drivers' own parsers: pgx's ParseConfig for a
// postgres:// URL or a keyword/value string (and PGPASSWORD, the password
// file...); for a mysql:// URL, net/url and the MySQL driver's own DSN
// (mysql.Config, FormatDSN and ParseDSN), the password set apart. The
// driver gets the parsed configuration, never the text, so it cannot quote
// the password in an error; messages name the database by user, hosts,
// ports and database, and redactErr masks the password all the same.

// dsnMask stands for a password in messages.
const dsnMask = "xxxxx"

// A dsnError is a -dsn that usersync cannot use, in words that never quote
// it.
type dsnError struct{ text string }

func (e *dsnError) Error() string { return e.text }

// errDSN is a DSN that does not parse. The parsers' messages are not shown:
// in a malformed DSN a password may sit anywhere, and they quote it.
var errDSN = &dsnError{"-dsn does not parse as a postgres:// or mysql:// URL or a PostgreSQL keyword/value string" +
	" (the parser's message is not shown, as it may quote the password; in a URL, a '/', '?', '@', '#' or space in a password," +
	" and an '@' after the host, must be percent-encoded)"}

// parsedDSN is a DSN as the drivers read it.
type parsedDSN struct {
	dialect   dsssql.Dialect
	connector driver.Connector // opens connections with the parsed configuration
	shown     string           // the database for messages, without the password
	password  string
}

// parseDSN reads dsn with the driver's parser.
func parseDSN(dsn string) (parsedDSN, error) {
	switch {
	case mislaidPassword(dsn):
		return parsedDSN{}, errDSN
	case strings.HasPrefix(dsn, "mysql://"):
		return parseMySQL(dsn)
	}
	config, err := pgx.ParseConfig(dsn)
	if err != nil {
		return parsedDSN{}, errDSN
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
	return parsedDSN{dsssql.Postgres, stdlib.GetConnector(*config), u.String(), config.Password}, nil
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
func parseMySQL(dsn string) (parsedDSN, error) {
	u, err := url.Parse(dsn)
	if err != nil || u.Opaque != "" || u.Fragment != "" || strings.Contains(strings.TrimPrefix(u.Path, "/"), "/") {
		return parsedDSN{}, errDSN
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
		return parsedDSN{}, &dsnError{"-dsn: " + err.Error()}
	}
	shown := url.URL{Scheme: "mysql", User: url.User(parsed.User), Host: parsed.Addr, Path: "/" + parsed.DBName}
	return parsedDSN{dsssql.MySQL, connector, shown.String(), parsed.Passwd}, nil
}

// redactDSN describes the database at dsn for messages and logs, without
// its password.
func redactDSN(dsn string) string {
	p, err := parseDSN(dsn)
	switch {
	case err != nil:
		return "(a DSN that does not parse, not shown)"
	case strings.ContainsFunc(p.shown, func(r rune) bool { return !strconv.IsPrint(r) }):
		return strconv.Quote(p.shown) // a newline or an escape would break or hide the line
	}
	return p.shown
}

// redactErr removes dsn, and its password as read and as a DSN writes it,
// from err's text, in case a driver repeats them. errors.Is and errors.As
// still reach err, whose own text is not redacted.
func redactErr(err error, dsn string) error {
	if err == nil || dsn == "" {
		return err
	}
	p, perr := parseDSN(dsn)
	var de *dsnError
	switch {
	case perr != nil && errors.As(err, &de):
		return err // says why, without quoting the DSN
	case perr != nil: // the password is unknown, and the text may quote it
		return &redactedError{text: errDSN.text + "; the error is not shown, as it may quote the password", err: err}
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

package main

import (
	"cmp"
	"database/sql/driver"
	"errors"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// -dsn names a PostgreSQL or MySQL/MariaDB database. It is read once, by the
// drivers' own parsers, and the driver is handed the parsed configuration,
// never the text: no driver can quote the DSN, or its password, in an
// error. Messages name the database by what the parsers read apart from the
// password (user, hosts, ports, database), and redactErr masks the password
// in any error text all the same.
//
//   - postgres://... or postgresql://..., and PostgreSQL's keyword/value
//     strings (host=... dbname=...): pgx's ParseConfig, which also reads
//     PGPASSWORD and the other PG* variables and the password file.
//   - mysql://user:password@host:port/database?param=value: the URL is
//     taken apart by net/url and given to the MySQL driver as its own DSN
//     (mysql.Config, FormatDSN and ParseDSN), the password apart.

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
	dialect   string           // "postgres" or "mysql"
	connector driver.Connector // opens connections with the parsed configuration
	shown     string           // the database for messages, without the password
	secrets   []string         // the password in the forms an error may quote it, longest first
}

// parseDSN reads dsn with the driver's parser.
func parseDSN(dsn string) (parsedDSN, error) {
	if mislaidPassword(dsn) {
		return parsedDSN{}, errDSN
	}
	if strings.HasPrefix(dsn, "mysql://") {
		return parseMySQL(dsn)
	}
	config, err := pgx.ParseConfig(dsn)
	if err != nil {
		return parsedDSN{}, errDSN
	}
	var hosts []string
	add := func(host string, port uint16) {
		h := host // a Unix socket's directory
		if !strings.HasPrefix(host, "/") {
			h = net.JoinHostPort(host, strconv.Itoa(int(port)))
		}
		if !slices.Contains(hosts, h) {
			hosts = append(hosts, h) // a host is listed again for each TLS mode it is tried with
		}
	}
	add(config.Host, config.Port)
	for _, f := range config.Fallbacks {
		add(f.Host, f.Port)
	}
	u := url.URL{Scheme: "postgres", User: url.User(config.User), Path: "/" + config.Database}
	if strings.HasPrefix(config.Host, "/") {
		u.RawQuery = url.Values{"host": {strings.Join(hosts, ",")}}.Encode()
	} else {
		u.Host = strings.Join(hosts, ",")
	}
	return parsedDSN{
		dialect:   "postgres",
		connector: stdlib.GetConnector(*config),
		shown:     u.String(),
		secrets:   secretForms(config.Password),
	}, nil
}

// mislaidPassword reports whether dsn is a URL with an '@' after its user
// information. A '/' or '?' in a password that is not percent-encoded ends
// the user information early, and the parsers read the rest of the password
// as a host, port, database or parameter, which messages would show:
// pgx reads postgres://u:1234/S3cret@host/db as host u, port 1234,
// database "S3cret@host/db". The '@' left behind gives it away; one that
// belongs after the host must be percent-encoded (%40).
func mislaidPassword(dsn string) bool {
	_, rest, ok := strings.Cut(dsn, "://")
	if !ok || strings.ContainsAny(dsn[:len(dsn)-len(rest)], " =") { // not a URL: keyword/value
		return false
	}
	// The user information ends at the first '@' before any '/' (pgx), or
	// before any '/', '?' or '#' (net/url, which reads mysql:// URLs).
	ends := "@/"
	if strings.HasPrefix(dsn, "mysql:") {
		ends = "@/?#"
	}
	if i := strings.IndexAny(rest, ends); i >= 0 && rest[i] == '@' {
		rest = rest[i+1:]
	}
	return strings.Contains(rest, "@")
}

// parseMySQL reads a mysql:// URL. The MySQL driver's own DSN
// (user@tcp(host:port)/database?params) is written and read by the driver,
// without the password, which is set apart: a password with a '/' or an
// '@' would not survive that text.
func parseMySQL(dsn string) (parsedDSN, error) {
	u, err := url.Parse(dsn)
	if err != nil || u.Opaque != "" || u.Fragment != "" || strings.Contains(strings.TrimPrefix(u.Path, "/"), "/") {
		return parsedDSN{}, errDSN
	}
	password, _ := u.User.Password()
	config := mysql.NewConfig()
	config.User, config.Net, config.DBName = u.User.Username(), "tcp", strings.TrimPrefix(u.Path, "/")
	if u.Host != "" {
		config.Addr = u.Host
		if u.Port() == "" {
			config.Addr = net.JoinHostPort(u.Hostname(), "3306")
		}
	}
	text := config.FormatDSN()
	if u.RawQuery != "" {
		sep := "?"
		if strings.Contains(text, "?") {
			sep = "&"
		}
		text += sep + u.RawQuery
	}
	parsed, err := mysql.ParseDSN(text)
	if err != nil {
		// The text has no password: the driver's reason may be shown.
		return parsedDSN{}, &dsnError{"-dsn: the MySQL driver refuses it: " + err.Error()}
	}
	if parsed.User != config.User || parsed.DBName != config.DBName {
		return parsedDSN{}, &dsnError{"-dsn: a MySQL user name with a ':' is not supported"}
	}
	parsed.Passwd = password
	connector, err := mysql.NewConnector(parsed)
	if err != nil {
		return parsedDSN{}, &dsnError{"-dsn: the MySQL driver refuses it: " + err.Error()}
	}
	shown := url.URL{Scheme: "mysql", User: url.User(parsed.User), Host: parsed.Addr, Path: "/" + parsed.DBName}
	return parsedDSN{dialect: "mysql", connector: connector, shown: shown.String(), secrets: secretForms(password)}, nil
}

// secretForms returns a password as it is and in the forms a DSN writes
// it: percent-encoded in a URL, escaped in a keyword/value string.
func secretForms(password string) []string {
	if password == "" {
		return nil
	}
	forms := []string{
		password,
		url.QueryEscape(password),
		url.PathEscape(password),
		strings.TrimPrefix(url.UserPassword("", password).String(), ":"),
		strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(password),
	}
	// Longest first, so that no part of a longer form is left behind by a
	// shorter one masked inside it.
	slices.SortFunc(forms, func(a, b string) int { return cmp.Or(len(b)-len(a), strings.Compare(a, b)) })
	return slices.Compact(forms)
}

// redactDSN describes the database at dsn for messages and logs, without
// its password.
func redactDSN(dsn string) string {
	p, err := parseDSN(dsn)
	if err != nil {
		return "(a DSN that does not parse, not shown)"
	}
	// A user or database name with a newline or an escape in it would
	// break or hide the line it is shown in.
	if strings.ContainsFunc(p.shown, func(r rune) bool { return !strconv.IsPrint(r) }) {
		return strconv.Quote(p.shown)
	}
	return p.shown
}

// redactErr removes dsn, and its password in every form, from err's text,
// in case a driver repeats them. errors.Is and errors.As still reach err,
// whose own text is not redacted.
func redactErr(err error, dsn string) error {
	if err == nil || dsn == "" {
		return err
	}
	p, perr := parseDSN(dsn)
	if perr != nil {
		var de *dsnError
		if errors.As(err, &de) {
			return err // says why, without quoting the DSN
		}
		// The password is unknown, and the text may quote it.
		return &redactedError{text: errDSN.text + "; the error is not shown, as it may quote the password", err: err}
	}
	text := strings.ReplaceAll(err.Error(), dsn, p.shown)
	for _, s := range p.secrets {
		text = strings.ReplaceAll(text, s, dsnMask)
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

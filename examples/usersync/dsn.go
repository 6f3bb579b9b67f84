package main

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// dsnMask stands for a password in messages.
const dsnMask = "xxxxx"

// A PostgreSQL DSN reaches messages in two ways: usersync names the database
// it opened ("applied 46 actions to ..."), and the driver may quote the DSN
// in its errors. Both go through this file. The DSN is read the way pgx
// reads it (pgconn.ParseConfig, pgx v5.12):
//
//   - A DSN that starts with postgres:// or postgresql:// (lower case only)
//     is a URL. The password is what follows the first ':' of the user
//     information, which ends at the first '@' met before any '/', and the
//     value of each password or sslpassword query parameter, whose key may be
//     percent-encoded. Several hosts are a comma-separated list.
//   - Anything else is keyword/value pairs separated by spaces; a value may
//     be quoted with ' and a backslash escapes the next character, in quotes
//     or not. The password is the value of password or sslpassword.
//
// pgx matches the keys in lower case only; other spellings are masked too,
// since masking more than needed costs nothing. A DSN that does not parse is
// never shown: in a malformed DSN a password may sit anywhere.

// parsedDSN is a DSN as messages may show it.
type parsedDSN struct {
	shown   string   // the DSN with every password replaced by dsnMask
	secrets []string // every password as written and as decoded, longest first
}

// redactDSN describes the database at dsn for messages and logs, without
// its password.
func redactDSN(dsn string) string {
	p, err := parseDSN(dsn)
	if err != nil {
		return "(a DSN that does not parse, not shown)"
	}
	// A DSN with a newline or an escape in it would break or hide the line
	// it is shown in.
	if strings.ContainsFunc(p.shown, func(r rune) bool { return !strconv.IsPrint(r) }) {
		return strconv.Quote(p.shown)
	}
	return p.shown
}

// redactErr removes the password of dsn, in every form it takes, from err's
// text, in case the driver repeats it. errors.Is and errors.As still reach
// err, whose own text is not redacted.
func redactErr(err error, dsn string) error {
	if err == nil || dsn == "" {
		return err
	}
	p, perr := parseDSN(dsn)
	if perr != nil {
		return &redactedError{
			text: fmt.Sprintf("the DSN does not parse: %v; the driver's message is not shown, as it may quote the password", perr),
			err:  err,
		}
	}
	text := err.Error()
	// pgx quotes a DSN it refuses with its own masking, which misses part of
	// a quoted password holding an escaped quote and a space: its quote of
	// the DSN is replaced with ours. (An error redacted before no longer
	// holds pgx's text.)
	var pce *pgconn.ParseConfigError
	if errors.As(err, &pce) {
		own := pce.Error()
		text = strings.ReplaceAll(text, own, parseConfigText(own, dsn, p.shown))
	}
	text = strings.ReplaceAll(text, dsn, p.shown)
	for _, s := range p.secrets {
		text = strings.ReplaceAll(text, s, dsnMask)
	}
	if text == err.Error() {
		return err
	}
	return &redactedError{text: text, err: err}
}

// parseConfigText is the text of a pgconn.ParseConfigError, own, with the
// DSN it quotes replaced by shown. Its text is "cannot parse `DSN`: reason";
// when that cannot be taken apart for sure, the reason is dropped.
func parseConfigText(own, dsn, shown string) string {
	const prefix = "cannot parse `"
	// pgx's masking adds no backquote, so without one in dsn the first "`: "
	// ends the quote.
	if rest, ok := strings.CutPrefix(own, prefix); ok && !strings.Contains(dsn, "`") {
		if i := strings.Index(rest, "`: "); i >= 0 {
			return prefix + shown + rest[i:]
		}
	}
	return "cannot parse " + shown
}

// redactedError is an error whose text has had a password removed.
type redactedError struct {
	text string
	err  error
}

func (e *redactedError) Error() string { return e.text }
func (e *redactedError) Unwrap() error { return e.err }

// parseDSN takes dsn apart as pgx does. Its errors never quote dsn, as the
// text near a mistake may be a password; they give a byte offset instead.
func parseDSN(dsn string) (parsedDSN, error) {
	if i := strings.IndexByte(dsn, 0); i >= 0 {
		return parsedDSN{}, fmt.Errorf("a NUL byte at byte %d", i)
	}
	var p parsedDSN
	var err error
	switch {
	case strings.HasPrefix(dsn, "postgresql://"):
		p, err = parseURLDSN(dsn, len("postgresql://"))
	case strings.HasPrefix(dsn, "postgres://"):
		p, err = parseURLDSN(dsn, len("postgres://"))
	default:
		p, err = parseKeywordValueDSN(dsn)
	}
	if err != nil {
		return parsedDSN{}, err
	}
	// Longest first, so that no part of a longer secret is left behind by a
	// shorter one masked inside it.
	p.secrets = slices.DeleteFunc(p.secrets, func(s string) bool { return s == "" })
	slices.SortFunc(p.secrets, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	p.secrets = slices.Compact(p.secrets)
	return p, nil
}

// isPasswordKey reports whether a DSN key names a secret.
func isPasswordKey(key string) bool {
	return strings.EqualFold(key, "password") || strings.EqualFold(key, "sslpassword")
}

// parseURLDSN reads a postgres:// URL whose scheme is dsn[:start].
func parseURLDSN(dsn string, start int) (parsedDSN, error) {
	var p parsedDSN
	var b strings.Builder
	b.WriteString(dsn[:start])
	at := start // where rest starts in dsn, for errors
	rest := dsn[start:]
	advance := func(n int) { at, rest = at+n, rest[n:] }

	if i := strings.IndexAny(rest, "@/"); i >= 0 && rest[i] == '@' {
		user, password, hasPassword := strings.Cut(rest[:i], ":")
		if _, err := uriDecode(user); err != nil {
			return p, fmt.Errorf("the user name at byte %d: %w", at, err)
		}
		b.WriteString(user)
		if hasPassword {
			decoded, err := uriDecode(password)
			if err != nil {
				return p, fmt.Errorf("the password at byte %d: %w", at+len(user)+1, err)
			}
			b.WriteString(":" + dsnMask)
			p.secrets = append(p.secrets, password, decoded)
		}
		b.WriteByte('@')
		advance(i + 1)
	}
	// A '/' or '?' in a password must be percent-encoded; one that is not
	// ends the user information early, and pgx reads the rest of the password
	// as a host, port, database or parameter. The '@' it leaves behind gives
	// it away.
	if i := strings.IndexByte(rest, '@'); i >= 0 {
		return p, fmt.Errorf("an '@' outside the user information at byte %d (a '/', '?' or '@' in a password must be percent-encoded)", at+i)
	}

	for {
		var host string
		if strings.HasPrefix(rest, "[") {
			end := strings.IndexByte(rest, ']')
			switch {
			case end < 0:
				return p, fmt.Errorf("an IPv6 address at byte %d has no ']'", at)
			case end == 1:
				return p, fmt.Errorf("an empty IPv6 address at byte %d", at)
			case end+1 < len(rest) && !strings.ContainsRune(":/?,", rune(rest[end+1])):
				return p, fmt.Errorf("unexpected character after an IPv6 address at byte %d", at+end+1)
			}
			host = rest[:end+1]
			if _, err := uriDecode(host[1:end]); err != nil {
				return p, fmt.Errorf("the host at byte %d: %w", at, err)
			}
		} else {
			end := strings.IndexAny(rest, ":/?,")
			if end < 0 {
				end = len(rest)
			}
			host = rest[:end]
			if _, err := uriDecode(host); err != nil {
				return p, fmt.Errorf("the host at byte %d: %w", at, err)
			}
		}
		b.WriteString(host)
		advance(len(host))
		if strings.HasPrefix(rest, ":") {
			end := strings.IndexAny(rest, "/?,")
			if end < 0 {
				end = len(rest)
			}
			// Any text stands in the port's place, and a port that is not a
			// number may be a mislaid password.
			port, err := uriDecode(rest[1:end])
			if err != nil || strings.Trim(port, "0123456789") != "" {
				return p, fmt.Errorf("the port at byte %d is not a number", at+1)
			}
			b.WriteString(rest[:end])
			advance(end)
		}
		if !strings.HasPrefix(rest, ",") {
			break
		}
		b.WriteByte(',')
		advance(1)
	}

	if strings.HasPrefix(rest, "/") {
		end := strings.IndexByte(rest, '?')
		if end < 0 {
			end = len(rest)
		}
		if _, err := uriDecode(rest[1:end]); err != nil {
			return p, fmt.Errorf("the database name at byte %d: %w", at+1, err)
		}
		b.WriteString(rest[:end])
		advance(end)
	}
	if !strings.HasPrefix(rest, "?") {
		p.shown = b.String()
		return p, nil
	}
	b.WriteByte('?')
	advance(1)
	for rest != "" {
		pair, _, more := strings.Cut(rest, "&")
		rawKey, rawValue, ok := strings.Cut(pair, "=")
		if !ok || strings.Contains(rawValue, "=") {
			return p, fmt.Errorf("the parameter at byte %d does not have exactly one '='", at)
		}
		key, err := uriDecode(rawKey)
		if err != nil {
			return p, fmt.Errorf("the parameter name at byte %d: %w", at, err)
		}
		value, err := uriDecode(rawValue)
		if err != nil {
			return p, fmt.Errorf("the parameter value at byte %d: %w", at+len(rawKey)+1, err)
		}
		if isPasswordKey(key) {
			b.WriteString(rawKey + "=" + dsnMask)
			p.secrets = append(p.secrets, rawValue, value)
		} else {
			b.WriteString(pair)
		}
		advance(len(pair))
		if more {
			b.WriteByte('&')
			advance(1)
		}
	}
	p.shown = b.String()
	return p, nil
}

// uriDecode percent-decodes a URL part by libpq's rules, as pgx does:
// spaces around it are dropped, spaces inside it and %00 are refused.
func uriDecode(s string) (string, error) {
	s = strings.Trim(s, " ")
	if strings.Contains(s, " ") {
		return "", errors.New("a space that is not percent-encoded")
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		hi, lo := -1, -1
		if i+2 < len(s) {
			hi, lo = hexValue(s[i+1]), hexValue(s[i+2])
		}
		switch {
		case hi < 0 || lo < 0:
			return "", errors.New("a '%' not followed by two hexadecimal digits")
		case hi == 0 && lo == 0:
			return "", errors.New("%00, which is not allowed")
		}
		b.WriteByte(byte(hi<<4 | lo))
		i += 2
	}
	return b.String(), nil
}

func hexValue(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// dsnSpace is the white space between keyword/value pairs.
const dsnSpace = " \t\n\r\v\f"

// parseKeywordValueDSN reads keyword/value pairs: host=h password='a b'.
func parseKeywordValueDSN(dsn string) (parsedDSN, error) {
	var p parsedDSN
	var pairs []string
	rest := strings.TrimLeft(dsn, dsnSpace)
	at := func() int { return len(dsn) - len(rest) }
	for rest != "" {
		eq := strings.IndexByte(rest, '=')
		if eq < 0 {
			return p, fmt.Errorf("no '=' after the keyword at byte %d", at())
		}
		key := strings.Trim(rest[:eq], dsnSpace)
		if key == "" || strings.ContainsAny(key, dsnSpace) {
			return p, fmt.Errorf("the keyword at byte %d is empty or holds a space", at())
		}
		rest = strings.TrimLeft(rest[eq+1:], dsnSpace)
		var raw, written string // the value without and with its quotes
		if strings.HasPrefix(rest, "'") {
			end, ok := valueEnd(rest[1:], "'")
			if !ok {
				return p, fmt.Errorf("the quoted value at byte %d has no closing quote", at())
			}
			raw, written = rest[1:1+end], rest[:end+2]
		} else {
			end, _ := valueEnd(rest, dsnSpace)
			raw, written = rest[:end], rest[:end]
		}
		rest = strings.TrimLeft(rest[len(written):], dsnSpace)
		if isPasswordKey(key) {
			pairs = append(pairs, key+"="+dsnMask)
			p.secrets = append(p.secrets, raw, unescapeValue(raw))
		} else {
			pairs = append(pairs, key+"="+written)
		}
	}
	p.shown = strings.Join(pairs, " ")
	return p, nil
}

// valueEnd returns the length of the value at the start of s, which ends
// before the first unescaped byte in stop or at the end of s; ok is false
// when no such byte came.
func valueEnd(s, stop string) (end int, ok bool) {
	for end < len(s) {
		switch {
		case strings.IndexByte(stop, s[end]) >= 0:
			return end, true
		case s[end] == '\\':
			end = min(end+2, len(s))
		default:
			end++
		}
	}
	return end, false
}

// unescapeValue drops each backslash of a keyword/value value and keeps
// what follows it.
func unescapeValue(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
			if i == len(s) {
				break
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

package main

import (
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"qa-sampling/redact"
)

// envName is the environment variable that sets a flag: QA_ and the flag's
// name in upper case with underscores (--dispute-window: QA_DISPUTE_WINDOW).
func envName(flag string) string {
	return "QA_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// bindEnv makes each flag's environment variable its default, parsed as
// the flag parses its argument, and returns a check for RunE: a malformed
// value is an error naming the variable, unless the command line set the
// flag (the command line wins over the environment).
func bindEnv(flags *pflag.FlagSet, lookup func(string) (string, bool)) func(*cobra.Command) error {
	bad := map[string]error{}
	flags.VisitAll(func(f *pflag.Flag) {
		name := envName(f.Name)
		v, ok := lookup(name)
		if !ok {
			return
		}
		if err := f.Value.Set(v); err != nil {
			bad[f.Name] = fmt.Errorf("%s=%s: not %s", name, quoteShort(v), expected(f))
			return
		}
		f.DefValue = f.Value.String()
	})
	return func(cmd *cobra.Command) error {
		var err error
		cmd.Flags().VisitAll(func(f *pflag.Flag) {
			if e := bad[f.Name]; e != nil && !f.Changed && err == nil {
				err = e
			}
		})
		return err
	}
}

// namingEnv adds to err, a refusal of the settings that names flags
// ("--retain-unsampled 30: at least 42 days"), the environment variable
// that set each named flag the command line did not: the operator looks
// for the variable, not for a flag they never typed.
func namingEnv(err error, flags *pflag.FlagSet, lookup func(string) (string, bool)) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	var from []string
	flags.VisitAll(func(f *pflag.Flag) {
		if f.Changed {
			return
		}
		if _, ok := lookup(envName(f.Name)); ok && namesFlag(msg, f.Name) {
			from = append(from, "--"+f.Name+" is "+envName(f.Name))
		}
	})
	if len(from) == 0 {
		return err
	}
	return fmt.Errorf("%w (%s)", err, strings.Join(from, ", "))
}

// namesFlag reports whether msg names --name as a whole flag (not
// --name-more).
func namesFlag(msg, name string) bool {
	flag := "--" + name
	for i := strings.Index(msg, flag); i >= 0; {
		end := i + len(flag)
		if end == len(msg) || !isFlagNameByte(msg[end]) {
			return true
		}
		next := strings.Index(msg[end:], flag)
		if next < 0 {
			return false
		}
		i = end + next
	}
	return false
}

// isFlagNameByte reports whether c may continue a flag's name.
func isFlagNameByte(c byte) bool { return c == '-' || c == '_' || 'a' <= c && c <= 'z' }

// expected describes what a flag accepts, for the message about a
// malformed environment value.
func expected(f *pflag.Flag) string {
	switch f.Value.Type() {
	case "duration":
		return "a duration (e.g. 336h, 90m, 5s; days are written in hours)"
	case "bool":
		return "a boolean (true or false, 1 or 0)"
	case "int":
		return "a whole number"
	case "kinds":
		return "all, none or a list of " + strings.Join(redact.Names[:], ", ")
	}
	return "a valid --" + f.Name
}

// quoteShort quotes at most the first 32 bytes of an operator's value.
func quoteShort(s string) string {
	const shown = 32
	if len(s) <= shown {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:shown]) + "..."
}

// settingsAttrs are the effective settings of a command, one attribute per
// flag, for the start-up log: the database DSN without its password.
func settingsAttrs(flags *pflag.FlagSet) []any {
	var attrs []any
	flags.VisitAll(func(f *pflag.Flag) {
		if f.Name == "help" {
			return
		}
		v := f.Value.String()
		if f.Name == "db" {
			v = describeDB(v)
		}
		attrs = append(attrs, slog.String(strings.ReplaceAll(f.Name, "-", "_"), v))
	})
	return attrs
}

// keyValuePassword finds the password of a key=value PostgreSQL DSN,
// quoted or not.
var keyValuePassword = regexp.MustCompile(`(?i)(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)

// describeDB is the database for the log: a PostgreSQL DSN without its
// password (URL user info, URL query or key=value form), or the SQLite
// path.
func describeDB(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		if q := u.Query(); q.Has("password") {
			q.Set("password", "xxxxx")
			u.RawQuery = q.Encode()
		}
		return u.Redacted()
	}
	return keyValuePassword.ReplaceAllString(dsn, "${1}xxxxx")
}

// readableDurations is a slog ReplaceAttr that writes durations as Go
// duration strings ("336h0m0s"); the JSON handler would write nanoseconds.
func readableDurations(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		return slog.String(a.Key, a.Value.Duration().String())
	}
	return a
}

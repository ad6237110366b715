package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"qa-sampling/server"
	"qa-sampling/store"
	"qa-sampling/store/sqlstore"
)

// defaultHTTPListen is where `qad serve` serves the console unless told
// otherwise (--http-listen): the admin commands' default public URL
// points there.
const defaultHTTPListen = "127.0.0.1:7390"

// sessionFlags are serve's console sign-in settings; the public URL that
// login links point under is --public-url (http.go).
type sessionFlags struct {
	idle, maxAge time.Duration
}

func (s *sessionFlags) register(fl *pflag.FlagSet) {
	defaults := server.DefaultConfig()
	fl.DurationVar(&s.idle, "session-idle", defaults.SessionIdle, "a console session unused this long ends [QA_SESSION_IDLE]")
	fl.DurationVar(&s.maxAge, "session-max", defaults.SessionMax, "any console session ends this long after sign-in [QA_SESSION_MAX]")
}

// apply checks the settings and puts them in cfg.
func (s *sessionFlags) apply(cfg *server.Config) error {
	if s.idle <= 0 || s.maxAge <= 0 {
		return errors.New("--session-idle and --session-max must be positive")
	}
	cfg.SessionIdle, cfg.SessionMax = s.idle, s.maxAge
	return nil
}

// publicURL is the console's public address: flagValue checked, or else
// derived from the HTTP listen address (an unspecified host is taken as
// localhost: set --public-url for anything else).
func publicURL(flagValue, httpListen string, tls bool) (string, error) {
	if flagValue == "" {
		host, port, err := net.SplitHostPort(httpListen)
		if err != nil {
			return "", fmt.Errorf("--public-url: not set, and the HTTP listen address %s is not host:port", quoteShort(httpListen))
		}
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			host = "localhost"
		}
		scheme := "http"
		if tls {
			scheme = "https"
		}
		return scheme + "://" + net.JoinHostPort(host, port), nil
	}
	return publicURLFlag(flagValue)
}

// publicURLFlag checks a --public-url value: an http(s) address without
// user info, query or fragment, which login links are built on.
func publicURLFlag(flagValue string) (string, error) {
	u, err := url.Parse(flagValue)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("--public-url: %s is not an http:// or https:// address without query, e.g. https://qa.example.com", quoteShort(flagValue))
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}

// adminPublicURL is the public URL for the admin commands, which run
// beside the server and read its environment: --public-url, else
// QA_PUBLIC_URL, else derived from QA_HTTP_LISTEN and QA_TLS_CERT as
// serve derives it.
func adminPublicURL(flagValue string) (string, error) {
	if flagValue == "" {
		flagValue = env("QA_PUBLIC_URL", "")
	}
	return publicURL(flagValue, env("QA_HTTP_LISTEN", defaultHTTPListen), env("QA_TLS_CERT", "") != "")
}

func newLoginLinkCommand(stdout io.Writer) *cobra.Command {
	var db, role, subject, public string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "login-link --role R --subject S",
		Short: "Create a one-time console sign-in link and print its URL (run on the server host)",
		Long: `Create a one-time console sign-in link for a person and print its URL.

The link works once, for 24 hours; opening it signs the person in. Send it
to them the way you would send a password. --json also prints the code
(for typing into the sign-in form) and when it expires.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ttl := server.DefaultConfig().LoginLinkTTL
			now := time.Now().UTC()
			actor := adminActor()
			code, link, err := server.NewLoginLink(store.Role(role), subject, actor, now, ttl)
			if err != nil {
				return fmt.Errorf("--%w", err) // before the database is opened
			}
			base, err := adminPublicURL(public)
			if err != nil {
				return err
			}
			st, err := sqlstore.Open(cmd.Context(), db, sqlstore.Options{Log: adminLog(cmd)})
			if err != nil {
				return err
			}
			defer func() { _ = st.Close() }()
			if err := st.Ready(cmd.Context()); err != nil {
				return err
			}
			if err := st.CreateLoginLink(cmd.Context(), link); err != nil {
				return err
			}
			loginURL := server.LoginURL(base, code)
			if asJSON {
				return json.NewEncoder(stdout).Encode(map[string]any{
					"url": loginURL, "code": code, "expires_at": link.ExpiresAt.Format(time.RFC3339),
					"login_link_id": link.ID, "role": link.Role, "subject": link.Subject,
				})
			}
			_, err = fmt.Fprintln(stdout, loginURL)
			return err
		},
	}
	dbFlag(cmd, &db)
	cmd.Flags().StringVar(&role, "role", "", "admin, inspector or supervisor")
	cmd.Flags().StringVar(&subject, "subject", "", "who signs in: an inspector id, a supervisor_id, an admin's name")
	cmd.Flags().StringVar(&public, "public-url", "", "the console's address as browsers reach it [QA_PUBLIC_URL]; default http:// and QA_HTTP_LISTEN or "+defaultHTTPListen)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print url, code and expires_at as one JSON object")
	return cmd
}

func newSessionCommand(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "session", Short: "List and revoke console sessions (run on the server host)"}

	var listDB, subject string
	var all, asJSON bool
	var idle time.Duration
	list := &cobra.Command{
		Use:   "list",
		Short: "List live console sessions, newest first (--all: also ended ones); never secrets",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if idle <= 0 {
				return errors.New("--session-idle must be positive")
			}
			st, err := sqlstore.Open(cmd.Context(), listDB, sqlstore.Options{Log: adminLog(cmd)})
			if err != nil {
				return err
			}
			defer func() { _ = st.Close() }()
			now := time.Now().UTC()
			f := store.SessionFilter{Subject: subject}
			if !all {
				f.ActiveAt, f.IdleTimeout = now, idle
			}
			sessions, err := st.ListSessions(cmd.Context(), f)
			if err != nil {
				return err
			}
			return printSessions(stdout, sessions, idle, now, asJSON)
		},
	}
	dbFlag(list, &listDB)
	list.Flags().BoolVar(&all, "all", false, "also sessions revoked, signed out or expired")
	list.Flags().StringVar(&subject, "subject", "", "only this person's sessions")
	list.Flags().BoolVar(&asJSON, "json", false, "one JSON object per line")
	list.Flags().DurationVar(&idle, "session-idle", durationEnv("QA_SESSION_IDLE", server.DefaultConfig().SessionIdle), "the server's idle timeout, to tell live sessions [QA_SESSION_IDLE]")

	var revokeDB, revokeSubject, revokeRole string
	revoke := &cobra.Command{
		Use:   "revoke ID | --subject S [--role R]",
		Short: "Revoke a session by id, or every session of a person; the server refuses it within --token-cache-ttl",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (len(args) == 1) == (revokeSubject != "") {
				return errors.New("give a session ID or --subject, not both")
			}
			if revokeRole != "" && !server.ConsoleRole(store.Role(revokeRole)) {
				return fmt.Errorf("--role: %s is not admin, inspector or supervisor", quoteShort(revokeRole))
			}
			st, err := sqlstore.Open(cmd.Context(), revokeDB, sqlstore.Options{Log: adminLog(cmd)})
			if err != nil {
				return err
			}
			defer func() { _ = st.Close() }()
			now := time.Now().UTC()
			if revokeSubject != "" {
				n, err := st.RevokeSessions(cmd.Context(), store.Role(revokeRole), revokeSubject, now, adminActor())
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(stdout, "revoked %d session(s) of %s\n", n, revokeSubject)
				return err
			}
			if _, err := st.RevokeSession(cmd.Context(), args[0], now, adminActor()); err != nil {
				return fmt.Errorf("revoke %s: %w", args[0], err)
			}
			_, err = fmt.Fprintf(stdout, "revoked session %s\n", args[0])
			return err
		},
	}
	dbFlag(revoke, &revokeDB)
	revoke.Flags().StringVar(&revokeSubject, "subject", "", "revoke every live session of this person")
	revoke.Flags().StringVar(&revokeRole, "role", "", "with --subject: only their sessions of this role")
	cmd.AddCommand(list, revoke)
	return cmd
}

// durationEnv is the duration in environment variable name, or def when
// unset or malformed (serve, which owns the setting, reports a malformed
// one).
func durationEnv(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(env(name, "")); err == nil {
		return d
	}
	return def
}

func printSessions(w io.Writer, sessions []store.Session, idle time.Duration, now time.Time, asJSON bool) error {
	maxAge := durationEnv("QA_SESSION_MAX", server.DefaultConfig().SessionMax)
	state := func(s store.Session) string {
		switch {
		case !s.RevokedAt.IsZero():
			return "revoked"
		case !now.Before(server.SessionEnd(s, idle, maxAge)):
			return "expired"
		}
		return "live"
	}
	if asJSON {
		enc := json.NewEncoder(w)
		for _, s := range sessions {
			rec := map[string]any{"id": s.ID, "role": s.Role, "subject": s.Subject, "state": state(s),
				"created_at": s.CreatedAt.Format(time.RFC3339), "last_seen_at": s.LastSeenAt.Format(time.RFC3339),
				"expires_at": server.SessionEnd(s, idle, maxAge).Format(time.RFC3339),
				"started_by": s.StartedBy, "started_with": s.StartedWith, "user_agent": s.UserAgent}
			if !s.RevokedAt.IsZero() {
				rec["revoked_at"] = s.RevokedAt.Format(time.RFC3339)
			}
			if err := enc.Encode(rec); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	// tabwriter buffers; a write error surfaces from Flush.
	_, _ = fmt.Fprintln(tw, "ID\tROLE\tSUBJECT\tSTATE\tSTARTED\tLAST SEEN\tENDS\tBY\tUSER AGENT")
	for _, s := range sessions {
		ends := server.SessionEnd(s, idle, maxAge).Format(time.RFC3339)
		if !s.RevokedAt.IsZero() {
			ends = s.RevokedAt.Format(time.RFC3339)
		}
		_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s:%s\t%s\n", s.ID, s.Role, s.Subject, state(s),
			s.CreatedAt.Format(time.RFC3339), s.LastSeenAt.Format(time.RFC3339), ends, s.StartedBy, s.StartedWith, shortUserAgent(s.UserAgent))
	}
	return tw.Flush()
}

// shortUserAgent keeps the table's lines short.
func shortUserAgent(ua string) string {
	const shown = 40
	if ua == "" {
		return "-"
	}
	if r := []rune(ua); len(r) > shown {
		return string(r[:shown-1]) + "…"
	}
	return ua
}

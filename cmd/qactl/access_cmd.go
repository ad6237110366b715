package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	qav1 "qa-sampling/proto/qa/v1"
)

func newAccessCommand(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{Use: "access", Short: "Console sign-in links, sessions and API tokens (admin)"}

	var linkReq qav1.CreateLoginLinkRequest
	loginLink := &cobra.Command{
		Use:   "login-link --role R --subject S",
		Short: "Create a one-time console sign-in link and print its URL",
		Long: `Create a one-time console sign-in link and print its URL on stdout.

The link works once, for 24 hours; opening it signs the person in. Send it
the way you would send a password. --json also has the code (for typing
into the sign-in form) and when it expires.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return opts.call(cmd, func(c clients) (proto.Message, error) {
				resp, err := c.access.CreateLoginLink(c.ctx, &linkReq)
				if err != nil || opts.json {
					return resp, err
				}
				if _, err := fmt.Fprintln(cmd.OutOrStdout(), resp.GetUrl()); err != nil {
					return nil, err
				}
				_, _ = fmt.Fprintf(cmd.ErrOrStderr(), "works once, until %s\n", shortTime(resp.GetExpiresAt(), c.location()))
				return nil, nil
			})
		},
	}
	loginLink.Flags().StringVar(&linkReq.Role, "role", "", "admin, inspector or supervisor")
	loginLink.Flags().StringVar(&linkReq.Subject, "subject", "", "who signs in: an inspector id, a supervisor_id, an admin's name")

	var all bool
	var sessionsReq qav1.ListSessionsRequest
	sessions := &cobra.Command{
		Use:   "sessions [--subject S] [--all]",
		Short: "List live console sessions, newest first (--all: also ended ones)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sessionsReq.ActiveOnly = !all
			return opts.call(cmd, func(c clients) (proto.Message, error) {
				resp, err := c.access.ListSessions(c.ctx, &sessionsReq)
				if err != nil {
					return nil, err
				}
				if opts.json {
					return nil, jsonLines(cmd.OutOrStdout(), resp.GetSessions())
				}
				return nil, printSessions(cmd.OutOrStdout(), resp.GetSessions(), c.location(), time.Now())
			})
		},
	}
	sessions.Flags().StringVar(&sessionsReq.Subject, "subject", "", "only this person's sessions")
	sessions.Flags().BoolVar(&all, "all", false, "also sessions revoked, signed out or expired")

	revokeSession := &cobra.Command{
		Use:   "revoke-session ID",
		Short: "End a console session at once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return opts.call(cmd, func(c clients) (proto.Message, error) {
				resp, err := c.access.RevokeSession(c.ctx, &qav1.RevokeSessionRequest{Id: args[0]})
				if err != nil || opts.json {
					return resp, err
				}
				s := resp.GetSession()
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "revoked session %s of %s (%s)\n", sanitize(s.GetId()), sanitize(s.GetSubject()), sanitize(s.GetRole()))
				return nil, err
			})
		},
	}

	tokens := &cobra.Command{
		Use:   "tokens",
		Short: "List API tokens, oldest first (ids, roles, subjects; never secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return opts.call(cmd, func(c clients) (proto.Message, error) {
				resp, err := c.access.ListTokens(c.ctx, &qav1.ListTokensRequest{})
				if err != nil {
					return nil, err
				}
				if opts.json {
					return nil, jsonLines(cmd.OutOrStdout(), resp.GetTokens())
				}
				return nil, printTokens(cmd.OutOrStdout(), resp.GetTokens(), c.location())
			})
		},
	}

	revokeToken := &cobra.Command{
		Use:   "revoke-token ID",
		Short: "Revoke an API token and end the console sessions of its person",
		Long: `Revoke an API token by id (the part after qa_ and before the next _) and
end every console session of the same person (role and subject).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return opts.call(cmd, func(c clients) (proto.Message, error) {
				resp, err := c.access.RevokeToken(c.ctx, &qav1.RevokeTokenRequest{Id: args[0]})
				if err != nil || opts.json {
					return resp, err
				}
				tok := resp.GetToken()
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "revoked token %s of %s (%s); ended %d console session(s)\n",
					sanitize(tok.GetId()), sanitize(tok.GetSubject()), sanitize(tok.GetRole()), resp.GetSessionsEnded())
				return nil, err
			})
		},
	}

	cmd.AddCommand(loginLink, sessions, revokeSession, tokens, revokeToken)
	return cmd
}

func newWhoAmICommand(opts *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "whoami",
		Short: "Show the role and subject the server takes the credential for",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return opts.call(cmd, func(c clients) (proto.Message, error) {
				resp, err := c.access.WhoAmI(c.ctx, &qav1.WhoAmIRequest{})
				if err != nil || opts.json {
					return resp, err
				}
				out := fmt.Sprintf("%s (%s)\n", sanitize(resp.GetSubject()), sanitize(resp.GetRole()))
				if s := resp.GetSession(); s != nil {
					loc := c.location()
					out += fmt.Sprintf("console session %s, signed in %s, ends %s if unused\n",
						sanitize(s.GetId()), shortTime(s.GetCreatedAt(), loc), shortTime(s.GetExpiresAt(), loc))
				}
				_, err = io.WriteString(cmd.OutOrStdout(), out)
				return nil, err
			})
		},
	}
}

// sessionState is live, revoked (also signed out) or expired at now.
func sessionState(s *qav1.Session, now time.Time) string {
	switch {
	case s.GetRevokedAt() != nil:
		return "revoked"
	case s.GetExpiresAt() != nil && !now.Before(s.GetExpiresAt().AsTime()):
		return "expired"
	}
	return "live"
}

func printSessions(w io.Writer, sessions []*qav1.Session, loc *time.Location, now time.Time) error {
	tw := newTable(w)
	_, _ = fmt.Fprintln(tw, "ID\tROLE\tSUBJECT\tSTATE\tSIGNED IN\tLAST SEEN\tENDS\tBY\tBROWSER")
	for _, s := range sessions {
		ends := s.GetExpiresAt()
		if s.GetRevokedAt() != nil {
			ends = s.GetRevokedAt()
		}
		_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", sanitize(s.GetId()), sanitize(s.GetRole()), sanitize(s.GetSubject()),
			sessionState(s, now), shortTime(s.GetCreatedAt(), loc), shortTime(s.GetLastSeenAt(), loc), shortTime(ends, loc),
			sanitize(s.GetStartedBy()), browserText(s.GetUserAgent()))
	}
	return tw.Flush()
}

// browserText is a User-Agent cut for the table; --json has it whole.
func browserText(ua string) string {
	const shown = 40
	if ua == "" {
		return "-"
	}
	if r := []rune(sanitize(ua)); len(r) > shown {
		return string(r[:shown-1]) + "…"
	}
	return sanitize(ua)
}

func printTokens(w io.Writer, tokens []*qav1.Token, loc *time.Location) error {
	tw := newTable(w)
	_, _ = fmt.Fprintln(tw, "ID\tROLE\tSUBJECT\tCREATED\tREVOKED")
	for _, t := range tokens {
		_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", sanitize(t.GetId()), sanitize(t.GetRole()), sanitize(t.GetSubject()),
			shortTime(t.GetCreatedAt(), loc), shortTime(t.GetRevokedAt(), loc))
	}
	return tw.Flush()
}

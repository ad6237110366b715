package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os/user"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"qa-sampling/server"
	"qa-sampling/store"
	"qa-sampling/store/sqlstore"
)

func dbFlag(cmd *cobra.Command, db *string) {
	cmd.Flags().StringVar(db, "db", env("QA_DB", defaultDB), "SQLite file path or PostgreSQL DSN [QA_DB]")
}

func newTokenCommand(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Create, list and revoke API tokens (run on the server host)"}

	var db, role, subject string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a token and print it (only it) on stdout",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r := store.Role(role)
			if !server.ValidRole(r) {
				return fmt.Errorf("--role: %q is not admin, ingest, inspector or supervisor", role)
			}
			if subject == "" {
				return fmt.Errorf("--subject: required (the person's or system's id, e.g. a supervisor_id)")
			}
			if _, _, err := server.NewToken(r, subject, time.Now()); err != nil {
				return fmt.Errorf("--%w", err) // before the database is opened
			}
			st, err := sqlstore.Open(cmd.Context(), db, sqlstore.Options{Log: adminLog(cmd)})
			if err != nil {
				return err
			}
			defer func() { _ = st.Close() }()
			if err := st.Ready(cmd.Context()); err != nil {
				return err
			}
			plain, tok, err := server.NewToken(r, subject, time.Now().UTC())
			if err != nil {
				return err
			}
			if err := st.CreateToken(cmd.Context(), tok, adminActor()); err != nil {
				return err
			}
			_, err = fmt.Fprintln(stdout, plain)
			return err
		},
	}
	dbFlag(create, &db)
	create.Flags().StringVar(&role, "role", "", "admin, ingest, inspector or supervisor")
	create.Flags().StringVar(&subject, "subject", "", "who the token is for: an inspector id, a supervisor_id, a system name")

	var listDB string
	var asJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List tokens (ids, roles, subjects; never secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := sqlstore.Open(cmd.Context(), listDB, sqlstore.Options{Log: adminLog(cmd)})
			if err != nil {
				return err
			}
			defer func() { _ = st.Close() }()
			toks, err := st.ListTokens(cmd.Context())
			if err != nil {
				return err
			}
			return printTokens(stdout, toks, asJSON)
		},
	}
	dbFlag(list, &listDB)
	list.Flags().BoolVar(&asJSON, "json", false, "one JSON object per line")

	var revokeDB string
	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke a token by id (the part after qa_ and before the next _) and end its person's console sessions",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := sqlstore.Open(cmd.Context(), revokeDB, sqlstore.Options{Log: adminLog(cmd)})
			if err != nil {
				return err
			}
			defer func() { _ = st.Close() }()
			ended, err := st.RevokeToken(cmd.Context(), args[0], time.Now().UTC(), adminActor())
			if err != nil {
				return fmt.Errorf("revoke %s: %w", args[0], err)
			}
			_, err = fmt.Fprintf(stdout, "revoked %s; ended %d console session(s) of the same person\n", args[0], ended)
			return err
		},
	}
	dbFlag(revoke, &revokeDB)
	cmd.AddCommand(create, list, revoke)
	return cmd
}

// adminActor names who ran a qad admin command in the audit trail: "qad:"
// and the OS user, or "qad" alone when the user cannot be known. The
// command works on the database directly, with no token, so the account
// on the server host is the one name there is.
func adminActor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "qad:" + u.Username
	}
	return "qad"
}

func printTokens(w io.Writer, toks []store.Token, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		for _, t := range toks {
			rec := map[string]any{"id": t.ID, "role": t.Role, "subject": t.Subject, "created_at": t.CreatedAt.UTC().Format(time.RFC3339)}
			if !t.RevokedAt.IsZero() {
				rec["revoked_at"] = t.RevokedAt.UTC().Format(time.RFC3339)
			}
			if err := enc.Encode(rec); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	// tabwriter buffers; a write error surfaces from Flush.
	_, _ = fmt.Fprintln(tw, "ID\tROLE\tSUBJECT\tCREATED\tREVOKED")
	for _, t := range toks {
		revoked := "-"
		if !t.RevokedAt.IsZero() {
			revoked = t.RevokedAt.UTC().Format(time.RFC3339)
		}
		_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.ID, t.Role, t.Subject, t.CreatedAt.UTC().Format(time.RFC3339), revoked)
	}
	return tw.Flush()
}

func newMigrateCommand(stdout io.Writer) *cobra.Command {
	var db string
	var statusOnly bool
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending schema migrations (PostgreSQL; SQLite migrates itself on start)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := sqlstore.Open(cmd.Context(), db, sqlstore.Options{Log: adminLog(cmd)})
			if err != nil {
				return err
			}
			defer func() { _ = st.Close() }()
			current, required, err := st.SchemaVersion(cmd.Context())
			if err != nil {
				return err
			}
			if statusOnly {
				_, err = fmt.Fprintf(stdout, "schema version %d; this binary needs %d\n", current, required)
				return err
			}
			if err := st.Migrate(cmd.Context()); err != nil {
				return err
			}
			_, err = fmt.Fprintf(stdout, "schema at version %d (was %d)\n", required, current)
			return err
		},
	}
	dbFlag(cmd, &db)
	cmd.Flags().BoolVar(&statusOnly, "status", false, "only print the current and required versions")
	return cmd
}

// adminLog reports what opening the database repaired (a file's mode) on
// stderr, keeping stdout for the command's output.
func adminLog(cmd *cobra.Command) *slog.Logger {
	return slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
}

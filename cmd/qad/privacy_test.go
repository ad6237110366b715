package main

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"qa-sampling/redact"
	"qa-sampling/server"
)

func TestPrivacyFlags(t *testing.T) {
	parse := func(args ...string) (server.Config, error) {
		var p privacyFlags
		fl := pflag.NewFlagSet("serve", pflag.ContinueOnError)
		p.register(fl)
		if err := fl.Parse(args); err != nil {
			return server.Config{}, err
		}
		cfg := server.DefaultConfig()
		return cfg, p.apply(&cfg, 4)
	}
	cfg, err := parse()
	if err != nil || cfg.Ingest.Redact != redact.All || cfg.Retention.Enabled() {
		t.Errorf("defaults: redact %v, retention %+v, %v; want all, off", cfg.Ingest.Redact, cfg.Retention, err)
	}
	cfg, err = parse("--redact", "phone,email", "--retain-unsampled", "90", "--retain-reviewed", "365")
	if err != nil || cfg.Ingest.Redact.String() != "phone,email" || cfg.Retention.Unsampled != 90*24*time.Hour || cfg.Retention.Reviewed != 365*24*time.Hour {
		t.Errorf("set: %v %+v %v", cfg.Ingest.Redact, cfg.Retention, err)
	}
	if cfg, err := parse("--redact", "none"); err != nil || cfg.Ingest.Redact != redact.None {
		t.Errorf("--redact none: %v %v", cfg.Ingest.Redact, err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--redact", "phone,passport"}, `"passport"`},
		// Blank is not "none": redaction is turned off only by saying so.
		{[]string{"--redact", ""}, "empty; say none"},
		{[]string{"--redact", " "}, "empty; say none"},
		{[]string{"--retain-unsampled", "30"}, "--retain-unsampled 30: at least 42 days"},
		{[]string{"--retain-reviewed", "7"}, "--retain-reviewed 7: at least 14 days"},
		{[]string{"--retain-reviewed", "-1"}, "--retain-reviewed -1: days, 0 (keep) or more"},
		{[]string{"--retain-unsampled", "-5"}, "--retain-unsampled -5: days"},
	} {
		if _, err := parse(c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want an error with %q", c.args, err, c.want)
		}
	}
}

package main

import (
	"github.com/spf13/pflag"

	"qa-sampling/redact"
	"qa-sampling/server"
)

// privacyFlags are the settings of SPEC §7, Privacy: what is redacted at
// ingest.
type privacyFlags struct {
	redact redactFlag
}

func (p *privacyFlags) register(fl *pflag.FlagSet) {
	p.redact = redactFlag(server.DefaultIngestOptions().Redact)
	fl.Var(&p.redact, "redact", "personal data replaced by placeholders before anything is stored: all, none, or a list of phone, landline, id_card, bank_card, email [QA_REDACT]")
}

// apply puts the settings in cfg.
func (p *privacyFlags) apply(cfg *server.Config) error {
	cfg.Ingest.Redact = redact.Set(p.redact)
	return nil
}

// redactFlag is --redact: parsed when set, so a wrong kind is an error
// naming the flag (or its environment variable) at start-up.
type redactFlag redact.Set

func (r *redactFlag) String() string { return redact.Set(*r).String() }

func (r *redactFlag) Set(v string) error {
	s, err := redact.ParseSet(v)
	if err != nil {
		return err
	}
	*r = redactFlag(s)
	return nil
}

func (r *redactFlag) Type() string { return "kinds" }

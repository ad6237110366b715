package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"qa-sampling/redact"
	"qa-sampling/server"
)

// privacyFlags are the settings of SPEC §7, Privacy: what is redacted at
// ingest, and how long chats are kept.
type privacyFlags struct {
	redact                          redactFlag
	retainUnsampled, retainReviewed int
}

func (p *privacyFlags) register(fl *pflag.FlagSet) {
	p.redact = redactFlag(server.DefaultIngestOptions().Redact)
	fl.Var(&p.redact, "redact", "personal data replaced by placeholders (text) and keyed pseudonyms (customer id, tier, channel, tags, attribute keys) before anything is stored: all, none, or a list of phone, landline, id_card, bank_card, email [QA_REDACT]")
	fl.IntVar(&p.retainUnsampled, "retain-unsampled", 0, "delete chats no run picked this many days after they ended; 0 keeps them [QA_RETAIN_UNSAMPLED]")
	fl.IntVar(&p.retainReviewed, "retain-reviewed", 0, "empty picked chats (messages, attributes, customer id) this many days after their review closed; 0 keeps them [QA_RETAIN_REVIEWED]")
}

const day = 24 * time.Hour

// apply checks the settings against the weeks sampling may still read
// (the run of last week and topUpWeeks' top-ups) and the dispute window,
// and puts them in cfg.
func (p *privacyFlags) apply(cfg *server.Config, topUpWeeks int) error {
	cfg.Ingest.Redact = redact.Set(p.redact)
	if p.retainUnsampled < 0 {
		return fmt.Errorf("--retain-unsampled %d: days, 0 (keep) or more", p.retainUnsampled)
	}
	if p.retainReviewed < 0 {
		return fmt.Errorf("--retain-reviewed %d: days, 0 (keep) or more", p.retainReviewed)
	}
	// A chat of the oldest week a top-up reads ended at most this long ago
	// when it is read; deleting it sooner would take it from the sample.
	if least := 7 * (max(topUpWeeks, 0) + 2); p.retainUnsampled > 0 && p.retainUnsampled < least {
		return fmt.Errorf("--retain-unsampled %d: at least %d days, so that the weeks sampling and its top-ups (--top-up-weeks %d) still read are kept", p.retainUnsampled, least, topUpWeeks)
	}
	if least := int((cfg.DisputeWindow + day - 1) / day); p.retainReviewed > 0 && p.retainReviewed < least {
		return fmt.Errorf("--retain-reviewed %d: at least %d days, the dispute window, so that a disputed review still has its chat", p.retainReviewed, least)
	}
	cfg.Retention.Unsampled = time.Duration(p.retainUnsampled) * day
	cfg.Retention.Reviewed = time.Duration(p.retainReviewed) * day
	return nil
}

// redactFlag is --redact: parsed when set, so a wrong kind is an error
// naming the flag (or its environment variable) at start-up.
type redactFlag redact.Set

func (r *redactFlag) String() string { return redact.Set(*r).String() }

func (r *redactFlag) Set(v string) error {
	// An empty value is nearly always a variable left blank (QA_REDACT= in a
	// unit or compose file), not a decision to store personal data as
	// pushed: that must be said as "none".
	if strings.TrimSpace(v) == "" {
		return fmt.Errorf("empty; say none to store chats as pushed, or all (the default) or a list of %s", strings.Join(redact.Names[:], ", "))
	}
	s, err := redact.ParseSet(v)
	if err != nil {
		return err
	}
	*r = redactFlag(s)
	return nil
}

func (r *redactFlag) Type() string { return "kinds" }

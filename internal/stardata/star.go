package stardata

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Dialogue is one STAR record, as far as tests need it. Fields keep the
// corpus's names; see testdata/star/README.md and the STAR paper.
type Dialogue struct {
	DialogueID               int
	AnonymizedWizardWorkerID string // the agent
	AnonymizedUserWorkerID   string // the customer
	BatchID                  string // "woz_<Unix seconds>"
	CompletionLevel          string // Complete, EarlyDisconnectDuringDialogue, ...
	IntroducesConflicts      bool
	Scenario                 Scenario
	UserQuestionnaire        []Answer
	WizardQuestionnaire      []Answer
	Events                   []Event
}

// Scenario is what the two workers were asked to do.
type Scenario struct {
	Domains            []string // a JSON null element decodes as ""
	Happy              bool     // false: the user was steered off the happy path
	MultiTask          bool
	UserTask           string
	WizardTask         string
	WizardCapabilities []Capability
}

// Capability is one task the wizard could serve.
type Capability struct {
	Domain string
	Task   string
}

// Answer is one yes/no questionnaire answer.
type Answer struct {
	Question string
	Answer   bool
}

// Event is one step of a dialogue; only some are messages the other party
// saw (see Event.Visible).
type Event struct {
	Agent       string // User, Wizard, UserGuide, KnowledgeBase
	Action      string // utter, pick_suggestion, request_suggestions, query, ...
	Text        string
	ActionLabel string
	// UnixTime is in whole seconds; 0 means the event has none
	// (KnowledgeBase return_item).
	UnixTime int64
}

// Event kinds the other party saw.
const (
	kindNone = iota
	kindCustomer
	kindAgent
)

// kind classifies e: User/utter is a customer message, Wizard/utter and
// Wizard/pick_suggestion are agent messages, everything else (drafts,
// API calls, UI actions, hidden instructions) was never seen.
func (e *Event) kind() int {
	switch {
	case e.Agent == "User" && e.Action == "utter":
		return kindCustomer
	case e.Agent == "Wizard" && (e.Action == "utter" || e.Action == "pick_suggestion"):
		return kindAgent
	}
	return kindNone
}

// Visible reports whether e is a message the other party saw.
func (e *Event) Visible() bool { return e.kind() != kindNone }

// Load reads a gzip-compressed JSON Lines file of STAR records.
func Load(path string) ([]Dialogue, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // read-only: a close error loses nothing
	zr, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	// Reading to io.EOF also verifies the gzip checksum.
	dec := json.NewDecoder(zr)
	var ds []Dialogue
	for {
		var d Dialogue
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			return ds, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: record %d: %w", path, len(ds)+1, err)
		}
		ds = append(ds, d)
	}
}

// SubsetPath finds the repository's STAR subset,
// testdata/star/dialogues.jsonl.gz, by walking up from the working
// directory, so tests in any package of the module can use it.
func SubsetPath() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "testdata", "star", "dialogues.jsonl.gz")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("stardata: testdata/star/dialogues.jsonl.gz not found above the working directory")
		}
		dir = parent
	}
}

// LoadSubset loads the repository's STAR subset.
func LoadSubset() ([]Dialogue, error) {
	p, err := SubsetPath()
	if err != nil {
		return nil, err
	}
	return Load(p)
}

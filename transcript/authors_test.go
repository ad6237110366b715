package transcript

import (
	"slices"
	"testing"
)

func TestAuthors(t *testing.T) {
	tests := []struct {
		name       string
		tr         *Transcript
		want       []string
		ownerWrote bool
	}{
		{"owner alone, agent_id left empty", conv(at(customer, 0), at(agent, sec)), []string{"agent-1"}, true},
		{"owner named on the message", conv(by("agent-1", sec)), []string{"agent-1"}, true},
		{"handed over, by first message", conv(at(agent, 0), by("agent-3", sec), by("agent-2", 2*sec), at(agent, 3*sec), by("agent-3", 4*sec)),
			[]string{"agent-1", "agent-3", "agent-2"}, true},
		// The owner of the record wrote nothing: it counts for the writers
		// only (SPEC §4, Transfers).
		{"owner wrote nothing", conv(at(customer, 0), by("agent-2", sec), by("agent-3", 2*sec), by("agent-2", 3*sec)),
			[]string{"agent-2", "agent-3"}, false},
		{"second agent later, owner's message without agent_id", conv(by("agent-2", 0), at(agent, sec)), []string{"agent-1", "agent-2"}, true},
		// No agent message: it counts for its owner, for sampling to
		// exclude it as having none.
		{"no agent message", conv(at(customer, 0), at(bot, sec), at(system, 2*sec)), []string{"agent-1"}, true},
		{"no messages", conv(), []string{"agent-1"}, true},
		{"bot and system messages carry no author", conv(at(bot, 0), by("agent-2", sec)), []string{"agent-2"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Authors(tt.tr); !slices.Equal(got, tt.want) {
				t.Errorf("Authors = %q, want %q", got, tt.want)
			}
			if got := OwnerWrote(tt.tr); got != tt.ownerWrote {
				t.Errorf("OwnerWrote = %v, want %v", got, tt.ownerWrote)
			}
			if got := Prepare(*tt.tr).AgentIDs; !slices.Equal(got, tt.want) {
				t.Errorf("Prepare(...).AgentIDs = %q, want %q", got, tt.want)
			}
		})
	}
}

// The body keeps each message's author, so the authors read back from a
// stored body are the ones ingest derived.
func TestAuthorsSurviveTheBody(t *testing.T) {
	tr := conv(at(customer, 0), by("agent-2", sec), by("agent-3", 2*sec))
	p := Prepare(*tr)
	msgs, _, err := DecodeBody(p.Body)
	if err != nil {
		t.Fatal(err)
	}
	back := p.Transcript
	back.Messages = msgs
	if got := Authors(&back); !slices.Equal(got, p.AgentIDs) {
		t.Errorf("Authors of the decoded body = %q, want %q", got, p.AgentIDs)
	}
}

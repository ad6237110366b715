package stardata

import (
	"fmt"
	"hash/fnv"
	"qa-sampling/internal/importfile"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"qa-sampling/transcript"
)

// ExternalID is the transcript id of a STAR dialogue.
func ExternalID(d *Dialogue) string { return "star-" + strconv.Itoa(d.DialogueID) }

// Convert maps a STAR dialogue to a transcript:
//
//   - external_id "star-<DialogueID>", agent_id the wizard, customer_id the
//     user, channel "chat", customer_tier "regular", transfer_count 0;
//   - messages: User/utter as customer, Wizard/utter and
//     Wizard/pick_suggestion as agent, sent at their UnixTime; every other
//     event was never seen by the other party and is dropped. Agent
//     messages leave agent_id empty (the transcript's agent wrote them);
//   - started_at/ended_at: the earliest and latest message time; without
//     messages, of any event time; without any, the batch's creation time
//     (BatchID is "woz_<Unix seconds>"). Such a transcript has no messages
//     and Validate rejects it on "messages";
//   - tags: see Tags; csat: see CSAT;
//   - attributes: batch_id and completion (the CompletionLevel).
func Convert(d Dialogue) transcript.Transcript {
	t := transcript.Transcript{
		ExternalID:   ExternalID(&d),
		AgentID:      d.AnonymizedWizardWorkerID,
		Channel:      "chat",
		CustomerID:   d.AnonymizedUserWorkerID,
		CustomerTier: "regular",
		Tags:         Tags(&d),
		CSAT:         CSAT(&d),
		Attributes:   map[string]string{"batch_id": d.BatchID, "completion": d.CompletionLevel},
	}
	var first, last int64
	for i := range d.Events {
		e := &d.Events[i]
		var role transcript.Role
		switch e.kind() {
		case kindCustomer:
			role = transcript.RoleCustomer
		case kindAgent:
			role = transcript.RoleAgent
		default:
			continue
		}
		t.Messages = append(t.Messages, transcript.Message{Role: role, Text: e.Text, SentAt: unix(e.UnixTime)})
		first, last = spread(first, last, e.UnixTime)
	}
	if len(t.Messages) == 0 {
		for i := range d.Events {
			first, last = spread(first, last, d.Events[i].UnixTime)
		}
	}
	if first == 0 {
		first, _ = strconv.ParseInt(strings.TrimPrefix(d.BatchID, "woz_"), 10, 64)
		last = first
	}
	t.StartedAt, t.EndedAt = unix(first), unix(last)
	return t
}

// spread widens [first, last] to include ts; 0 means unset.
func spread(first, last, ts int64) (int64, int64) {
	if ts == 0 {
		return first, last
	}
	if first == 0 || ts < first {
		first = ts
	}
	return first, max(last, ts)
}

func unix(sec int64) time.Time { return time.Unix(sec, 0).UTC() }

// Tags returns the dialogue's domains ("bank", "hotel", ...) and
// "complaint" when the wizard reported an aggressive or annoyed user.
//
// 145 trivia dialogues have a null domain; for them the tasks of the
// wizard's capabilities stand in ("trivia").
func Tags(d *Dialogue) []string {
	var tags []string
	for _, dom := range d.Scenario.Domains {
		if dom != "" && !slices.Contains(tags, dom) {
			tags = append(tags, dom)
		}
	}
	if len(tags) == 0 {
		for _, c := range d.Scenario.WizardCapabilities {
			if c.Task != "" && !slices.Contains(tags, c.Task) {
				tags = append(tags, c.Task)
			}
		}
	}
	if Complaint(d) {
		tags = append(tags, "complaint")
	}
	return tags
}

// Complaint reports whether the wizard answered yes to "Did the user become
// aggressive or annoyed during the dialogue?" (the question has three
// wordings in the corpus; all contain "aggressive or annoyed"). The user
// may have been told to act so: for quality inspection that is still a
// conversation with an upset customer.
func Complaint(d *Dialogue) bool {
	for _, a := range d.WizardQuestionnaire {
		if a.Answer && strings.Contains(strings.ToLower(a.Question), "aggressive or annoyed") {
			return true
		}
	}
	return false
}

// CSAT maps the user's questionnaire onto a 1..5 rating; 0 (no rating)
// when the user answered none. Every question is phrased so that "yes" is
// the good outcome ("Did the assistant stay calm and helpful?", "Did the
// assistant book your flight?", "Did you enjoy this task?"), so the share of
// yes answers, p, becomes 1 + 4p rounded half up: one answer gives 1 or 5,
// two give 1, 3 or 5, three give 1, 2, 4 or 5.
func CSAT(d *Dialogue) int {
	n := len(d.UserQuestionnaire)
	if n == 0 {
		return 0
	}
	yes := 0
	for _, a := range d.UserQuestionnaire {
		if a.Answer {
			yes++
		}
	}
	return 1 + (8*yes+n)/(2*n) // 1 + floor(4·yes/n + 1/2)
}

// Teams is how many teams Agents spreads the wizards over.
const Teams = 5

// CollectionStart is the first day of the STAR collection (2020-05-12);
// hire dates are spread over the year before it.
var CollectionStart = time.Date(2020, 5, 12, 0, 0, 0, 0, time.UTC)

// Agents returns a directory entry for every wizard in ds, sorted by id.
// STAR has no directory, so the entries are invented but deterministic,
// each from a hash of the wizard id: name "Wizard <first 8 chars>"; team
// "team-1".."team-5" with supervisor "sup-<team number>"; hired_on 1 to
// 365 days before CollectionStart, so about a quarter are new hires (under
// 90 days) during the collection weeks.
func Agents(ds []Dialogue) []importfile.Agent {
	var ids []string
	seen := make(map[string]bool)
	for i := range ds {
		id := ds[i].AnonymizedWizardWorkerID
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	agents := make([]importfile.Agent, len(ids))
	for i, id := range ids {
		team := 1 + hash("team", id)%Teams
		days := 1 + hash("hired", id)%365
		agents[i] = importfile.Agent{
			AgentID:      id,
			Name:         "Wizard " + id[:min(8, len(id))],
			TeamID:       fmt.Sprintf("team-%d", team),
			SupervisorID: fmt.Sprintf("sup-%d", team),
			HiredOn:      CollectionStart.AddDate(0, 0, -int(days)).Format(time.DateOnly),
			Active:       new(true),
		}
	}
	return agents
}

// hash is FNV-1a of purpose and id, so that team and hire date vary
// independently.
func hash(purpose, id string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(purpose))
	h.Write([]byte{0})
	h.Write([]byte(id))
	return h.Sum32()
}

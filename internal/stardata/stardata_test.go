package stardata

import (
	"bufio"
	"bytes"
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"qa-sampling/internal/importfile"
	"qa-sampling/transcript"
)

var (
	subsetOnce sync.Once
	subset     []Dialogue
	subsetErr  error
)

func loadSubset(t *testing.T) []Dialogue {
	t.Helper()
	subsetOnce.Do(func() { subset, subsetErr = LoadSubset() })
	if subsetErr != nil {
		t.Fatal(subsetErr)
	}
	return subset
}

// countEvents counts the events of d of the given kinds.
func countEvents(d *Dialogue, kinds ...int) int {
	n := 0
	for i := range d.Events {
		if slices.Contains(kinds, d.Events[i].kind()) {
			n++
		}
	}
	return n
}

// The subset is what testdata/star/README.md says it is.
func TestSubsetMatchesREADME(t *testing.T) {
	ds := loadSubset(t)
	if len(ds) != 491 {
		t.Fatalf("%d dialogues; README says 491", len(ds))
	}
	batches := map[string]int{}
	var noMessage, noAgent, complaints int
	for i := range ds {
		d := &ds[i]
		if i > 0 && d.DialogueID <= ds[i-1].DialogueID {
			t.Fatalf("dialogue %d after %d: not in ascending order", d.DialogueID, ds[i-1].DialogueID)
		}
		if first, ok := batches[d.BatchID]; !ok {
			batches[d.BatchID] = d.DialogueID
		} else if d.DialogueID%14 != 0 {
			t.Errorf("dialogue %d is neither a multiple of 14 nor the first of batch %s (that is %d)", d.DialogueID, d.BatchID, first)
		}
		if countEvents(d, kindCustomer, kindAgent) == 0 {
			noMessage++
		}
		if countEvents(d, kindAgent) == 0 {
			noAgent++
		}
		if Complaint(d) {
			complaints++
		}
	}
	if len(batches) != 17 || noMessage != 27 || noAgent != 37 || complaints != 15 {
		t.Fatalf("%d batches, %d without messages, %d without agent message, %d complaints; README says 17, 27, 37, 15",
			len(batches), noMessage, noAgent, complaints)
	}
}

// Every converted dialogue passes Validate except those without any
// message, which Validate must reject on "messages"; and Derive agrees with
// the independent ExpectedMetrics on every one.
func TestConvertValidateDerive(t *testing.T) {
	ds := loadSubset(t)
	var rejected, textBytes, bodyBytes int
	csats := map[int]int{}
	for i := range ds {
		d := &ds[i]
		tr := Convert(*d)
		fe := transcript.Validate(&tr, transcript.DefaultLimits(), time.Now())
		if countEvents(d, kindCustomer, kindAgent) == 0 {
			rejected++
			if fe == nil || fe.First().Field != "messages" {
				t.Errorf("dialogue %d has no messages: Validate = %v; want a messages error", d.DialogueID, fe)
			}
		} else if fe != nil {
			t.Errorf("dialogue %d: %v", d.DialogueID, fe)
		}

		want := ExpectedMetrics(*d)
		if got := transcript.Derive(&tr); got != want {
			t.Errorf("dialogue %d: Derive\n got %+v\nwant %+v", d.DialogueID, got, want)
		}
		if fe != nil {
			continue
		}
		p := transcript.Prepare(tr)
		if p.Metrics != want {
			t.Errorf("dialogue %d: Prepare metrics %+v; want %+v", d.DialogueID, p.Metrics, want)
		}
		for _, m := range tr.Messages {
			textBytes += len(m.Text)
		}
		bodyBytes += len(p.Body)
		csats[tr.CSAT]++
	}
	t.Logf("%d dialogues, %d rejected for having no messages; %d bytes of message text stored in %d bytes of body (%.0f%%); csat counts %v",
		len(ds), rejected, textBytes, bodyBytes, 100*float64(bodyBytes)/float64(textBytes), csats)
}

func TestConvertDialogue1(t *testing.T) {
	ds := loadSubset(t)
	if ds[0].DialogueID != 1 {
		t.Fatalf("first dialogue is %d", ds[0].DialogueID)
	}
	tr := Convert(ds[0])
	at := func(sec int64) time.Time { return time.Unix(sec, 0).UTC() }
	if tr.ExternalID != "star-1" || tr.AgentID != "ab9f01dc-2cad-988e-9e96-f7509ea2a536" ||
		tr.CustomerID != "714682ad-f218-f762-7605-00e7c4baee47" || tr.Channel != "chat" || tr.CustomerTier != "regular" {
		t.Errorf("ids: %+v", tr)
	}
	if !tr.StartedAt.Equal(at(1589375697)) || !tr.EndedAt.Equal(at(1589375962)) {
		t.Errorf("span %v .. %v", tr.StartedAt, tr.EndedAt)
	}
	roles := ""
	for _, m := range tr.Messages {
		roles += m.Role.String()[:1]
	}
	if roles != "cacacaca" {
		t.Errorf("roles %q; want cacacaca", roles)
	}
	if m := tr.Messages[5]; m.Text != "Yes. It must be before bed or it will not be effective." || !m.SentAt.Equal(at(1589375904)) {
		t.Errorf("message 5 (a typed wizard reply): %+v", m)
	}
	if !slices.Equal(tr.Tags, []string{"doctor"}) || tr.CSAT != 5 || tr.TransferCount != 0 {
		t.Errorf("tags %v csat %d transfers %d", tr.Tags, tr.CSAT, tr.TransferCount)
	}
	if want := map[string]string{"batch_id": "woz_1589355382", "completion": "Complete"}; !maps.Equal(tr.Attributes, want) {
		t.Errorf("attributes %v", tr.Attributes)
	}
	// Replies after 17, 84, 43 and 13 s.
	want := transcript.Metrics{MessageCount: 8, AgentMessageCount: 4, CustomerMessageCount: 4,
		FirstResponse: 17 * time.Second, MeanAgentResponse: 39250 * time.Millisecond, AgentReplyCount: 4, HandleTime: 265 * time.Second}
	if got := ExpectedMetrics(ds[0]); got != want {
		t.Errorf("ExpectedMetrics\n got %+v\nwant %+v", got, want)
	}
}

func TestConvertWithoutMessages(t *testing.T) {
	d := Dialogue{DialogueID: 7, BatchID: "woz_1589355382", AnonymizedWizardWorkerID: "w", Events: []Event{
		{Agent: "UserGuide", Action: "instruct", UnixTime: 1589375664},
		{Agent: "Wizard", Action: "request_suggestions", Text: "draft", UnixTime: 1589375700},
		{Agent: "KnowledgeBase", Action: "return_item"},
	}}
	tr := Convert(d)
	if len(tr.Messages) != 0 || tr.StartedAt.Unix() != 1589375664 || tr.EndedAt.Unix() != 1589375700 {
		t.Errorf("event times: %d messages, %v .. %v", len(tr.Messages), tr.StartedAt, tr.EndedAt)
	}
	d.Events = nil
	tr = Convert(d)
	if tr.StartedAt.Unix() != 1589355382 || !tr.EndedAt.Equal(tr.StartedAt) {
		t.Errorf("no events: span %v .. %v; want the batch time", tr.StartedAt, tr.EndedAt)
	}
	if fe := transcript.Validate(&tr, transcript.DefaultLimits(), time.Now()); fe == nil || fe.First().Field != "messages" {
		t.Errorf("Validate = %v; want a messages error", fe)
	}
}

func TestCSAT(t *testing.T) {
	cases := []struct {
		answers []bool
		want    int
	}{
		{nil, 0},
		{[]bool{true}, 5},
		{[]bool{false}, 1},
		{[]bool{true, true}, 5},
		{[]bool{true, false}, 3},
		{[]bool{false, false}, 1},
		{[]bool{true, true, true}, 5},
		{[]bool{true, false, true}, 4},
		{[]bool{false, true, false}, 2},
		{[]bool{false, false, false}, 1},
		{[]bool{true, true, true, false}, 4},
	}
	for _, c := range cases {
		var d Dialogue
		for _, a := range c.answers {
			d.UserQuestionnaire = append(d.UserQuestionnaire, Answer{Question: "Did the assistant stay calm and helpful?", Answer: a})
		}
		if got := CSAT(&d); got != c.want {
			t.Errorf("CSAT(%v) = %d; want %d", c.answers, got, c.want)
		}
	}
}

func TestTags(t *testing.T) {
	annoyed := []Answer{
		{Question: "Did the user change his/her mind about what he/she wants at any time?", Answer: true},
		{Question: "Did the user become aggressive or annoyed during the dialogue? (Note: some users may be instructed to be annoying.)", Answer: true},
	}
	calm := []Answer{{Question: "...become aggressive or annoyed during the dialogue?", Answer: false}}
	cases := []struct {
		name string
		d    Dialogue
		want []string
	}{
		{"domains", Dialogue{Scenario: Scenario{Domains: []string{"bank", "restaurant", "bank"}}, WizardQuestionnaire: calm},
			[]string{"bank", "restaurant"}},
		{"complaint", Dialogue{Scenario: Scenario{Domains: []string{"hotel"}}, WizardQuestionnaire: annoyed},
			[]string{"hotel", "complaint"}},
		{"null domain uses the task", Dialogue{Scenario: Scenario{Domains: []string{""},
			WizardCapabilities: []Capability{{Task: "trivia"}}}}, []string{"trivia"}},
		{"short question wording", Dialogue{Scenario: Scenario{Domains: []string{"ride"}},
			WizardQuestionnaire: []Answer{{Question: "...become aggressive or annoyed during the dialogue?", Answer: true}}},
			[]string{"ride", "complaint"}},
	}
	for _, c := range cases {
		if got := Tags(&c.d); !slices.Equal(got, c.want) {
			t.Errorf("%s: Tags = %v; want %v", c.name, got, c.want)
		}
	}
}

// ExpectedMetrics on hand-made events: drafts, API calls and guide
// instructions are invisible; a burst waits from its first message.
func TestExpectedMetrics(t *testing.T) {
	ev := func(agent, action string, ts int64) Event {
		return Event{Agent: agent, Action: action, Text: "x", UnixTime: ts}
	}
	d := Dialogue{AnonymizedWizardWorkerID: "w", Events: []Event{
		ev("UserGuide", "instruct", 90),
		ev("Wizard", "pick_suggestion", 100), // greeting: no reply
		ev("User", "utter", 110),
		ev("Wizard", "request_suggestions", 115), // draft: never seen
		ev("User", "utter", 118),
		ev("Wizard", "query", 120),
		{Agent: "KnowledgeBase", Action: "return_item"},
		ev("Wizard", "utter", 130), // 20 s after 110
		ev("Wizard", "pick_suggestion", 131),
		ev("User", "utter", 140),
		ev("Wizard", "pick_suggestion", 141), // 1 s
		ev("User", "utter", 150),             // unanswered
		ev("User", "complete", 160),
	}}
	want := transcript.Metrics{MessageCount: 8, AgentMessageCount: 4, CustomerMessageCount: 4,
		FirstResponse: 20 * time.Second, MeanAgentResponse: 10500 * time.Millisecond, AgentReplyCount: 2, HandleTime: 50 * time.Second}
	if got := ExpectedMetrics(d); got != want {
		t.Fatalf("ExpectedMetrics\n got %+v\nwant %+v", got, want)
	}
	tr := Convert(d)
	if got := transcript.Derive(&tr); got != want {
		t.Fatalf("Derive disagrees\n got %+v\nwant %+v", got, want)
	}
	d.Events = []Event{ev("User", "utter", 10), ev("User", "utter", 12)}
	if got := ExpectedMetrics(d); got.FirstResponse != transcript.NoResponse || got.MeanAgentResponse != transcript.NoResponse || got.AgentReplyCount != 0 {
		t.Fatalf("no agent message: %+v", got)
	}
}

func TestAgents(t *testing.T) {
	ds := loadSubset(t)
	agents := Agents(ds)
	if !reflect.DeepEqual(agents, Agents(ds)) { // Active is a pointer
		t.Fatal("Agents is not deterministic")
	}
	byID := map[string]importfile.Agent{}
	teams := map[string]int{}
	newHires := 0
	for _, a := range agents {
		byID[a.AgentID] = a
		teams[a.TeamID]++
		if fe := transcript.ValidateAgent(transcript.AgentFields{AgentID: a.AgentID, Name: a.Name, TeamID: a.TeamID, SupervisorID: a.SupervisorID, HiredOn: a.HiredOn}, transcript.DefaultLimits()); fe != nil {
			t.Errorf("%s: %v", a.AgentID, fe)
		}
		if a.Name != "Wizard "+a.AgentID[:8] || a.Active == nil || !*a.Active {
			t.Errorf("%+v", a)
		}
		if a.SupervisorID != "sup-"+strings.TrimPrefix(a.TeamID, "team-") {
			t.Errorf("%s: supervisor %s does not lead %s", a.AgentID, a.SupervisorID, a.TeamID)
		}
		hired, _ := time.Parse(time.DateOnly, a.HiredOn)
		if !hired.Before(CollectionStart) || hired.Before(CollectionStart.AddDate(-1, 0, -1)) {
			t.Errorf("%s hired on %s: not in the year before %s", a.AgentID, a.HiredOn, CollectionStart.Format(time.DateOnly))
		}
		if CollectionStart.Sub(hired) < 90*24*time.Hour {
			newHires++
		}
	}
	for i := range ds {
		if _, ok := byID[ds[i].AnonymizedWizardWorkerID]; !ok {
			t.Fatalf("no directory entry for wizard of dialogue %d", ds[i].DialogueID)
		}
	}
	if len(agents) != 77 || len(teams) != Teams || newHires == 0 || newHires == len(agents) {
		t.Fatalf("%d agents in %d teams, %d new hires; want 77 in %d teams, some new hires", len(agents), len(teams), newHires, Teams)
	}
	t.Logf("%d agents, per team %v, %d hired under 90 days before the collection", len(agents), teams, newHires)
}

// The import format written for the subset reads back to the converted
// transcripts, with the field names the import expects.
func TestWriteTranscriptsJSONL(t *testing.T) {
	ds := loadSubset(t)
	ts := make([]transcript.Transcript, len(ds))
	for i := range ds {
		ts[i] = Convert(ds[i])
	}
	var buf bytes.Buffer
	if err := importfile.WriteTranscriptsJSONL(&buf, ts); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&buf)
	sc.Buffer(nil, 1<<20)
	i := 0
	for ; sc.Scan(); i++ {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &raw); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		wantKeys := []string{"agent_id", "attributes", "channel", "csat", "customer_id", "customer_tier", "ended_at",
			"external_id", "messages", "started_at", "tags", "transfer_count"}
		if ts[i].CSAT == 0 {
			wantKeys = slices.DeleteFunc(wantKeys, func(k string) bool { return k == "csat" })
		}
		if keys := slices.Sorted(maps.Keys(raw)); !slices.Equal(keys, wantKeys) {
			t.Fatalf("line %d: keys %v; want %v", i+1, keys, wantKeys)
		}
		var rec importfile.TranscriptRecord
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		if got := fromRecord(t, rec); !sameTranscript(got, ts[i]) {
			t.Fatalf("line %d does not read back:\n got %+v\nwant %+v", i+1, got, ts[i])
		}
	}
	if i != len(ts) {
		t.Fatalf("%d lines for %d transcripts", i, len(ts))
	}
}

func TestWriteAgentsJSONL(t *testing.T) {
	agents := []importfile.Agent{{AgentID: "a-1", Name: "Wizard a-1", TeamID: "team-2", SupervisorID: "sup-2", HiredOn: "2020-01-31", Active: new(true)}}
	var buf bytes.Buffer
	if err := importfile.WriteAgentsJSONL(&buf, agents); err != nil {
		t.Fatal(err)
	}
	want := `{"agent_id":"a-1","name":"Wizard a-1","team_id":"team-2","supervisor_id":"sup-2","hired_on":"2020-01-31","active":true}` + "\n"
	if buf.String() != want {
		t.Fatalf("got %s want %s", buf.String(), want)
	}
}

// fromRecord parses the import format back, as an importer would.
func fromRecord(t *testing.T, r importfile.TranscriptRecord) transcript.Transcript {
	t.Helper()
	parse := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	roles := map[string]transcript.Role{"agent": transcript.RoleAgent, "customer": transcript.RoleCustomer,
		"bot": transcript.RoleBot, "system": transcript.RoleSystem}
	tr := transcript.Transcript{
		ExternalID: r.ExternalID, AgentID: r.AgentID, Channel: r.Channel, CustomerID: r.CustomerID,
		CustomerTier: r.CustomerTier, StartedAt: parse(r.StartedAt), EndedAt: parse(r.EndedAt),
		Tags: r.Tags, TransferCount: int(r.TransferCount), Attributes: r.Attributes,
	}
	if r.CSAT != nil {
		tr.CSAT = int(*r.CSAT)
	}
	for _, m := range r.Messages {
		role, ok := roles[m.Role]
		if !ok {
			t.Fatalf("unknown role %q", m.Role)
		}
		tr.Messages = append(tr.Messages, transcript.Message{Role: role, Text: m.Text, SentAt: parse(m.SentAt), AgentID: m.AgentID})
	}
	return tr
}

func sameTranscript(a, b transcript.Transcript) bool {
	return a.ExternalID == b.ExternalID && a.AgentID == b.AgentID && a.Channel == b.Channel &&
		a.CustomerID == b.CustomerID && a.CustomerTier == b.CustomerTier &&
		a.StartedAt.Equal(b.StartedAt) && a.EndedAt.Equal(b.EndedAt) &&
		slices.Equal(a.Tags, b.Tags) && a.CSAT == b.CSAT && a.TransferCount == b.TransferCount &&
		maps.Equal(a.Attributes, b.Attributes) &&
		slices.EqualFunc(a.Messages, b.Messages, func(x, y transcript.Message) bool {
			return x.Role == y.Role && x.Text == y.Text && x.SentAt.Equal(y.SentAt) && x.AgentID == y.AgentID
		})
}

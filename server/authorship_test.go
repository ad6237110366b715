package server

import (
	"testing"
	"time"

	"qa-sampling/isoweek"
	"qa-sampling/store"
	"qa-sampling/transcript"
)

// A chat counts for each agent who wrote in it, and only for them (SPEC §4,
// Transfers): its owner, who wrote nothing, gets no pick of it; the agent
// who answered in their place does.
func TestChatCountsOnlyForItsWriters(t *testing.T) {
	srv, _ := samplingFixture(t)
	job, ctx := srv.Sampling, t.Context()
	if _, err := job.Store.UpsertAgents(ctx, []store.Agent{
		{AgentID: "agent-owner", Name: "Owner", TeamID: "team-1", SupervisorID: "sup-a", HiredOn: "2020-01-01", Active: true},
		{AgentID: "agent-writer", Name: "Writer", TeamID: "team-1", SupervisorID: "sup-b", HiredOn: "2020-01-01", Active: true},
	}); err != nil {
		t.Fatal(err)
	}
	start := flowChatStart.Add(30 * time.Minute)
	handed := transcript.Prepare(transcript.Transcript{
		ExternalID: "handed", AgentID: "agent-owner", Channel: "chat", TransferCount: 1,
		StartedAt: start, EndedAt: start.Add(time.Minute),
		Messages: []transcript.Message{
			{Role: transcript.RoleCustomer, Text: "我要退款", SentAt: start.Add(time.Second)},
			{Role: transcript.RoleAgent, AgentID: "agent-writer", Text: "您好，我来处理", SentAt: start.Add(20 * time.Second)},
		},
	})
	if _, err := job.Store.UpsertTranscripts(ctx, []*transcript.Prepared{handed}); err != nil {
		t.Fatal(err)
	}
	week, err := isoweek.Parse(flowWeek)
	if err != nil {
		t.Fatal(err)
	}
	run, _, err := job.RunWeek(ctx, week, "manual:lead")
	if err != nil {
		t.Fatal(err)
	}
	for agent, want := range map[string]int{"agent-owner": 0, "agent-writer": 1} {
		picks, err := job.Store.ListPicks(ctx, store.PickFilter{RunID: run.ID, AgentID: agent})
		if err != nil {
			t.Fatal(err)
		}
		if len(picks) != want || (want == 1 && picks[0].ExternalID != "handed") {
			t.Errorf("%s has picks %+v; want %d of \"handed\"", agent, picks, want)
		}
	}
}

package server

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/store"
)

// Chats pushed after a week's run were never sampled. A top-up of the run
// picks from them what the run's quotas leave, nothing twice; a preview of
// the run week shows what it would add; GetRun lists the top-ups.
func TestTopUpPicksFromLateChatsOnly(t *testing.T) {
	env := startEnv(t, DefaultConfig())
	admin, ingestCtx := env.as(store.RoleAdmin, "lead"), env.as(store.RoleIngest, "platform")
	ingest, sampling := qav1.NewIngestServiceClient(env.conn), qav1.NewSamplingServiceClient(env.conn)
	agents := []*qav1.Agent{}
	for _, id := range []string{"agent-a", "agent-b", "agent-c"} {
		agents = append(agents, &qav1.Agent{AgentId: id, Name: id, TeamId: "team-1", SupervisorId: "sup-" + id, HiredOn: "2020-01-01"})
	}
	if _, err := ingest.UpsertAgents(ingestCtx, &qav1.UpsertAgentsRequest{Agents: agents}); err != nil {
		t.Fatal(err)
	}
	n := 0
	push := func(agent string, count int) map[string]bool {
		t.Helper()
		ids := map[string]bool{}
		for range count {
			n++
			id := fmt.Sprintf("c%03d", n)
			ids[id] = true
			chat := testChat(id, agent, flowChatStart.Add(time.Duration(n)*time.Hour))
			if _, err := ingest.PushTranscript(ingestCtx, &qav1.PushTranscriptRequest{Transcript: chat}); err != nil {
				t.Fatal(err)
			}
		}
		return ids
	}
	topUp := func() *qav1.RunWeekResponse {
		t.Helper()
		r, err := sampling.RunWeek(admin, &qav1.RunWeekRequest{Week: flowWeek, TopUp: true})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	if _, err := sampling.RunWeek(admin, &qav1.RunWeekRequest{Week: flowWeek, TopUp: true}); status.Code(err) != codes.FailedPrecondition ||
		!strings.Contains(err.Error(), "run it first") {
		t.Errorf("top-up of a week without a run: %v, want FAILED_PRECONDITION saying to run it first", err)
	}
	push("agent-a", 2)
	push("agent-b", 8)
	run, err := sampling.RunWeek(admin, &qav1.RunWeekRequest{Week: flowWeek})
	if err != nil {
		t.Fatal(err)
	}
	if run.GetRun().GetPicks() != 7 {
		t.Fatalf("run picked %d, want 2 of agent-a and 5 of agent-b", run.GetRun().GetPicks())
	}
	before := pickSet(t, sampling, admin, run.GetRun().GetId())

	late := push("agent-a", 6)
	for id := range push("agent-b", 3) {
		late[id] = true
	}
	for id := range push("agent-c", 4) {
		late[id] = true
	}
	preview, err := sampling.PreviewWeek(admin, &qav1.PreviewWeekRequest{Week: flowWeek})
	if err != nil {
		t.Fatal(err)
	}
	if preview.GetTopUpOfRun() != run.GetRun().GetId() {
		t.Errorf("preview of the run week: top_up_of_run %d, want run %d", preview.GetTopUpOfRun(), run.GetRun().GetId())
	}

	first := topUp()
	if got := first.GetTopUp(); got.GetSeq() != 1 || got.GetPicks() != 7 || got.GetConsidered() != 13 || got.GetShortfalls() != 1 ||
		got.GetTrigger() != "manual:lead" {
		t.Errorf("first top-up %v; want seq 1, 7 picks (3 of agent-a, 4 of agent-c), 13 chats read, agent-c short", got)
	}
	after := pickSet(t, sampling, admin, run.GetRun().GetId())
	var added []string
	for k, p := range after {
		if old, ok := before[k]; ok {
			if old != p {
				t.Errorf("pick %s changed: %s -> %s", k, old, p)
			}
			continue
		}
		if !late[strings.Split(k, "/")[0]] {
			t.Errorf("top-up picked %s, not a late chat", k)
		}
		added = append(added, p)
	}
	if !sameSet(added, pickSummary(preview.GetPicks())) {
		t.Errorf("top-up added %v; the preview showed %v", added, pickSummary(preview.GetPicks()))
	}
	for _, p := range added {
		if strings.Contains(p, "/agent-a/") && !strings.Contains(p, "/random/3/") && !strings.Contains(p, "/random/4/") && !strings.Contains(p, "/random/5/") {
			t.Errorf("agent-a's top-up pick %s does not rank after the run's 1 and 2", p)
		}
	}

	if second := topUp(); second.GetTopUp().GetSeq() != 2 || second.GetTopUp().GetPicks() != 0 || second.GetTopUp().GetConsidered() != 0 {
		t.Errorf("second top-up with no new chat: %v, want seq 2 adding nothing", second.GetTopUp())
	}
	got, err := sampling.GetRun(admin, &qav1.GetRunRequest{Id: run.GetRun().GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if ups := got.GetRun().GetTopUps(); len(ups) != 2 || got.GetRun().GetTotalPicks() != 14 || got.GetRun().GetPicks() != 7 {
		t.Errorf("GetRun: top-ups %v, picks %d, total %d; want 2 top-ups, 7 + 7", ups, got.GetRun().GetPicks(), got.GetRun().GetTotalPicks())
	}
	events, err := env.store.ListAudit(t.Context(), store.AuditFilter{Entity: "run"})
	if err != nil {
		t.Fatal(err)
	}
	topUps := 0
	for _, e := range events {
		if e.Action == "run.top_up" {
			topUps++
		}
	}
	if topUps != 2 {
		t.Errorf("%d run.top_up audit events, want 2", topUps)
	}
}

// Replicas topping up at once take turns on the run's claim: the late
// chats are picked once.
func TestTopUpConcurrent(t *testing.T) {
	env := startEnv(t, DefaultConfig())
	admin, ingestCtx := env.as(store.RoleAdmin, "lead"), env.as(store.RoleIngest, "platform")
	ingest, sampling := qav1.NewIngestServiceClient(env.conn), qav1.NewSamplingServiceClient(env.conn)
	if _, err := ingest.UpsertAgents(ingestCtx, &qav1.UpsertAgentsRequest{Agents: []*qav1.Agent{
		{AgentId: "agent-a", Name: "A", TeamId: "team-1", SupervisorId: "sup-a", HiredOn: "2020-01-01"},
	}}); err != nil {
		t.Fatal(err)
	}
	push := func(from, to int) {
		for i := from; i < to; i++ {
			chat := testChat(fmt.Sprintf("c%02d", i), "agent-a", flowChatStart.Add(time.Duration(i)*time.Hour))
			if _, err := ingest.PushTranscript(ingestCtx, &qav1.PushTranscriptRequest{Transcript: chat}); err != nil {
				t.Fatal(err)
			}
		}
	}
	push(0, 1)
	run, err := sampling.RunWeek(admin, &qav1.RunWeekRequest{Week: flowWeek})
	if err != nil {
		t.Fatal(err)
	}
	push(1, 20)
	var wg sync.WaitGroup
	added := make([]int32, 4)
	for i := range added {
		wg.Go(func() {
			r, err := sampling.RunWeek(admin, &qav1.RunWeekRequest{Week: flowWeek, TopUp: true})
			if err != nil {
				t.Error(err)
				return
			}
			added[i] = r.GetTopUp().GetPicks()
		})
	}
	wg.Wait()
	total := int32(0)
	for _, n := range added {
		total += n
	}
	if total != 4 {
		t.Errorf("top-ups added %v, want 4 in all (agent-a's quota of 5 less the run's 1)", added)
	}
	if picks := pickSet(t, sampling, admin, run.GetRun().GetId()); len(picks) != 5 {
		t.Errorf("run has %d picks, want 5", len(picks))
	}
}

// pickSet is the run's picks by chat and agent, each summarised.
func pickSet(t *testing.T, sampling qav1.SamplingServiceClient, admin context.Context, runID int64) map[string]string {
	t.Helper()
	picks, err := sampling.ListPicks(admin, &qav1.ListPicksRequest{RunId: runID, PageSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, p := range picks.GetPicks() {
		k := p.GetExternalId() + "/" + p.GetAgentId()
		if _, dup := out[k]; dup {
			t.Errorf("%s picked twice", k)
		}
		out[k] = pickSummary([]*qav1.Pick{p})[0]
	}
	return out
}

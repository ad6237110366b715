package server

import (
	"testing"
	"time"

	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/store"
)

// TestChecksAtIngest: the default set is stored as version 1 on first
// use; a pushed chat gets its hits; an update takes effect for the next
// push at once on the server that stored it, and with checks off nothing
// is stored; bad sets and unknown check: rules are refused naming the
// field.
func TestChecksAtIngest(t *testing.T) {
	for _, on := range []bool{true, false} {
		cfg := DefaultConfig()
		cfg.Ingest.Checks = on
		env := startEnv(t, cfg)
		admin := env.as(store.RoleAdmin, "lead")
		ingest := qav1.NewIngestServiceClient(env.conn)
		checks := qav1.NewCheckServiceClient(env.conn)
		if _, err := ingest.UpsertAgents(admin, &qav1.UpsertAgentsRequest{Agents: []*qav1.Agent{{AgentId: "a1"}}}); err != nil {
			t.Fatal(err)
		}
		start := time.Date(2026, 11, 16, 9, 0, 0, 0, time.UTC)
		push := func(id, agentText string) []*qav1.CheckHit {
			t.Helper()
			c := testChat(id, "a1", start)
			c.Messages[1].Text = agentText
			if _, err := ingest.PushTranscript(admin, &qav1.PushTranscriptRequest{Transcript: c}); err != nil {
				t.Fatal(err)
			}
			got, err := ingest.GetTranscript(admin, &qav1.GetTranscriptRequest{ExternalId: id})
			if err != nil {
				t.Fatal(err)
			}
			return got.GetHints()
		}

		hints := push("c1", "您好，這個我不知道。再見")
		if !on {
			if len(hints) != 0 {
				t.Fatalf("checks off: hints %v", hints)
			}
			continue
		}
		if len(hints) != 1 || hints[0].GetCheck() != "forbidden_phrase" || hints[0].GetMessageIndex() != 1 ||
			hints[0].GetMatched() != "不知道" || hints[0].GetCheckSetVersion() != 1 {
			t.Fatalf("hints %v", hints)
		}

		set, err := checks.GetCheckSet(admin, &qav1.GetCheckSetRequest{})
		if err != nil || set.GetCheckSet().GetVersion() != 1 || set.GetCheckSet().GetCreatedBy() != "default" {
			t.Fatalf("GetCheckSet = %v, %v", set, err)
		}
		s := set.GetCheckSet()
		s.ForbiddenPhrases = append(s.ForbiddenPhrases, "麻煩")
		s.Disabled = []string{"no_closing"}
		if _, err := checks.ValidateCheckSet(admin, &qav1.ValidateCheckSetRequest{CheckSet: s}); err != nil {
			t.Fatal(err)
		}
		updated, err := checks.UpdateCheckSet(admin, &qav1.UpdateCheckSetRequest{CheckSet: s})
		if err != nil || updated.GetCheckSet().GetVersion() != 2 || updated.GetCheckSet().GetCreatedBy() != "lead" {
			t.Fatalf("UpdateCheckSet = %v, %v", updated, err)
		}
		if hints := push("c2", "您好，真麻烦"); len(hints) != 1 || hints[0].GetPhrase() != "麻煩" || hints[0].GetCheckSetVersion() != 2 {
			t.Fatalf("after the update: hints %v", hints)
		}

		bad := &qav1.CheckSet{Sla: []*qav1.ChannelSla{{Channel: "chat", FirstResponseSeconds: -1}}}
		_, err = checks.UpdateCheckSet(admin, &qav1.UpdateCheckSetRequest{CheckSet: bad})
		wantField(t, err, "check_set.sla[0].first_response_seconds")
		_, err = checks.GetCheckSet(admin, &qav1.GetCheckSetRequest{Version: -1})
		wantField(t, err, "version")
		_, err = qav1.NewSamplingServiceClient(env.conn).ValidatePolicy(admin, &qav1.ValidatePolicyRequest{Policy: &qav1.Policy{
			RandomPerAgent: 3, TargetedPerAgent: 2, TimeZone: "Asia/Shanghai", HandleTimePercentile: 0.9,
			Rules: []string{"complaint", "check:no_greting"}, ComplaintTags: []string{"投诉"},
		}})
		wantField(t, err, "policy.rules[1]")
	}
}

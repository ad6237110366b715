package storetest

import (
	"maps"
	"testing"
	"time"

	"qa-sampling/store"
	"qa-sampling/transcript"
)

// testScanWeekOptions checks what ScanOptions add to a row, and that
// without them a row has none of it.
func testScanWeekOptions(t *testing.T, s store.Store) {
	mustUpsertAgents(t, s, "a1")
	answered := ending("answered", "a1", weekFrom.Add(time.Hour))
	answered.Attributes = map[string]string{"shop": "旗舰店", "amount": "1200.50"}
	unanswered := ending("unanswered", "a1", weekFrom.Add(2*time.Hour))
	unanswered.Messages = unanswered.Messages[:4] // no agent message
	unanswered.Attributes = nil
	items := []*transcript.Prepared{prepare(answered), prepare(unanswered)}
	upsert(t, s, items...)

	scan := func(opts store.ScanOptions) map[string]store.SampleRow {
		t.Helper()
		out := map[string]store.SampleRow{}
		if err := s.ScanWeek(t.Context(), weekFrom, weekTo, opts, func(r store.SampleRow) error {
			out[r.ExternalID] = r
			return nil
		}); err != nil {
			t.Fatalf("ScanWeek(%+v): %v", opts, err)
		}
		if len(out) != len(items) {
			t.Fatalf("ScanWeek(%+v) returned %d rows, want %d", opts, len(out), len(items))
		}
		return out
	}
	for _, r := range scan(store.ScanOptions{}) {
		if r.Attributes != nil || r.FirstResponse != 0 || r.MeanAgentResponse != 0 {
			t.Errorf("%s without options: attributes %v, response times %v/%v; want none read", r.ExternalID,
				r.Attributes, r.FirstResponse, r.MeanAgentResponse)
		}
	}
	all := scan(store.ScanOptions{Attributes: true, ResponseTimes: true})
	for _, p := range items {
		r := all[p.ExternalID]
		if !maps.Equal(r.Attributes, p.Attributes) {
			t.Errorf("%s Attributes = %v, want %v", p.ExternalID, r.Attributes, p.Attributes)
		}
		if r.FirstResponse != p.Metrics.FirstResponse || r.MeanAgentResponse != p.Metrics.MeanAgentResponse {
			t.Errorf("%s response times = %v/%v, want %v/%v", p.ExternalID, r.FirstResponse, r.MeanAgentResponse,
				p.Metrics.FirstResponse, p.Metrics.MeanAgentResponse)
		}
		if r.AgentMessageCount != p.Metrics.AgentMessageCount || len(r.AgentIDs) == 0 || r.AgentIDs[0] != "a1" {
			t.Errorf("%s with options: the other fields changed: %+v", p.ExternalID, r)
		}
	}
	if r := all["answered"]; r.FirstResponse <= 0 || r.MeanAgentResponse <= 0 {
		t.Errorf("answered response times %v/%v, want positive", r.FirstResponse, r.MeanAgentResponse)
	}
	if r := all["unanswered"]; r.FirstResponse != transcript.NoResponse || r.MeanAgentResponse != transcript.NoResponse {
		t.Errorf("unanswered response times %v/%v, want NoResponse", r.FirstResponse, r.MeanAgentResponse)
	}
	// Each option alone.
	if r := scan(store.ScanOptions{Attributes: true})["answered"]; r.Attributes["shop"] != "旗舰店" || r.FirstResponse != 0 {
		t.Errorf("attributes only: %v, first response %v", r.Attributes, r.FirstResponse)
	}
	if r := scan(store.ScanOptions{ResponseTimes: true})["answered"]; r.Attributes != nil || r.FirstResponse <= 0 {
		t.Errorf("response times only: %v, first response %v", r.Attributes, r.FirstResponse)
	}
}

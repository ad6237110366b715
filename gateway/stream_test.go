package gateway_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"qa-sampling/store"
)

// week is the sampled week of the stream tests; its chats are on Tuesday.
const week = "2026-W46"

// finaliseOne samples a week for agent-a (supervisor sup-a) and returns a
// function that finalises a review of one of its chats, all over HTTP.
func (e *env) finaliseOne(t *testing.T) func() {
	t.Helper()
	ingest := e.token(store.RoleIngest, "platform")
	e.mustCall(ingest, "/qa.v1.IngestService/UpsertAgents",
		`{"agents": [{"agentId": "agent-a", "name": "A", "teamId": "team-1", "supervisorId": "sup-a", "hiredOn": "2020-01-01"}]}`)
	for i, id := range []string{"a1", "a2", "a3"} {
		start := time.Date(2026, 11, 10, 10+i, 0, 0, 0, time.UTC)
		chat := map[string]any{"transcript": map[string]any{
			"externalId": id, "agentId": "agent-a", "channel": "chat",
			"startedAt": start.Format(time.RFC3339), "endedAt": start.Add(time.Minute).Format(time.RFC3339),
			"messages": []map[string]any{
				{"role": "ROLE_CUSTOMER", "text": "我的订单还没有发货", "sentAt": start.Add(time.Second).Format(time.RFC3339)},
				{"role": "ROLE_AGENT", "text": "您好，预计明天发出", "sentAt": start.Add(20 * time.Second).Format(time.RFC3339)},
			},
		}}
		e.mustCall(ingest, "/qa.v1.IngestService/PushTranscript", mustJSON(t, chat))
	}
	e.mustCall(e.admin, "/qa.v1.SamplingService/UpsertInspector", `{"inspector": {"id": "insp-1", "name": "一号"}}`)
	e.mustCall(e.admin, "/qa.v1.SamplingService/RunWeek", `{"week": "`+week+`"}`)
	inspector := e.token(store.RoleInspector, "insp-1")
	return func() {
		t.Helper()
		queue := e.mustCall(inspector, "/qa.v1.ReviewService/ListQueue", `{}`)
		items, _ := queue["items"].([]any)
		if len(items) == 0 {
			t.Fatalf("empty queue: %v", queue)
		}
		id := items[0].(map[string]any)["id"]
		e.mustCall(inspector, "/qa.v1.ReviewService/OpenItem", mustJSON(t, map[string]any{"id": id}))
		e.mustCall(inspector, "/qa.v1.ReviewService/SubmitReview", mustJSON(t, map[string]any{
			"itemId": id, "final": true, "comment": "清楚",
			"ratings": []map[string]any{
				{"key": "attitude", "value": 4}, {"key": "knowledge", "value": 5}, {"key": "efficiency", "value": 3},
				{"key": "communication", "na": true}, {"key": "compliance", "value": 5},
			},
		}))
	}
}

// TestWatchFeedbackStreams: a supervisor watching over HTTP, as JSON lines
// or as server-sent events, receives the record of a review finalised
// after the stream opened.
func TestWatchFeedbackStreams(t *testing.T) {
	e := startEnv(t)
	finalise := e.finaliseOne(t)
	supervisor := e.token(store.RoleSupervisor, "sup-a")
	open := func(accept string) (*http.Response, context.CancelFunc) {
		ctx, cancel := context.WithCancel(t.Context())
		req := e.request(supervisor, "/qa.v1.FeedbackService/WatchFeedback", `{"fromNow": true}`).WithContext(ctx)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("WatchFeedback (%s): %d", accept, resp.StatusCode)
		}
		return resp, cancel
	}
	lines, stopLines := open("")
	defer stopLines()
	events, stopEvents := open("text/event-stream")
	defer stopEvents()
	if ct := lines.Header.Get("Content-Type"); ct != "application/x-ndjson" {
		t.Fatalf("default stream Content-Type %q", ct)
	}
	if ct := events.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("event stream Content-Type %q", ct)
	}
	if lines.Header.Get("X-Feedback-After-Id") == "" || lines.Header.Get("X-Request-Id") == "" {
		t.Fatalf("stream headers not forwarded: %v", lines.Header)
	}

	finalise()

	line, err := bufio.NewReader(lines.Body).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	var framed struct {
		Result struct {
			Record struct {
				AgentID string  `json:"agentId"`
				Score   float64 `json:"score"`
			} `json:"record"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(line), &framed); err != nil || framed.Result.Record.AgentID != "agent-a" {
		t.Fatalf("JSON line %q: %v", line, err)
	}
	sse := bufio.NewReader(events.Body)
	event, err := sse.ReadString('\n')
	if err != nil || !strings.HasPrefix(event, "data: {") || !strings.Contains(event, `"agent-a"`) {
		t.Fatalf("event %q: %v", event, err)
	}
	if blank, _ := sse.ReadString('\n'); blank != "\n" {
		t.Fatalf("event not ended by a blank line: %q", blank)
	}
	_ = lines.Body.Close()
	_ = events.Body.Close()
}

// TestWatchFeedbackRefusedBeforeItStarts: a stream refused before it is
// established is an ordinary error answer, not a 200 with an error line.
func TestWatchFeedbackRefusedBeforeItStarts(t *testing.T) {
	e := startEnv(t)
	supervisor := e.token(store.RoleSupervisor, "sup-a")
	code, body := e.call(supervisor, "/qa.v1.FeedbackService/WatchFeedback", `{"afterId": "-1"}`)
	wantError(t, code, body, 400, "INVALID_ARGUMENT", "after_id")
	code, body = e.call(e.token(store.RoleInspector, "insp-1"), "/qa.v1.FeedbackService/WatchFeedback", `{}`)
	wantError(t, code, body, 403, "PERMISSION_DENIED", "")
}

// TestWatchFeedbackEndsWhenItsTokenIsRevoked: a stream opened with a token
// later revoked gets no record finalised after the revocation, but an
// error, and ends (a console inbox left open after an admin ended the
// session must not keep receiving records).
func TestWatchFeedbackEndsWhenItsTokenIsRevoked(t *testing.T) {
	e := startEnv(t)
	finalise := e.finaliseOne(t)
	supervisor := e.token(store.RoleSupervisor, "sup-a")
	resp, err := http.DefaultClient.Do(e.request(supervisor, "/qa.v1.FeedbackService/WatchFeedback", `{"fromNow": true}`))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("WatchFeedback: %d", resp.StatusCode)
	}
	id := strings.SplitN(supervisor, "_", 3)[1]
	e.mustCall(e.admin, "/qa.v1.AccessService/RevokeToken", `{"id": "`+id+`"}`)
	finalise()

	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(line, `"record"`) || !strings.Contains(line, "UNAUTHENTICATED") {
		t.Fatalf("after the revocation the stream sent %q; want an UNAUTHENTICATED error, no record", line)
	}
	if rest, _ := bufio.NewReader(resp.Body).ReadString('\n'); rest != "" {
		t.Fatalf("the stream went on after the error: %q", rest)
	}
}

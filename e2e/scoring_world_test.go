package e2e

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"qa-sampling/internal/importfile"
	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/transcript"
)

// This file holds the fixtures of the scoring, feedback, dispute and
// report tests (issue 4): a small organisation on a real server, gRPC
// clients for every service, a background `qactl feedback watch`, and the
// SPEC §5 formula and report statistics computed independently of the
// scoring and report packages.

// qaClients are the clients of every service over one connection.
type qaClients struct {
	ingest   qav1.IngestServiceClient
	sampling qav1.SamplingServiceClient
	review   qav1.ReviewServiceClient
	rubric   qav1.RubricServiceClient
	feedback qav1.FeedbackServiceClient
	report   qav1.ReportServiceClient
	audit    qav1.AuditServiceClient
	info     qav1.InfoServiceClient
	calib    qav1.CalibrationServiceClient
	inspRep  qav1.InspectorReportServiceClient
}

// clients dials s; the connection reconnects by itself across a restart
// on the same address.
func (s *server) clients() qaClients {
	s.t.Helper()
	conn, err := grpc.NewClient(s.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { _ = conn.Close() })
	return qaClients{
		ingest:   qav1.NewIngestServiceClient(conn),
		sampling: qav1.NewSamplingServiceClient(conn),
		review:   qav1.NewReviewServiceClient(conn),
		rubric:   qav1.NewRubricServiceClient(conn),
		feedback: qav1.NewFeedbackServiceClient(conn),
		report:   qav1.NewReportServiceClient(conn),
		audit:    qav1.NewAuditServiceClient(conn),
		info:     qav1.NewInfoServiceClient(conn),
		calib:    qav1.NewCalibrationServiceClient(conn),
		inspRep:  qav1.NewInspectorReportServiceClient(conn),
	}
}

// orgAgent is one agent of the test organisation.
type orgAgent struct{ id, team, supervisor string }

// defaultOrg: two supervisors with their own agents; a1 and a2 make up
// team-a under sup-a, b1 is team-b under sup-b.
var defaultOrg = []orgAgent{
	{"a1", "team-a", "sup-a"},
	{"a2", "team-a", "sup-a"},
	{"b1", "team-b", "sup-b"},
}

// orgInspectors are the QA inspectors; none of them supervises anyone.
var orgInspectors = []string{"insp-1", "insp-2", "insp-3"}

// world is a running server with the organisation's tokens.
type world struct {
	t      *testing.T
	srv    *server
	c      qaClients
	agents []orgAgent
	// tokens by subject: "qa-lead" (admin), "bridge" (ingest), each
	// inspector and each supervisor.
	tokens map[string]string
}

// newWorld starts a server on dsn (no sampling schedule) and creates the
// tokens. Agents and inspectors are not stored yet: see setupGRPC.
func newWorld(t *testing.T, dsn string, agents []orgAgent, extra ...string) *world {
	t.Helper()
	srv := startServer(t, dsn, append([]string{"--sample-schedule", "off"}, extra...)...)
	w := &world{t: t, srv: srv, c: srv.clients(), agents: agents, tokens: map[string]string{}}
	w.tokens["qa-lead"] = srv.token("admin", "qa-lead")
	w.tokens["bridge"] = srv.token("ingest", "bridge")
	for _, id := range orgInspectors {
		w.tokens[id] = srv.token("inspector", id)
	}
	for _, a := range agents {
		if _, ok := w.tokens[a.supervisor]; !ok {
			w.tokens[a.supervisor] = srv.token("supervisor", a.supervisor)
		}
	}
	return w
}

// as is a call context authenticated as subject.
func (w *world) as(subject string) context.Context {
	w.t.Helper()
	tok, ok := w.tokens[subject]
	if !ok {
		w.t.Fatalf("no token for %q", subject)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	w.t.Cleanup(cancel)
	return withToken(ctx, tok)
}

func (w *world) admin() context.Context { return w.as("qa-lead") }

func (w *world) protoAgents() []*qav1.Agent {
	out := make([]*qav1.Agent, len(w.agents))
	for i, a := range w.agents {
		out[i] = &qav1.Agent{AgentId: a.id, Name: "Agent " + a.id, TeamId: a.team, SupervisorId: a.supervisor, HiredOn: "2024-03-01"}
	}
	return out
}

// setupGRPC stores the agents and inspectors over gRPC.
func (w *world) setupGRPC() {
	w.t.Helper()
	resp, err := w.c.ingest.UpsertAgents(w.as("bridge"), &qav1.UpsertAgentsRequest{Agents: w.protoAgents()})
	if err != nil {
		w.t.Fatalf("UpsertAgents: %v", err)
	}
	for _, r := range resp.GetResults() {
		if r.GetStatus() == qav1.ItemStatus_ITEM_STATUS_REJECTED {
			w.t.Fatalf("agent %s rejected: %s", r.GetId(), r.GetReason())
		}
	}
	for _, id := range orgInspectors {
		if _, err := w.c.sampling.UpsertInspector(w.admin(), &qav1.UpsertInspectorRequest{Inspector: &qav1.Inspector{Id: id, Name: "Inspector " + id}}); err != nil {
			w.t.Fatalf("UpsertInspector %s: %v", id, err)
		}
	}
}

// weekMonday is 00:00 UTC of the Monday of an ISO week "2026-W46",
// computed here rather than with the sampler's week type.
func weekMonday(t *testing.T, week string) time.Time {
	t.Helper()
	year, num, ok := strings.Cut(week, "-W")
	y, err1 := strconv.Atoi(year)
	n, err2 := strconv.Atoi(num)
	if !ok || err1 != nil || err2 != nil {
		t.Fatalf("bad week %q", week)
	}
	jan4 := time.Date(y, time.January, 4, 0, 0, 0, 0, time.UTC)
	back := (int(jan4.Weekday()) + 6) % 7 // days since Monday
	return jan4.AddDate(0, 0, -back+7*(n-1))
}

// chatAt is chat() moved to start at start.
func chatAt(id, agentID string, start time.Time, rounds int) *qav1.Transcript {
	tr := chat(id, agentID, rounds)
	d := start.Sub(tr.GetStartedAt().AsTime())
	shift := func(ts *timestamppb.Timestamp) *timestamppb.Timestamp { return timestamppb.New(ts.AsTime().Add(d)) }
	tr.StartedAt, tr.EndedAt = shift(tr.GetStartedAt()), shift(tr.GetEndedAt())
	for _, m := range tr.GetMessages() {
		m.SentAt = shift(m.GetSentAt())
	}
	return tr
}

// weekChats builds perAgent chats for each agent on the Wednesday of week
// (Shanghai daytime, well inside the week in any time zone near it).
func (w *world) weekChats(week string, perAgent int) []*qav1.Transcript {
	w.t.Helper()
	wed := weekMonday(w.t, week).AddDate(0, 0, 2).Add(2 * time.Hour)
	var out []*qav1.Transcript
	for _, a := range w.agents {
		for i := range perAgent {
			id := fmt.Sprintf("%s-%s-%d", week, a.id, i)
			out = append(out, chatAt(id, a.id, wed.Add(time.Duration(i)*time.Hour), 2+i))
		}
	}
	return out
}

// pushWeek ingests weekChats over gRPC.
func (w *world) pushWeek(week string, perAgent int) {
	w.t.Helper()
	for _, tr := range w.weekChats(week, perAgent) {
		resp, err := w.c.ingest.PushTranscript(w.as("bridge"), &qav1.PushTranscriptRequest{Transcript: tr})
		if err != nil || resp.GetStatus() == qav1.ItemStatus_ITEM_STATUS_REJECTED {
			w.t.Fatalf("push %s: %v %v", tr.GetExternalId(), resp, err)
		}
	}
}

// runWeek samples week over gRPC and returns its picks.
func (w *world) runWeek(week string) []*qav1.Pick {
	w.t.Helper()
	if _, err := w.c.sampling.RunWeek(w.admin(), &qav1.RunWeekRequest{Week: week}); err != nil {
		w.t.Fatalf("RunWeek %s: %v", week, err)
	}
	return w.picks(week)
}

// picks lists a week's picks as the admin, by id.
func (w *world) picks(week string) []*qav1.Pick {
	w.t.Helper()
	resp, err := w.c.sampling.ListPicks(w.admin(), &qav1.ListPicksRequest{Week: week, PageSize: 1000})
	if err != nil {
		w.t.Fatalf("ListPicks %s: %v", week, err)
	}
	out := resp.GetPicks()
	slices.SortFunc(out, func(a, b *qav1.Pick) int { return int(a.GetId() - b.GetId()) })
	return out
}

// picksOf returns the assigned picks of agentID.
func picksOf(t *testing.T, picks []*qav1.Pick, agentID string) []*qav1.Pick {
	t.Helper()
	var out []*qav1.Pick
	for _, p := range picks {
		if p.GetAgentId() == agentID && p.GetStatus() == "assigned" && p.GetInspectorId() != "" {
			out = append(out, p)
		}
	}
	return out
}

// finalize submits a final review of p by its inspector over gRPC.
func (w *world) finalize(p *qav1.Pick, spec string, flags ...string) *qav1.SubmitReviewResponse {
	w.t.Helper()
	resp, err := w.c.review.SubmitReview(w.as(p.GetInspectorId()), &qav1.SubmitReviewRequest{
		ItemId: p.GetId(), Ratings: ratingsProto(w.t, spec), Flags: flags, Final: true,
		Comment: "reviewed in the e2e test", Suggestions: []string{"confirm the order number first"},
	})
	if err != nil {
		w.t.Fatalf("final review of item %d by %s: %v", p.GetId(), p.GetInspectorId(), err)
	}
	return resp
}

// auditEvents reads the whole audit trail as the admin.
func (w *world) auditEvents() []*qav1.AuditEvent {
	w.t.Helper()
	var out []*qav1.AuditEvent
	after := int64(0)
	for {
		resp, err := w.c.audit.ListAuditEvents(w.admin(), &qav1.ListAuditEventsRequest{AfterId: after, PageSize: 1000})
		if err != nil {
			w.t.Fatalf("ListAuditEvents: %v", err)
		}
		out = append(out, resp.GetEvents()...)
		if resp.GetNextAfterId() == 0 {
			return out
		}
		after = resp.GetNextAfterId()
	}
}

// hasAudit reports whether events hold action on entity id by actor.
func hasAudit(events []*qav1.AuditEvent, action, entity string, id int64, actor string) bool {
	for _, e := range events {
		if e.GetAction() == action && e.GetEntity() == entity && e.GetEntityId() == strconv.FormatInt(id, 10) &&
			e.GetActor() == actor && e.GetAt() != nil {
			return true
		}
	}
	return false
}

// writeImportFiles writes the world's agents and chats in the import
// format for `qactl agents import` and `qactl ingest`.
func (w *world) writeImportFiles(chats []*qav1.Transcript) (agentsFile, chatsFile string) {
	w.t.Helper()
	dir := w.t.TempDir()
	var agents []importfile.Agent
	for _, a := range w.protoAgents() {
		agents = append(agents, importfile.Agent{AgentID: a.GetAgentId(), Name: a.GetName(), TeamID: a.GetTeamId(),
			SupervisorID: a.GetSupervisorId(), HiredOn: a.GetHiredOn(), Active: new(true)})
	}
	var ts []transcript.Transcript
	for _, c := range chats {
		tr := transcript.Transcript{ExternalID: c.GetExternalId(), AgentID: c.GetAgentId(), Channel: c.GetChannel(),
			CustomerID: c.GetCustomerId(), CustomerTier: c.GetCustomerTier(), StartedAt: c.GetStartedAt().AsTime(),
			EndedAt: c.GetEndedAt().AsTime(), Tags: c.GetTags(), Attributes: c.GetAttributes()}
		for _, m := range c.GetMessages() {
			tr.Messages = append(tr.Messages, transcript.Message{Role: transcript.Role(m.GetRole()), Text: m.GetText(), SentAt: m.GetSentAt().AsTime()})
		}
		ts = append(ts, tr)
	}
	write := func(name string, fn func(*os.File) error) string {
		path := filepath.Join(dir, name)
		f, err := os.Create(path)
		if err != nil {
			w.t.Fatal(err)
		}
		if err := fn(f); err != nil {
			w.t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			w.t.Fatal(err)
		}
		return path
	}
	agentsFile = write("agents.jsonl", func(f *os.File) error { return importfile.WriteAgentsJSONL(f, agents) })
	chatsFile = write("chats.jsonl", func(f *os.File) error { return importfile.WriteTranscriptsJSONL(f, ts) })
	return agentsFile, chatsFile
}

// qactlOK runs qactl as subject and fails the test unless it exits 0.
func (w *world) qactlOK(subject string, args ...string) string {
	w.t.Helper()
	out, errOut, code := w.srv.qactl(w.tokens[subject], args...)
	if code != 0 {
		w.t.Fatalf("qactl %s as %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), subject, code, out, errOut)
	}
	return out
}

// qactlFails runs qactl as subject and fails the test unless it exits
// non-zero with one of the gRPC codes in stderr; it returns stdout+stderr.
func (w *world) qactlFails(subject string, wantCodes []string, args ...string) string {
	w.t.Helper()
	out, errOut, code := w.srv.qactl(w.tokens[subject], args...)
	if code == 0 {
		w.t.Fatalf("qactl %s as %s succeeded, want one of %v:\n%s", strings.Join(args, " "), subject, wantCodes, out)
	}
	for _, c := range wantCodes {
		if strings.Contains(errOut, c) {
			return out + errOut
		}
	}
	w.t.Fatalf("qactl %s as %s: exit %d, stderr %q; want one of %v", strings.Join(args, " "), subject, code, errOut, wantCodes)
	return ""
}

// unmarshalJSON parses one protojson object as qactl --json prints it.
func unmarshalJSON(t *testing.T, line string, m proto.Message) {
	t.Helper()
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal([]byte(strings.TrimSpace(line)), m); err != nil {
		t.Fatalf("parsing %T from %q: %v", m, line, err)
	}
}

// jsonLines parses qactl's one-object-per-line output.
func jsonLines[M proto.Message](t *testing.T, out string, newM func() M) []M {
	t.Helper()
	var ms []M
	for line := range strings.Lines(out) {
		if strings.TrimSpace(line) == "" {
			continue
		}
		m := newM()
		unmarshalJSON(t, line, m)
		ms = append(ms, m)
	}
	return ms
}

func feedbackLines(t *testing.T, out string) []*qav1.FeedbackRecord {
	t.Helper()
	return jsonLines(t, out, func() *qav1.FeedbackRecord { return &qav1.FeedbackRecord{} })
}

func pickLines(t *testing.T, out string) []*qav1.Pick {
	t.Helper()
	return jsonLines(t, out, func() *qav1.Pick { return &qav1.Pick{} })
}

// watcher is a `qactl --json feedback watch` running in the background;
// its stdout is read line by line as records arrive.
type watcher struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	stderr *syncBuffer

	mu      sync.Mutex
	records []*qav1.FeedbackRecord
	bad     []string // lines that did not parse
	notify  chan struct{}
	eof     chan struct{}
	stopped bool
}

// watch starts `qactl --json feedback watch args...` with token.
func (s *server) watch(name, token string, args ...string) *watcher {
	s.t.Helper()
	w := &watcher{t: s.t, name: name, stderr: &syncBuffer{}, notify: make(chan struct{}, 1), eof: make(chan struct{})}
	w.cmd = exec.Command(bin("qactl"), append([]string{"--addr", s.addr, "--token", token, "--json", "feedback", "watch"}, args...)...)
	w.cmd.Stderr = w.stderr
	stdout, err := w.cmd.StdoutPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	if err := w.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	go func() {
		defer close(w.eof)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
		for sc.Scan() {
			r := &qav1.FeedbackRecord{}
			err := protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(sc.Bytes(), r)
			w.mu.Lock()
			if err != nil {
				w.bad = append(w.bad, sc.Text())
			} else {
				w.records = append(w.records, r)
			}
			w.mu.Unlock()
			select {
			case w.notify <- struct{}{}:
			default:
			}
		}
	}()
	s.t.Cleanup(w.stop)
	return w
}

// received returns a copy of what the watch printed so far.
func (w *watcher) received() []*qav1.FeedbackRecord {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.bad) > 0 {
		w.t.Fatalf("watch %s printed lines that are not a FeedbackRecord: %q", w.name, w.bad)
	}
	return slices.Clone(w.records)
}

// waitFor waits (bounded) until the watch has printed a record that
// matches and returns it.
func (w *watcher) waitFor(what string, match func(*qav1.FeedbackRecord) bool) *qav1.FeedbackRecord {
	w.t.Helper()
	deadline := time.NewTimer(45 * time.Second)
	defer deadline.Stop()
	for {
		for _, r := range w.received() {
			if match(r) {
				return r
			}
		}
		select {
		case <-w.notify:
		case <-w.eof:
			for _, r := range w.received() {
				if match(r) {
					return r
				}
			}
			w.t.Fatalf("watch %s ended before %s arrived; stderr:\n%s", w.name, what, w.stderr.String())
		case <-deadline.C:
			w.t.Fatalf("watch %s: %s did not arrive; received %d records; stderr:\n%s", w.name, what, len(w.received()), w.stderr.String())
		}
	}
}

// waitForID waits for the record id.
func (w *watcher) waitForID(id int64) *qav1.FeedbackRecord {
	w.t.Helper()
	return w.waitFor(fmt.Sprintf("record %d", id), func(r *qav1.FeedbackRecord) bool { return r.GetId() == id })
}

// stop ends the watch as Ctrl-C would and waits for it.
func (w *watcher) stop() {
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		return
	}
	w.stopped = true
	w.mu.Unlock()
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.eof:
	case <-time.After(20 * time.Second):
		_ = w.cmd.Process.Kill()
		<-w.eof
	}
	_ = w.cmd.Wait()
}

// ---- SPEC §5, computed independently ----

// The default rubric of SPEC §5 as the issue names its keys: weights,
// scale 0..5, every dimension may be N/A; process compliance is the
// critical dimension (rated below half its scale, the score is 0).
var (
	dimensionKeys = []string{"attitude", "knowledge", "efficiency", "communication", "compliance"}
	dimWeight     = map[string]float64{"attitude": 25, "knowledge": 20, "efficiency": 20, "communication": 20, "compliance": 15}
)

const (
	scaleMax      = 5
	passThreshold = 70
)

// rating is one dimension's rating; na leaves it out of the score.
type rating struct {
	value int
	na    bool
}

// parseSpec reads "attitude=5,knowledge=na,..." (qactl's --rating syntax).
func parseSpec(t *testing.T, spec string) map[string]rating {
	t.Helper()
	out := map[string]rating{}
	for part := range strings.SplitSeq(spec, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			t.Fatalf("bad rating %q", part)
		}
		if v == "na" {
			out[k] = rating{na: true}
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("bad rating %q", part)
		}
		out[k] = rating{value: n}
	}
	return out
}

func ratingsProto(t *testing.T, spec string) []*qav1.DimensionRating {
	t.Helper()
	var out []*qav1.DimensionRating
	rs := parseSpec(t, spec)
	for _, k := range dimensionKeys {
		if r, ok := rs[k]; ok {
			out = append(out, &qav1.DimensionRating{Key: k, Value: int32(r.value), Na: r.na})
		}
	}
	return out
}

// expected is a review's outcome by SPEC §5.
type expected struct {
	score    float64
	grade    string
	critical bool
	percent  map[string]float64 // rated dimensions only
	failing  map[string]bool
	flags    []string
}

// expect computes score and grade: 100 × Σ wᵢ·rᵢ/max ÷ Σ wᵢ over the
// dimensions not N/A; 0 and "fail" with any critical flag or compliance
// below half its scale; otherwise excellent ≥ 90, good ≥ 80, pass ≥ 70,
// needs_improvement below.
func expect(t *testing.T, spec string, flags ...string) expected {
	t.Helper()
	rs := parseSpec(t, spec)
	e := expected{percent: map[string]float64{}, failing: map[string]bool{}, flags: flags}
	var num, den float64
	for _, k := range dimensionKeys {
		r, ok := rs[k]
		if !ok {
			t.Fatalf("spec %q does not rate %s", spec, k)
		}
		if r.na {
			continue
		}
		p := 100 * float64(r.value) / scaleMax
		e.percent[k] = p
		e.failing[k] = p < passThreshold
		num += dimWeight[k] * float64(r.value) / scaleMax
		den += dimWeight[k]
		if k == "compliance" && float64(r.value) < scaleMax/2.0 {
			e.critical = true
		}
	}
	if len(flags) > 0 {
		e.critical = true
	}
	switch {
	case e.critical:
		e.score, e.grade = 0, "fail"
	default:
		e.score = 100 * num / den
		switch {
		case e.score >= 90:
			e.grade = "excellent"
		case e.score >= 80:
			e.grade = "good"
		case e.score >= 70:
			e.grade = "pass"
		default:
			e.grade = "needs_improvement"
		}
	}
	return e
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

// checkReview compares a final review with the expectation.
func checkReview(t *testing.T, what string, rv *qav1.Review, e expected) {
	t.Helper()
	if rv.GetStatus() != "final" && rv.GetStatus() != "retracted" {
		t.Errorf("%s: status %q, want final", what, rv.GetStatus())
	}
	if !near(rv.GetScore(), e.score) || rv.GetGrade() != e.grade || rv.GetCritical() != e.critical {
		t.Errorf("%s: score %v grade %q critical %v; want %v %q %v", what, rv.GetScore(), rv.GetGrade(), rv.GetCritical(), e.score, e.grade, e.critical)
	}
	if want := fmt.Sprintf("%.2f", e.score); rv.GetScoreText() != want {
		t.Errorf("%s: score_text %q, want %q", what, rv.GetScoreText(), want)
	}
	for _, r := range rv.GetRatings() {
		p, rated := e.percent[r.GetKey()]
		if r.GetNa() == rated || (rated && (!near(r.GetPercent(), p) || r.GetFailing() != e.failing[r.GetKey()])) {
			t.Errorf("%s: rating %v; want percent %v (rated %v) failing %v", what, r, p, rated, e.failing[r.GetKey()])
		}
	}
	if len(rv.GetRatings()) != len(dimensionKeys) {
		t.Errorf("%s: %d ratings, want %d", what, len(rv.GetRatings()), len(dimensionKeys))
	}
	if !slices.Equal(sortedCopy(rv.GetFlags()), sortedCopy(e.flags)) {
		t.Errorf("%s: flags %v, want %v", what, rv.GetFlags(), e.flags)
	}
}

func sortedCopy(s []string) []string {
	c := append([]string{}, s...)
	slices.Sort(c)
	return c
}

// codeOf is the gRPC code of err.
func codeOf(err error) codes.Code { return status.Code(err) }

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/timestamppb"

	"qa-sampling/isoweek"
	qav1 "qa-sampling/proto/qa/v1"
)

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

// adminWorld is what the QA lead's browser test starts from: a directory
// of three agents, two inspectors, and chats of two weeks that have ended
// and that nothing has sampled yet.
type adminWorld struct {
	sampling qav1.SamplingServiceClient
	admin    context.Context
	// Week is the last week that has ended; Other the one before it.
	Week, Other string
}

func seedAdminWorld(t *testing.T, s *consoleServer) *adminWorld {
	t.Helper()
	conn, err := grpc.NewClient(s.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	ingestCtx := withToken(ctx, s.token("ingest", "platform"))
	w := &adminWorld{sampling: qav1.NewSamplingServiceClient(conn), admin: withToken(ctx, s.token("admin", "lead"))}
	ingest := qav1.NewIngestServiceClient(conn)
	agents := []*qav1.Agent{
		{AgentId: "agent-zw", Name: "张伟", TeamId: "team-east", SupervisorId: "sup-1", HiredOn: "2023-03-01"},
		{AgentId: "agent-ln", Name: "李娜", TeamId: "team-east", SupervisorId: "sup-1", HiredOn: "2024-07-15"},
		{AgentId: "agent-wf", Name: "王芳", TeamId: "team-west", SupervisorId: "sup-2", HiredOn: "2022-11-20"},
	}
	if _, err := ingest.UpsertAgents(ingestCtx, &qav1.UpsertAgentsRequest{Agents: agents}); err != nil {
		t.Fatal(err)
	}
	for _, in := range []*qav1.Inspector{{Id: "insp-1", Name: "陈静"}, {Id: "insp-2", Name: "刘洋"}} {
		if _, err := w.sampling.UpsertInspector(w.admin, &qav1.UpsertInspectorRequest{Inspector: in}); err != nil {
			t.Fatal(err)
		}
	}
	last := isoweek.Of(time.Now(), shanghai).Prev()
	w.Week, w.Other = last.String(), last.Prev().String()
	for _, week := range []isoweek.Week{last, last.Prev()} {
		monday, _ := week.Bounds(shanghai)
		for _, a := range agents {
			for i := range 6 {
				start := monday.Add(time.Duration(24*(i%5)+10)*time.Hour + time.Duration(i)*11*time.Minute)
				tr := adminChat(fmt.Sprintf("%s-%s-%d", week, a.GetAgentId(), i), a.GetAgentId(), start)
				if i%3 == 0 {
					tr.Tags = []string{"投诉"}
				}
				if _, err := ingest.PushTranscript(ingestCtx, &qav1.PushTranscriptRequest{Transcript: tr}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	return w
}

// adminChat is a short Chinese chat starting at start.
func adminChat(id, agentID string, start time.Time) *qav1.Transcript {
	at := start
	next := func(d time.Duration) *timestamppb.Timestamp { at = at.Add(d); return timestamppb.New(at) }
	t := &qav1.Transcript{ExternalId: id, AgentId: agentID, Channel: "chat", CustomerId: "cust-" + id, CustomerTier: "regular",
		StartedAt: timestamppb.New(start), Tags: []string{"咨询"}}
	t.Messages = []*qav1.Message{
		{Role: qav1.Role_ROLE_CUSTOMER, Text: "你好，我的订单什么时候发货？", SentAt: next(0)},
		{Role: qav1.Role_ROLE_AGENT, Text: "亲，您好！已为您查询，预计明天发出。", SentAt: next(25 * time.Second)},
		{Role: qav1.Role_ROLE_CUSTOMER, Text: "好的，谢谢。", SentAt: next(30 * time.Second)},
		{Role: qav1.Role_ROLE_AGENT, Text: "不客气，祝您生活愉快！", SentAt: next(10 * time.Second)},
	}
	t.EndedAt = next(5 * time.Second)
	return t
}

func (w *adminWorld) runs(t *testing.T, week string) []*qav1.Run {
	t.Helper()
	resp, err := w.sampling.ListRuns(w.admin, &qav1.ListRunsRequest{Week: week})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetRuns()
}

func (w *adminWorld) picks(t *testing.T, req *qav1.ListPicksRequest) []*qav1.Pick {
	t.Helper()
	req.PageSize = 1000
	resp, err := w.sampling.ListPicks(w.admin, req)
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetPicks()
}

// click clicks sel and waits for the next page's main element.
func (b *browser) clickAndWait(sel string) {
	b.t.Helper()
	b.do(chromedp.Click(chromedp.CSS(sel)), chromedp.Sleep(200*time.Millisecond), chromedp.WaitReady(chromedp.CSS("main")))
}

// setValue types value into the field sel, replacing what it held.
func (b *browser) setValue(sel, value string) {
	b.t.Helper()
	b.do(chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.SetValue(chromedp.CSS(sel), value))
}

// TestConsoleAdminPreviewsRunsAndReassigns: the QA lead signs in by link,
// previews a week and runs it, sees the run on the weeks page, is refused
// a run of the week not yet over in the server's words, moves an item to
// another inspector and sees it moved, gets a policy field's message next
// to the field, and makes a login link.
func TestConsoleAdminPreviewsRunsAndReassigns(t *testing.T) {
	s := consoleOf(t, startServer(t, backends(t)[0].dsn))
	w := seedAdminWorld(t, s)
	b := newBrowser(t, s.HTTP)
	if loc := b.signIn(s.loginLink("admin", "lead")); !strings.HasSuffix(loc, "/weeks") {
		t.Fatalf("signed in at %s, want the weeks overview", loc)
	}
	b.waitText("header .subject", "lead")
	b.waitText("main", "还没有任何抽样")

	// Preview the last week: what the run will pick, and the commitment.
	b.setValue("#week", w.Week)
	b.clickAndWait("#do-preview")
	b.waitText("h1", w.Week)
	picks, err := strconv.Atoi(strings.TrimSpace(b.text("#preview-picks")))
	if err != nil || picks == 0 {
		t.Fatalf("the preview shows %q picks", b.text("#preview-picks"))
	}
	commitment := strings.TrimSpace(b.text("#preview-commitment"))
	b.waitText("main", "agent-zw")
	b.screenshot("admin-preview")
	if len(w.runs(t, w.Week)) != 0 {
		t.Fatal("the preview stored a run")
	}

	// Run it: back on the weeks page with the run listed.
	b.clickAndWait("#run-week")
	if loc := b.location(); !strings.Contains(loc, "/weeks?") {
		t.Fatalf("after the run at %s", loc)
	}
	b.waitText(".flash", "抽样已完成:抽取 "+strconv.Itoa(picks)+" 条会话。")
	b.waitText("table.runs", w.Week)
	b.waitText("table.runs", commitment)
	runs := w.runs(t, w.Week)
	if len(runs) != 1 || int(runs[0].GetPicks()) != picks || runs[0].GetSeedCommitment() != commitment || runs[0].GetAgents() != 3 {
		t.Fatalf("the server's runs of %s: %v; the preview showed %d picks and commitment %s", w.Week, runs, picks, commitment)
	}
	b.screenshot("admin-weeks")
	b.open("/weeks?lang=en")
	b.waitText("h1", "Weeks and runs")
	b.screenshot("admin-weeks-en")
	b.resize(phoneWidth, phoneHeight)
	b.fullScreenshot("admin-weeks-phone")
	b.resize(desktopWidth, desktopHeight)

	// The week that has not ended: refused, in the server's words.
	current := isoweek.Of(time.Now(), shanghai).String()
	b.setValue("#week", current)
	b.clickAndWait("#do-run")
	b.waitText("#week-refusal", current)
	if got := b.text("#week-refusal"); !strings.Contains(got, "preview it instead") {
		t.Fatalf("the refusal says %q", got)
	}
	if n := len(w.runs(t, current)); n != 0 {
		t.Fatalf("the week not yet over was run (%d runs)", n)
	}

	// The week's picks, filterable.
	b.open("/weeks/" + w.Week)
	b.waitText("main", "agent-wf")
	b.screenshot("admin-week-picks")
	b.resize(phoneWidth, phoneHeight)
	b.fullScreenshot("admin-week-picks-phone")
	b.resize(desktopWidth, desktopHeight)

	// Move one of insp-1's items to insp-2.
	mine := w.picks(t, &qav1.ListPicksRequest{Week: w.Week, InspectorId: "insp-1", Status: "assigned"})
	if len(mine) == 0 {
		t.Fatal("insp-1 has no items")
	}
	item := mine[0]
	b.open("/inspectors?inspector=insp-1")
	b.do(chromedp.Click(chromedp.CSS(fmt.Sprintf("#item-%d", item.GetId()))))
	b.setValue("#c-to", "insp-2")
	b.setValue("#c-reason", "陈静请假")
	b.clickAndWait("#move-chosen")
	b.waitText(".flash", "已转派 1 条。")
	gone := run(b, chromedp.Evaluate[bool](fmt.Sprintf("document.getElementById('item-%d') === null", item.GetId())))
	if !gone {
		t.Fatal("the moved item is still listed under insp-1")
	}
	moved := w.picks(t, &qav1.ListPicksRequest{Week: w.Week, InspectorId: "insp-2", Status: "assigned"})
	found := false
	for _, p := range moved {
		found = found || p.GetId() == item.GetId()
	}
	if !found {
		t.Fatalf("item %d is not with insp-2 on the server", item.GetId())
	}
	b.screenshot("admin-inspectors")
	b.resize(phoneWidth, phoneHeight)
	b.fullScreenshot("admin-inspectors-phone")
	b.resize(desktopWidth, desktopHeight)
	b.open("/weeks/" + w.Week + "?inspector=insp-2")
	b.waitText("table.picks", item.GetExternalId())

	// A policy field's message, next to the field; nothing stored.
	b.open("/policy")
	b.setValue("#p-random_per_agent", "-1")
	b.clickAndWait("#policy-validate")
	b.waitText("#p-random_per_agent-err", "must be between 0 and")
	b.screenshot("admin-policy")
	b.resize(phoneWidth, phoneHeight)
	b.fullScreenshot("admin-policy-phone")
	b.resize(desktopWidth, desktopHeight)
	if pol, err := w.sampling.GetPolicy(w.admin, &qav1.GetPolicyRequest{}); err != nil || pol.GetPolicy().GetVersion() != 1 {
		t.Fatalf("policy after a refused validation: %v, %v", pol, err)
	}

	// The audit trail has the move, with the reason typed.
	b.open("/audit?action=pick.reassign")
	b.waitText("table.audit", "陈静请假")
	b.screenshot("admin-audit")

	// A login link for insp-2, shown once.
	b.open("/access")
	b.setValue("#l-subject", "insp-2")
	b.clickAndWait("#make-link")
	link := run(b, chromedp.Value(chromedp.CSS("#link-url")))
	if !strings.Contains(link, "/login/") {
		t.Fatalf("the login link field holds %q", link)
	}
	b.screenshot("admin-access")

	// The rubric versions and the editor (a copy of the active one).
	b.open("/rubrics")
	b.waitText("main", "启用中")
	b.screenshot("admin-rubrics")
	b.open("/rubrics/new")
	b.do(chromedp.WaitVisible(chromedp.CSS("#d0-name")))
	if name := run(b, chromedp.Value(chromedp.CSS("#d0-name"))); !strings.Contains(name, "服务态度") {
		t.Fatalf("the editor's first dimension is %q, want a copy of the active rubric's 服务态度", name)
	}
	b.screenshot("admin-rubric-new")
	b.open("/disputes")
	b.waitText("main", "没有申诉")
}

// TestConsoleAdminRefusesACrossSitePost: a page of another origin that
// submits a form to the console by itself (as an attacker's would) while
// the QA lead is signed in gets the console's refusal page, and nothing
// changes on the server.
func TestConsoleAdminRefusesACrossSitePost(t *testing.T) {
	s := consoleOf(t, startServer(t, backends(t)[0].dsn))
	w := seedAdminWorld(t, s)
	attacker := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = fmt.Fprintf(rw, `<!doctype html><html><body><main><form id="f" method="post" action="%s/weeks/run">
<input type="hidden" name="week" value="%s"></form><script>document.getElementById("f").submit();</script></main></body></html>`, s.HTTP, w.Other)
	}))
	t.Cleanup(attacker.Close)

	b := newBrowser(t, s.HTTP)
	b.signIn(s.loginLink("admin", "lead"))
	b.do(chromedp.Navigate(attacker.URL))
	deadline := time.Now().Add(15 * time.Second)
	for !strings.HasPrefix(b.location(), s.HTTP+"/weeks/run") {
		if time.Now().After(deadline) {
			t.Fatalf("the attacker's form did not reach the console: at %s", b.location())
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.waitText("main", "请求未通过来源校验,已拒绝")
	if code := run(b, chromedp.Evaluate[int]("performance.getEntriesByType('navigation')[0].responseStatus")); code != http.StatusForbidden {
		t.Fatalf("the console answered the cross-site POST with %d, want 403", code)
	}
	b.screenshot("admin-csrf-refused")
	if n := len(w.runs(t, w.Other)); n != 0 {
		t.Fatalf("the cross-site POST ran %s (%d runs)", w.Other, n)
	}
	// The lead is still signed in and the console works for them.
	b.open("/weeks")
	b.waitText("header .subject", "lead")
}

package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	qav1 "qa-sampling/proto/qa/v1"
)

// The supervisor's console in a real chromium against a real qad (issue 10
// §4 and §8): the open inbox shows a new record without a reload, they
// open it, read the chat and acknowledge with a note; another supervisor's
// record is the not-found page; the agent and team reports render. Also
// the inbox's cost to the server: one stream per open page, no polling.

// recentWeeks are the n ISO weeks before the current one in Shanghai,
// newest first.
func recentWeeks(n int) []string {
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	now := time.Now().In(sh)
	out := make([]string, n)
	for i := range n {
		y, w := now.AddDate(0, 0, -7*(i+1)).ISOWeek()
		out[i] = fmt.Sprintf("%d-W%02d", y, w)
	}
	return out
}

// supervisorSpecs vary the reviews so the reports have spread.
var supervisorSpecs = []string{
	"attitude=5,knowledge=4,efficiency=4,communication=5,compliance=5",
	"attitude=4,knowledge=3,efficiency=2,communication=4,compliance=4",
	"attitude=3,knowledge=4,efficiency=3,communication=na,compliance=5",
	"attitude=5,knowledge=5,efficiency=5,communication=5,compliance=5",
}

func TestConsoleSupervisorInboxLive(t *testing.T) {
	metricsAddr := freePort(t)
	w := newWorld(t, backends(t)[0].dsn, defaultOrg, "--metrics-listen", metricsAddr)
	w.setupGRPC()
	cs := consoleOf(t, w.srv)

	// Four past weeks of chats, sampled; every pick of team-a scored but
	// one of a1 in the last week, kept for while the inbox is open.
	weeks := recentWeeks(4)
	var held, heldForRestart, heldSecond *qav1.Pick
	var firstOfA []int64
	for i := len(weeks) - 1; i >= 0; i-- {
		w.pushWeek(weeks[i], 4)
		picks := w.runWeek(weeks[i])
		for _, agent := range []string{"a1", "a2"} {
			for j, p := range picksOf(t, picks, agent) {
				if i == 0 && agent == "a1" && held == nil {
					held = p
					continue
				}
				if i == 0 && agent == "a2" && heldForRestart == nil {
					heldForRestart = p
					continue
				}
				if i == 0 && agent == "a2" && heldSecond == nil {
					heldSecond = p
					continue
				}
				resp := w.finalize(p, supervisorSpecs[(i+j)%len(supervisorSpecs)])
				if i > 0 && j == 0 {
					firstOfA = append(firstOfA, resp.GetFeedback().GetId())
				}
			}
		}
	}
	if held == nil || heldForRestart == nil || heldSecond == nil {
		t.Fatal("no pick of a1 or a2 in the last week")
	}
	// Older records acknowledged, so the inbox has both lists.
	for _, id := range firstOfA {
		if _, err := w.c.feedback.AcknowledgeFeedback(w.as("sup-a"), &qav1.AcknowledgeFeedbackRequest{Id: id, Note: "周会已复盘"}); err != nil {
			t.Fatal(err)
		}
	}
	// sup-b's record, which sup-a must not see.
	bRecord := w.finalize(picksOf(t, w.picks(weeks[0]), "b1")[0], supervisorSpecs[1]).GetFeedback().GetId()

	b := newBrowser(t, cs.HTTP)
	// A Chinese supervisor's browser asks for Chinese.
	chineseBrowser(t, b)
	if loc := b.signIn(cs.loginLink("supervisor", "sup-a")); !strings.HasSuffix(loc, "/inbox") {
		t.Fatalf("signed in at %s, want the inbox", loc)
	}
	b.waitText("#inbox-state", "实时更新中")
	// A mark on the document: it survives only if the page is not reloaded.
	if !run(b, chromedp.Evaluate[bool]("window.__sameDocument = true")) {
		t.Fatal("could not mark the document")
	}
	before := scrapeMetrics(t, metricsAddr)
	if n := before.value(t, "qa_feedback_watch_subscribers"); n != 1 {
		t.Fatalf("%v feedback streams open with one inbox page, want 1", n)
	}

	// An inspector finalises while the inbox is open.
	rec := w.finalize(held, "attitude=2,knowledge=3,efficiency=2,communication=3,compliance=4").GetFeedback()
	newRow := fmt.Sprintf(`#unacked-list li[data-id="%d"]`, rec.GetId())
	b.do(chromedp.WaitVisible(chromedp.CSS(newRow)))
	if top := run(b, chromedp.Evaluate[string](`document.querySelector("#unacked-list li").dataset.id`)); top != strconv.FormatInt(rec.GetId(), 10) {
		t.Fatalf("the new record %d is not on top (top is %s)", rec.GetId(), top)
	}
	if !run(b, chromedp.Evaluate[bool]("window.__sameDocument === true")) {
		t.Fatal("the inbox reloaded to show the new record")
	}
	row := b.text(newRow)
	for _, want := range []string{"a1", rec.GetScoreText(), "待改进", "需辅导", weeks[0]} {
		if !strings.Contains(row, want) {
			t.Fatalf("new row %q lacks %q", row, want)
		}
	}
	for _, unwanted := range []string{"可作范例", "申诉复核"} {
		if strings.Contains(row, unwanted) {
			t.Fatalf("new row %q shows %q, which the record is not", row, unwanted)
		}
	}
	b.waitText("#inbox-announce", "新反馈：客服 Agent a1，"+rec.GetScoreText()+" 分")

	// The server's side: still one stream, and the page asked for nothing
	// more while it waited and received (no polling).
	time.Sleep(3 * time.Second)
	after := scrapeMetrics(t, metricsAddr)
	if n := after.value(t, "qa_feedback_watch_subscribers"); n != 1 {
		t.Errorf("%v feedback streams open after the record arrived, want 1", n)
	}
	for _, method := range []string{"WatchFeedback", "ListFeedback"} {
		series := startedSeries(after, method)
		if series == "" {
			t.Errorf("/metrics counts no %s calls: the check below would prove nothing", method)
			continue
		}
		if d := after.values[series] - before.values[series]; d != 0 {
			t.Errorf("%d more %s calls while the inbox waited: the page must not poll", int(d), method)
		}
	}
	b.screenshot("supervisor-inbox")

	// Open it, read the chat, acknowledge with a note.
	b.do(chromedp.Click(chromedp.CSS(newRow + " a")))
	b.waitText("main h1", fmt.Sprintf("反馈 #%d", rec.GetId()))
	chat := b.text(".chat")
	if !strings.Contains(chat, "预计明天发出") || !strings.Contains(chat, held.GetExternalId()) {
		t.Fatalf("the record's chat reads %q", chat)
	}
	page := b.text("main")
	for _, want := range []string{rec.GetScoreText(), "待改进", "服务态度", "解决效率", "confirm the order number first", "发起申诉（截至 "} {
		if !strings.Contains(page, want) {
			t.Fatalf("the record page lacks %q", want)
		}
	}
	b.screenshot("supervisor-record")
	b.resize(phoneWidth, phoneHeight)
	b.screenshot("supervisor-record-phone")
	b.resize(desktopWidth, desktopHeight)

	const note = "已与 a1 一对一辅导：先核实订单号，再给出处理时限。"
	b.do(chromedp.SendKeys(chromedp.CSS("#note"), note), chromedp.Click(chromedp.CSS("#ack button[type=submit]")))
	b.waitText(".notice.ok", "已确认")
	got, err := w.c.feedback.GetFeedback(w.as("sup-a"), &qav1.GetFeedbackRequest{Id: rec.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetRecord().GetAcknowledgedAt() == nil || got.GetRecord().GetCoachingNote() != note || got.GetRecord().GetAcknowledgedBy() != "sup-a" {
		t.Fatalf("after acknowledging in the browser: %v", got.GetRecord())
	}
	b.waitText("#ack", note)

	// Another supervisor's record: the not-found page, nothing of it.
	b.open(fmt.Sprintf("/feedback/%d", bRecord))
	if txt := b.text("main"); !strings.Contains(txt, "找不到该页面或记录") || strings.Contains(txt, "b1") {
		t.Fatalf("sup-a opening sup-b's record sees %q", txt)
	}

	// The reports.
	b.open("/agents/a1")
	if n := run(b, chromedp.Evaluate[int](`document.querySelectorAll("svg.week-chart.wide g.point").length`)); n < 3 {
		t.Fatalf("the agent's chart has %d weekly points, want one per scored week", n)
	}
	if txt := b.text("main"); !strings.Contains(txt, "各维度平均") || !strings.Contains(txt, "Agent a1") {
		t.Fatalf("agent page reads %q", txt)
	}
	b.screenshot("supervisor-agent")
	b.open("/team")
	b.do(chromedp.Click(chromedp.CSS(`th[aria-sort] a[href*="sort=mean"]`)))
	b.waitText(`th[aria-sort="descending"]`, "平均分")
	if txt := b.text("main"); !strings.Contains(txt, "共性问题") || !strings.Contains(txt, "Agent a2") || strings.Contains(txt, "Agent b1") {
		t.Fatalf("team page reads %q", txt)
	}
	b.screenshot("supervisor-team")
	b.resize(phoneWidth, phoneHeight)
	b.screenshot("supervisor-team-phone")
	b.open("/agents/a1")
	b.screenshot("supervisor-agent-phone")
	b.open("/inbox")
	b.waitText("#inbox-state", "实时更新中")
	b.screenshot("supervisor-inbox-phone")
	run(b, chromedp.Evaluate[bool]("window.__sameDocument = true"))

	// The server restarts under the open inbox: the page says it lost the
	// stream, reconnects by itself after the newest record it has, and
	// the next record arrives as before.
	w.srv.stop()
	b.waitText("#inbox-state", "连接中断，正在重连")
	w.srv.start()
	// Two records written while the page waits out its backoff arrive
	// together when it reconnects: one announcement says how many.
	rec2 := w.finalize(heldForRestart, supervisorSpecs[0]).GetFeedback()
	rec3 := w.finalize(heldSecond, supervisorSpecs[2]).GetFeedback()
	waitLong(b, "#inbox-state", "实时更新中", 45*time.Second)
	b.do(chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#unacked-list li[data-id="%d"]`, rec2.GetId()))),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#unacked-list li[data-id="%d"]`, rec3.GetId()))))
	if top := run(b, chromedp.Evaluate[string](`document.querySelector("#unacked-list li").dataset.id`)); top != strconv.FormatInt(rec3.GetId(), 10) {
		t.Fatalf("the newest record %d is not on top (top is %s)", rec3.GetId(), top)
	}
	b.waitText("#inbox-announce", "2 条新反馈")
	if !run(b, chromedp.Evaluate[bool]("window.__sameDocument === true")) {
		t.Fatal("the inbox reloaded across the server's restart")
	}
	if n := scrapeMetrics(t, metricsAddr).value(t, "qa_feedback_watch_subscribers"); n != 1 {
		t.Errorf("%v feedback streams open after the reconnect, want 1", n)
	}
}

// waitLong is waitText with a longer time limit: a reconnect waits out
// the page's backoff.
func waitLong(b *browser, sel, want string, limit time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(limit)
	last := ""
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
		got, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		cancel()
		if err == nil && strings.Contains(got, want) {
			return
		}
		last = got
		time.Sleep(200 * time.Millisecond)
	}
	b.t.Fatalf("%s never showed %q in %s; last text %q", sel, want, limit, last)
}

// startedSeries finds grpc_server_started_total of a FeedbackService
// method in a scrape ("" if absent).
func startedSeries(s scrape, method string) string {
	for series := range s.values {
		if strings.HasPrefix(series, "grpc_server_started_total{") && strings.Contains(series, `grpc_method="`+method+`"`) &&
			strings.Contains(series, `grpc_service="qa.v1.FeedbackService"`) {
			return series
		}
	}
	return ""
}

// chineseBrowser makes b ask for Chinese, as a Chinese supervisor's
// browser does (the harness's chromium asks for English).
func chineseBrowser(t *testing.T, b *browser) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Accept-Language": "zh-CN,zh;q=0.9"}}); err != nil {
		t.Fatal(err)
	}
}

package console

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/store"
)

// firstItem is the first item of an inspector's queue for the harness's
// last week.
func (h *harness) firstItem(inspector string) *qav1.Pick {
	h.t.Helper()
	for _, it := range h.queue(inspector) {
		if strings.HasPrefix(it.GetExternalId(), h.Week) {
			return it
		}
	}
	h.t.Fatalf("%s has no item of %s", inspector, h.Week)
	return nil
}

func itemPath(it *qav1.Pick) string { return "/review/" + strconv.FormatInt(it.GetId(), 10) }

// noInlineCode checks the CSP's promises on a page: scripts by src with a
// nonce, no style attribute.
func noInlineCode(t *testing.T, body string) {
	t.Helper()
	for _, tag := range regexp.MustCompile(`<script[^>]*>`).FindAllString(body, -1) {
		if !strings.Contains(tag, "nonce=") || !strings.Contains(tag, "src=") {
			t.Errorf("script without a nonce or with inline code: %s", tag)
		}
	}
	if regexp.MustCompile(`\sstyle="`).MatchString(body) {
		t.Error("inline style attribute: the policy forbids it")
	}
}

func TestQueueShowsTheWeekUnderReviewWithCountsAndFilters(t *testing.T) {
	h := startHarness(t)
	v := h.as(store.RoleInspector, "insp-1")
	items := h.queue("insp-1")
	var thisWeek []*qav1.Pick
	for _, it := range items {
		if strings.HasPrefix(it.GetExternalId(), h.Week) {
			thisWeek = append(thisWeek, it)
		}
	}
	p := v.get("/queue")
	p.mustContain(t, http.StatusOK, "我的质检队列", h.Week+" · 本期", "<b>"+strconv.Itoa(len(thisWeek))+"</b>待质检")
	noInlineCode(t, p.Body)
	names := map[string]string{}
	for _, a := range seedAgents {
		names[a.GetAgentId()] = a.GetName()
	}
	for _, it := range thisWeek {
		if !strings.Contains(p.Body, `href="`+itemPath(it)+`"`) {
			t.Fatalf("this week's item %d is not listed", it.GetId())
		}
		// Agents by name, their id beside it.
		if label := names[it.GetAgentId()] + ` <span class="muted small">(` + it.GetAgentId() + ")</span>"; !strings.Contains(p.Body, label) {
			t.Fatalf("item %d's agent is not shown as %s", it.GetId(), label)
		}
	}
	for _, it := range items {
		if !strings.HasPrefix(it.GetExternalId(), h.Week) && strings.Contains(p.Body, `href="`+itemPath(it)+`"`) {
			t.Fatalf("an earlier week's item %d is listed under this week", it.GetId())
		}
	}
	// All weeks list every item.
	all := v.get("/queue?week=all")
	for _, it := range items {
		if !strings.Contains(all.Body, `href="`+itemPath(it)+`"`) {
			t.Fatalf("all weeks: item %d missing", it.GetId())
		}
	}
	// The reason filter keeps only that reason's items.
	reason := thisWeek[0].GetReason()
	f := v.get("/queue?week=" + h.Week + "&reason=" + url.QueryEscape(reason))
	for _, it := range thisWeek {
		listed := strings.Contains(f.Body, `href="`+itemPath(it)+`"`)
		if listed != (it.GetReason() == reason) {
			t.Fatalf("reason filter %s: item %d (%s) listed %v", reason, it.GetId(), it.GetReason(), listed)
		}
	}
	// A filter that matches nothing says so and offers to clear it.
	v.get("/queue?status=disputed").mustContain(t, http.StatusOK, "没有符合筛选条件的会话", "清除筛选")
	// English works through the same catalogue.
	v.get("/queue?lang=en").mustContain(t, http.StatusOK, "My queue", "To review")
	// A bad week is the API's own field message, not "error 400".
	v.get("/queue?week=2026-W99").mustContain(t, http.StatusBadRequest, "week")
}

func TestQueueEmptyStatePointsAtOtherWeeks(t *testing.T) {
	h := startHarness(t)
	v := h.as(store.RoleInspector, "insp-1")
	// A week long before the seeded ones: nothing there, items elsewhere.
	p := v.get("/queue?week=2020-W10")
	p.mustContain(t, http.StatusOK, "2020-W10 没有分配给你的待质检会话", "其他周次还有")
	// Its count is the week's, and says so: not "in total" beside items
	// waiting in other weeks.
	p.mustContain(t, http.StatusOK, "<b>0</b>2020-W10 待处理")
	if strings.Contains(p.Body, "待处理合计") {
		t.Errorf("a week's count is labelled as the total:\n%s", p.Body)
	}
	h.as(store.RoleInspector, "insp-1").get("/queue?week=all").mustContain(t, http.StatusOK, "待处理合计")
	// Someone with no items at all sees the plain empty state.
	h.as(store.RoleInspector, "insp-nobody").get("/queue?week=all").mustContain(t, http.StatusOK, "队列已清空")
}

func TestReviewPageShowsTheChatBesideTheRubric(t *testing.T) {
	h := startHarness(t)
	v := h.as(store.RoleInspector, "insp-1")
	it := h.firstItem("insp-1")
	p := v.get(itemPath(it))
	p.mustContain(t, http.StatusOK,
		// The conversation: numbered, roles in words, the agent's name.
		`id="msg-1"`, "客户", "客服", seedName(it.GetAgentId()), "首次响应时间", "自动检查提示",
		// The rubric: criteria, the scale, N/A where allowed, flags.
		`name="r.attitude"`, `id="r-attitude-5"`, "服务态度", "红线", `name="flag"`, "亮点", "改进建议",
		`src="/static/review.js"`, `data-item="`+strconv.FormatInt(it.GetId(), 10)+`"`)
	noInlineCode(t, p.Body)
	v.get(itemPath(it)+"?lang=en").mustContain(t, http.StatusOK, "Rubric", "Customer", "Critical flags", "Finalise", "Keys: 0–5 rate")
	// Another inspector's item is a missing page, not their data.
	other := h.firstItem("insp-2")
	h.as(store.RoleInspector, "insp-1").get(itemPath(other)).mustContain(t, http.StatusNotFound, "找不到")
	// Other roles have no review page.
	h.as(store.RoleSupervisor, "sup-1").get(itemPath(it)).mustContain(t, http.StatusNotFound)
	v.get("/review/abc").mustContain(t, http.StatusNotFound)
}

func seedName(agentID string) string {
	for _, a := range seedAgents {
		if a.GetAgentId() == agentID {
			return a.GetName()
		}
	}
	return agentID
}

// rateAll is a form rating every default dimension (communication N/A).
func rateAll() url.Values {
	return url.Values{
		"r.attitude": {"4"}, "r.knowledge": {"5"}, "r.efficiency": {"3"}, "r.communication": {"na"}, "r.compliance": {"5"},
		"c.attitude": {"语气亲切"}, "comment": {"整体不错"}, "strengths": {"开场白规范\n\n回复及时"}, "suggestions": {"主动告知退款时效"},
	}
}

func TestDraftThenFinaliseShowsTheServersScoreAndTheNextItem(t *testing.T) {
	for name, dsn := range harnessBackends(t) {
		t.Run(name, func(t *testing.T) { draftThenFinalise(t, startHarnessOn(t, dsn)) })
	}
}

func draftThenFinalise(t *testing.T, h *harness) {
	v := h.as(store.RoleInspector, "insp-1")
	it := h.firstItem("insp-1")
	// A draft with two dimensions rated (the no-script fallback).
	draft := url.Values{"action": {"draft"}, "r.attitude": {"3"}, "c.attitude": {"还行"}, "r.communication": {"na"}, "comment": {"草稿"}}
	p := v.post(itemPath(it), draft)
	if p.Code != http.StatusSeeOther || !strings.HasSuffix(p.Location, "?saved=1") {
		t.Fatalf("draft answered %d to %q:\n%s", p.Code, p.Location, p.Body)
	}
	opened, err := qav1.NewReviewServiceClient(h.conn).OpenItem(v.Ctx, &qav1.OpenItemRequest{Id: it.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if d := opened.GetDraft(); len(d.GetRatings()) != 2 || d.GetComment() != "草稿" {
		t.Fatalf("stored draft %v", d)
	}
	// The page comes back with the draft's values.
	v.get(itemPath(it)).mustContain(t, http.StatusOK, `id="r-attitude-3" value="3" checked`, `id="r-communication-na" value="na" checked`, "还行", "草稿已保存")

	// Finalising with a dimension unrated: the server's message beside it.
	incomplete := rateAll()
	incomplete.Del("r.compliance")
	incomplete.Set("action", "final")
	bad := v.post(itemPath(it), incomplete)
	bad.mustContain(t, http.StatusBadRequest, `id="err-compliance" aria-live="polite">not rated`, `id="r-attitude-4" value="4" checked`, "语气亲切")
	// The top of the rubric names the dimension, linked, not the API's
	// field path (ratings[compliance]).
	bad.mustContain(t, http.StatusBadRequest, `id="form-error">未提交:这些维度需要处理(见红字): <a href="#dim-compliance">`)
	if strings.Contains(bad.Body, "ratings[compliance]") {
		t.Fatal("the review page shows the API's field path ratings[compliance]")
	}
	// What was typed with the refused finalise is kept as a draft (the
	// click can beat the page's autosave).
	incomplete.Set("suggestions", "下次先核实身份")
	v.post(itemPath(it), incomplete).mustContain(t, http.StatusBadRequest, "下次先核实身份")
	kept, err := v.h.reviewClient().OpenItem(v.Ctx, &qav1.OpenItemRequest{Id: it.GetId()})
	if err != nil || len(kept.GetDraft().GetSuggestions()) != 1 || kept.GetDraft().GetSuggestions()[0] != "下次先核实身份" {
		t.Fatalf("the draft after a refused finalise: %v, %v", kept.GetDraft(), err)
	}

	final := rateAll()
	final.Set("action", "final")
	p = v.post(itemPath(it), final)
	if p.Code != http.StatusSeeOther || !strings.Contains(p.Location, "?done=") {
		t.Fatalf("finalise answered %d to %q:\n%s", p.Code, p.Location, p.Body)
	}
	done := v.get(p.Location)
	// 100 × (25·4/5 + 20·5/5 + 20·3/5 + 15·5/5) ÷ 80 = 83.75: good.
	done.mustContain(t, http.StatusOK, "已提交", "83.75", "良好", `id="next-item"`, "开场白规范", "回复及时", "主动告知退款时效")
	if strings.Contains(done.Body, `id="review-form"`) {
		t.Fatal("a final review is still editable")
	}
	next := regexp.MustCompile(`id="next-item" href="/review/(\d+)"`).FindStringSubmatch(done.Body)
	if next == nil || next[1] == strconv.FormatInt(it.GetId(), 10) {
		t.Fatalf("next item link %v", next)
	}
	// The finished review is listed and reads back.
	list := v.get("/reviews")
	list.mustContain(t, http.StatusOK, "已完成的质检", "83.75", "良好")
	for _, a := range seedAgents {
		if a.GetAgentId() == it.GetAgentId() {
			list.mustContain(t, http.StatusOK, a.GetName()+` <span class="muted small">(`+a.GetAgentId()+")</span>")
		}
	}
	id := regexp.MustCompile(`href="/reviews/(\d+)"`).FindStringSubmatch(list.Body)
	if id == nil {
		t.Fatalf("no review link:\n%s", list.Body)
	}
	v.get("/reviews/"+id[1]).mustContain(t, http.StatusOK, "83.75", "服务态度", "语气亲切", "整体不错", `id="msg-1"`)
	// Nobody else reads it: another inspector gets the not-found page.
	h.as(store.RoleInspector, "insp-2").get("/reviews/"+id[1]).mustContain(t, http.StatusNotFound)
	// Finalising again is refused with the server's words.
	v.post(itemPath(it), final).mustContain(t, http.StatusPreconditionFailed, "already has a final review")
}

func TestSkipAndReleaseLeaveTheQueue(t *testing.T) {
	h := startHarness(t)
	v := h.as(store.RoleInspector, "insp-1")
	items := h.queue("insp-1")
	skip, release := items[0], items[1]
	// A skip without a reason is the API's field message.
	// It comes back on the item's page, the skip form open with the
	// message beside the reason, not on an error page away from the item.
	refused := v.post(itemPath(skip)+"/skip", url.Values{"reason": {"other"}, "reason_text": {" "}})
	refused.mustContain(t, http.StatusBadRequest, `<details class="card skip-release" open>`, `id="skip-other" checked`, `id="skip-error">required`, `id="review-form"`)
	p := v.post(itemPath(skip)+"/skip", url.Values{"reason": {"spam"}})
	if p.Code != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/queue?") {
		t.Fatalf("skip answered %d to %q:\n%s", p.Code, p.Location, p.Body)
	}
	v.get(p.Location).mustContain(t, http.StatusOK, "已跳过第 "+strconv.FormatInt(skip.GetId(), 10)+" 条")
	p = v.post(itemPath(release)+"/release", nil)
	if p.Code != http.StatusSeeOther {
		t.Fatalf("release answered %d:\n%s", p.Code, p.Body)
	}
	v.get(p.Location).mustContain(t, http.StatusOK, "已退回待分配池")
	for _, it := range h.queue("insp-1") {
		if it.GetId() == skip.GetId() || it.GetId() == release.GetId() {
			t.Fatalf("item %d is still queued (%s)", it.GetId(), it.GetStatus())
		}
	}
	// A form without the CSRF proof changes nothing.
	third := h.queue("insp-1")[0]
	if p := v.post(itemPath(third)+"/release", url.Values{"csrf": {"forged"}}); p.Code != http.StatusForbidden {
		t.Fatalf("forged CSRF answered %d", p.Code)
	}
}

// TestDisputedItemIsReScoredOnTheReviewPage: a supervisor disputes a
// final review; the inspector it goes to sees it in their queue as a
// re-scoring, the review page shows the dispute's reason and the
// contested score, and their new review supersedes the old one.
func TestDisputedItemIsReScoredOnTheReviewPage(t *testing.T) {
	h := startHarness(t)
	it := h.firstItem("insp-1")
	review := qav1.NewReviewServiceClient(h.conn)
	insp1 := h.grpcAs(store.RoleInspector, "insp-1")
	ratings := []*qav1.DimensionRating{{Key: "attitude", Value: 1}, {Key: "knowledge", Value: 2}, {Key: "efficiency", Value: 2}, {Key: "communication", Value: 2}, {Key: "compliance", Value: 2}}
	done, err := review.SubmitReview(insp1, &qav1.SubmitReviewRequest{ItemId: it.GetId(), Ratings: ratings, Final: true})
	if err != nil {
		t.Fatal(err)
	}
	sup := "sup-1"
	if it.GetAgentId() == "agent-wf" {
		sup = "sup-2"
	}
	d, err := qav1.NewFeedbackServiceClient(h.conn).OpenDispute(h.grpcAs(store.RoleSupervisor, sup), &qav1.OpenDisputeRequest{ReviewId: done.GetReview().GetId(), Reason: "客户事后确认问题已解决"})
	if err != nil {
		t.Fatal(err)
	}
	v := h.as(store.RoleInspector, d.GetDispute().GetAssigneeId())
	v.get("/queue?week=all&status=disputed").mustContain(t, http.StatusOK, "申诉重评", `href="`+itemPath(it)+`"`, "重新评分")
	v.get(itemPath(it)).mustContain(t, http.StatusOK, "客户事后确认问题已解决", done.GetReview().GetScoreText(), `id="review-form"`)
	final := rateAll()
	final.Set("action", "final")
	p := v.post(itemPath(it), final)
	if p.Code != http.StatusSeeOther {
		t.Fatalf("re-score answered %d:\n%s", p.Code, p.Body)
	}
	v.get(p.Location).mustContain(t, http.StatusOK, "83.75", "良好")
	// The first inspector's list shows their review as retracted.
	h.as(store.RoleInspector, "insp-1").get("/reviews").mustContain(t, http.StatusOK, "已撤销")
}

func (h *harness) reviewClient() qav1.ReviewServiceClient { return qav1.NewReviewServiceClient(h.conn) }

// TestSamplingReasonLabels: a pick's reason reads in words in both
// languages, a check rule by the name its hints carry, a tag rule with its
// tag; an admin's own rule and an unknown check keep their names.
func TestSamplingReasonLabels(t *testing.T) {
	for _, c := range []struct{ lang, reason, want string }{
		{langZH, "random", "随机抽样"},
		{langZH, "check:no_empathy", "自动检查:投诉未致歉或共情"},
		{langZH, "check:forbidden_phrase", "自动检查:禁用语"},
		{langEN, "check:slow_first_response", "Check: Slow first response"},
		{langZH, "tag:差评", "标签:差评"},
		{langEN, "tag:差评", "Tag: 差评"},
		{langZH, "check:retired_check", "check:retired_check"},
		{langZH, "退款_大额", "退款_大额"},
		{langZH, "tag:", "tag:"},
	} {
		if got := samplingReasonLabel(&View{Lang: c.lang}, c.reason); got != c.want {
			t.Errorf("%s %q: %q, want %q", c.lang, c.reason, got, c.want)
		}
	}
}

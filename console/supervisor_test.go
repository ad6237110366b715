package console

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/store"
)

// The supervisor's pages against a real server (harness_test.go): sup-1
// supervises agent-zw and agent-ln (team-east), sup-2 agent-wf (team-west).

// finalised is a review finalised for the supervisor tests, with its
// feedback record.
type finalised struct {
	Review *qav1.Review
	Record *qav1.FeedbackRecord
}

// finalise scores and finalises n items of agentID in the harness's last
// week, each with the ratings given (key=value; "na" for N/A), the flags
// and a comment on the first dimension.
func (h *harness) finalise(agentID string, n int, ratings map[string]string, flags ...string) []finalised {
	h.t.Helper()
	var out []finalised
	for _, in := range seedInspectors {
		ctx := h.grpcAs(store.RoleInspector, in.GetId())
		for _, it := range h.queue(in.GetId()) {
			if len(out) == n {
				return out
			}
			if it.GetAgentId() != agentID || !strings.HasPrefix(it.GetExternalId(), h.Week) {
				continue
			}
			var rs []*qav1.DimensionRating
			for _, key := range []string{"attitude", "knowledge", "efficiency", "communication", "compliance"} {
				r := &qav1.DimensionRating{Key: key}
				switch v := ratings[key]; v {
				case "na":
					r.Na = true
				case "":
					r.Value = 4
				default:
					n, _ := strconv.Atoi(v)
					r.Value = int32(n)
				}
				if key == "attitude" {
					r.Comment = "开场问候热情，称呼得体"
				}
				rs = append(rs, r)
			}
			resp, err := qav1.NewReviewServiceClient(h.conn).SubmitReview(ctx, &qav1.SubmitReviewRequest{
				ItemId: it.GetId(), Ratings: rs, Flags: flags, Final: true,
				Strengths: []string{"回复及时"}, Suggestions: []string{"结束前确认客户的问题已解决"},
			})
			if err != nil {
				h.t.Fatalf("finalising item %d: %v", it.GetId(), err)
			}
			out = append(out, finalised{Review: resp.GetReview(), Record: resp.GetFeedback()})
		}
	}
	if len(out) < n {
		h.t.Fatalf("only %d items of %s to finalise, want %d", len(out), agentID, n)
	}
	return out
}

// idsIn lists the data-id of the records in a page section, in order.
func idsIn(body, sectionID string) []string {
	start := strings.Index(body, `id="`+sectionID+`"`)
	if start < 0 {
		return nil
	}
	rest := body[start:]
	if end := strings.Index(rest, "</ul>"); end >= 0 {
		rest = rest[:end]
	}
	var out []string
	for _, m := range regexp.MustCompile(`data-id="(\d+)"`).FindAllStringSubmatch(rest, -1) {
		out = append(out, m[1])
	}
	return out
}

func idOf(f finalised) string { return strconv.FormatInt(f.Record.GetId(), 10) }

func TestInboxUnacknowledgedFirstNewestOnTop(t *testing.T) {
	onBackends(t, func(t *testing.T, h *harness) {
		zw := h.finalise("agent-zw", 2, nil)
		ln := h.finalise("agent-ln", 1, map[string]string{"attitude": "1", "efficiency": "1"})
		wf := h.finalise("agent-wf", 1, nil)
		sup := h.as(store.RoleSupervisor, "sup-1")
		if _, err := qav1.NewFeedbackServiceClient(h.conn).AcknowledgeFeedback(sup.Ctx, &qav1.AcknowledgeFeedbackRequest{Id: zw[0].Record.GetId(), Note: "已沟通开场话术"}); err != nil {
			t.Fatal(err)
		}
		p := sup.get("/inbox")
		p.mustContain(t, http.StatusOK, "反馈收件箱", "待确认", "已确认", "已沟通开场话术", "需辅导", `src="/static/inbox.js"`,
			`<span class="record-agent">张伟 <span class="record-id">agent-zw</span></span>`, "李娜")
		if got, want := idsIn(p.Body, "unacked-list"), []string{idOf(ln[0]), idOf(zw[1])}; strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("unacknowledged list %v, want %v (newest first)", got, want)
		}
		if strings.Contains(p.Body, `data-id="`+idOf(wf[0])+`"`) {
			t.Errorf("sup-1's inbox shows sup-2's record %s", idOf(wf[0]))
		}
		// The stream resumes after the newest record on the page.
		if !strings.Contains(p.Body, `"cursor":"`+idOf(ln[0])+`"`) {
			t.Errorf("inbox's live cursor is not %s:\n%s", idOf(ln[0]), p.Body)
		}
		// No inline script or style: the CSP allows neither.
		if strings.Contains(p.Body, "style=") || regexp.MustCompile(`<script>|<script [^>]*>[^<]*[a-z(]+\(`).MatchString(p.Body) {
			t.Errorf("inline script or style on the inbox")
		}
		h.as(store.RoleSupervisor, "sup-3").get("/inbox").mustContain(t, http.StatusOK, "没有待确认的反馈")
		// Inspectors and admins have no inbox.
		h.as(store.RoleInspector, "insp-1").get("/inbox").mustContain(t, http.StatusNotFound, "找不到")
		h.as(store.RoleAdmin, "lead").get("/inbox").mustContain(t, http.StatusNotFound)
	})
}

func TestFeedbackRecordShowsEverythingAndTheChat(t *testing.T) {
	onBackends(t, func(t *testing.T, h *harness) {
		f := h.finalise("agent-zw", 1, map[string]string{"communication": "na"}, "abusive_language")[0]
		sup := h.as(store.RoleSupervisor, "sup-1")
		path := "/feedback/" + idOf(f)
		p := sup.get(path)
		p.mustContain(t, http.StatusOK, "反馈 #"+idOf(f)+" · 客服 张伟", f.Record.GetScoreText(), "不合格", "服务态度", "开场问候热情，称呼得体", "不适用",
			"回复及时", "结束前确认客户的问题已解决", "红线", f.Review.GetExternalId(), "亲，您好！我是客服", "确认已阅", "发起申诉（截至 ")
		if !regexp.MustCompile(`<span class="badge bad">[^<]+</span> <span class="muted">`).MatchString(p.Body) {
			t.Errorf("the raised flag is not named with its description:\n%s", p.Body)
		}
		// The dispute button says until when, in the programme's zone.
		rec, err := qav1.NewFeedbackServiceClient(h.conn).GetFeedback(sup.Ctx, &qav1.GetFeedbackRequest{Id: f.Record.GetId()})
		if err != nil {
			t.Fatal(err)
		}
		until := rec.GetDisputeClosesAt().AsTime().In(programmeZone).Format("2006-01-02 15:04")
		p.mustContain(t, http.StatusOK, "发起申诉（截至 "+until+"）")

		// English on request.
		sup.get(path+"?lang=en").mustContain(t, http.StatusOK, "Fail", "Acknowledge", "Dispute (until "+until+")")

		// Another supervisor's record is the not-found page, like a missing one.
		other := h.as(store.RoleSupervisor, "sup-2")
		for _, pth := range []string{path, "/feedback/99999", "/feedback/abc", "/feedback/-1"} {
			other.get(pth).mustContain(t, http.StatusNotFound, "找不到该页面或记录")
		}
		if body := other.get(path).Body; strings.Contains(body, f.Review.GetExternalId()) || strings.Contains(body, "开场问候") {
			t.Errorf("the not-found page leaks the record")
		}
		other.post(path+"/acknowledge", url.Values{"note": {"x"}}).mustContain(t, http.StatusNotFound)

		// An admin reads it, without the supervisor's forms.
		ap := h.as(store.RoleAdmin, "lead").get(path)
		ap.mustContain(t, http.StatusOK, f.Record.GetScoreText())
		if strings.Contains(ap.Body, `action="`+path+`/acknowledge"`) {
			t.Errorf("an admin is offered the acknowledge form")
		}
	})
}

func TestAcknowledgeWithACoachingNote(t *testing.T) {
	onBackends(t, func(t *testing.T, h *harness) {
		f := h.finalise("agent-ln", 1, nil)[0]
		sup := h.as(store.RoleSupervisor, "sup-1")
		path := "/feedback/" + idOf(f)

		// Without the CSRF proof the form is refused and nothing changes.
		p := sup.post(path+"/acknowledge", url.Values{"note": {"x"}, "csrf": {"forged"}})
		p.mustContain(t, http.StatusForbidden)

		// A note too long: the service's message next to the field, the
		// typed text kept.
		long := strings.Repeat("长", 6000)
		p = sup.post(path+"/acknowledge", url.Values{"note": {long}})
		p.mustContain(t, http.StatusBadRequest, `id="note-error"`, `aria-invalid="true"`, long)
		if strings.Contains(p.Body, "error 400") {
			t.Errorf("a bare status instead of the service's message")
		}
		got, err := qav1.NewFeedbackServiceClient(h.conn).GetFeedback(sup.Ctx, &qav1.GetFeedbackRequest{Id: f.Record.GetId()})
		if err != nil || got.GetRecord().GetAcknowledgedAt() != nil {
			t.Fatalf("refused forms acknowledged the record: %v, %v", got.GetRecord(), err)
		}

		p = sup.post(path+"/acknowledge", url.Values{"note": {"已和李娜复盘：先安抚再核实订单。"}})
		if p.Code != http.StatusSeeOther || !strings.HasPrefix(p.Location, path+"?done=ack") {
			t.Fatalf("acknowledge answered %d to %q:\n%s", p.Code, p.Location, p.Body)
		}
		got, err = qav1.NewFeedbackServiceClient(h.conn).GetFeedback(sup.Ctx, &qav1.GetFeedbackRequest{Id: f.Record.GetId()})
		if err != nil || got.GetRecord().GetAcknowledgedAt() == nil || got.GetRecord().GetCoachingNote() != "已和李娜复盘：先安抚再核实订单。" || got.GetRecord().GetAcknowledgedBy() != "sup-1" {
			t.Fatalf("after acknowledging: %v, %v", got.GetRecord(), err)
		}
		sup.get(p.Location).mustContain(t, http.StatusOK, "已确认。", "已和李娜复盘：先安抚再核实订单。", "更新辅导记录")
		// Out of the unacknowledged list, into the acknowledged one.
		inbox := sup.get("/inbox").Body
		if ids := idsIn(inbox, "unacked-list"); len(ids) != 0 {
			t.Errorf("still to acknowledge: %v", ids)
		}
		if !strings.Contains(inbox, "已和李娜复盘") {
			t.Errorf("the acknowledged list lacks the note")
		}
	})
}

func TestDisputeFromTheRecord(t *testing.T) {
	onBackends(t, func(t *testing.T, h *harness) {
		f := h.finalise("agent-zw", 1, nil)[0]
		sup := h.as(store.RoleSupervisor, "sup-1")
		path := "/feedback/" + idOf(f)

		// No reason: the service's message next to the reason.
		p := sup.post(path+"/dispute", url.Values{"reason": {"  "}})
		p.mustContain(t, http.StatusBadRequest, `id="reason-error"`, "required")

		p = sup.post(path+"/dispute", url.Values{"reason": {"客户原话被误读，态度分偏低"}})
		if p.Code != http.StatusSeeOther {
			t.Fatalf("dispute answered %d:\n%s", p.Code, p.Body)
		}
		ds, err := qav1.NewFeedbackServiceClient(h.conn).ListDisputes(sup.Ctx, &qav1.ListDisputesRequest{})
		if err != nil || len(ds.GetDisputes()) != 1 || ds.GetDisputes()[0].GetReviewId() != f.Review.GetId() || ds.GetDisputes()[0].GetReason() != "客户原话被误读，态度分偏低" {
			t.Fatalf("disputes after the form: %v, %v", ds.GetDisputes(), err)
		}
		open := fmt.Sprintf("申诉 #%d 处理中", ds.GetDisputes()[0].GetId())
		page := sup.get(p.Location)
		page.mustContain(t, http.StatusOK, "申诉已提交", open)
		if strings.Contains(page.Body, `action="`+path+`/dispute"`) {
			t.Errorf("the dispute form is still offered with a dispute open")
		}
		// The language switch of a refused form leads back to the record.
		if back := sup.get(path + "/dispute?lang=en"); back.Code != http.StatusSeeOther || back.Location != path+"?lang=en" {
			t.Errorf("GET of the form's address answered %d to %q", back.Code, back.Location)
		}
		// The inbox and the agent page mark the record 申诉中 while the
		// dispute is open.
		disputedBadge := `<span class="badge warn">申诉中</span>`
		sup.get("/inbox").mustContain(t, http.StatusOK, disputedBadge)
		sup.get("/agents/agent-zw").mustContain(t, http.StatusOK, disputedBadge)
		// A second dispute is refused with the service's words on the page.
		sup.post(path+"/dispute", url.Values{"reason": {"again"}}).mustContain(t, http.StatusConflict, "already has open dispute")

		// Another inspector re-scores it: the old record points to the new
		// one, which says what it replaced, and no longer offers a dispute.
		d := ds.GetDisputes()[0]
		var ratings []*qav1.DimensionRating
		for _, r := range f.Review.GetRatings() {
			ratings = append(ratings, &qav1.DimensionRating{Key: r.GetKey(), Value: 5, Na: r.GetNa()})
		}
		rescored, err := qav1.NewReviewServiceClient(h.conn).SubmitReview(h.grpcAs(store.RoleInspector, d.GetAssigneeId()),
			&qav1.SubmitReviewRequest{ItemId: f.Review.GetItemId(), Ratings: ratings, Final: true})
		if err != nil {
			t.Fatal(err)
		}
		next := strconv.FormatInt(rescored.GetFeedback().GetId(), 10)
		old := sup.get(path)
		old.mustContain(t, http.StatusOK, "此评分已在申诉后被复核替换", `href="/feedback/`+next+`"`, "此评分已被替换，请对新记录申诉")
		if strings.Contains(old.Body, `action="`+path+`/dispute"`) {
			t.Errorf("a replaced record offers a dispute")
		}
		sup.get("/feedback/"+next).mustContain(t, http.StatusOK, "这是申诉后的复核评分", `href="`+path+`"`, "发起申诉（截至 ")
		if inbox := sup.get("/inbox"); strings.Contains(inbox.Body, disputedBadge) {
			t.Errorf("the inbox still marks a record 申诉中 after the re-score")
		} else if !strings.Contains(inbox.Body, `<span class="badge">已被复核替换</span>`) {
			t.Errorf("the inbox does not mark the replaced record")
		}
	})
}

func TestAgentReportPage(t *testing.T) {
	onBackends(t, func(t *testing.T, h *harness) {
		h.finalise("agent-zw", 3, map[string]string{"efficiency": "1"})
		h.finalise("agent-zw", 1, nil, "privacy_leak")
		sup := h.as(store.RoleSupervisor, "sup-1")
		p := sup.get("/agents/agent-zw")
		p.mustContain(t, http.StatusOK, "张伟", `<svg class="week-chart wide"`, `<svg class="week-chart phone"`, "<title id=\"agent-chart-title\">每周平均分及其 95% 置信区间</title>",
			"<desc id=\"agent-chart-desc\">", "以表格查看", h.Week, "解决效率", "<meter", "Leak of customer data", "最近的反馈", "近 12 周")
		// One point per week with reviews, a whisker where there is an interval.
		if n := strings.Count(p.Body, "<circle "); n != 2 {
			t.Errorf("%d points, want 2 (one week with reviews, drawn wide and for a phone)", n)
		}
		if !strings.Contains(p.Body, `class="whisker"`) {
			t.Errorf("no whisker for a week of 4 reviews")
		}
		sup.get("/agents/agent-zw?weeks=4").mustContain(t, http.StatusOK, `aria-current="true">近 4 周`)
		sup.get("/agents/agent-zw?weeks=5").mustContain(t, http.StatusBadRequest, "weeks")

		// Another supervisor's agent, or none: the not-found page.
		sup.get("/agents/agent-wf").mustContain(t, http.StatusNotFound, "找不到该页面或记录")
		sup.get("/agents/nobody").mustContain(t, http.StatusNotFound)
		// Admins see every agent.
		h.as(store.RoleAdmin, "lead").get("/agents/agent-wf").mustContain(t, http.StatusOK, "王芳")
		h.as(store.RoleInspector, "insp-1").get("/agents/agent-zw").mustContain(t, http.StatusNotFound)
	})
}

func TestTeamPageSortsOnTheServer(t *testing.T) {
	onBackends(t, func(t *testing.T, h *harness) {
		h.finalise("agent-zw", 2, map[string]string{"attitude": "5", "knowledge": "5"})
		h.finalise("agent-ln", 2, map[string]string{"efficiency": "1", "compliance": "1"})
		sup := h.as(store.RoleSupervisor, "sup-1")
		order := func(body string) []string {
			var out []string
			for _, m := range regexp.MustCompile(`<a href="/agents/([a-z-]+)">`).FindAllStringSubmatch(body, -1) {
				out = append(out, m[1])
			}
			return out
		}
		p := sup.get("/team")
		p.mustContain(t, http.StatusOK, "团队 team-east", "共性问题", "解决效率", `aria-sort="ascending"`, "张伟", "李娜")
		if got := order(p.Body); strings.Join(got, ",") != "agent-ln,agent-zw" {
			t.Errorf("default order %v, want by agent id", got)
		}
		p = sup.get("/team?sort=mean&dir=desc")
		if got := order(p.Body); strings.Join(got, ",") != "agent-zw,agent-ln" {
			t.Errorf("by mean, highest first: %v", got)
		}
		if !strings.Contains(p.Body, `aria-sort="descending"`) {
			t.Errorf("the sorted column does not say so")
		}
		if got := order(sup.get("/team?sort=mean&dir=asc").Body); strings.Join(got, ",") != "agent-ln,agent-zw" {
			t.Errorf("by mean, lowest first: %v", got)
		}
		if strings.Contains(p.Body, "王芳") {
			t.Errorf("sup-1's team page shows sup-2's agent")
		}
		sup.get("/team?team=team-west").mustContain(t, http.StatusNotFound)

		// An admin picks a team; the menu's "Reports" leads here.
		admin := h.as(store.RoleAdmin, "lead")
		ap := admin.get("/team")
		ap.mustContain(t, http.StatusOK, `<select id="team" name="team">`, "team-east", "team-west", `href="/team" aria-current="page"`)
		admin.get("/team?team=team-west").mustContain(t, http.StatusOK, "王芳")
		h.as(store.RoleSupervisor, "sup-9").get("/team").mustContain(t, http.StatusOK, "没有可查看的团队")
	})
}

func TestWeekChartGeometry(t *testing.T) {
	v := &View{Lang: langZH}
	trend := []*qav1.WeekPoint{
		{Week: "2026-W01", Reviews: 3, Mean: 80, Ci95: &qav1.ConfidenceInterval{Low: 70, High: 90}},
		{Week: "2026-W02"},
		{Week: "2026-W03", Reviews: 1, Mean: 50},
	}
	c := newWeekChart(v, "c", trend, 72.5, 4)
	if len(c.Points) != 2 || !c.Points[0].Whisker || c.Points[1].Whisker {
		t.Fatalf("points %+v: want two, a whisker on the first only", c.Points)
	}
	p := c.Points[0]
	if !(p.High < p.Y && p.Y < p.Low) || p.Y != chartY(80) || p.Low != chartY(70) {
		t.Errorf("first point %+v: the whisker must straddle the mean, higher scores higher up", p)
	}
	if chartY(100) != chartTop || chartY(0) != chartHeight-chartBottom || chartY(120) != chartTop {
		t.Errorf("the axis runs 0..100 bottom to top (clamped)")
	}
	if len(c.XTicks) != 3 || c.XTicks[2].Label != "W03" || len(c.YTicks) != 6 {
		t.Errorf("ticks x %+v y %+v", c.XTicks, c.YTicks)
	}
	if !c.HasMean || c.Empty || !strings.Contains(c.Desc, "共 3 周，其中 2 周有评分") || !strings.Contains(c.Desc, "2026-W03：50.0 分，1 条评分") {
		t.Errorf("desc %q mean %v empty %v", c.Desc, c.HasMean, c.Empty)
	}
	var many []*qav1.WeekPoint
	for i := range 52 {
		many = append(many, &qav1.WeekPoint{Week: fmt.Sprintf("2026-W%02d", i+1)})
	}
	c = newWeekChart(v, "c", many, 0, 0)
	if len(c.XTicks) > chartMaxLabels || c.XTicks[len(c.XTicks)-1].Label != "W52" || !c.Empty || c.HasMean {
		t.Errorf("52 empty weeks: %d labels, last %q, empty %v", len(c.XTicks), c.XTicks[len(c.XTicks)-1].Label, c.Empty)
	}
	if ph := c.Phone; ph == nil || len(ph.XTicks) > chartPhoneMaxLabels || ph.Right != chartPhoneWidth-chartRight || ph.ID != "c-phone" {
		t.Errorf("the phone's drawing: %+v", ph)
	}
}

func TestTeamTablePages(t *testing.T) {
	q := func() url.Values { return url.Values{"team": {"t"}, "sort": {"mean"}, "dir": {"desc"}} }
	var d teamData
	d.pageLinks(3, 250, q())
	if d.Page != 3 || d.Pages != 3 || d.Agents != 250 || d.Next != "" || d.Prev != "/team?dir=desc&page=2&sort=mean&team=t#agents" {
		t.Errorf("page 3: %+v", d)
	}
	d = teamData{}
	d.pageLinks(1, 250, q())
	if d.Page != 1 || d.Prev != "" || !strings.Contains(d.Next, "page=2") {
		t.Errorf("page 1: prev %q next %q", d.Prev, d.Next)
	}
	d = teamData{}
	d.pageLinks(1, 3, q())
	if d.Pages != 1 || d.Prev != "" || d.Next != "" {
		t.Errorf("one page: %+v", d)
	}
}

// onBackends runs a page test on a harness of each database: SQLite, and
// PostgreSQL when QA_TEST_POSTGRES_DSN is set.
func onBackends(t *testing.T, test func(t *testing.T, h *harness)) {
	for name, dsn := range harnessBackends(t) {
		t.Run(name, func(t *testing.T) { test(t, startHarnessOn(t, dsn)) })
	}
}

// The adjusted-mean note is worded from the server's reason code in the
// page's language, never the server's English text inside a Chinese page.
func TestAdjustmentNoteIsTranslated(t *testing.T) {
	english := "not identifiable: inspector insp-1 has no severity estimate (alone_in_component)"
	s := &qav1.Summary{Reviews: 3, Mean: 80, AdjustmentNote: english, AdjustmentReason: "alone_in_component", AdjustmentInspectorId: "insp-1"}
	zh := newSummaryView(&View{Lang: langZH}, s).AdjustNote
	if zh == english || !strings.Contains(zh, "insp-1") || !strings.Contains(zh, "没有与其他质检员评过相同坐席") || strings.Contains(zh, "alone_in_component") {
		t.Errorf("zh-CN note %q: want the Chinese reason naming insp-1", zh)
	}
	if en := newSummaryView(&View{Lang: langEN}, s).AdjustNote; !strings.Contains(en, "insp-1") || !strings.Contains(en, "shares no agents with other inspectors") {
		t.Errorf("en note %q: want the catalogue's reason naming insp-1", en)
	}
	for _, reason := range []string{"one_agent", "too_few_reviews", "only_critical_reviews", "no_estimate", "some_future_reason", "fit_outdated"} {
		s := &qav1.Summary{Reviews: 1, AdjustmentNote: "english text", AdjustmentReason: reason, AdjustmentInspectorId: "insp-2"}
		if zh := newSummaryView(&View{Lang: langZH}, s).AdjustNote; zh == "" || strings.Contains(zh, "english") || strings.Contains(zh, reason) || strings.Contains(zh, "%!") {
			t.Errorf("reason %s: zh-CN note %q", reason, zh)
		}
	}
	// A server without reason codes: its note is all there is.
	if old := newSummaryView(&View{Lang: langZH}, &qav1.Summary{Reviews: 1, AdjustmentNote: english}).AdjustNote; old != english {
		t.Errorf("without a code the note is %q, want the server's", old)
	}
}

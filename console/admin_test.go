package console

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"qa-sampling/isoweek"
	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/store"
)

// seedUnrunWeek pushes chats of every seeded agent into the week before
// the harness's earlier week, which nothing has sampled: the week a QA
// lead previews and runs.
func (h *harness) seedUnrunWeek() string {
	h.t.Helper()
	last, err := isoweek.Parse(h.EarlierWeek)
	if err != nil {
		h.t.Fatal(err)
	}
	week := last.Prev()
	ingestCtx := h.grpcAs(store.RoleIngest, "platform")
	ingest := qav1.NewIngestServiceClient(h.conn)
	monday, _ := week.Bounds(programmeZone)
	for _, a := range seedAgents {
		for i := range 6 {
			start := monday.Add(time.Duration(24*(i%5)+10)*time.Hour + time.Duration(i)*13*time.Minute)
			if _, err := ingest.PushTranscript(ingestCtx, &qav1.PushTranscriptRequest{Transcript: seedChat(a.GetAgentId(), week.String(), i, start)}); err != nil {
				h.t.Fatal(err)
			}
		}
	}
	return week.String()
}

func (h *harness) runsOf(week string) []*qav1.Run {
	h.t.Helper()
	resp, err := qav1.NewSamplingServiceClient(h.conn).ListRuns(h.Admin, &qav1.ListRunsRequest{Week: week})
	if err != nil {
		h.t.Fatal(err)
	}
	return resp.GetRuns()
}

func (h *harness) pick(id int64) *qav1.Pick {
	h.t.Helper()
	resp, err := qav1.NewSamplingServiceClient(h.conn).ListPicks(h.Admin, &qav1.ListPicksRequest{PageSize: 1000})
	if err != nil {
		h.t.Fatal(err)
	}
	for _, p := range resp.GetPicks() {
		if p.GetId() == id {
			return p
		}
	}
	h.t.Fatalf("no pick %d", id)
	return nil
}

// follow fetches the page a redirect points to.
func (v *visitor) follow(t *testing.T, p page) page {
	t.Helper()
	if p.Code != http.StatusSeeOther || !localPath(p.Location) {
		t.Fatalf("want a redirect within the console, got %d to %q:\n%s", p.Code, p.Location, p.Body)
	}
	return v.get(p.Location)
}

var commitmentRe = regexp.MustCompile(`id="preview-commitment">([0-9a-f]{64})<`)

func TestAdminPreviewsAndRunsAWeek(t *testing.T) {
	h := startHarness(t)
	week := h.seedUnrunWeek()
	lead := h.as(store.RoleAdmin, "lead")

	weeks := lead.get("/weeks")
	weeks.mustContain(t, http.StatusOK, "周次与抽样", h.Week, h.EarlierWeek, "种子承诺值")
	if strings.Contains(weeks.Body, `href="/weeks/`+week+`"`) {
		t.Fatalf("%s is listed as run before it was run", week)
	}

	// The form's preview button goes to the week's preview.
	if p := lead.post("/weeks/go", url.Values{"week": {week}}); p.Location != "/weeks/"+week+"/preview" {
		t.Fatalf("preview button answered %d to %q", p.Code, p.Location)
	}
	preview := lead.get("/weeks/" + week + "/preview")
	preview.mustContain(t, http.StatusOK, week, "按抽样原因", "按坐席", "agent-zw", "agent-ln", "agent-wf", "<td>随机抽样</td>", "随机抽样 ×",
		`张伟 <span class="muted small">(agent-zw)</span>`, `王芳 <span class="muted small">(agent-wf)</span>`)
	m := commitmentRe.FindStringSubmatch(preview.Body)
	if m == nil {
		t.Fatalf("no seed commitment on the preview:\n%s", preview.Body)
	}
	if len(h.runsOf(week)) != 0 {
		t.Fatal("the preview stored a run")
	}

	done := lead.follow(t, lead.post("/weeks/run", url.Values{"week": {week}}))
	runs := h.runsOf(week)
	if len(runs) != 1 {
		t.Fatalf("runs of %s after the run: %d", week, len(runs))
	}
	run := runs[0]
	if run.GetAgents() != int32(len(seedAgents)) {
		t.Fatalf("the run covers %d agents, want %d", run.GetAgents(), len(seedAgents))
	}
	if run.GetSeedCommitment() != m[1] {
		t.Fatalf("the run's commitment %s is not the preview's %s", run.GetSeedCommitment(), m[1])
	}
	done.mustContain(t, http.StatusOK, "抽样已完成:抽取 "+strconv.Itoa(int(run.GetPicks()))+" 条会话。", `href="/weeks/`+week+`"`, run.GetSeedCommitment(), run.GetSeed(),
		"覆盖坐席")
	lead.get("/weeks/"+week).mustContain(t, http.StatusOK, "覆盖坐席 3", `李娜 <span class="muted small">(agent-ln)</span>`)
	// Who started the run, in words (the API says manual:lead).
	if weeks := lead.get("/weeks"); !strings.Contains(weeks.Body, "lead 手动发起") || strings.Contains(weeks.Body, "manual:lead") {
		t.Fatal("the weeks page does not say in words who started the run")
	}

	// Running it again picks nothing twice and says so.
	again := lead.follow(t, lead.post("/weeks/run", url.Values{"week": {week}}))
	again.mustContain(t, http.StatusOK, "未重复抽取")
	if n := len(h.runsOf(week)); n != 1 {
		t.Fatalf("a second run made %d runs", n)
	}
	// A top-up with no late chats adds nothing, and is recorded.
	top := lead.follow(t, lead.post("/weeks/run", url.Values{"week": {week}, "action": {"topup"}}))
	top.mustContain(t, http.StatusOK, "补抽完成:新增 0 条。")
	if ups := h.runsOf(week)[0].GetTopUps(); len(ups) != 1 {
		t.Fatalf("top-ups after one: %d", len(ups))
	}
	// The week's preview now says what a top-up would add.
	lead.get("/weeks/"+week+"/preview").mustContain(t, http.StatusOK, "现在补抽会新增")
}

func TestAdminRunOfAWeekNotEndedIsRefusedInTheServersWords(t *testing.T) {
	h := startHarness(t)
	lead := h.as(store.RoleAdmin, "lead")
	current := isoweek.Of(time.Now(), programmeZone).String()
	p := lead.post("/weeks/run", url.Values{"week": {current}})
	p.mustContain(t, http.StatusPreconditionFailed, "服务器拒绝了", current, `id="week-refusal"`)
	if len(h.runsOf(current)) != 0 {
		t.Fatal("a week that has not ended was run")
	}
	// A malformed week gets the API's message on the week field.
	lead.post("/weeks/run", url.Values{"week": {"2026-47"}}).mustContain(t, http.StatusBadRequest, `id="week-refusal"`)
	lead.post("/weeks/go", url.Values{"week": {"soon"}}).mustContain(t, http.StatusBadRequest, "2026-W47")
	// A top-up of a week never run is refused too.
	lead.post("/weeks/run", url.Values{"week": {current}, "action": {"topup"}}).mustContain(t, http.StatusPreconditionFailed, `id="week-refusal"`)
	// The current week can be previewed, not run.
	lead.get("/weeks/"+current+"/preview").mustContain(t, http.StatusOK, "该周尚未结束")
}

func TestAdminFiltersTheWeeksPicks(t *testing.T) {
	h := startHarness(t)
	lead := h.as(store.RoleAdmin, "lead")
	all := lead.get("/weeks/" + h.Week)
	all.mustContain(t, http.StatusOK, h.Week, "agent-zw", "agent-wf", "insp-1", "insp-2")
	mine := lead.get("/weeks/" + h.Week + "?inspector=insp-1")
	mine.mustContain(t, http.StatusOK, "insp-1")
	if strings.Contains(mine.Body, `<a href="/inspectors?inspector=insp-2">`) {
		t.Fatal("the inspector filter shows another inspector's picks")
	}
	agent := lead.get("/weeks/" + h.Week + "?agent=agent-wf")
	if strings.Contains(agent.Body, "(agent-zw)") || !strings.Contains(agent.Body, `<td>王芳 <span class="muted small">(agent-wf)</span></td>`) {
		t.Fatalf("the agent filter:\n%s", agent.Body)
	}
	lead.get("/weeks/"+h.Week+"?status=reviewed").mustContain(t, http.StatusOK, "没有符合筛选条件的抽样。")
	reason := lead.get("/weeks/" + h.Week + "?reason=random")
	reason.mustContain(t, http.StatusOK, "<td>随机抽样</td>") // the reason in words, not its code
	if strings.Contains(reason.Body, "<td>投诉</td>") || strings.Contains(reason.Body, "<td>complaint</td>") {
		t.Fatal("the reason filter lets other reasons through")
	}
	// Paging: one pick a page is not offered, but a bad token is the API's refusal.
	lead.get("/weeks/"+h.Week+"?page_token=nonsense").mustContain(t, http.StatusBadRequest, "page_token")
	lead.get("/weeks/not-a-week").mustContain(t, http.StatusNotFound)
}

func TestAdminReassignsItems(t *testing.T) {
	h := startHarness(t)
	lead := h.as(store.RoleAdmin, "lead")
	items := h.queue("insp-1")
	if len(items) < 2 {
		t.Fatalf("insp-1 has %d items", len(items))
	}
	page := lead.get("/inspectors?inspector=insp-1")
	page.mustContain(t, http.StatusOK, "陈静", "刘洋", `value="`+strconv.FormatInt(items[0].GetId(), 10)+`"`)

	// One chosen item to insp-2.
	moved := items[0].GetId()
	done := lead.follow(t, lead.post("/inspectors/reassign", url.Values{
		"from": {"insp-1"}, "item": {strconv.FormatInt(moved, 10)}, "to": {"insp-2"}, "reason": {"王芳休假"},
	}))
	done.mustContain(t, http.StatusOK, "已转派 1 条。")
	if got := h.pick(moved).GetInspectorId(); got != "insp-2" {
		t.Fatalf("item %d is with %q, want insp-2", moved, got)
	}
	// A move the server refuses is shown in its words, and nothing moves.
	refused := lead.post("/inspectors/reassign", url.Values{"from": {"insp-1"}, "item": {strconv.FormatInt(items[1].GetId(), 10)}, "to": {"nobody"}})
	refused.mustContain(t, http.StatusOK, "1 条未能转派", "nobody")
	if got := h.pick(items[1].GetId()).GetInspectorId(); got != "insp-1" {
		t.Fatalf("a refused move moved item %d to %q", items[1].GetId(), got)
	}
	// All of insp-1's open items to insp-2.
	left := len(h.queue("insp-1"))
	all := lead.follow(t, lead.post("/inspectors/reassign", url.Values{"from": {"insp-1"}, "to": {"insp-2"}}))
	all.mustContain(t, http.StatusOK, "已转派 "+strconv.Itoa(left)+" 条。")
	if n := len(h.queue("insp-1")); n != 0 {
		t.Fatalf("insp-1 still has %d items", n)
	}
	// The audit trail has the move, with its reason.
	lead.get("/audit?action=pick.reassign").mustContain(t, http.StatusOK, "pick.reassign", "王芳休假")
}

func TestAdminDeactivatesAnInspector(t *testing.T) {
	h := startHarness(t)
	lead := h.as(store.RoleAdmin, "lead")
	done := lead.follow(t, lead.post("/inspectors/active", url.Values{"id": {"insp-2"}, "name": {"刘洋"}, "active": {"0"}}))
	done.mustContain(t, http.StatusOK, "质检员已停用")
	// The row itself says so and offers to activate again (Active is an
	// optional bool: a set false must not read as active).
	row := regexp.MustCompile(`(?s)<tr id="inspector-insp-2"[^>]*>.*?</tr>`).FindString(done.Body)
	if !strings.Contains(row, `<span class="badge">已停用</span>`) || !strings.Contains(row, ">启用</button>") {
		t.Fatalf("insp-2's row after deactivation:\n%s", row)
	}
	lead.follow(t, lead.post("/inspectors/active", url.Values{"id": {"insp-2"}, "name": {"刘洋"}, "active": {"1"}})).mustContain(t, http.StatusOK, "质检员已启用")
}

func TestAdminAddsAnInspector(t *testing.T) {
	h := startHarness(t)
	lead := h.as(store.RoleAdmin, "lead")
	lead.follow(t, lead.post("/inspectors/add", url.Values{"id": {"insp-3"}, "name": {"赵敏"}})).mustContain(t, http.StatusOK, "质检员已添加。", "赵敏")
	lead.post("/inspectors/add", url.Values{"id": {"insp-3"}, "name": {"别人"}}).mustContain(t, http.StatusConflict, "该工号已存在。")
	bad := lead.post("/inspectors/add", url.Values{"id": {""}, "name": {"无名"}})
	bad.mustContain(t, http.StatusBadRequest, `aria-invalid="true"`)
	resp, err := qav1.NewSamplingServiceClient(h.conn).ListInspectors(h.Admin, &qav1.ListInspectorsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, in := range resp.GetInspectors() {
		names = append(names, in.GetId()+"="+in.GetName())
	}
	if got := strings.Join(names, " "); got != "insp-1=陈静 insp-2=刘洋 insp-3=赵敏" {
		t.Fatalf("inspectors on the server: %s", got)
	}
}

func TestAdminPolicyValidationShowsTheFieldsMessage(t *testing.T) {
	h := startHarness(t)
	lead := h.as(store.RoleAdmin, "lead")
	p := lead.get("/policy")
	p.mustContain(t, http.StatusOK, "抽样策略", `name="random_per_agent"`, "Asia/Shanghai", "当前为第 1 版", "例如 Asia/Shanghai(北京时间)")
	form := url.Values{
		"random_per_agent": {"-1"}, "targeted_per_agent": {"2"}, "new_hire_days": {"90"}, "new_hire_extra": {"2"},
		"time_zone": {"Asia/Shanghai"}, "handle_time_percentile": {"0.9"}, "rules": {"complaint\nlow_csat\nno_such_rule"},
		"complaint_tags": {"complaint, 投诉"}, "named_rules": {"[]"}, "action": {"validate"},
	}
	bad := lead.post("/policy", form)
	bad.mustContain(t, http.StatusBadRequest, "must be between 0 and", "no_such_rule")
	// And the top of the page says it was not saved, for who does not scroll.
	bad.mustContain(t, http.StatusBadRequest, `id="policy-not-saved"`, "未保存:下面有")
	// The message sits next to its field, not at the top.
	field := regexp.MustCompile(`(?s)id="p-random_per_agent-err">\s*<span class="field-error">[^<]*must be between 0 and`)
	if !field.MatchString(bad.Body) {
		t.Fatalf("the quota's message is not next to its field:\n%s", bad.Body)
	}
	if v := h.policyVersion(); v != 1 {
		t.Fatalf("validation stored version %d", v)
	}
	// Named rules in JSON: a syntax error is reported on that field.
	form.Set("random_per_agent", "3")
	form.Set("rules", "complaint\nlow_csat\ngold_refund")
	form.Set("named_rules", `[{"name": "gold_refund", "when": [{"field": "tags", "op": "has", "value": "退款"}`)
	lead.post("/policy", form).mustContain(t, http.StatusBadRequest, `id="p-named_rules-err"><span class="field-error">不是有效的 JSON`)
	form.Set("named_rules", `[{"name": "gold_refund", "when": [{"field": "tags", "op": "has", "value": "退款"}]}]`)
	lead.post("/policy", form).mustContain(t, http.StatusOK, `id="policy-valid"`)
	form.Set("action", "save")
	saved := lead.follow(t, lead.post("/policy", form))
	saved.mustContain(t, http.StatusOK, "策略已保存为第 2 版。", "gold_refund", "当前为第 2 版")
	if v := h.policyVersion(); v != 2 {
		t.Fatalf("newest policy version %d, want 2", v)
	}
	// The whole policy as JSON: the API's message comes back too.
	lead.post("/policy", url.Values{"mode": {"json"}, "action": {"validate"}, "policy_json": {`{"random_per_agent": 3, "targeted_per_agent": 2, "time_zone": "Mars/Base", "handle_time_percentile": 0.9}`}}).
		mustContain(t, http.StatusBadRequest, "unknown time zone")
	lead.get("/policy?version=1").mustContain(t, http.StatusOK, "表单内容取自第 1 版")
}

func (h *harness) policyVersion() int64 {
	h.t.Helper()
	resp, err := qav1.NewSamplingServiceClient(h.conn).GetPolicy(h.Admin, &qav1.GetPolicyRequest{})
	if err != nil {
		h.t.Fatal(err)
	}
	return resp.GetPolicy().GetVersion()
}

func TestAdminCreatesValidatesAndActivatesARubric(t *testing.T) {
	h := startHarness(t)
	lead := h.as(store.RoleAdmin, "lead")
	lead.get("/rubrics").mustContain(t, http.StatusOK, "评分表", "启用中")
	edit := lead.get("/rubrics/new")
	edit.mustContain(t, http.StatusOK, `name="d0_key"`, "attitude")
	form := url.Values{"name": {"2027 版"}, "excellent": {"90"}, "good": {"80"}, "pass": {"70"}, "dimension_rows": {"3"}, "flag_rows": {"1"},
		"d0_key": {"attitude"}, "d0_name": {"服务态度"}, "d0_weight": {"60"}, "d0_max": {"5"},
		"d1_key": {"Bad Key"}, "d1_name": {"专业知识"}, "d1_weight": {"40"}, "d1_max": {"5"},
		"f0_key": {"abuse"}, "f0_name": {"辱骂客户"}, "action": {"validate"}}
	bad := lead.post("/rubrics/new", form)
	bad.mustContain(t, http.StatusBadRequest, "snake_case", `id="rubric-not-saved"`, "未保存:下面有 1 处需要改正")
	if !regexp.MustCompile(`(?s)name="d1_key" type="text" value="Bad Key"><span class="field-error">[^<]*snake_case`).MatchString(bad.Body) {
		t.Fatalf("the key's message is not next to it:\n%s", bad.Body)
	}
	form.Set("d1_key", "knowledge")
	form.Set("d1_weight", "30")
	lead.post("/rubrics/new", form).mustContain(t, http.StatusBadRequest, "weights sum to 90")
	form.Set("d1_weight", "40")
	lead.post("/rubrics/new", form).mustContain(t, http.StatusOK, `id="rubric-valid"`)
	form.Set("action", "create")
	created := lead.follow(t, lead.post("/rubrics/new", form))
	created.mustContain(t, http.StatusOK, "评分表第 2 版已创建(未启用)。", "2027 版")
	activated := lead.follow(t, lead.post("/rubrics/2/activate", nil))
	activated.mustContain(t, http.StatusOK, "评分表第 2 版已启用")
	resp, err := qav1.NewRubricServiceClient(h.conn).GetRubric(h.Admin, &qav1.GetRubricRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetRubric().GetVersion() != 2 {
		t.Fatalf("active rubric %d, want 2", resp.GetRubric().GetVersion())
	}
}

func TestAdminAuditLogFilters(t *testing.T) {
	h := startHarness(t)
	lead := h.as(store.RoleAdmin, "lead")
	runs := lead.get("/audit?action=run.complete")
	runs.mustContain(t, http.StatusOK, "run.complete", "seed_commitment", ">抽样完成</a>") // the action in words, its code beside
	// Every action the filter offers has words in both languages.
	for _, a := range auditActions {
		for _, lang := range []string{langZH, langEN} {
			if key := "admin.audit.action." + a; translate(lang, key) == key {
				t.Errorf("audit action %s has no %s label", a, lang)
			}
		}
	}
	if strings.Contains(runs.Body, ">inspector.create<") {
		t.Fatal("the action filter lets other actions through")
	}
	// Newest first: the last week's run (the second) above the earlier one's.
	if second, first := strings.Index(runs.Body, ">run 2<"), strings.Index(runs.Body, ">run 1<"); second < 0 || first < 0 || second > first {
		t.Fatalf("run 2 at %d, run 1 at %d: want the newest first", second, first)
	}
	lead.get("/audit?actor=nobody-at-all").mustContain(t, http.StatusOK, "没有符合条件的记录。")
	lead.get("/audit?since=yesterday").mustContain(t, http.StatusBadRequest, "请输入日期")
	today := time.Now().In(programmeZone).Format("2006-01-02")
	lead.get("/audit?since="+today+"&until="+today+"&entity=inspector").mustContain(t, http.StatusOK, "inspector.create", "insp-1")
	tomorrow := time.Now().In(programmeZone).AddDate(0, 0, 1).Format("2006-01-02")
	lead.get("/audit?since="+tomorrow).mustContain(t, http.StatusOK, "没有符合条件的记录。")
}

func TestAdminDisputesPage(t *testing.T) {
	h := startHarness(t)
	lead := h.as(store.RoleAdmin, "lead")
	lead.get("/disputes").mustContain(t, http.StatusOK, "申诉", "没有申诉。")
	lead.get("/disputes?status=open").mustContain(t, http.StatusOK, `aria-current="page">处理中`)

	// A dispute links its agent's page, where the QA lead reads the
	// records (the original and, once re-scored, the new one).
	f := h.finalise("agent-zw", 1, nil)[0]
	sup := h.as(store.RoleSupervisor, "sup-1")
	if _, err := qav1.NewFeedbackServiceClient(h.conn).OpenDispute(sup.Ctx, &qav1.OpenDisputeRequest{ReviewId: f.Review.GetId(), Reason: "态度分偏低"}); err != nil {
		t.Fatal(err)
	}
	lead.get("/disputes").mustContain(t, http.StatusOK, `<a href="/agents/agent-zw">agent-zw</a>`, "态度分偏低")
	lead.get("/agents/agent-zw").mustContain(t, http.StatusOK, f.Record.GetScoreText())
}

func TestAdminAccessPage(t *testing.T) {
	h := startHarness(t)
	lead := h.as(store.RoleAdmin, "lead")
	h.token(store.RoleInspector, "insp-1")
	p := lead.get("/access")
	p.mustContain(t, http.StatusOK, "令牌与登录", "API 令牌", "insp-1", "<td>质检员 · insp-1</td>") // the role in words, as in the sessions list
	made := lead.post("/access/link", url.Values{"role": {"inspector"}, "subject": {"insp-2"}})
	made.mustContain(t, http.StatusOK, `id="login-link"`, "/login/", "只显示这一次")
	if made.Location != "" {
		t.Fatal("the link page redirected: the link would travel in a URL")
	}
	if strings.Contains(made.Body, `id="link-not-inspector"`) {
		t.Fatal("a link for the inspector insp-2 warns that there is no such inspector")
	}
	// A typo in the id still makes a link (it may be for someone about to
	// be added) but says their queue will be empty.
	lead.post("/access/link", url.Values{"role": {"inspector"}, "subject": {"insp2"}}).
		mustContain(t, http.StatusOK, `id="login-link"`, `id="link-not-inspector"`, "没有工号为 insp2 的在用质检员")
	lead.post("/access/link", url.Values{"role": {"ingest"}, "subject": {"x"}}).mustContain(t, http.StatusBadRequest, "role")
	// Revoke insp-1's token.
	tokens, err := qav1.NewAccessServiceClient(h.conn).ListTokens(h.Admin, &qav1.ListTokensRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var id string
	for _, tok := range tokens.GetTokens() {
		if tok.GetSubject() == "insp-1" && tok.GetRevokedAt() == nil {
			id = tok.GetId()
		}
	}
	if id == "" {
		t.Fatal("no token of insp-1")
	}
	lead.follow(t, lead.post("/access/tokens/"+id+"/revoke", nil)).mustContain(t, http.StatusOK, "令牌已吊销")
}

// TestAdminPagesRefuseOthersAndForgedPosts: another role gets the
// not-found page; a POST without the CSRF proof, or from another site,
// is refused and changes nothing.
func TestAdminPagesRefuseOthersAndForgedPosts(t *testing.T) {
	h := startHarness(t)
	week := h.seedUnrunWeek()
	insp := h.as(store.RoleInspector, "insp-1")
	for _, path := range []string{"/weeks", "/weeks/" + h.Week, "/policy", "/rubrics", "/inspectors", "/disputes", "/audit", "/access"} {
		insp.get(path).mustContain(t, http.StatusNotFound, "找不到")
	}
	insp.post("/weeks/run", url.Values{"week": {week}}).mustContain(t, http.StatusNotFound)

	lead := h.as(store.RoleAdmin, "lead")
	lead.post("/weeks/run", url.Values{"week": {week}, "csrf": {"forged"}}).mustContain(t, http.StatusForbidden, "来源校验")
	// The right proof but sent from another site's page.
	form := url.Values{"week": {week}, "csrf": {lead.CSRF}}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, h.URL+"/weeks/run", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "http://evil.example")
	resp, err := lead.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a cross-site POST answered %d", resp.StatusCode)
	}
	if n := len(h.runsOf(week)); n != 0 {
		t.Fatalf("forged POSTs ran the week (%d runs)", n)
	}
}

// TestAdminPagesObeyThePolicyAndSpeakEnglish renders every page in
// English and checks there is no inline script or style and no
// untranslated key.
func TestAdminPagesObeyThePolicyAndSpeakEnglish(t *testing.T) {
	h := startHarness(t)
	lead := h.as(store.RoleAdmin, "lead")
	for _, path := range []string{"/weeks", "/weeks/" + h.Week, "/weeks/" + h.Week + "/preview", "/policy", "/checks", "/rubrics", "/rubrics/new",
		"/inspectors?inspector=insp-1", "/disputes", "/audit", "/access"} {
		p := lead.get(path + sep(path) + "lang=en")
		p.mustContain(t, http.StatusOK, `lang="en"`)
		if m := regexp.MustCompile(`admin\.[a-z_]+\.[a-z_.]+`).FindString(p.Body); m != "" {
			t.Errorf("%s shows the key %s", path, m)
		}
		if regexp.MustCompile(`\sstyle="`).MatchString(p.Body) {
			t.Errorf("%s has an inline style", path)
		}
		for _, tag := range regexp.MustCompile(`<script[^>]*>`).FindAllString(p.Body, -1) {
			if !strings.Contains(tag, "nonce=") || !strings.Contains(tag, "src=") {
				t.Errorf("%s: script without a nonce or inline: %s", path, tag)
			}
		}
		for _, form := range regexp.MustCompile(`(?s)<form method="post".*?</form>`).FindAllString(p.Body, -1) {
			if !strings.Contains(form, `name="csrf"`) {
				t.Errorf("%s: a form without the CSRF proof: %.200s", path, form)
			}
		}
	}
}

func sep(path string) string {
	if strings.Contains(path, "?") {
		return "&"
	}
	return "?"
}

// TestAdminHandsOutThePool: items waiting in the pool (here: every
// inspector was deactivated) can be handed out from the inspectors page,
// not only an inspector's.
func TestAdminHandsOutThePool(t *testing.T) {
	h := startHarness(t)
	lead := h.as(store.RoleAdmin, "lead")
	for _, in := range [][2]string{{"insp-1", "陈静"}, {"insp-2", "刘洋"}} {
		lead.follow(t, lead.post("/inspectors/active", url.Values{"id": {in[0]}, "name": {in[1]}, "active": {"0"}}))
	}
	for _, in := range [][2]string{{"insp-1", "陈静"}, {"insp-2", "刘洋"}} {
		lead.follow(t, lead.post("/inspectors/active", url.Values{"id": {in[0]}, "name": {in[1]}, "active": {"1"}}))
	}
	resp, err := qav1.NewSamplingServiceClient(h.conn).ListInspectors(h.Admin, &qav1.ListInspectorsRequest{})
	if err != nil || resp.GetPoolItems() == 0 {
		t.Fatalf("pool after deactivating everyone: %v, %v", resp.GetPoolItems(), err)
	}
	pool := int(resp.GetPoolItems())
	// The weeks overview, the QA lead's home, says picks are waiting.
	lead.get("/weeks").mustContain(t, http.StatusOK, `id="pool-waiting"`, "有 "+strconv.Itoa(pool)+" 条抽中的会话在待分配池中")
	lead.get("/inspectors").mustContain(t, http.StatusOK, `<option value="-pool">待分配池(`+strconv.Itoa(pool)+` 条)</option>`)
	done := lead.follow(t, lead.post("/inspectors/reassign", url.Values{"from": {"-pool"}, "to": {"-pool"}}))
	done.mustContain(t, http.StatusOK, "已转派 "+strconv.Itoa(pool)+" 条。")
	if n := len(h.queue("insp-1")) + len(h.queue("insp-2")); n < pool {
		t.Fatalf("the inspectors hold %d items after handing out the pool's %d", n, pool)
	}
	if weeks := lead.get("/weeks"); strings.Contains(weeks.Body, "pool-waiting") || strings.Contains(weeks.Body, "no-inspectors") {
		t.Fatal("the weeks page still warns after the pool was handed out")
	}
	// With nobody active, it says so before a run leaves picks unassigned.
	for _, in := range [][2]string{{"insp-1", "陈静"}, {"insp-2", "刘洋"}} {
		lead.follow(t, lead.post("/inspectors/active", url.Values{"id": {in[0]}, "name": {in[1]}, "active": {"0"}}))
	}
	lead.get("/weeks").mustContain(t, http.StatusOK, "待分配池")
}

// TestAdminChecksEditor: the QA lead reads the check set, a bad one is
// refused with the API's field-named messages, a valid one is stored as a
// new version.
func TestAdminChecksEditor(t *testing.T) {
	h := startHarness(t)
	lead := h.as(store.RoleAdmin, "lead")
	p := lead.get("/checks")
	p.mustContain(t, http.StatusOK, "自动检查", "当前为第 1 版", "爱买不买", "check:forbidden_phrase", "首次响应 30,每次回复 60")
	doc := `{"sla": [{"channel": "chat", "first_response_seconds": 20, "reply_seconds": 60}],
		"greeting_phrases": ["您好"], "closing_phrases": ["再见"], "forbidden_phrases": ["爱买不买", "愛買不買"],
		"empathy_phrases": ["抱歉"], "complaint_tags": ["投诉"], "disabled": ["no_greting"]}`
	bad := lead.post("/checks", url.Values{"action": {"validate"}, "check_set_json": {doc}})
	bad.mustContain(t, http.StatusBadRequest, `id="checks-errors"`, "check_set.forbidden_phrases[1]", "check_set.disabled[0]")
	lead.post("/checks", url.Values{"action": {"validate"}, "check_set_json": {"{"}}).mustContain(t, http.StatusBadRequest, "不是有效的 JSON")
	doc = strings.Replace(strings.Replace(doc, `, "愛買不買"`, "", 1), `"no_greting"`, `"no_closing"`, 1)
	lead.post("/checks", url.Values{"action": {"validate"}, "check_set_json": {doc}}).mustContain(t, http.StatusOK, `id="checks-valid"`)
	saved := lead.follow(t, lead.post("/checks", url.Values{"action": {"save"}, "check_set_json": {doc}}))
	saved.mustContain(t, http.StatusOK, "检查配置已保存为第 2 版。", "当前为第 2 版", "首次响应 20", "已停用")
}

// Under check_disagreement the preview shows the rule order a run made
// now takes, with each check's weight; the run stores it and the week's
// page shows the run's, said to be kept by its top-ups. A week run under
// a policy without the option shows none.
func TestAdminWeekShowsTheRunsRuleOrder(t *testing.T) {
	h := startHarness(t)
	week := h.seedUnrunWeek()
	lead := h.as(store.RoleAdmin, "lead")
	sampling := qav1.NewSamplingServiceClient(h.conn)
	got, err := sampling.GetPolicy(h.Admin, &qav1.GetPolicyRequest{})
	if err != nil {
		t.Fatal(err)
	}
	policy := got.GetPolicy()
	policy.Rules = append(policy.Rules, "check:no_closing", "check:forbidden_phrase")
	policy.CheckDisagreement = &qav1.CheckDisagreement{Weeks: 2}
	if _, err := sampling.UpdatePolicy(h.Admin, &qav1.UpdatePolicyRequest{Policy: policy}); err != nil {
		t.Fatal(err)
	}
	order := `<p class="rule-order">`
	for i, r := range policy.GetRules() { // no reviews judge a check: every weight is 1, the policy's order stands
		if i > 0 {
			order += " › "
		}
		order += "<code>" + r + "</code>"
	}
	preview := lead.get("/weeks/" + week + "/preview")
	preview.mustContain(t, http.StatusOK, "规则顺序(按检查与质检员的分歧加权)", order+"</p>", "<td><code>forbidden_phrase</code></td>",
		"现在正式抽样会按这个顺序")
	lead.follow(t, lead.post("/weeks/run", url.Values{"week": {week}}))
	runs := h.runsOf(week)
	if len(runs) != 1 || !slices.Equal(runs[0].GetDisagreement().GetRules(), policy.GetRules()) {
		t.Fatalf("runs of %s: %v; want one with the rule order %v", week, runs, policy.GetRules())
	}
	page := lead.get("/weeks/" + week)
	page.mustContain(t, http.StatusOK, order+"</p>", "补抽和替换都按这个顺序", "<td><code>no_closing</code></td>")
	if n := strings.Count(page.Body, `<td class="num">1</td></tr>`); n != len(runs[0].GetDisagreement().GetWeights()) {
		t.Errorf("%d weights of 1 on the week's page, want one per check (%d)", n, len(runs[0].GetDisagreement().GetWeights()))
	}
	if other := lead.get("/weeks/" + h.EarlierWeek); strings.Contains(other.Body, "rule-order") {
		t.Errorf("%s, run without check_disagreement, shows a rule order", h.EarlierWeek)
	}
}

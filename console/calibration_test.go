package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/store"
)

// TestCalibrationPagesBlindSession is a session through the console: the
// QA lead creates it with the form, the inspectors find its items apart on
// their queue and score them on the usual review page without seeing the
// agent, nobody sees results before the reveal, and the results page
// shows the table per dimension with the deviations highlighted.
func TestCalibrationPagesBlindSession(t *testing.T) {
	h := startHarness(t)
	sampling := qav1.NewSamplingServiceClient(h.conn)
	if _, err := sampling.UpsertInspector(h.Admin, &qav1.UpsertInspectorRequest{Inspector: &qav1.Inspector{Id: "bench", Name: "基准"}}); err != nil {
		t.Fatal(err)
	}
	// Two different chats: a chat two agents wrote in may be picked for
	// each, and so sit in both inspectors' queues.
	first := h.firstItem("insp-1").GetExternalId()
	chats := []string{first}
	for _, it := range h.queue("insp-2") {
		if strings.HasPrefix(it.GetExternalId(), h.Week) && it.GetExternalId() != first {
			chats = append(chats, it.GetExternalId())
			break
		}
	}
	if len(chats) != 2 {
		t.Fatalf("insp-2 has no item of %s other than %s", h.Week, first)
	}
	admin := h.as(store.RoleAdmin, "lead")

	// The form refuses in the server's words, beside the field.
	p := admin.post("/calibration", url.Values{"chats": {"no-such-chat"}, "inspector": {"insp-1", "insp-2"}})
	p.mustContain(t, http.StatusBadRequest, "no stored chat", "新建校准会话")

	p = admin.post("/calibration", url.Values{"name": {"十二月校准"}, "chats": {strings.Join(chats, "\n")},
		"inspector": {"insp-1", "insp-2"}, "benchmark": {"bench"}, "due": {"2030-01-31"}})
	if p.Code != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/calibration/") {
		t.Fatalf("create: %d %s\n%s", p.Code, p.Location, p.Body)
	}
	sessionPath, _, _ := strings.Cut(p.Location, "?")
	id, _ := strconv.ParseInt(strings.TrimPrefix(sessionPath, "/calibration/"), 10, 64)
	p = admin.get(p.Location)
	p.mustContain(t, http.StatusOK, "十二月校准", "校准会话已创建", "已提交 0 / 6", "calibration-progress", "关闭会话")
	noInlineCode(t, p.Body)
	admin.get("/calibration").mustContain(t, http.StatusOK, "#"+strconv.FormatInt(id, 10)+" 十二月校准", "进行中")

	// The inspector's queue lists the calibration items apart, blind.
	insp := h.as(store.RoleInspector, "insp-1")
	q := insp.get("/queue")
	q.mustContain(t, http.StatusOK, "校准评分（盲评）", "校准 #"+strconv.FormatInt(id, 10))
	var items []*qav1.Pick
	for _, it := range h.queue("insp-1") {
		if it.GetKind() == "calibration" {
			items = append(items, it)
		}
	}
	if len(items) != 2 {
		t.Fatalf("insp-1's calibration items: %v", items)
	}
	r := insp.get(itemPath(items[0]))
	r.mustContain(t, http.StatusOK, "盲评", "（校准：已隐藏）", `id="review-form"`)
	for _, name := range []string{"张伟", "李娜", "王芳", "agent-zw", "agent-ln", "agent-wf"} {
		if strings.Contains(r.Body, name) {
			t.Errorf("the review page of a calibration item shows the agent %q", name)
		}
	}
	if strings.Contains(r.Body, "/skip") || strings.Contains(r.Body, "/release") {
		t.Error("a calibration item offers skip or release")
	}
	// Before the reveal an inspector sees the progress only.
	insp.get(sessionPath).mustContain(t, http.StatusOK, "评分对参与者保密")

	// Everyone scores on the review page; insp-2 rates far above.
	review := func(v *visitor, it *qav1.Pick, value string) {
		form := url.Values{"action": {"final"}}
		for _, k := range []string{"attitude", "knowledge", "efficiency", "communication", "compliance"} {
			form.Set("r."+k, value)
		}
		if got := v.post(itemPath(it), form); got.Code != http.StatusSeeOther {
			t.Fatalf("finalising item %d: %d\n%s", it.GetId(), got.Code, got.Body)
		}
	}
	for subject, value := range map[string]string{"insp-1": "3", "insp-2": "5", "bench": "3"} {
		v := h.as(store.RoleInspector, subject)
		for _, it := range h.queue(subject) {
			if it.GetKind() == "calibration" {
				review(v, it, value)
			}
		}
	}
	res := insp.get(sessionPath)
	res.mustContain(t, http.StatusOK, "已全部提交", "Krippendorff α", "calibration-dim-attitude", `class="num deviates"`, "偏宽松")
	noInlineCode(t, res.Body)
	if strings.Contains(res.Body, "关闭会话</button>") {
		t.Error("an inspector is offered to close the session")
	}
	// The inspector's queue no longer lists them; the finished item opens read-only.
	if strings.Contains(insp.get("/queue").Body, "校准评分（盲评）") {
		t.Error("finished calibration items still listed")
	}
	// Inspectors cannot create or close.
	if p := insp.post("/calibration/"+strconv.FormatInt(id, 10)+"/close", nil); p.Code == http.StatusSeeOther {
		t.Error("an inspector closed a session")
	}
	// An inspector outside the session does not find it.
	if p := h.as(store.RoleInspector, "insp-9").get(sessionPath); p.Code != http.StatusNotFound {
		t.Errorf("outsider: %d", p.Code)
	}
	// Closing a complete session works once.
	if p := admin.post(sessionPath+"/close", nil); p.Code != http.StatusSeeOther {
		t.Fatalf("close: %d %s", p.Code, p.Body)
	}
	admin.get(sessionPath).mustContain(t, http.StatusOK, "已关闭")
}

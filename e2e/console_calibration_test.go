package e2e

import (
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	qav1 "qa-sampling/proto/qa/v1"
)

// TestConsoleCalibrationSession is issue 12's session in the console as a
// QA lead and an inspector would run it: the lead creates it with the
// form, an inspector finds the item on their queue and scores it on the
// review page without seeing the agent, the others finish, the lead
// follows the progress, reads the results with the deviations marked, and
// closes the session.
func TestConsoleCalibrationSession(t *testing.T) {
	s := consoleOf(t, startServer(t, backends(t)[0].dsn))
	w := seedAdminWorld(t, s)
	for _, in := range []*qav1.Inspector{{Id: "insp-3", Name: "周敏"}, {Id: "bench", Name: "基准 王主管"}} {
		if _, err := w.sampling.UpsertInspector(w.admin, &qav1.UpsertInspectorRequest{Inspector: in}); err != nil {
			t.Fatal(err)
		}
	}
	chats := []string{w.Week + "-agent-zw-1", w.Week + "-agent-wf-2"}

	lead := newBrowser(t, s.HTTP)
	lead.signIn(s.loginLink("admin", "lead"))
	lead.open("/calibration")
	lead.waitText("h1", "校准会话")
	lead.setValue("#c-name", "十二月校准")
	lead.setValue("#c-chats", strings.Join(chats, "\n"))
	lead.do(chromedp.Click(chromedp.CSS("#ci-insp-1")), chromedp.Click(chromedp.CSS("#ci-insp-2")), chromedp.Click(chromedp.CSS("#ci-insp-3")),
		chromedp.SetValue(chromedp.CSS("#c-bench"), "bench"))
	lead.screenshot("calibration-create")
	lead.clickAndWait("#create-session")
	lead.waitText(".flash", "校准会话已创建")
	lead.waitText("h1", "十二月校准")
	loc := lead.location()
	i := strings.Index(loc, "/calibration/")
	id, err := strconv.ParseInt(strings.SplitN(loc[i+len("/calibration/"):], "?", 2)[0], 10, 64)
	if err != nil {
		t.Fatalf("after creating at %s", loc)
	}
	lead.waitText("#calibration-progress", "bench")

	// An inspector scores one item on the usual review page, blind.
	insp := newBrowser(t, s.HTTP)
	insp.signIn(s.loginLink("inspector", "insp-1"))
	insp.open("/queue")
	insp.waitText("#calibration-items", "校准 #"+strconv.FormatInt(id, 10))
	insp.screenshot("calibration-queue")
	insp.clickAndWait("#calibration-items a.button")
	insp.waitText("#calibration-note", "盲评")
	body := insp.text("main")
	if !strings.Contains(body, "（校准：已隐藏）") {
		t.Error("the review page does not say the agent is hidden")
	}
	for _, name := range []string{"张伟", "王芳"} { // (the external ids name the agents: test data)
		if strings.Contains(body, name) {
			t.Errorf("the calibration review page shows %q", name)
		}
	}
	for _, dim := range []string{"attitude", "knowledge", "efficiency", "communication", "compliance"} {
		insp.do(chromedp.Click(chromedp.CSS(`label[for="r-` + dim + `-4"]`)))
	}
	insp.screenshot("calibration-review")
	insp.do(chromedp.Click(chromedp.CSS("#finalise")), chromedp.WaitVisible(chromedp.CSS("#final-score")))

	// The others finish over the API: insp-3 far more lenient on attitude.
	c := s.clients()
	for _, who := range []string{"insp-1", "insp-2", "insp-3", "bench"} {
		ctx := withToken(t.Context(), s.token("inspector", who))
		q, err := c.review.ListQueue(ctx, &qav1.ListQueueRequest{})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range q.GetItems() {
			if it.GetKind() != "calibration" {
				continue
			}
			var rs []*qav1.DimensionRating
			for _, dim := range []string{"attitude", "knowledge", "efficiency", "communication", "compliance"} {
				v := int32(4)
				if who == "insp-3" && dim == "attitude" {
					v = 1
				}
				if who == "insp-2" && dim == "knowledge" {
					v = 3
				}
				rs = append(rs, &qav1.DimensionRating{Key: dim, Value: v})
			}
			if _, err := c.review.SubmitReview(ctx, &qav1.SubmitReviewRequest{ItemId: it.GetId(), Ratings: rs, Final: true}); err != nil {
				t.Fatalf("%s finalising %d: %v", who, it.GetId(), err)
			}
		}
	}

	lead.open("/calibration/" + strconv.FormatInt(id, 10))
	lead.waitText("h1", "已全部提交")
	lead.waitText("#calibration-alpha", "可配对评分数")
	if n := run(lead, chromedp.Evaluate[int](`document.querySelectorAll("#calibration-dim-attitude td.deviates").length`)); n != 2 {
		t.Errorf("%d attitude ratings highlighted, want insp-3's 2", n)
	}
	lead.fullScreenshot("calibration-results")
	lead.clickAndWait("#close-session")
	lead.waitText(".flash", "校准会话已关闭")

	// The inspector reads the results of their revealed session.
	insp.open("/calibration/" + strconv.FormatInt(id, 10))
	insp.waitText("#calibration-inspectors", "insp-3")
}

package console

import (
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"

	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/store"
)

// TestInspectorsPageShowsSeverity: after both inspectors finalise their
// items, insp-1 rating everything 5 and insp-2 everything 3, the
// inspectors page's quality table has a row per inspector with their
// reviews and either a severity or why there is none, and an agent's
// report shows the adjusted mean beside the raw one.
func TestInspectorsPageShowsSeverity(t *testing.T) {
	h := startHarness(t)
	review := qav1.NewReviewServiceClient(h.conn)
	var agent string
	for _, insp := range []string{"insp-1", "insp-2"} {
		v := int32(3)
		if insp == "insp-1" {
			v = 5
		}
		ctx := h.grpcAs(store.RoleInspector, insp)
		for _, it := range h.queue(insp) {
			var rs []*qav1.DimensionRating
			for _, key := range []string{"attitude", "knowledge", "efficiency", "communication", "compliance"} {
				rs = append(rs, &qav1.DimensionRating{Key: key, Value: v})
			}
			if _, err := review.SubmitReview(ctx, &qav1.SubmitReviewRequest{ItemId: it.GetId(), Ratings: rs, Final: true}); err != nil {
				t.Fatalf("finalising item %d: %v", it.GetId(), err)
			}
			agent = it.GetAgentId()
		}
	}
	lead := h.as(store.RoleAdmin, "lead")
	page := lead.get("/inspectors")
	page.mustContain(t, http.StatusOK, `id="inspector-quality"`, "评分宽严与一致性", "宽严度(分)", "申诉改判")
	for _, insp := range []string{"insp-1", "insp-2"} {
		row := regexp.MustCompile(`(?s)<tr id="quality-` + insp + `">.*?</tr>`).FindString(page.Body)
		if row == "" {
			t.Fatalf("no quality row for %s", insp)
		}
		sev := regexp.MustCompile(`(?s)<td class="num severity">(.*?)</td>`).FindStringSubmatch(row)
		if sev == nil || sev[1] == "—" && !regexp.MustCompile(`无法估计|评分太少`).MatchString(row) {
			t.Errorf("%s: neither a severity nor why not:\n%s", insp, row)
		}
		if insp == "insp-1" && sev != nil && sev[1] != "—" && !strings.HasPrefix(html.UnescapeString(sev[1]), "+") {
			t.Errorf("insp-1 rates higher than insp-2 but shows severity %s", sev[1])
		}
	}
	lead.get("/agents/"+agent).mustContain(t, http.StatusOK, "校正均分")
	h.as(store.RoleAdmin, "lead").get("/inspectors?lang=en").mustContain(t, http.StatusOK, "Severity and agreement")
}

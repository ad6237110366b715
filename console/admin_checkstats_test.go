package console

import (
	"net/http"
	"net/url"
	"testing"

	"qa-sampling/store"
)

// TestAdminChecksPage: the agreement table lists every check with its
// dimension, a bad week for a re-run is refused in the server's words at
// its field, a good one starts a job that the page lists.
func TestAdminCheckReportPage(t *testing.T) {
	h := startHarness(t)
	lead := h.as(store.RoleAdmin, "lead")
	lead.get("/checks/report").mustContain(t, http.StatusOK, "自动检查报告", `id="check-agreement"`, "<code>no_greeting</code>", "attitude",
		"<code>slow_reply</code>", "efficiency", "精确率", "最近 4 周")
	lead.post("/checks/report/rerun", url.Values{"week": {"2026-W99"}}).mustContain(t, http.StatusBadRequest, `id="rerun-refusal"`, `aria-invalid="true"`)
	started := lead.post("/checks/report/rerun", url.Values{"week": {"2026-W47"}})
	if started.Location == "" {
		t.Fatalf("a re-run did not redirect: %d %s", started.Code, started.Body)
	}
	lead.get(started.Location).mustContain(t, http.StatusOK, "已开始重新检查", `id="check-reruns"`, "2026-W47")
	lead.get("/checks/report?weeks=12").mustContain(t, http.StatusOK, `aria-current="page">最近 12 周`)
	h.as(store.RoleSupervisor, "sup-1").get("/checks/report").mustContain(t, http.StatusNotFound)
}

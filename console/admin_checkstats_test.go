package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"qa-sampling/checks"
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
	// A week that has not begun has nothing to re-check: refused at the
	// field, saying when it starts.
	lead.post("/checks/report/rerun", url.Values{"week": {"2099-W02"}}).mustContain(t, http.StatusPreconditionFailed, `id="rerun-refusal"`,
		"week 2099-W02 starts 2099-01-05T00:00:00", "no chat of it can have been pushed yet")
	started := lead.post("/checks/report/rerun", url.Values{"week": {"2026-W47"}})
	if started.Location == "" {
		t.Fatalf("a re-run did not redirect: %d %s", started.Code, started.Body)
	}
	// The job lists the replica that holds it (this process: host/pid/…).
	lead.get(started.Location).mustContain(t, http.StatusOK, "已开始重新检查", `id="check-reruns"`, "2026-W47", "执行实例",
		fmt.Sprintf("/%d/", os.Getpid()))

	// Another replica's job runs for 2026-W40 under the set before the
	// newest: a re-run of that week is refused at the field, naming it.
	ctx := t.Context()
	before, err := h.store.LatestCheckSet(ctx)
	if err != nil {
		t.Fatal(err)
	}
	held, err := h.store.CreateCheckRerun(ctx, store.CheckRerun{Week: "2026-W40", From: time.Date(2026, 9, 28, 0, 0, 0, 0, time.UTC),
		To: time.Date(2026, 10, 5, 0, 0, 0, 0, time.UTC), CheckVersion: before.Version, CreatedBy: "lead",
		Owner: "qad-other", LeaseUntil: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	newer := checks.Default()
	newer.GreetingPhrases = append(newer.GreetingPhrases, "在的")
	doc, _ := json.Marshal(newer)
	if _, err := h.store.AddCheckSetVersion(ctx, doc, "lead"); err != nil {
		t.Fatal(err)
	}
	lead.post("/checks/report/rerun", url.Values{"week": {"2026-W40"}}).mustContain(t, http.StatusPreconditionFailed, `id="rerun-refusal"`,
		fmt.Sprintf("check re-run %d of week 2026-W40", held.ID), "<code>qad-other</code>")
	// Checks and job states read in words, as on the check set page.
	p := lead.get("/checks/report")
	p.mustContain(t, http.StatusOK, "缺少开场白 <code>no_greeting</code>", "回复慢 <code>slow_reply</code>", "<td>进行中")
	if strings.Contains(p.Body, "<td>running") || strings.Contains(p.Body, "<td>done") {
		t.Errorf("a re-run's status shows as its API name:\n%s", p.Body)
	}
	lead.get("/checks/report?weeks=12").mustContain(t, http.StatusOK, `aria-current="page">最近 12 周`)
	h.as(store.RoleSupervisor, "sup-1").get("/checks/report").mustContain(t, http.StatusNotFound)
}

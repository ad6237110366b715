package e2e

import (
	"strconv"
	"strings"
	"testing"

	qav1 "qa-sampling/proto/qa/v1"
)

// TestQactlShowsTimesInTheProgrammesZone: an inspector (who may not read
// the policy) and an admin see qactl's text times in the policy's zone,
// Asia/Shanghai by default, with its offset; --json stays UTC.
func TestQactlShowsTimesInTheProgrammesZone(t *testing.T) {
	const week = "2026-W45"
	w := newWorld(t, backends(t)[0].dsn, defaultOrg)
	w.setupGRPC()
	w.pushWeek(week, 1)
	picks := w.runWeek(week)
	info, err := w.c.info.GetServerInfo(w.as("insp-1"), &qav1.GetServerInfoRequest{})
	if err != nil || info.GetTimeZone() != "Asia/Shanghai" || info.GetServerVersion() == "" {
		t.Fatalf("GetServerInfo as an inspector: %v, %v", info, err)
	}
	var pick *qav1.Pick
	for _, p := range picks {
		if p.GetInspectorId() != "" {
			pick = p
			break
		}
	}
	if pick == nil {
		t.Fatal("no assigned pick")
	}
	id := strconv.FormatInt(pick.GetId(), 10)
	out := w.qactlOK(pick.GetInspectorId(), "review", "show", id)
	if !strings.Contains(out, "started_at:") || !strings.Contains(out, "+08:00\n") {
		t.Errorf("review show as %s: no time in +08:00:\n%s", pick.GetInspectorId(), out)
	}
	if out := w.qactlOK(pick.GetInspectorId(), "--json", "review", "show", id); strings.Contains(out, "+08:00") || !strings.Contains(out, `Z"`) {
		t.Errorf("review show --json: want UTC timestamps:\n%s", out)
	}
	if out := w.qactlOK("qa-lead", "audit", "list", "--all"); !strings.Contains(out, "+08:00") {
		t.Errorf("audit list: no time in +08:00:\n%s", out)
	}
}

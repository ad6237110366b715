package console

import (
	"net/http"
	"regexp"
	"testing"
	"time"

	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/store"
)

// TestReportPagesShowCheckRates: the agent and team pages show how often
// each automatic check fired over all the chats of the weeks, per week.
func TestReportPagesShowCheckRates(t *testing.T) {
	onBackends(t, func(t *testing.T, h *harness) {
		h.finalise("agent-zw", 2, map[string]string{"attitude": "5"})
		sup := h.as(store.RoleSupervisor, "sup-1")
		row := regexp.MustCompile(`<th scope="row">缺少开场白</th>\s*<td class="num">\d+ / [1-9]\d*</td>`)
		for _, path := range []string{"/agents/agent-zw", "/team"} {
			p := sup.get(path)
			p.mustContain(t, http.StatusOK, "自动检查命中率", `id="check-rates"`, "不只是抽中的", h.Week)
			if !row.MatchString(p.Body) {
				t.Errorf("%s: no no_greeting row with checked chats", path)
			}
		}
	})
}

// TestCheckRateRowsShowEachChecksOwnChats: each check's row rests on the
// chats it ran on; a check off in every version that checked the weeks
// shows "–" instead of 0.0%; nothing checked at all gives no rows (the
// page says so).
func TestCheckRateRowsShowEachChecksOwnChats(t *testing.T) {
	v := &View{Lang: langEN, Zone: time.UTC}
	rows := checkRateRows(v, []*qav1.CheckRate{
		{Check: "slow_first_response", Chats: 0},
		{Check: "no_empathy", Chats: 4, Fired: 2, Rate: 0.5,
			ByWeek: []*qav1.CheckWeekRate{{Week: "2026-W46"}, {Week: "2026-W47", Chats: 4, Fired: 2, Rate: 0.5}}},
		{Check: "no_greeting", Chats: 6},
	})
	if len(rows) != 3 || rows[0].Rate != "–" || rows[0].Chats != 0 {
		t.Fatalf("rows %+v; want slow_first_response, which ran on nothing, without a rate", rows)
	}
	if r := rows[1]; r.Chats != 4 || r.Fired != 2 || r.Rate != "50.0%" || r.ByWeek != "2026-W47 50.0% (2/4)" {
		t.Errorf("no_empathy row %+v", r)
	}
	if r := rows[2]; r.Chats != 6 || r.Rate != "0.0%" {
		t.Errorf("no_greeting row %+v", r)
	}
	if rows := checkRateRows(v, []*qav1.CheckRate{{Check: "no_greeting"}, {Check: "no_closing"}}); rows != nil {
		t.Errorf("nothing checked: %+v, want no rows", rows)
	}
}

package console

import (
	"net/http"
	"regexp"
	"testing"

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

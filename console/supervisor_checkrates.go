package console

import (
	"fmt"
	"strings"

	qav1 "qa-sampling/proto/qa/v1"
)

// checkRateRow is one check's line in a report page's check rates: how
// often it fired over all the chats of the weeks, not only the sampled.
type checkRateRow struct {
	Label        string
	Fired, Chats int64
	Rate         string
	// ByWeek is "2026-W46 4.0% (2/50)" per week with chats, for the
	// team's and the agent's own page.
	ByWeek string
}

func checkRateRows(v *View, rates []*qav1.CheckRate) []checkRateRow {
	if len(rates) == 0 || rates[0].GetChats() == 0 {
		return nil // nothing checked: the page says so instead of 0 / 0
	}
	var out []checkRateRow
	for _, r := range rates {
		row := checkRateRow{Label: v.T("conversation.check." + r.GetCheck()), Fired: r.GetFired(), Chats: r.GetChats(), Rate: share(r.GetRate())}
		var weeks []string
		for _, w := range r.GetByWeek() {
			if w.GetChats() > 0 {
				weeks = append(weeks, fmt.Sprintf("%s %s (%d/%d)", w.GetWeek(), share(w.GetRate()), w.GetFired(), w.GetChats()))
			}
		}
		row.ByWeek = strings.Join(weeks, " · ")
		out = append(out, row)
	}
	return out
}

func share(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) }

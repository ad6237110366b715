package console

import (
	"fmt"
	"slices"
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

// Each check's Chats are the chats it ran on (a check switched off in
// some version of the set ran on fewer), shown beside its rate; a check
// that ran on none shows "–" rather than 0.0%.
func checkRateRows(v *View, rates []*qav1.CheckRate) []checkRateRow {
	if !slices.ContainsFunc(rates, func(r *qav1.CheckRate) bool { return r.GetChats() > 0 }) {
		return nil // nothing checked: the page says so instead of 0 / 0
	}
	var out []checkRateRow
	for _, r := range rates {
		row := checkRateRow{Label: v.T("conversation.check." + r.GetCheck()), Fired: r.GetFired(), Chats: r.GetChats(), Rate: percent(r.GetRate(), r.GetChats() > 0)}
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

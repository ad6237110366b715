package store

import "context"

// ReportRow is what reports read of one counted review.
type ReportRow struct {
	AgentID  string
	Week     string
	Score    float64
	Critical bool
	Flags    []string
	Ratings  []Rating // Key, Value, NA, Max, Percent, Failing, Critical; no comments
}

// ReportFilter selects the final reviews a report counts: those of the
// given agents in weeks [FromWeek, ToWeek] (ISO week strings).
type ReportFilter struct {
	AgentIDs []string
	FromWeek string
	ToWeek   string
}

// ReportStore reads what reports count of the final reviews.
type ReportStore interface {
	// ReportRows returns the final reviews f selects.
	ReportRows(ctx context.Context, f ReportFilter) ([]ReportRow, error)
}

package store

import "context"

// SeverityRow is one production review as the inspector severity fit and
// the inspectors report read it: who scored whom, how much, and whether a
// dispute's re-score replaced it.
type SeverityRow struct {
	ReviewID    int64
	AgentID     string
	InspectorID string
	Week        string
	Score       float64
	Critical    bool
	// Status is ReviewFinal or ReviewRetracted (replaced by a dispute's
	// re-score, whose score is RescoreScore).
	Status       ReviewStatus
	RescoreScore float64
}

// SeverityStore reads production reviews for inspector severity.
type SeverityStore interface {
	// SeverityRows returns the final and retracted production reviews of
	// weeks [fromWeek, toWeek] (ISO week strings), in id order; drafts and
	// calibration reviews never.
	SeverityRows(ctx context.Context, fromWeek, toWeek string) ([]SeverityRow, error)
}

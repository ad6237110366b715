package store

import (
	"context"
	"time"
)

// CalibrationStatus is where a calibration session is.
type CalibrationStatus string

// Calibration session statuses. A session is revealed (its ratings
// visible to its inspectors) once it is complete or closed.
const (
	CalibrationOpen     CalibrationStatus = "open"     // inspectors are scoring
	CalibrationComplete CalibrationStatus = "complete" // every item has its final review
	CalibrationClosed   CalibrationStatus = "closed"   // an admin closed it; unfinished items left the queues
)

// CalibrationItemIDBase is the first calibration item id. Items share the
// inspectors' queue and the review calls with picks, so their ids are
// kept apart from picks' (which a deployment never counts up to a
// billion): an id at or above it is a calibration item's.
const CalibrationItemIDBase int64 = 1_000_000_000

// IsCalibrationItem reports whether id names a calibration item.
func IsCalibrationItem(id int64) bool { return id >= CalibrationItemIDBase }

// CalibrationSession puts the same chats before several inspectors, who
// score them blind (SPEC §2 calibration).
type CalibrationSession struct {
	ID            int64
	Name          string
	RubricVersion int64
	// BenchmarkID is the reference reviewer, who scores like the others;
	// empty when the session has none.
	BenchmarkID string
	// InspectorIDs are the scorers other than the benchmark, in the
	// order given.
	InspectorIDs []string
	// ExternalIDs are the chats, in the order given.
	ExternalIDs []string
	// Due is a deadline shown to the inspectors; zero if none.
	Due        time.Time
	Status     CalibrationStatus
	CreatedBy  string
	CreatedAt  time.Time
	RevealedAt time.Time // zero while open
	ClosedAt   time.Time // zero unless closed
	ClosedBy   string
	// Items and Finalised count the session's items and those with a
	// final review: its progress.
	Items, Finalised int
}

// Revealed reports whether the session's ratings may be shown to its
// inspectors: everyone has finalised or an admin closed it.
func (s CalibrationSession) Revealed() bool { return s.Status != CalibrationOpen }

// Participants are the inspectors and the benchmark.
func (s CalibrationSession) Participants() []string {
	out := append([]string(nil), s.InspectorIDs...)
	if s.BenchmarkID != "" {
		out = append(out, s.BenchmarkID)
	}
	return out
}

// CalibrationItem is one participant's copy of one chat of a session.
type CalibrationItem struct {
	ID          int64
	SessionID   int64
	ExternalID  string
	AgentID     string
	InspectorID string
	// Review is the participant's draft or final review, nil before the
	// first save. Its ID and PickID are the item's ID; it has no week.
	Review    *Review
	CreatedAt time.Time
}

// Final reports whether the item has its final review.
func (it CalibrationItem) Final() bool { return it.Review != nil && it.Review.Status == ReviewFinal }

// CalibrationFilter selects sessions; zero fields match everything.
type CalibrationFilter struct {
	// InspectorID: sessions this inspector scores in (benchmark included).
	InspectorID string
	Status      CalibrationStatus
	// BeforeID and Limit page newest (highest ID) first.
	BeforeID int64
	Limit    int
}

// CalibrationItemFilter selects items; zero fields match everything.
type CalibrationItemFilter struct {
	SessionID   int64
	InspectorID string
	// Open: only items still to score (no final review, session open).
	Open bool
	// AfterID and Limit page in id order.
	AfterID int64
	Limit   int
}

// CalibrationStore keeps calibration sessions, their items and the
// participants' reviews of them. Calibration reviews live apart from
// production reviews: they never reach feedback, reports, disputes or
// picks. Every write records its audit events in the same transaction.
type CalibrationStore interface {
	// CreateCalibration stores s (ID, Status, times and counts are set by
	// the store) with one item per (chat, participant), audited as
	// s.CreatedBy, and locks its rubric version. ErrNotFound (naming it)
	// for an unknown chat, inspector or rubric version.
	CreateCalibration(ctx context.Context, s CalibrationSession) (CalibrationSession, error)
	// GetCalibration returns ErrNotFound for an unknown id.
	GetCalibration(ctx context.Context, id int64) (CalibrationSession, error)
	// ListCalibrations returns sessions matching f, newest first.
	ListCalibrations(ctx context.Context, f CalibrationFilter) ([]CalibrationSession, error)
	// CloseCalibration closes an open or complete session as actor;
	// ErrConflict if it is closed already, ErrNotFound if unknown.
	CloseCalibration(ctx context.Context, id int64, actor string) (CalibrationSession, error)
	// ListCalibrationItems returns items matching f in id order, each
	// with its review.
	ListCalibrationItems(ctx context.Context, f CalibrationItemFilter) ([]CalibrationItem, error)
	// GetCalibrationItem returns ErrNotFound for an unknown id.
	GetCalibrationItem(ctx context.Context, id int64) (CalibrationItem, error)
	// SaveCalibrationReview stores r as the draft (r.Status draft) or
	// final review (final) of item r.PickID. ErrConflict unless the item
	// is r.InspectorID's, its session is open and it has no final review.
	// The last final review of a session completes (reveals) it.
	SaveCalibrationReview(ctx context.Context, r Review) (Review, error)
	// LatestCalibrations returns, per inspector who scored in a revealed
	// session (as benchmark or not), the id of the newest such session.
	LatestCalibrations(ctx context.Context) (map[string]int64, error)
}

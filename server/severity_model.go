package server

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"qa-sampling/calibration"
	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/severity"
	"qa-sampling/store"
)

// unreliableAlpha is Krippendorff's lowest acceptable alpha: below it a
// rater's data are not to be relied on (SPEC §11).
const unreliableAlpha = 0.667

// A severity fit serves reports for at most severityKeep, so that a newly
// revealed calibration session reaches the marks; after new feedback
// records (finalised reviews, dispute re-scores) it is refitted in the
// background, at most every severityRefitEvery (see get). Reading and
// fitting 120k reviews costs well under a second (BENCHMARKS.md);
// concurrent callers share one computation.
const (
	// severityRefitEvery bounds the background refits: with reviews
	// finalised every second, refitting after each would keep a core
	// busy reading 120k reviews, and every team report would be
	// recomputed after each refit.
	severityRefitEvery = 30 * time.Second
	severityKeep       = 5 * time.Minute
	severityEntries    = 8
)

// severityModel computes and keeps the inspector severity fit of a range
// of weeks, the rows it rests on, and the inspectors' calibration
// standings: what the inspectors report, the adjusted means and the
// reliability marks of agent and team reports read.
type severityModel struct {
	store   Storage
	rubrics *rubricBook
	now     func() time.Time
	log     *slog.Logger

	flight  singleflight.Group
	mu      sync.Mutex
	entries map[string]*severityEntry
	// refitting marks the ranges refitted in the background, whose
	// goroutines background counts.
	refitting  map[string]bool
	background sync.WaitGroup
	// refitEvery is the least time between two refits of a range after
	// new reviews (severityRefitEvery; tests set 0).
	refitEvery time.Duration
	// sessions keeps revealed calibration sessions' results: final
	// reviews do not change once a session is revealed.
	sessions map[int64]sessionResult
}

type sessionResult struct {
	session store.CalibrationSession
	results calibration.Results
}

// severityEntry is one range's fit.
type severityEntry struct {
	computed time.Time
	feedback int64
	fit      *severity.Fit
	rows     []store.SeverityRow
	// byAgent lists the indexes in rows of each agent's final reviews.
	byAgent map[string][]int
	// standings are the inspectors' latest calibration results.
	standings map[string]calibrationStanding
}

// calibrationStanding is an inspector's latest revealed session.
type calibrationStanding struct {
	session              store.CalibrationSession
	alpha, meanAgreement float64 // NaN when undefined
}

func newSeverityModel(st Storage, rubrics *rubricBook, now func() time.Time, log *slog.Logger) *severityModel {
	return &severityModel{store: st, rubrics: rubrics, now: now, log: log, refitEvery: severityRefitEvery,
		entries: map[string]*severityEntry{}, sessions: map[int64]sessionResult{}}
}

// get returns the fit of weeks (oldest first). A kept fit younger than
// severityKeep is returned at once even when reviews were finalised since:
// reading and fitting 120k reviews takes most of a second, which a page
// after every finalised review must not wait for. It is then refitted in
// the background once it is severityRefitEvery old, and reports computed from the old fit are recomputed
// once the new one is kept (the team report cache compares the entry).
// Meanwhile an agent's review newer than the fit is counted in the raw
// mean only and the adjustment says so.
func (m *severityModel) get(ctx context.Context, weeks []string) (*severityEntry, error) {
	key, e, lastFeedback, err := m.kept(ctx, weeks)
	if err != nil {
		return nil, err
	}
	if e != nil {
		if e.feedback != lastFeedback && m.now().Sub(e.computed) >= m.refitAfter() {
			m.refitInBackground(key, weeks, lastFeedback)
		}
		return e, nil
	}
	return m.refit(ctx, key, weeks, lastFeedback)
}

// kept returns the cache key of weeks, its kept fit if still younger than
// severityKeep (nil otherwise) and the newest feedback record's id.
func (m *severityModel) kept(ctx context.Context, weeks []string) (key string, e *severityEntry, lastFeedback int64, err error) {
	key = weeks[0] + "/" + weeks[len(weeks)-1]
	if lastFeedback, err = m.store.LastFeedbackID(ctx, ""); err != nil {
		return key, nil, 0, err
	}
	m.mu.Lock()
	e = m.entries[key]
	m.mu.Unlock()
	if e != nil && m.now().Sub(e.computed) >= severityKeep {
		e = nil
	}
	return key, e, lastFeedback, nil
}

// refit computes the fit of key and keeps it; concurrent callers share one
// computation.
func (m *severityModel) refit(ctx context.Context, key string, weeks []string, lastFeedback int64) (*severityEntry, error) {
	v, err, _ := m.flight.Do(key, func() (any, error) {
		e, err := m.compute(context.WithoutCancel(ctx), weeks, lastFeedback)
		if err != nil {
			return nil, err
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		if len(m.entries) >= severityEntries {
			var oldest string
			for k, x := range m.entries {
				if oldest == "" || x.computed.Before(m.entries[oldest].computed) {
					oldest = k
				}
			}
			delete(m.entries, oldest)
		}
		m.entries[key] = e
		return e, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*severityEntry), nil
}

// refitInBackground starts one refit of key unless one runs already.
func (m *severityModel) refitInBackground(key string, weeks []string, lastFeedback int64) {
	m.mu.Lock()
	if m.refitting == nil {
		m.refitting = map[string]bool{}
	}
	if m.refitting[key] {
		m.mu.Unlock()
		return
	}
	m.refitting[key] = true
	m.mu.Unlock()
	m.background.Go(func() {
		defer func() {
			m.mu.Lock()
			delete(m.refitting, key)
			m.mu.Unlock()
		}()
		if _, err := m.refit(context.Background(), key, weeks, lastFeedback); err != nil {
			m.log.Warn("refitting inspector severity", "weeks", key, "err", err)
		}
	})
}

// setRefitEvery changes the least time between background refits.
func (m *severityModel) setRefitEvery(d time.Duration) {
	m.mu.Lock()
	m.refitEvery = d
	m.mu.Unlock()
}

// wait returns once no background refit runs (tests, shutdown).
func (m *severityModel) wait() {
	if m != nil {
		m.background.Wait()
	}
}

// exact is the fit of weeks counting every review finalised so far,
// refitted now if needed: the inspectors report, read rarely, is about
// the fit itself.
func (m *severityModel) exact(ctx context.Context, weeks []string) (*severityEntry, error) {
	key, e, lastFeedback, err := m.kept(ctx, weeks)
	if err != nil {
		return nil, err
	}
	if e != nil && e.feedback == lastFeedback {
		return e, nil
	}
	for {
		e, err := m.refit(ctx, key, weeks, lastFeedback)
		// A refit already under way (a background one, started before the
		// newest records) is joined through the flight and does not count
		// them: refit again.
		if err != nil || e.feedback >= lastFeedback {
			return e, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
}

func (m *severityModel) refitAfter() time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.refitEvery
}

// current is the fit of weeks for a report (nil without a model).
func (m *severityModel) current(ctx context.Context, weeks []string) (*severityEntry, error) {
	if m == nil {
		return nil, nil
	}
	return m.get(ctx, weeks)
}

func (m *severityModel) compute(ctx context.Context, weeks []string, lastFeedback int64) (*severityEntry, error) {
	rows, err := m.store.SeverityRows(ctx, weeks[0], weeks[len(weeks)-1])
	if err != nil {
		return nil, err
	}
	e := &severityEntry{computed: m.now(), feedback: lastFeedback, rows: rows, byAgent: map[string][]int{}}
	var fitRows []severity.Review
	for i, r := range rows {
		if r.Status != store.ReviewFinal {
			continue
		}
		e.byAgent[r.AgentID] = append(e.byAgent[r.AgentID], i)
		// A critical finding zeroes the score whatever the ratings: it
		// says nothing of how leniently the inspector rates.
		if !r.Critical {
			fitRows = append(fitRows, severity.Review{Agent: r.AgentID, Inspector: r.InspectorID, Score: r.Score})
		}
	}
	e.fit = severity.Estimate(fitRows)
	if e.standings, err = m.standings(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

// session returns a revealed session's results, computed once.
func (m *severityModel) session(ctx context.Context, id int64) (sessionResult, error) {
	m.mu.Lock()
	r, ok := m.sessions[id]
	m.mu.Unlock()
	if ok {
		return r, nil
	}
	c, err := m.store.GetCalibration(ctx, id)
	if err != nil {
		return r, err
	}
	items, err := m.store.ListCalibrationItems(ctx, store.CalibrationItemFilter{SessionID: id})
	if err != nil {
		return r, err
	}
	rubric, _, err := m.rubrics.version(ctx, c.RubricVersion)
	if err != nil {
		return r, err
	}
	r = sessionResult{session: c, results: calibration.Compute(calibrationInput(c, items, rubric))}
	if c.Revealed() {
		m.mu.Lock()
		m.sessions[id] = r
		m.mu.Unlock()
	}
	return r, nil
}

// standing is inspector's standing in session r.
func standingOf(r sessionResult, inspector string) calibrationStanding {
	s := calibrationStanding{session: r.session, alpha: math.NaN(), meanAgreement: math.NaN()}
	if r.results.Interval.Defined {
		s.alpha = r.results.Interval.Alpha
	}
	for _, x := range r.results.Inspectors {
		if x.Inspector == inspector {
			s.meanAgreement = x.MeanAgreement
		}
	}
	return s
}

func (m *severityModel) standings(ctx context.Context) (map[string]calibrationStanding, error) {
	latest, err := m.store.LatestCalibrations(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]calibrationStanding, len(latest))
	for insp, id := range latest {
		r, err := m.session(ctx, id)
		if err != nil {
			return nil, err
		}
		out[insp] = standingOf(r, insp)
	}
	return out, nil
}

// trend is inspector's revealed sessions, oldest first, at most n.
func (m *severityModel) trend(ctx context.Context, inspector string, n int) ([]calibrationStanding, error) {
	list, err := m.store.ListCalibrations(ctx, store.CalibrationFilter{InspectorID: inspector, Limit: 4 * n})
	if err != nil {
		return nil, err
	}
	var out []calibrationStanding
	for _, c := range list { // newest first
		if !c.Revealed() {
			continue
		}
		r, err := m.session(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, standingOf(r, inspector))
		if len(out) == n {
			break
		}
	}
	slices.Reverse(out)
	return out, nil
}

// unreliable lists, by id, the inspectors among ids whose latest
// calibration alpha is below unreliableAlpha.
func (e *severityEntry) unreliable(ids []string) []string {
	var out []string
	for _, id := range ids {
		if s, ok := e.standings[id]; ok && !math.IsNaN(s.alpha) && s.alpha < unreliableAlpha {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// annotate sets sum's adjusted mean and reliability marks from the final
// reviews of agents in e.
func (e *severityEntry) annotate(sum *qav1.Summary, agents []string) {
	if sum == nil || sum.GetReviews() == 0 {
		return
	}
	var inspectors []string
	var effects float64
	n := 0
	note, reason, without := "", "", ""
	for _, a := range agents {
		for _, i := range e.byAgent[a] {
			r := e.rows[i]
			inspectors = append(inspectors, r.InspectorID)
			n++
			if r.Critical {
				// Zeroed whatever the ratings: no leniency to remove (and
				// left out of the fit for the same reason).
				continue
			}
			eff, ok := e.fit.Effect(r.InspectorID)
			if !ok && note == "" {
				reason, without = "no_estimate", r.InspectorID
				if in, found := e.fit.Inspector(r.InspectorID); found && in.Reason != "" {
					reason = in.Reason
				}
				note = fmt.Sprintf("not identifiable: inspector %s has no severity estimate (%s)", r.InspectorID, reason)
			}
			effects += eff
		}
	}
	switch {
	case n == 0:
		// Raced with a finalisation between the two reads.
		sum.AdjustmentNote = "not adjusted: the review is newer than the severity fit"
		sum.AdjustmentReason = "fit_outdated"
	case int64(n) != int64(sum.GetReviews()):
		// A kept fit older than the report (refitted in the background)
		// lacks the newest reviews: the mean effect of the others would be
		// subtracted from a mean that counts them too.
		sum.AdjustmentNote = fmt.Sprintf("not adjusted: the severity fit counts %d of the %d reviews (it is being refitted)", n, sum.GetReviews())
		sum.AdjustmentReason = "fit_outdated"
	case note != "":
		sum.AdjustmentNote, sum.AdjustmentReason, sum.AdjustmentInspectorId = note, reason, without
	default:
		adj := sum.GetMean() - effects/float64(n)
		sum.AdjustedMean = &adj
	}
	sum.UnreliableInspectors = e.unreliable(inspectors)
	sum.Unreliable = len(sum.UnreliableInspectors) > 0
}

// nanToNil is f for an optional proto field: nil when undefined.
func nanToNil(f float64) *float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	return &f
}

// annotateAgents sets each agent report's adjusted mean and marks (m nil:
// nothing).
func (m *severityModel) annotateAgents(ctx context.Context, weeks []string, reports ...*qav1.AgentReport) error {
	if m == nil {
		return nil
	}
	e, err := m.get(ctx, weeks)
	if err != nil {
		return err
	}
	for _, ar := range reports {
		e.annotate(ar.GetSummary(), []string{ar.GetAgentId()})
	}
	return nil
}

// annotateTeam sets the adjusted means and marks of a team report and of
// each of its agents from the fit e (nil: nothing).
func (e *severityEntry) annotateTeam(tr *qav1.TeamReport) {
	if e == nil {
		return
	}
	ids := make([]string, len(tr.GetAgents()))
	for i, a := range tr.GetAgents() {
		e.annotate(a.GetSummary(), []string{a.GetAgentId()})
		ids[i] = a.GetAgentId()
	}
	e.annotate(tr.GetSummary(), ids)
}

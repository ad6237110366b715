package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"qa-sampling/alpha"
	"qa-sampling/calibration"
	"qa-sampling/fielderr"
	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/scoring"
	"qa-sampling/store"
)

// Limits on one calibration session: enough for a team's calibration
// meeting, small enough that its results are computed on every call.
const (
	maxCalibrationChats      = 50
	maxCalibrationInspectors = 100
)

// calibrationService runs calibration sessions (SPEC §2 calibration).
// Scoring the items goes through reviewService (calibration_review.go).
type calibrationService struct {
	qav1.UnimplementedCalibrationServiceServer
	store   Storage
	rubrics *rubricBook
	now     func() time.Time
	log     *slog.Logger
}

func (s *calibrationService) CreateCalibration(ctx context.Context, req *qav1.CreateCalibrationRequest) (*qav1.CreateCalibrationResponse, error) {
	var l fielderr.List
	name := strings.TrimSpace(req.GetName())
	l.Name("name", name, false)
	chats, inspectors, bench := req.GetExternalIds(), req.GetInspectorIds(), req.GetBenchmarkId()
	switch {
	case len(chats) == 0:
		l.Add("external_ids", "required: one or more stored chats")
	case len(chats) > maxCalibrationChats:
		l.Add("external_ids", "%d chats; at most %d", len(chats), maxCalibrationChats)
	}
	for i, ext := range chats {
		field := fmt.Sprintf("external_ids[%d]", i)
		l.ID(field, ext, true)
		if slices.Index(chats, ext) < i {
			l.Add(field, "%s is named twice", fielderr.Quote(ext))
		}
	}
	minInspectors := 2
	if bench != "" {
		minInspectors = 1
	}
	switch {
	case len(inspectors) < minInspectors:
		l.Add("inspector_ids", "%d inspectors; a session needs two raters or more (inspectors, with the benchmark)", len(inspectors))
	case len(inspectors) > maxCalibrationInspectors:
		l.Add("inspector_ids", "%d inspectors; at most %d", len(inspectors), maxCalibrationInspectors)
	}
	for i, id := range inspectors {
		field := fmt.Sprintf("inspector_ids[%d]", i)
		l.ID(field, id, true)
		switch {
		case slices.Index(inspectors, id) < i:
			l.Add(field, "%s is named twice", fielderr.Quote(id))
		case id == bench:
			l.Add(field, "%s is the benchmark; a benchmark is not also an inspector", fielderr.Quote(id))
		}
	}
	l.ID("benchmark_id", bench, false)
	var due time.Time
	if req.GetDue() != nil {
		if err := req.GetDue().CheckValid(); err != nil {
			l.Add("due", "not a valid time")
		} else {
			due = req.GetDue().AsTime()
		}
	}
	if err := invalidList(&l); err != nil {
		return nil, err
	}
	// Then what the store knows: every inspector active, every chat stored.
	for i, id := range append(slices.Clone(inspectors), bench) {
		if id == "" {
			continue
		}
		field := fmt.Sprintf("inspector_ids[%d]", i)
		if i == len(inspectors) {
			field = "benchmark_id"
		}
		in, err := s.store.GetInspector(ctx, id)
		switch {
		case errors.Is(err, store.ErrNotFound):
			l.Add(field, "no inspector %s", fielderr.Quote(id))
		case err != nil:
			return nil, storeError(ctx, s.log, err)
		case !in.Active:
			l.Add(field, "inspector %s is inactive", fielderr.Quote(id))
		}
	}
	for i, ext := range chats {
		if _, err := s.store.GetTranscript(ctx, ext); errors.Is(err, store.ErrNotFound) {
			l.Add(fmt.Sprintf("external_ids[%d]", i), "no stored chat %s", fielderr.Quote(ext))
		} else if err != nil {
			return nil, storeError(ctx, s.log, err)
		}
	}
	if err := invalidList(&l); err != nil {
		return nil, err
	}
	_, version, err := s.rubrics.active(ctx)
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	who, _ := PrincipalFrom(ctx)
	if name == "" {
		name = "Calibration " + s.now().Format("2006-01-02")
	}
	c, err := s.store.CreateCalibration(ctx, store.CalibrationSession{
		Name: name, RubricVersion: version.Version, BenchmarkID: bench, InspectorIDs: inspectors, ExternalIDs: chats,
		Due: due, CreatedBy: who.Subject,
	})
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	out, err := s.sessionProto(ctx, c)
	if err != nil {
		return nil, err
	}
	return &qav1.CreateCalibrationResponse{Session: out}, nil
}

// participant reports whether the caller scores in c.
func participant(ctx context.Context, c store.CalibrationSession) bool {
	who, _ := PrincipalFrom(ctx)
	return who.Role == store.RoleInspector && slices.Contains(c.Participants(), who.Subject)
}

// readableSession returns session id if the caller may see it: an admin
// any, an inspector their own; any other is NOT_FOUND.
func (s *calibrationService) readableSession(ctx context.Context, id int64) (store.CalibrationSession, error) {
	c, err := s.store.GetCalibration(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return c, status.Errorf(codes.NotFound, "calibration session %d not found", id)
	}
	if err != nil {
		return c, storeError(ctx, s.log, err)
	}
	if who, _ := PrincipalFrom(ctx); who.Role != store.RoleAdmin && !participant(ctx, c) {
		return c, status.Errorf(codes.NotFound, "calibration session %d not found", id)
	}
	return c, nil
}

func (s *calibrationService) ListCalibrations(ctx context.Context, req *qav1.ListCalibrationsRequest) (*qav1.ListCalibrationsResponse, error) {
	var l fielderr.List
	pg := idPage(&l, req.GetPageSize(), req.GetPageToken(), 0)
	st := store.CalibrationStatus(req.GetStatus())
	if st != "" && !slices.Contains([]store.CalibrationStatus{store.CalibrationOpen, store.CalibrationComplete, store.CalibrationClosed}, st) {
		l.Add("status", "%s is not a session status: open, complete or closed (empty for all)", fielderr.Quote(req.GetStatus()))
	}
	if err := invalidList(&l); err != nil {
		return nil, err
	}
	f := store.CalibrationFilter{Status: st, Limit: pg.fetch()}
	if who, _ := PrincipalFrom(ctx); who.Role != store.RoleAdmin {
		f.InspectorID = who.Subject
	}
	if pg.hasAfter {
		f.BeforeID = pg.after
	}
	sessions, err := s.store.ListCalibrations(ctx, f)
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	out := &qav1.ListCalibrationsResponse{}
	sessions, out.NextPageToken = cut(pg, sessions, func(c store.CalibrationSession) int64 { return c.ID })
	for _, c := range sessions {
		out.Sessions = append(out.Sessions, calibrationToProto(c))
	}
	return out, nil
}

func (s *calibrationService) GetCalibration(ctx context.Context, req *qav1.GetCalibrationRequest) (*qav1.GetCalibrationResponse, error) {
	c, err := s.readableSession(ctx, req.GetId())
	if err != nil {
		return nil, err
	}
	out, err := s.sessionProto(ctx, c)
	if err != nil {
		return nil, err
	}
	return &qav1.GetCalibrationResponse{Session: out}, nil
}

func (s *calibrationService) CloseCalibration(ctx context.Context, req *qav1.CloseCalibrationRequest) (*qav1.CloseCalibrationResponse, error) {
	who, _ := PrincipalFrom(ctx)
	c, err := s.store.CloseCalibration(ctx, req.GetId(), who.Subject)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, status.Errorf(codes.NotFound, "calibration session %d not found", req.GetId())
	case errors.Is(err, store.ErrConflict):
		return nil, status.Errorf(codes.FailedPrecondition, "calibration session %d is closed already", req.GetId())
	case err != nil:
		return nil, storeError(ctx, s.log, err)
	}
	out, err := s.sessionProto(ctx, c)
	if err != nil {
		return nil, err
	}
	return &qav1.CloseCalibrationResponse{Session: out}, nil
}

func (s *calibrationService) GetCalibrationResults(ctx context.Context, req *qav1.GetCalibrationResultsRequest) (*qav1.GetCalibrationResultsResponse, error) {
	c, err := s.readableSession(ctx, req.GetId())
	if err != nil {
		return nil, err
	}
	if who, _ := PrincipalFrom(ctx); who.Role != store.RoleAdmin && !c.Revealed() {
		return nil, status.Errorf(codes.FailedPrecondition,
			"calibration session %d is not revealed yet: results show once everyone has finalised or an admin closes it", c.ID)
	}
	items, err := s.store.ListCalibrationItems(ctx, store.CalibrationItemFilter{SessionID: c.ID})
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	rubric, _, err := s.rubrics.version(ctx, c.RubricVersion)
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	res := calibration.Compute(calibrationInput(c, items, rubric))
	return &qav1.GetCalibrationResultsResponse{Session: sessionWithProgress(c, items), Results: resultsToProto(res)}, nil
}

// calibrationInput is the pure package's view of a session.
func calibrationInput(c store.CalibrationSession, items []store.CalibrationItem, rubric scoring.Rubric) calibration.Input {
	in := calibration.Input{Chats: c.ExternalIDs, Inspectors: c.InspectorIDs, Benchmark: c.BenchmarkID,
		Finals: make(map[calibration.Key]calibration.Final, len(items))}
	for _, d := range rubric.Dimensions {
		in.Dimensions = append(in.Dimensions, calibration.Dimension{Key: d.Key, Name: d.Name, Max: d.Max})
	}
	for _, f := range rubric.Flags {
		in.Flags = append(in.Flags, f.Key)
	}
	for _, it := range items {
		if !it.Final() {
			continue
		}
		f := calibration.Final{Ratings: make(map[string]calibration.Rating, len(it.Review.Ratings)), Flags: it.Review.Flags, Score: it.Review.Score}
		for _, r := range it.Review.Ratings {
			f.Ratings[r.Key] = calibration.Rating{Value: r.Value, NA: r.NA}
		}
		in.Finals[calibration.Key{Chat: it.ExternalID, Inspector: it.InspectorID}] = f
	}
	return in
}

// sessionProto is c with its participants' progress.
func (s *calibrationService) sessionProto(ctx context.Context, c store.CalibrationSession) (*qav1.CalibrationSession, error) {
	items, err := s.store.ListCalibrationItems(ctx, store.CalibrationItemFilter{SessionID: c.ID})
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	return sessionWithProgress(c, items), nil
}

func sessionWithProgress(c store.CalibrationSession, items []store.CalibrationItem) *qav1.CalibrationSession {
	out := calibrationToProto(c)
	for _, p := range c.Participants() {
		pr := &qav1.CalibrationProgress{InspectorId: p, Benchmark: p == c.BenchmarkID}
		for _, it := range items {
			if it.InspectorID == p {
				pr.Items++
				if it.Final() {
					pr.Finalised++
				}
			}
		}
		out.Progress = append(out.Progress, pr)
	}
	return out
}

func calibrationToProto(c store.CalibrationSession) *qav1.CalibrationSession {
	return &qav1.CalibrationSession{
		Id: c.ID, Name: c.Name, RubricVersion: c.RubricVersion, BenchmarkId: c.BenchmarkID,
		InspectorIds: c.InspectorIDs, ExternalIds: c.ExternalIDs, Due: optionalTime(c.Due), Status: string(c.Status),
		Revealed: c.Revealed(), CreatedBy: c.CreatedBy, CreatedAt: optionalTime(c.CreatedAt),
		RevealedAt: optionalTime(c.RevealedAt), ClosedAt: optionalTime(c.ClosedAt), ClosedBy: c.ClosedBy,
		Items: int32(c.Items), Finalised: int32(c.Finalised),
	}
}

// optFloat is nil for NaN: "no value" rather than a number.
func optFloat(f float64) *float64 {
	if math.IsNaN(f) {
		return nil
	}
	return &f
}

func alphaToProto(r alpha.Result) *qav1.Alpha {
	out := &qav1.Alpha{Verdict: r.Verdict(), Pairable: int32(r.Pairable), Units: int32(r.Units)}
	if r.Defined {
		out.Value = &r.Alpha
	}
	return out
}

func cellToProto(c calibration.Cell) *qav1.CalibrationRating {
	out := &qav1.CalibrationRating{InspectorId: c.Inspector, Value: int32(c.Value), Na: c.NA, Missing: c.Missing, Deviates: c.Deviates}
	if c.HasReference {
		out.Agreement, out.Deviation = optFloat(c.Agreement), optFloat(c.Deviation)
	}
	return out
}

func resultsToProto(res calibration.Results) *qav1.CalibrationResults {
	out := &qav1.CalibrationResults{Alpha: &qav1.CalibrationAlphas{
		Interval: alphaToProto(res.Interval), Ordinal: alphaToProto(res.Ordinal),
		FlagsNominal: alphaToProto(res.FlagsNominal), ScoreInterval: alphaToProto(res.ScoreInterval),
	}}
	for _, u := range res.Units {
		pu := &qav1.CalibrationUnit{ExternalId: u.Chat, Dimension: u.Dimension.Key, DimensionName: u.Dimension.Name,
			Max: int32(u.Dimension.Max), Mean: optFloat(u.Mean)}
		for _, c := range u.Cells {
			pu.Ratings = append(pu.Ratings, cellToProto(c))
		}
		if u.Benchmark != nil {
			pu.Benchmark = cellToProto(*u.Benchmark)
		}
		out.Units = append(out.Units, pu)
	}
	for _, r := range res.Inspectors {
		ref := "peers"
		if r.AgainstBenchmark {
			ref = "benchmark"
		}
		out.Inspectors = append(out.Inspectors, &qav1.CalibrationInspectorResult{
			InspectorId: r.Inspector, Benchmark: r.Benchmark, Finalised: int32(r.Finalised), Compared: int32(r.Compared),
			MeanAgreement: optFloat(r.MeanAgreement), Bias: optFloat(r.Bias), BiasPercent: optFloat(r.BiasPercent),
			ScoreBias: optFloat(r.ScoreBias), Reference: ref,
		})
	}
	return out
}

// CalibrationStanding is an inspector's result in their latest revealed
// calibration session: what reports and the severity model read as the
// inspector's reliability (issue 12 parts 3–4).
type CalibrationStanding struct {
	SessionID  int64
	RevealedAt time.Time
	// Alpha is the session's interval alpha over ratings (all raters);
	// NaN when undefined.
	Alpha float64
	// MeanAgreement and Bias are the inspector's (NaN when nothing was
	// compared).
	MeanAgreement, Bias float64
}

// CalibrationStandings returns each inspector's standing in the latest
// revealed session they finalised a review in; inspectors without one
// are absent. Each session's results are computed once.
func CalibrationStandings(ctx context.Context, st Storage, rubrics *rubricBook) (map[string]CalibrationStanding, error) {
	latest, err := st.LatestCalibrations(ctx)
	if err != nil {
		return nil, err
	}
	bySession := map[int64]calibration.Results{}
	sessions := map[int64]store.CalibrationSession{}
	out := make(map[string]CalibrationStanding, len(latest))
	for insp, id := range latest {
		res, ok := bySession[id]
		if !ok {
			c, err := st.GetCalibration(ctx, id)
			if err != nil {
				return nil, err
			}
			items, err := st.ListCalibrationItems(ctx, store.CalibrationItemFilter{SessionID: id})
			if err != nil {
				return nil, err
			}
			rubric, _, err := rubrics.version(ctx, c.RubricVersion)
			if err != nil {
				return nil, err
			}
			res = calibration.Compute(calibrationInput(c, items, rubric))
			bySession[id], sessions[id] = res, c
		}
		s := CalibrationStanding{SessionID: id, RevealedAt: sessions[id].RevealedAt, Alpha: math.NaN(),
			MeanAgreement: math.NaN(), Bias: math.NaN()}
		if res.Interval.Defined {
			s.Alpha = res.Interval.Alpha
		}
		for _, r := range res.Inspectors {
			if r.Inspector == insp {
				s.MeanAgreement, s.Bias = r.MeanAgreement, r.Bias
			}
		}
		out[insp] = s
	}
	return out, nil
}

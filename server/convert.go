package server

import (
	"strconv"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"qa-sampling/fielderr"
	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/scoring"
	"qa-sampling/store"
	"qa-sampling/transcript"
)

// timeFromProto converts an optional timestamp; absent gives the zero time,
// which validation reports as missing. A present timestamp is a value even
// when it is 0001-01-01T00:00:00Z, Go's zero time, so that one is judged
// here by the range a time must be in rather than taken for missing.
func timeFromProto(ts *timestamppb.Timestamp, field string, now time.Time) (time.Time, *fielderr.Error) {
	if ts == nil {
		return time.Time{}, nil
	}
	if err := ts.CheckValid(); err != nil {
		return time.Time{}, fielderr.New(field, "not a valid timestamp")
	}
	t := ts.AsTime()
	if t.IsZero() {
		return t, transcript.CheckTimeRange(field, t, now)
	}
	return t, nil
}

// transcriptFromProto converts the wire form; it reports only what the
// domain type cannot represent. transcript.Validate checks the rest.
func transcriptFromProto(pt *qav1.Transcript, now time.Time) (transcript.Transcript, *fielderr.Error) {
	t := transcript.Transcript{
		ExternalID:    pt.GetExternalId(),
		AgentID:       pt.GetAgentId(),
		Channel:       pt.GetChannel(),
		CustomerID:    pt.GetCustomerId(),
		CustomerTier:  pt.GetCustomerTier(),
		Tags:          pt.GetTags(),
		TransferCount: int(pt.GetTransferCount()),
		Attributes:    pt.GetAttributes(),
	}
	if pt.Csat != nil {
		if c := pt.GetCsat(); c < 1 || c > 5 {
			return t, fielderr.New("csat", "%d is out of range 1..5", c)
		}
		t.CSAT = int(pt.GetCsat())
	}
	var fe *fielderr.Error
	if t.StartedAt, fe = timeFromProto(pt.GetStartedAt(), "started_at", now); fe != nil {
		return t, fe
	}
	if t.EndedAt, fe = timeFromProto(pt.GetEndedAt(), "ended_at", now); fe != nil {
		return t, fe
	}
	msgs := pt.GetMessages()
	t.Messages = make([]transcript.Message, len(msgs))
	for i, m := range msgs {
		role := transcript.RoleUnknown
		if r := m.GetRole(); r > 0 && r <= qav1.Role_ROLE_SYSTEM {
			role = transcript.Role(r)
		}
		sentAt, fe := timeFromProto(m.GetSentAt(), "", now)
		if fe != nil {
			fe.Violations[0].Field = "messages[" + strconv.Itoa(i) + "].sent_at" // built only on error: hot loop
			return t, fe
		}
		t.Messages[i] = transcript.Message{Role: role, Text: m.GetText(), SentAt: sentAt, AgentID: m.GetAgentId()}
	}
	return t, nil
}

func optionalDuration(d time.Duration) *durationpb.Duration {
	if d == transcript.NoResponse {
		return nil
	}
	return durationpb.New(d)
}

func metricsToProto(m transcript.Metrics) *qav1.DerivedMetrics {
	return &qav1.DerivedMetrics{
		MessageCount:          int32(m.MessageCount),
		AgentMessageCount:     int32(m.AgentMessageCount),
		CustomerMessageCount:  int32(m.CustomerMessageCount),
		BotMessageCount:       int32(m.BotMessageCount),
		SystemMessageCount:    int32(m.SystemMessageCount),
		FirstResponseTime:     optionalDuration(m.FirstResponse),
		MeanAgentResponseTime: optionalDuration(m.MeanAgentResponse),
		AgentReplyCount:       int32(m.AgentReplyCount),
		HandleTime:            durationpb.New(m.HandleTime),
	}
}

func transcriptToProto(st *store.StoredTranscript) *qav1.Transcript {
	t := &st.Transcript
	out := &qav1.Transcript{
		ExternalId:    t.ExternalID,
		AgentId:       t.AgentID,
		Channel:       t.Channel,
		CustomerId:    t.CustomerID,
		CustomerTier:  t.CustomerTier,
		StartedAt:     timestamppb.New(t.StartedAt),
		EndedAt:       timestamppb.New(t.EndedAt),
		Messages:      make([]*qav1.Message, len(t.Messages)),
		Tags:          t.Tags,
		TransferCount: int32(t.TransferCount),
		Attributes:    t.Attributes,
		Metrics:       metricsToProto(st.Metrics),
		IngestedAt:    timestamppb.New(st.IngestedAt),
		UpdatedAt:     timestamppb.New(st.UpdatedAt),
		Revision:      st.Revision,
		Sampled:       st.Sampled,
	}
	if !st.PurgedAt.IsZero() {
		out.ContentRemovedAt = timestamppb.New(st.PurgedAt)
	}
	if t.CSAT != 0 {
		c := int32(t.CSAT)
		out.Csat = &c
	}
	for i, m := range t.Messages {
		out.Messages[i] = &qav1.Message{
			Role:    qav1.Role(m.Role),
			Text:    m.Text,
			SentAt:  timestamppb.New(m.SentAt),
			AgentId: m.AgentID,
		}
	}
	return out
}

func agentFromProto(pa *qav1.Agent) store.Agent {
	active := true
	if pa.Active != nil {
		active = pa.GetActive()
	}
	return store.Agent{
		AgentID:      pa.GetAgentId(),
		Name:         pa.GetName(),
		TeamID:       pa.GetTeamId(),
		SupervisorID: pa.GetSupervisorId(),
		HiredOn:      pa.GetHiredOn(),
		Active:       active,
	}
}

func outcomeStatus(o store.Outcome) qav1.ItemStatus {
	switch o {
	case store.Created:
		return qav1.ItemStatus_ITEM_STATUS_ACCEPTED
	case store.Updated:
		return qav1.ItemStatus_ITEM_STATUS_UPDATED
	case store.Unchanged:
		return qav1.ItemStatus_ITEM_STATUS_UNCHANGED
	case store.KeptSampled:
		return qav1.ItemStatus_ITEM_STATUS_KEPT_SAMPLED
	}
	return qav1.ItemStatus_ITEM_STATUS_UNSPECIFIED
}

// optionalTime is nil for the zero time: "not yet" rather than 1970.
func optionalTime(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// reviewToProto converts a review; r, when not nil, is its rubric version,
// for the dimensions' names.
func reviewToProto(rv store.Review, r *scoring.Rubric) *qav1.Review {
	out := &qav1.Review{
		Id: rv.ID, ItemId: rv.PickID, ExternalId: rv.ExternalID, AgentId: rv.AgentID, InspectorId: rv.InspectorID,
		RubricVersion: rv.RubricVersion, Status: string(rv.Status), Flags: rv.Flags, Comment: rv.Comment,
		Strengths: rv.Strengths, Suggestions: rv.Suggestions, Week: rv.Week,
		DisputeId: rv.DisputeID, SupersedesId: rv.SupersedesID, SupersededById: rv.SupersededByID,
		CreatedAt:   optionalTime(rv.CreatedAt),
		UpdatedAt:   optionalTime(rv.UpdatedAt),
		FinalizedAt: optionalTime(rv.FinalizedAt),
	}
	if rv.Status != store.ReviewDraft {
		out.Score, out.ScoreText, out.Grade, out.Critical = rv.Score, scoring.Display(rv.Score), rv.Grade, rv.Critical
	}
	names := map[string]string{}
	if r != nil {
		for _, d := range r.Dimensions {
			names[d.Key] = d.Name
		}
	}
	for _, rt := range rv.Ratings {
		out.Ratings = append(out.Ratings, &qav1.DimensionRating{
			Key: rt.Key, Value: int32(rt.Value), Na: rt.NA, Comment: rt.Comment, Max: int32(rt.Max),
			Percent: rt.Percent, Failing: rt.Failing, Critical: rt.Critical, Name: names[rt.Key],
		})
	}
	return out
}

func feedbackToProto(f store.Feedback, r *scoring.Rubric) *qav1.FeedbackRecord {
	return &qav1.FeedbackRecord{
		Id: f.ID, Review: reviewToProto(f.Review, r), AgentId: f.Review.AgentID, SupervisorId: f.SupervisorID,
		TeamId: f.TeamID, Week: f.Review.Week, Score: f.Review.Score, ScoreText: scoring.Display(f.Review.Score),
		Grade: f.Review.Grade, CoachingRequired: f.CoachingRequired, ShareAsExample: f.ShareAsExample,
		SupersedesId: f.SupersedesID, CreatedAt: timestamppb.New(f.CreatedAt),
		AcknowledgedAt: optionalTime(f.AcknowledgedAt),
		AcknowledgedBy: f.AcknowledgedBy, CoachingNote: f.CoachingNote, AgentName: f.AgentName,
	}
}

func disputeToProto(d store.Dispute) *qav1.Dispute {
	return &qav1.Dispute{
		Id: d.ID, ReviewId: d.ReviewID, ItemId: d.PickID, AgentId: d.AgentID, OpenedBy: d.OpenedBy, Reason: d.Reason,
		AssigneeId: d.AssigneeID, Status: string(d.Status), ResolutionReviewId: d.ResolutionID,
		OpenedAt: timestamppb.New(d.OpenedAt), ResolvedAt: optionalTime(d.ResolvedAt),
	}
}

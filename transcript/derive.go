package transcript

// Derive computes the ingest metrics of t. (Placeholder counts only; the
// response-time rules are implemented in the follow-up change.)
func Derive(t *Transcript) Metrics {
	m := Metrics{
		MessageCount:      len(t.Messages),
		FirstResponse:     NoResponse,
		MeanAgentResponse: NoResponse,
		HandleTime:        t.EndedAt.Sub(t.StartedAt),
	}
	return m
}

package transcript

// CheckHit is one finding of an automatic check (package checks computes
// them at ingest; SPEC §6): which check, the message it points to, and
// what in it matched.
type CheckHit struct {
	// Check is the check's key, e.g. "forbidden_phrase".
	Check string `json:"check"`
	// Message is the index in Messages of the message the hit points to.
	Message int `json:"message"`
	// Matched is the text as written in the message (phrase checks), e.g.
	// traditional "愛買不買".
	Matched string `json:"matched,omitempty"`
	// Phrase is the configured phrase it matched, e.g. "爱买不买".
	Phrase string `json:"phrase,omitempty"`
	// WaitMS and LimitMS are the wait and the SLA of the reply (the SLA
	// checks).
	WaitMS  int64 `json:"wait_ms,omitempty"`
	LimitMS int64 `json:"limit_ms,omitempty"`
}

// Checks are the automatic checks' result for one transcript.
type Checks struct {
	// Version is the check-set version that computed them; 0 when the
	// transcript was never checked (stored before checks existed).
	Version int64
	// Flags has bit i set when the check of package checks' Keys[i]
	// fired: a compact form for scans and reports.
	Flags uint64
	// Hits in message order.
	Hits []CheckHit
}

package server

import (
	"github.com/prometheus/client_golang/prometheus"

	"qa-sampling/redact"
	"qa-sampling/transcript"
)

// redactionCounters count replacements at ingest by kind, one child per
// kind made up front so that every kind shows, at 0 until it happens.
type redactionCounters [len(redact.Names)]prometheus.Counter

func newRedactionCounters(reg prometheus.Registerer) *redactionCounters {
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "qa_redactions_total",
		Help: "Personal data replaced by a placeholder at ingest, by type (phone, landline, id_card, bank_card, email); every push counts, a repeated one too.",
	}, []string{"type"})
	reg.MustRegister(vec)
	var c redactionCounters
	for k, name := range redact.Names {
		c[k] = vec.WithLabelValues(name)
	}
	return &c
}

// redact replaces the personal data in a validated transcript before it
// is prepared, so that neither the stored body nor the content hash ever
// sees it: a repeated push redacts to the same text and is UNCHANGED.
func (s *ingestService) redact(t *transcript.Transcript) {
	counts := s.opts.Redact.Transcript(t)
	for k, n := range counts {
		if n > 0 {
			s.metrics.redactions[k].Add(float64(n))
		}
	}
}

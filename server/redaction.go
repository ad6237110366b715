package server

import (
	"context"
	"crypto/rand"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"qa-sampling/redact"
	"qa-sampling/transcript"
)

// redactionCounters count replacements at ingest by kind and field, one
// child per pair made up front so that every pair shows, at 0 until it
// happens.
type redactionCounters [len(redact.Names)][len(redact.FieldNames)]prometheus.Counter

func newRedactionCounters(reg prometheus.Registerer) *redactionCounters {
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "qa_redactions_total",
		Help: "Personal data replaced at ingest, by type (phone, landline, id_card, bank_card, email) and field (message, attribute_value: placeholders; attribute_key, tag, customer_id, channel, customer_tier: keyed pseudonyms); every push counts, a repeated one too.",
	}, []string{"type", "field"})
	reg.MustRegister(vec)
	var c redactionCounters
	for k, kind := range redact.Names {
		for f, field := range redact.FieldNames {
			c[k][f] = vec.WithLabelValues(kind, field)
		}
	}
	return &c
}

// pseudonymKey is the key identifier fields are pseudonymised with,
// read from the store (which makes it on first use) once and kept.
type pseudonymKey struct {
	mu  sync.Mutex
	key *redact.Key
}

// get returns the key, asking st on the first call (and again after a
// failed one).
func (p *pseudonymKey) get(ctx context.Context, st ingestStore) (*redact.Key, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.key != nil {
		return p.key, nil
	}
	candidate := make([]byte, redact.KeySize)
	if _, err := rand.Read(candidate); err != nil {
		return nil, err
	}
	secret, err := st.PseudonymKey(ctx, candidate)
	if err != nil {
		return nil, err
	}
	key, err := redact.NewKey(secret)
	if err != nil {
		return nil, err
	}
	p.key = key
	return key, nil
}

// redactor returns the key ingest pseudonymises with; nil when redaction
// is off.
func (s *ingestService) redactor(ctx context.Context) (*redact.Key, error) {
	if s.opts.Redact == redact.None {
		return nil, nil
	}
	return s.pseudonyms.get(ctx, s.store)
}

// redact replaces the personal data in a validated transcript before it
// is prepared, so that neither the stored body, the stored columns nor
// the content hash ever sees it: a repeated push redacts to the same text
// and the same pseudonyms and is UNCHANGED.
func (s *ingestService) redact(t *transcript.Transcript, key *redact.Key) {
	counts := s.opts.Redact.Transcript(t, key)
	for f := range counts {
		for k, n := range counts[f] {
			if n > 0 {
				s.metrics.redactions[k][f].Add(float64(n))
			}
		}
	}
}

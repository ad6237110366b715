package server

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"log/slog"
	"sync/atomic"
	"time"

	"qa-sampling/store"
	"qa-sampling/transcript"
)

// dictionaryTrainer trains the body compression dictionary once enough
// transcripts are stored, and installs it so later bodies use it. Until
// then bodies are plain zstd; they stay readable forever either way.
type dictionaryTrainer struct {
	store   store.DictionaryStore
	codec   *transcript.Codec
	log     *slog.Logger
	now     func() time.Time
	samples int // how many recent bodies to learn from; 0 disables

	// pending counts transcripts stored since the last attempt; an attempt
	// is made each time it reaches samples, so a store that is still too
	// small is not asked again after every batch.
	pending atomic.Int64
	// due asks Run for an attempt; it holds at most one request.
	due chan struct{}
}

func newDictionaryTrainer(st store.DictionaryStore, codec *transcript.Codec, samples int, now func() time.Time, log *slog.Logger) *dictionaryTrainer {
	return &dictionaryTrainer{store: st, codec: codec, log: log, now: now, samples: samples, due: make(chan struct{}, 1)}
}

// noteStored is called after a commit that stored n new transcripts.
func (d *dictionaryTrainer) noteStored(n int) {
	if d.samples == 0 || n == 0 || d.codec.Current() != 0 {
		return
	}
	if d.pending.Add(int64(n)) < int64(d.samples) {
		return
	}
	d.pending.Store(0)
	select {
	case d.due <- struct{}{}:
	default: // an attempt is already due
	}
}

// Run makes an attempt at once, for a store that already holds enough
// transcripts but no dictionary (say, one filled before an upgrade), then
// one each time noteStored asks, until ctx ends or a dictionary is in use.
func (d *dictionaryTrainer) Run(ctx context.Context) {
	if d.samples == 0 {
		return
	}
	for d.codec.Current() == 0 {
		if err := d.RunOnce(ctx); err != nil && ctx.Err() == nil {
			d.log.Warn("training the body compression dictionary failed; bodies stay plain zstd", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-d.due:
		}
	}
}

// RunOnce trains and installs a dictionary if the store holds enough
// transcripts, within five minutes; with too few it does nothing.
func (d *dictionaryTrainer) RunOnce(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	return d.train(ctx)
}

func (d *dictionaryTrainer) train(ctx context.Context) error {
	bodies, err := d.store.SampleBodies(ctx, d.samples)
	if err != nil || len(bodies) < d.samples {
		return err
	}
	payloads := make([][]byte, 0, len(bodies))
	for _, b := range bodies {
		p, err := d.codec.Payload(b)
		if err != nil {
			return err
		}
		payloads = append(payloads, p)
	}
	start := d.now()
	dict, err := transcript.TrainDictionary(dictionaryID(), payloads)
	if err != nil {
		return err
	}
	if err := d.store.AddDictionary(ctx, dict); err != nil {
		return err
	}
	if err := d.codec.Install([]transcript.Dictionary{dict}, dict.ID); err != nil {
		return err
	}
	d.log.Info("body compression dictionary trained", "id", dict.ID, "bytes", len(dict.Data),
		"samples", len(payloads), "took", d.now().Sub(start).Round(time.Millisecond).String())
	return nil
}

// dictionaryID is random, so replicas training at once do not collide;
// zstd reserves ids below 32768.
func dictionaryID() uint32 {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return 1<<15 + binary.BigEndian.Uint32(b[:])%(1<<31-1<<15)
}

package transcript

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/dict"
	"github.com/klauspost/compress/zstd"
)

// The stored body is one version byte followed by a zstd frame of:
//
//	uvarint message count
//	per message: role byte, zigzag varint of sent_at in Unix ms relative to
//	  the previous message (the first relative to 0), uvarint-prefixed
//	  agent_id, uvarint-prefixed text
//	uvarint attribute count, then sorted uvarint-prefixed key/value pairs
//
// Deltas keep times to one or two bytes; zstd takes the text. Messages are
// kept to the millisecond, which is why Prepare truncates times first.
const bodyVersion = 1

// maxPayloadBytes caps the decoded size of a body, about twice the largest
// payload DefaultLimits admit. Without it a corrupt body declaring a huge
// frame size makes the decoder allocate that much and kill the process.
const maxPayloadBytes = 256 << 20

// ErrCorruptBody is returned when a stored body cannot be decoded.
var ErrCorruptBody = errors.New("transcript: corrupt stored body")

// ErrUnknownDictionary is returned when a body was compressed with a
// dictionary the codec has not been given (another replica trained it).
var ErrUnknownDictionary = errors.New("transcript: body uses an unknown compression dictionary")

// Dictionary is a zstd dictionary trained on message bodies. Chat text
// repeats itself across conversations (greetings, canned replies, policy
// wording) far more than within one, so a shared dictionary compresses
// short conversations that zstd alone barely shrinks.
type Dictionary struct {
	ID   uint32
	Data []byte
}

// Codec turns messages into stored bodies and back. Bodies name the
// dictionary they were compressed with (in the zstd frame header), so a
// codec decodes any body whose dictionary it holds, whichever is current
// for encoding. Safe for concurrent use.
type Codec struct {
	mu      sync.Mutex
	dicts   map[uint32][]byte
	current uint32
	enc     atomic.Pointer[zstd.Encoder]
	dec     atomic.Pointer[zstd.Decoder]
}

// NewCodec returns a codec without dictionaries.
func NewCodec() *Codec {
	c := &Codec{dicts: map[uint32][]byte{}}
	if err := c.rebuild(); err != nil {
		panic(err) // options without dictionaries cannot fail
	}
	return c
}

// plain is the codec of the package-level helpers: no dictionary.
var plain = NewCodec()

func (c *Codec) rebuild() error {
	encOpts := []zstd.EOption{zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithLowerEncoderMem(true)}
	if c.current != 0 {
		encOpts = append(encOpts, zstd.WithEncoderDict(c.dicts[c.current]))
	}
	enc, err := zstd.NewWriter(nil, encOpts...)
	if err != nil {
		return fmt.Errorf("transcript: zstd encoder: %w", err)
	}
	decOpts := []zstd.DOption{zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(maxPayloadBytes)}
	if len(c.dicts) > 0 {
		all := make([][]byte, 0, len(c.dicts))
		for _, d := range c.dicts {
			all = append(all, d)
		}
		decOpts = append(decOpts, zstd.WithDecoderDicts(all...))
	}
	dec, err := zstd.NewReader(nil, decOpts...)
	if err != nil {
		return fmt.Errorf("transcript: zstd decoder: %w", err)
	}
	c.enc.Store(enc)
	c.dec.Store(dec)
	return nil
}

// Install adds dictionaries for decoding and, when use is not 0, makes
// that one (which must be among the installed) the one new bodies use.
func (c *Codec) Install(ds []Dictionary, use uint32) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, d := range ds {
		if d.ID == 0 {
			return errors.New("transcript: dictionary id 0 is reserved for none")
		}
		c.dicts[d.ID] = d.Data
	}
	if use != 0 {
		if _, ok := c.dicts[use]; !ok {
			return fmt.Errorf("transcript: dictionary %d is not installed", use)
		}
		c.current = use
	}
	return c.rebuild()
}

// Current is the id of the dictionary new bodies use; 0 for none.
func (c *Codec) Current() uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.current
}

// TrainDictionary builds a dictionary with the given id from sample
// payloads (see Codec.Payload). It wants a few hundred samples at least.
func TrainDictionary(id uint32, payloads [][]byte) (Dictionary, error) {
	data, err := dict.BuildZstdDict(payloads, dict.Options{
		MaxDictSize: 64 << 10, HashBytes: 6, ZstdDictID: id, ZstdLevel: zstd.SpeedFastest,
	})
	if err != nil {
		return Dictionary{}, fmt.Errorf("transcript: train dictionary: %w", err)
	}
	return Dictionary{ID: id, Data: data}, nil
}

// appendPayload appends the uncompressed body encoding of msgs and attrs.
func appendPayload(b []byte, msgs []Message, attrs map[string]string) []byte {
	b = binary.AppendUvarint(b, uint64(len(msgs)))
	var prev int64
	for i := range msgs {
		m := &msgs[i]
		ms := m.SentAt.UnixMilli()
		b = append(b, byte(m.Role))
		b = binary.AppendVarint(b, ms-prev)
		prev = ms
		b = appendString(b, m.AgentID)
		b = appendString(b, m.Text)
	}
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		b = appendString(b, k)
		b = appendString(b, attrs[k])
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// EncodeBody returns the compact stored form of a transcript's messages and
// attributes, without a dictionary.
func EncodeBody(msgs []Message, attrs map[string]string) []byte {
	return plain.compress(appendPayload(nil, msgs, attrs))
}

// DecodeBody is the inverse of EncodeBody.
func DecodeBody(body []byte) ([]Message, map[string]string, error) {
	return plain.Decode(body)
}

func (c *Codec) compress(payload []byte) []byte {
	out := make([]byte, 1, len(payload)/2+16)
	out[0] = bodyVersion
	return c.enc.Load().EncodeAll(payload, out)
}

// Payload returns the uncompressed encoding inside a body: the samples
// TrainDictionary learns from.
func (c *Codec) Payload(body []byte) ([]byte, error) {
	if len(body) == 0 || body[0] != bodyVersion {
		return nil, fmt.Errorf("%w: unknown version", ErrCorruptBody)
	}
	payload, err := c.dec.Load().DecodeAll(body[1:], nil)
	if errors.Is(err, zstd.ErrUnknownDictionary) {
		return nil, ErrUnknownDictionary
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorruptBody, err)
	}
	return payload, nil
}

// Decode returns the messages and attributes of a stored body.
func (c *Codec) Decode(body []byte) ([]Message, map[string]string, error) {
	payload, err := c.Payload(body)
	if err != nil {
		return nil, nil, err
	}
	r := reader{b: payload}
	n := r.uvarint()
	if n > uint64(len(payload)) { // every message takes at least one byte
		return nil, nil, fmt.Errorf("%w: message count", ErrCorruptBody)
	}
	msgs := make([]Message, 0, n)
	var prev int64
	for i := uint64(0); i < n && r.err == nil; i++ {
		role := Role(r.byte())
		prev += r.varint()
		agentID := r.string()
		text := r.string()
		msgs = append(msgs, Message{Role: role, Text: text, SentAt: time.UnixMilli(prev).UTC(), AgentID: agentID})
	}
	na := r.uvarint()
	if na > uint64(len(payload)) {
		return nil, nil, fmt.Errorf("%w: attribute count", ErrCorruptBody)
	}
	var attrs map[string]string
	if na > 0 {
		attrs = make(map[string]string, na)
	}
	for i := uint64(0); i < na && r.err == nil; i++ {
		k := r.string()
		attrs[k] = r.string()
	}
	if r.err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrCorruptBody, r.err)
	}
	if len(r.b) != 0 {
		return nil, nil, fmt.Errorf("%w: %d trailing bytes", ErrCorruptBody, len(r.b))
	}
	return msgs, attrs, nil
}

var errShort = errors.New("truncated")

// reader decodes the payload; the first error sticks and zero values follow.
type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errShort
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errShort
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) byte() byte {
	if r.err != nil || len(r.b) == 0 {
		r.err = errShort
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) string() string {
	n := r.uvarint()
	if r.err != nil {
		return ""
	}
	if n > uint64(len(r.b)) {
		r.err = errShort
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

// Prepare is Codec.Prepare without a dictionary.
func Prepare(t Transcript) *Prepared { return plain.Prepare(t) }

// Prepare derives metrics, encodes the body and hashes the content of a
// transcript that passed Validate. Times are truncated to the millisecond,
// the precision the store keeps, so that pushing what was read back is
// recognised as unchanged. The hash covers the content, not the
// compression, so a change of dictionary never makes a push "updated".
func (c *Codec) Prepare(t Transcript) *Prepared {
	t.StartedAt = t.StartedAt.Truncate(time.Millisecond).UTC()
	t.EndedAt = t.EndedAt.Truncate(time.Millisecond).UTC()
	msgs := make([]Message, len(t.Messages))
	for i, m := range t.Messages {
		m.SentAt = m.SentAt.Truncate(time.Millisecond).UTC()
		if m.Role == RoleAgent && m.AgentID == "" {
			m.AgentID = t.AgentID
		}
		msgs[i] = m
	}
	t.Messages = msgs
	t.Tags = normalizeTags(t.Tags)

	payload := appendPayload(nil, t.Messages, t.Attributes)
	h := sha256.New()
	var scratch []byte
	for _, s := range []string{t.ExternalID, t.AgentID, t.Channel, t.CustomerID, t.CustomerTier} {
		scratch = appendString(scratch, s)
	}
	scratch = binary.AppendVarint(scratch, t.StartedAt.UnixMilli())
	scratch = binary.AppendVarint(scratch, t.EndedAt.UnixMilli())
	scratch = binary.AppendVarint(scratch, int64(t.CSAT))
	scratch = binary.AppendVarint(scratch, int64(t.TransferCount))
	scratch = binary.AppendUvarint(scratch, uint64(len(t.Tags)))
	for _, tag := range t.Tags {
		scratch = appendString(scratch, tag)
	}
	h.Write(scratch)
	h.Write(payload)

	return &Prepared{
		Transcript:  t,
		Metrics:     Derive(&t),
		AgentIDs:    Authors(&t),
		Body:        c.compress(payload),
		ContentHash: h.Sum(nil)[:16],
	}
}

// normalizeTags sorts and de-duplicates tags: their order carries no meaning,
// and a re-push with the same tags in another order is unchanged.
func normalizeTags(tags []string) []string {
	if len(tags) == 0 {
		return nil
	}
	out := slices.Clone(tags)
	slices.Sort(out)
	return slices.Compact(out)
}

// Authors returns the distinct agents who wrote in t, t.AgentID first, then
// in order of first message.
func Authors(t *Transcript) []string {
	ids := []string{t.AgentID}
	for i := range t.Messages {
		m := &t.Messages[i]
		if m.Role == RoleAgent && m.AgentID != "" && !slices.Contains(ids, m.AgentID) {
			ids = append(ids, m.AgentID)
		}
	}
	return ids
}

package transcript

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
)

// A stored body is a version byte and a compressed payload:
//
//	1: a zstd frame, no dictionary (before the service has one)
//	2: uvarint dictionary id, then an s2 block compressed with that dictionary
//
// The payload is:
//
//	uvarint message count
//	per message: role byte, zigzag varint of sent_at in Unix ms relative to
//	  the previous message (the first relative to 0), uvarint-prefixed
//	  agent_id, uvarint-prefixed text
//	uvarint attribute count, then sorted uvarint-prefixed key/value pairs
//
// Deltas keep times to one or two bytes. Chat text repeats itself across
// conversations (greetings, canned replies, policy wording) far more than
// within one, so a dictionary of recent chats is what makes short bodies
// small: with one, s2 beats zstd on size and is five times faster, which
// matters because compression is the largest CPU cost of ingest (see
// BENCHMARKS.md). Without one s2 barely shrinks Chinese text, hence zstd.
// Messages are kept to the millisecond, which is why Prepare truncates.
const (
	bodyZstd   = 1
	bodyS2Dict = 2
)

// maxPayloadBytes caps the decoded size of a body, about twice the largest
// payload DefaultLimits admit. Without it a corrupt body declaring a huge
// size makes the decoder allocate that much and kill the process.
const maxPayloadBytes = 256 << 20

var (
	zstdEncoder, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithLowerEncoderMem(true))
	zstdDecoder, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(maxPayloadBytes))
)

// ErrCorruptBody is returned when a stored body cannot be decoded.
var ErrCorruptBody = errors.New("transcript: corrupt stored body")

// ErrUnknownDictionary is returned when a body was compressed with a
// dictionary the codec has not been given (another replica made it).
var ErrUnknownDictionary = errors.New("transcript: body uses an unknown compression dictionary")

// Dictionary is a compression dictionary for bodies: a window of recent
// chat payloads in s2's serialised form.
type Dictionary struct {
	ID   uint32
	Data []byte
}

// Codec turns messages into stored bodies and back. A body names the
// dictionary it was compressed with, so a codec decodes any body whose
// dictionary it holds, whichever is current for encoding. Safe for
// concurrent use.
type Codec struct {
	mu sync.Mutex // serialises Install
	// dicts is replaced, never changed, so readers need no lock.
	dicts   atomic.Pointer[map[uint32]*s2.Dict]
	current atomic.Pointer[currentDictionary]
}

type currentDictionary struct {
	id   uint32
	dict *s2.Dict
}

// NewCodec returns a codec without dictionaries.
func NewCodec() *Codec {
	c := &Codec{}
	c.dicts.Store(&map[uint32]*s2.Dict{})
	return c
}

// plain is the codec of the package-level helpers: no dictionary.
var plain = NewCodec()

// Install adds dictionaries for decoding and, when use is not 0, makes
// that one (which must be among the installed) the one new bodies use.
func (c *Codec) Install(ds []Dictionary, use uint32) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	next := maps.Clone(*c.dicts.Load())
	for _, d := range ds {
		if d.ID == 0 {
			return errors.New("transcript: dictionary id 0 is reserved for none")
		}
		parsed := s2.NewDict(d.Data)
		if parsed == nil {
			return fmt.Errorf("transcript: dictionary %d is not a valid s2 dictionary", d.ID)
		}
		next[d.ID] = parsed
	}
	if use != 0 && next[use] == nil {
		return fmt.Errorf("transcript: dictionary %d is not installed", use)
	}
	c.dicts.Store(&next)
	if use != 0 {
		c.current.Store(&currentDictionary{id: use, dict: next[use]})
	}
	return nil
}

// Current is the id of the dictionary new bodies use; 0 for none.
func (c *Codec) Current() uint32 {
	if cur := c.current.Load(); cur != nil {
		return cur.id
	}
	return 0
}

// TrainDictionary makes a dictionary with the given id from sample
// payloads (see Codec.Payload): the last 64 KiB of them, which is as much
// as s2 can refer back to. Recent chats share the most with the next ones.
func TrainDictionary(id uint32, payloads [][]byte) (Dictionary, error) {
	var window []byte
	for i := len(payloads) - 1; i >= 0 && len(window) < s2.MaxDictSize; i-- {
		window = append(window, payloads[i]...)
	}
	d := s2.MakeDict(window, nil)
	if d == nil {
		return Dictionary{}, fmt.Errorf("transcript: %d bytes of samples are too few for a dictionary", len(window))
	}
	return Dictionary{ID: id, Data: d.Bytes()}, nil
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
	if cur := c.current.Load(); cur != nil {
		header := binary.AppendUvarint([]byte{bodyS2Dict}, uint64(cur.id))
		out := make([]byte, len(header)+s2.MaxEncodedLen(len(payload)))
		copy(out, header)
		// Encode writes from the start of its dst rather than appending.
		block := cur.dict.Encode(out[len(header):], payload)
		return out[:len(header)+len(block)]
	}
	out := make([]byte, 1, len(payload)/2+16)
	out[0] = bodyZstd
	return zstdEncoder.EncodeAll(payload, out)
}

// Payload returns the uncompressed encoding inside a body: the samples
// TrainDictionary learns from.
func (c *Codec) Payload(body []byte) ([]byte, error) {
	if len(body) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrCorruptBody)
	}
	switch body[0] {
	case bodyZstd:
		payload, err := zstdDecoder.DecodeAll(body[1:], nil)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrCorruptBody, err)
		}
		return payload, nil
	case bodyS2Dict:
		id, n := binary.Uvarint(body[1:])
		if n <= 0 || id > math.MaxUint32 {
			return nil, fmt.Errorf("%w: dictionary id", ErrCorruptBody)
		}
		d := (*c.dicts.Load())[uint32(id)]
		if d == nil {
			return nil, fmt.Errorf("%w: %d", ErrUnknownDictionary, id)
		}
		block := body[1+n:]
		if size, err := s2.DecodedLen(block); err != nil || size > maxPayloadBytes {
			return nil, fmt.Errorf("%w: block size", ErrCorruptBody)
		}
		payload, err := d.Decode(nil, block)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrCorruptBody, err)
		}
		return payload, nil
	}
	return nil, fmt.Errorf("%w: unknown version %d", ErrCorruptBody, body[0])
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
	attrs, err := r.attributes()
	if err != nil {
		return nil, nil, err
	}
	return msgs, attrs, nil
}

// Attributes returns the attributes of a stored body, passing over its
// messages without copying them: what sampling reads of a body.
func (c *Codec) Attributes(body []byte) (map[string]string, error) {
	payload, err := c.Payload(body)
	if err != nil {
		return nil, err
	}
	r := reader{b: payload}
	n := r.uvarint()
	for i := uint64(0); i < n && r.err == nil; i++ {
		r.byte()
		r.varint()
		r.skipString()
		r.skipString()
	}
	return r.attributes()
}

// attributes reads the attributes that end a payload.
func (r *reader) attributes() (map[string]string, error) {
	na := r.uvarint()
	if na > uint64(len(r.b)) { // every attribute takes at least two bytes
		return nil, fmt.Errorf("%w: attribute count", ErrCorruptBody)
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
		return nil, fmt.Errorf("%w: %w", ErrCorruptBody, r.err)
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrCorruptBody, len(r.b))
	}
	return attrs, nil
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

func (r *reader) skipString() {
	n := r.uvarint()
	if r.err != nil {
		return
	}
	if n > uint64(len(r.b)) {
		r.err = errShort
		return
	}
	r.b = r.b[n:]
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

// Authors returns the agents t counts for: the distinct agents who wrote
// in it, an agent message without an agent_id being t.AgentID's (SPEC §4,
// Transfers); t.AgentID first if they wrote, the others in order of first
// message. An owner who wrote nothing is not among them: they have nothing
// to be scored on. A conversation without agent messages counts for its
// owner, as before, for sampling to exclude it as having none.
func Authors(t *Transcript) []string {
	ids := []string{t.AgentID}
	ownerWrote := false
	for i := range t.Messages {
		m := &t.Messages[i]
		if m.Role != RoleAgent {
			continue
		}
		if m.AgentID == "" || m.AgentID == t.AgentID {
			ownerWrote = true
		} else if !slices.Contains(ids, m.AgentID) {
			ids = append(ids, m.AgentID)
		}
	}
	if !ownerWrote && len(ids) > 1 {
		return ids[1:]
	}
	return ids
}

// OwnerWrote reports whether t counts for its owner, t.AgentID: whether
// Authors includes them.
func OwnerWrote(t *Transcript) bool {
	return slices.Contains(Authors(t), t.AgentID)
}

package sqlstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"qa-sampling/store"
)

// A sample block is one hour's sample rows (store.SampleRow without the
// ScanOptions extras) packed into bytes, kept in sample_blocks by SQLite
// (migration 00023, scanWeekBlocks). Reading a week as 168 blocks costs a
// fraction of reading a million index entries and splitting their text
// records; the keys under the week's seed come with them.
//
// Layout, all integers varints (signed ones zig-zag):
//
//	format byte, flags byte (blockKeyed)
//	dictionary: count, then each string as length and bytes
//	rows: count, then per row:
//	  external id as length and bytes
//	  agent count, then dictionary index each (AgentIDs, in order)
//	  channel, tier: dictionary index
//	  tag count, then dictionary index each
//	  csat, transfers, handle ms, ended_at ms minus the hour's start,
//	  messages, agent messages, customer messages: signed
//	  key: 8 bytes big-endian, when keyed
//
// Agent ids, channels, tiers and tags repeat across an hour's rows and are
// stored once, in the dictionary.
const blockFormat = 1

// blockKeyed marks a block whose rows carry their keys.
const blockKeyed = 1

// hourMS is the span of a block: one UTC hour of end times.
const hourMS = int64(time.Hour / time.Millisecond)

// blockEncoder packs rows of one hour into a block.
type blockEncoder struct {
	start int64 // the hour's first millisecond
	keyed bool
	dict  map[string]uint64
	words []string
	rows  int
	body  []byte
}

func newBlockEncoder(hour int64, keyed bool) *blockEncoder {
	return &blockEncoder{start: hour * hourMS, keyed: keyed, dict: make(map[string]uint64)}
}

func (e *blockEncoder) word(s string) {
	i, ok := e.dict[s]
	if !ok {
		i = uint64(len(e.words))
		e.dict[s] = i
		e.words = append(e.words, s)
	}
	e.body = binary.AppendUvarint(e.body, i)
}

// add appends r, whose key is key when the encoder is keyed.
func (e *blockEncoder) add(r *store.SampleRow, key uint64) {
	e.rows++
	b := binary.AppendUvarint(e.body, uint64(len(r.ExternalID)))
	e.body = append(b, r.ExternalID...)
	e.body = binary.AppendUvarint(e.body, uint64(len(r.AgentIDs)))
	for _, a := range r.AgentIDs {
		e.word(a)
	}
	e.word(r.Channel)
	e.word(r.CustomerTier)
	e.body = binary.AppendUvarint(e.body, uint64(len(r.Tags)))
	for _, t := range r.Tags {
		e.word(t)
	}
	for _, v := range [...]int64{
		int64(r.CSAT), int64(r.TransferCount), r.HandleTime.Milliseconds(), r.EndedAt.UnixMilli() - e.start,
		int64(r.MessageCount), int64(r.AgentMessageCount), int64(r.CustomerMessages),
	} {
		e.body = binary.AppendVarint(e.body, v)
	}
	if e.keyed {
		e.body = binary.BigEndian.AppendUint64(e.body, key)
	}
}

// bytes returns the block.
func (e *blockEncoder) bytes() []byte {
	n := 2 + binary.MaxVarintLen64*2 + len(e.body)
	for _, w := range e.words {
		n += binary.MaxVarintLen64 + len(w)
	}
	out := make([]byte, 0, n)
	flags := byte(0)
	if e.keyed {
		flags |= blockKeyed
	}
	out = append(out, blockFormat, flags)
	out = binary.AppendUvarint(out, uint64(len(e.words)))
	for _, w := range e.words {
		out = binary.AppendUvarint(out, uint64(len(w)))
		out = append(out, w...)
	}
	out = binary.AppendUvarint(out, uint64(e.rows))
	return append(out, e.body...)
}

// errBlock reports a block that cannot be decoded: the scan fails rather
// than drop a row.
var errBlock = errors.New("malformed sample block")

// blockDecoder reads a block. Each row's strings are its own (or
// dictionary strings shared by the block's rows), never the block's bytes,
// so a consumer keeping one keeps only that.
type blockDecoder struct {
	data  []byte
	start int64
	keyed bool
	// keys says whether rows get the block's keys: only when the scan
	// asked for keys under the seed they were computed with.
	keys  bool
	words []string
	rows  int
	// AgentIDs and tags are carved from shared slices, each capped so
	// that an append by the consumer copies (as rowBuilder does).
	strs []string
}

func newBlockDecoder(hour int64, data []byte, keys bool) (*blockDecoder, error) {
	d := &blockDecoder{data: data, start: hour * hourMS}
	if len(data) < 2 || data[0] != blockFormat || data[1]&^blockKeyed != 0 {
		return nil, fmt.Errorf("%w: hour %d: unknown format", errBlock, hour)
	}
	d.keyed = data[1]&blockKeyed != 0
	d.keys = keys && d.keyed
	d.data = data[2:]
	n, err := d.count()
	if err != nil {
		return nil, fmt.Errorf("hour %d: %w", hour, err)
	}
	d.words = make([]string, n)
	for i := range d.words {
		if d.words[i], err = d.str(); err != nil {
			return nil, fmt.Errorf("hour %d: %w", hour, err)
		}
	}
	if d.rows, err = d.count(); err != nil {
		return nil, fmt.Errorf("hour %d: %w", hour, err)
	}
	return d, nil
}

func (d *blockDecoder) uvarint() (uint64, error) {
	v, n := binary.Uvarint(d.data)
	if n <= 0 {
		return 0, errBlock
	}
	d.data = d.data[n:]
	return v, nil
}

func (d *blockDecoder) varint() (int64, error) {
	v, n := binary.Varint(d.data)
	if n <= 0 {
		return 0, errBlock
	}
	d.data = d.data[n:]
	return v, nil
}

// count reads a length, which cannot exceed the bytes left (every item
// takes at least one).
func (d *blockDecoder) count() (int, error) {
	v, err := d.uvarint()
	if err != nil || v > uint64(len(d.data)) {
		return 0, errBlock
	}
	return int(v), nil
}

func (d *blockDecoder) str() (string, error) {
	n, err := d.count()
	if err != nil {
		return "", err
	}
	s := string(d.data[:n])
	d.data = d.data[n:]
	return s, nil
}

func (d *blockDecoder) word() (string, error) {
	i, err := d.uvarint()
	if err != nil || i >= uint64(len(d.words)) {
		return "", errBlock
	}
	return d.words[i], nil
}

// words reads a count and as many dictionary strings; nil when none.
func (d *blockDecoder) wordList() ([]string, error) {
	n, err := d.count()
	if err != nil || n == 0 {
		return nil, err
	}
	if len(d.strs) < n {
		d.strs = make([]string, max(1024, n))
	}
	out := d.strs[0:n:n]
	d.strs = d.strs[n:]
	for i := range out {
		if out[i], err = d.word(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// next decodes the next row into r.
func (d *blockDecoder) next(r *store.SampleRow) error {
	var err error
	*r = store.SampleRow{}
	if r.ExternalID, err = d.str(); err != nil {
		return err
	}
	if r.AgentIDs, err = d.wordList(); err != nil {
		return err
	}
	if r.Channel, err = d.word(); err != nil {
		return err
	}
	if r.CustomerTier, err = d.word(); err != nil {
		return err
	}
	if r.Tags, err = d.wordList(); err != nil {
		return err
	}
	var v [7]int64
	for i := range v {
		if v[i], err = d.varint(); err != nil {
			return err
		}
	}
	r.CSAT, r.TransferCount = int(v[0]), int(v[1])
	r.HandleTime = time.Duration(v[2]) * time.Millisecond
	r.EndedAt = fromMillis(d.start + v[3])
	r.MessageCount, r.AgentMessageCount, r.CustomerMessages = int(v[4]), int(v[5]), int(v[6])
	if d.keyed {
		if len(d.data) < 8 {
			return errBlock
		}
		if d.keys {
			r.Key, r.Keyed = binary.BigEndian.Uint64(d.data), true
		}
		d.data = d.data[8:]
	}
	return nil
}

// each decodes every row of the block to fn and returns fn's first error
// as it is; the block must hold exactly its count of rows.
func (d *blockDecoder) each(fn func(store.SampleRow) error) error {
	var r store.SampleRow
	for range d.rows {
		if err := d.next(&r); err != nil {
			return fmt.Errorf("hour %d: %w", d.start/hourMS, err)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	if len(d.data) != 0 {
		return fmt.Errorf("hour %d: %w: bytes after the last row", d.start/hourMS, errBlock)
	}
	return nil
}

package sampler

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
)

// MinSeedLen is the shortest seed a run accepts. A seed is the HMAC key
// that orders conversations; if someone could guess it before the week is
// sampled, they could tell which chats would be picked. Runs should use 32
// bytes from crypto/rand, drawn when the run is created.
const MinSeedLen = 16

// Key is the sampling key of a conversation in a run with this seed: the
// first 8 bytes, read big-endian, of HMAC-SHA256 keyed with the seed over
// the UTF-8 bytes of the external id. Smaller keys are picked first. An
// auditor can recompute it with any HMAC tool, for example
//
//	printf %s "$EXTERNAL_ID" | openssl dgst -sha256 -mac HMAC -macopt hexkey:"$SEED_HEX"
//
// whose first 16 hex digits are the key in hexadecimal (KeyHex).
func Key(seed []byte, externalID string) uint64 {
	return newKeyer(seed).key(externalID)
}

// KeyHex is how a key is shown: 16 lowercase hex digits, leading zeros
// kept, so that it equals the first 16 digits openssl prints as a string.
func KeyHex(key uint64) string { return fmt.Sprintf("%016x", key) }

// KeyMatches reports whether p.Key is the key of p.ExternalID under seed,
// the first thing an audit of a pick checks.
func (p *Pick) KeyMatches(seed []byte) bool { return Key(seed, p.ExternalID) == p.Key }

// Keyer computes the keys of one seed, reusing one HMAC: for a caller
// that keys many conversations (a store that keeps their keys with its
// sample records, see Conversation.Keyed). Not safe for concurrent use.
type Keyer struct{ k *keyer }

// NewKeyer returns a Keyer for seed.
func NewKeyer(seed []byte) *Keyer { return &Keyer{k: newKeyer(seed)} }

// Key is Key(seed, externalID).
func (k *Keyer) Key(externalID string) uint64 { return k.k.key(externalID) }

// keyer computes keys for one seed without allocating: the HMAC's keyed
// state is saved once and restored by Reset.
type keyer struct {
	mac hash.Hash
	buf []byte
	sum []byte
}

func newKeyer(seed []byte) *keyer {
	return &keyer{mac: hmac.New(sha256.New, seed), sum: make([]byte, 0, sha256.Size)}
}

func (k *keyer) key(externalID string) uint64 {
	k.mac.Reset()
	k.buf = append(k.buf[:0], externalID...)
	k.mac.Write(k.buf)
	k.sum = k.mac.Sum(k.sum[:0])
	return binary.BigEndian.Uint64(k.sum)
}

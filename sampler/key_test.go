package sampler

import (
	"encoding/hex"
	"testing"
)

// TestKeyGolden pins the key to values computed outside Go (Python's hmac
// module and `openssl dgst -sha256 -mac HMAC`), as an auditor would.
func TestKeyGolden(t *testing.T) {
	seq := make([]byte, 32)
	for i := range seq {
		seq[i] = byte(i)
	}
	tests := []struct {
		seed []byte
		id   string
		want uint64
	}{
		{[]byte("0123456789abcdef-test-seed"), "conv-0000000001", 0x496625542235e858},
		{seq, "star-1234", 0xeaaa5929b503cf42},
		{seq, "会话-42", 0x315391e8d5ce29e2},
	}
	for _, tt := range tests {
		if got := Key(tt.seed, tt.id); got != tt.want {
			t.Errorf("Key(%s, %q) = %#x, want %#x", hex.EncodeToString(tt.seed), tt.id, got, tt.want)
		}
	}
}

func TestKeyerReuse(t *testing.T) {
	k := newKeyer(testSeed)
	for _, id := range []string{"a", "a-much-longer-external-id-than-one-block-of-sha256-input-0123456789", "", "a"} {
		if got, want := k.key(id), Key(testSeed, id); got != want {
			t.Errorf("reused keyer: key(%q) = %#x, want %#x", id, got, want)
		}
	}
	if Key([]byte("another seed of 16+ bytes"), "a") == Key(testSeed, "a") {
		t.Error("the key does not depend on the seed")
	}
}

func TestPickKeyMatches(t *testing.T) {
	p := Pick{ExternalID: "conv-1", Key: Key(testSeed, "conv-1")}
	if !p.KeyMatches(testSeed) {
		t.Error("KeyMatches = false for a correct key")
	}
	p.Key++
	if p.KeyMatches(testSeed) {
		t.Error("KeyMatches = true for a wrong key")
	}
}

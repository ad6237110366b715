package redact

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"strings"
)

// Key is the secret pseudonyms are keyed with. Without it a pseudonym of
// a phone number could be reversed by hashing every one of the about two
// billion mobile numbers; with it, only by whoever holds the key.
type Key struct{ secret []byte }

// KeySize is the size of a key made for pseudonyms; NewKey takes no less
// than MinKeySize.
const (
	KeySize    = 32
	MinKeySize = 16
)

// NewKey makes a key of secret, which must be at least MinKeySize bytes.
func NewKey(secret []byte) (*Key, error) {
	if len(secret) < MinKeySize {
		return nil, errors.New("redact: a pseudonym key needs at least 16 bytes")
	}
	return &Key{secret: append([]byte(nil), secret...)}, nil
}

// pseudonymLen is the letters of keyed hash after the placeholder: 48
// bits, so that among ten million customers a collision (two customers
// taken for one) is unlikely.
const pseudonymLen = 12

// pseudonym is the placeholder of k followed by a keyed hash of the
// value's canonical form, written in the letters a..p: no digit and no
// '@', so that a pseudonym is never taken for personal data itself and
// pseudonymising one changes nothing.
func (key *Key) pseudonym(b *strings.Builder, k Kind, value string) {
	b.WriteString(Placeholders[k])
	if key == nil {
		return
	}
	mac := hmac.New(sha256.New, key.secret)
	mac.Write([]byte{byte(k)})
	mac.Write([]byte(canonical(k, value)))
	var sum [sha256.Size]byte
	for _, c := range mac.Sum(sum[:0])[:pseudonymLen/2] {
		b.WriteByte('a' + c>>4)
		b.WriteByte('a' + c&0xf)
	}
}

// canonical is the form of a value that does not depend on how it was
// written: the digits (and an ID card's X) of a number, a mobile number
// without its country code, an e-mail address in lower case. So
// "+86 139 1234 5678" and "13912345678" get one pseudonym, and so do
// "Li.Si＠example.com" and "li.si@example.com".
func canonical(k Kind, value string) string {
	if k == Email {
		return strings.ToLower(strings.Replace(value, fullWidthAt, "@", 1))
	}
	d := make([]byte, 0, 20)
	for i := 0; i < len(value); {
		if v, w := digitAt(value, i); w > 0 {
			d = append(d, byte('0'+v))
			i += w
			continue
		}
		if value[i]|0x20 == 'x' {
			d = append(d, 'X')
		}
		i++
	}
	if k == Phone && len(d) > 11 {
		d = d[len(d)-11:]
	}
	return string(d)
}

// ID returns an identifier with the personal data of the kinds in s
// replaced by pseudonyms: the kind's placeholder and a keyed hash of the
// value, as in 〔手机号〕kcfpamdhbeoj. The same value under the same key
// always gives the same pseudonym and different values different ones
// (but for a 48-bit hash's collisions), so an id keeps grouping and
// de-duplicating what it did; the value cannot be read back from it. An
// id without personal data is returned as it is. A nil key gives the bare
// placeholder.
func (s Set) ID(key *Key, id string) (string, Counts) {
	if s == None || !mayHoldPersonal(id) {
		return id, Counts{}
	}
	return s.replace(key, true, "", id)
}

// mayHoldPersonal reports whether s has a digit (ASCII, or the lead byte
// of a full-width one) or an '@': ids, tags and keys are short and mostly
// without, and this skips the scanners for them.
func mayHoldPersonal(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= '0' && c <= '9' || c == '@' || c == 0xEF {
			return true
		}
	}
	return false
}

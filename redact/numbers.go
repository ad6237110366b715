package redact

import (
	"encoding/binary"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"
)

// group is a run of digits (ASCII or full-width) in the text.
type group struct {
	start, end int // byte span in the text
	d0, d1     int // span in the digit buffer
	// joined: exactly one separator (space, hyphen) lies between this
	// group and the one before, so together they may spell one number.
	joined bool
	// glued: a letter touches the group before or after, so it is part
	// of a code (SF1234567890123, DD…) and starts or ends no number.
	// Punctuation does not glue: "13812345678,13912345678" is two.
	gluedBefore, gluedAfter bool
	// x: the group is followed by a lone X, an ID-card check character.
	x bool
}

func (g *group) n() int { return g.d1 - g.d0 }

// scanner holds one text's digit groups. Scanners are pooled: their
// buffers outlive a call.
type scanner struct {
	text   string
	label  string
	digits []byte
	groups []group
	reach  []int
}

var scanners = sync.Pool{New: func() any { return new(scanner) }}

// digitAt returns the digit value of the rune at i and its width, or -1.
func digitAt(text string, i int) (int, int) {
	c := text[i]
	if c >= '0' && c <= '9' {
		return int(c - '0'), 1
	}
	if c == 0xEF && i+2 < len(text) && text[i+1] == 0xBC && text[i+2] >= 0x90 && text[i+2] <= 0x99 {
		return int(text[i+2] - 0x90), 3
	}
	return -1, 0
}

// separatorAt returns the width of a separator that may sit inside a
// number at i (space, hyphen, no-break or ideographic space, full-width
// hyphen), or 0.
func separatorAt(text string, i int) int {
	switch text[i] {
	case ' ', '-':
		return 1
	}
	for _, sep := range []string{"\u00a0", "\u3000", "－"} {
		if strings.HasPrefix(text[i:], sep) {
			return len(sep)
		}
	}
	return 0
}

// isWordRune: letters (ASCII or full-width) and '_' make a digit run part
// of a code.
func isWordRune(r rune) bool {
	return r < utf8.RuneSelf && (isASCIILetter(byte(r)) || r == '_') ||
		r >= 'Ａ' && r <= 'Ｚ' || r >= 'ａ' && r <= 'ｚ'
}

func (sc *scanner) tokenize() {
	text := sc.text
	prevEnd := -1                                           // end of the previous group
	raw := unsafe.Slice(unsafe.StringData(text), len(text)) // read only
	for i := 0; i < len(text); {
		// The hot loop: eight bytes at a time while none is an ASCII digit
		// or the lead byte of a full-width one, then Chinese text three
		// bytes (a rune) at a time.
		if i+8 <= len(raw) && !mayHoldDigit(binary.LittleEndian.Uint64(raw[i:])) {
			i += 8
			for i+8 <= len(raw) && !mayHoldDigit(binary.LittleEndian.Uint64(raw[i:])) {
				i += 8
			}
			// Back to the start of the rune the words cut: a full-width
			// digit's lead byte may be behind.
			for k := 0; k < 3 && i < len(raw) && raw[i]&0xC0 == 0x80; k++ {
				i--
			}
		}
		if i >= len(text) {
			break
		}
		c := text[i]
		if c < '0' || c > '9' {
			if c >= 0xE0 && c <= 0xEF && i+2 < len(text) && text[i+1]&0xC0 == 0x80 && text[i+2]&0xC0 == 0x80 {
				if c != 0xEF || text[i+1] != 0xBC || text[i+2] < 0x90 || text[i+2] > 0x99 {
					i += 3
					continue
				}
			} else {
				i++
				continue
			}
		}
		g := group{start: i, d0: len(sc.digits)}
		for i < len(text) {
			d, w := digitAt(text, i)
			if w == 0 {
				break
			}
			sc.digits = append(sc.digits, byte('0'+d))
			i += w
		}
		g.end, g.d1 = i, len(sc.digits)
		if prevEnd >= 0 && g.start > prevEnd {
			if w := separatorAt(text, prevEnd); w > 0 && prevEnd+w == g.start {
				g.joined = true
			}
		}
		if g.start > 0 {
			r, _ := utf8.DecodeLastRuneInString(text[:g.start])
			g.gluedBefore = isWordRune(r)
		}
		if i < len(text) {
			r, w := utf8.DecodeRuneInString(text[i:])
			switch {
			case (r == 'X' || r == 'x') && (i+w == len(text) || !isWordAt(text, i+w)):
				g.x = true
			case isWordRune(r):
				g.gluedAfter = true
			}
		}
		sc.groups = append(sc.groups, g)
		prevEnd = i
	}
}

// mayHoldDigit reports whether the eight bytes in x may hold an ASCII
// digit or part of a full-width one (EF BC 90..99): a byte 0x90..0x99
// after 0xBC, or 0xBC last, whose digit byte would be in the next word.
// Not 0xEF alone: it leads all full-width punctuation, which Chinese text
// is full of. False alarms only cost the byte-wise loop.
func mayHoldDigit(x uint64) bool {
	const ones, highs, low7 = 0x0101010101010101, 0x8080808080808080, 0x7f7f7f7f7f7f7f7f
	// Flags on the bytes strictly between m and n (below 128): "hasbetween"
	// of Bit Twiddling Hacks, exact per byte. Written out twice to inline.
	const m, n = '0' - 1, '9' + 1
	digits := (ones*(127+n) - x&low7) &^ x & (x&low7 + ones*(127-m)) & highs
	// Bytes 0x90..0x99, their top bit flipped to fit below 128.
	const m2, n2 = 0x8f ^ 0x80, 0x9a ^ 0x80
	y := x ^ highs
	nineties := (ones*(127+n2) - y&low7) &^ y & (y&low7 + ones*(127-m2)) & highs
	// 0xBC bytes; a false alarm may follow a true one, never a miss.
	bc := x ^ (ones * 0xBC)
	bcs := (bc - ones) &^ bc & highs
	return digits|bcs<<8&nineties|bcs>>56 != 0
}

func isWordAt(text string, i int) bool {
	r, _ := utf8.DecodeRuneInString(text[i:])
	if _, w := digitAt(text, i); w > 0 {
		return true
	}
	return isWordRune(r)
}

// findNumbers appends the spans of personal numbers of the kinds in s
// that do not overlap spans already found, and returns all sorted.
func findNumbers(s Set, label, text string, spans []span) []span {
	sc := scanners.Get().(*scanner)
	defer scanners.Put(sc)
	sc.text, sc.label, sc.digits, sc.groups = text, label, sc.digits[:0], sc.groups[:0]
	sc.tokenize()
	if len(sc.groups) == 0 {
		return spans
	}
	found := len(spans)
	// reach[i] is how many digits groups i.. spell joined together: fewer
	// than seven make no number of any kind, which rules out most figures
	// (amounts, dates, quantities) at once.
	reach := slices.Grow(sc.reach[:0], len(sc.groups))[:len(sc.groups)]
	sc.reach = reach
	for i := len(sc.groups) - 1; i >= 0; i-- {
		reach[i] = sc.groups[i].n()
		if i+1 < len(sc.groups) && sc.groups[i+1].joined {
			reach[i] += reach[i+1]
		}
	}
	for i := 0; i < len(sc.groups); {
		g := &sc.groups[i]
		if reach[i] < 7 || g.gluedBefore || overlaps(spans[:found], g.start, g.end) {
			i++
			continue
		}
		sp, next, ok := sc.match(s, i)
		if ok && !overlaps(spans[:found], sp.start, sp.end) {
			spans = append(spans, sp)
			i = next
			continue
		}
		i++
	}
	if found > 0 && len(spans) > found {
		slices.SortFunc(spans, func(a, b span) int { return a.start - b.start })
	}
	return spans
}

func overlaps(spans []span, start, end int) bool {
	for _, sp := range spans {
		if sp.start < end && start < sp.end {
			return true
		}
	}
	return false
}

// match tries each kind on the groups starting at i, most specific first,
// and returns the span, the index of the group after it, and whether one
// matched.
func (sc *scanner) match(s Set, i int) (span, int, bool) {
	if s.Has(IDCard) {
		if j, ok := sc.idCard(i); ok {
			return sc.span(i, j, IDCard), j + 1, true
		}
	}
	if s.Has(BankCard) {
		if j, ok := sc.bankCard(i); ok {
			return sc.span(i, j, BankCard), j + 1, true
		}
	}
	if s.Has(Phone) {
		if sp, j, ok := sc.phone(i); ok {
			return sp, j + 1, true
		}
	}
	if s.Has(Landline) {
		if sp, j, ok := sc.landline(i); ok {
			return sp, j + 1, true
		}
	}
	return span{}, 0, false
}

func (sc *scanner) span(i, j int, k Kind) span {
	end := sc.groups[j].end
	if k == IDCard && sc.groups[j].x {
		end++
	}
	return span{start: sc.groups[i].start, end: end, kind: k}
}

// run returns the lengths of the groups i..i+n-1 if they are joined one to
// the next and the last ends a number (no letter after, no X unless x),
// else nil.
func (sc *scanner) run(i, n int, x bool, buf *[5]int) []int {
	if i+n > len(sc.groups) {
		return nil
	}
	lens := buf[:0]
	for k := i; k < i+n; k++ {
		g := &sc.groups[k]
		if k > i && !g.joined {
			return nil
		}
		lens = append(lens, g.n())
	}
	last := &sc.groups[i+n-1]
	if last.gluedAfter || last.x != x {
		return nil
	}
	return lens
}

// digitsOf returns the digits of groups i..j; the slice is the scanner's.
func (sc *scanner) digitsOf(i, j int) []byte {
	return sc.digits[sc.groups[i].d0:sc.groups[j].d1]
}

// idCard matches an 18-character resident ID number, written whole or as
// 6-8-4 or 6-4-4-4, its last character a digit or X.
func (sc *scanner) idCard(i int) (int, bool) {
	var buf [5]int
	var id [18]byte
	for n := 1; n <= 4; n++ {
		for _, x := range []bool{false, true} {
			lens := sc.run(i, n, x, &buf)
			if lens == nil || sum(lens) != 18-b2i(x) {
				continue
			}
			if n > 1 && lens[0] != 6 {
				continue
			}
			d := append(id[:0], sc.digitsOf(i, i+n-1)...)
			if x {
				d = append(d, 'X')
			}
			if validIDCard(d) {
				return i + n - 1, true
			}
		}
	}
	return 0, false
}

// bankCard matches 16 to 19 digits, whole or in groups of four (the last
// shorter) or 6 + the rest, with a card-scheme prefix and the Luhn check,
// unless the words before name an order or tracking number.
func (sc *scanner) bankCard(i int) (int, bool) {
	var buf [5]int
	for n := 5; n >= 1; n-- {
		lens := sc.run(i, n, false, &buf)
		if lens == nil {
			continue
		}
		total := sum(lens)
		if total < 16 || total > 19 || !cardGrouping(lens) {
			continue
		}
		d := sc.digitsOf(i, i+n-1)
		if validBankCard(d) && !sc.orderLabelled(sc.groups[i].start) {
			return i + n - 1, true
		}
	}
	return 0, false
}

func cardGrouping(lens []int) bool {
	if len(lens) == 1 {
		return true
	}
	if len(lens) == 2 && lens[0] == 6 {
		return true
	}
	for _, n := range lens[:len(lens)-1] {
		if n != 4 {
			return false
		}
	}
	return lens[len(lens)-1] <= 4
}

// phone matches a mobile number (1[3-9] and nine digits) written whole or
// as 3-4-4, 3-8 or 7-4, with an optional +86, 86 or 0086 before it, in
// the same group or before a separator or a parenthesis.
func (sc *scanner) phone(i int) (span, int, bool) {
	g := &sc.groups[i]
	// The country code as its own group: "+86 138 1234 5678".
	if cc := string(sc.digitsOf(i, i)); (cc == "86" || cc == "0086") && !g.gluedAfter && i+1 < len(sc.groups) && sc.groups[i+1].joined {
		if j, ok := sc.mobileAt(i+1, ""); ok {
			return span{start: sc.prefixStart(g.start), end: sc.groups[j].end, kind: Phone}, j, true
		}
	}
	// The country code glued on: "8613812345678".
	for _, cc := range []string{"86", "0086"} {
		if j, ok := sc.mobileAt(i, cc); ok {
			return span{start: sc.prefixStart(g.start), end: sc.groups[j].end, kind: Phone}, j, true
		}
	}
	if j, ok := sc.mobileAt(i, ""); ok {
		return span{start: sc.countryCodeBefore(g.start), end: sc.groups[j].end, kind: Phone}, j, true
	}
	return span{}, 0, false
}

// mobileAt matches a mobile number starting at group i, whose first group
// begins with the country code cc.
func (sc *scanner) mobileAt(i int, cc string) (int, bool) {
	var buf [5]int
	for _, shape := range [][]int{{11}, {3, 4, 4}, {3, 8}, {7, 4}} {
		lens := sc.run(i, len(shape), false, &buf)
		if lens == nil {
			continue
		}
		lens[0] -= len(cc)
		if !slices.Equal(lens, shape) {
			continue
		}
		d := sc.digitsOf(i, i+len(shape)-1)
		if string(d[:len(cc)]) == cc && validMobile(d[len(cc):]) {
			return i + len(shape) - 1, true
		}
	}
	return 0, false
}

func validMobile(d []byte) bool {
	return len(d) == 11 && d[0] == '1' && d[1] >= '3' && d[1] <= '9'
}

// prefixStart extends a span back over a '+' and an opening parenthesis
// right before a country code.
func (sc *scanner) prefixStart(start int) int {
	if start > 0 && sc.text[start-1] == '+' {
		start--
	}
	return openParenBefore(sc.text, start)
}

// countryCodeBefore extends a mobile number's span back over a country
// code written apart: "(+86) ", "+86-", "86 " (a group of its own is
// handled by phone; this catches the parenthesised forms).
func (sc *scanner) countryCodeBefore(start int) int {
	p := start
	if p > 0 {
		if w := separatorBefore(sc.text, p); w > 0 {
			p -= w
		}
	}
	p = closeParenBefore(sc.text, p)
	for _, cc := range []string{"+86", "+0086"} {
		if p >= len(cc) && sc.text[p-len(cc):p] == cc && p != start {
			return openParenBefore(sc.text, p-len(cc))
		}
	}
	return start
}

func separatorBefore(text string, p int) int {
	for _, sep := range []string{" ", "-", "\u00a0", "\u3000", "－"} {
		if strings.HasSuffix(text[:p], sep) {
			return len(sep)
		}
	}
	return 0
}

func openParenBefore(text string, p int) int {
	for _, paren := range []string{"(", "（"} {
		if strings.HasSuffix(text[:p], paren) {
			return p - len(paren)
		}
	}
	return p
}

func closeParenBefore(text string, p int) int {
	for _, paren := range []string{")", "）"} {
		if strings.HasSuffix(text[:p], paren) {
			return p - len(paren)
		}
	}
	return p
}

// landline matches a fixed-line number with its area code: 010 and 02X
// take eight digits, other codes (0 and three digits) seven or eight;
// written whole, as area-number (the number also as 4-4 or 3-4), or with
// the area code in parentheses. Numbers without an area code (eight bare
// digits) are not recognised: too many other figures look the same.
func (sc *scanner) landline(i int) (span, int, bool) {
	var buf [5]int
	g := &sc.groups[i]
	d := sc.digitsOf(i, i)
	if sp, j, ok := sc.landlineAfterCountryCode(i); ok {
		return sp, j, true
	}
	// Whole: "01062345678".
	if lens := sc.run(i, 1, false, &buf); lens != nil {
		if area := areaCodeLen(d); area > 0 && validSubscriber(d[area:], area) {
			return span{start: sc.countryCodeBefore(g.start), end: g.end, kind: Landline}, i, true
		}
	}
	// Area code and number: "010-6234 5678".
	if area := areaCodeLen(d); area == len(d) {
		if j, ok := sc.subscriberAt(i+1, area, true); ok {
			return span{start: sc.countryCodeBefore(openParenBefore(sc.text, g.start)), end: sc.groups[j].end, kind: Landline}, j, true
		}
	}
	// Area code in parentheses: "(0755)2345678".
	if j, ok := sc.subscriberAt(i, 0, false); ok {
		p := g.start
		if w := separatorBefore(sc.text, p); w > 0 {
			p -= w
		}
		if q := closeParenBefore(sc.text, p); q < p {
			k := q
			for k > 0 && sc.text[k-1] >= '0' && sc.text[k-1] <= '9' {
				k--
			}
			if area := areaCodeLen([]byte(sc.text[k:q])); area > 0 && area == q-k && len(sc.digitsOf(i, j)) >= 7+b2i(area == 3) {
				if o := openParenBefore(sc.text, k); o < k {
					return span{start: o, end: sc.groups[j].end, kind: Landline}, j, true
				}
			}
		}
	}
	return span{}, 0, false
}

// landlineAfterCountryCode matches a fixed-line number after the country
// code, which drops the area code's trunk 0 (often kept anyway): as its
// own group, "+86 10 6234 5678", "+86-010-62345678", "0086 21 63456789"
// (86 alone, without '+', only before the trunk 0), or glued on,
// "8601062345678", "+861062345678". Glued on without a '+', the trunk 0
// must be there and no order word before: a bare 12-digit run starting
// 86 is as likely an order number.
func (sc *scanner) landlineAfterCountryCode(i int) (span, int, bool) {
	g := &sc.groups[i]
	d := sc.digitsOf(i, i)
	if len(d) < 2 || d[0] != '8' && d[0] != '0' {
		return span{}, 0, false
	}
	plus := g.start > 0 && sc.text[g.start-1] == '+'
	start := sc.prefixStart(g.start)
	if cc := string(d); (cc == "86" || cc == "0086") && !g.gluedAfter && i+1 < len(sc.groups) && sc.groups[i+1].joined {
		var buf [5]int
		a := sc.digitsOf(i+1, i+1)
		area, trunked := trunkAreaLen(a)
		if area == 0 || !plus && cc != "0086" && a[0] != '0' {
			return span{}, 0, false
		}
		if area == len(a) {
			if j, ok := sc.subscriberAt(i+2, trunked, true); ok {
				return span{start: start, end: sc.groups[j].end, kind: Landline}, j, true
			}
		} else if sc.run(i+1, 1, false, &buf) != nil && validSubscriber(a[area:], trunked) {
			return span{start: start, end: sc.groups[i+1].end, kind: Landline}, i + 1, true
		}
		return span{}, 0, false
	}
	var buf [5]int
	if sc.run(i, 1, false, &buf) == nil {
		return span{}, 0, false
	}
	for _, cc := range []string{"86", "0086"} {
		if len(d) <= len(cc) || string(d[:len(cc)]) != cc {
			continue
		}
		rest := d[len(cc):]
		area, trunked := trunkAreaLen(rest)
		if area == 0 || !validSubscriber(rest[area:], trunked) {
			continue
		}
		if plus || rest[0] == '0' && !sc.orderLabelled(g.start) {
			return span{start: start, end: g.end, kind: Landline}, i, true
		}
	}
	return span{}, 0, false
}

// trunkAreaLen returns the length of the area code d starts with, with or
// without its trunk 0, and that length with the 0 (for validSubscriber);
// 0, 0 for none.
func trunkAreaLen(d []byte) (int, int) {
	if len(d) > 0 && d[0] == '0' {
		n := areaCodeLen(d)
		return n, n
	}
	switch {
	case len(d) < 2:
		return 0, 0
	case d[0] == '1' && d[1] == '0' || d[0] == '2':
		return 2, 3
	case d[0] >= '3' && d[0] <= '9' && len(d) >= 3:
		return 3, 4
	}
	return 0, 0
}

// subscriberAt matches a local number at group i, joined to the group
// before when joined is set; area is the area code's length (3 asks for
// eight digits), 0 when not known yet.
func (sc *scanner) subscriberAt(i, area int, joined bool) (int, bool) {
	var buf [5]int
	if i >= len(sc.groups) || joined && !sc.groups[i].joined {
		return 0, false
	}
	for _, shape := range [][]int{{8}, {7}, {4, 4}, {3, 4}} {
		lens := sc.run(i, len(shape), false, &buf)
		if lens == nil || !slices.Equal(lens, shape) {
			continue
		}
		if validSubscriber(sc.digitsOf(i, i+len(shape)-1), area) {
			return i + len(shape) - 1, true
		}
	}
	return 0, false
}

// areaCodeLen returns the length of the area code d starts with: 3 for
// 010 and 02X, 4 for 0[3-9]XX, 0 for none.
func areaCodeLen(d []byte) int {
	if len(d) < 3 || d[0] != '0' {
		return 0
	}
	if d[1] == '1' && d[2] == '0' || d[1] == '2' {
		return 3
	}
	if d[1] >= '3' && d[1] <= '9' && len(d) >= 4 {
		return 4
	}
	return 0
}

func validSubscriber(d []byte, area int) bool {
	if len(d) < 7 || len(d) > 8 || d[0] < '2' {
		return false
	}
	return area != 3 || len(d) == 8
}

// orderLabelled reports whether the words just before start (or the
// label) name an order, tracking or invoice number rather than a card.
func (sc *scanner) orderLabelled(start int) bool {
	window := sc.label + " " + lastRunes(sc.text[:start], 12)
	window = strings.ToLower(window)
	orderAt, cardAt := -1, -1
	for _, w := range orderWords {
		orderAt = max(orderAt, lastEnd(window, w))
	}
	for _, w := range cardWords {
		cardAt = max(cardAt, lastEnd(window, w))
	}
	return orderAt > cardAt
}

func lastEnd(s, word string) int {
	if i := strings.LastIndex(s, word); i >= 0 {
		return i + len(word)
	}
	return -1
}

func lastRunes(s string, n int) string {
	i := len(s)
	for ; n > 0 && i > 0; n-- {
		_, w := utf8.DecodeLastRuneInString(s[:i])
		i -= w
	}
	return s[i:]
}

// Words that introduce a number that is not a card, and words that
// introduce a card: the nearer one before the number decides.
var (
	orderWords = []string{"订单", "单号", "运单", "物流", "快递", "编号", "流水号", "交易号", "工单", "发票", "批次", "序列号", "条码",
		"order", "tracking", "invoice", "waybill", "sku"}
	cardWords = []string{"卡号", "银行卡", "信用卡", "储蓄卡", "借记卡", "账号", "帐号", "账户", "card", "account"}
)

func sum(xs []int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// ValidIDCard reports whether d (17 digits and a digit or X) is a
// plausible mainland resident ID number: a province code, a real birth
// date from 1900 on, and the ISO 7064 MOD 11-2 check character.
func ValidIDCard(d string) bool { return validIDCard([]byte(d)) }

func validIDCard(d []byte) bool {
	if len(d) != 18 {
		return false
	}
	for i := range 17 {
		if d[i] < '0' || d[i] > '9' {
			return false
		}
	}
	if d[0] < '1' || d[0] > '8' {
		return false
	}
	year := atoi(d[6:10])
	month := atoi(d[10:12])
	day := atoi(d[12:14])
	if year < 1900 || year > 2099 || month < 1 || month > 12 || day < 1 || day > daysIn(year, month) {
		return false
	}
	weights := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	total := 0
	for i, w := range weights {
		total += int(d[i]-'0') * w
	}
	check := "10X98765432"[total%11]
	last := d[17]
	if last == 'x' {
		last = 'X'
	}
	return last == check
}

func atoi(s []byte) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// ValidBankCard reports whether d (digits only) is a plausible payment
// card number: 16 to 19 digits, a prefix of a scheme issued in China
// (UnionPay 62 and 60/65/81, Visa 4, Mastercard 51–55 and 22–27, JCB 35,
// older domestic debit cards 9) and the Luhn check.
func ValidBankCard(d string) bool { return validBankCard([]byte(d)) }

func validBankCard(d []byte) bool {
	if len(d) < 16 || len(d) > 19 {
		return false
	}
	switch {
	case d[0] == '4', d[0] == '6', d[0] == '9':
	case d[0] == '5' && d[1] >= '1' && d[1] <= '5':
	case d[0] == '2' && d[1] >= '2' && d[1] <= '7':
	case d[0] == '3' && d[1] == '5':
	case d[0] == '8' && d[1] == '1':
	default:
		return false
	}
	total := 0
	for i := range len(d) {
		c := int(d[len(d)-1-i] - '0')
		if c < 0 || c > 9 {
			return false
		}
		if i%2 == 1 {
			c *= 2
			if c > 9 {
				c -= 9
			}
		}
		total += c
	}
	return total%10 == 0
}

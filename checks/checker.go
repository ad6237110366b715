package checks

import (
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/coregx/ahocorasick"

	"qa-sampling/transcript"
)

// The phrase lists, as bits of a pattern's lists.
const (
	listGreeting uint8 = 1 << iota
	listClosing
	listForbidden
	listAllowed
	listEmpathy
)

// pattern is one normalised phrase and the lists it is in, with the
// phrase as each list wrote it.
type pattern struct {
	lists uint8
	// phrase[k] is the entry of the list of bit k.
	phrase [5]string
	// wordStart and wordEnd: the phrase begins (ends) with an ASCII letter
	// or digit, so a match must not continue a word there ("hi" is not in
	// "this", "sb" not in "usb").
	wordStart, wordEnd bool
}

// Checker runs one check set. It is safe for concurrent use.
type Checker struct {
	set       Set
	ac        *ahocorasick.Automaton
	patterns  []pattern
	sla       map[string]ChannelSLA
	complaint map[string]bool
	enabled   uint64
	buffers   sync.Pool
}

// Compile prepares s, which must be valid, for Run.
func Compile(s Set) (*Checker, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	c := &Checker{set: s, sla: make(map[string]ChannelSLA), complaint: make(map[string]bool)}
	for i := range Keys {
		if s.Enabled(Keys[i]) {
			c.enabled |= 1 << i
		}
	}
	for _, sla := range s.SLA {
		c.sla[Normalize(sla.Channel)] = sla
	}
	for _, t := range s.ComplaintTags {
		c.complaint[Normalize(t)] = true
	}
	index := make(map[string]int)
	var texts []string
	add := func(list uint8, phrases []string) {
		for _, p := range phrases {
			n := Normalize(p)
			i, ok := index[n]
			if !ok {
				i = len(c.patterns)
				index[n] = i
				texts = append(texts, n)
				c.patterns = append(c.patterns, pattern{wordStart: isWordByte(n[0]), wordEnd: isWordByte(n[len(n)-1])})
			}
			c.patterns[i].lists |= list
			c.patterns[i].phrase[listIndex(list)] = p
		}
	}
	if c.on(NoGreeting) {
		add(listGreeting, s.GreetingPhrases)
	}
	if c.on(NoClosing) {
		add(listClosing, s.ClosingPhrases)
	}
	if c.on(ForbiddenPhrase) {
		add(listForbidden, s.ForbiddenPhrases)
		add(listAllowed, s.AllowedPhrases)
	}
	if c.on(NoEmpathy) {
		add(listEmpathy, s.EmpathyPhrases)
	}
	if len(texts) > 0 {
		ac, err := ahocorasick.NewBuilder().AddStrings(texts).Build()
		if err != nil {
			return nil, fmt.Errorf("checks: phrase automaton: %w", err)
		}
		c.ac = ac
	}
	return c, nil
}

// Set returns the set c runs.
func (c *Checker) Set() Set { return c.set }

func (c *Checker) on(key string) bool {
	b, _ := Bit(key)
	return c.enabled&b != 0
}

func listIndex(list uint8) int {
	for i := range 8 {
		if list == 1<<i {
			return i
		}
	}
	return 0
}

func isWordByte(b byte) bool {
	return 'a' <= b && b <= 'z' || '0' <= b && b <= '9'
}

// scratch is one Run's reusable memory.
type scratch struct {
	text []byte
	// starts[j] is where agent message j (index agent[j]) begins in text.
	starts []int
	agent  []int
	found  []phraseMatch
	// key holds a normalised channel or tag for a map lookup.
	key []byte
}

// phraseMatch is one phrase found in an agent message.
type phraseMatch struct {
	msg        int // index in Messages
	start, end int // in the normalised text
	pattern    int
}

// Run checks t and returns its hits (Version is the set's).
func (c *Checker) Run(t *transcript.Transcript) transcript.Checks {
	out := transcript.Checks{Version: c.set.Version}
	hit := func(h transcript.CheckHit) {
		b, _ := Bit(h.Check)
		out.Flags |= b
		out.Hits = append(out.Hits, h)
	}
	sc, _ := c.buffers.Get().(*scratch)
	if sc == nil {
		sc = new(scratch)
	}
	defer c.buffers.Put(sc)
	c.slas(t, sc, hit)
	sc.text, sc.starts, sc.agent, sc.found = sc.text[:0], sc.starts[:0], sc.agent[:0], sc.found[:0]
	for i := range t.Messages {
		if t.Messages[i].Role == transcript.RoleAgent {
			sc.agent = append(sc.agent, i)
			sc.starts = append(sc.starts, len(sc.text))
			// NUL never occurs in a phrase, so no match spans two messages.
			sc.text = append(appendNormal(sc.text, t.Messages[i].Text), 0)
		}
	}
	if len(sc.agent) == 0 || c.ac == nil {
		sortHits(out.Hits)
		return out
	}
	found := sc.found
	var lists uint8 // the lists anything was found in, for the common no-hit case
	for _, m := range c.ac.FindAllOverlapping(sc.text) {
		p := &c.patterns[m.PatternID]
		if p.wordStart && m.Start > 0 && isWordByte(sc.text[m.Start-1]) || p.wordEnd && m.End < len(sc.text) && isWordByte(sc.text[m.End]) {
			continue
		}
		j := sort.SearchInts(sc.starts, m.Start+1) - 1
		found = append(found, phraseMatch{msg: sc.agent[j], start: m.Start, end: m.End, pattern: m.PatternID})
		lists |= p.lists
	}
	sc.found = found // keep the grown buffer
	in := func(list uint8, msg int) bool {
		for _, f := range found {
			if f.msg == msg && c.patterns[f.pattern].lists&list != 0 {
				return true
			}
		}
		return false
	}
	first, last := sc.agent[0], sc.agent[len(sc.agent)-1]
	if c.on(NoGreeting) && !in(listGreeting, first) {
		hit(transcript.CheckHit{Check: NoGreeting, Message: first})
	}
	if c.on(NoClosing) && !in(listClosing, last) && (len(sc.agent) < 2 || !in(listClosing, sc.agent[len(sc.agent)-2])) {
		hit(transcript.CheckHit{Check: NoClosing, Message: last})
	}
	if c.on(ForbiddenPhrase) && lists&listForbidden != 0 {
		c.forbidden(t, sc, found, hit)
	}
	if c.on(NoEmpathy) && lists&listEmpathy == 0 && c.isComplaint(t, sc) {
		hit(transcript.CheckHit{Check: NoEmpathy, Message: first})
	}
	sortHits(out.Hits)
	return out
}

// forbidden reports each forbidden phrase found, except inside an allowed
// phrase or inside a longer forbidden one found at the same place.
func (c *Checker) forbidden(t *transcript.Transcript, sc *scratch, found []phraseMatch, hit func(transcript.CheckHit)) {
	n := 0
	covered := func(f phraseMatch, list uint8) bool {
		for _, g := range found {
			if g != f && c.patterns[g.pattern].lists&list != 0 && g.start <= f.start && f.end <= g.end {
				return true
			}
		}
		return false
	}
	for _, f := range found {
		p := &c.patterns[f.pattern]
		if p.lists&listForbidden == 0 || covered(f, listAllowed) || covered(f, listForbidden) {
			continue
		}
		if n++; n > maxHitsPerCheck {
			return
		}
		j := slices.Index(sc.agent, f.msg)
		base := sc.starts[j]
		end := len(sc.text) - 1
		if j+1 < len(sc.starts) {
			end = sc.starts[j+1] - 1
		}
		hit(transcript.CheckHit{
			Check: ForbiddenPhrase, Message: f.msg,
			Matched: originalSpan(t.Messages[f.msg].Text, sc.text[base:end], f.start-base, f.end-base),
			Phrase:  p.phrase[listIndex(listForbidden)],
		})
	}
}

func (c *Checker) isComplaint(t *transcript.Transcript, sc *scratch) bool {
	for _, tag := range t.Tags {
		sc.key = appendNormal(sc.key[:0], tag)
		if c.complaint[string(sc.key)] { // no allocation for the lookup
			return true
		}
	}
	return false
}

// slas reports replies slower than the channel's SLA, measured as
// transcript.Derive measures response times: from the first customer
// message of a wait to the agent message that ends it.
func (c *Checker) slas(t *transcript.Transcript, sc *scratch, hit func(transcript.CheckHit)) {
	sc.key = appendNormal(sc.key[:0], t.Channel)
	sla, ok := c.sla[string(sc.key)]
	if !ok || !c.on(SlowFirstResponse) && !c.on(SlowReply) {
		return
	}
	var (
		waitOpen  bool
		waitStart time.Time
		replies   int
		slow      int
	)
	for i := range t.Messages {
		m := &t.Messages[i]
		switch m.Role {
		case transcript.RoleCustomer:
			if !waitOpen {
				waitOpen, waitStart = true, m.SentAt
			}
		case transcript.RoleAgent:
			if !waitOpen {
				continue
			}
			waitOpen = false
			wait := max(m.SentAt.Sub(waitStart), 0)
			key, limit := SlowReply, sla.ReplySeconds
			if replies == 0 {
				key, limit = SlowFirstResponse, sla.FirstResponseSeconds
			}
			replies++
			if limit == 0 || !c.on(key) || wait <= time.Duration(limit)*time.Second {
				continue
			}
			if key == SlowReply {
				if slow++; slow > maxHitsPerCheck {
					continue
				}
			}
			hit(transcript.CheckHit{Check: key, Message: i, WaitMS: wait.Milliseconds(), LimitMS: limit * 1000})
		}
	}
}

// sortHits orders hits by message, then by check.
func sortHits(hits []transcript.CheckHit) {
	if len(hits) < 2 {
		return
	}
	slices.SortStableFunc(hits, func(a, b transcript.CheckHit) int {
		if a.Message != b.Message {
			return a.Message - b.Message
		}
		return slices.Index(Keys, a.Check) - slices.Index(Keys, b.Check)
	})
}

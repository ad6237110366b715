package sampler

import (
	"slices"
	"strconv"
	"strings"
)

// matcher decides which targeted rules a conversation matches. The
// policy's tags, tiers and channels are folded once, when the run starts,
// into value sets, and each conversation's tags, tier and channel once
// per conversation, whatever the number of rules: a tag is one map lookup
// that returns every set holding it. Matching allocates nothing.
type matcher struct {
	rules []rule
	// lowCSATMax and minTransfers are the policy's parameters.
	lowCSATMax   int
	minTransfers int

	tags, tiers, channels valueIndex

	// The current conversation's sets: those its tags, tier and channel
	// belong to.
	tagHits     []uint64
	tierHits    []uint64
	channelHits []uint64
	folder      folder
}

// condition is a Condition as a run evaluates it.
type condition struct {
	field string
	kind  valueKind
	op    string
	// set is the value set of a condition on tags, tier or channel;
	// negate inverts membership (ne, not_in).
	set    int
	negate bool
	// key is the attribute's.
	key string
	// values are the folded values (attributes), or the flags as given.
	values []string
	// number is a comparison's operand: a count, nanoseconds, or an
	// attribute's number.
	number float64
}

// newMatcher compiles p's rules; p must be valid.
func newMatcher(p *Policy) *matcher {
	m := &matcher{lowCSATMax: p.LowCSATMax, minTransfers: p.EscalationMinTransfers}
	named := p.namedIndex()
	for _, name := range p.Rules {
		r, _ := parseRule(name, named) // Validate checked it
		switch r.kind {
		case kindComplaint:
			r.set = m.tags.add(p.ComplaintTags)
		case kindEscalated:
			r.set = m.tags.add(p.EscalationTags)
		case kindVIP:
			r.set = m.tiers.add(p.VIPTiers)
		case kindTag:
			r.set = m.tags.add([]string{r.arg})
		case kindNamed:
			for _, c := range p.NamedRules[r.named].When {
				r.when = append(r.when, m.condition(c))
			}
		}
		m.rules = append(m.rules, r)
	}
	m.tags.build()
	m.tiers.build()
	m.channels.build()
	m.tagHits = make([]uint64, m.tags.words)
	return m
}

// condition compiles c, valid.
func (m *matcher) condition(c Condition) condition {
	kind, _ := fieldKind(c.Field)
	out := condition{field: c.Field, kind: kind, op: c.Op, key: c.Key, negate: c.Op == OpNe || c.Op == OpNotIn}
	values := c.Values
	if c.Value != "" {
		values = []string{c.Value}
	}
	switch {
	case c.Field == FieldTags:
		out.set = m.tags.add(values)
	case c.Field == FieldCustomerTier:
		out.set = m.tiers.add(values)
	case c.Field == FieldChannel:
		out.set = m.channels.add(values)
	case c.Field == FieldFlags:
		out.values = slices.Clone(values)
	case kind == valueInt:
		n, _ := parseCount(c.Value)
		out.number = float64(n)
	case kind == valueDuration:
		n, _ := parseDurationValue(c.Value)
		out.number = float64(n)
	case isComparison(c.Op): // an attribute as a number
		out.number, _ = parseNumber(c.Value)
	default: // an attribute as text
		for _, v := range values {
			out.values = append(out.values, fold(v))
		}
	}
	return out
}

// match returns the rules (bit i for m.rules[i]) c matches, except the
// long-handle rule, decided at the end of the run.
func (m *matcher) match(c *Conversation) uint64 {
	if m.tags.words > 0 {
		clear(m.tagHits)
		for _, t := range c.Tags {
			for i, w := range m.tags.lookup(&m.folder, t) {
				m.tagHits[i] |= w
			}
		}
	}
	if m.tiers.words > 0 {
		m.tierHits = m.tiers.lookup(&m.folder, c.CustomerTier)
	}
	if m.channels.words > 0 {
		m.channelHits = m.channels.lookup(&m.folder, c.Channel)
	}
	var mask uint64
	for i := range m.rules {
		if m.matches(&m.rules[i], c) {
			mask |= 1 << i
		}
	}
	return mask
}

func (m *matcher) matches(r *rule, c *Conversation) bool {
	switch r.kind {
	case kindComplaint, kindTag:
		return inSet(m.tagHits, r.set)
	case kindLowCSAT:
		return c.CSAT >= 1 && c.CSAT <= m.lowCSATMax
	case kindEscalated:
		return m.minTransfers > 0 && c.TransferCount >= m.minTransfers || inSet(m.tagHits, r.set)
	case kindVIP:
		return inSet(m.tierHits, r.set)
	case kindCheck:
		return slices.Contains(c.Flags, r.arg)
	case kindNamed:
		for i := range r.when {
			if !m.holds(&r.when[i], c) {
				return false
			}
		}
		return true
	}
	return false
}

// holds evaluates one condition of a named rule on c.
func (m *matcher) holds(cd *condition, c *Conversation) bool {
	switch cd.field {
	case FieldTags:
		return inSet(m.tagHits, cd.set) != cd.negate
	case FieldCustomerTier:
		return inSet(m.tierHits, cd.set) != cd.negate
	case FieldChannel:
		return inSet(m.channelHits, cd.set) != cd.negate
	case FieldFlags:
		for _, f := range c.Flags {
			if slices.Contains(cd.values, f) {
				return !cd.negate
			}
		}
		return cd.negate
	case FieldAttribute:
		v, ok := c.Attributes[cd.key]
		if !ok {
			return false
		}
		if isComparison(cd.op) {
			x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil && !isFoldedASCII(v) { // full-width digits
				x, err = strconv.ParseFloat(strings.TrimSpace(fold(v)), 64)
			}
			return err == nil && compare(cd.op, x, cd.number)
		}
		if isFoldedASCII(v) {
			return slices.Contains(cd.values, v) != cd.negate
		}
		folded := m.folder.bytes(v)
		for _, want := range cd.values {
			if want == string(folded) { // compared in place, not copied
				return !cd.negate
			}
		}
		return cd.negate
	case FieldCSAT:
		return c.CSAT >= 1 && compare(cd.op, float64(c.CSAT), cd.number)
	case FieldTransferCount:
		return compare(cd.op, float64(c.TransferCount), cd.number)
	case FieldHandleTime:
		return compare(cd.op, float64(c.HandleTime), cd.number)
	case FieldFirstResponseTime:
		return c.FirstResponse >= 0 && compare(cd.op, float64(c.FirstResponse), cd.number)
	case FieldMeanAgentResponseTime:
		return c.MeanAgentResponse >= 0 && compare(cd.op, float64(c.MeanAgentResponse), cd.number)
	case FieldMessageCount:
		return compare(cd.op, float64(c.MessageCount), cd.number)
	case FieldAgentMessageCount:
		return compare(cd.op, float64(c.AgentMessageCount), cd.number)
	case FieldCustomerMessageCount:
		return compare(cd.op, float64(c.CustomerMessageCount), cd.number)
	}
	return false
}

func compare(op string, x, y float64) bool {
	switch op {
	case OpEq:
		return x == y
	case OpNe:
		return x != y
	case OpLt:
		return x < y
	case OpLe:
		return x <= y
	case OpGt:
		return x > y
	case OpGe:
		return x >= y
	}
	return false
}

// valueIndex maps a folded value to the value sets holding it, as a bit
// set over set ids.
type valueIndex struct {
	sets    [][]string // folded values, by set id
	words   int
	members map[string][]uint64
	// lengths has bit n set when a member is n bytes long (n < 64), so
	// that most values that are no member ("regular" among tiers "vip")
	// are told apart without hashing them.
	lengths uint64
	long    bool // a member of 64 bytes or more
	// unfolded remembers the sets of values that are not folded already
	// (upper case, full width, CJK), by the value as given: folding one
	// costs several times a map lookup, and a week's tags repeat a few
	// hundred values. Up to maxUnfolded values, so that a stream of
	// distinct ones cannot grow it without bound.
	unfolded map[string]unfoldedHit
	// last and lastSets are the value looked up last and its sets: a
	// tier or channel repeats from one conversation to the next far more
	// often than not, and comparing is cheaper than folding and hashing.
	last     string
	lastSets []uint64
	lastSet  bool
}

// unfoldedHit is a remembered lookup: the sets, nil for none.
type unfoldedHit struct{ sets []uint64 }

const maxUnfolded = 4096

// add adds a set of values and returns its id.
func (ix *valueIndex) add(values []string) int {
	folded := make([]string, len(values))
	for i, v := range values {
		folded[i] = fold(v)
	}
	ix.sets = append(ix.sets, folded)
	return len(ix.sets) - 1
}

func (ix *valueIndex) build() {
	ix.words = (len(ix.sets) + 63) / 64
	ix.members = make(map[string][]uint64)
	for id, set := range ix.sets {
		for _, v := range set {
			bits := ix.members[v]
			if bits == nil {
				bits = make([]uint64, ix.words)
				ix.members[v] = bits
			}
			bits[id/64] |= 1 << (id % 64)
			if len(v) < 64 {
				ix.lengths |= 1 << len(v)
			} else {
				ix.long = true
			}
		}
	}
}

// lookup returns the sets s belongs to (nil for none), folding s into f's
// buffer unless it is already folded.
func (ix *valueIndex) lookup(f *folder, s string) []uint64 {
	if ix.lastSet && s == ix.last {
		return ix.lastSets
	}
	sets := ix.find(f, s)
	ix.last, ix.lastSets, ix.lastSet = s, sets, true
	return sets
}

// find is lookup without its memory of the last value.
func (ix *valueIndex) find(f *folder, s string) []uint64 {
	if isFoldedASCII(s) {
		if !ix.mayHold(len(s)) {
			return nil
		}
		return ix.members[s]
	}
	if hit, ok := ix.unfolded[s]; ok {
		return hit.sets
	}
	folded := f.bytes(s)
	var sets []uint64
	if ix.mayHold(len(folded)) {
		sets = ix.members[string(folded)]
	}
	if len(ix.unfolded) < maxUnfolded {
		if ix.unfolded == nil {
			ix.unfolded = map[string]unfoldedHit{}
		}
		// A copy: s is part of the caller's row.
		ix.unfolded[strings.Clone(s)] = unfoldedHit{sets: sets}
	}
	return sets
}

// mayHold reports whether a member is n bytes long.
func (ix *valueIndex) mayHold(n int) bool {
	if n >= 64 {
		return ix.long
	}
	return ix.lengths&(1<<n) != 0
}

// inSet reports whether set is among hits.
func inSet(hits []uint64, set int) bool {
	return set/64 < len(hits) && hits[set/64]&(1<<(set%64)) != 0
}

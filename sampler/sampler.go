package sampler

import (
	"cmp"
	"errors"
	"fmt"
	"math/bits"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"qa-sampling/isoweek"
	"qa-sampling/transcript"
)

// Agent is an agent as the sampler needs it from the directory.
type Agent struct {
	ID     string
	TeamID string
	// HiredOn is a calendar date: its year, month and day in its own
	// location count, not the instant. Zero means unknown, and an agent
	// of unknown tenure is not a new hire.
	HiredOn time.Time
	// Active agents are sampled; inactive ones are skipped (their
	// conversations still count towards their team's handle-time
	// percentile, which describes the team's week).
	Active bool
}

// Conversation is one finished conversation with the fields the rules
// read. Build it from stored columns (see FromTranscript for the mapping).
type Conversation struct {
	ExternalID string
	// AgentIDs are the agents the conversation counts for: every agent who
	// wrote in it, the owning agent only if they did (transcript.Authors;
	// the owner alone when no agent wrote). Their order
	// does not matter and repeats are ignored.
	AgentIDs     []string
	Channel      string
	CustomerTier string
	Tags         []string
	// CSAT is 1..5, or 0 when the customer gave no rating.
	CSAT          int
	TransferCount int
	HandleTime    time.Duration
	// EndedAt decides the week: the ISO week, in the policy's zone, in
	// which the conversation ended.
	EndedAt time.Time
	// The message counts derived on ingest (transcript.Metrics). A
	// conversation without an agent message has nothing of an agent's to
	// inspect and is excluded, counted as bot-only when it has messages but
	// none from an agent or the customer (only bot and system messages:
	// automated notices, bot broadcasts), and as "no agent message"
	// otherwise (no messages, or a customer nobody but a bot answered).
	MessageCount         int
	AgentMessageCount    int
	CustomerMessageCount int
	// Flags are the names of automatic checks (SPEC §6) that fired; rule
	// "check:<flag>" matches them.
	Flags []string
	// FirstResponse and MeanAgentResponse are transcript.Metrics' (or
	// transcript.NoResponse), and Attributes the transcript's; only named
	// rules read them, so a caller may leave them out when the policy has
	// none that does (Policy.ReadsResponseTimes, Policy.ReadsAttributes).
	FirstResponse     time.Duration
	MeanAgentResponse time.Duration
	Attributes        map[string]string
	// Key, when Keyed, is the conversation's Key under the run's seed,
	// computed by the caller (a store keeps them with its sample records,
	// sparing the run an HMAC a conversation). The run trusts it: a caller
	// sets it only for the seed the run is given.
	Key   uint64
	Keyed bool
}

// FromTranscript maps a transcript, its derived metrics and its authors
// (transcript.Authors, or the stored AgentIDs) to a Conversation, with the
// automatic-check flags that fired.
func FromTranscript(t *transcript.Transcript, m *transcript.Metrics, agentIDs, flags []string) Conversation {
	return Conversation{
		ExternalID:           t.ExternalID,
		AgentIDs:             agentIDs,
		Channel:              t.Channel,
		CustomerTier:         t.CustomerTier,
		Tags:                 t.Tags,
		CSAT:                 t.CSAT,
		TransferCount:        t.TransferCount,
		HandleTime:           m.HandleTime,
		EndedAt:              t.EndedAt,
		MessageCount:         m.MessageCount,
		AgentMessageCount:    m.AgentMessageCount,
		CustomerMessageCount: m.CustomerMessageCount,
		Flags:                flags,
		FirstResponse:        m.FirstResponse,
		MeanAgentResponse:    m.MeanAgentResponse,
		Attributes:           t.Attributes,
	}
}

// PickKey identifies a pick: one agent's part of one conversation.
type PickKey struct {
	ExternalID string
	AgentID    string
}

// Params is everything a run depends on besides the conversations.
type Params struct {
	Policy Policy
	Week   isoweek.Week
	// Seed keys the hash that orders conversations; see Key and MinSeedLen.
	Seed []byte
	// Agents is the directory. Authors not in it are skipped and counted in
	// Stats.UnknownAuthors.
	Agents []Agent
	// AlreadyPicked holds picks made by earlier runs; they are excluded.
	// The run reads it until Result, so it must not change before then.
	AlreadyPicked map[PickKey]bool
	// Alternates asks for up to this many replacement candidates per agent
	// and reason (see Result.Alternates). It never changes the picks, so a
	// caller that runs out can recompute the run with a larger number.
	Alternates int
	// TopUp, when set, makes this a top-up of an earlier run of the same
	// week, seed and policy (see TopUp); Alternates must then be 0.
	TopUp *TopUp
}

// Input is a whole run's input, for Sample.
type Input struct {
	Params
	Conversations []Conversation
}

// Pick is one conversation picked for one agent.
type Pick struct {
	ExternalID string
	AgentID    string
	// Reason is ReasonRandom or the name of the targeted rule that picked it.
	Reason string
	// Rank is the 1-based position in the agent's sample: the random part
	// (channel coverage first, then by key), then targeted picks in the
	// order they were allocated, then backfill. For an alternate it is the
	// position among the agent's alternates of the same reason.
	Rank int
	// Key is the conversation's Key under the run's seed.
	Key uint64
	// Backfill marks a random pick that fills a targeted slot no rule
	// could fill.
	Backfill bool
	// Channel is set on the alternates drawn within one channel (see
	// Result.Alternates); it is empty on picks and on the others.
	Channel string
}

// Shortfall records an agent with fewer eligible conversations than the
// quota: all of them were picked.
type Shortfall struct {
	AgentID string
	Wanted  int
	Got     int
}

// AgentSummary explains one active agent's sample.
type AgentSummary struct {
	AgentID string
	TeamID  string
	NewHire bool
	// Handled counts the week's conversations with an agent message that
	// count for the agent; Eligible is Handled less AlreadyPicked.
	Handled       int
	AlreadyPicked int
	Eligible      int
	// RandomQuota includes the new-hire extra; Wanted adds the targeted
	// slots.
	RandomQuota int
	Wanted      int
	// Random, Targeted and Backfilled count the picks by kind.
	Random     int
	Targeted   int
	Backfilled int
	// TeamConversations and HandleTimeThreshold describe the team
	// percentile RuleLongHandleTime compared against; both are zero when the
	// policy has no such rule.
	TeamConversations   int
	HandleTimeThreshold time.Duration
}

// Stats counts what a run saw and left out.
type Stats struct {
	// Conversations counts calls to Add.
	Conversations int
	// OutsideWeek did not end in the week (in the policy's zone).
	OutsideWeek int
	// NoAgentMessage and BotOnly are excluded (see Conversation).
	NoAgentMessage int
	BotOnly        int
	// MissingID had an empty external id or no agents.
	MissingID int
	// The remaining counts are of (conversation, agent) pairs.
	UnknownAuthors  int
	InactiveAuthors int
	AlreadyPicked   int
	Candidates      int
}

// Result is a run's outcome. Every slice is ordered by agent id, then
// (for picks) by rank, so that equal inputs give equal results.
type Result struct {
	Week          isoweek.Week
	PolicyVersion int64
	Picks         []Pick
	// Alternates are, per agent and reason (random first, then rules in
	// priority order), the next conversations that reason would have
	// picked, for replacing a skipped pick. They exclude the agent's
	// picks, but a conversation can be an alternate for several reasons.
	// They are followed by the same drawn within each channel the agent
	// served (Channel set), so that a replacement can keep the skipped
	// pick's channel (Replacement); the long-handle-time rule has no
	// per-channel alternates.
	Alternates []Pick
	Shortfalls []Shortfall
	// Agents has every active agent who handled a conversation of the week.
	Agents []AgentSummary
	Stats  Stats
	// HandleTimeThresholds are the long-handle-time thresholds by TeamKey:
	// every team whose conversations the run read, and in a top-up also
	// those it was given. Empty when the policy has no such rule. A
	// top-up of this run takes them as they are (TopUp).
	HandleTimeThresholds map[string]time.Duration
}

// Sample runs the sampler over in.Conversations: the same as NewRun, Add
// for each conversation (in batches, see AddBatch), then Result.
func Sample(in *Input) (*Result, error) {
	r, err := NewRun(&in.Params)
	if err != nil {
		return nil, err
	}
	const batch = 16 << 10 // bounds the key buffer
	for cs := in.Conversations; len(cs) > 0; {
		n := min(batch, len(cs))
		r.AddBatch(cs[:n])
		cs = cs[n:]
	}
	return r.Result(), nil
}

// Run samples one week in a single pass over its conversations, so that a
// caller can feed rows from a database cursor. Memory grows with agents ×
// quota, plus one handle time per conversation for the team percentile
// when the policy has RuleLongHandleTime. A Run is not safe for concurrent
// use.
type Run struct {
	policy     Policy
	week       isoweek.Week
	start, end time.Time
	seed       []byte
	keyer      *keyer
	// keyers and keys serve AddBatch.
	keyers []*keyer
	keys   []uint64
	rules  []rule // the matchers'
	// shards add conversations for their agents (runShard).
	shards []*runShard
	// longRule is the index of RuleLongHandleTime in rules, or -1.
	longRule      int
	alreadyPicked map[PickKey]bool
	alternates    int
	// topUp is the earlier run this one tops up, or nil; earlier holds its
	// picks as keys, excluded like alreadyPicked.
	topUp   *TopUp
	earlier map[PickKey]bool
	// pickedBits has the bit (key & pickedMask) set for the key of every
	// conversation in alreadyPicked or earlier: most conversations are in
	// neither, and a bit tells so without hashing two strings into a map
	// of thousands (they were a tenth of a second run's sampler time).
	// Empty when both are.
	pickedBits []uint64
	pickedMask uint64
	// teamKeys are the TeamKey of each team index.
	teamKeys []string

	agents map[string]*agentState
	byID   []*agentState // sorted by agent id
	// teamHandles holds, per team index, the handle times of the team's
	// conversations (each once, however many team members wrote in it).
	teamHandles []durations

	done bool
}

// agentState accumulates one agent's candidates.
type agentState struct {
	agent       Agent
	team        int
	shard       int // the runShard that adds its conversations
	newHire     bool
	randomQuota int

	handled       int
	alreadyPicked int
	eligible      int
	channels      []channelStat
	// byKey holds the first eligible conversations in picking order, and
	// ruleMatches those matching each rule (except the long-handle rule,
	// whose candidates are in long). Each keeps randomQuota + targeted +
	// alternates candidates: enough for every pick and alternate (see
	// pickFor).
	byKey       smallest
	ruleMatches []smallest
	long        skyline
	// withAlternates keeps per-channel lists too (channelStat.alternates).
	withAlternates bool
	// earlier are the agent's picks in the run a top-up continues.
	earlier []Pick
}

func (st *agentState) channelOf(name string) *channelStat {
	for i := range st.channels {
		if st.channels[i].name == name {
			return &st.channels[i]
		}
	}
	return nil
}

// channelStat is an agent's volume in a channel and its first conversation
// there in picking order.
type channelStat struct {
	name   string
	volume int
	first  candidate
	// alternates, only when the run asks for alternates (a replacement's
	// recomputation, never a run), are the channel's own candidate lists.
	alternates *channelCandidates
}

// channelCandidates are an agent's first eligible conversations in one
// channel, in picking order, and those matching each rule (except the
// long-handle rule); each list as long as agentState's.
type channelCandidates struct {
	byKey       smallest
	ruleMatches []smallest
}

// NewRun checks the parameters and starts a run.
func NewRun(p *Params) (*Run, error) {
	if err := p.Policy.Validate(); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	if err := p.Week.Validate(); err != nil {
		return nil, fmt.Errorf("week: %w", err)
	}
	if len(p.Seed) < MinSeedLen {
		return nil, fmt.Errorf("seed: %d bytes, want at least %d", len(p.Seed), MinSeedLen)
	}
	if p.Alternates < 0 || p.Alternates > MaxQuota {
		return nil, fmt.Errorf("alternates: must be between 0 and %d, got %d", MaxQuota, p.Alternates)
	}
	if p.TopUp != nil && p.Alternates != 0 {
		return nil, errors.New("alternates: a top-up draws none")
	}
	loc, err := p.Policy.Location()
	if err != nil {
		return nil, fmt.Errorf("policy: time_zone: %w", err)
	}
	r := &Run{
		policy:        p.Policy,
		week:          p.Week,
		seed:          slices.Clone(p.Seed),
		keyer:         newKeyer(p.Seed),
		longRule:      -1,
		alreadyPicked: p.AlreadyPicked,
		alternates:    p.Alternates,
		topUp:         p.TopUp,
		agents:        make(map[string]*agentState, len(p.Agents)),
	}
	r.policy.Rules = slices.Clone(p.Policy.Rules)
	r.start, r.end = p.Week.Bounds(loc)
	shards := max(1, min(runtime.GOMAXPROCS(0), maxRunShards))
	for i := range shards {
		r.shards = append(r.shards, &runShard{index: i, matcher: newMatcher(&r.policy), channelNames: map[string]string{}})
	}
	r.rules = r.shards[0].matcher.rules
	for i := range r.rules {
		if r.rules[i].kind == kindLongHandleTime {
			r.longRule = i
		}
	}

	teams := make(map[string]int)
	for _, a := range p.Agents {
		if a.ID == "" {
			return nil, errors.New("agents: empty agent id")
		}
		if r.agents[a.ID] != nil {
			return nil, fmt.Errorf("agents: %q listed twice", a.ID)
		}
		st := &agentState{agent: a, newHire: r.isNewHire(a.HiredOn)}
		teamKey := TeamKey(a)
		t, ok := teams[teamKey]
		if !ok {
			t = len(teams)
			teams[teamKey] = t
			r.teamKeys = append(r.teamKeys, teamKey)
		}
		st.team = t
		st.randomQuota = r.policy.RandomPerAgent
		if st.newHire {
			st.randomQuota += r.policy.NewHireExtra
		}
		limit := st.randomQuota + r.policy.TargetedPerAgent + r.alternates
		st.byKey = newSmallest(limit)
		st.long.limit = limit
		st.withAlternates = r.alternates > 0
		st.ruleMatches = make([]smallest, len(r.rules))
		for i := range st.ruleMatches {
			st.ruleMatches[i] = newSmallest(limit)
		}
		r.agents[a.ID] = st
		r.byID = append(r.byID, st)
	}
	slices.SortFunc(r.byID, func(a, b *agentState) int { return cmp.Compare(a.agent.ID, b.agent.ID) })
	for i, st := range r.byID {
		st.shard = i % shards
	}
	if err := r.startTopUp(); err != nil {
		return nil, err
	}
	r.filterPicked()
	if r.longRule >= 0 {
		r.teamHandles = make([]durations, len(teams))
		for _, sh := range r.shards {
			sh.teamHandles = make([]durations, len(teams))
		}
	}
	return r, nil
}

// filterPicked sets pickedBits, sized to about 16 bits a picked
// conversation, so that about one in 16 others needs the maps.
func (r *Run) filterPicked() {
	n := len(r.alreadyPicked) + len(r.earlier)
	if n == 0 {
		return
	}
	bits := uint64(64)
	for bits < 16*uint64(n) {
		bits *= 2
	}
	r.pickedBits, r.pickedMask = make([]uint64, bits/64), bits-1
	for _, m := range []map[PickKey]bool{r.alreadyPicked, r.earlier} {
		for k, picked := range m {
			if picked {
				b := r.keyer.key(k.ExternalID) & r.pickedMask
				r.pickedBits[b/64] |= 1 << (b % 64)
			}
		}
	}
}

// mayBePicked reports whether the conversation with this key can be in
// alreadyPicked or earlier; false is certain.
func (r *Run) mayBePicked(key uint64) bool {
	if len(r.pickedBits) == 0 {
		return false
	}
	b := key & r.pickedMask
	return r.pickedBits[b/64]&(1<<(b%64)) != 0
}

// isNewHire reports whether an agent hired on hiredOn had, at the week's
// start, a tenure under NewHireDays. Both are calendar dates, so the
// policy's zone plays no part beyond fixing the week's Monday.
func (r *Run) isNewHire(hiredOn time.Time) bool {
	if hiredOn.IsZero() || r.policy.NewHireDays == 0 {
		return false
	}
	y, m, d := hiredOn.Date()
	hired := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	y, m, d = r.start.Date()
	monday := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	tenureDays := (monday.Unix() - hired.Unix()) / (24 * 60 * 60)
	return tenureDays < int64(r.policy.NewHireDays)
}

// Add offers one conversation to the run. Conversations may come in any
// order; a conversation must be added once (external ids are unique). The
// run keeps the strings of c it needs, never c itself, so the caller may
// reuse c.
func (r *Run) Add(c *Conversation) {
	r.add(c, c.Key, c.Keyed)
}

// minKeysPerWorker keeps AddBatch from starting goroutines for less work
// than starting them costs.
const minKeysPerWorker = 1024

// maxRunShards bounds the goroutines AddBatch adds a batch with.
const maxRunShards = 4

// runShard adds conversations for some of the agents (agentState.shard):
// AddBatch runs the shards at once, each on its own core, over the same
// batch. An agent's state belongs to one shard, so none is shared; shard
// 0 also counts the conversations and their teams' handle times. Each has
// its own matcher (which keeps scratch), channel names and counts.
type runShard struct {
	index   int
	matcher *matcher
	// channelNames holds one copy of each channel name for the agents'
	// channelStats, which compare every conversation's channel with theirs.
	// The conversation's string is part of its row, which the comparison
	// then read from wherever that row was, a cache miss each (a tenth of
	// a second a week), and kept alive.
	channelNames map[string]string
	convTeams    []int // scratch: teams the current conversation was counted for
	// teamHandles are the handle times of the conversations whose own work
	// the shard did, per team index (merged into Run.teamHandles).
	teamHandles []durations
	stats       Stats
	// lastID and last are the agent looked up last: rows come grouped by
	// agent (a store's blocks keep an hour's rows so), and a string
	// comparison is cheaper than hashing into the map again.
	lastID string
	last   *agentState
}

// agent returns the state of agent id, nil for an unknown agent.
func (sh *runShard) agent(r *Run, id string) *agentState {
	if id != sh.lastID || sh.lastID == "" {
		sh.lastID, sh.last = id, r.agents[id]
	}
	return sh.last
}

// AddBatch is Add for each of cs in order, with the keys (an HMAC each,
// about a third of the run's work when the caller has none) computed on
// all CPUs first, and then the shards adding the batch at once. The
// outcome is the same as Add's.
func (r *Run) AddBatch(cs []Conversation) {
	if r.done {
		panic("sampler: Add after Result")
	}
	workers := min(runtime.GOMAXPROCS(0), len(cs)/minKeysPerWorker)
	if workers <= 1 {
		for i := range cs {
			r.add(&cs[i], cs[i].Key, cs[i].Keyed)
		}
		return
	}
	r.keys = slices.Grow(r.keys[:0], len(cs))[:len(cs)]
	unkeyed := 0
	for i := range cs {
		if cs[i].Keyed {
			r.keys[i] = cs[i].Key
		} else {
			unkeyed++
		}
	}
	if unkeyed > 0 {
		for len(r.keyers) < workers {
			r.keyers = append(r.keyers, newKeyer(r.seed))
		}
		per := (len(cs) + workers - 1) / workers
		var wg sync.WaitGroup
		for w := range workers {
			lo, hi := w*per, min((w+1)*per, len(cs))
			k := r.keyers[w]
			wg.Go(func() {
				for i := lo; i < hi; i++ {
					if !cs[i].Keyed && r.eligible(&cs[i]) {
						r.keys[i] = k.key(cs[i].ExternalID)
					}
				}
			})
		}
		wg.Wait()
	}
	if len(r.shards) == 1 {
		for i := range cs {
			r.shards[0].add(r, &cs[i], r.keys[i])
		}
		return
	}
	var wg sync.WaitGroup
	for _, sh := range r.shards {
		wg.Go(func() {
			for i := range cs {
				sh.add(r, &cs[i], r.keys[i])
			}
		})
	}
	wg.Wait()
}

// exclusion returns the counter of stats that excludes c, or nil.
func (r *Run) exclusion(c *Conversation, stats *Stats) *int {
	switch {
	case c.EndedAt.Before(r.start) || !c.EndedAt.Before(r.end):
		return &stats.OutsideWeek
	case c.ExternalID == "" || len(c.AgentIDs) == 0:
		return &stats.MissingID
	case c.AgentMessageCount <= 0 && c.CustomerMessageCount <= 0 && c.MessageCount > 0:
		return &stats.BotOnly
	case c.AgentMessageCount <= 0:
		return &stats.NoAgentMessage
	}
	return nil
}

// eligible reports whether no exclusion applies to c.
func (r *Run) eligible(c *Conversation) bool {
	var scratch Stats
	return r.exclusion(c, &scratch) == nil
}

// add adds c, whose key is key if keyed, on the caller's goroutine.
func (r *Run) add(c *Conversation, key uint64, keyed bool) {
	if r.done {
		panic("sampler: Add after Result")
	}
	if !keyed && r.eligible(c) {
		key = r.keyer.key(c.ExternalID)
	}
	for _, sh := range r.shards {
		sh.add(r, c, key)
	}
}

// add adds c, whose key is key if it is eligible, for the shard's agents.
func (sh *runShard) add(r *Run, c *Conversation, key uint64) {
	// The conversation's own work (counting it, its exclusion, its teams'
	// handle times) is done by the shard of its only author, or by shard 0
	// when it has several or an unknown one: so each shard does a share.
	mine := sh.index == 0
	if len(c.AgentIDs) == 1 {
		if st := sh.agent(r, c.AgentIDs[0]); st != nil {
			mine = st.shard == sh.index
		}
		if !mine {
			return // another shard's single author: nothing to do here
		}
	}
	if mine {
		sh.stats.Conversations++
	}
	if excluded := r.exclusion(c, &sh.stats); excluded != nil {
		if mine {
			*excluded++
		}
		return
	}
	var (
		matched bool
		mask    uint64
	)
	sh.convTeams = sh.convTeams[:0]
	for i, id := range c.AgentIDs {
		if slices.Contains(c.AgentIDs[:i], id) {
			continue
		}
		st := sh.agent(r, id)
		if st == nil {
			if mine {
				sh.stats.UnknownAuthors++
			}
			continue
		}
		if mine && r.longRule >= 0 && !slices.Contains(sh.convTeams, st.team) {
			sh.convTeams = append(sh.convTeams, st.team)
			sh.teamHandles[st.team].add(c.HandleTime)
		}
		if st.shard != sh.index {
			continue
		}
		if !st.agent.Active {
			sh.stats.InactiveAuthors++
			continue
		}
		st.handled++
		if r.mayBePicked(key) {
			if k := (PickKey{ExternalID: c.ExternalID, AgentID: id}); r.alreadyPicked[k] || r.earlier[k] {
				st.alreadyPicked++
				sh.stats.AlreadyPicked++
				continue
			}
		}
		if !matched {
			mask, matched = sh.matcher.match(c), true
		}
		sh.stats.Candidates++
		st.add(candidate{key: key, id: c.ExternalID}, c.Channel, mask, c.HandleTime, r.longRule >= 0, sh.channelNames)
	}
}

// mergeTeamHandles moves the shards' handle times into the run's.
func (r *Run) mergeTeamHandles() {
	for _, sh := range r.shards {
		for t := range sh.teamHandles {
			d := &sh.teamHandles[t]
			r.teamHandles[t].blocks = append(r.teamHandles[t].blocks, d.blocks...)
			r.teamHandles[t].n += d.n
			*d = durations{}
		}
	}
}

// totalStats adds up the shards' counts.
func (r *Run) totalStats() Stats {
	var t Stats
	for _, sh := range r.shards {
		s := sh.stats
		t.Conversations += s.Conversations
		t.OutsideWeek += s.OutsideWeek
		t.NoAgentMessage += s.NoAgentMessage
		t.BotOnly += s.BotOnly
		t.MissingID += s.MissingID
		t.UnknownAuthors += s.UnknownAuthors
		t.InactiveAuthors += s.InactiveAuthors
		t.AlreadyPicked += s.AlreadyPicked
		t.Candidates += s.Candidates
	}
	return t
}

// add adds a candidate in channel. names interns the channel names the
// agents' channelStats keep (see runShard.channelNames).
func (st *agentState) add(c candidate, channel string, mask uint64, handle time.Duration, long bool, names map[string]string) {
	st.eligible++
	found := false
	for i := range st.channels {
		ch := &st.channels[i]
		if ch.name == channel {
			ch.volume++
			if c.before(ch.first) {
				ch.first = c
			}
			found = true
			break
		}
	}
	if !found {
		name, ok := names[channel]
		if !ok {
			name = strings.Clone(channel)
			names[name] = name
		}
		ch := channelStat{name: name, volume: 1, first: c}
		if st.withAlternates {
			lists := &channelCandidates{byKey: newSmallest(st.byKey.limit), ruleMatches: make([]smallest, len(st.ruleMatches))}
			for i := range lists.ruleMatches {
				lists.ruleMatches[i] = newSmallest(st.byKey.limit)
			}
			ch.alternates = lists
		}
		st.channels = append(st.channels, ch)
	}
	if st.withAlternates {
		lists := st.channelOf(channel).alternates
		lists.byKey.offer(c)
		for m := mask; m != 0; m &= m - 1 {
			lists.ruleMatches[bits.TrailingZeros64(m)].offer(c)
		}
	}
	st.byKey.offer(c)
	for m := mask; m != 0; m &= m - 1 {
		st.ruleMatches[bits.TrailingZeros64(m)].offer(c)
	}
	if long {
		st.long.offer(c, handle)
	}
}

// Result finishes the run and returns its outcome. The run cannot be used
// afterwards.
func (r *Run) Result() *Result {
	if r.done {
		panic("sampler: Result called twice")
	}
	r.done = true
	r.mergeTeamHandles()
	res := &Result{Week: r.week, PolicyVersion: r.policy.Version, Stats: r.totalStats()}
	thresholds := r.thresholds(res)
	for _, st := range r.byID {
		if !st.agent.Active {
			continue
		}
		if st.handled == 0 {
			// A top-up still reports an agent of the run who is short and
			// got nothing new.
			if wanted := st.randomQuota + r.policy.TargetedPerAgent; len(st.earlier) > 0 && len(st.earlier) < wanted {
				res.Shortfalls = append(res.Shortfalls, Shortfall{AgentID: st.agent.ID, Wanted: wanted, Got: len(st.earlier)})
			}
			continue
		}
		sum := AgentSummary{
			AgentID:       st.agent.ID,
			TeamID:        st.agent.TeamID,
			NewHire:       st.newHire,
			Handled:       st.handled,
			AlreadyPicked: st.alreadyPicked,
			Eligible:      st.eligible,
			RandomQuota:   st.randomQuota,
			Wanted:        st.randomQuota + r.policy.TargetedPerAgent,
		}
		if r.longRule >= 0 {
			sum.TeamConversations = r.teamHandles[st.team].n
			sum.HandleTimeThreshold = thresholds[st.team]
		}
		s := r.pickFor(st, sum.HandleTimeThreshold)
		for _, p := range s.picks {
			switch {
			case p.Backfill:
				sum.Backfilled++
			case p.Reason == ReasonRandom:
				sum.Random++
			default:
				sum.Targeted++
			}
		}
		res.Picks = append(res.Picks, s.picks...)
		res.Alternates = append(res.Alternates, s.alternates...)
		if got := len(st.earlier) + len(s.picks); got < sum.Wanted {
			res.Shortfalls = append(res.Shortfalls, Shortfall{AgentID: st.agent.ID, Wanted: sum.Wanted, Got: got})
		}
		res.Agents = append(res.Agents, sum)
	}
	return res
}

// Package sampler draws the weekly quality-inspection sample (质检抽查,
// SPEC §4): given a policy, an ISO week, a seed, the agent directory and
// the week's conversations, it returns each agent's picks with reason and
// rank, replacement candidates, and per-agent shortfalls. It is pure: no
// SQL, gRPC, I/O or clock, and the result is a function of (conversations
// as a set, agents, policy, week, seed, already-picked set), whatever the
// order conversations arrive in.
//
// # Rules as implemented
//
// Week: ISO 8601 weeks, Monday 00:00 to the next Monday 00:00 wall-clock
// time in the policy's zone (default Asia/Shanghai). A conversation
// belongs to the week in which it ended; others are counted and ignored.
//
// Exclusions: a conversation with no agent message (AgentMessageCount 0)
// is excluded, counted as bot-only when it has messages but none from an
// agent or the customer (only bot and system ones) and as "no agent
// message" otherwise; so is every (conversation, agent) pair in
// AlreadyPicked.
//
// Coverage and transfers: a conversation counts for every agent in its
// AgentIDs (every agent who wrote in it, and only them: not an owner who
// wrote nothing; see transcript.Authors). Every active agent
// in the directory with at least one such conversation is sampled over all
// channels; inactive and unknown agents are skipped. A conversation is
// picked at most once per agent, but can be picked for each of its agents:
// each review scores one agent's part.
//
// Quota: RandomPerAgent random picks (plus NewHireExtra for an agent whose
// tenure, in calendar days from HiredOn to the week's Monday, is under
// NewHireDays; an unknown hire date is not a new hire) and
// TargetedPerAgent targeted slots. An agent with fewer eligible
// conversations gets all of them, and a Shortfall records wanted and got.
//
// Picking order: each conversation's Key is HMAC-SHA256(seed,
// external_id) truncated to 64 bits (see Key); a smaller key is picked
// first, ties by external id. Taking the smallest keys is a uniform draw
// without replacement that anyone holding the seed can recompute.
//
// Random part: one pick per channel the agent served, busiest channel
// first (ties by channel name), each the channel's first conversation in
// picking order, while the random quota lasts; then the first unpicked
// conversations in picking order.
//
// Targeted part: the policy's rules in priority order, allocated
// round-robin: each pass gives one slot to every rule with an unpicked
// match (its first in picking order) until the slots run out or no rule
// matches. Rules: complaint (a tag in ComplaintTags), low_csat (csat 1
// to LowCSATMax; 0 is no rating), escalated (a tag in EscalationTags or
// transfer_count ≥ EscalationMinTransfers unless that is 0), vip
// (customer tier in VIPTiers), long_handle_time (handle time strictly
// above the nearest-rank HandleTimePercentile of the handle times of the
// agent's team's conversations of the week, each conversation once per
// team, already-picked and inactive agents' ones included, excluded ones
// and unknown agents' not; an agent without a team is compared with their
// own week), "check:<flag>" (an automatic-check flag, SPEC §6),
// "tag:<tag>" (one tag) and the policy's named rules (every condition
// holds; see Condition). Tags, tiers, channels and attribute values
// compare folded: case- and width-insensitively (fold.go). A policy
// document stored before the built-in rules had parameters decodes to
// the parameters they had then (Policy.UnmarshalJSON). Slots no rule
// fills are backfilled from the picking order with reason random, marked
// Backfill. See Run.pickFor for why.
//
// Top-up: with Params.TopUp the run continues an earlier run of the week
// (same seed and policy) over conversations that arrived after it: each
// agent gets only what the earlier picks left of their quota, ranked after
// them; see TopUp.
//
// # Cost
//
// One pass, O(1) expected work per (conversation, agent) pair after an
// HMAC: each agent keeps bounded lists of quota + alternates candidates per
// reason, and for the handle-time rule, whose threshold is known only at
// the end, a "skyline" of expected size (quota + alternates) · ln n. The
// team percentile keeps one duration per conversation and is found by
// selection, not sorting. So a database cursor can feed a Run directly:
//
//	run, err := sampler.NewRun(&params)
//	for each row { run.Add(&conversation) } // or AddBatch for a slice of rows
//	result := run.Result()
//
// AddBatch spreads a batch over the cores: the HMACs first (unless the
// caller keeps the keys and hands them over, Conversation.Keyed), then one
// shard per core, each adding the conversations of its share of the
// agents. Results do not depend on the number of shards.
//
// External ids must be unique among the conversations of a run, as the
// store guarantees; Sample does the above for a slice.
package sampler

package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"qa-sampling/assign"
	"qa-sampling/checks"
	"qa-sampling/isoweek"
	"qa-sampling/sampler"
	"qa-sampling/store"
)

// SamplingJob samples a week: it loads the week's conversations from the
// store, runs the sampler, assigns inspectors and stores the picks. It is
// what the schedule, the admin's RunWeek and catch-up on start all call.
type SamplingJob struct {
	Store Storage
	Log   *slog.Logger
	Now   func() time.Time
	// metrics, when set, count the runs (see newSamplingMetrics).
	metrics *samplingMetrics
}

// claimPoll is how often a caller waiting for another runner of the same
// run checks whether that runner finished or died.
const claimPoll = 100 * time.Millisecond

// LatestPolicy returns the newest stored policy version, storing the
// default as version 1 on first use so that every run names a stored
// version. Replicas seeding at once agree: an identical document is not
// stored twice.
func (j *SamplingJob) LatestPolicy(ctx context.Context) (store.PolicyVersion, error) {
	pv, err := j.Store.LatestPolicy(ctx)
	if !errors.Is(err, store.ErrNotFound) {
		return pv, err
	}
	doc, err := json.Marshal(sampler.DefaultPolicy())
	if err != nil {
		return store.PolicyVersion{}, err
	}
	return j.Store.AddPolicyVersion(ctx, doc, "default")
}

// Policy is LatestPolicy decoded.
func (j *SamplingJob) Policy(ctx context.Context) (sampler.Policy, error) {
	pv, err := j.LatestPolicy(ctx)
	if err != nil {
		return sampler.Policy{}, err
	}
	return decodePolicy(pv)
}

func decodePolicy(pv store.PolicyVersion) (sampler.Policy, error) {
	var p sampler.Policy
	if err := json.Unmarshal(pv.Document, &p); err != nil {
		return sampler.Policy{}, fmt.Errorf("policy version %d: %w", pv.Version, err)
	}
	p.Version = pv.Version
	return p, nil
}

// Compute runs the sampler over the week, writing nothing of its own (on
// SQLite the store packs the week's stale hour blocks as it reads them).
// alternates asks for replacement candidates (see sampler.Params). The
// rules are taken in policy.Rules' order: for a run, the order it was made
// with (runPolicy); check_disagreement is not applied here.
func (j *SamplingJob) Compute(ctx context.Context, week isoweek.Week, policy sampler.Policy, seed []byte, alternates int, excludeRun int64) (*sampler.Result, map[string]store.Agent, error) {
	return j.compute(ctx, week, policy, seed, alternates, excludeRun, nil)
}

// compute is Compute, or with topUp a top-up's computation: the sampler
// continues the run's picks (sampler.TopUp) over what topUp.scan reads.
func (j *SamplingJob) compute(ctx context.Context, week isoweek.Week, policy sampler.Policy, seed []byte, alternates int, excludeRun int64, topUp *topUpInput) (*sampler.Result, map[string]store.Agent, error) {
	loc, err := policy.Location()
	if err != nil {
		return nil, nil, err
	}
	from, to := week.Bounds(loc)
	dir, err := j.Store.ListAgents(ctx)
	if err != nil {
		return nil, nil, err
	}
	agents := make([]sampler.Agent, 0, len(dir))
	byID := make(map[string]store.Agent, len(dir))
	for _, a := range dir {
		byID[a.AgentID] = a
		hired, _ := time.Parse(time.DateOnly, a.HiredOn) // validated on upsert; empty means unknown
		agents = append(agents, sampler.Agent{ID: a.AgentID, TeamID: a.TeamID, HiredOn: hired, Active: a.Active})
	}
	pickedIn := j.Store.PickedInWeek
	if topUp != nil {
		pickedIn = topUp.picked
	}
	picked, err := j.pickedBefore(ctx, pickedIn, from, to, excludeRun)
	if err != nil {
		return nil, nil, err
	}
	params := &sampler.Params{
		Policy: policy, Week: week, Seed: seed, Agents: agents, AlreadyPicked: picked, Alternates: alternates,
	}
	if policy.Adaptive != nil && topUp == nil {
		params.Alternates = min(params.Alternates+policy.Adaptive.MaxExtra, sampler.MaxQuota) // drawn from for the extra picks
	}
	if topUp != nil {
		params.TopUp = &topUp.earlier
	}
	run, err := sampler.NewRun(params)
	if err != nil {
		return nil, nil, err
	}
	// The scan (database) and the sampler (hashing) overlap: full batches
	// go to a goroutine that adds them while the next batch is read. The
	// sampler keeps nothing of a batch, so batches are reused: a week is
	// hundreds of megabytes of them otherwise, and the garbage collector's
	// work on them competes with the scan for the cores.
	batches := make(chan []sampler.Conversation, 4)
	free := make(chan []sampler.Conversation, 4+2*scanParts)
	added := make(chan struct{})
	go func() {
		for b := range batches {
			run.AddBatch(b)
			clear(b) // drop the rows' strings
			select {
			case free <- b[:0]:
			default:
			}
		}
		close(added)
	}()
	// Attributes and response times cost every row; read them only for
	// rules that look at them.
	// The seed lets a store hand over the keys it keeps (SQLite's blocks).
	opts := store.ScanOptions{Attributes: policy.ReadsAttributes(), ResponseTimes: policy.ReadsResponseTimes(), CheckFlags: readsCheckFlags(&policy),
		KeySeed: string(seed)}
	parts := weekParts(j.Store.ScanWeek, from, to, opts)
	if topUp != nil {
		parts = topUp.parts(from, to, opts)
	}
	err = scanInParts(ctx, parts, free, func(batch []sampler.Conversation) { batches <- batch })
	close(batches)
	<-added
	if err != nil {
		return nil, nil, err
	}
	res := run.Result()
	if topUp == nil { // a top-up fills the fixed quotas only
		if err := j.applyAdaptive(ctx, week, policy, seed, res); err != nil {
			return nil, nil, err
		}
	}
	return res, byID, nil
}

// readsCheckFlags reports whether a rule of p looks at the automatic
// checks' flags: a check:<key> rule or a named rule's flags condition.
// Only then does the scan read them (from the table, not the sampling
// index).
func readsCheckFlags(p *sampler.Policy) bool {
	for _, r := range p.Rules {
		if strings.HasPrefix(r, sampler.CheckRulePrefix) {
			return true
		}
	}
	for _, nr := range p.NamedRules {
		for _, c := range nr.When {
			if c.Field == sampler.FieldFlags {
				return true
			}
		}
	}
	return false
}

// scanParts is how many parts of the week scanInParts reads at once, each
// on its own connection: the decoding of rows, on the database's side and
// in Go, is most of a week's scan, and one part keeps one core busy.
const scanParts = 2

// scanBatch is how many conversations go to the sampler at a time.
const scanBatch = 4096

// scanPart reads one part of what a computation samples, calling fn for
// each of its rows.
type scanPart func(ctx context.Context, fn func(store.SampleRow) error) error

// weekParts reads [from, to) with scan in scanParts consecutive time
// ranges (partBounds).
func weekParts(scan func(ctx context.Context, from, to time.Time, opts store.ScanOptions, fn func(store.SampleRow) error) error,
	from, to time.Time, opts store.ScanOptions) []scanPart {
	bounds := partBounds(from, to)
	parts := make([]scanPart, scanParts)
	for i := range parts {
		lo, hi := bounds[i], bounds[i+1]
		parts[i] = func(ctx context.Context, fn func(store.SampleRow) error) error { return scan(ctx, lo, hi, opts, fn) }
	}
	return parts
}

// scanInParts reads the parts at once, each on its own goroutine (and
// connection), and hands the rows to send in batches of up to scanBatch
// conversations, from as many goroutines, taking empty batches from free
// when it has one. The sampler's result does not depend on the order it
// is given conversations in. The first error stops the other parts.
func scanInParts(ctx context.Context, parts []scanPart, free <-chan []sampler.Conversation, send func([]sampler.Conversation)) error {
	newBatch := func() []sampler.Conversation {
		select {
		case b := <-free:
			return b
		default:
			return make([]sampler.Conversation, 0, scanBatch)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(parts))
	for _, part := range parts {
		go func() {
			batch := newBatch()
			err := part(ctx, func(r store.SampleRow) error {
				batch = append(batch, sampler.Conversation{
					ExternalID: r.ExternalID, AgentIDs: r.AgentIDs, Channel: r.Channel, CustomerTier: r.CustomerTier,
					Tags: r.Tags, CSAT: r.CSAT, TransferCount: r.TransferCount, HandleTime: r.HandleTime, EndedAt: r.EndedAt,
					MessageCount: r.MessageCount, AgentMessageCount: r.AgentMessageCount, CustomerMessageCount: r.CustomerMessages,
					FirstResponse: r.FirstResponse, MeanAgentResponse: r.MeanAgentResponse, Attributes: r.Attributes,
					Flags: checks.FlagNames(r.CheckFlags), // shared, never modified
					Key:   r.Key, Keyed: r.Keyed,
				})
				if len(batch) == cap(batch) {
					send(batch)
					batch = newBatch()
				}
				return nil
			})
			if err == nil && len(batch) > 0 {
				send(batch)
			}
			if err != nil {
				cancel()
			}
			errs <- err
		}()
	}
	var first error
	for range parts {
		if err := <-errs; err != nil && (first == nil || errors.Is(first, context.Canceled)) {
			first = err
		}
	}
	return first
}

// partBounds cuts [from, to) into scanParts consecutive ranges of about
// the same length, cut on whole UTC hours where the range is longer than
// scanParts hours: a store packs a week by the hour (SQLite's blocks), and
// an hour cut in two is read from its index, in both parts, every time
// (the middle of a week of 167 or 169 hours, when the clocks change).
func partBounds(from, to time.Time) [scanParts + 1]time.Time {
	var b [scanParts + 1]time.Time
	step := to.Sub(from) / scanParts
	b[0], b[scanParts] = from, to
	for i := 1; i < scanParts; i++ {
		b[i] = from.Add(time.Duration(i) * step)
		if step >= time.Hour {
			if cut := b[i].Truncate(time.Hour); cut.After(b[i-1]) {
				b[i] = cut
			}
		}
	}
	return b
}

// pickedBefore is what earlier runs of the week picked (as pickedIn, the
// store's PickedInWeek or a top-up's narrower read, lists it), except run
// excludeRun (whose picks a recomputation must see as its own).
func (j *SamplingJob) pickedBefore(ctx context.Context, pickedIn func(context.Context, time.Time, time.Time) (map[[2]string]bool, error),
	from, to time.Time, excludeRun int64) (map[sampler.PickKey]bool, error) {
	pairs, err := pickedIn(ctx, from, to)
	if err != nil {
		return nil, err
	}
	out := make(map[sampler.PickKey]bool, len(pairs))
	for p := range pairs {
		out[sampler.PickKey{ExternalID: p[0], AgentID: p[1]}] = true
	}
	if excludeRun != 0 {
		own, err := j.Store.ListPicks(ctx, store.PickFilter{RunID: excludeRun})
		if err != nil {
			return nil, err
		}
		for _, p := range own {
			delete(out, sampler.PickKey{ExternalID: p.ExternalID, AgentID: p.AgentID})
		}
	}
	return out, nil
}

// RunWeek samples week under the newest policy, once: a run that exists
// for (week, policy version) is returned as it is. An incomplete one is
// completed by whoever claims it (store.ClaimRun) with the run's own seed,
// so its picks are those its first runner would have made; callers wait
// only while a live runner works on it.
//
// A week that has not ended in the policy's time zone is refused
// (*WeekNotEndedError): its run would hold only the chats so far, and
// being idempotent it would stay that way.
func (j *SamplingJob) RunWeek(ctx context.Context, week isoweek.Week, trigger string) (store.Run, bool, error) {
	policy, err := j.Policy(ctx)
	if err != nil {
		return store.Run{}, false, err
	}
	loc, err := policy.Location()
	if err != nil {
		return store.Run{}, false, err
	}
	if _, end := week.Bounds(loc); j.Now().Before(end) {
		return store.Run{}, false, &WeekNotEndedError{Week: week, End: end}
	}
	seed, err := j.WeekSeed(ctx, week)
	if err != nil {
		return store.Run{}, false, err
	}
	// The rule order is frozen with the run when it is created (see
	// check_disagreement.go): computed only when no run exists yet, as an
	// existing run keeps its own.
	now := j.Now()
	var order *store.RunDisagreement
	if policy.CheckDisagreement != nil {
		existing, err := j.Store.ListRuns(ctx, week.String())
		if err != nil {
			return store.Run{}, false, err
		}
		if !slices.ContainsFunc(existing, func(r store.Run) bool { return r.PolicyVersion == policy.Version }) {
			if order, err = j.disagreementOrder(ctx, week, policy, now); err != nil {
				return store.Run{}, false, err
			}
		}
	}
	run, created, err := j.Store.CreateRun(ctx, store.Run{
		Week: week.String(), PolicyVersion: policy.Version, Seed: seed, Trigger: trigger, CreatedAt: now, Disagreement: order,
	})
	if err != nil {
		return store.Run{}, false, err
	}
	done, err := j.complete(ctx, run, policy, created)
	return done, created, err
}

// WeekSeed returns the week's seed, drawing and storing it on the week's
// first preview or run: every run of the week, under any policy version,
// and every preview use it, so a preview shows the run's picks and its
// commitment (SeedCommitment) is known before the run reveals the seed.
func (j *SamplingJob) WeekSeed(ctx context.Context, week isoweek.Week) ([]byte, error) {
	candidate := make([]byte, 32)
	if _, err := rand.Read(candidate); err != nil {
		return nil, err
	}
	return j.Store.WeekSeed(ctx, week.String(), candidate, j.Now())
}

// SeedCommitment is the lowercase hex SHA-256 of seed's bytes.
func SeedCommitment(seed []byte) string {
	sum := sha256.Sum256(seed)
	return hex.EncodeToString(sum[:])
}

// WeekNotEndedError refuses to run a week before its end.
type WeekNotEndedError struct {
	Week isoweek.Week
	End  time.Time // in the policy's time zone
}

func (e *WeekNotEndedError) Error() string {
	return fmt.Sprintf("week %s ends %s; preview it instead", e.Week, e.End.Format(time.RFC3339))
}

// Resume completes a run left incomplete (its runner died or failed) under
// the policy version it was created with, which need not be the newest.
func (j *SamplingJob) Resume(ctx context.Context, run store.Run) (store.Run, error) {
	pv, err := j.Store.GetPolicy(ctx, run.PolicyVersion)
	if err != nil {
		return store.Run{}, err
	}
	policy, err := decodePolicy(pv)
	if err != nil {
		return store.Run{}, err
	}
	return j.complete(ctx, run, policy, false)
}

// complete computes, assigns and stores the picks of run under policy,
// unless it is complete or another live runner completes it meanwhile.
func (j *SamplingJob) complete(ctx context.Context, run store.Run, policy sampler.Policy, created bool) (store.Run, error) {
	if !run.CompletedAt.IsZero() {
		j.metrics.succeeded(run)
		return run, nil
	}
	week, err := isoweek.Parse(run.Week)
	if err != nil {
		return store.Run{}, err
	}
	run, release, err := j.claim(ctx, run)
	if err != nil || release == nil {
		j.metrics.succeeded(run)
		return run, err
	}
	defer release()
	if !created {
		j.Log.Info("completing an unfinished sampling run", "week", run.Week, "run", run.ID,
			"policy_version", policy.Version, "created_at", run.CreatedAt)
	}
	start := j.Now()
	if policy, err = j.runPolicy(ctx, run, policy); err != nil {
		return store.Run{}, err
	}
	// Read before the scan, so that the scan reads every transcript up to
	// it and a top-up need read only those after (see TopUp).
	through, err := j.Store.TranscriptHighWater(ctx)
	if err != nil {
		return store.Run{}, err
	}
	res, agents, err := j.Compute(ctx, week, policy, run.Seed, 0, 0)
	if err != nil {
		return store.Run{}, err
	}
	picks, err := j.assign(ctx, run.ID, res.Picks, agents)
	if err != nil {
		return store.Run{}, err
	}
	done, err := j.Store.CompleteRun(ctx, run.ID, picks, len(res.Shortfalls))
	if errors.Is(err, store.ErrConflict) {
		// Another process finished it first (two processes on one SQLite
		// file each hold their own claims); theirs stands.
		done, err = j.Store.GetRun(ctx, run.ID)
		j.metrics.succeeded(done)
		return done, err
	}
	if err != nil {
		return store.Run{}, err
	}
	if err := j.Store.SetRunBasis(ctx, run.ID, through, res.HandleTimeThresholds); err != nil {
		// The run stands; its first top-up reads the whole week instead.
		j.Log.Warn("recording what a sampling run read failed", "run", run.ID, "err", err)
	}
	j.metrics.completed(done, j.Now().Sub(start))
	j.Log.Info("sampling run complete", "week", run.Week, "run", run.ID, "policy_version", policy.Version,
		"picks", len(picks), "shortfalls", len(res.Shortfalls), "conversations", res.Stats.Conversations,
		"took", j.Now().Sub(start).Round(time.Millisecond).String(), "trigger", run.Trigger)
	return done, nil
}

// claim makes this caller the runner of the incomplete run and returns it
// re-read, with the claim's release; or, if it is complete by then (the
// runner before finished while this caller waited), the completed run and
// a nil release. It waits only while another live runner holds the run:
// a runner that died holds nothing (store.ClaimRun).
func (j *SamplingJob) claim(ctx context.Context, run store.Run) (store.Run, func(), error) {
	for {
		release, err := j.Store.ClaimRun(ctx, run.ID)
		if err != nil && !errors.Is(err, store.ErrConflict) {
			return run, nil, err
		}
		if err == nil {
			latest, err := j.Store.GetRun(ctx, run.ID)
			if err != nil || !latest.CompletedAt.IsZero() {
				release()
				return latest, nil, err
			}
			return latest, release, nil
		}
		select {
		case <-ctx.Done():
			return run, nil, ctx.Err()
		case <-time.After(claimPoll):
		}
		latest, err := j.Store.GetRun(ctx, run.ID)
		if err != nil || !latest.CompletedAt.IsZero() {
			return latest, nil, err
		}
	}
}

// assign gives each pick an inspector (see package assign); picks no
// inspector may take go to the pool.
func (j *SamplingJob) assign(ctx context.Context, runID int64, picks []sampler.Pick, agents map[string]store.Agent) ([]store.Pick, error) {
	loads, err := j.Store.InspectorLoads(ctx)
	if err != nil {
		return nil, err
	}
	assigner := assign.New(loads)
	// Read before any pick is assigned, in one call: the picks of this
	// assignment are not stored yet, so they are no one's history.
	agentIDs := make([]string, 0, len(picks))
	for _, p := range picks {
		agentIDs = append(agentIDs, p.AgentID)
	}
	recent, err := j.Store.RecentInspectorsOfAgents(ctx, agentIDs, 3)
	if err != nil {
		return nil, err
	}
	out := make([]store.Pick, len(picks))
	for i, p := range picks {
		inspector := assigner.Assign(agents[p.AgentID].SupervisorID, recent[p.AgentID])
		status := store.PickAssigned
		if inspector == "" {
			status = store.PickPool
		}
		out[i] = store.Pick{
			RunID: runID, ExternalID: p.ExternalID, AgentID: p.AgentID, Reason: p.Reason, Rank: p.Rank,
			Key: p.Key, InspectorID: inspector, Status: status,
		}
	}
	return out, nil
}

// Replacement finds the next pick for the same agent, week and reason as
// a skipped one, in its channel where possible (sampler.Replacement): the
// sampler recomputed with the run's seed and policy, asked for alternates.
func (j *SamplingJob) Replacement(ctx context.Context, skipped store.Pick) (store.Pick, bool, error) {
	run, err := j.Store.GetRun(ctx, skipped.RunID)
	if err != nil {
		return store.Pick{}, false, err
	}
	pv, err := j.Store.GetPolicy(ctx, run.PolicyVersion)
	if err != nil {
		return store.Pick{}, false, err
	}
	policy, err := decodePolicy(pv)
	if err != nil {
		return store.Pick{}, false, err
	}
	if policy, err = j.runPolicy(ctx, run, policy); err != nil {
		return store.Pick{}, false, err
	}
	week, err := isoweek.Parse(run.Week)
	if err != nil {
		return store.Pick{}, false, err
	}
	chat, err := j.Store.GetTranscript(ctx, skipped.ExternalID)
	if err != nil {
		return store.Pick{}, false, err
	}
	own, err := j.Store.ListPicks(ctx, store.PickFilter{AgentID: skipped.AgentID, Week: run.Week})
	if err != nil {
		return store.Pick{}, false, err
	}
	taken := make(map[string]bool, len(own))
	var inRun []sampler.Pick
	for _, p := range own {
		taken[p.ExternalID] = true
		if p.RunID == run.ID {
			inRun = append(inRun, sampler.Pick{ExternalID: p.ExternalID, Rank: p.Rank})
		}
	}
	res, _, err := j.Compute(ctx, week, policy, run.Seed, min(len(own)+5, sampler.MaxQuota), run.ID)
	if err != nil {
		return store.Pick{}, false, err
	}
	alt, ok := sampler.Replacement(res.Alternates,
		sampler.Pick{ExternalID: skipped.ExternalID, AgentID: skipped.AgentID, Reason: skipped.Reason}, chat.Channel, taken, inRun)
	if !ok {
		return store.Pick{}, false, nil
	}
	// The replacement goes to whoever skipped: their queue keeps its size.
	added, err := j.Store.AddPick(ctx, store.Pick{
		RunID: run.ID, ExternalID: alt.ExternalID, AgentID: alt.AgentID, Reason: alt.Reason, Rank: alt.Rank,
		Key: alt.Key, InspectorID: skipped.InspectorID, Status: store.PickAssigned, ReplacesID: skipped.ID,
	})
	return added, err == nil, err
}

// Reassign gives a pool pick to another inspector by the usual rules,
// never to the one who released it; it stays in the pool (ok false) when
// no one else may take it.
func (j *SamplingJob) Reassign(ctx context.Context, p store.Pick, releasedBy string) (store.Pick, bool, error) {
	in, err := assignmentInputsFor(ctx, j.Store, p.AgentID)
	if err != nil {
		return store.Pick{}, false, err
	}
	inspector := assign.Other(in.loads, in.supervisorID, in.recent, releasedBy)
	if inspector == "" {
		return store.Pick{}, false, nil
	}
	p.InspectorID, p.Status = inspector, store.PickAssigned
	moved, err := j.Store.UpdatePick(ctx, p.ID, store.PickPool, p)
	if errors.Is(err, store.ErrConflict) {
		return store.Pick{}, false, nil // someone else moved it first
	}
	return moved, err == nil, err
}

// assignmentInputs is what the assignment rules (package assign) read to
// place one more item of an agent.
type assignmentInputs struct {
	loads        map[string]int // active inspectors' open items
	supervisorID string         // the agent's; never their inspector
	recent       []string       // the agent's recent inspectors, newest first
}

func assignmentInputsFor(ctx context.Context, st Storage, agentID string) (assignmentInputs, error) {
	var in assignmentInputs
	var err error
	if in.loads, err = st.InspectorLoads(ctx); err != nil {
		return in, err
	}
	agent, err := st.GetAgent(ctx, agentID)
	if err != nil {
		return in, err
	}
	in.supervisorID = agent.SupervisorID
	in.recent, err = st.RecentInspectorsOf(ctx, agentID, 3)
	return in, err
}

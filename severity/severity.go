// Package severity estimates how lenient or strict each inspector scores
// from production reviews (SPEC §11), and adjusts agents' means for it. It
// is pure: no SQL, gRPC, I/O or clock.
//
// The model is additive fixed effects:
//
//	score = agent effect + inspector effect + noise
//
// fitted by ordinary least squares. Rather than iterating (alternating
// least squares converges to the same answer, slowly when inspectors share
// few agents), the agent effects are absorbed: the reduced normal
// equations for the inspector effects are C·b = r with
//
//	C[i][i] = n_i − Σ_a n_ia²/n_a,  C[i][j] = −Σ_a n_ia·n_ja/n_a,
//	r[i]    = Σ(scores of i) − Σ_a n_ia·mean_a,
//
// one small dense system per connected component of inspectors (32
// inspectors make a 33×33 matrix, whatever the number of reviews). The
// effects of a component are only known relative to each other, so they
// are constrained to a review-weighted mean of zero (the system is
// bordered with that constraint); an agent's effect is then its mean
// score minus the mean effect of the inspectors who reviewed it.
//
// Severity is reported as the inspector's effect minus the review-weighted
// mean effect of the other inspectors of the component: "scores 10 points
// above their peers" is a severity of +10 (positive is lenient, negative
// strict). Its 95% interval is severity ± t(0.975, df)·se, with
// se² = σ²·P_ii/(1−w_i)², σ² the residual variance (RSS over n − agents −
// inspectors + components degrees of freedom), P the top-left block of
// the inverse of the bordered matrix (the covariance of the constrained
// estimates divided by σ²) and w_i the inspector's share of the
// component's reviews.
//
// Not every inspector's effect can be told apart from the agents':
//   - an inspector who saw only one agent: their scores could as well be
//     that agent's level (ReasonOneAgent); their reviews are left out of
//     the fit;
//   - an inspector with no other inspector in their component (no chain
//     of shared agents leads to another inspector): there is nobody to
//     compare with (ReasonAlone).
//
// Adjusted means subtract the effects of the inspectors behind each review
// (AdjustedMean): they are what the average inspector of the component
// would have given.
package severity

import (
	"cmp"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat/distuv"
)

// Review is one final review as the fit needs it.
type Review struct {
	Agent     string
	Inspector string
	Score     float64
}

// Reasons an inspector has no estimate.
const (
	// ReasonOneAgent: every review was of the same agent.
	ReasonOneAgent = "one_agent"
	// ReasonAlone: no other inspector shares an agent with them, directly
	// or through other inspectors' agents.
	ReasonAlone = "alone_in_component"
	// ReasonTooFewReviews: the component has no residual degrees of
	// freedom (every review is explained exactly), so no interval.
	ReasonTooFewReviews = "too_few_reviews"
)

// Inspector is one inspector's estimate.
type Inspector struct {
	ID      string
	Reviews int // reviews in the data, counted or not
	Agents  int // distinct agents reviewed
	// Identifiable is whether Severity and Effect are estimated; Reason
	// says why not when false.
	Identifiable bool
	Reason       string
	// Component numbers the inspector's connected component (from 1;
	// 0 when left out of the fit).
	Component int
	// Effect is the fitted inspector effect, review-weighted mean zero
	// over the component: what AdjustedMean subtracts.
	Effect float64
	// Severity is Effect minus the review-weighted mean effect of the
	// component's other inspectors: points above (lenient, positive) or
	// below (strict) peers.
	Severity float64
	// SE is Severity's standard error; Low and High its 95% interval.
	// IntervalOK is false (and they are 0) without residual degrees of
	// freedom.
	SE, Low, High float64
	IntervalOK    bool
}

// Fit is the result of Estimate.
type Fit struct {
	// Inspectors are sorted by ID.
	Inspectors []Inspector
	// Sigma is the residual standard deviation; DF its degrees of freedom.
	Sigma float64
	DF    int
	// Used is the number of reviews the fit rests on.
	Used  int
	index map[string]int
}

// Inspector returns id's estimate; ok is false for an inspector not in
// the data.
func (f *Fit) Inspector(id string) (Inspector, bool) {
	i, ok := f.index[id]
	if !ok {
		return Inspector{}, false
	}
	return f.Inspectors[i], true
}

// Effect returns the effect to subtract from id's scores; ok is false
// when id has no estimate.
func (f *Fit) Effect(id string) (float64, bool) {
	i, ok := f.index[id]
	if !ok || !f.Inspectors[i].Identifiable {
		return 0, false
	}
	return f.Inspectors[i].Effect, true
}

// AdjustedMean is the mean of scores[k] − the effect of inspectors[k]:
// the mean with each inspector's leniency removed. ok is false when there
// are no scores or an inspector has no estimate (the mean cannot be
// adjusted for them).
func (f *Fit) AdjustedMean(scores []float64, inspectors []string) (mean float64, ok bool) {
	if len(scores) == 0 || len(scores) != len(inspectors) {
		return 0, false
	}
	var sum float64
	for k, s := range scores {
		e, ok := f.Effect(inspectors[k])
		if !ok {
			return 0, false
		}
		sum += s - e
	}
	return sum / float64(len(scores)), true
}

// Estimate fits the model to reviews.
func Estimate(reviews []Review) *Fit {
	f := &Fit{index: map[string]int{}}
	// Number inspectors in ID order and agents in first-seen order.
	var ids []string
	for _, r := range reviews {
		if _, ok := f.index[r.Inspector]; !ok {
			f.index[r.Inspector] = len(ids)
			ids = append(ids, r.Inspector)
		}
	}
	slices.Sort(ids)
	for i, id := range ids {
		f.index[id] = i
	}
	nI := len(ids)
	f.Inspectors = make([]Inspector, nI)
	for i, id := range ids {
		f.Inspectors[i].ID = id
	}
	agentIndex := map[string]int{}
	ri := make([]int32, len(reviews)) // inspector of each review
	ra := make([]int32, len(reviews)) // agent of each review
	for k, r := range reviews {
		a, ok := agentIndex[r.Agent]
		if !ok {
			a = len(agentIndex)
			agentIndex[r.Agent] = a
		}
		ri[k], ra[k] = int32(f.index[r.Inspector]), int32(a)
	}
	nA := len(agentIndex)

	// Distinct agents per inspector, through the (inspector, agent) pairs.
	pairs := map[int64]int{} // i·nA + a → reviews
	for k := range reviews {
		i := int(ri[k])
		f.Inspectors[i].Reviews++
		key := int64(i)*int64(nA) + int64(ra[k])
		if pairs[key] == 0 {
			f.Inspectors[i].Agents++
		}
		pairs[key]++
	}
	for i := range f.Inspectors {
		if f.Inspectors[i].Agents == 1 {
			f.Inspectors[i].Reason = ReasonOneAgent
		}
	}
	use := func(k int) bool { return f.Inspectors[ri[k]].Reason == "" }

	// Connected components over inspectors and agents (union-find; nodes
	// 0..nI-1 inspectors, nI.. agents).
	parent := make([]int32, nI+nA)
	for i := range parent {
		parent[i] = int32(i)
	}
	find := func(x int32) int32 {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	for k := range reviews {
		if !use(k) {
			continue
		}
		x, y := find(ri[k]), find(int32(nI)+ra[k])
		if x != y {
			parent[x] = y
		}
	}
	members := map[int32][]int{} // root → inspectors, in ID order
	for i := range f.Inspectors {
		if f.Inspectors[i].Reason == "" {
			root := find(int32(i))
			members[root] = append(members[root], i)
		}
	}
	var comps [][]int
	for _, m := range members {
		if len(m) == 1 {
			f.Inspectors[m[0]].Reason = ReasonAlone
			continue
		}
		comps = append(comps, m)
	}
	slices.SortFunc(comps, func(a, b []int) int { return cmp.Compare(a[0], b[0]) })
	pos := make([]int, nI) // position within its component
	for c, m := range comps {
		for p, i := range m {
			f.Inspectors[i].Component = c + 1
			f.Inspectors[i].Identifiable = true
			pos[i] = p
		}
	}

	// Agent totals over the reviews used.
	nAg := make([]float64, nA)
	sumAg := make([]float64, nA)
	nIn := make([]float64, nI)
	sumIn := make([]float64, nI)
	for k, r := range reviews {
		if !use(k) || f.Inspectors[ri[k]].Component == 0 {
			continue
		}
		f.Used++
		nAg[ra[k]]++
		sumAg[ra[k]] += r.Score
		nIn[ri[k]]++
		sumIn[ri[k]] += r.Score
	}
	// Each agent's inspectors with their counts, for C.
	type share struct {
		inspector int
		n         float64
	}
	byAgent := make([][]share, nA)
	for key, n := range pairs {
		i, a := int(key/int64(nA)), int(key%int64(nA))
		if f.Inspectors[i].Component != 0 {
			byAgent[a] = append(byAgent[a], share{i, float64(n)})
		}
	}
	for a := range byAgent {
		slices.SortFunc(byAgent[a], func(x, y share) int { return cmp.Compare(x.inspector, y.inspector) })
	}

	// The bordered system of each component.
	systems := make([]*mat.Dense, len(comps))
	rhs := make([][]float64, len(comps))
	for c, m := range comps {
		systems[c] = mat.NewDense(len(m)+1, len(m)+1, nil)
		rhs[c] = make([]float64, len(m)+1)
		for p, i := range m {
			systems[c].Set(p, p, nIn[i])
			rhs[c][p] = sumIn[i]
			systems[c].Set(p, len(m), nIn[i])
			systems[c].Set(len(m), p, nIn[i])
		}
	}
	for a, sh := range byAgent {
		if len(sh) == 0 || nAg[a] == 0 {
			continue
		}
		c := f.Inspectors[sh[0].inspector].Component - 1
		sys := systems[c]
		mean := sumAg[a] / nAg[a]
		for _, x := range sh {
			px := pos[x.inspector]
			rhs[c][px] -= x.n * mean
			for _, y := range sh {
				py := pos[y.inspector]
				sys.Set(px, py, sys.At(px, py)-x.n*y.n/nAg[a])
			}
		}
	}
	covariance := make([]*mat.Dense, len(comps))
	for c, m := range comps {
		var inv mat.Dense
		if err := inv.Inverse(systems[c]); err != nil {
			// Singular although connected: cannot happen with exact
			// arithmetic; leave the component unestimated.
			for _, i := range m {
				f.Inspectors[i].Identifiable = false
				f.Inspectors[i].Reason = ReasonAlone
			}
			continue
		}
		covariance[c] = &inv
		b := mat.NewVecDense(len(m)+1, nil)
		b.MulVec(&inv, mat.NewVecDense(len(m)+1, rhs[c]))
		for p, i := range m {
			f.Inspectors[i].Effect = b.AtVec(p)
		}
	}

	// Residuals: agent effect = mean_a − Σ n_ia·b_i / n_a.
	agentEffect := make([]float64, nA)
	for a, sh := range byAgent {
		if nAg[a] == 0 {
			continue
		}
		var e float64
		for _, x := range sh {
			e += x.n * f.Inspectors[x.inspector].Effect
		}
		agentEffect[a] = (sumAg[a] - e) / nAg[a]
	}
	var rss float64
	agentsUsed := 0
	for a := range nAg {
		if nAg[a] > 0 {
			agentsUsed++
		}
	}
	for k, r := range reviews {
		if !use(k) || !f.Inspectors[ri[k]].Identifiable {
			continue
		}
		d := r.Score - agentEffect[ra[k]] - f.Inspectors[ri[k]].Effect
		rss += d * d
	}
	params := agentsUsed
	for _, m := range comps {
		params += len(m) - 1
	}
	f.DF = f.Used - params
	if f.DF > 0 {
		f.Sigma = math.Sqrt(rss / float64(f.DF))
	}
	t := 0.0
	if f.DF > 0 {
		t = distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(f.DF)}.Quantile(0.975)
	}
	for c, m := range comps {
		var total float64
		for _, i := range m {
			total += nIn[i]
		}
		for p, i := range m {
			in := &f.Inspectors[i]
			if !in.Identifiable {
				continue
			}
			w := nIn[i] / total
			in.Severity = in.Effect / (1 - w)
			if f.DF <= 0 || covariance[c] == nil {
				in.Reason = ReasonTooFewReviews
				continue
			}
			v := covariance[c].At(p, p)
			in.SE = f.Sigma * math.Sqrt(max(v, 0)) / (1 - w)
			in.Low, in.High = in.Severity-t*in.SE, in.Severity+t*in.SE
			in.IntervalOK = true
		}
	}
	return f
}

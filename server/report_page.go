package server

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"qa-sampling/fielderr"
	qav1 "qa-sampling/proto/qa/v1"
)

// teamOrders are GetTeamReportRequest.order_by's columns.
var teamOrders = []string{"agent", "reviews", "mean", "critical", "trend"}

// teamPageRequest is a checked page of a team report's agents.
type teamPageRequest struct {
	size   int // 0: every agent
	offset int
	order  string
	desc   bool
	// ordered: order_by was given; without it and without paging the
	// report's agents stay in the store's order, as before paging.
	ordered bool
}

// teamPageOf checks the paging fields of req into l.
func teamPageOf(l *fielderr.List, req *qav1.GetTeamReportRequest) teamPageRequest {
	var p teamPageRequest
	switch n := req.GetPageSize(); {
	case n < 0:
		l.Add("page_size", "must not be negative")
	case n > maxPageSize:
		l.Add("page_size", "at most %d", maxPageSize)
	default:
		p.size = int(n)
	}
	if t := req.GetPageToken(); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 {
			l.Add("page_token", "not a token from a previous response")
		}
		p.offset = n
	}
	order := strings.Fields(req.GetOrderBy())
	switch {
	case len(order) == 0:
		p.order = "agent"
	case len(order) > 2 || !slices.Contains(teamOrders, order[0]) || (len(order) == 2 && order[1] != "desc" && order[1] != "asc"):
		l.Add("order_by", "must be one of %s, optionally followed by desc; got %s", strings.Join(teamOrders, ", "), fielderr.Quote(req.GetOrderBy()))
	default:
		p.order, p.desc, p.ordered = order[0], len(order) == 2 && order[1] == "desc", true
	}
	return p
}

// page answers with the page of r's agents p asks for, in its order. r is
// shared (the cache's): the answer gets a shallow copy whose agents list
// is its own.
func (p teamPageRequest) page(r *qav1.TeamReport) *qav1.GetTeamReportResponse {
	all := r.GetAgents()
	out := &qav1.GetTeamReportResponse{TotalAgents: int32(len(all))}
	if p.size == 0 && p.offset == 0 && !p.ordered {
		out.Report = r
		return out
	}
	agents := slices.Clone(all)
	slices.SortStableFunc(agents, p.compare)
	start := min(p.offset, len(agents))
	end := len(agents)
	if p.size > 0 && start+p.size < end {
		end = start + p.size
		out.NextPageToken = strconv.Itoa(end)
	}
	page := &qav1.TeamReport{
		TeamId: r.GetTeamId(), Weeks: r.GetWeeks(), Summary: r.GetSummary(), Agents: agents[start:end],
		FailingDimensions: r.GetFailingDimensions(), CriticalFlags: r.GetCriticalFlags(), GeneratedAt: r.GetGeneratedAt(),
	}
	out.Report = page
	return out
}

func byAgentID(a, b *qav1.AgentReport) int { return strings.Compare(a.GetAgentId(), b.GetAgentId()) }

// compare orders two agents by p's column; ties, and agents without
// reviews by mean or trend, go by agent id.
func (p teamPageRequest) compare(a, b *qav1.AgentReport) int {
	as, bs := a.GetSummary(), b.GetSummary()
	var c int
	switch p.order {
	case "reviews":
		c = cmp.Compare(as.GetReviews(), bs.GetReviews())
	case "mean":
		c = cmp.Compare(as.GetMean(), bs.GetMean())
	case "critical":
		c = cmp.Compare(as.GetCritical(), bs.GetCritical())
	case "trend":
		c = cmp.Compare(as.GetSlope(), bs.GetSlope())
	default:
		c = byAgentID(a, b)
	}
	if p.desc {
		c = -c
	}
	if p.order == "mean" || p.order == "trend" {
		// Agents without reviews have no mean to rank: last either way.
		if an, bn := as.GetReviews() == 0, bs.GetReviews() == 0; an != bn {
			if an {
				return 1
			}
			return -1
		}
	}
	return cmp.Or(c, byAgentID(a, b))
}

package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	qav1 "qa-sampling/proto/qa/v1"
)

// printInspectors lists inspectors as a table with their open items:
// OPEN = ASSIGNED (picks to score) + DISPUTED (re-scorings of contested
// reviews); then the pool's size.
func printInspectors(w io.Writer, resp *qav1.ListInspectorsResponse) error {
	t := newTable(w)
	_, _ = fmt.Fprintln(t, "ID\tNAME\tACTIVE\tOPEN\tASSIGNED\tDISPUTED")
	for _, in := range resp.GetInspectors() {
		_, _ = fmt.Fprintf(t, "%s\t%s\t%s\t%d\t%d\t%d\n", sanitize(in.GetId()), sanitize(in.GetName()), yesNo(in.GetActive(), "yes", "no"),
			in.GetOpenItems(), in.GetAssignedItems(), in.GetDisputedItems())
	}
	if err := t.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "pool: %d items no inspector holds\n", resp.GetPoolItems())
	return err
}

// printUpsertedInspector says what UpsertInspector stored and which open
// items a deactivation handed back to the pool.
func printUpsertedInspector(w io.Writer, resp *qav1.UpsertInspectorResponse) error {
	in := resp.GetInspector()
	state := "active"
	if !in.GetActive() {
		state = "inactive"
	}
	if _, err := fmt.Fprintf(w, "inspector %s (%s): %s\n", sanitize(in.GetId()), sanitize(in.GetName()), state); err != nil {
		return err
	}
	if len(resp.GetReturnedItems()) == 0 {
		return nil
	}
	if _, err := fmt.Fprintf(w, "%d open items returned to the pool:\n", len(resp.GetReturnedItems())); err != nil {
		return err
	}
	return printPicks(w, resp.GetReturnedItems(), false)
}

// printPolicy shows a policy as one "field: value" line each, with the
// API's field names so the lines map onto `policy set`'s JSON. Its time is
// shown in the policy's own zone, else in fallback.
func printPolicy(w io.Writer, p *qav1.Policy, fallback *time.Location) error {
	loc := zoneOr(p.GetTimeZone(), fallback)
	t := newTable(w)
	line := func(name, value string) { _, _ = fmt.Fprintf(t, "%s:\t%s\n", name, value) }
	line("version", strconv.FormatInt(p.GetVersion(), 10))
	line("random_per_agent", strconv.Itoa(int(p.GetRandomPerAgent())))
	line("targeted_per_agent", strconv.Itoa(int(p.GetTargetedPerAgent())))
	line("new_hire_days", strconv.Itoa(int(p.GetNewHireDays())))
	line("new_hire_extra", strconv.Itoa(int(p.GetNewHireExtra())))
	rules := make([]string, len(p.GetRules()))
	for i, r := range p.GetRules() {
		rules[i] = sanitize(r)
	}
	line("rules", strings.Join(rules, ", "))
	line("time_zone", sanitize(p.GetTimeZone()))
	line("handle_time_percentile", strconv.FormatFloat(p.GetHandleTimePercentile(), 'g', -1, 64))
	printTargeting(line, p)
	if a := p.GetAdaptive(); a != nil {
		line("adaptive", fmt.Sprintf("up to %d extra picks per agent whose %d-week interval straddles %g (or has none); inspector capacity %d",
			a.GetMaxExtra(), a.GetWeeks(), a.GetPassScore(), a.GetInspectorCapacity()))
	} else {
		line("adaptive", "off")
	}
	line("created_by", sanitize(p.GetCreatedBy()))
	line("created_at", formatTimestamp(p.GetCreatedAt(), loc))
	return t.Flush()
}

// printReleased confirms a released item.
func printReleased(w io.Writer, p *qav1.Pick) error {
	_, err := fmt.Fprintf(w, "released %d (%s, agent %s, %s); status %s\n", p.GetId(), sanitize(p.GetExternalId()),
		sanitize(p.GetAgentId()), p.GetReason(), p.GetStatus())
	return err
}

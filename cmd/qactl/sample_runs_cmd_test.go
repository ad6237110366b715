package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	qav1 "qa-sampling/proto/qa/v1"
)

func toppedUpRun() *qav1.Run {
	at := timestamppb.New(time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC))
	return &qav1.Run{Id: 4, Week: "2026-W47", PolicyVersion: 2, Trigger: "schedule", CreatedAt: at, CompletedAt: at,
		Picks: 7, TotalPicks: 14, Shortfalls: 2, Seed: "ab", SeedCommitment: "cd",
		TopUps: []*qav1.TopUp{
			{Seq: 1, CreatedAt: at, Trigger: "manual:lead", Picks: 7, Shortfalls: 1, Considered: 13},
			{Seq: 2, CreatedAt: at, Trigger: "schedule", Picks: 0, Shortfalls: 1, Considered: 0},
		}}
}

// A run's text shows its own picks, the total with its top-ups, the
// shortfalls after the last top-up and a line per top-up.
func TestPrintRunShowsTopUps(t *testing.T) {
	var out bytes.Buffer
	if err := printRun(&out, toppedUpRun(), time.UTC); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"picks: 7 by the run, 14 in all with top-ups; 1 agents short of quota now",
		"TOP-UP  AT                       TRIGGER      PICKS  CHATS READ  SHORT AFTER",
		"1       2026-11-24 03:00 +00:00  manual:lead  7      13          1",
		"2       2026-11-24 03:00 +00:00  schedule     0      0           1",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("printRun:\n%s\nlacks %q", out.String(), want)
		}
	}
	out.Reset()
	if err := printRuns(&out, []*qav1.Run{toppedUpRun()}, time.UTC); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(out.String()), "\n"); len(lines) != 2 || !strings.HasSuffix(lines[1], "7      2        14     1") {
		t.Errorf("printRuns:\n%s\nwant picks 7, 2 top-ups, total 14, 1 short", out.String())
	}
	out.Reset()
	printTopUpResult(&out, &qav1.RunWeekResponse{Run: toppedUpRun(), TopUp: toppedUpRun().GetTopUps()[1]})
	if want := "top-up 2 of run 4 for 2026-W47 (policy version 2): 0 picks added from 0 chats that arrived since, 1 agents short of quota\n" +
		"run now has 14 picks (7 by the run, 7 by 2 top-ups)\n"; out.String() != want {
		t.Errorf("printTopUpResult:\n%s\nwant\n%s", out.String(), want)
	}
}

// A run made under check_disagreement shows the rule order stored with it
// and each check's weight with the counts it rests on; a run without one
// shows no order.
func TestPrintRunShowsItsRuleOrder(t *testing.T) {
	r := toppedUpRun()
	r.Disagreement = &qav1.DisagreementOrder{
		Rules: []string{"complaint", "check:no_greeting", "check:forbidden_phrase"}, FromWeek: "2026-W43", ToWeek: "2026-W46",
		ReviewsBefore: r.GetCreatedAt(), CheckSetVersion: 3, Reviews: 12,
		Weights: []*qav1.CheckWeight{
			{Check: "forbidden_phrase", Dimension: "attitude", Tp: 3, Fp: 1, Weight: 0.25},
			{Check: "no_greeting", Dimension: "attitude", Weight: 1},
		},
	}
	var out bytes.Buffer
	if err := printRun(&out, r, time.UTC); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"rule order (check_disagreement, frozen with the run; its top-ups keep it): complaint, check:no_greeting, check:forbidden_phrase\n",
		"weights from 12 final reviews of 2026-W43..2026-W46 finalised before 2026-11-24T03:00:00Z, check set version 3:\n",
		"  forbidden_phrase  attitude   3   1   0.25\n",
		"  no_greeting       attitude   0   0   1\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("printRun:\n%s\nlacks %q", out.String(), want)
		}
	}
	out.Reset()
	if err := printRun(&out, toppedUpRun(), time.UTC); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "rule order") {
		t.Errorf("a run without check_disagreement shows an order:\n%s", out.String())
	}
}

package main

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	qav1 "qa-sampling/proto/qa/v1"
)

// fakeInfo answers GetServerInfo with zone, or fails with err.
type fakeInfo struct {
	qav1.UnimplementedInfoServiceServer
	zone  string
	err   error
	calls atomic.Int32
}

func (f *fakeInfo) GetServerInfo(context.Context, *qav1.GetServerInfoRequest) (*qav1.GetServerInfoResponse, error) {
	f.calls.Add(1)
	if f.err != nil {
		return nil, f.err
	}
	return &qav1.GetServerInfoResponse{TimeZone: f.zone, ServerVersion: "test"}, nil
}

// startFakeQAWithInfo is startFakeQA with an InfoService beside it.
func startFakeQAWithInfo(t *testing.T, f *fakeQA, info *fakeInfo) string {
	t.Helper()
	return startFakeQA(t, f, func(srv *grpc.Server) { qav1.RegisterInfoServiceServer(srv, info) })
}

// Text output shows times in the programme's zone with its offset, asking
// the server once per command; --json asks nothing and stays UTC.
func TestTextTimesInTheProgrammesZone(t *testing.T) {
	fake := reviewFake()
	acked := feedbackRecord(2)
	acked.AcknowledgedAt, acked.AcknowledgedBy = timestamppb.New(time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)), "sup-1"
	fake.records = []*qav1.FeedbackRecord{acked}
	fake.items[17].Dispute = &qav1.Dispute{Id: 3, ReviewId: 9, Status: "open", OpenedBy: "sup-1", Reason: "late",
		OpenedAt: timestamppb.New(time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC))}
	info := &fakeInfo{zone: "Asia/Shanghai"}
	addr := startFakeQAWithInfo(t, fake, info)

	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"feedback", "list"}, []string{"2   2026-W47  a2     87.50  good   -         2026-11-23 09:00 +08:00\n"}},
		{[]string{"review", "show", "17"}, []string{"opened by sup-1 at 2026-11-20 16:00 +08:00", "+08:00\n"}},
	} {
		before := info.calls.Load()
		res := runQactl(t, "", append([]string{"--addr", addr}, tc.args...)...)
		if res.code != exitOK {
			t.Fatalf("%v: exit %d, stderr:\n%s", tc.args, res.code, res.stderr)
		}
		for _, want := range tc.want {
			if !strings.Contains(res.stdout, want) {
				t.Errorf("%v: output lacks %q:\n%s", tc.args, want, res.stdout)
			}
		}
		if n := info.calls.Load() - before; n != 1 {
			t.Errorf("%v asked for the zone %d times, want once", tc.args, n)
		}
	}

	before := info.calls.Load()
	res := runQactl(t, "", "--addr", addr, "--json", "feedback", "list")
	if res.code != exitOK || !strings.Contains(res.stdout, `"acknowledged_at":"2026-11-23T01:00:00Z"`) {
		t.Errorf("--json: exit %d, stdout %s", res.code, res.stdout)
	}
	if n := info.calls.Load() - before; n != 0 {
		t.Errorf("--json asked for the zone %d times, want never", n)
	}
}

// Without an answer, or with a zone this machine does not know, times are
// in the local zone, still with the offset.
func TestTextTimesFallBackToTheLocalZone(t *testing.T) {
	for name, info := range map[string]*fakeInfo{
		"unavailable":  {err: status.Error(codes.Unavailable, "down")},
		"unknown zone": {zone: "Mars/Olympus_Mons"},
		"no zone":      {},
	} {
		t.Run(name, func(t *testing.T) {
			fake := &fakeQA{}
			acked := feedbackRecord(2)
			acked.AcknowledgedAt, acked.AcknowledgedBy = timestamppb.New(time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)), "sup-1"
			fake.records = []*qav1.FeedbackRecord{acked}
			res := runQactl(t, "", "--addr", startFakeQAWithInfo(t, fake, info), "feedback", "list")
			want := shortTime(acked.GetAcknowledgedAt(), time.Local)
			if res.code != exitOK || !strings.Contains(res.stdout, want+"\n") {
				t.Errorf("exit %d, stdout:\n%s\nwant %q", res.code, res.stdout, want)
			}
		})
	}
}

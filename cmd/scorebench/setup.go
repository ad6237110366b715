package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/timestamppb"

	"qa-sampling/internal/synth"
	"qa-sampling/isoweek"
	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/transcript"
)

// readTokens reads the file the script writes: one "role subject token"
// a line, as `qad token create` made them.
func readTokens(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) == 0 || strings.HasPrefix(fs[0], "#") {
			continue
		}
		if len(fs) != 3 {
			return nil, fmt.Errorf("%s: want \"role subject token\", got %q", path, sc.Text())
		}
		out[fs[0]+"/"+fs[1]] = fs[2]
	}
	return out, sc.Err()
}

// user is one person (or system) with their own connection, as separate
// clients would have.
type user struct {
	subject string
	conn    *grpc.ClientConn
	md      metadata.MD
}

func (u *user) ctx(parent context.Context) context.Context {
	return metadata.NewOutgoingContext(parent, u.md)
}

func dial(addr, subject, token string) (*user, error) {
	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(256<<20)),
	)
	if err != nil {
		return nil, err
	}
	return &user{subject: subject, conn: conn, md: metadata.Pairs("authorization", "Bearer "+token)}, nil
}

func (b *bench) user(role, subject string) (*user, error) {
	tok, ok := b.tokens[role+"/"+subject]
	if !ok {
		return nil, fmt.Errorf("no %s token for %q in %s", role, subject, b.cfg.tokens)
	}
	u, err := dial(b.cfg.addr, subject, tok)
	if err != nil {
		return nil, err
	}
	b.conns = append(b.conns, u.conn)
	return u, nil
}

func inspectorID(i int) string  { return fmt.Sprintf("insp-%02d", i) }
func supervisorID(i int) string { return fmt.Sprintf("sup-%02d", i) }

// supervisorOf gives each supervisor a contiguous block of agents.
func (b *bench) supervisorOf(agent int) int { return agent * b.cfg.supervisors / b.cfg.agents }

// weeks returns the benchmark's weeks, oldest first.
func (b *bench) weekList() []isoweek.Week {
	out := make([]isoweek.Week, b.cfg.weeks)
	w := b.lastWeek
	for i := b.cfg.weeks - 1; i >= 0; i-- {
		out[i] = w
		w = w.Prev()
	}
	return out
}

// setupDirectory registers the agents (all in one team, hired long ago so
// that no new-hire quota applies) and the inspectors.
func (b *bench) setupDirectory(ctx context.Context) error {
	ingest := qav1.NewIngestServiceClient(b.ingest.conn)
	for lo := 0; lo < b.cfg.agents; lo += 500 {
		var as []*qav1.Agent
		for i := lo; i < min(lo+500, b.cfg.agents); i++ {
			as = append(as, &qav1.Agent{
				AgentId: synth.AgentID(i), Name: fmt.Sprintf("客服%04d", i), TeamId: b.cfg.team,
				SupervisorId: supervisorID(b.supervisorOf(i)), HiredOn: "2020-01-01",
			})
		}
		resp, err := ingest.UpsertAgents(b.ingest.ctx(ctx), &qav1.UpsertAgentsRequest{Agents: as})
		if err != nil {
			return fmt.Errorf("UpsertAgents: %w", err)
		}
		for _, r := range resp.GetResults() {
			if r.GetStatus() == qav1.ItemStatus_ITEM_STATUS_REJECTED {
				return fmt.Errorf("agent %s rejected: %s: %s", r.GetId(), r.GetField(), r.GetReason())
			}
		}
	}
	sampling := qav1.NewSamplingServiceClient(b.admin.conn)
	for i := range b.cfg.inspectors {
		id := inspectorID(i)
		if _, err := sampling.UpsertInspector(b.admin.ctx(ctx), &qav1.UpsertInspectorRequest{Inspector: &qav1.Inspector{Id: id, Name: "质检员 " + id}}); err != nil {
			return fmt.Errorf("UpsertInspector %s: %w", id, err)
		}
	}
	return nil
}

func toProto(t *transcript.Transcript) *qav1.Transcript {
	out := &qav1.Transcript{
		ExternalId: t.ExternalID, AgentId: t.AgentID, Channel: t.Channel, CustomerId: t.CustomerID,
		CustomerTier: t.CustomerTier, StartedAt: timestamppb.New(t.StartedAt), EndedAt: timestamppb.New(t.EndedAt),
		Tags: t.Tags, TransferCount: int32(t.TransferCount), Attributes: t.Attributes,
		Messages: make([]*qav1.Message, len(t.Messages)),
	}
	if t.CSAT > 0 {
		c := int32(t.CSAT)
		out.Csat = &c
	}
	for i, m := range t.Messages {
		out.Messages[i] = &qav1.Message{Role: qav1.Role(m.Role), Text: m.Text, SentAt: timestamppb.New(m.SentAt), AgentId: m.AgentID}
	}
	return out
}

// ingestChats pushes chatsMin..chatsMax synthetic chats per agent and
// week through one PushTranscripts stream, in time order with increasing
// ids, as a chat platform's export would arrive.
func (b *bench) ingestChats(ctx context.Context) (int, error) {
	ingest := qav1.NewIngestServiceClient(b.ingest.conn)
	ctx, cancel := context.WithCancel(b.ingest.ctx(ctx))
	defer cancel()
	stream, err := ingest.PushTranscripts(ctx)
	if err != nil {
		return 0, err
	}
	var (
		wg                 sync.WaitGroup
		accepted, rejected int
		firstReject        string
		recvErr            error
	)
	wg.Go(func() {
		for {
			resp, err := stream.Recv()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					recvErr = err
				}
				return
			}
			for _, r := range resp.GetResults() {
				if r.GetStatus() == qav1.ItemStatus_ITEM_STATUS_REJECTED {
					rejected++
					if firstReject == "" {
						firstReject = fmt.Sprintf("%s: %s: %s", r.GetId(), r.GetField(), r.GetReason())
					}
				} else {
					accepted++
				}
			}
		}
	})
	rng := rand.New(rand.NewPCG(b.cfg.seed, 7))
	n := 0
	batch := make([]*qav1.Transcript, 0, 100)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := stream.Send(&qav1.PushTranscriptsRequest{Transcripts: batch})
		batch = make([]*qav1.Transcript, 0, 100)
		return err
	}
	for _, w := range b.weekList() {
		start, end := w.Bounds(b.loc)
		var owners []int
		for a := range b.cfg.agents {
			for range b.cfg.chatsMin + rng.IntN(b.cfg.chatsMax-b.cfg.chatsMin+1) {
				owners = append(owners, a)
			}
		}
		rng.Shuffle(len(owners), func(i, j int) { owners[i], owners[j] = owners[j], owners[i] })
		step := end.Sub(start) / time.Duration(len(owners)+1)
		for k, a := range owners {
			t := synth.Transcript(rng, n, synth.AgentID(a), start.Add(time.Duration(k+1)*step))
			batch = append(batch, toProto(&t))
			n++
			if len(batch) == cap(batch) {
				if err := flush(); err != nil {
					return n, fmt.Errorf("PushTranscripts: %w", err)
				}
			}
		}
	}
	if err := flush(); err != nil {
		return n, fmt.Errorf("PushTranscripts: %w", err)
	}
	if err := stream.CloseSend(); err != nil {
		return n, err
	}
	wg.Wait()
	if recvErr != nil {
		return n, fmt.Errorf("PushTranscripts: %w", recvErr)
	}
	if rejected > 0 {
		return n, fmt.Errorf("%d of %d transcripts rejected, first: %s", rejected, n, firstReject)
	}
	if accepted != n {
		return n, fmt.Errorf("%d results for %d transcripts", accepted, n)
	}
	return n, nil
}

// runWeeks samples each week as admin and returns the picks made and how
// long each run took.
func (b *bench) runWeeks(ctx context.Context) (picks int, took []time.Duration, err error) {
	sampling := qav1.NewSamplingServiceClient(b.admin.conn)
	for _, w := range b.weekList() {
		t0 := time.Now()
		resp, err := sampling.RunWeek(b.admin.ctx(ctx), &qav1.RunWeekRequest{Week: w.String()})
		if err != nil {
			return picks, took, fmt.Errorf("RunWeek %s: %w", w, err)
		}
		took = append(took, time.Since(t0))
		picks += int(resp.GetRun().GetPicks())
		if sf := resp.GetRun().GetShortfalls(); sf > 0 {
			b.logf("week %s: %d agents short of their quota", w, sf)
		}
	}
	return picks, took, nil
}

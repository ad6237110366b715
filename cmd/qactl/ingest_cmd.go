package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"
	"google.golang.org/protobuf/proto"

	"qa-sampling/fielderr"
	"qa-sampling/internal/importfile"
	qav1 "qa-sampling/proto/qa/v1"
)

const (
	// ingestBatchSize is how many transcripts go in one stream message:
	// enough to amortise per-message costs on both ends.
	ingestBatchSize = 64
	// ingestBatchBytes caps a stream message well below gRPC's default 4 MiB
	// limit when transcripts are long.
	ingestBatchBytes = 1 << 20
	// maxTranscriptBytes keeps one transcript, alone in its stream message,
	// under gRPC's default 4 MiB message limit: over it the server would
	// fail the whole stream, so such a line is rejected here instead.
	maxTranscriptBytes = 4<<20 - 16<<10
)

func newIngestCommand(opts *globalOptions) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "ingest --file transcripts.jsonl",
		Short: "Push transcripts from a JSON Lines file",
		Long: "Streams transcripts to the server, one JSON object per line:\n" +
			`  {"external_id": "c-1", "agent_id": "a1", "channel": "chat", "customer_id": "u9", "customer_tier": "vip",` + "\n" +
			`   "started_at": "2026-10-05T10:00:00+08:00", "ended_at": "2026-10-05T10:12:00+08:00",` + "\n" +
			`   "messages": [{"role": "customer", "text": "...", "sent_at": "2026-10-05T10:00:05+08:00"}],` + "\n" +
			`   "tags": ["refund"], "csat": 4, "transfer_count": 0, "attributes": {"order_id": "o-77"}}` + "\n" +
			"Blank lines are skipped; an unknown field rejects its line. Each rejected line is\n" +
			"reported as \"line N: field: reason\" on standard error. Exit status: 0 all stored,\n" +
			"1 some lines rejected, 2 unreadable input, 3 connection or RPC failure.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in, size, closeInput, err := openInput(file, cmd.InOrStdin())
			if err != nil {
				return err
			}
			defer closeInput()
			conn, err := opts.dial()
			if err != nil {
				return err
			}
			defer func() { _ = conn.Close() }()

			stderr := cmd.ErrOrStderr()
			ing := &ingestRun{client: qav1.NewIngestServiceClient(conn), stderr: stderr}
			if isTerminal(stderr) {
				ing.bar, ing.barShowsBytes = newIngestProgressBar(stderr, size)
			}
			start := time.Now()
			pushErr := ing.push(cmd.Context(), newLineReader(in))
			ing.finishProgress()
			summaryErr := printIngestSummary(cmd.OutOrStdout(), opts.json, ing.counts, time.Since(start))
			if pushErr != nil {
				printError(stderr, pushErr)
				if n := ing.pending.unanswered(); n > 0 {
					_, _ = fmt.Fprintf(stderr, "qactl: %d transcripts were sent but not confirmed; pushing them again is safe\n", n)
				}
				code := exitRPC
				if errors.As(pushErr, new(inputError)) {
					code = exitUsage
				}
				return exitError{code}
			}
			if summaryErr != nil {
				return summaryErr
			}
			if ing.counts.Rejected > 0 {
				return exitError{exitRejected}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", `JSON Lines file of transcripts ("-" for standard input)`)
	_ = cmd.MarkFlagRequired("file")
	return cmd
}

// ingestCounts is the outcome of an ingest, counted per line.
type ingestCounts struct {
	Accepted    int64 `json:"accepted"`
	Updated     int64 `json:"updated"`
	Unchanged   int64 `json:"unchanged"`
	KeptSampled int64 `json:"kept_sampled"`
	Rejected    int64 `json:"rejected"`
}

func (c ingestCounts) total() int64 {
	return c.Accepted + c.Updated + c.Unchanged + c.KeptSampled + c.Rejected
}

func printIngestSummary(w io.Writer, asJSON bool, c ingestCounts, elapsed time.Duration) error {
	rate := 0.0
	if elapsed > 0 {
		rate = float64(c.total()) / elapsed.Seconds()
	}
	if asJSON {
		return json.NewEncoder(w).Encode(struct {
			ingestCounts
			ElapsedSeconds float64 `json:"elapsed_seconds"`
			PerSecond      float64 `json:"transcripts_per_second"`
		}{c, elapsed.Seconds(), rate})
	}
	_, err := fmt.Fprintf(w, "%d accepted, %d updated, %d unchanged, %d kept (already sampled), %d rejected in %v (%.0f transcripts/s)\n",
		c.Accepted, c.Updated, c.Unchanged, c.KeptSampled, c.Rejected, elapsed.Round(time.Millisecond), rate)
	return err
}

// ingestRun is one PushTranscripts stream: a sender goroutine parses lines
// and sends batches, a receiver goroutine counts the server's answers.
type ingestRun struct {
	client  qav1.IngestServiceClient
	pending pendingItems

	// mu guards what both goroutines report to: the counts, stderr and the
	// progress bar.
	mu     sync.Mutex
	counts ingestCounts
	stderr io.Writer
	bar    *progressbar.ProgressBar // nil when stderr is not a terminal
	// barShowsBytes: the bar counts bytes of a known size, not lines.
	barShowsBytes bool
}

// errStreamEnded is the sender's word for "Send failed because the stream is
// over"; the reason is what the receiver gets.
var errStreamEnded = errors.New("stream ended")

// inputError is a failure to read the input, not the server's: it exits
// with exitUsage, everything else push returns with exitRPC.
type inputError struct{ err error }

func (e inputError) Error() string { return e.err.Error() }
func (e inputError) Unwrap() error { return e.err }

func (r *ingestRun) push(ctx context.Context, in *lineReader) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := r.client.PushTranscripts(ctx)
	if err != nil {
		return err
	}
	sendDone := make(chan error, 1)
	go func() {
		err := r.send(stream, in)
		if err != nil && !errors.Is(err, errStreamEnded) {
			cancel() // abandon the stream: the input is broken
		}
		sendDone <- err
	}()
	recvErr := r.receive(stream)
	if recvErr != nil {
		cancel() // unblocks a sender waiting on flow control
	}
	sendErr := <-sendDone

	switch {
	case sendErr != nil && !errors.Is(sendErr, errStreamEnded):
		return sendErr // the receiver's error is only the cancellation
	case recvErr != nil:
		return recvErr
	}
	if n := r.pending.unanswered(); n > 0 {
		return fmt.Errorf("server ended the stream without answering %d transcripts", n)
	}
	return nil
}

// send reads, parses and sends every line, then half-closes the stream.
func (r *ingestRun) send(stream qav1.IngestService_PushTranscriptsClient, in *lineReader) error {
	var parser importfile.TranscriptParser
	var batch []*qav1.Transcript
	var lines []int
	batchBytes := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		// Recorded before sending: the answer may arrive before Send returns.
		r.pending.add(lines)
		err := stream.Send(&qav1.PushTranscriptsRequest{Transcripts: batch})
		// Fresh slices: a sent message is not ours to modify.
		batch, lines, batchBytes = nil, nil, 0
		r.showProgress(in)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return errStreamEnded
			}
			return err
		}
		return nil
	}
	for {
		data, err := in.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if lerr := (*fielderr.Error)(nil); errors.As(err, &lerr) {
			r.reject(in.number, lerr.First().Field, lerr.First().Reason)
			continue
		}
		if err != nil {
			return inputError{fmt.Errorf("read input: %w", err)}
		}
		if isBlank(data) {
			continue
		}
		t, lerr := parser.Parse(data)
		if lerr == nil && len(data) > maxTranscriptBytes {
			lerr = checkTranscriptSize(t)
		}
		if lerr != nil {
			r.reject(in.number, lerr.First().Field, lerr.First().Reason)
			continue
		}
		if len(batch) > 0 && batchBytes+len(data) > ingestBatchBytes {
			if err := flush(); err != nil {
				return err
			}
		}
		if batch == nil {
			batch = make([]*qav1.Transcript, 0, ingestBatchSize)
			lines = make([]int, 0, ingestBatchSize)
		}
		batch = append(batch, t)
		lines = append(lines, in.number)
		batchBytes += len(data)
		// Waiting for a full batch would stall a slow producer on stdin.
		if len(batch) == ingestBatchSize || batchBytes >= ingestBatchBytes || in.inputWouldBlock() {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	r.showProgress(in)
	if err := stream.CloseSend(); err != nil {
		return errStreamEnded
	}
	return nil
}

// checkTranscriptSize rejects a transcript too large for one gRPC message.
// Only long lines are checked: the encoded form is smaller than the JSON.
func checkTranscriptSize(t *qav1.Transcript) *fielderr.Error {
	if size := proto.Size(t); size > maxTranscriptBytes {
		return importfile.LineError("messages", fmt.Sprintf("transcript encodes to %d bytes, over the 4 MiB gRPC message limit", size))
	}
	return nil
}

// receive counts results until the server ends the stream.
func (r *ingestRun) receive(stream qav1.IngestService_PushTranscriptsClient) error {
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, result := range resp.GetResults() {
			line, found, err := r.pending.resolve(result.GetIndex())
			if err != nil {
				return err
			}
			if found {
				r.count(line, result)
			}
		}
	}
}

func (r *ingestRun) count(line int, result *qav1.ItemResult) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch result.GetStatus() {
	case qav1.ItemStatus_ITEM_STATUS_ACCEPTED:
		r.counts.Accepted++
	case qav1.ItemStatus_ITEM_STATUS_UPDATED:
		r.counts.Updated++
	case qav1.ItemStatus_ITEM_STATUS_UNCHANGED:
		r.counts.Unchanged++
	case qav1.ItemStatus_ITEM_STATUS_KEPT_SAMPLED:
		r.counts.KeptSampled++
	default:
		reason := result.GetReason()
		if result.GetStatus() != qav1.ItemStatus_ITEM_STATUS_REJECTED && reason == "" {
			reason = "server answered with status " + result.GetStatus().String()
		}
		r.rejectLocked(line, result.GetField(), reason)
	}
}

func (r *ingestRun) reject(line int, field, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rejectLocked(line, field, reason)
}

func (r *ingestRun) rejectLocked(line int, field, reason string) {
	r.counts.Rejected++
	if r.bar != nil {
		_ = r.bar.Clear() // redrawn on the next update
	}
	printRejection(r.stderr, line, field, reason)
}

func (r *ingestRun) showProgress(in *lineReader) {
	if r.bar == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.barShowsBytes {
		_ = r.bar.Set64(in.bytesRead)
	} else {
		_ = r.bar.Set64(int64(in.number))
	}
}

func (r *ingestRun) finishProgress() {
	if r.bar == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	// Cleared rather than finished: after a failure a full bar would lie.
	_ = r.bar.Clear()
	_ = r.bar.Exit()
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// newIngestProgressBar shows bytes read of size, or a line counter when the
// size is unknown (stdin); showsBytes says which.
func newIngestProgressBar(w io.Writer, size int64) (bar *progressbar.ProgressBar, showsBytes bool) {
	common := []progressbar.Option{
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("ingest"),
		progressbar.OptionThrottle(100 * time.Millisecond),
		// No background spinner: every update then happens under ingestRun.mu.
		progressbar.OptionSetSpinnerChangeInterval(0),
	}
	if size > 0 {
		return progressbar.NewOptions64(size, append(common,
			progressbar.OptionShowBytes(true),
			progressbar.OptionSetWidth(30),
		)...), true
	}
	return progressbar.NewOptions64(-1, append(common,
		progressbar.OptionSetItsString("lines"),
		progressbar.OptionShowIts(),
		progressbar.OptionShowCount(),
	)...), false
}

// pendingItems maps stream positions of sent transcripts back to their line
// numbers until the server has answered them.
type pendingItems struct {
	mu      sync.Mutex
	batches []*sentBatch // in stream order; fully answered ones are dropped from the front
	sent    int64        // stream position of the next transcript to send
}

type sentBatch struct {
	start    int64 // stream position of the first transcript
	lines    []int
	answered []bool
	left     int
}

func (p *pendingItems) add(lines []int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.batches = append(p.batches, &sentBatch{start: p.sent, lines: lines, answered: make([]bool, len(lines)), left: len(lines)})
	p.sent += int64(len(lines))
}

// resolve marks the transcript at index answered and returns its line.
// found is false for a repeated answer, which counts once; an index never
// sent is an error.
func (p *pendingItems) resolve(index int64) (line int, found bool, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if index < 0 || index >= p.sent {
		return 0, false, fmt.Errorf("server answered item %d, but only %d were sent", index, p.sent)
	}
	i := sort.Search(len(p.batches), func(i int) bool {
		b := p.batches[i]
		return b.start+int64(len(b.lines)) > index
	})
	if i == len(p.batches) || p.batches[i].start > index {
		return 0, false, nil // its batch is fully answered already
	}
	b := p.batches[i]
	offset := index - b.start
	if b.answered[offset] {
		return 0, false, nil
	}
	b.answered[offset] = true
	b.left--
	for len(p.batches) > 0 && p.batches[0].left == 0 {
		p.batches[0] = nil
		p.batches = p.batches[1:]
	}
	return b.lines[offset], true, nil
}

// unanswered counts transcripts sent without an answer yet.
func (p *pendingItems) unanswered() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	var n int64
	for _, b := range p.batches {
		n += int64(b.left)
	}
	return n
}

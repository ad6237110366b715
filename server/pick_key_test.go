package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"testing"

	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/sampler"
	"qa-sampling/store"
)

// opensslKey is what the README's recomputation prints, cut to the key's
// 16 digits: `printf %s ID | openssl dgst -sha256 -mac HMAC -macopt hexkey:SEED`.
func opensslKey(seed []byte, externalID string) string {
	mac := hmac.New(sha256.New, seed)
	mac.Write([]byte(externalID))
	return hex.EncodeToString(mac.Sum(nil))[:16]
}

// Keys are shown at fixed width: a key whose first digit is 0 was shown
// as 15 digits (61c98afaafbd641 for openssl's 061c98afaafbd641…), so it
// did not match the README's recomputation as a string.
func TestPickKeysAreShownAsOpensslPrintsThem(t *testing.T) {
	seed := []byte("a seed of at least sixteen bytes")
	id := ""
	for i := 0; id == ""; i++ {
		if candidate := "conv-" + strconv.Itoa(i); opensslKey(seed, candidate)[0] == '0' {
			id = candidate
		}
	}
	want := opensslKey(seed, id)
	if got := pickToProto(store.Pick{ExternalID: id, Key: sampler.Key(seed, id)}).GetKey(); got != want {
		t.Errorf("pick %s: key %q, openssl prints %q", id, got, want)
	}

	// And every key a run shows, under the run's seed.
	e := startScoring(t, DefaultConfig())
	sampling := qav1.NewSamplingServiceClient(e.conn)
	picks, err := sampling.ListPicks(e.admin, &qav1.ListPicksRequest{Week: flowWeek})
	if err != nil || len(picks.GetPicks()) == 0 {
		t.Fatalf("ListPicks: %v, %d picks", err, len(picks.GetPicks()))
	}
	for _, p := range picks.GetPicks() {
		run, err := sampling.GetRun(e.admin, &qav1.GetRunRequest{Id: p.GetRunId()})
		if err != nil {
			t.Fatal(err)
		}
		runSeed, err := hex.DecodeString(run.GetRun().GetSeed())
		if err != nil {
			t.Fatal(err)
		}
		if want := opensslKey(runSeed, p.GetExternalId()); p.GetKey() != want {
			t.Errorf("pick %s: key %q, openssl prints %q", p.GetExternalId(), p.GetKey(), want)
		}
	}
}

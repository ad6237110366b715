package server

import "testing"

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func TestFeedbackHubWakesOnlyTheRecordsSupervisor(t *testing.T) {
	h := newFeedbackHub()
	a, b, all := h.wait("sup-a"), h.wait("sup-b"), h.wait("")
	if h.wait("sup-a") != a {
		t.Fatal("two streams of one supervisor should share a channel")
	}
	h.published("sup-b")
	if isClosed(a) {
		t.Error("a record for sup-b woke sup-a's streams")
	}
	if !isClosed(b) || !isClosed(all) {
		t.Error("a record for sup-b did not wake sup-b's and the unfiltered streams")
	}
	if isClosed(h.wait("sup-b")) || isClosed(h.wait("")) {
		t.Error("channels taken after the wake-up are already closed")
	}
	h.published("sup-a")
	if !isClosed(a) {
		t.Error("a record for sup-a did not wake sup-a's streams")
	}
}

func TestFeedbackHubPollWakesEveryStreamOnNews(t *testing.T) {
	h := newFeedbackHub()
	a, all := h.wait("sup-a"), h.wait("")
	h.polledUpTo(0)
	if isClosed(a) || isClosed(all) {
		t.Fatal("a poll that found nothing new woke streams")
	}
	h.polledUpTo(7)
	if !isClosed(a) || !isClosed(all) {
		t.Fatal("a poll that found new records did not wake every stream")
	}
	a = h.wait("sup-a")
	h.polledUpTo(7)
	if isClosed(a) {
		t.Error("the same poll result woke streams twice")
	}
}

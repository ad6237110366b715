package sampler

import (
	"fmt"
	"slices"
	"testing"
)

// TestValueIndexRemembersUnfoldedLookups: a value that needs folding
// answers the same from memory as folded afresh, members and non-members
// alike, and memory stops growing at maxUnfolded values while lookups
// beyond it still answer right.
func TestValueIndexRemembersUnfoldedLookups(t *testing.T) {
	var ix valueIndex
	complaint := ix.add([]string{"投诉", "Complaint"})
	vip := ix.add([]string{"vip", "ＶＩＰ"})
	ix.build()
	fresh := func(s string) []uint64 { // what lookup answers without memory
		f := fold(s)
		if !ix.mayHold(len(f)) {
			return nil
		}
		return ix.members[f]
	}
	var f folder
	values := []string{"VIP", "ｖｉｐ", "Vip", "投诉", "COMPLAINT", "Gold", "退款", "vip", "complaint", "regular"}
	for round := range 3 {
		for _, v := range values {
			if got, want := ix.lookup(&f, v), fresh(v); !slices.Equal(got, want) {
				t.Fatalf("round %d: lookup(%q) = %v, want %v", round, v, got, want)
			}
		}
	}
	if !inSet(ix.lookup(&f, "ＶＩＰ"), vip) || !inSet(ix.lookup(&f, "投诉"), complaint) || ix.lookup(&f, "Gold") != nil {
		t.Fatal("members not found, or a non-member found")
	}
	for i := range maxUnfolded + 100 {
		v := fmt.Sprintf("Tag-%d", i)
		if ix.lookup(&f, v) != nil {
			t.Fatalf("lookup(%q) found a set", v)
		}
	}
	if len(ix.unfolded) != maxUnfolded {
		t.Fatalf("%d values remembered, want at most %d", len(ix.unfolded), maxUnfolded)
	}
	if !inSet(ix.lookup(&f, "COMPLAINT"), complaint) || !inSet(ix.lookup(&f, "Ｖip"), vip) {
		t.Fatal("lookups wrong once memory is full")
	}
}

package redact_test

import (
	"testing"

	"qa-sampling/internal/stardata"
	"qa-sampling/redact"
)

// TestSTARChats runs the real STAR service chats (testdata/star: English,
// bank, hotel, ride-hailing … with account numbers, PINs, prices, times and
// dates) through redaction: nothing in them is a mainland phone, ID card,
// card number or e-mail address, so nothing may change.
func TestSTARChats(t *testing.T) {
	ds, err := stardata.LoadSubset()
	if err != nil {
		t.Fatal(err)
	}
	messages, withDigits := 0, 0
	for _, d := range ds {
		tr := stardata.Convert(d)
		for _, m := range tr.Messages {
			messages++
			for _, c := range m.Text {
				if c >= '0' && c <= '9' {
					withDigits++
					break
				}
			}
			if got, counts := redact.All.Text(m.Text); got != m.Text {
				t.Errorf("%s: %q → %q (%v)", tr.ExternalID, m.Text, got, counts)
			}
		}
	}
	if messages < 1000 || withDigits < 50 {
		t.Fatalf("only %d messages, %d with digits: not the corpus", messages, withDigits)
	}
	t.Logf("%d messages, %d with digits, none changed", messages, withDigits)
}

// TestSyntheticShopChats: qagen's Chinese e-commerce chats hold order
// numbers (DD + 16 digits), tracking numbers (SF, YT, ZTO, JD + 12
// digits), tickets, coupons, SKUs, amounts, dates, addresses and masked
// phones (166****9934); none of it is redacted. With a phone, ID card and
// card added to every fifth chat, exactly those are.
func TestSyntheticShopChats(t *testing.T) {
	key := testKey(t)
	for _, tr := range plainChats(t, 3000) {
		// Every field: customer ids (U and nine digits), tags, keys too.
		before := tr.CustomerID
		if fc := redact.All.Transcript(&tr, key); fc.Total().Total() != 0 || tr.CustomerID != before {
			t.Fatalf("%s: %v replaced in a chat without personal data (customer id %q → %q)", tr.ExternalID, fc, before, tr.CustomerID)
		}
		for _, m := range tr.Messages {
			if got, _ := redact.All.Text(m.Text); got != m.Text {
				t.Fatalf("%s: %q → %q", tr.ExternalID, m.Text, got)
			}
		}
		for k, v := range tr.Attributes {
			if got, _ := redact.All.Labeled(k, v); got != v {
				t.Fatalf("%s: attribute %s %q → %q", tr.ExternalID, k, v, got)
			}
		}
	}
	var total redact.Counts
	added := 0
	for i, tr := range chats(t, 3000) {
		if i%5 == 0 && len(tr.Messages) > 2 {
			added++
		}
		fc := redact.All.Transcript(&tr, key)
		total.Add(fc.Total())
	}
	if want := (redact.Counts{added, 0, added, added, 0}); total != want {
		t.Errorf("counts %v, want %v", total, want)
	}
}

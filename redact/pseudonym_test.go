package redact_test

import (
	"bytes"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"qa-sampling/redact"
	"qa-sampling/transcript"
)

func testKey(tb testing.TB) *redact.Key {
	tb.Helper()
	key, err := redact.NewKey(bytes.Repeat([]byte("k3y"), 11))
	if err != nil {
		tb.Fatal(err)
	}
	return key
}

// pseudonymOf checks that got is one pseudonym of kind and returns it.
func pseudonymOf(t *testing.T, kind redact.Kind, got string) string {
	t.Helper()
	hash, ok := strings.CutPrefix(got, redact.Placeholders[kind])
	if !ok || len(hash) != 12 || strings.Trim(hash, "abcdefghijklmnop") != "" {
		t.Fatalf("%q is not a %s pseudonym (placeholder and 12 letters a..p)", got, kind)
	}
	return got
}

func TestIDPseudonymisesStably(t *testing.T) {
	key := testKey(t)
	id := func(s string) string {
		t.Helper()
		got, c := redact.All.ID(key, s)
		if c.Total() != 1 {
			t.Fatalf("ID(%q) = %q, %v: want one replacement", s, got, c)
		}
		return got
	}
	phone := pseudonymOf(t, redact.Phone, id("13912345678"))
	// One number written in other ways is one customer.
	for _, same := range []string{"+86 139 1234 5678", "8613912345678", "139-1234-5678", "１３９１２３４５６７８"} {
		if got := id(same); got != phone {
			t.Errorf("ID(%q) = %q, want %q as for 13912345678", same, got, phone)
		}
	}
	// Other numbers, other kinds and other keys give other pseudonyms.
	other, _ := redact.NewKey(bytes.Repeat([]byte("0th3r"), 4))
	if got, _ := redact.All.ID(other, "13912345678"); got == phone {
		t.Errorf("another key gave the same pseudonym %q", got)
	}
	if got := id("13912345679"); got == phone {
		t.Errorf("another number gave the same pseudonym %q", got)
	}
	email := pseudonymOf(t, redact.Email, id("Li.Si@Example.com"))
	if got := id("li.si@example.com"); got != email {
		t.Errorf("e-mail in lower case: %q, want %q", got, email)
	}
	pseudonymOf(t, redact.IDCard, id(idX))
	if got := id(strings.ToLower(idX)); got != id(idX) {
		t.Errorf("ID card with x: %q, want %q", got, id(idX))
	}
	pseudonymOf(t, redact.BankCard, id(cardUP19))
	pseudonymOf(t, redact.Landline, id("010-62345678"))
	// A pseudonym holds no digit and no '@': pseudonymising it again, or
	// redacting it as text, changes nothing.
	for _, p := range []string{phone, email} {
		if got, c := redact.All.ID(key, p); got != p || c.Total() != 0 {
			t.Errorf("ID of the pseudonym %q = %q, %v", p, got, c)
		}
		if got, c := redact.All.Text(p); got != p || c.Total() != 0 {
			t.Errorf("Text of the pseudonym %q = %q, %v", p, got, c)
		}
	}
	// Within a longer id only the number is replaced.
	if got := id("wx:13912345678"); got != "wx:"+phone {
		t.Errorf("wx:13912345678 → %q, want %q", got, "wx:"+phone)
	}
	// Without a key: the bare placeholder.
	if got, _ := redact.All.ID(nil, "13912345678"); got != "〔手机号〕" {
		t.Errorf("ID without a key = %q", got)
	}
	// A kind turned off is not replaced.
	if got, _ := (redact.All &^ (1 << redact.Phone)).ID(key, "13912345678"); got != "13912345678" {
		t.Errorf("phone off: ID = %q", got)
	}
}

// TestIDLeavesCodes: customer ids, tags and channels that are codes,
// order numbers or tracking numbers stay as they are.
func TestIDLeavesCodes(t *testing.T) {
	key := testKey(t)
	for _, code := range []string{
		"U000123456", "U13912345678", "cust-42", "SF1234567890123", "YT1234567890123", "DD2773650732362063",
		"EA123456789CN", "2026112012345678", "20261120", "vip", "complaint", "退款", "400-820-8820", "95588",
		"order_2098765432109876543",
	} {
		if got, c := redact.All.ID(key, code); got != code || c.Total() != 0 {
			t.Errorf("ID(%q) = %q, %v; want it unchanged", code, got, c)
		}
	}
}

// TestTranscriptEveryField pushes personal data in every string field of
// a transcript: text fields get placeholders, grouping fields stable
// pseudonyms, the ids the platform addresses chats and agents by stay,
// order and tracking numbers stay everywhere, and the caller's request is
// untouched.
func TestTranscriptEveryField(t *testing.T) {
	key := testKey(t)
	pushed := func() transcript.Transcript {
		return transcript.Transcript{
			ExternalID: "chat-1", AgentID: "a1", Channel: "chat", CustomerID: "13912345678", CustomerTier: "vip",
			Messages: []transcript.Message{
				{Role: transcript.RoleCustomer, Text: "订单号 2098765432109876543，运单 SF1234567890123，电话 139 1234 5678"},
				{Role: transcript.RoleAgent, AgentID: "a2", Text: "好的"},
			},
			Tags: []string{"complaint", "回访13912345678", "li.si@example.com"},
			Attributes: map[string]string{
				"13912345678":       "vip",
				"+86 139 1234 5678": "老客户",
				"order_id":          "2098765432109876543",
				"tracking_no":       "SF1234567890123",
				"contact":           "身份证 " + idX,
			},
		}
	}
	orig := pushed()
	origMsgs, origTags, origAttrs := slices.Clone(orig.Messages), slices.Clone(orig.Tags), maps.Clone(orig.Attributes)
	tr := orig
	fc := redact.All.Transcript(&tr, key)
	phone, _ := redact.All.ID(key, "13912345678")
	email, _ := redact.All.ID(key, "li.si@example.com")
	pseudonymOf(t, redact.Phone, phone)

	if tr.ExternalID != "chat-1" || tr.AgentID != "a1" || tr.Messages[1].AgentID != "a2" || tr.Channel != "chat" || tr.CustomerTier != "vip" {
		t.Errorf("ids changed: %+v", tr)
	}
	if tr.CustomerID != phone {
		t.Errorf("customer_id %q, want the pseudonym %q", tr.CustomerID, phone)
	}
	if want := "订单号 2098765432109876543，运单 SF1234567890123，电话 〔手机号〕"; tr.Messages[0].Text != want {
		t.Errorf("message %q, want %q", tr.Messages[0].Text, want)
	}
	if want := []string{"complaint", "回访" + phone, email}; !slices.Equal(tr.Tags, want) {
		t.Errorf("tags %q, want %q", tr.Tags, want)
	}
	// The two keys are one number: both values kept, in the order of the
	// pushed keys ("+86…" sorts before "139…").
	wantAttrs := map[string]string{
		phone:         "老客户; vip",
		"order_id":    "2098765432109876543",
		"tracking_no": "SF1234567890123",
		"contact":     "身份证 〔身份证号〕",
	}
	if !maps.Equal(tr.Attributes, wantAttrs) {
		t.Errorf("attributes %q, want %q", tr.Attributes, wantAttrs)
	}
	want := redact.FieldCounts{}
	want[redact.MessageText][redact.Phone] = 1
	want[redact.CustomerID][redact.Phone] = 1
	want[redact.Tag][redact.Phone] = 1
	want[redact.Tag][redact.Email] = 1
	want[redact.AttributeKey][redact.Phone] = 2
	want[redact.AttributeValue][redact.IDCard] = 1
	if fc != want {
		t.Errorf("counts %v, want %v", fc, want)
	}
	if !slices.Equal(orig.Messages, origMsgs) || !slices.Equal(orig.Tags, origTags) || !maps.Equal(orig.Attributes, origAttrs) {
		t.Errorf("the caller's messages, tags or attributes changed")
	}
	// The same push again redacts to the same transcript (idempotent
	// ingest rests on this), map order notwithstanding.
	for range 20 {
		again := pushed()
		redact.All.Transcript(&again, key)
		if !reflect.DeepEqual(again, tr) {
			t.Fatalf("a second redaction differs:\n%+v\n%+v", again, tr)
		}
	}
	// Redaction off stores every field as pushed.
	off := pushed()
	if fc := redact.None.Transcript(&off, key); fc.Total().Total() != 0 || !reflect.DeepEqual(off, pushed()) {
		t.Errorf("redaction off changed %+v (%v)", off, fc)
	}
}

package redact_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"qa-sampling/redact"
	"qa-sampling/transcript"
)

// Valid numbers for the tests: the check characters were computed, none
// belongs to anyone (11010519491231002X is the standard's own example).
const (
	idX      = "11010519491231002X"
	id       = "440306199003074513"
	cardUP19 = "6222021001123456789" // UnionPay, 19 digits, Luhn ok
	cardUP16 = "6217000000123451"
	cardVisa = "4367421234567896"
)

func TestTextReplacesEachKind(t *testing.T) {
	cases := []struct{ in, want string }{
		// Mobile numbers, with country codes and separators.
		{"我的手机号是13812345678，麻烦联系", "我的手机号是〔手机号〕，麻烦联系"},
		{"电话 138 1234 5678 谢谢", "电话 〔手机号〕 谢谢"},
		{"电话138-1234-5678", "电话〔手机号〕"},
		{"+86 138 1234 5678", "〔手机号〕"},
		{"+86-13912345678", "〔手机号〕"},
		{"(+86)13912345678", "〔手机号〕"},
		{"（+86）139 1234 5678", "〔手机号〕"},
		{"8613912345678", "〔手机号〕"},
		{"+8613912345678", "〔手机号〕"},
		{"0086 13912345678", "〔手机号〕"},
		{"打我电话１３８１２３４５６７８", "打我电话〔手机号〕"},
		{"13812345678,13912345678", "〔手机号〕,〔手机号〕"},
		{"13812345678/13912345678", "〔手机号〕/〔手机号〕"},
		{"tel:15000001111。", "tel:〔手机号〕。"},
		// Landlines with area codes.
		{"座机010-62345678", "座机〔座机号〕"},
		{"座机 0755-2345678", "座机 〔座机号〕"},
		{"(021)63456789", "〔座机号〕"},
		{"（0571）8765 4321", "〔座机号〕"},
		{"021 6345 6789", "〔座机号〕"},
		{"01062345678", "〔座机号〕"},
		// Landlines after the country code, the trunk 0 dropped or kept.
		{"座机 +86 10 62345678", "座机 〔座机号〕"},
		{"+86-010-62345678", "〔座机号〕"},
		{"+86 21 6345 6789 转 8", "〔座机号〕 转 8"},
		{"(+86) 0755-2345678", "〔座机号〕"},
		{"0086 10 62345678", "〔座机号〕"},
		{"8601062345678", "〔座机号〕"},
		{"+861062345678", "〔座机号〕"},
		{"+86 13812345678 或 +86 10 62345678", "〔手机号〕 或 〔座机号〕"},
		// ID cards, with X in either case, whole or spaced.
		{"身份证" + idX + "。", "身份证〔身份证号〕。"},
		{"身份证" + strings.ToLower(idX), "身份证〔身份证号〕"},
		{"证件号：" + id, "证件号：〔身份证号〕"},
		{"440306 19900307 4513", "〔身份证号〕"},
		// Bank cards.
		{"卡号" + cardUP19, "卡号〔银行卡号〕"},
		{"退到这张卡 6217 0000 0012 3451 吧", "退到这张卡 〔银行卡号〕 吧"},
		{"visa " + cardVisa, "visa 〔银行卡号〕"},
		{"622202 1001123456789", "〔银行卡号〕"},
		// E-mail.
		{"邮箱 zhang.san+shop@example.com.cn 谢谢", "邮箱 〔邮箱〕 谢谢"},
		{"发到13812345678@qq.com吧", "发到〔邮箱〕吧"},
		{"Mail: Li_Si@163.com.", "Mail: 〔邮箱〕."},
		// Several in one message.
		{"收货人张三 13812345678，身份证" + idX + "，邮箱a@b.cn", "收货人张三 〔手机号〕，身份证〔身份证号〕，邮箱〔邮箱〕"},
	}
	for _, c := range cases {
		got, _ := redact.All.Text(c.in)
		if got != c.want {
			t.Errorf("Text(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

// Long digit strings that are not personal data stay as they are.
func TestTextLeavesOrderNumbersAmountsAndDates(t *testing.T) {
	keep := []string{
		// Tracking numbers: glued to the carrier's letters, or too short or
		// long for any kind.
		"顺丰单号SF1234567890123，明天到",
		"圆通 YT7512345678901 已揽收",
		"中通快递 75312345678901",
		"韵达 4312345678901 在派送",
		"EMS EA123456789CN",
		"京东物流 JDVA12345678901",
		"极兔 JT5012345678901",
		// Order numbers: 12–20 digits that fail the checks, or say they are
		// order numbers.
		"订单号：2098765432109876543",
		"订单号 1234567890123456",
		"订单编号 123456789012345678",
		"您的订单 231215-123456789012345 已发货",
		"订单号4367421234567896已退款", // passes Luhn, but an order says it is one
		"运单 6217000000123451",
		"京东订单 287654321098",
		"order id 6222021001123456789",
		// Amounts, dates, times, quantities.
		"实付 ¥1999.00，优惠 20.5 元",
		"共 3 件，合计 12345.67 元",
		"2024-01-15 14:30:22 下单，预计 2024年1月18日 送达",
		"2024/01/15 13:05",
		"时间戳 1700000000000",
		"400-820-8820 是官方客服热线",
		"95588 是工行客服",
		"SKU-123456-BLK",
		"优惠券 CP1A2B3C4D",
		"已打款 13812.34 元",
		// 15-digit old ID numbers and bare 8-digit local numbers are too
		// ambiguous to redact.
		"62345678",
		// 86… runs that are not a landline after the country code: no
		// trunk 0 and no '+', an order word, or the wrong length.
		"861062345678",
		"订单号 8601062345678",
		"86010623456789",
		"86 10 62345678",
	}
	for _, in := range keep {
		got, counts := redact.All.Text(in)
		if got != in {
			t.Errorf("Text(%q) = %q, want it unchanged (counts %v)", in, got, counts)
		}
	}
}

func TestTextNearMissesOfEachKind(t *testing.T) {
	keep := []string{
		"12812345678",         // 12 is no mobile prefix
		"138123456789",        // 12 digits
		"1381234567",          // 10 digits
		"11010519491231002Y",  // Y is no check character
		"110105194912310021",  // wrong check digit
		"110105194913310028",  // month 13
		"6222021001123456788", // Luhn fails
		"1234567812345670",    // Luhn ok, but 1 is no card scheme
		"a13812345678",        // part of a word
		"13812345678abc",      // part of a word
		"user@localhost",      // no dot in the domain
		"@13812345678 是群昵称",   // at-mention: the number is still a phone
	}
	for _, in := range keep[:len(keep)-1] {
		if got, _ := redact.All.Text(in); got != in {
			t.Errorf("Text(%q) = %q, want it unchanged", in, got)
		}
	}
	if got, _ := redact.All.Text(keep[len(keep)-1]); got != "@〔手机号〕 是群昵称" {
		t.Errorf("at-mention: %q", got)
	}
}

func TestSetLimitsKinds(t *testing.T) {
	in := "手机13812345678 座机010-62345678 身份证" + idX + " 卡" + cardUP19 + " 邮箱 a@b.cn"
	s, err := redact.ParseSet("phone,email")
	if err != nil {
		t.Fatal(err)
	}
	got, counts := s.Text(in)
	want := "手机〔手机号〕 座机010-62345678 身份证" + idX + " 卡" + cardUP19 + " 邮箱 〔邮箱〕"
	if got != want {
		t.Errorf("phone,email: %q", got)
	}
	if counts != (redact.Counts{1, 0, 0, 0, 1}) {
		t.Errorf("counts %v", counts)
	}
	_, counts = redact.All.Text(in)
	if counts != (redact.Counts{1, 1, 1, 1, 1}) {
		t.Errorf("all: counts %v", counts)
	}
	if got, counts := redact.None.Text(in); got != in || counts.Total() != 0 {
		t.Errorf("none changed the text: %q", got)
	}
}

func TestParseSet(t *testing.T) {
	for spec, want := range map[string]redact.Set{"all": redact.All, "none": redact.None, "": redact.None,
		"phone, landline,id_card,bank_card,email": redact.All} {
		got, err := redact.ParseSet(spec)
		if err != nil || got != want {
			t.Errorf("ParseSet(%q) = %v, %v", spec, got, err)
		}
		if again, _ := redact.ParseSet(got.String()); again != got {
			t.Errorf("String of %q does not parse back: %q", spec, got.String())
		}
	}
	if _, err := redact.ParseSet("phone,passport"); err == nil || !strings.Contains(err.Error(), `"passport"`) {
		t.Errorf("unknown kind: %v", err)
	}
}

func TestLabeledUsesTheKeyAsContext(t *testing.T) {
	if got, _ := redact.All.Labeled("order_id", cardVisa); got != cardVisa {
		t.Errorf("order_id: %q", got)
	}
	if got, _ := redact.All.Labeled("refund_card", cardVisa); got != "〔银行卡号〕" {
		t.Errorf("refund_card: %q", got)
	}
	if got, _ := redact.All.Labeled("order_phone", "13812345678"); got != "〔手机号〕" {
		t.Errorf("a phone under an order key is still a phone: %q", got)
	}
}

func TestTextWithoutDigitsDoesNotAllocate(t *testing.T) {
	in := "您好，感谢联系客服，我是客服小王，很高兴为您服务"
	if n := testing.AllocsPerRun(100, func() { redact.All.Text(in) }); n != 0 {
		t.Errorf("%v allocations", n)
	}
}

// Redaction is idempotent, never grows a digit run into the text, keeps
// valid UTF-8, and leaves no detected number behind.
func FuzzText(f *testing.F) {
	for _, s := range []string{"我的手机号是13812345678", "+86 138 1234 5678", idX, "卡号 6217 0000 0012 3451",
		"订单号：2098765432109876543", "a@b.cn", "（0571）8765 4321", "SF1234567890123", "13812345678x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		once, counts := redact.All.Text(in)
		twice, again := redact.All.Text(once)
		if twice != once {
			t.Fatalf("not idempotent: %q → %q → %q", in, once, twice)
		}
		if again.Total() != 0 {
			t.Fatalf("second pass found %v in %q", again, once)
		}
		if utf8.ValidString(in) && !utf8.ValidString(once) {
			t.Fatalf("invalid UTF-8 out of %q: %q", in, once)
		}
		if counts.Total() == 0 && once != in {
			t.Fatalf("changed without counting: %q → %q", in, once)
		}
	})
}

func TestNumberAfterAJoinedFigure(t *testing.T) {
	in := "2024-01-15 13812345678 回电"
	if got, _ := redact.All.Text(in); got != "2024-01-15 〔手机号〕 回电" {
		t.Errorf("%q", got)
	}
}

// Digits in every position of an eight-byte word, and full-width ones
// straddling words, are all found.
func TestDigitsAtEveryOffset(t *testing.T) {
	for pad := range 9 {
		for _, phone := range []string{"13812345678", "１３８１２３４５６７８"} {
			in := strings.Repeat("好", pad/3) + strings.Repeat("a", pad%3) + " " + phone + " 谢谢"
			got, c := redact.All.Text(in)
			if c[redact.Phone] != 1 || strings.Contains(got, "8") || strings.Contains(got, "８") {
				t.Errorf("pad %d: %q", pad, got)
			}
		}
	}
}

func TestTranscriptCopiesOnWrite(t *testing.T) {
	msgs := []transcript.Message{{Role: transcript.RoleCustomer, Text: "电话13812345678"}, {Role: transcript.RoleAgent, Text: "好的"}}
	attrs := map[string]string{"contact": "a@b.cn", "region": "华东"}
	tr := transcript.Transcript{Messages: msgs, Attributes: attrs}
	fc := redact.All.Transcript(&tr, testKey(t))
	if fc[redact.MessageText] != (redact.Counts{1, 0, 0, 0, 0}) || fc[redact.AttributeValue] != (redact.Counts{0, 0, 0, 0, 1}) || fc.Total() != (redact.Counts{1, 0, 0, 0, 1}) {
		t.Errorf("counts %v", fc)
	}
	if tr.Messages[0].Text != "电话〔手机号〕" || tr.Attributes["contact"] != "〔邮箱〕" || tr.Attributes["region"] != "华东" {
		t.Errorf("redacted %+v", tr)
	}
	if msgs[0].Text != "电话13812345678" || attrs["contact"] != "a@b.cn" {
		t.Errorf("the caller's messages or attributes changed: %v %v", msgs, attrs)
	}
}

// TestFullWidthAtSign: an address typed with a Chinese input method's
// full-width ＠ is an e-mail address too, in text and in ids (where it is
// one customer with the ASCII spelling); a lone ＠ or one without a domain
// is left, and an ASCII address after a full-width near miss is still
// found.
func TestFullWidthAtSign(t *testing.T) {
	for in, want := range map[string]string{
		"发票发 li.si＠example.com 谢谢":              "发票发 〔邮箱〕 谢谢",
		"li.si＠example.com，备用 zhao@example.net": "〔邮箱〕，备用 〔邮箱〕",
		"zhao@example.net，备用 li.si＠example.com": "〔邮箱〕，备用 〔邮箱〕",
		"＠客服 在吗，发 li@example.cn":                "＠客服 在吗，发 〔邮箱〕",
		"li＠localhost 和 ＠":                      "li＠localhost 和 ＠",
	} {
		if got, _ := redact.All.Text(in); got != want {
			t.Errorf("Text(%q) = %q, want %q", in, got, want)
		}
	}
	key, err := redact.NewKey([]byte("0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	ascii, _ := redact.All.ID(key, "li.si@example.com")
	full, c := redact.All.ID(key, "Li.Si＠Example.com")
	if c[redact.Email] != 1 || full != ascii {
		t.Errorf("ID with ＠ = %q (%v), want %q as with @", full, c, ascii)
	}
}

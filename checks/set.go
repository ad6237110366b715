package checks

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"qa-sampling/fielderr"
)

// The checks, by API name. Their order is their bit in a transcript's
// check flags (transcript.Checks.Flags), which are stored: append new
// checks, never reorder.
const (
	SlowFirstResponse = "slow_first_response"
	SlowReply         = "slow_reply"
	NoGreeting        = "no_greeting"
	NoClosing         = "no_closing"
	ForbiddenPhrase   = "forbidden_phrase"
	NoEmpathy         = "no_empathy"
)

// Keys lists every check; Keys[i] is bit i of the flags.
var Keys = []string{SlowFirstResponse, SlowReply, NoGreeting, NoClosing, ForbiddenPhrase, NoEmpathy}

// Bit returns the flag bit of check key, and false for an unknown key.
func Bit(key string) (uint64, bool) {
	i := slices.Index(Keys, key)
	if i < 0 {
		return 0, false
	}
	return 1 << i, true
}

// flagNames[mask] lists the keys of mask's bits, shared by all callers.
var flagNames = func() [][]string {
	out := make([][]string, 1<<len(Keys))
	for mask := range out {
		for i, k := range Keys {
			if mask&(1<<i) != 0 {
				out[mask] = append(out[mask], k)
			}
		}
	}
	return out
}()

// FlagNames returns the keys of the checks whose bits are set in flags,
// in Keys order. The slice is shared: callers must not modify it.
func FlagNames(flags uint64) []string {
	return flagNames[flags&(1<<len(Keys)-1)]
}

// Limits of a check set, so that one document cannot make every ingest
// slow.
const (
	MaxPhrases      = 2000
	MaxPhraseRunes  = 64
	MaxChannels     = 64
	MaxSLASeconds   = 30 * 24 * 3600
	maxHitsPerCheck = 10
)

// ChannelSLA is the response-time limit on one channel; 0 leaves that
// limit unchecked.
type ChannelSLA struct {
	Channel              string `json:"channel"`
	FirstResponseSeconds int64  `json:"first_response_seconds"`
	ReplySeconds         int64  `json:"reply_seconds"`
}

// Set is one version of the checks' configuration. The store keeps it as
// JSON, versioned like sampling policies.
type Set struct {
	// Version is assigned by the store; 0 for a set not stored yet.
	Version int64 `json:"version,omitempty"`
	// SLA per channel; channels not listed (phone, where message times
	// mean little) have no SLA checks.
	SLA []ChannelSLA `json:"sla"`
	// GreetingPhrases: the first agent message must contain one (开场白).
	GreetingPhrases []string `json:"greeting_phrases"`
	// ClosingPhrases: one of the last two agent messages must contain
	// one (结束语).
	ClosingPhrases []string `json:"closing_phrases"`
	// ForbiddenPhrases: abuse, slang, dismissive phrases and absolute
	// promises that no agent message may contain.
	ForbiddenPhrases []string `json:"forbidden_phrases"`
	// AllowedPhrases are exceptions: a forbidden phrase inside one of
	// them does not count (保证金 contains 保证, 绝对值 绝对).
	AllowedPhrases []string `json:"allowed_phrases"`
	// EmpathyPhrases: in a complaint, some agent message must contain one.
	EmpathyPhrases []string `json:"empathy_phrases"`
	// ComplaintTags mark a complaint for no_empathy, compared as the
	// sampling policy compares tags (case- and width-insensitively).
	ComplaintTags []string `json:"complaint_tags"`
	// Disabled lists checks that do not run.
	Disabled []string `json:"disabled,omitempty"`
	// Dimensions maps a check to the rubric dimension whose rating it is
	// compared with (the agreement report); checks not listed take
	// DefaultDimensions'.
	Dimensions map[string]string `json:"dimensions,omitempty"`
}

// DefaultDimensions maps each check to the rubric dimension of the
// default rubric it speaks for: the phrases to service attitude, the
// SLAs to resolution efficiency.
var DefaultDimensions = map[string]string{
	SlowFirstResponse: "efficiency", SlowReply: "efficiency",
	NoGreeting: "attitude", NoClosing: "attitude", ForbiddenPhrase: "attitude", NoEmpathy: "attitude",
}

// Dimension returns the rubric dimension check key maps to under s.
func (s *Set) Dimension(key string) string {
	if d, ok := s.Dimensions[key]; ok {
		return d
	}
	return DefaultDimensions[key]
}

// ValidateDimensions reports, naming the field dimensions.<check>, each
// check whose dimension is not one of the rubric's (dimensions), so that
// a renamed dimension is caught when the set is saved rather than
// showing as a check nobody ever rated.
func (s *Set) ValidateDimensions(dimensions []string) error {
	var errs fielderr.List
	for _, k := range Keys {
		if d := s.Dimension(k); !slices.Contains(dimensions, d) {
			errs.Add("dimensions."+k, "%s is not a dimension of the active rubric (%s)", fielderr.Quote(d), strings.Join(dimensions, ", "))
		}
	}
	return errs.Err()
}

// Default is the check set used until an admin stores one: the SLAs of
// SPEC §6 and phrase lists from the seed documents' models.
func Default() Set {
	return Set{
		SLA: []ChannelSLA{
			{Channel: "chat", FirstResponseSeconds: 30, ReplySeconds: 60},
			{Channel: "email", FirstResponseSeconds: 24 * 3600, ReplySeconds: 24 * 3600},
		},
		// The seed's model: "您好,感谢联系XX客服,我是客服小王,很高兴为您服务".
		GreetingPhrases: []string{
			"您好", "你好", "感谢联系", "感谢您联系", "感谢您的来电", "欢迎光临", "欢迎咨询",
			"我是客服", "很高兴为您服务", "很高兴为你服务", "有什么可以帮您", "有什么可以帮你", "请问有什么",
			"hello", "hi",
		},
		// The seed's models: "感谢您的咨询,祝您购物愉快", "如有其他问题,随时联系我们".
		ClosingPhrases: []string{
			"感谢您的咨询", "感谢您的耐心", "感谢您的理解", "感谢您的支持", "祝您购物愉快", "祝您生活愉快", "祝您愉快",
			"如有其他问题", "如还有其他问题", "随时联系我们", "欢迎再次咨询", "期待再次为您服务",
			"再见", "拜拜", "还有其他可以帮您", "还有什么可以帮您", "还有其他问题吗",
		},
		ForbiddenPhrases: []string{
			// dismissive
			"爱买不买", "不知道", "你自己看", "您自己看", "你自己查", "不归我管", "跟我没关系", "关我什么事",
			"没办法", "我也没办法", "听不懂吗", "说了多少遍", "你烦不烦", "找别人去", "爱咋咋地", "随便你",
			// abuse and slang
			"有病", "神经病", "滚开", "滚蛋", "傻逼", "sb", "脑残", "白痴", "笨蛋", "废物", "闭嘴", "你懂不懂", "去死",
			"卧槽", "尼玛", "tmd",
			// absolute promises
			"保证", "绝对", "百分之百", "100%", "肯定没问题", "一定能", "包您满意", "永远不会",
		},
		AllowedPhrases: []string{"保证金", "保证书", "绝对值"},
		EmpathyPhrases: []string{
			"抱歉", "不好意思", "对不起", "非常抱歉", "理解您的心情", "理解您的感受", "能理解", "给您带来不便",
			"给您带来的不便", "给您添麻烦", "让您久等", "辛苦您", "请您谅解", "深表歉意", "sorry",
		},
		ComplaintTags: []string{"complaint", "投诉"},
	}
}

// Enabled reports whether check key runs under s.
func (s *Set) Enabled(key string) bool { return !slices.Contains(s.Disabled, key) }

// Validate returns every problem of s as a *fielderr.Error naming its
// field, or nil.
func (s *Set) Validate() error {
	var errs fielderr.List
	if s.Version < 0 {
		errs.Add("version", "must not be negative, got %d", s.Version)
	}
	if len(s.SLA) > MaxChannels {
		errs.Add("sla", "%d channels; at most %d", len(s.SLA), MaxChannels)
	}
	channels := make(map[string]int)
	for i, c := range s.SLA {
		prefix := "sla[" + strconv.Itoa(i) + "]."
		name := strings.TrimSpace(c.Channel)
		if name == "" {
			errs.Add(prefix+"channel", "required")
		} else {
			if j, dup := channels[Normalize(name)]; dup {
				errs.Add(prefix+"channel", "%s repeats sla[%d]", fielderr.Quote(c.Channel), j)
			}
			channels[Normalize(name)] = i
		}
		for _, f := range []struct {
			field string
			v     int64
		}{{"first_response_seconds", c.FirstResponseSeconds}, {"reply_seconds", c.ReplySeconds}} {
			if f.v < 0 || f.v > MaxSLASeconds {
				errs.Add(prefix+f.field, "must be between 0 (no limit) and %d (30 days), got %d", MaxSLASeconds, f.v)
			}
		}
		if c.FirstResponseSeconds == 0 && c.ReplySeconds == 0 {
			errs.Add(prefix+"first_response_seconds", "both limits are 0; remove the channel instead")
		}
	}
	seen := make(map[string]bool)
	for i, k := range s.Disabled {
		field := "disabled[" + strconv.Itoa(i) + "]"
		switch {
		case !slices.Contains(Keys, k):
			errs.Add(field, "unknown check %s; checks are %s", fielderr.Quote(k), strings.Join(Keys, ", "))
		case seen[k]:
			errs.Add(field, "%s is listed twice", fielderr.Quote(k))
		}
		seen[k] = true
	}
	for _, k := range slices.Sorted(maps.Keys(s.Dimensions)) {
		field := "dimensions." + k
		switch d := s.Dimensions[k]; {
		case !slices.Contains(Keys, k):
			errs.Add(field, "unknown check %s; checks are %s", fielderr.Quote(k), strings.Join(Keys, ", "))
		case strings.TrimSpace(d) == "":
			errs.Add(field, "empty; name a rubric dimension such as attitude")
		case len(d) > 64:
			errs.Add(field, "longer than 64 bytes")
		}
	}
	phraseList(&errs, "greeting_phrases", s.GreetingPhrases, s.Enabled(NoGreeting), NoGreeting)
	phraseList(&errs, "closing_phrases", s.ClosingPhrases, s.Enabled(NoClosing), NoClosing)
	phraseList(&errs, "forbidden_phrases", s.ForbiddenPhrases, s.Enabled(ForbiddenPhrase), ForbiddenPhrase)
	phraseList(&errs, "allowed_phrases", s.AllowedPhrases, false, "")
	phraseList(&errs, "empathy_phrases", s.EmpathyPhrases, s.Enabled(NoEmpathy), NoEmpathy)
	phraseList(&errs, "complaint_tags", s.ComplaintTags, s.Enabled(NoEmpathy), NoEmpathy)
	return errs.Err()
}

// phraseList records the problems of one list. A check that runs needs a
// non-empty list: an empty greeting list would flag every chat.
func phraseList(errs *fielderr.List, field string, list []string, required bool, check string) {
	if len(list) == 0 && required {
		what := "phrases"
		if strings.HasSuffix(field, "_tags") {
			what = "tags"
		}
		errs.Add(field, "empty while check %s runs; add %s or list %s under disabled", check, what, check)
	}
	if len(list) > MaxPhrases {
		errs.Add(field, "%d entries; at most %d", len(list), MaxPhrases)
		return
	}
	first := make(map[string]int, len(list))
	for i, p := range list {
		f := field + "[" + strconv.Itoa(i) + "]"
		if problem := phraseProblem(p); problem != "" {
			errs.Add(f, "%s", problem)
			continue
		}
		n := Normalize(p)
		if j, dup := first[n]; dup {
			// Say what it repeats: 愛買不買 repeats 爱买不买, which the
			// editor may not see as the same.
			errs.Add(f, "%s is %s[%d] %s again (matching ignores simplified/traditional, width and case)",
				fielderr.Quote(p), field, j, fielderr.Quote(list[j]))
			continue
		}
		first[n] = i
	}
}

func phraseProblem(p string) string {
	switch {
	case !utf8.ValidString(p):
		return "not valid UTF-8"
	case strings.TrimSpace(p) == "":
		return "empty"
	case strings.TrimSpace(p) != p:
		return "has leading or trailing spaces " + fielderr.Quote(p)
	case utf8.RuneCountInString(p) > MaxPhraseRunes:
		return "longer than " + strconv.Itoa(MaxPhraseRunes) + " characters"
	}
	for _, r := range p {
		if unicode.IsControl(r) {
			return "has a control character " + fielderr.Quote(p)
		}
	}
	return ""
}

package console

// Messages of the conversation partial, shared by the review page and the
// supervisor's record page: {zh-CN, en}.
func init() {
	register(map[string][2]string{
		"conversation.title":                     {"会话", "Conversation"},
		"conversation.agent":                     {"客服", "Agent"},
		"conversation.channel":                   {"渠道", "Channel"},
		"conversation.tier":                      {"客户等级", "customer tier"},
		"conversation.time":                      {"时间", "Time"},
		"conversation.tags":                      {"标签", "Tags"},
		"conversation.messages":                  {"消息", "Messages"},
		"conversation.message_n":                 {"第 %d 条", "Message %d"},
		"conversation.no_messages":               {"这段会话没有消息。", "This conversation has no messages."},
		"conversation.transferred":               {"↪ 会话在此转接", "↪ The chat was transferred here"},
		"conversation.role.customer":             {"客户", "Customer"},
		"conversation.role.agent":                {"客服", "Agent"},
		"conversation.role.bot":                  {"机器人", "Bot"},
		"conversation.role.system":               {"系统", "System"},
		"conversation.role.unknown":              {"未知", "Unknown"},
		"conversation.hints":                     {"自动检查提示", "Automatic check hints"},
		"conversation.hint":                      {"提示", "Hint"},
		"conversation.hint_at":                   {"第 %d 条消息", "message %d"},
		"conversation.no_hints":                  {"自动检查没有发现问题。", "The automatic checks found nothing."},
		"conversation.check.slow_first_response": {"首次响应慢", "Slow first response"},
		"conversation.check.slow_reply":          {"回复慢", "Slow reply"},
		"conversation.check.no_greeting":         {"缺少开场白", "No greeting"},
		"conversation.check.no_closing":          {"缺少结束语", "No closing"},
		"conversation.check.forbidden_phrase":    {"禁用语", "Forbidden phrase"},
		"conversation.check.no_empathy":          {"投诉未致歉或共情", "Complaint without apology or empathy"},
		"conversation.metric.first_response":     {"首次响应时间", "First response time"},
		"conversation.metric.mean_response":      {"平均响应时间", "Mean response time"},
		"conversation.metric.handle_time":        {"处理时长", "Handle time"},
		"conversation.metric.messages":           {"消息数", "Messages"},
		"conversation.metric.messages_value":     {"%d(客户 %d,客服 %d,机器人/系统 %d)", "%d (customer %d, agent %d, bot/system %d)"},
		"conversation.metric.agent_replies":      {"客服回复数", "Agent replies"},
		"conversation.metric.transfers":          {"转接次数", "Transfers"},
		"conversation.metric.csat":               {"满意度", "CSAT"},
		"conversation.duration.s":                {"%d 秒", "%ds"},
		"conversation.duration.ms":               {"%d 分 %02d 秒", "%dm %02ds"},
		"conversation.duration.hm":               {"%d 小时 %02d 分", "%dh %02dm"},
	})
}

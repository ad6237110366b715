package synth

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"qa-sampling/transcript"
)

// AgentID is the id of the i-th synthetic agent.
func AgentID(i int) string { return fmt.Sprintf("agent-%04d", i) }

// ExternalID is the id of the i-th synthetic conversation. It increases with
// i, as chat platforms' conversation numbers do.
func ExternalID(i int) string { return fmt.Sprintf("conv-%010d", i) }

// Vocab is the tags and customer tiers chats are labelled with; a value
// listed twice is drawn twice as often.
type Vocab struct {
	Tags, Tiers []string
}

var (
	// Classic is the vocabulary the benchmarks were measured with.
	Classic = Vocab{Tags: tags, Tiers: tiers}
	// Platform labels chats as Chinese chat platforms do: tags mostly in
	// Chinese (投诉 complaint, 退款 refund, 升级 escalation) mixed with
	// English ones in varying case, tiers regular, gold and platinum.
	Platform = Vocab{
		Tags:  []string{"投诉", "退款", "升级", "物流", "退货", "发票", "售后", "优惠券", "complaint", "Refund", "escalation", "shipping"},
		Tiers: []string{"regular", "regular", "regular", "gold", "platinum"},
	}
)

// Transcript returns the i-th conversation, handled by agentID and ended at
// end, labelled from Classic. The same rng state gives the same transcript.
func Transcript(rng *rand.Rand, i int, agentID string, end time.Time) transcript.Transcript {
	return Classic.Transcript(rng, i, agentID, end)
}

// Transcript is the package's Transcript labelled from v.
func (v Vocab) Transcript(rng *rand.Rand, i int, agentID string, end time.Time) transcript.Transcript {
	g := gen{
		rng:       rng,
		order:     g16(rng, "DD"),
		phone:     fmt.Sprintf("1%d%d****%04d", 3+rng.IntN(7), rng.IntN(10), rng.IntN(10_000)),
		product:   pick(rng, products),
		agentName: pick(rng, agentNames),
	}
	channel := pick(rng, channels)

	type line struct {
		role transcript.Role
		text string
	}
	var lines []line
	add := func(role transcript.Role, text string) { lines = append(lines, line{role, text}) }

	add(transcript.RoleSystem, g.fill("会话已接入，渠道：{channel}，访客来自{city}", channel))
	add(transcript.RoleBot, g.fill(pick(rng, botGreetings), channel))
	add(transcript.RoleCustomer, g.fill(pick(rng, openers), channel)+" "+g.fill(pick(rng, details), channel))
	if rng.IntN(3) > 0 {
		add(transcript.RoleBot, g.fill(pick(rng, botHandoffs), channel))
	}
	add(transcript.RoleSystem, g.fill("客服{agent}已加入会话", channel))
	add(transcript.RoleAgent, g.fill(pick(rng, agentGreetings), channel))
	// Customers mostly write a line or two; agents answer with canned
	// replies, often two joined, and explain policies at length.
	turns := 4 + rng.IntN(3)
	for range turns {
		add(transcript.RoleCustomer, g.sentences(followUps, 1+rng.IntN(3), channel))
		if rng.IntN(4) == 0 { // a burst of customer messages
			add(transcript.RoleCustomer, g.fill(pick(rng, followUps), channel))
		}
		add(transcript.RoleAgent, g.sentences(agentReplies, 2+rng.IntN(2), channel))
		if rng.IntN(5) == 0 {
			add(transcript.RoleAgent, g.fill(pick(rng, agentReplies), channel))
		}
	}
	add(transcript.RoleAgent, g.fill(pick(rng, agentClosings), channel))
	if rng.IntN(2) == 0 {
		add(transcript.RoleCustomer, g.fill(pick(rng, thanks), channel))
	}
	add(transcript.RoleSystem, "会话已结束")

	// Times run backwards from end: an agent answers in 5-90 s, a customer
	// in 3-120 s, bots and system messages at once.
	gaps := make([]time.Duration, len(lines))
	var total time.Duration
	for k, l := range lines {
		switch l.role {
		case transcript.RoleAgent:
			gaps[k] = time.Duration(5_000+rng.IntN(85_000)) * time.Millisecond
		case transcript.RoleCustomer:
			gaps[k] = time.Duration(3_000+rng.IntN(117_000)) * time.Millisecond
		default:
			gaps[k] = time.Duration(rng.IntN(1_500)) * time.Millisecond
		}
		total += gaps[k]
	}
	end = end.UTC().Truncate(time.Millisecond)
	start := end.Add(-total - time.Duration(rng.IntN(10_000))*time.Millisecond)
	msgs := make([]transcript.Message, len(lines))
	at := start
	for k, l := range lines {
		at = at.Add(gaps[k])
		msgs[k] = transcript.Message{Role: l.role, Text: l.text, SentAt: at}
	}

	t := transcript.Transcript{
		ExternalID:   ExternalID(i),
		AgentID:      agentID,
		Channel:      channel,
		CustomerID:   fmt.Sprintf("U%09d", rng.IntN(1_000_000_000)),
		CustomerTier: pick(rng, v.Tiers),
		StartedAt:    start,
		EndedAt:      end,
		Messages:     msgs,
		Attributes: map[string]string{
			"order_id": g.order,
			"region":   pick(rng, regions),
			"platform": pick(rng, platforms),
			"lang":     pick(rng, []string{"zh-CN", "zh-CN", "zh-CN", "en-US"}),
		},
	}
	for range rng.IntN(4) {
		if tag := pick(rng, v.Tags); !slices.Contains(t.Tags, tag) {
			t.Tags = append(t.Tags, tag)
		}
	}
	if rng.IntN(10) < 6 {
		t.CSAT = 1 + rng.IntN(5)
	}
	return t
}

// Transfer turns t into a conversation handed over from fromAgent: the
// agent messages before the midpoint become fromAgent's and a system line
// records the transfer. t.AgentID stays the last owner.
func Transfer(t *transcript.Transcript, fromAgent string) {
	mid := len(t.Messages) / 2
	for k := range t.Messages[:mid] {
		if t.Messages[k].Role == transcript.RoleAgent {
			t.Messages[k].AgentID = fromAgent
		}
	}
	note := transcript.Message{Role: transcript.RoleSystem, Text: "会话已由" + fromAgent + "转接给" + t.AgentID, SentAt: t.Messages[mid].SentAt}
	t.Messages = append(t.Messages[:mid:mid], append([]transcript.Message{note}, t.Messages[mid:]...)...)
	t.TransferCount++
}

type gen struct {
	rng       *rand.Rand
	order     string
	phone     string
	product   string
	agentName string
}

func pick[T any](rng *rand.Rand, xs []T) T { return xs[rng.IntN(len(xs))] }

// g16 is prefix followed by 16 random digits.
func g16(rng *rand.Rand, prefix string) string {
	return fmt.Sprintf("%s%08d%08d", prefix, rng.IntN(100_000_000), rng.IntN(100_000_000))
}

// fill replaces the {slots} of tmpl. The conversation's order number,
// phone, product and agent name stay the same throughout, as in a real chat;
// everything else is drawn afresh.
func (g *gen) fill(tmpl, channel string) string {
	var b strings.Builder
	for {
		open := strings.IndexByte(tmpl, '{')
		if open < 0 {
			b.WriteString(tmpl)
			return b.String()
		}
		end := strings.IndexByte(tmpl[open:], '}') + open
		b.WriteString(tmpl[:open])
		b.WriteString(g.slot(tmpl[open+1:end], channel))
		tmpl = tmpl[end+1:]
	}
}

// sentences joins n distinct picks from pool into one message.
func (g *gen) sentences(pool []string, n int, channel string) string {
	var b strings.Builder
	first := g.rng.IntN(len(pool))
	for k := range n {
		if k > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(g.fill(pool[(first+k*7)%len(pool)], channel))
	}
	return b.String()
}

func (g *gen) slot(name, channel string) string {
	r := g.rng
	switch name {
	case "order":
		return g.order
	case "order2":
		return g16(r, "DD")
	case "product":
		return g.product
	case "agent":
		return g.agentName
	case "channel":
		return channel
	case "city":
		return pick(r, cities)
	case "tracking":
		return fmt.Sprintf("%s%012d", pick(r, []string{"SF", "YT", "ZTO", "JD"}), r.Int64N(1_000_000_000_000))
	case "phone":
		return g.phone
	case "amount":
		return fmt.Sprintf("%d.%02d", 5+r.IntN(3000), r.IntN(100))
	case "date":
		return fmt.Sprintf("%d月%d日", 1+r.IntN(12), 1+r.IntN(28))
	case "edate":
		return fmt.Sprintf("2026-%02d-%02d", 1+r.IntN(12), 1+r.IntN(28))
	case "days":
		return fmt.Sprint(1 + r.IntN(30))
	case "minutes":
		return fmt.Sprint(2 + r.IntN(40))
	case "coupon":
		return fmt.Sprintf("CP%08X", r.Uint32())
	case "ticket":
		return fmt.Sprintf("TK%010d", r.IntN(10_000_000_000))
	case "address":
		return fmt.Sprintf("%s%s路%d号%d栋%d室", pick(r, cities), pick(r, streets), 1+r.IntN(999), 1+r.IntN(30), 101+r.IntN(2800))
	case "company":
		return pick(r, companies)
	case "sku":
		return fmt.Sprintf("SKU-%06d-%s", r.IntN(1_000_000), pick(r, []string{"BLK", "WHT", "RED", "BLU", "XL", "M"}))
	}
	return "{" + name + "}"
}

var (
	channels   = []string{"web", "app", "wechat", "email", "phone"}
	tiers      = []string{"standard", "standard", "silver", "gold", "platinum"}
	regions    = []string{"华东", "华南", "华北", "西南", "华中", "东北", "西北"}
	platforms  = []string{"ios", "android", "web", "miniprogram"}
	tags       = []string{"物流", "退款", "退货", "发票", "优惠券", "账户", "投诉", "售后", "shipping", "refund", "VIP", "escalated"}
	cities     = []string{"北京", "上海", "广州", "深圳", "杭州", "成都", "武汉", "南京", "西安", "重庆", "苏州", "天津"}
	streets    = []string{"朝阳", "人民", "建设", "解放", "中山", "长江", "滨江", "科技"}
	companies  = []string{"杭州云帆科技有限公司", "上海星河贸易有限公司", "深圳前海数智有限公司", "Acme Trading Ltd.", "北京远景咨询有限公司"}
	agentNames = []string{"小李", "小王", "小张", "Amy", "小陈", "小刘", "Kevin", "小杨", "小赵", "Lily"}
	products   = []string{
		"无线蓝牙耳机 Pro", "智能手表 S3", "空气炸锅 5L", "机械键盘 K87", "羽绒服（男款，黑色 XL）",
		"扫地机器人 X10", "iPhone 15 手机壳", "婴儿推车", "保温杯 500ml", "电动牙刷 T2",
		"4K 显示器 27 寸", "running shoes (size 42)", "护肤套装", "咖啡机 Barista", "儿童学习桌",
		"Nintendo Switch 游戏卡带", "折叠自行车", "床上四件套", "移动电源 20000mAh", "投影仪 H6",
	}

	botGreetings = []string{
		"您好，我是智能助手小蜜，请问有什么可以帮您？您可以输入“订单”“物流”“退款”快速查询。",
		"Hi! I'm the virtual assistant. Ask me about orders, shipping, returns or invoices.",
		"欢迎光临官方旗舰店，智能客服为您服务。当前咨询人数较多，请简要描述您的问题。",
	}
	botHandoffs = []string{
		"正在为您转接人工客服，当前排队{minutes}人，请稍候…",
		"I'm connecting you to a human agent. Estimated wait: {minutes} minutes.",
		"小蜜没能理解您的问题，已为您转接人工客服，请不要离开哦~",
	}
	openers = []string{
		"你好，我的订单{order}到现在还没有发货，已经{days}天了，能帮我查一下吗？",
		"Hi, I ordered a {product} on {edate} but the status still shows 'processing'. Order {order}.",
		"请问{product}可以退货吗？买了{days}天了，包装已经拆了但是没用过。",
		"我收到的{product}有质量问题，外壳有裂痕，订单号{order}，要求换货。",
		"The parcel was delivered to the wrong address. Tracking number {tracking}, order {order}.",
		"为什么我的账户被扣了{amount}元？账单上写的是自动续费，我没开通过啊。",
		"I want to cancel order {order} and get a refund to my original payment method, please.",
		"优惠券{coupon}用不了，提示已过期，但是页面上明明写着到{date}有效。",
		"上周买的{product}，会员积分怎么还没到账？订单{order}。",
		"发票抬头写错了，能重新开吗？正确的公司名称是{company}，税号稍后发你。",
		"物流显示已签收，但我根本没收到{product}！快递单号{tracking}。",
		"你们的{product}降价了{amount}元，我{date}刚买的，能保价吗？",
	}
	details = []string{
		"我是你们的老客户了，之前买东西一直都挺顺利的，这次真的让我很失望，打了好几次电话都没人接。",
		"This is the second time this has happened; last month my order was also delayed by over a week.",
		"页面上写的是48小时内发货，现在已经过了好几天了，物流信息一直没有更新，我朋友同一天买的早就到了。",
		"我已经在App里提交过售后申请了，但是一直显示“审核中”，也没有人联系我，不知道要等到什么时候。",
		"It was supposed to be a birthday gift for my son on {date}, so I really need it to arrive on time.",
		"快递员说放在驿站了，可是我去{city}那个驿站问了，他们说根本没有这个包裹，电话也打不通。",
		"拆开之后发现配件少了一个，说明书上写的有充电线和转接头，但是盒子里只有一根线。",
		"我看评论里也有好几个人说了同样的问题，你们是不是这一批货都有问题？希望给个说法。",
	}
	agentGreetings = []string{
		"您好，这里是官方客服{agent}，很高兴为您服务，请问有什么可以帮您？",
		"Hello, this is {agent} from customer support. I've read your message, let me look into it.",
		"亲，您好！我是{agent}，刚才的问题我已经看到了，请稍等我查询一下订单{order}。",
	}
	followUps = []string{
		"订单号是{order}",
		"好的，麻烦尽快，我{date}之前要用。",
		"还要等多久？我已经等了{minutes}分钟了。",
		"手机号{phone}，收货人姓王。",
		"地址是{address}，是不是填错了？",
		"I already tried restarting it, still doesn't work.",
		"那运费谁出？上次退货我自己付了{amount}块。",
		"截图已经发给你了，你看一下外包装的破损。",
		"嗯嗯，是的，就是这个订单。",
		"what's the status now? any update from the warehouse?",
		"能不能直接退款，不想换了。",
		"另外我还有一个订单{order2}也是同样的问题。",
		"ok, can you send me the return label by email?",
		"你们客服电话一直打不通，只能在这里问了。",
		"颜色发错了，我要的是黑色，收到的是白色，SKU是{sku}。",
		"好的，谢谢，那我等你们消息。",
	}
	agentReplies = []string{
		"稍等，我这边帮您查询一下订单{order}的物流信息。",
		"查到了，您的包裹目前在{city}转运中心，预计{date}送达，快递单号{tracking}。",
		"非常抱歉给您带来不便，我已经为您申请了{amount}元的补偿，会在24小时内到账。",
		"Sure, I've initiated a refund of ¥{amount} for order {order}; it usually takes 3-5 business days.",
		"该商品支持7天无理由退货，请在订单详情页点击“申请售后”，选择“退货退款”即可。",
		"已经帮您催促仓库，今天下午会安排发出，发货后会短信通知到{phone}。",
		"好的，已为您备注加急处理，工单号{ticket}，后续进展可以凭工单号查询。",
		"I understand your frustration. I'm escalating this to our logistics team right now (ticket {ticket}).",
		"麻烦您提供一下商品照片和外包装照片，我们核实后会第一时间为您处理。",
		"优惠券{coupon}的有效期到{date} 00:00，系统显示已失效，我这边为您补发一张同等面额的券。",
		"地址已帮您修改为{address}，如果快递已发出，需要联系快递员改派哦。",
		"发票已为您作废重开，抬头：{company}，电子发票会在1-2个工作日内发送到您的邮箱。",
		"保价申请已提交，差价{amount}元会原路退回，请您留意账户余额变化。",
		"The return label has been sent to your email. Please drop the parcel at any {city} service point.",
		"您好，还在线吗？我这边查到换货单已经生成，新的{product}会在{date}前发出。",
		"这个情况需要售后同事进一步核实，我已经转交处理，48小时内会有专人联系您。",
	}
	agentClosings = []string{
		"请问还有其他可以帮您的吗？如果没有的话，稍后麻烦您对本次服务做个评价，感谢支持！",
		"Is there anything else I can help you with today? Thanks for your patience!",
		"感谢您的耐心等待，祝您生活愉快！有问题随时联系我们。",
	}
	thanks = []string{"好的谢谢", "没有了，谢谢你", "thanks, bye", "辛苦了👍", "ok"}
)

// Restamp returns a copy of p that stands for another conversation: its
// external id, its end time (start shifted alike) and, when its agent is
// its only author, its agent. It lets benchmarks write many distinct rows while
// preparing (deriving, compressing, hashing) only a pool of transcripts.
// The body and content hash are p's: the store does not look inside them.
func Restamp(p *transcript.Prepared, externalID, agentID string, end time.Time) *transcript.Prepared {
	r := *p
	r.ExternalID = externalID
	end = end.UTC().Truncate(time.Millisecond)
	r.StartedAt, r.EndedAt = r.StartedAt.Add(end.Sub(r.EndedAt)), end
	if len(p.AgentIDs) == 1 && p.AgentIDs[0] == p.AgentID {
		r.AgentID = agentID
		r.AgentIDs = []string{agentID}
	}
	return &r
}

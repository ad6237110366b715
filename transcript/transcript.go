package transcript

import "time"

// Role is who wrote a message.
type Role uint8

// Roles, numbered as in the API's qa.v1.Role.
const (
	RoleUnknown  Role = 0
	RoleAgent    Role = 1
	RoleCustomer Role = 2
	RoleBot      Role = 3
	RoleSystem   Role = 4
)

// Message is one message of a conversation.
type Message struct {
	Role   Role
	Text   string
	SentAt time.Time
	// AgentID is the author of an agent message; empty means the
	// transcript's AgentID.
	AgentID string
}

// Transcript is one finished conversation as pushed by a chat platform.
type Transcript struct {
	ExternalID    string
	AgentID       string
	Channel       string
	CustomerID    string
	CustomerTier  string
	StartedAt     time.Time
	EndedAt       time.Time
	Messages      []Message
	Tags          []string
	CSAT          int // 1..5; 0 means the customer gave none
	TransferCount int
	Attributes    map[string]string
}

// NoResponse marks a response-time metric that does not exist because no
// agent message answered a customer message.
const NoResponse time.Duration = -1

// Metrics are derived from a transcript on ingest and stored beside it.
type Metrics struct {
	MessageCount         int
	AgentMessageCount    int
	CustomerMessageCount int
	BotMessageCount      int
	SystemMessageCount   int
	// FirstResponse is from the first customer message to the first agent
	// message after it; NoResponse if there is none.
	FirstResponse time.Duration
	// MeanAgentResponse is the mean, over agent replies, of the wait from the
	// first customer message the reply answers; NoResponse if none.
	MeanAgentResponse time.Duration
	// AgentReplyCount is how many replies MeanAgentResponse averages.
	AgentReplyCount int
	HandleTime      time.Duration
}

// Prepared is a validated transcript ready to store: metrics derived, body
// encoded and content hashed. Preparing is CPU work done before the store's
// write transaction so that it overlaps with writing the previous batch.
type Prepared struct {
	Transcript
	Metrics Metrics
	// AgentIDs are the agents the conversation counts for (Authors): those
	// who wrote in it, in order of first message; the transcript's AgentID
	// only if they wrote.
	AgentIDs []string
	// Body is Messages and Attributes in the compact stored encoding.
	Body []byte
	// ContentHash identifies the content; equal hashes mean an unchanged push.
	ContentHash []byte
	// Checks are the automatic checks' findings, set by the caller (package
	// checks) before storing; derived, so not part of ContentHash.
	Checks Checks
}

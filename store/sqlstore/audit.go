package sqlstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"qa-sampling/store"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// ListAudit returns the audit events f selects, in id order.
func (s *Store) ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEvent, error) {
	var fq filterQuery
	if f.Actor != "" {
		fq.add("actor = ?", f.Actor)
	}
	if f.Action != "" {
		fq.add("action = ?", f.Action)
	}
	if f.Entity != "" {
		fq.add("entity = ?", f.Entity)
	}
	if f.EntityID != "" {
		fq.add("entity_id = ?", f.EntityID)
	}
	if !f.Since.IsZero() {
		fq.add("at >= ?", f.Since.UnixMilli())
	}
	if !f.Until.IsZero() {
		fq.add("at < ?", f.Until.UnixMilli())
	}
	if f.AfterID != 0 {
		fq.add("id > ?", f.AfterID)
	}
	if f.BeforeID != 0 {
		fq.add("id < ?", f.BeforeID)
	}
	order := "id"
	if f.NewestFirst {
		order = "id DESC"
	}
	q, args := fq.build("SELECT id, at, actor, action, entity, entity_id, detail FROM audit_events", order, f.Limit)
	var rows []struct {
		ID       int64  `db:"id"`
		At       int64  `db:"at"`
		Actor    string `db:"actor"`
		Action   string `db:"action"`
		Entity   string `db:"entity"`
		EntityID string `db:"entity_id"`
		Detail   string `db:"detail"`
	}
	if err := s.r.SelectContext(ctx, &rows, s.r.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("sqlstore: list audit: %w", err)
	}
	out := make([]store.AuditEvent, len(rows))
	for i, r := range rows {
		out[i] = store.AuditEvent{ID: r.ID, At: fromMillis(r.At), Actor: r.Actor, Action: r.Action, Entity: r.Entity, EntityID: r.EntityID, Detail: validDetail(r.Detail)}
	}
	return out, nil
}

// validDetail is a stored detail as valid JSON. Events are never
// rewritten, so one stored empty reads as {} and one that is not JSON as
// a JSON string holding it; every writer here stores JSON.
func validDetail(detail string) string {
	switch {
	case detail == "":
		return "{}"
	case json.Valid([]byte(detail)):
		return detail
	}
	b, _ := json.Marshal(detail) // a string always marshals
	return string(b)
}

// audit records one event on a numbered entity in tx.
func (s *Store) audit(ctx context.Context, tx *sqlx.Tx, actor, action, entity string, entityID int64, detail any) error {
	return s.auditEntity(ctx, tx, actor, action, entity, strconv.FormatInt(entityID, 10), detail)
}

// auditEntity records one event in tx; detail is marshalled to JSON, nil
// (or a nil map) as {}.
func (s *Store) auditEntity(ctx context.Context, tx *sqlx.Tx, actor, action, entity, entityID string, detail any) error {
	doc, err := auditJSON(detail)
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	_, err = s.txExec(ctx, tx, `INSERT INTO audit_events (at, actor, action, entity, entity_id, detail)
		VALUES (?, ?, ?, ?, ?, ?)`, s.now().UnixMilli(), actor, action, entity, entityID, doc)
	return err
}

// auditEach records one event per numbered entity in tx, action on each
// of ids with its detail, in that order, in multi-row INSERTs: a bulk
// change (thousands of items moved) writes its events without a round
// trip each.
func (s *Store) auditEach(ctx context.Context, tx *sqlx.Tx, actor, action, entity string, ids []int64, detail func(i int) any) error {
	const perInsert = 500 // 6 parameters a row, well under SQLite's 32,766
	at := s.now().UnixMilli()
	for start := 0; start < len(ids); start += perInsert {
		end := min(start+perInsert, len(ids))
		args := make([]any, 0, 6*(end-start))
		for i := start; i < end; i++ {
			doc, err := auditJSON(detail(i))
			if err != nil {
				return fmt.Errorf("audit %s: %w", action, err)
			}
			args = append(args, at, actor, action, entity, strconv.FormatInt(ids[i], 10), doc)
		}
		q := "INSERT INTO audit_events (at, actor, action, entity, entity_id, detail) VALUES " + valuesList(end-start, "(?, ?, ?, ?, ?, ?)")
		if _, err := tx.ExecContext(ctx, tx.Rebind(q), args...); err != nil {
			return err
		}
	}
	return nil
}

func auditJSON(detail any) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // a comment's <, > and & stay as written
	if err := enc.Encode(detail); err != nil {
		return "", err
	}
	doc := strings.TrimSuffix(b.String(), "\n")
	if doc == "null" {
		return "{}", nil
	}
	return doc, nil
}

// jsonDocument is a stored document (a policy, a rubric) as an event's
// detail holds it: as JSON when it is JSON, else as a string.
func jsonDocument(doc []byte) any {
	if json.Valid(doc) {
		return json.RawMessage(doc)
	}
	return string(doc)
}

// auditRating is one rating as an event's detail shows it.
type auditRating struct {
	Dimension string `json:"dimension"`
	Rating    *int   `json:"rating,omitempty"` // absent when N/A
	Max       int    `json:"max,omitempty"`
	NA        bool   `json:"na"`
	Comment   string `json:"comment,omitempty"`
	Failing   bool   `json:"failing,omitempty"`
	Critical  bool   `json:"critical,omitempty"`
}

func auditRatings(rs []store.Rating) []auditRating {
	out := make([]auditRating, len(rs))
	for i, r := range rs {
		out[i] = auditRating{Dimension: r.Key, Max: r.Max, NA: r.NA, Comment: r.Comment, Failing: r.Failing, Critical: r.Critical}
		if !r.NA {
			v := r.Value
			out[i].Rating = &v
		}
	}
	return out
}

// auditFlags is a review's critical flags as a list, empty rather than null.
func auditFlags(flags []string) []string {
	if flags == nil {
		return []string{}
	}
	return flags
}

// runActor is who a run's trigger names: the subject of a manual run
// ("manual:<subject>"), else the trigger itself ("schedule").
func runActor(trigger string) string {
	if subject, ok := strings.CutPrefix(trigger, "manual:"); ok {
		return subject
	}
	return trigger
}

// The details below are structs so that their keys read in a sensible
// order (a map's would be sorted).

// policyDetail is what a policy.create event says.
type policyDetail struct {
	Version int64 `json:"version"`
	Policy  any   `json:"policy"` // the document as stored
}

// runDetail is what a run's events say of it.
type runDetail struct {
	Week           string `json:"week"`
	PolicyVersion  int64  `json:"policy_version"`
	Trigger        string `json:"trigger"`
	SeedCommitment string `json:"seed_commitment"`
	Seed           string `json:"seed,omitempty"`
	Picks          *int   `json:"picks,omitempty"`
	Shortfalls     *int   `json:"shortfalls,omitempty"`
	// RuleOrder is the order check_disagreement gave the rules (frozen
	// with the run), when it did.
	RuleOrder []string `json:"rule_order,omitempty"`
}

// runEvent is r's detail. The seed itself only once the run has revealed
// it (complete); its commitment, the lowercase hex SHA-256 of its bytes,
// is public from the week's first preview on.
func runEvent(r store.Run, complete bool) runDetail {
	sum := sha256.Sum256(r.Seed)
	d := runDetail{Week: r.Week, PolicyVersion: r.PolicyVersion, Trigger: r.Trigger, SeedCommitment: hex.EncodeToString(sum[:])}
	if r.Disagreement != nil {
		d.RuleOrder = r.Disagreement.Rules
	}
	if complete {
		d.Seed, d.Picks, d.Shortfalls = hex.EncodeToString(r.Seed), &r.Picks, &r.Shortfalls
	}
	return d
}

// inspectorState is one side of an inspector event.
type inspectorState struct {
	Name   string `json:"name"`
	Active bool   `json:"active"`
}

// inspectorChange is what an inspector event says; no before on create.
type inspectorChange struct {
	Before *inspectorState `json:"before,omitempty"`
	After  inspectorState  `json:"after"`
}

// tokenDetail is what a token event says: never the secret nor its hash.
type tokenDetail struct {
	TokenID   string     `json:"token_id"`
	Role      store.Role `json:"role"`
	Subject   string     `json:"subject"`
	CreatedAt *time.Time `json:"created_at,omitempty"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

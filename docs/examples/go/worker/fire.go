package main

import (
	"bytes"
	stdBase64 "encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/vmihailenco/msgpack/v5"
)

// fire is a FireMessage (docs/schemas/fire-message.json).
type fire struct {
	FireID             string                 `msgpack:"fireId" json:"fireId"`
	JobID              string                 `msgpack:"jobId" json:"jobId"`
	TenantID           string                 `msgpack:"tenantId" json:"tenantId"`
	Group              string                 `msgpack:"group" json:"group"`
	Name               string                 `msgpack:"name" json:"name"`
	Type               string                 `msgpack:"type" json:"type"`
	JobType            string                 `msgpack:"jobType" json:"jobType"`
	Args               map[string]interface{} `msgpack:"args" json:"args"`
	Priority           string                 `msgpack:"priority" json:"priority"`
	NodeName           string                 `msgpack:"nodeName,omitempty" json:"nodeName,omitempty"`
	NominalTime        string                 `msgpack:"nominalTime" json:"nominalTime"`
	FiredAt            string                 `msgpack:"firedAt" json:"firedAt"`
	Attempt            int                    `msgpack:"attempt" json:"attempt"`
	Reason             string                 `msgpack:"reason" json:"reason"`
	Epoch              float64                `msgpack:"epoch" json:"epoch"` // float64: past 2^32 msgpackr writes one
	MaxTryCount        int                    `msgpack:"maxTryCount" json:"maxTryCount"`
	TimeoutSeconds     int                    `msgpack:"timeoutSeconds" json:"timeoutSeconds"`
	LockTimeoutSeconds int                    `msgpack:"lockTimeoutSeconds" json:"lockTimeoutSeconds"`
	OverlapPolicy      string                 `msgpack:"overlapPolicy" json:"overlapPolicy"`
	NextNominalTime    string                 `msgpack:"nextNominalTime,omitempty" json:"nextNominalTime,omitempty"`
	Last               bool                   `msgpack:"last" json:"last"`
	TrackRunning       bool                   `msgpack:"trackRunning" json:"trackRunning"`
	Revision           float64                `msgpack:"revision,omitempty" json:"revision,omitempty"`

	nominal time.Time
	raw     interface{} // the decoded payload, for a dead letter
}

var tokenRe = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// decodeBody decodes a payload by its Content-Type: JSON, or msgpack (the default).
func decodeBody(contentType string, data []byte, v interface{}) error {
	ct := strings.ToLower(strings.TrimSpace(strings.SplitN(contentType, ";", 2)[0]))
	if ct == "application/json" || ct == "text/json" {
		return json.Unmarshal(data, v)
	}
	dec := msgpack.NewDecoder(bytes.NewReader(data))
	dec.UseLooseInterfaceDecoding(true)
	return dec.Decode(v)
}

// decodeFire is step 2: decode, check the fields a worker relies on, and the subject's tokens.
func decodeFire(msg *nats.Msg) (*fire, error) {
	f := &fire{}
	if err := decodeBody(msg.Header.Get("Content-Type"), msg.Data, f); err != nil {
		return nil, fmt.Errorf("payload does not decode: %w", err)
	}
	var raw map[string]interface{}
	_ = decodeBody(msg.Header.Get("Content-Type"), msg.Data, &raw)
	f.raw = raw
	for field, v := range map[string]string{"jobId": f.JobID, "tenantId": f.TenantID} {
		if !tokenRe.MatchString(v) {
			return nil, fmt.Errorf("invalid fire: %s: must be a token, got %q", field, v)
		}
	}
	// group and type are printable names (protocol.md, "Names of job types and groups"), not tokens
	for field, v := range map[string]string{"group": f.Group, "type": f.Type} {
		if v == "" {
			return nil, fmt.Errorf("invalid fire: %s is required", field)
		}
	}
	if f.FireID == "" || f.Attempt < 1 || f.Args == nil {
		return nil, fmt.Errorf("invalid fire: fireId, attempt and args are required")
	}
	t, err := time.Parse(time.RFC3339Nano, f.NominalTime)
	if err != nil {
		return nil, fmt.Errorf("invalid fire: nominalTime: %v", err)
	}
	f.nominal = t
	// <p>.run.<tenant>.<node>.<type>.p<N>.<last>: the fire must name the subject's tenant, node, type
	// (as its token) and, unless the last token is the scheduler's "=fire", its job
	parts := strings.Split(msg.Subject, ".")
	if len(parts) != 7 {
		return nil, fmt.Errorf("invalid fire: subject %s is not a run subject", msg.Subject)
	}
	node := f.NodeName
	if node == "" {
		node = "_any"
	}
	for _, c := range []struct{ field, got, want string }{
		{"tenantId", f.TenantID, parts[2]},
		{"nodeName", node, parts[3]},
		{"type", subjectToken(f.Type), parts[4]},
		{"jobId", f.JobID, jobToken(parts[6], f.JobID)},
	} {
		if c.got != c.want {
			return nil, fmt.Errorf("invalid fire: %s: %q does not match the subject's %q", c.field, c.got, c.want)
		}
	}
	return f, nil
}

// jobToken is the job id a run subject's last token names: a scheduler fire's subject ends in "=fire"
// (no job id has an "="), so it names none and any fire's job matches.
func jobToken(last, jobID string) string {
	if last == "=fire" {
		return jobID
	}
	return last
}

// runKey is the fire's key in state.doneRuns: the nominal epoch ms, with :a<attempt> from attempt 2.
func (f *fire) runKey() string {
	nominal := f.FireID[strings.LastIndex(f.FireID, ":")+1:]
	if f.Attempt <= 1 {
		return nominal
	}
	return fmt.Sprintf("%s:a%d", nominal, f.Attempt)
}

func iso(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func encodeMsgpack(v interface{}) []byte {
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.UseCompactInts(true)
	enc.SetCustomStructTag("msgpack")
	if err := enc.Encode(v); err != nil {
		panic(err) // only maps, strings and numbers of our own making are encoded
	}
	return buf.Bytes()
}

func base64(b []byte) string { return stdBase64.StdEncoding.EncodeToString(b) }

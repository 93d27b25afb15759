package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nuid"
)

// runLog appends a run-log entry (JetStream, msgpack) on <p>.log.<tenant>.<jobId>.
func (w *worker) runLog(f *fire, outcome string, startedAt, finishedAt time.Time, extra map[string]interface{}) {
	entry := map[string]interface{}{
		"fireId": f.FireID, "jobId": f.JobID, "tenantId": f.TenantID, "group": f.Group, "type": f.Type,
		"name": f.Name, "attempt": f.Attempt, "nominalTime": f.NominalTime, "outcome": outcome,
		"startedAt": iso(startedAt), "finishedAt": iso(finishedAt), "worker": w.workerID, "node": w.node,
	}
	for k, v := range extra {
		entry[k] = v
	}
	msg := nats.NewMsg(fmt.Sprintf("%s.log.%s.%s", w.prefix, f.TenantID, f.JobID))
	msg.Header.Set("Content-Type", "application/msgpack")
	msg.Data = encodeMsgpack(entry)
	if _, err := w.js.PublishMsg(msg); err != nil {
		log.Printf("run log: %v", err)
	}
}

// report publishes a job event: CloudEvents binary mode, JSON data, core NATS (best effort).
func (w *worker) report(f *fire, phase, status string, extra map[string]interface{}) {
	data := map[string]interface{}{
		"key": fmt.Sprintf("%s.%s.%s", f.TenantID, f.Group, f.JobID), "fireId": f.FireID, "type": f.Type,
		"name": f.Name, "group": f.Group, "tenantId": f.TenantID, "args": f.Args, "status": status,
		"phase": phase, "nominalTime": f.NominalTime, "attempt": f.Attempt, "triggered": 0, "repeatCount": 0,
		"node": w.node, "worker": w.workerID,
	}
	for k, v := range extra {
		data[k] = v
	}
	body, err := json.Marshal(data)
	if err != nil {
		return
	}
	msg := nats.NewMsg(fmt.Sprintf("%s.evt.%s.%s.%s.%s.%s", w.prefix, f.TenantID, f.Group, f.Type, f.JobID, phase))
	for k, v := range map[string]string{
		"ce-specversion": "1.0", "ce-id": nuid.Next(), "ce-type": "io.taskjet.job." + phase,
		"ce-source": "taskjet/worker/" + w.workerID, "ce-subject": f.JobID, "ce-time": iso(time.Now()),
		"Content-Type": "application/json",
	} {
		msg.Header.Set(k, v)
	}
	msg.Data = body
	_ = w.nc.PublishMsg(msg)
}

// deadLetter copies a fire given up on to <p>.dlq.<tenant>.<jobId> (JetStream, msgpack).
func (w *worker) deadLetter(subject, reason, errText string, fire interface{}, raw []byte) {
	tenant, jobID := "_unknown", "_unknown"
	if m, ok := fire.(map[string]interface{}); ok {
		if t, ok := m["tenantId"].(string); ok && tokenRe.MatchString(t) {
			tenant = t
		}
		if j, ok := m["jobId"].(string); ok && tokenRe.MatchString(j) {
			jobID = j
		}
	}
	letter := map[string]interface{}{"reason": reason, "error": errText, "subject": subject, "at": iso(time.Now())}
	if fire != nil {
		letter["fire"] = fire
	}
	if raw != nil {
		letter["rawBase64"] = base64(raw)
	}
	msg := nats.NewMsg(fmt.Sprintf("%s.dlq.%s.%s", w.prefix, tenant, jobID))
	msg.Header.Set("Content-Type", "application/msgpack")
	msg.Data = encodeMsgpack(letter)
	if _, err := w.js.PublishMsg(msg); err != nil {
		log.Printf("dead letter: %v", err)
	}
}

// heartbeat (step 10) puts worker.<id> and type.<type> in the registry every 5 s (entries live 15 s).
func (w *worker) heartbeat(ctx context.Context, registry nats.KeyValue, host string) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		now := iso(time.Now())
		w.mu.Lock()
		running := len(w.cancels)
		w.mu.Unlock()
		_, err := registry.Put("worker."+w.workerID, encodeMsgpack(map[string]interface{}{
			"workerId": w.workerID, "node": w.node, "host": host, "pid": os.Getpid(),
			"types": []string{w.jobType}, "concurrency": 1, "running": running, "seenAt": now,
		}))
		if err == nil {
			_, err = registry.Put("type."+w.jobType, encodeMsgpack(map[string]interface{}{
				"type": w.jobType, "description": "a Go example", "nodes": []string{w.node}, "seenAt": now,
			}))
		}
		if err != nil {
			log.Printf("heartbeat: %v", err)
		}
		select {
		case <-ctx.Done():
			_ = registry.Purge("worker." + w.workerID)
			return
		case <-t.C:
		}
	}
}

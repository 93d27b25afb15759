// A taskjet worker in Go for one custom job type, written from docs/protocol.md ("Writing a worker in
// another language") with nats.go and a msgpack library only. It pulls its node's fires, runs them, writes
// the outcome to the job store with compare-and-set, then acks, logs and sends the after event.
//
//	NATS_URL=nats://127.0.0.1:4222 TASKJET_NODE=go1 go run .
//
// Environment: NATS_URL, TASKJET_PREFIX (taskjet), TASKJET_NODE (go1), TASKJET_TYPE (greet). Jobs for it are
// queued with "nodeName": "go1", "type": "greet"; args { "name": "..." } (or { "fail": true } to fail,
// { "sleepMs": n } to take n ms).
// It stops on SIGINT/SIGTERM: no new pulls, the fire in progress finishes.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
)

type worker struct {
	nc       *nats.Conn
	js       nats.JetStreamContext
	prefix   string
	node     string
	jobType  string
	workerID string
	ackWait  time.Duration
	jobs     nats.KeyValue
	locks    nats.KeyValue
	mu       sync.Mutex
	cancels  map[string]context.CancelFunc // fireId -> cancel of its run (interrupts)
	reasons  map[string]string             // fireId -> the interrupt's reason
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func main() {
	w := &worker{
		prefix:  env("TASKJET_PREFIX", "taskjet"),
		node:    env("TASKJET_NODE", "go1"),
		jobType: env("TASKJET_TYPE", "greet"),
		ackWait: 30 * time.Second,
		cancels: map[string]context.CancelFunc{},
		reasons: map[string]string{},
	}
	host, _ := os.Hostname()
	w.workerID = fmt.Sprintf("%s-go-%d", w.node, os.Getpid())
	nc, err := nats.Connect(env("NATS_URL", nats.DefaultURL), nats.Name("taskjet-go-worker"))
	if err != nil {
		log.Fatalf("connect: %v", err)
	}
	defer nc.Drain()
	w.nc = nc
	if w.js, err = nc.JetStream(); err != nil {
		log.Fatalf("jetstream: %v", err)
	}
	// the scheduler creates the buckets; a worker only binds them
	if w.jobs, err = w.js.KeyValue(w.prefix + "-jobs"); err != nil {
		log.Fatalf("job bucket (is a scheduler running?): %v", err)
	}
	if w.locks, err = w.js.KeyValue(w.prefix + "-locks"); err != nil {
		log.Fatalf("lock bucket: %v", err)
	}
	registry, err := w.js.KeyValue(w.prefix + "-registry")
	if err != nil {
		log.Fatalf("registry bucket: %v", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go w.heartbeat(ctx, registry, host)
	for _, node := range []string{w.node, "_all"} {
		if _, err := nc.Subscribe(fmt.Sprintf("%s.ctl.%s", w.prefix, node), w.onInterrupt); err != nil {
			log.Fatalf("interrupts: %v", err)
		}
	}

	// step 1: a durable pull consumer per priority for this node and job type, highest priority first
	var subs []*nats.Subscription
	token := subjectToken(w.jobType)
	for p := 5; p >= 1; p-- {
		name := fmt.Sprintf("%s-node%d-%s-%s-p%d", w.prefix, len(w.node), w.node, token, p)
		filter := fmt.Sprintf("%s.run.*.%s.%s.p%d.*", w.prefix, w.node, token, p)
		stream := w.prefix + "-run"
		_, err := w.js.AddConsumer(stream, &nats.ConsumerConfig{
			Durable: name, FilterSubject: filter, AckPolicy: nats.AckExplicitPolicy,
			DeliverPolicy: nats.DeliverAllPolicy, AckWait: w.ackWait, MaxDeliver: -1, MaxAckPending: 1000,
		})
		if err != nil && !errors.Is(err, nats.ErrConsumerNameAlreadyInUse) {
			log.Fatalf("consumer %s: %v", name, err)
		}
		sub, err := w.js.PullSubscribe(filter, name, nats.Bind(stream, name))
		if err != nil {
			log.Fatalf("pull %s: %v", name, err)
		}
		subs = append(subs, sub)
	}
	log.Printf("worker %s: node %s, type %s, prefix %s", w.workerID, w.node, w.jobType, w.prefix)

	for ctx.Err() == nil {
		got := false
		for _, sub := range subs { // the first priority with a fire wins; then start again from p5
			msgs, err := sub.Fetch(1, nats.MaxWait(200*time.Millisecond))
			if err != nil || len(msgs) == 0 {
				continue
			}
			w.handle(ctx, msgs[0])
			got = true
			break
		}
		if !got {
			time.Sleep(100 * time.Millisecond)
		}
	}
	log.Printf("worker %s stopped", w.workerID)
}

// handle runs one fire: steps 2 to 8 of the protocol's worker section.
func (w *worker) handle(ctx context.Context, msg *nats.Msg) {
	fire, err := decodeFire(msg)
	if err != nil {
		w.poison(msg, err)
		return
	}
	log.Printf("fire %s attempt %d (%s)", fire.FireID, fire.Attempt, msg.Header.Get("Content-Type"))
	// step 3: a scheduled fire may come up to 750 ms early: start at its nominal time (at most 5 s later)
	if wait := time.Until(fire.nominal); wait > 0 {
		time.Sleep(minDuration(wait, 5*time.Second))
	}
	key := fmt.Sprintf("%s.%s.%s", fire.TenantID, fire.Group, fire.JobID)
	job, err := w.readJob(key)
	if err != nil {
		log.Printf("read %s: %v (handing the fire back)", key, err)
		_ = msg.NakWithDelay(time.Second)
		return
	}
	// step 4: removed, paused or stopped: skip; ran already (its ack was lost): skip. completed still runs.
	if job == nil || job.status() == "paused" || job.status() == "stopped" {
		w.skip(msg, fire, map[bool]string{true: "removed", false: job.status()}[job == nil])
		return
	}
	if contains(job.state["doneRuns"], fire.runKey()) {
		w.skip(msg, fire, "finished")
		return
	}
	// step 5: the job's lock, when it asks for one
	var lockRev uint64
	if fire.LockTimeoutSeconds > 0 {
		if lockRev, err = w.lock(fire); err != nil {
			log.Printf("%s: %v: retrying in 1 s", fire.FireID, err)
			_ = msg.NakWithDelay(time.Second)
			return
		}
		defer func() { _ = w.locks.Delete(fire.TenantID+"."+fire.JobID, nats.LastRevision(lockRev)) }()
	}
	startedAt := time.Now().UTC()
	if fire.TrackRunning {
		entry := map[string]interface{}{
			"fireId": fire.FireID, "nominalTime": fire.NominalTime, "worker": w.workerID, "node": w.node,
			"startedAt": iso(startedAt), "attempt": fire.Attempt,
		}
		if job, err = w.update(key, job, func(j *record) { j.addRunning(entry) }); err != nil {
			log.Printf("%s: %v (handing the fire back)", key, err)
			_ = msg.NakWithDelay(time.Second)
			return
		}
	}
	// step 6: run, keeping the fire alive; timeoutSeconds and interrupts cancel the context. It is
	// registered before anything says the run started, so an interrupt sent in reply is never missed.
	runCtx, cancel := context.WithCancel(ctx)
	if fire.TimeoutSeconds > 0 {
		runCtx, cancel = context.WithTimeout(ctx, time.Duration(fire.TimeoutSeconds)*time.Second)
	}
	w.mu.Lock()
	w.cancels[fire.FireID] = cancel
	w.mu.Unlock()
	w.report(fire, "before", job.status(), nil)
	w.runLog(fire, "started", startedAt, startedAt, nil)
	alive := make(chan struct{})
	go func() {
		t := time.NewTicker(w.ackWait / 3)
		defer t.Stop()
		for {
			select {
			case <-alive:
				return
			case <-t.C:
				_ = msg.InProgress()
			}
		}
	}()
	result, runErr := w.run(runCtx, fire)
	interrupted := runCtx.Err() == context.Canceled && ctx.Err() == nil
	close(alive)
	cancel()
	w.mu.Lock()
	delete(w.cancels, fire.FireID)
	w.mu.Unlock()
	if errors.Is(runCtx.Err(), context.DeadlineExceeded) {
		runErr = fmt.Errorf("timed out after %d s", fire.TimeoutSeconds)
	}
	finishedAt := time.Now().UTC()

	if ctx.Err() != nil && runErr != nil { // shutdown: hand the fire back for another worker
		_, _ = w.update(key, job, func(j *record) { j.removeRunning(fire.FireID) })
		_ = msg.Nak()
		return
	}
	if interrupted { // paused, stopped, removed: not run again, no counters
		_, _ = w.update(key, job, func(j *record) { j.removeRunning(fire.FireID) })
		_ = msg.AckSync()
		w.runLog(fire, "aborted", startedAt, finishedAt, map[string]interface{}{"reason": w.takeReason(fire.FireID)})
		return
	}
	// step 7: the outcome, compare-and-set on the revision read; the ack only after it landed
	var out outcome
	job, err = w.update(key, job, func(j *record) { out = j.applyResult(fire, result, runErr, startedAt) })
	if err != nil {
		log.Printf("%s: outcome not written: %v (handing the fire back)", key, err)
		_ = msg.Nak()
		return
	}
	if err := msg.AckSync(); err != nil {
		log.Printf("%s: ack: %v", fire.FireID, err)
	}
	// step 8: run log and after event
	extra := map[string]interface{}{"durationMs": finishedAt.Sub(startedAt).Milliseconds()}
	outcomeName := "succeeded"
	if runErr != nil {
		outcomeName, extra["error"] = "failed", runErr.Error()
	} else {
		extra["result"] = result
	}
	w.runLog(fire, outcomeName, startedAt, finishedAt, extra)
	w.report(fire, "after", job.status(), extra)
	if out.abandoned {
		w.deadLetter(msg.Subject, "abandoned", runErr.Error(), fire.raw, nil)
	}
}

// run is the handler of the custom type.
func (w *worker) run(ctx context.Context, fire *fire) (interface{}, error) {
	if fire.Type != w.jobType {
		return nil, fmt.Errorf("no handler for job type %q on this worker", fire.Type)
	}
	if fail, _ := fire.Args["fail"].(bool); fail {
		return nil, errors.New("asked to fail")
	}
	name, _ := fire.Args["name"].(string)
	work := 10 * time.Millisecond
	if ms, ok := fire.Args["sleepMs"].(float64); ok { // JSON numbers
		work = time.Duration(ms) * time.Millisecond
	} else if ms := num(fire.Args["sleepMs"]); ms > 0 { // msgpack integers
		work = time.Duration(ms) * time.Millisecond
	}
	select {
	case <-ctx.Done(): // an interrupt, the job's timeout or shutdown
		return nil, ctx.Err()
	case <-time.After(work):
	}
	return "hello, " + name + " from Go", nil
}

// onInterrupt cancels the runs an interrupt names (fireId "*": every run of the job).
func (w *worker) onInterrupt(m *nats.Msg) {
	var in struct {
		JobID    string `msgpack:"jobId" json:"jobId"`
		TenantID string `msgpack:"tenantId" json:"tenantId"`
		FireID   string `msgpack:"fireId" json:"fireId"`
		Reason   string `msgpack:"reason" json:"reason"`
	}
	if err := decodeBody(m.Header.Get("Content-Type"), m.Data, &in); err != nil {
		return
	}
	prefix := fmt.Sprintf("%s.%s:", in.TenantID, in.JobID)
	w.mu.Lock()
	defer w.mu.Unlock()
	for id, cancel := range w.cancels {
		if id == in.FireID || (in.FireID == "*" && strings.HasPrefix(id, prefix)) {
			log.Printf("interrupt %s: %s", id, in.Reason)
			w.reasons[id] = in.Reason
			cancel()
		}
	}
}

// takeReason is the interrupt reason recorded for a run (paused, stopped, removed, replaced).
func (w *worker) takeReason(fireID string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	r := w.reasons[fireID]
	delete(w.reasons, fireID)
	if r == "" {
		r = "interrupted"
	}
	return r
}

func (w *worker) skip(msg *nats.Msg, fire *fire, reason string) {
	_ = msg.AckSync()
	now := time.Now().UTC()
	w.runLog(fire, "skipped", now, now, map[string]interface{}{"reason": reason})
}

// poison: a fire that does not decode or fails the schema is dead-lettered and terminated, never retried.
func (w *worker) poison(msg *nats.Msg, err error) {
	log.Printf("poison on %s: %v", msg.Subject, err)
	w.deadLetter(msg.Subject, "poison", err.Error(), nil, msg.Data)
	_ = msg.Term()
}

func minDuration(a, b time.Duration) time.Duration {
	if a < b {
		return a
	}
	return b
}

// contains reports whether a decoded array (state.doneRuns) holds s.
func contains(list interface{}, s string) bool {
	items, _ := list.([]interface{})
	for _, it := range items {
		if it == s {
			return true
		}
	}
	return false
}

// subjectToken is a job type's (or group's) subject token (protocol.md, "Names of job types and groups"):
// every byte of the UTF-8 name outside A-Z a-z 0-9 _ - written as =XX (upper-case hex).
func subjectToken(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "=%02X", c)
		}
	}
	return b.String()
}

package main

import (
	"errors"
	"fmt"
	"math"
	"math/rand"
	"time"

	"github.com/nats-io/nats.go"
)

// record is a job store value { def, state }, kept as maps so that fields this worker does not know are
// written back unchanged.
type record struct {
	def      map[string]interface{}
	state    map[string]interface{}
	revision uint64
	remove   bool // the run finished the job and its retention says remove at once
}

type outcome struct{ abandoned, completed bool }

func (j *record) status() string { s, _ := j.state["status"].(string); return s }

// readJob is step 4's read, from the stream leader ($JS.API.STREAM.MSG.GET), so a redelivered fire is
// checked against every acknowledged write. nil when the job does not exist.
func (w *worker) readJob(key string) (*record, error) {
	bucket := w.prefix + "-jobs"
	m, err := w.js.GetLastMsg("KV_"+bucket, fmt.Sprintf("$KV.%s.%s", bucket, key))
	if errors.Is(err, nats.ErrMsgNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if op := m.Header.Get("KV-Operation"); op == "DEL" || op == "PURGE" {
		return nil, nil
	}
	var v struct {
		Def   map[string]interface{} `msgpack:"def"`
		State map[string]interface{} `msgpack:"state"`
	}
	if err := decodeBody("application/msgpack", m.Data, &v); err != nil {
		return nil, fmt.Errorf("job %s does not decode: %w", key, err)
	}
	return &record{def: v.Def, state: v.State, revision: m.Sequence}, nil
}

// update applies fn and writes with compare-and-set on the record's revision; when someone else wrote
// meanwhile it reads the job again and re-applies fn (fn must be a function of the record it is given).
func (w *worker) update(key string, j *record, fn func(*record)) (*record, error) {
	for try := 0; try < 20; try++ {
		if j == nil {
			return nil, errors.New("the job was removed")
		}
		fn(j)
		var err error
		if j.remove {
			err = w.jobs.Delete(key, nats.LastRevision(j.revision))
			if err == nil {
				return j, nil
			}
		} else {
			body := map[string]interface{}{"def": j.def, "state": j.state}
			var rev uint64
			if rev, err = w.jobs.Update(key, encodeMsgpack(body), j.revision); err == nil {
				j.revision = rev
				return j, nil
			}
		}
		if !isConflict(err) {
			return nil, err
		}
		if j, err = w.readJob(key); err != nil {
			return nil, err
		}
	}
	return nil, errors.New("too many concurrent writes")
}

func isConflict(err error) bool {
	var apiErr *nats.APIError
	return errors.Is(err, nats.ErrKeyExists) ||
		(errors.As(err, &apiErr) && apiErr.ErrorCode == nats.JSErrCodeStreamWrongLastSequence)
}

// lock takes the job's run lock (step 5): create, or take over an expired one.
func (w *worker) lock(f *fire) (uint64, error) {
	key := f.TenantID + "." + f.JobID
	value := encodeMsgpack(map[string]interface{}{
		"owner": w.workerID, "fireId": f.FireID,
		"expiresAt": time.Now().Add(time.Duration(f.LockTimeoutSeconds) * time.Second).UnixMilli(),
	})
	rev, err := w.locks.Create(key, value)
	if err == nil {
		return rev, nil
	}
	e, getErr := w.locks.Get(key)
	if getErr != nil {
		return 0, err
	}
	// a map, not a struct: an epoch-ms expiresAt written by msgpackr is a float64, which an int64 field refuses
	var held map[string]interface{}
	if err := decodeBody("application/msgpack", e.Value(), &held); err != nil {
		return 0, fmt.Errorf("the job's lock does not decode: %w", err)
	}
	if num(held["expiresAt"]) > time.Now().UnixMilli() {
		return 0, errors.New("the job's lock is held")
	}
	return w.locks.Update(key, value, e.Revision())
}

func (j *record) addRunning(entry map[string]interface{}) {
	j.removeRunning(entry["fireId"].(string))
	list, _ := j.state["running"].([]interface{})
	j.state["running"] = append(list, entry)
	if s := j.status(); s != "paused" && s != "stopped" {
		j.state["status"] = "running"
	}
}

func (j *record) removeRunning(fireID string) {
	kept := []interface{}{}
	if list, ok := j.state["running"].([]interface{}); ok {
		for _, r := range list {
			if m, ok := r.(map[string]interface{}); !ok || m["fireId"] != fireID {
				kept = append(kept, r)
			}
		}
	}
	j.state["running"] = kept
	if j.status() == "running" && len(kept) == 0 {
		j.state["status"] = "queuing"
	}
}

// applyResult is step 7: the state after a success (runErr nil) or a failure, from the state read.
func (j *record) applyResult(f *fire, result interface{}, runErr error, startedAt time.Time) outcome {
	s, d := j.state, j.def
	now := time.Now().UTC()
	status := j.status()
	held := status == "paused" || status == "stopped"
	recurring := d["jobType"] != "once"
	j.removeRunning(f.FireID)
	if held { // removeRunning may not turn a paused job into queuing; keep what was there
		s["status"] = status
	}
	s["updatedAt"] = iso(now)
	s["lastRunTime"] = iso(startedAt)
	if f.NextNominalTime != "" {
		s["nextRunTime"] = f.NextNominalTime
	} else if f.Last {
		delete(s, "nextRunTime")
	}
	// who counts: the scheduler for finite and tracked jobs, the worker for the others' scheduled fires
	schedulerCounts := num(d["maxCount"]) > 0 || d["overlapPolicy"] != "allow" || num(d["lockTimeoutSeconds"]) > 0
	if !schedulerCounts && (f.Reason == "schedule" || f.Reason == "catchUp") {
		last, err := time.Parse(time.RFC3339Nano, fmt.Sprint(s["lastFireTime"]))
		if s["lastFireTime"] == nil || err != nil || f.nominal.After(last) {
			s["lastFireTime"] = f.NominalTime
			s["triggerCount"] = num(s["triggerCount"]) + 1
		}
	}
	done, _ := s["doneRuns"].([]interface{})
	done = append(done, f.runKey())
	if len(done) > 64 {
		done = done[len(done)-64:]
	}
	s["doneRuns"] = done
	delete(s, "retryAt")
	out := outcome{}
	if runErr == nil {
		s["tryCount"] = 0
		s["isAbandoned"] = false
		delete(s, "lastError")
		delete(s, "result")
		if result != nil {
			s["result"] = result
		}
		if !held {
			out.completed = !recurring || f.Last
			s["status"] = map[bool]string{true: "completed", false: "queuing"}[out.completed]
		}
	} else {
		tries := num(s["tryCount"]) + 1
		s["tryCount"] = tries
		s["lastError"] = runErr.Error()
		if maxTry := num(d["maxTryCount"]); maxTry > 0 && tries >= maxTry {
			s["status"], s["isAbandoned"] = "stopped", true
			out.abandoned = true
		} else if recurring {
			if !held {
				out.completed = f.Last
				s["status"] = map[bool]string{true: "completed", false: "queuing"}[f.Last]
			}
		} else {
			// backoff: min(1 s * 2^(n-1), 1 h) * (0.5 + random), as the Node worker
			delay := math.Min(1000*math.Pow(2, float64(tries-1)), 3_600_000) * (0.5 + rand.Float64())
			s["retryAt"] = iso(now.Add(time.Duration(delay) * time.Millisecond))
			if !held {
				s["status"] = "failedRetry"
			}
		}
	}
	j.remove = (out.completed && d["removeOnComplete"] == true) || (out.abandoned && d["removeOnFail"] == true)
	return out
}

// num reads a msgpack or JSON number of any width.
func num(v interface{}) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case uint64:
		return int64(n)
	case int:
		return int64(n)
	case float64:
		return int64(n)
	case float32:
		return int64(n)
	}
	return 0
}

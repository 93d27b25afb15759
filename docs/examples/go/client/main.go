// A taskjet client in Go with nothing but nats.go and JSON (docs/protocol.md): it subscribes to a job's
// events, queues the job, prints its events until the run's `after` event, then reads the job back.
//
//	NATS_URL=nats://127.0.0.1:4222 go run .
//
// Environment: NATS_URL, TASKJET_PREFIX (taskjet), TASKJET_TENANT (default), JOB_TYPE (greet), JOB_NODE (go1;
// empty for any node), JOB_ARGS (JSON, {"name":"Go"}). Exits 0 when the run succeeded, 1 otherwise.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go"
)

type envelope struct {
	OK    bool            `json:"ok"`
	Data  json.RawMessage `json:"data"`
	Error *struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		Field     string `json:"field"`
		Retryable bool   `json:"retryable"`
	} `json:"error"`
}

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

func fail(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, format+"\n", a...)
	os.Exit(1)
}

func main() {
	prefix, tenant := env("TASKJET_PREFIX", "taskjet"), env("TASKJET_TENANT", "default")
	nc, err := nats.Connect(env("NATS_URL", nats.DefaultURL), nats.Name("taskjet-go-client"))
	if err != nil {
		fail("connect: %v", err)
	}
	defer nc.Close()

	// call sends a JSON request to <p>.api.<tenant>.<op> and unwraps the reply envelope into out
	call := func(op string, body interface{}, out interface{}) {
		req := nats.NewMsg(fmt.Sprintf("%s.api.%s.%s", prefix, tenant, op))
		req.Header.Set("Content-Type", "application/json")
		req.Data, _ = json.Marshal(body)
		reply, err := nc.RequestMsg(req, 5*time.Second)
		if err != nil {
			fail("%s: %v (is a taskjet scheduler running?)", op, err)
		}
		var env envelope
		if err := json.Unmarshal(reply.Data, &env); err != nil {
			fail("%s: reply is not JSON: %v", op, err)
		}
		if !env.OK {
			fail("%s: %s (%s): %s", op, env.Error.Code, env.Error.Field, env.Error.Message)
		}
		if err := json.Unmarshal(env.Data, out); err != nil {
			fail("%s: %v", op, err)
		}
	}

	var args map[string]interface{}
	if err := json.Unmarshal([]byte(env("JOB_ARGS", `{"name":"Go"}`)), &args); err != nil {
		fail("JOB_ARGS: %v", err)
	}
	id := fmt.Sprintf("go-%d", time.Now().UnixNano())
	job := map[string]interface{}{"id": id, "name": "hello from Go", "type": env("JOB_TYPE", "greet"), "args": args}
	if node := env("JOB_NODE", "go1"); node != "" {
		job["nodeName"] = node
	}

	// subscribe before queueing, so no event is missed: <p>.evt.<tenant>.<group>.<type>.<jobId>.<phase>
	events, err := nc.SubscribeSync(fmt.Sprintf("%s.evt.%s.*.*.%s.*", prefix, tenant, id))
	if err != nil {
		fail("subscribe: %v", err)
	}
	var queued struct {
		ID      string `json:"id"`
		Created bool   `json:"created"`
	}
	call("queue", job, &queued)
	fmt.Printf("queued %s (created: %v)\n", queued.ID, queued.Created)

	var after map[string]interface{}
	for deadline := time.Now().Add(30 * time.Second); after == nil; {
		m, err := events.NextMsg(time.Until(deadline))
		if err != nil {
			fail("no after event within 30 s: %v", err)
		}
		var data map[string]interface{}
		if err := json.Unmarshal(m.Data, &data); err != nil {
			fail("event data is not JSON: %v", err)
		}
		fmt.Printf("event %s (%s): status %v\n", m.Header.Get("ce-type"), m.Subject, data["status"])
		if data["phase"] == "after" {
			after = data
		}
	}

	var got struct {
		Job map[string]interface{} `json:"job"`
	}
	call("get", map[string]string{"id": id}, &got)
	fmt.Printf("job %s: status %v, triggerCount %v, tryCount %v, result %v\n", id, got.Job["status"],
		got.Job["triggerCount"], got.Job["tryCount"], got.Job["result"])
	if after["error"] != nil {
		fail("the run failed: %v", after["error"])
	}
}

import { describe, expect, it } from "vitest";
import {
  actionSubjectAllowed,
  actionSubjectRefusal,
  assertActionSubjects,
  parseSubjectPatterns,
  subjectMatches,
  ValidationError,
} from "@taskjet/protocol";

const scope = { prefix: "tj", tenant: "acme" };

describe("action subjects", () => {
  it.each([
    ["tj.evt.acme.action.done", true],
    ["tj.evt.acme.reports.http.nightly.after", true],
    ["tj.evt.acme", false],
    ["tj.evt.other.action.done", false],
    ["tj.api.acme.queue", false],
    ["tj.run.acme._any.x.p3.j1", false],
    ["tj.ctl._all", false],
    ["tj.sys.scheduler.shutdown", false],
    ["tj.log.acme.x", false],
    ["$KV.tj-jobs.other.default.victim", false],
    ["$KV.tj-lease.leader", false],
    ["$JS.API.STREAM.DELETE.tj-run", false],
    ["$SYS.REQ.SERVER.PING", false],
    ["_INBOX.abc", false],
    ["app.done", false],
    ["tj.evt.acme..x", false],
    ["tj.evt.acme.a b", false],
  ])("%s allowed: %s", (subject, ok) => {
    expect(actionSubjectAllowed(subject, scope)).toBe(ok);
  });

  it("an operator pattern opens subjects outside the prefix, never reserved or internal ones", () => {
    const allow = parseSubjectPatterns("app.>, hooks.*.done", "TASKJET_ACTION_SUBJECT_ALLOW");
    expect(allow).toEqual(["app.>", "hooks.*.done"]);
    const s = { ...scope, allow };
    expect(actionSubjectAllowed("app.done", s)).toBe(true);
    expect(actionSubjectAllowed("hooks.x.done", s)).toBe(true);
    expect(actionSubjectAllowed("hooks.x.y.done", s)).toBe(false);
    const all = { ...scope, allow: [">"] };
    expect(actionSubjectAllowed("anything.at.all", all)).toBe(true);
    expect(actionSubjectAllowed("$KV.tj-jobs.x", all)).toBe(false);
    expect(actionSubjectAllowed("tj.api.acme.queue", all)).toBe(false);
    expect(actionSubjectAllowed("tj.evt.other.x", all)).toBe(false);
  });

  it("refusals say why", () => {
    expect(actionSubjectRefusal("$KV.tj-jobs.x", scope)).toMatch(/reserved/);
    expect(actionSubjectRefusal("tj.evt.other.x", scope)).toMatch(/another tenant/);
    expect(actionSubjectRefusal("tj.api.acme.queue", scope)).toMatch(/internal taskjet subject/);
    expect(actionSubjectRefusal("app.done", scope)).toMatch(/TASKJET_ACTION_SUBJECT_ALLOW/);
  });

  it("subjectMatches follows NATS wildcards", () => {
    expect(subjectMatches("a.*", "a.b")).toBe(true);
    expect(subjectMatches("a.*", "a.b.c")).toBe(false);
    expect(subjectMatches("a.>", "a")).toBe(false);
    expect(subjectMatches("a.>", "a.b.c")).toBe(true);
    expect(subjectMatches("a.b", "a.b")).toBe(true);
  });

  it("bad operator patterns name the setting", () => {
    expect(() => parseSubjectPatterns(["ok.>", "a.>.b"], "actionSubjectAllow")).toThrow(
      expect.objectContaining({ field: "actionSubjectAllow.1" }),
    );
    expect(() => parseSubjectPatterns("a..b", "TASKJET_ACTION_SUBJECT_ALLOW")).toThrow(ValidationError);
  });

  it("assertActionSubjects names the first refused action's subject", () => {
    const actions = [
      { kind: "webhook", url: "http://x" },
      { kind: "publish", subject: "tj.evt.acme.ok" },
      { kind: "publish", subject: "$KV.tj-lease.leader" },
    ];
    expect(() => assertActionSubjects(actions, scope)).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT", field: "actions.2.subject" }),
    );
    expect(() => assertActionSubjects(actions, scope, "jobs.4")).toThrow(
      expect.objectContaining({ field: "jobs.4.actions.2.subject" }),
    );
  });
});

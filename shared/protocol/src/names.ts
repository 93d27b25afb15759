/**
 * Job type and group names, and the token that carries a name in subjects, KV keys and consumer names.
 *
 * A name is what users already call their jobs: `email.send`, `billing:invoice`,
 * `My.Company.Jobs.ConsoleJob, My.Company.Jobs`. It is 1-128 printable characters (no control or format
 * characters, no white space other than the plain space, none at either end), and it is shown as written
 * everywhere (events, CLI, gateway, the store).
 *
 * Its token (`subjectToken`) is the name with every character outside `A-Z a-z 0-9 _ -` written as `=XX`
 * per UTF-8 byte (upper-case hex, as quoted-printable does): `email.send` -> `email=2Esend`,
 * `billing:invoice` -> `billing=3Ainvoice`. A name made only of those characters (the old rule) is its own
 * token, so existing subjects, keys and consumers do not change. `=` is always escaped (`=3D`), so the code
 * is prefix-free and two names never share a token; `nameOfToken` undoes it. The token uses only
 * `A-Z a-z 0-9 _ - =`: valid as a NATS subject token, a KV key token and inside a JetStream consumer or
 * stream name (no white space, `.`, `*`, `>`, `/`, `\` or non-printables). It is at most 128 characters,
 * which keeps a consumer name `<prefix>-node-<node>-<token>-p<N>` under the server's 255.
 */
import { z } from "zod";

export const MAX_NAME_LENGTH = 128;
export const MAX_TOKEN_LENGTH = 128;

const PLAIN = /^[A-Za-z0-9_-]$/;
const PLAIN_NAME = /^[A-Za-z0-9_-]+$/;
const TOKEN = /^(?:[A-Za-z0-9_-]|=[0-9A-F]{2})+$/;
// control, format, surrogate, unassigned and private-use characters, and white space other than " "
const UNPRINTABLE = /[\p{C}]|(?! )\s/u;
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** Tokens of the names seen lately: a process sees few types and groups, each on every fire and event. */
const tokens = new Map<string, string>();
const TOKENS_KEPT = 1024;

/** The subject token of a name: plain names map to themselves, every other byte to `=XX`. */
export function subjectToken(name: string): string {
  // the common case, on every fire's key and event subject: nothing to escape
  if (PLAIN_NAME.test(name)) return name;
  let out = tokens.get(name);
  if (out !== undefined) return out;
  out = "";
  for (const ch of name) {
    const code = ch.charCodeAt(0);
    if (PLAIN.test(ch)) out += ch;
    else if (code < 0x80) out += `=${hex(code)}`;
    else for (const b of encoder.encode(ch)) out += `=${hex(b)}`;
  }
  if (tokens.size >= TOKENS_KEPT) tokens.clear();
  tokens.set(name, out);
  return out;
}

const hex = (b: number): string => (b < 16 ? "0" : "") + b.toString(16).toUpperCase();

/** The name a token stands for, or undefined when `token` is not one subjectToken makes. */
export function nameOfToken(token: string): string | undefined {
  if (!TOKEN.test(token)) return undefined;
  const bytes: number[] = [];
  for (let i = 0; i < token.length;) {
    if (token[i] === "=") {
      bytes.push(parseInt(token.slice(i + 1, i + 3), 16));
      i += 3;
    } else {
      bytes.push(token.charCodeAt(i));
      i += 1;
    }
  }
  let name: string;
  try {
    name = decoder.decode(Uint8Array.from(bytes));
  } catch {
    return undefined;
  }
  // canonical only: `=41` for "A" decodes, but subjectToken would write "A", so it is not a token of ours
  return subjectToken(name) === token ? name : undefined;
}

/** Why `name` is not a valid type or group name, or undefined when it is. `what` names the field. */
export function nameProblem(what: string, name: string): string | undefined {
  if (name.length === 0) return `${what} must not be empty`;
  if (name.length > MAX_NAME_LENGTH) return `${what} must be at most ${MAX_NAME_LENGTH} characters`;
  if (PLAIN_NAME.test(name)) return undefined; // its own token, within both limits
  if (UNPRINTABLE.test(name)) {
    return `${what} may contain only printable characters and plain spaces (no tabs, line breaks or control characters)`;
  }
  if (name.trim() !== name) return `${what} must not begin or end with a space`;
  const length = subjectToken(name).length;
  if (length > MAX_TOKEN_LENGTH) {
    return (
      `${what} is ${length} characters long once encoded for subjects (at most ${MAX_TOKEN_LENGTH}; ` +
      `each character outside A-Z a-z 0-9 _ - counts 3 per UTF-8 byte): shorten it`
    );
  }
  return undefined;
}

/** True for a valid type or group name (the fast form of `printableName()`). */
export const isName = (v: unknown): v is string => typeof v === "string" && nameProblem("", v) === undefined;

/** A job type or group name (zod), its error naming `what`. */
export const printableName = (what: string) =>
  z.string({ error: `${what} must be a string` }).superRefine((v, ctx) => {
    const problem = nameProblem(what, v);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });

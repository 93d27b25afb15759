import { randomInt } from "node:crypto";

const ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz";

/**
 * `prefix` followed by 8 random lowercase base36 characters, e.g. `t3k9x0q2m`. Safe as a NATS
 * subject token, stream/consumer name and KV bucket name, so parallel test files never collide
 * on a shared server. `prefix` must itself be letters, digits, `_` or `-`.
 */
export function uniqueName(prefix = "t"): string {
  if (!/^[A-Za-z0-9_-]*$/.test(prefix)) {
    throw new Error(`uniqueName: prefix ${JSON.stringify(prefix)} may hold only letters, digits, _ and -`);
  }
  let suffix = "";
  for (let i = 0; i < 8; i++) suffix += ALPHABET[randomInt(ALPHABET.length)];
  return prefix + suffix;
}

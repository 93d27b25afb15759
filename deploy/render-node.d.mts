// Types of render-node.mjs (a plain script, so it runs with node alone), for deploy/test.
import type { Namespace } from "@taskjet/protocol";

export function consumersOf(
  ns: Namespace,
  node: string,
  types: readonly string[],
): { name: string; filter: string }[];
export function permissionsBlock(node: string, types: readonly string[], prefix?: string): string;
export function kedaFile(nodes: readonly string[], types: readonly string[], prefix?: string): string;

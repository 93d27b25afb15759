/**
 * The Kubernetes manifests as the tests see them: `kubectl kustomize` renders an overlay, and every object
 * is checked against the Kubernetes OpenAPI schemas through kubernetes-models (its generated ajv
 * validators) and, for KEDA's ScaledObject, @kubernetes-models/keda. Shared by manifests.test.ts and the
 * container smoke test.
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";

export const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
export const k8sDir = fileURLToPath(new URL("../k8s/", import.meta.url));

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

/** `kubectl kustomize <dir>`, parsed. Throws with kubectl's message when it fails. */
export function render(dir: string): K8sObject[] {
  const out = execFileSync("kubectl", ["kustomize", dir], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  return parseAllDocuments(out).map((d) => d.toJS() as K8sObject);
}

/** Why `kubectl kustomize` cannot run here, or undefined when it can. */
export function kubectlMissing(): string | undefined {
  try {
    execFileSync("kubectl", ["version", "--client"], { stdio: "ignore" });
    return undefined;
  } catch (err) {
    return `kubectl is not available (${(err as Error).message.split("\n")[0]})`;
  }
}

type ModelClass = { apiVersion: string; kind: string; new (data: object): { validate(): void } };

/** The model class of an object's apiVersion and kind; throws for a kind no schema package knows. */
export async function modelFor(obj: Pick<K8sObject, "apiVersion" | "kind">): Promise<ModelClass> {
  const slash = obj.apiVersion.lastIndexOf("/");
  const group = slash < 0 ? "" : obj.apiVersion.slice(0, slash);
  const version = obj.apiVersion.slice(slash + 1);
  const module = group.endsWith("keda.sh")
    ? `@kubernetes-models/keda/${group}/${version}`
    : `kubernetes-models/${group ? `${group}/` : ""}${version}`;
  let exports: Record<string, unknown>;
  try {
    exports = (await import(module)) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`no schema for ${obj.apiVersion}: ${(err as Error).message}`, { cause: err });
  }
  const model = Object.values(exports).find(
    (v): v is ModelClass =>
      typeof v === "function" &&
      (v as Partial<ModelClass>).kind === obj.kind &&
      (v as Partial<ModelClass>).apiVersion === obj.apiVersion,
  );
  if (!model) throw new Error(`no schema for ${obj.apiVersion} ${obj.kind}`);
  return model;
}

/** Validates one object against its schema; resolves to the schema's complaints ("" when valid). */
export async function schemaErrors(obj: K8sObject): Promise<string> {
  const Model = await modelFor(obj);
  try {
    new Model(obj).validate();
    return "";
  } catch (err) {
    return (err as Error).message;
  }
}

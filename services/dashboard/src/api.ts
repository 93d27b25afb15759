/**
 * The gateway's REST API as the dashboard uses it: the bearer token from sign-in (kept in sessionStorage,
 * so it lasts for the browser session and no longer), JSON in and out, and the gateway's error body turned
 * into an ApiError that keeps its code and field.
 */
const TOKEN_KEY = "taskjet.token";

export interface ErrorBody {
  code: string;
  message: string;
  field: string | null;
  details?: { issues?: { field: string; message: string }[] };
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorBody,
  ) {
    super(body.message);
  }
  get code(): string {
    return this.body.code;
  }
  get field(): string | null {
    return this.body.field;
  }
}

export function storedToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function storeToken(token: string | null): void {
  if (token === null) sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, token);
}

export function authHeaders(): Record<string, string> {
  const t = storedToken();
  return t ? { authorization: `Bearer ${t}` } : {};
}

/** The API's base: the gateway that served this page (the app lives at <gateway>/dashboard/). */
export function apiUrl(path: string): string {
  return new URL(path, window.location.origin).toString();
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { ...authHeaders() };
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(apiUrl(path), {
    method,
    headers,
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    throw new ApiError(res.status, { code: "INTERNAL", message: text.slice(0, 200), field: null });
  }
  if (!res.ok) {
    const err = (json as { error?: ErrorBody } | undefined)?.error;
    throw new ApiError(res.status, err ?? { code: "INTERNAL", message: res.statusText, field: null });
  }
  return json as T;
}

export const get = <T>(path: string) => api<T>("GET", path);

/** `?a=1&b=x` from the defined, non-empty values. */
export function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
}

export function errorText(err: unknown): string {
  if (err instanceof ApiError) return `${err.code}${err.field ? ` (${err.field})` : ""}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

// Talking to query-api: JSON requests signed in by the HttpOnly cookie that
// `POST /api/v1/session` sets, errors turned into plain words.

export const API = "/api/v1";

export type Role = "viewer" | "admin";

export interface Principal {
  token_id: string;
  tenant_id: string;
  role: Role;
  profiles: string[] | null;
}

export type Row = Record<string, unknown>;

export interface Page {
  columns: string[];
  rows: Row[];
  limit: number;
  offset: number;
  next_offset: number | null;
  /** The rows the view matches (asked for with `total=true`). */
  total?: number;
}

export interface ColumnMeta {
  name: string;
  kind: "text" | "int" | "time" | "flag" | "array";
  operators: string[];
}

export interface ListMeta {
  columns: ColumnMeta[];
  default_columns: string[];
  key: string;
  windowed: boolean;
}

/** A failed request, with what to tell the person. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const listeners = new Set<() => void>();

/** Called whenever the server says the sign-in is no longer valid. */
export function onSignedOut(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** What a person should read for a failure: the server's own message for requests it
 * refused, plain words for everything else. */
export function plainWords(status: number, code: string, message: string): string {
  switch (code) {
    case "unauthorized":
      return "That token is not valid (unknown or revoked). Sign in with another one.";
    case "forbidden":
      return `Not allowed for your role: ${message}`;
    case "not_found":
      return `Not found: ${message}`;
    case "storage_unavailable":
      return "The statistics store is not reachable right now. Try again in a minute.";
    case "query_timeout":
      return "The query took too long. Narrow the filters or the time range.";
    case "log_export_too_large":
      return `Too much log for one download (${message}). Narrow the From/To window or select fewer sessions.`;
    case "too_many_exports":
      return "Other exports of your organisation are still running. Try again when they finish.";
    case "publish_failed":
      return "The action could not be sent to the sync engines. It was recorded as failed; try again.";
    case "network":
      return "The server cannot be reached. Check your connection and try again.";
  }
  if (status >= 500) return "The server failed to answer. Try again in a minute.";
  return message;
}

async function failure(response: Response): Promise<ApiFailure> {
  let code = "http_" + response.status;
  let message = response.statusText || "request failed";
  try {
    const body = await response.json();
    if (body?.error?.code) code = String(body.error.code);
    if (body?.error?.message) message = String(body.error.message);
  } catch {
    // Not JSON: keep the status line.
  }
  if (response.status === 401) listeners.forEach((l) => l());
  return new ApiFailure(response.status, code, plainWords(response.status, code, message));
}

/** A JSON request to `/api/v1` + `path`. */
export async function request<T>(path: string, init: RequestInit = {}): Promise<T> {
  const headers = new Headers(init.headers);
  headers.set("accept", "application/json");
  if (init.method && init.method !== "GET") headers.set("x-requested-with", "synctel-console");
  if (init.body !== undefined) headers.set("content-type", "application/json");
  let response: Response;
  try {
    response = await fetch(API + path, { ...init, headers, credentials: "same-origin" });
  } catch {
    throw new ApiFailure(0, "network", plainWords(0, "network", ""));
  }
  if (!response.ok) throw await failure(response);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

export const get = <T>(path: string) => request<T>(path);

export function post<T>(path: string, body: unknown): Promise<T> {
  return request<T>(path, { method: "POST", body: JSON.stringify(body) });
}

export async function signIn(token: string): Promise<Principal> {
  return post<Principal>("/session", { token });
}

export async function signOut(): Promise<void> {
  await request<void>("/session", { method: "DELETE" });
}

/** `path` with `params` as its query string (empty values dropped). */
export function withQuery(path: string, params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== "") q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

let metaCache: Promise<Record<string, ListMeta>> | null = null;

/** Every list's columns and defaults (`GET /lists`), fetched once. */
export function listMeta(): Promise<Record<string, ListMeta>> {
  metaCache ??= get<Record<string, ListMeta>>("/lists").catch((e) => {
    metaCache = null;
    throw e;
  });
  return metaCache;
}

/** A request id for an admin action: random, chosen once per confirmation so a retry after
 * a failure cannot act twice (`crypto.randomUUID` needs HTTPS or localhost; this does not). */
export function newRequestId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return "console-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

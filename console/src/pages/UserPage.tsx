// One user: the status triple, connectivity, scope settings, recent sync history, issues,
// and (for admins) the actions, each behind a confirmation.
import { useEffect, useState } from "preact/hooks";
import { get, type ApiFailure, type Principal, type Row } from "../api";
import { DataTable } from "../components/DataTable";
import { ErrorNote } from "../components/ErrorNote";
import { duration, ERROR_CODES, flag, time, tone, words } from "../format";
import { href } from "../router";
import { actionLabel, Actions } from "./Actions";
import { sessionStatus } from "./Sessions";

interface UserDetail {
  user: Row;
  status: { authorized: boolean; active: boolean; sync_enabled: boolean };
  connectivity: { mail_system: string | null; crm_system: string | null; last_token_error: string | null };
  scope: { saved_searches: { name: string; object_type: string; conflict_resolution: string }[] };
  history: Row[];
}

/** What the error codes of sync issues mean (the seeds' legend). */
export function ErrorCodes() {
  return (
    <details class="legend">
      <summary>What the error codes mean</summary>
      <dl class="facts">
        {Object.entries(ERROR_CODES).map(([code, meaning]) => (
          <>
            <dt>{code}</dt>
            <dd>{meaning}</dd>
          </>
        ))}
      </dl>
    </details>
  );
}

interface PendingAction {
  request_id: string;
  action: string;
  issued_at_ms: number;
  waiting_for: string;
  state: "pending" | "no_answer";
}

/** The actions on the user the engine has not confirmed yet (asked again every 2 s while
 * some are pending), and those that took effect since the page opened. */
function PendingActions({ id, version, onConfirmed }: { id: string; version: number; onConfirmed: () => void }) {
  const [pending, setPending] = useState<PendingAction[]>([]);
  const [confirmed, setConfirmed] = useState<string[]>([]);
  const [poll, setPoll] = useState(0);
  useEffect(() => {
    let live = true;
    get<{ pending: PendingAction[] }>(`/users/${encodeURIComponent(id)}/actions/pending`)
      .then((r) => {
        if (!live) return;
        setPending((before) => {
          const done = before.filter((b) => !r.pending.some((p) => p.request_id === b.request_id));
          if (done.length > 0) {
            setConfirmed((c) => [...c, ...done.map((d) => actionLabel(d.action))]);
            onConfirmed();
          }
          return r.pending;
        });
      })
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [id, version, poll]);
  useEffect(() => {
    if (!pending.some((p) => p.state === "pending")) return;
    const t = setTimeout(() => setPoll((n) => n + 1), 2000);
    return () => clearTimeout(t);
  }, [pending, poll]);
  if (pending.length === 0 && confirmed.length === 0) return null;
  return (
    <div class="pending-actions" role="status" data-testid="pending-actions">
      {pending.map((p) => (
        <p class={p.state === "pending" ? "pending" : "error"}>
          <strong>{actionLabel(p.action)}</strong> sent {time(p.issued_at_ms)}:{" "}
          {p.state === "pending"
            ? `pending, waiting for ${p.waiting_for}.`
            : `no answer from the sync engine yet (waiting for ${p.waiting_for}).`}
        </p>
      ))}
      {confirmed.length > 0 && (
        <p class="ok">
          {confirmed.join(", ")}: took effect (the engine reported it); the status above is updated within seconds.
        </p>
      )}
    </div>
  );
}

function Triple({ name, ok }: { name: string; ok: boolean }) {
  return (
    <li class={`triple ${ok ? "good" : "bad"}`}>
      <span class="triple-name">{name}</span> <strong>{ok ? "yes" : "no"}</strong>
    </li>
  );
}

export function UserPage({ id, me }: { id: string; me: Principal }) {
  const [d, setD] = useState<UserDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [reload, setReload] = useState(0);
  const [sent, setSent] = useState(0);
  // After an action took effect, the derived status follows within an aggregator cycle or
  // two: ask again every 2 s for 20 s.
  const [followUntil, setFollowUntil] = useState(0);
  useEffect(() => {
    if (followUntil === 0) return;
    const t = setInterval(() => {
      if (Date.now() > followUntil) clearInterval(t);
      else setReload((n) => n + 1);
    }, 2000);
    return () => clearInterval(t);
  }, [followUntil]);
  useEffect(() => {
    get<UserDetail>(`/users/${encodeURIComponent(id)}`)
      .then((x) => {
        setD(x);
        setError(null);
      })
      .catch((e: ApiFailure) => setError(e.message));
  }, [id, reload]);

  if (error) return <ErrorNote message={error} />;
  if (!d) return <p class="muted">Loading…</p>;
  const u = d.user;
  return (
    <>
      <div class="page-head">
        <h1>{String(u.display_name || u.user_id)}</h1>
        <p class="muted">
          {String(u.user_id)} · {String(u.mail_account)} · profile{" "}
          <a href={href("profiles", String(u.profile_id))}>{String(u.profile_id)}</a>
        </p>
      </div>
      <nav class="tabs" aria-label="User views">
        <a href={href("users", id)} aria-current="page">
          User
        </a>
        <a href={href("users", id, "sessions")}>Session statistics</a>
        <a href={href("users", id, "issues")}>Sync issues</a>
      </nav>
      <PendingActions id={id} version={sent} onConfirmed={() => setFollowUntil(Date.now() + 20_000)} />
      <div class="grid">
        <section class="panel" aria-labelledby="status-title">
          <h2 id="status-title">Status</h2>
          <ul class="triples">
            <Triple name="Authorized" ok={d.status.authorized} />
            <Triple name="Active" ok={d.status.active} />
            <Triple name="Sync enabled" ok={d.status.sync_enabled} />
          </ul>
          <dl class="facts">
            <dt>Effective status</dt>
            <dd>
              <span class={`badge ${tone(u.effective_status)}`} data-testid="effective-status">
                {words(u.effective_status)}
              </span>
            </dd>
            <dt>Setting</dt>
            <dd>{words(u.sync_setting)}</dd>
            <dt>Profile status</dt>
            <dd>{words(u.profile_status)}</dd>
            <dt>Sync state</dt>
            <dd>{words(u.sync_state)}</dd>
            <dt>Consecutive failures</dt>
            <dd>{String(u.consecutive_failures)}</dd>
            <dt>Recent session</dt>
            <dd>{Number(u.no_recent_session) === 1 ? "none lately" : "yes"}</dd>
          </dl>
        </section>
        <section class="panel" aria-labelledby="conn-title">
          <h2 id="conn-title">Connectivity</h2>
          <dl class="facts">
            <dt>Mail system</dt>
            <dd>{d.connectivity.mail_system ?? "unknown"}</dd>
            <dt>CRM system</dt>
            <dd>{d.connectivity.crm_system ?? "unknown"}</dd>
            <dt>CRM user</dt>
            <dd>{String(u.crm_user_name ?? "")}</dd>
            <dt>CRM token active</dt>
            <dd>{flag(u.crm_token_active)}</dd>
            <dt>Mail authorized</dt>
            <dd>{flag(u.mail_token_authorized)}</dd>
            <dt>Last token error</dt>
            <dd>{d.connectivity.last_token_error || "none"}</dd>
          </dl>
        </section>
        <section class="panel" aria-labelledby="scope-title">
          <h2 id="scope-title">Scope settings</h2>
          {d.scope.saved_searches.length === 0 ? (
            <p class="muted">No saved searches.</p>
          ) : (
            <table>
              <thead>
                <tr>
                  <th>Saved search</th>
                  <th>Object</th>
                  <th>Conflicts</th>
                </tr>
              </thead>
              <tbody>
                {d.scope.saved_searches.map((s) => (
                  <tr>
                    <td>{s.name}</td>
                    <td>{s.object_type}</td>
                    <td>{s.conflict_resolution}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      </div>
      {me.role === "admin" ? (
        <Actions
          user={id}
          name={String(u.display_name || id)}
          onDone={() => {
            setReload(reload + 1);
            setSent(sent + 1);
          }}
        />
      ) : (
        <p class="muted">Actions are for admins; you are signed in as a viewer.</p>
      )}
      <section class="panel" aria-labelledby="history-title">
        <h2 id="history-title">Sync history (latest 20)</h2>
        <div class="scroll" role="region" aria-label="Sync history table" tabIndex={0}>
          <table>
            <thead>
              <tr>
                <th>Started</th>
                <th>Duration</th>
                <th>Trigger</th>
                <th>Status</th>
                <th>Changes</th>
                <th>Error</th>
              </tr>
            </thead>
            <tbody>
              {d.history.map((s) => (
                <tr class={`tone-${tone(s.status) || "none"}`}>
                  <td>{time(s.started_at_ms)}</td>
                  <td>{duration(s.duration_ms)}</td>
                  <td>{words(s.trigger)}</td>
                  <td>
                    <span class={`badge ${tone(s.status)}`}>{sessionStatus(s)}</span>
                  </td>
                  <td>{String(s.changes ?? "")}</td>
                  <td>
                    {s.error_category ? `${words(s.error_category)} (${words(s.error_source)}): ` : ""}
                    {String(s.message ?? "")}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <p>
          <a href={href("users", id, "sessions")}>All sessions, with details and logs →</a>
        </p>
      </section>
      <DataTable
        key={`issues-${id}`}
        list="issues"
        endpoint={`/users/${encodeURIComponent(id)}/issues`}
        title="Sync issues (last 3 days)"
        storageKey="columns.issues.v2"
        pageSize={20}
      />
      <p>
        <a href={href("users", id, "issues")}>All sync issues, in a From/To window →</a>
      </p>
      <ErrorCodes />
    </>
  );
}

// One user: the status triple, connectivity, scope settings, recent sync history, issues,
// and (for admins) the actions, each behind a confirmation.
import { useEffect, useState } from "preact/hooks";
import { get, type ApiFailure, type Principal, type Row } from "../api";
import { DataTable } from "../components/DataTable";
import { ErrorNote } from "../components/ErrorNote";
import { duration, flag, time, tone } from "../format";
import { href } from "../router";
import { Actions } from "./Actions";

interface UserDetail {
  user: Row;
  status: { authorized: boolean; active: boolean; sync_enabled: boolean };
  connectivity: { mail_system: string | null; crm_system: string | null; last_token_error: string | null };
  scope: { saved_searches: { name: string; object_type: string; conflict_resolution: string }[] };
  history: Row[];
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
      </nav>
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
                {String(u.effective_status)}
              </span>
            </dd>
            <dt>Setting</dt>
            <dd>{String(u.sync_setting)}</dd>
            <dt>Profile status</dt>
            <dd>{String(u.profile_status)}</dd>
            <dt>Sync state</dt>
            <dd>{String(u.sync_state)}</dd>
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
        <Actions user={id} name={String(u.display_name || id)} onDone={() => setReload(reload + 1)} />
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
                  <td>{String(s.trigger ?? "")}</td>
                  <td>
                    <span class={`badge ${tone(s.status)}`}>{String(s.status || "in progress")}</span>
                  </td>
                  <td>{String(s.changes ?? "")}</td>
                  <td>{String(s.message ?? "")}</td>
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
        storageKey="columns.issues"
        pageSize={20}
      />
    </>
  );
}

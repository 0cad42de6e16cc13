// Session statistics of a profile or a user: a From/To window (default the last 3 days),
// errors first, a details panel per session (objects report, exception), and log ZIPs per
// session, for the selected sessions and for the whole window.
import { useEffect, useRef, useState } from "preact/hooks";
import { API, get, withQuery, type ApiFailure, type Row } from "../api";
import { Copy } from "../components/Copy";
import { DataTable } from "../components/DataTable";
import { ErrorNote } from "../components/ErrorNote";
import { LogDownload } from "../components/LogDownload";
import { useTimeWindow, WindowForm } from "../components/TimeWindow";
import { count, duration, time, words } from "../format";
import { writeUrl } from "../components/DataTable";
import { href, parse } from "../router";
import { AsOf, useTick } from "./Monitor";

interface Props {
  profile?: string;
  user?: string;
}

interface SessionDetail extends Row {
  objects: Row[];
}

const OBJECT_COLUMNS: [string, string][] = [
  ["synchronized", "Synchronized"],
  ["mail_to_crm_created", "Mail→CRM created"],
  ["mail_to_crm_updated", "Mail→CRM updated"],
  ["mail_to_crm_deleted", "Mail→CRM deleted"],
  ["crm_to_mail_created", "CRM→mail created"],
  ["crm_to_mail_updated", "CRM→mail updated"],
  ["crm_to_mail_deleted", "CRM→mail deleted"],
];

/** The columns first shown: the reason of an error right after the status, before the
 * figures (on a phone too), so errors-first reads without scrolling sideways. */
const SESSION_COLUMNS = [
  "session_id",
  "status",
  "started_at_ms",
  "duration_ms",
  "error_category",
  "error_source",
  "message",
  "trigger",
  "changes",
  "failures",
  "issues",
];

/** The objects report as tab-separated lines (pastes into a spreadsheet), with a total. */
function objectsText(objects: Row[]): string {
  const head = ["Object", ...OBJECT_COLUMNS.map(([, l]) => l)].join("\t");
  const rows = objects.map((o) =>
    [String(o.object_type), ...OBJECT_COLUMNS.map(([c]) => String(o[c] ?? 0))].join("\t"),
  );
  const total = ["Total", ...OBJECT_COLUMNS.map(([c]) => String(objects.reduce((n, o) => n + Number(o[c] ?? 0), 0)))];
  return [head, ...rows, total.join("\t")].join("\n");
}

/** A session's status in words: queued ("Ready to synchronize") and running ones too. */
export function sessionStatus(s: Row): string {
  if (s.status) return words(s.status);
  if (Number(s.started_at_ms) > 0) return "In progress";
  if (Number(s.queued_at_ms) > 0) return "Ready to synchronize";
  return "";
}

function Details({ id, onClose }: { id: string; onClose: () => void }) {
  const [s, setS] = useState<SessionDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const title = useRef<HTMLHeadingElement>(null);
  // Opened by a tap or Enter: the panel comes into view with its title focused (on a phone
  // it covers the rows; Close or Escape returns to them).
  useEffect(() => {
    title.current?.focus();
    title.current?.scrollIntoView({ block: "nearest" });
  }, [id]);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && onClose();
    addEventListener("keydown", onKey);
    return () => removeEventListener("keydown", onKey);
  }, [onClose]);
  useEffect(() => {
    setS(null);
    get<SessionDetail>(`/sessions/${encodeURIComponent(id)}`)
      .then(setS)
      .catch((e: ApiFailure) => setError(e.message));
  }, [id]);
  const exception = String(s?.exception ?? "");
  return (
    <aside class="details" aria-labelledby="details-title">
      <div class="toolbar">
        <h2 id="details-title" tabIndex={-1} ref={title}>
          Session {id}
        </h2>
        <a class="button" href={`${API}/sessions/${encodeURIComponent(id)}/logs?format=zip`} download>
          Log (ZIP)
        </a>
        <button type="button" onClick={onClose} aria-label="Close the session details">
          Close
        </button>
      </div>
      {error && <ErrorNote message={error} />}
      {s && (
        <>
          <dl class="facts">
            <dt>Status</dt>
            <dd>{sessionStatus(s)}</dd>
            <dt>User</dt>
            <dd>
              <a href={href("users", String(s.user_id))}>{String(s.user_id)}</a>
            </dd>
            <dt>Started</dt>
            <dd>{time(s.started_at_ms)}</dd>
            <dt>Ended</dt>
            <dd>{time(s.ended_at_ms) || "not yet"}</dd>
            <dt>Duration</dt>
            <dd>{duration(s.duration_ms)}</dd>
            <dt>Trigger</dt>
            <dd>{words(s.trigger)}</dd>
            <dt>Changes</dt>
            <dd>
              {count(s.changes)} of {count(s.total_changes)}; {count(s.failures)} failures, {count(s.issues)} issues,{" "}
              {count(s.conflicts)} conflicts
            </dd>
            {s.error_category ? (
              <>
                <dt>Error</dt>
                <dd>
                  {words(s.error_category)} ({words(s.error_source)}): {String(s.message ?? "")}
                </dd>
              </>
            ) : null}
          </dl>
          <h3>
            Objects report {s.objects.length > 0 && <Copy text={objectsText(s.objects)} what="the objects report" />}
          </h3>
          {s.objects.length === 0 ? (
            <p class="muted">No objects reported.</p>
          ) : (
            <div class="scroll" role="region" aria-label="Objects report table" tabIndex={0}>
              <table>
                <thead>
                  <tr>
                    <th>Object</th>
                    {OBJECT_COLUMNS.map(([, l]) => (
                      <th>{l}</th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {s.objects.map((o) => (
                    <tr>
                      <td>{String(o.object_type)}</td>
                      {OBJECT_COLUMNS.map(([c]) => (
                        <td>{count(o[c] ?? 0)}</td>
                      ))}
                    </tr>
                  ))}
                  <tr class="total">
                    <th scope="row">Total</th>
                    {OBJECT_COLUMNS.map(([c]) => (
                      <td>{count(s.objects.reduce((sum, o) => sum + Number(o[c] ?? 0), 0))}</td>
                    ))}
                  </tr>
                </tbody>
              </table>
            </div>
          )}
          <h3>Exception {exception && <Copy text={exception} what="the exception" />}</h3>
          {exception ? (
            <pre class="exception" tabIndex={0} aria-label="Exception">
              {exception}
            </pre>
          ) : (
            <p class="muted">None.</p>
          )}
        </>
      )}
    </aside>
  );
}

export function Sessions({ profile, user }: Props) {
  // From, To and the open session live in the address (with the table's view): Back
  // restores them and a link opens them.
  const [q] = useState(() => parse(location.hash).query);
  const [open, setOpen] = useState<string | null>(() => q.get("session"));
  const [selected, setSelected] = useState<string[]>([]);
  const [format, setFormat] = useState<"zip" | "csv">("zip");
  const tick = useTick();
  const w = useTimeWindow(tick);
  const window = w.params;
  useEffect(() => writeUrl({ session: open ?? "" }), [open]);
  const endpoint = user
    ? `/users/${encodeURIComponent(user)}/sessions`
    : `/profiles/${encodeURIComponent(profile ?? "")}/sessions`;
  const logs = user ? `/users/${encodeURIComponent(user)}/logs` : `/profiles/${encodeURIComponent(profile ?? "")}/logs`;

  return (
    <>
      <div class="page-head">
        <h1>Session statistics: {user ? `user ${user}` : `profile ${profile}`}</h1>
      </div>
      {/* A profile's sessions come from the aggregator's table: as of its last cycle. */}
      {!user && <AsOf />}
      <nav class="tabs" aria-label={user ? "User views" : "Profile views"}>
        {user ? (
          <>
            <a href={href("users", user)}>User</a>
            <a href={href("users", user, "sessions")} aria-current="page">
              Session statistics
            </a>
            <a href={href("users", user, "issues")}>Sync issues</a>
          </>
        ) : (
          <>
            <a href={href("profiles", profile ?? "")}>Users</a>
            <a href={href("profiles", profile ?? "", "sessions")} aria-current="page">
              Session statistics
            </a>
            <a href={href("profiles", profile ?? "", "issues")}>Sync issues</a>
          </>
        )}
      </nav>
      <WindowForm w={w} />
      <div class={open ? "with-details" : ""}>
        {window && (
          <DataTable
            key={endpoint}
            list="sessions"
            endpoint={endpoint}
            title="Sessions (errors first)"
            storageKey="columns.sessions.v2"
            defaultColumns={
              user ? SESSION_COLUMNS : [...SESSION_COLUMNS.slice(0, 2), "user_id", ...SESSION_COLUMNS.slice(2)]
            }
            fixed={window}
            statusColumn="status"
            statusOptions={["Success", "Error", "Canceled", "Skipped"]}
            toneColumn="status"
            onOpen={(r) => setOpen(String(r.session_id))}
            refresh={tick}
            urlState
            cellText={(column, row) => (column === "status" ? sessionStatus(row) : undefined)}
            onSelect={setSelected}
            actions={
              <>
                <label class="inline">
                  Logs as{" "}
                  <select
                    value={format}
                    onChange={(e) => setFormat((e.target as HTMLSelectElement).value as "zip" | "csv")}
                  >
                    <option value="zip">ZIP (a file per session)</option>
                    <option value="csv">CSV (every line)</option>
                  </select>
                </label>
                <LogDownload
                  path={selected.length === 0 ? null : withQuery(logs, { sessions: selected.join(","), format })}
                  label={`Logs of ${selected.length} selected (${format.toUpperCase()})`}
                />
                <LogDownload
                  path={withQuery(logs, { ...window, format })}
                  label={`Logs of the window (${format.toUpperCase()})`}
                />
              </>
            }
          />
        )}
        {open && <Details id={open} onClose={() => setOpen(null)} />}
      </div>
    </>
  );
}

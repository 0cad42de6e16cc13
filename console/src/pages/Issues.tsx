// Sync issues in a From/To window: a user's as a table (with the user's and the profile's
// names, as the seeds list them), a profile's as CSV only (large volume: the API answers a
// profile's issues as CSV, never as pages).
import { API, withQuery } from "../api";
import { DataTable } from "../components/DataTable";
import { useTimeWindow, WindowForm } from "../components/TimeWindow";
import { href } from "../router";
import { useTick } from "./Monitor";
import { ErrorCodes } from "./UserPage";

/** The columns first shown: when, who (names), what, and the error. */
export const ISSUE_COLUMNS = [
  "occurred_at_ms",
  "display_name",
  "profile_name",
  "object_type",
  "direction",
  "object_name",
  "operation",
  "error_code",
  "description",
  "error_source",
  "issue_id",
  "session_id",
];

export function Issues({ user, profile }: { user?: string; profile?: string }) {
  const tick = useTick();
  const w = useTimeWindow(tick);
  const who = user ?? profile ?? "";
  const endpoint = user
    ? `/users/${encodeURIComponent(user)}/issues`
    : `/profiles/${encodeURIComponent(profile ?? "")}/issues`;
  return (
    <>
      <div class="page-head">
        <h1>Sync issues: {user ? `user ${user}` : `profile ${profile}`}</h1>
      </div>
      <nav class="tabs" aria-label={user ? "User views" : "Profile views"}>
        {user ? (
          <>
            <a href={href("users", who)}>User</a>
            <a href={href("users", who, "sessions")}>Session statistics</a>
            <a href={href("users", who, "issues")} aria-current="page">
              Sync issues
            </a>
          </>
        ) : (
          <>
            <a href={href("profiles", who)}>Users</a>
            <a href={href("profiles", who, "sessions")}>Session statistics</a>
            <a href={href("profiles", who, "issues")} aria-current="page">
              Sync issues
            </a>
          </>
        )}
      </nav>
      <WindowForm w={w} />
      {w.params && user && (
        <DataTable
          key={endpoint}
          list="issues"
          endpoint={endpoint}
          title="Sync issues (newest first)"
          storageKey="columns.issues.v2"
          defaultColumns={ISSUE_COLUMNS}
          fixed={w.params}
          refresh={tick}
          urlState
        />
      )}
      {w.params && profile && (
        <section class="panel" aria-labelledby="profile-issues-title">
          <h2 id="profile-issues-title">The profile's issues of the window</h2>
          <p class="muted">
            A profile's sync issues come as CSV only (large volume): every issue of its users in the window, with the
            user's and the profile's names.
          </p>
          <p class="toolbar">
            <a
              class="button"
              href={API + withQuery(endpoint, { ...w.params, format: "csv", bom: "true", readable: "true" })}
              download
            >
              Export CSV for Excel
            </a>
            <a class="button" href={API + withQuery(endpoint, { ...w.params, format: "csv", bom: "true" })} download>
              Export CSV (raw)
            </a>
          </p>
        </section>
      )}
      <ErrorCodes />
    </>
  );
}

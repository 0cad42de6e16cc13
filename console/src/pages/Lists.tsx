// The profile and user lists, and the audit trail.
import { useEffect, useState } from "preact/hooks";
import { get, withQuery, type ApiFailure, type Page, type Principal } from "../api";
import { ErrorNote } from "../components/ErrorNote";
import { DataTable } from "../components/DataTable";
import { BulkActions } from "./BulkActions";
import { href } from "../router";
import { AsOf } from "./Monitor";

export const EFFECTIVE_STATUSES = ["Enabled", "Disabled", "DisabledDueToError", "Suspended"];

export function Profiles() {
  return (
    <>
      <div class="page-head">
        <h1>Profiles</h1>
        <AsOf />
      </div>
      <DataTable
        list="profiles"
        endpoint="/profiles"
        title="Profiles"
        storageKey="columns.profiles"
        statusColumn="status"
        statusOptions={["Enabled", "Disabled"]}
        toneColumn="status"
        rowHref={(r) => href("profiles", String(r.profile_id))}
        urlState
      />
    </>
  );
}

/** Users of one profile (with a link to its session statistics), or of every profile. */
export function Users({ profile, me }: { profile?: string; me: Principal }) {
  const [selected, setSelected] = useState<string[]>([]);
  const [sent, setSent] = useState(0);
  const endpoint = profile ? `/profiles/${encodeURIComponent(profile)}/users` : "/users";
  // The profile's name for the heading; a profile the token does not see (or that does not
  // exist) gets a "not found" page, not an empty one.
  const [name, setName] = useState<string | null | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!profile) return;
    setName(undefined);
    get<Page>(withQuery("/profiles", { profile_id: profile, columns: "profile_id,name", limit: 1 }))
      .then((p) => setName(p.rows.length ? String(p.rows[0].name || profile) : null))
      .catch((e: ApiFailure) => setError(e.message));
  }, [profile]);
  if (profile && error) return <ErrorNote message={error} />;
  if (profile && name === null)
    return (
      <p class="error" role="alert">
        No profile “{profile}” among those you may see. <a href={href("profiles")}>All profiles</a>
      </p>
    );
  if (profile && name === undefined) return <p class="muted">Loading…</p>;
  return (
    <>
      <div class="page-head">
        <h1>{profile ? `Profile ${name}` : "Users"}</h1>
        {profile && name !== profile && <p class="muted">{profile}</p>}
        <AsOf />
      </div>
      {profile && (
        <nav class="tabs" aria-label="Profile views">
          <a href={href("profiles", profile)} aria-current="page">
            Users
          </a>
          <a href={href("profiles", profile, "sessions")}>Session statistics</a>
          <a href={href("profiles", profile, "issues")}>Sync issues</a>
        </nav>
      )}
      <DataTable
        key={endpoint}
        list="users"
        endpoint={endpoint}
        title={profile ? "Users of this profile" : "All users"}
        storageKey="columns.users"
        statusColumn="effective_status"
        statusOptions={EFFECTIVE_STATUSES}
        toneColumn="effective_status"
        rowHref={(r) => href("users", String(r.user_id))}
        onSelect={me.role === "admin" ? setSelected : undefined}
        actions={
          me.role === "admin" ? <BulkActions users={selected} onSent={() => setSent((n) => n + 1)} /> : undefined
        }
        clearSelection={sent}
        urlState
      />
    </>
  );
}

export function Audit() {
  return (
    <>
      <div class="page-head">
        <h1>Audit trail</h1>
      </div>
      <DataTable
        list="audit"
        endpoint="/audit"
        title="Admin actions"
        storageKey="columns.audit.v2"
        statusColumn="result"
        statusOptions={["accepted", "published", "failed"]}
        toneColumn="result"
        defaultColumns={[
          "issued_at_ms",
          "user_id",
          "profile_id",
          "action",
          "result",
          "new_mail_account",
          "new_crm_user_name",
        ]}
        urlState
      />
    </>
  );
}

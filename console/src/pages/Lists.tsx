// The profile and user lists, and the audit trail.
import { useState } from "preact/hooks";
import { API, type Principal } from "../api";
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
      />
    </>
  );
}

/** Users of one profile (with a link to its session statistics), or of every profile. */
export function Users({ profile, me }: { profile?: string; me: Principal }) {
  const [selected, setSelected] = useState<string[]>([]);
  const endpoint = profile ? `/profiles/${encodeURIComponent(profile)}/users` : "/users";
  return (
    <>
      <div class="page-head">
        <h1>{profile ? `Profile ${profile}` : "Users"}</h1>
        <AsOf />
      </div>
      {profile && (
        <nav class="tabs" aria-label="Profile views">
          <a href={href("profiles", profile)} aria-current="page">
            Users
          </a>
          <a href={href("profiles", profile, "sessions")}>Session statistics</a>
          <a
            href={`${API}/profiles/${encodeURIComponent(profile)}/issues?format=csv&bom=true`}
            download
            title="A profile's sync issues of the last 3 days come as CSV only (large volume)"
          >
            Sync issues (CSV)
          </a>
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
        actions={me.role === "admin" ? <BulkActions users={selected} /> : undefined}
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
        storageKey="columns.audit"
        statusColumn="result"
        statusOptions={["accepted", "published", "failed"]}
        toneColumn="result"
      />
    </>
  );
}

// Admin actions on a user: each button opens a confirmation; the request carries an id
// chosen when the dialog opens, so trying again after a failure cannot act twice.
import { useState } from "preact/hooks";
import { newRequestId, post, type ApiFailure } from "../api";
import { Confirm } from "../components/Confirm";
import { ErrorNote } from "../components/ErrorNote";
import { href } from "../router";

interface Action {
  name: string;
  label: string;
  explain: string;
  danger?: boolean;
}

export const ACTIONS: Action[] = [
  { name: "force_sync", label: "Force sync", explain: "The sync engine starts a session for this user now." },
  { name: "pause", label: "Pause", explain: "Sync pauses until resumed." },
  { name: "resume", label: "Resume", explain: "A paused sync goes on." },
  { name: "suspend", label: "Suspend", explain: "Sync is suspended for this user.", danger: true },
  { name: "disable", label: "Disable", explain: "Sync is disabled for this user until enabled again.", danger: true },
  { name: "enable", label: "Enable", explain: "Sync is enabled for this user." },
  {
    name: "delete_from_monitor",
    label: "Delete from monitor",
    explain: "The user is removed from the monitor; the engine stops reporting it.",
    danger: true,
  },
  { name: "update_credentials", label: "Update credentials", explain: "Change the mail account or the CRM user name." },
];

/** `force_sync` -> `Force sync`. */
export function actionLabel(name: string): string {
  return ACTIONS.find((a) => a.name === name)?.label ?? name;
}

interface Outcome {
  request_id: string;
  command_id: string;
  action: string;
  result: string;
}

export function Actions({ user, name, onDone }: { user: string; name: string; onDone: () => void }) {
  const [pending, setPending] = useState<{ action: Action; requestId: string } | null>(null);
  const [mail, setMail] = useState("");
  const [crm, setCrm] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<Outcome | null>(null);

  const start = (action: Action) => {
    setPending({ action, requestId: newRequestId() });
    setError(null);
    setMail("");
    setCrm("");
  };
  const confirm = async () => {
    if (!pending) return;
    const body: Record<string, string> = { action: pending.action.name, request_id: pending.requestId };
    if (pending.action.name === "update_credentials") {
      if (!mail.trim() && !crm.trim()) {
        setError("Give a new mail account, a new CRM user name, or both.");
        return;
      }
      if (mail.trim()) body.new_mail_account = mail.trim();
      if (crm.trim()) body.new_crm_user_name = crm.trim();
    }
    setBusy(true);
    try {
      const out = await post<Outcome>(`/users/${encodeURIComponent(user)}/actions`, body);
      setDone(out);
      setPending(null);
      onDone();
    } catch (e) {
      setError((e as ApiFailure).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="panel" aria-labelledby="actions-title">
      <h2 id="actions-title">Actions</h2>
      <div class="buttons wrap">
        {ACTIONS.map((a) => (
          <button type="button" class={a.danger ? "danger" : ""} onClick={() => start(a)}>
            {a.label}
          </button>
        ))}
      </div>
      {done && (
        <p role="status" class="ok">
          {actionLabel(done.action)}: {done.result === "published" ? "sent to the sync engines" : done.result}; below it
          shows as pending until the engine reports the new state. See the <a href={href("audit")}>audit trail</a>.
        </p>
      )}
      {pending && (
        <Confirm
          title={`${pending.action.label}: ${name} (${user})?`}
          confirmLabel={pending.action.label}
          danger={pending.action.danger}
          busy={busy}
          onConfirm={confirm}
          onCancel={() => setPending(null)}
        >
          <p>{pending.action.explain}</p>
          {pending.action.name === "update_credentials" && (
            <>
              <label class="stacked">
                New mail account
                <input type="email" value={mail} onInput={(e) => setMail((e.target as HTMLInputElement).value)} />
              </label>
              <label class="stacked">
                New CRM user name
                <input type="text" value={crm} onInput={(e) => setCrm((e.target as HTMLInputElement).value)} />
              </label>
            </>
          )}
          {error && <ErrorNote message={error} />}
        </Confirm>
      )}
    </section>
  );
}

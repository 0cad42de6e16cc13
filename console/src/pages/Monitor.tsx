// The monitor: a card per sync state with the users behind the chosen one below (Last sync
// failed first, as the seeds' monitor does; admins can act on selected users), the trend of
// sync outcomes, and how fresh the statistics are.
import { useEffect, useState } from "preact/hooks";
import { get, type ApiFailure, type Principal } from "../api";
import { DataTable } from "../components/DataTable";
import { ErrorNote } from "../components/ErrorNote";
import { TrendChart } from "../components/TrendChart";
import { count, time } from "../format";
import { href } from "../router";
import { BulkActions } from "./BulkActions";

interface Card {
  sync_state: string;
  users: number;
  no_recent_session_users: number;
}

interface Freshness {
  as_of_ms: number;
  newest_event_at_ms: number;
  computed_at_ms: number;
}

export const CARD_TITLES: Record<string, string> = {
  NeverSynced: "Never synced",
  InProgress: "Sync in progress",
  LastSyncFailed: "Last sync failed",
  LastSyncSucceeded: "Last sync succeeded",
  Stalled: "Stalled",
};

export function AsOf() {
  const [f, setF] = useState<Freshness | null>(null);
  useEffect(() => {
    get<Freshness>("/freshness")
      .then(setF)
      .catch(() => setF(null));
  }, []);
  if (!f) return null;
  return (
    <p class="muted as-of">
      Statistics as of <time data-testid="as-of">{f.as_of_ms ? time(f.as_of_ms) : "never"}</time>
      {f.newest_event_at_ms ? ` (newest event ${time(f.newest_event_at_ms)})` : ""}
    </p>
  );
}

/** The monitor; the table shows `card`'s users, Last sync failed when none is chosen. */
export function Monitor({ card: chosen, me }: { card?: string; me: Principal }) {
  const card = chosen ?? "LastSyncFailed";
  const [cards, setCards] = useState<Card[] | null>(null);
  const [selected, setSelected] = useState<string[]>([]);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    get<{ cards: Card[] }>("/monitor/cards")
      .then((c) => setCards(c.cards))
      .catch((e: ApiFailure) => setError(e.message));
  }, []);
  return (
    <>
      <div class="page-head">
        <h1>Monitor</h1>
        <AsOf />
      </div>
      {error && <ErrorNote message={error} />}
      <ul class="cards" aria-label="Users by sync state">
        {(cards ?? []).map((c) => (
          <li>
            <a
              class={`card tone-${c.sync_state}${card === c.sync_state ? " current" : ""}`}
              href={href("monitor", c.sync_state)}
              aria-current={card === c.sync_state ? "page" : undefined}
              data-state={c.sync_state}
            >
              <span class="card-title">{CARD_TITLES[c.sync_state] ?? c.sync_state}</span>
              <span class="card-count" data-testid={`card-${c.sync_state}`}>
                {count(c.users)}
              </span>
              <span class="card-note">
                {c.no_recent_session_users > 0
                  ? `${count(c.no_recent_session_users)} without a recent session`
                  : "\u00a0"}
              </span>
            </a>
          </li>
        ))}
      </ul>
      <DataTable
        key={card}
        list="card_users"
        endpoint={`/monitor/cards/${encodeURIComponent(card)}/users`}
        title={`Users: ${CARD_TITLES[card] ?? card}`}
        storageKey="columns.card_users"
        toneColumn="last_session_status"
        rowHref={(r) => href("users", String(r.user_id))}
        onSelect={me.role === "admin" ? setSelected : undefined}
        actions={me.role === "admin" ? <BulkActions users={selected} /> : undefined}
      />
      <TrendChart />
    </>
  );
}

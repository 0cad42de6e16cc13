// Sync outcomes over time: sessions per status per hour (last 3 days) or day (last 30
// days), drawn by uPlot as stacked bars, with the same numbers as a table for screen
// readers and keyboard users.
import { useEffect, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { get, withQuery, type ApiFailure, type Page } from "../api";
import { count, time } from "../format";
import { ErrorNote } from "./ErrorNote";

const STATUSES: [string, string][] = [
  ["Success", "#2e7d32"],
  ["Error", "#c62828"],
  ["Canceled", "#ef8f00"],
  ["Skipped", "#8a8f98"],
];

type Granularity = "hour" | "day";

interface Series {
  buckets: number[];
  byStatus: Record<string, number[]>;
}

function toSeries(page: Page, step: number, from: number, to: number): Series {
  const buckets: number[] = [];
  for (let b = Math.floor(from / step) * step; b < to; b += step) buckets.push(b);
  const index = new Map(buckets.map((b, i) => [b, i]));
  const byStatus: Record<string, number[]> = {};
  for (const [s] of STATUSES) byStatus[s] = buckets.map(() => 0);
  for (const r of page.rows) {
    const i = index.get(Number(r.bucket_ms));
    const s = String(r.status);
    if (i !== undefined && byStatus[s]) byStatus[s][i] += Number(r.sessions);
  }
  return { buckets, byStatus };
}

/** Stacked values: each series adds the ones below it. */
function stack(series: Series): number[][] {
  const out: number[][] = [];
  let below = series.buckets.map(() => 0);
  for (const [s] of STATUSES) {
    const top = below.map((v, i) => v + series.byStatus[s][i]);
    out.push(top);
    below = top;
  }
  return out;
}

export function TrendChart() {
  const [granularity, setGranularity] = useState<Granularity>("hour");
  const [series, setSeries] = useState<Series | null>(null);
  const [error, setError] = useState<string | null>(null);
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const step = granularity === "hour" ? 3_600_000 : 86_400_000;
    const to = Date.now();
    const from = to - (granularity === "hour" ? 3 : 30) * 86_400_000;
    get<Page>(withQuery("/trends", { metric: "sessions", granularity, from, to, limit: 1000 }))
      .then((p) => {
        setSeries(toSeries(p, step, from, to));
        setError(null);
      })
      .catch((e: ApiFailure) => setError(e.message));
  }, [granularity]);

  useEffect(() => {
    const el = box.current;
    if (!el || !series) return;
    const stacked = stack(series);
    const bars = uPlot.paths.bars?.({ size: [0.8, 40] });
    // Drawn top-down so each status's bar shows its own slice of the stack.
    const order = STATUSES.map((_, i) => i).reverse();
    const plot = new uPlot(
      {
        width: el.clientWidth || 600,
        height: 240,
        legend: { show: true },
        scales: { x: { time: true } },
        axes: [{}, { label: "sessions", size: 60 }],
        series: [
          { label: "time" },
          ...order.map((i) => ({
            label: STATUSES[i][0],
            stroke: STATUSES[i][1],
            fill: STATUSES[i][1],
            paths: bars,
            points: { show: false },
            value: (_u: uPlot, _v: number, _s: number, idx: number | null) =>
              idx == null ? "" : count(series.byStatus[STATUSES[i][0]][idx]),
          })),
        ],
      },
      [series.buckets.map((b) => b / 1000), ...order.map((i) => stacked[i])],
      el,
    );
    const resize = () => plot.setSize({ width: el.clientWidth || 600, height: 240 });
    addEventListener("resize", resize);
    return () => {
      removeEventListener("resize", resize);
      plot.destroy();
    };
  }, [series]);

  const totals = series ? STATUSES.map(([s]) => [s, series.byStatus[s].reduce((a, b) => a + b, 0)] as const) : [];

  return (
    <section class="panel" aria-labelledby="trend-title">
      <div class="toolbar">
        <h2 id="trend-title">Sync outcomes over time</h2>
        <label class="inline">
          Per{" "}
          <select
            value={granularity}
            onChange={(e) => setGranularity((e.target as HTMLSelectElement).value as Granularity)}
          >
            <option value="hour">hour, last 3 days</option>
            <option value="day">day, last 30 days</option>
          </select>
        </label>
      </div>
      {error && <ErrorNote message={error} />}
      <div
        ref={box}
        class="chart"
        role="img"
        aria-label="Sessions per status over time; the table below has the numbers"
      />
      {series && (
        <details>
          <summary>Totals: {totals.map(([s, n]) => `${s} ${count(n)}`).join(", ")} (show as table)</summary>
          <div class="scroll" role="region" aria-label="Sessions per status, as a table" tabIndex={0}>
            <table>
              <thead>
                <tr>
                  <th>{granularity === "hour" ? "Hour" : "Day"}</th>
                  {STATUSES.map(([s]) => (
                    <th>{s}</th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {series.buckets.map((b, i) => (
                  <tr>
                    <td>{time(b)}</td>
                    {STATUSES.map(([s]) => (
                      <td>{count(series.byStatus[s][i])}</td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </details>
      )}
    </section>
  );
}

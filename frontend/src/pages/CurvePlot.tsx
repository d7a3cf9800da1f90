import { useEffect, useState } from "react";
import { useApp } from "../App";

/** A preset's EQ curves (mid, side), drawn from the preset the worker stored: axes with
 * frequency and gain labels, and a legend (the worker's PNG has neither). */

type Curve = { freqs_hz: number[]; gain_db: number[] };
type Preset = { eq?: { mid?: { curve?: Curve }; side?: { curve?: Curve } | null } };

const W = 800;
const H = 360;
const M = { left: 52, right: 14, top: 14, bottom: 40 };
const F_LO = 20;
const F_HI = 20000;
const F_TICKS = [20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000];
export const COLOURS = { mid: "#5ac8fa", side: "#ff9f43" };

const fLabel = (f: number) => (f >= 1000 ? `${f / 1000}k` : `${f}`);

/** x pixel of a frequency on the log axis. */
export const xOf = (f: number) =>
  M.left + ((Math.log10(f) - Math.log10(F_LO)) / (Math.log10(F_HI) - Math.log10(F_LO))) * (W - M.left - M.right);

/** The gain axis: +-12 dB, widened in 6 dB steps to hold the largest gain. */
export function dbRange(curves: Curve[]): number {
  const peak = Math.max(0, ...curves.flatMap((c) => c.gain_db.map((g) => (Number.isFinite(g) ? Math.abs(g) : 0))));
  return Math.max(12, Math.ceil(peak / 6) * 6);
}

function path(c: Curve, yOf: (g: number) => number): string {
  const pts: string[] = [];
  c.freqs_hz.forEach((f, i) => {
    const g = c.gain_db[i];
    if (f >= F_LO && f <= F_HI && Number.isFinite(g)) pts.push(`${xOf(f).toFixed(1)},${yOf(g).toFixed(1)}`);
  });
  return pts.length > 1 ? `M${pts.join("L")}` : "";
}

export function CurvePlot({ presetUrl }: { presetUrl: string }) {
  const { tr } = useApp();
  const [curves, setCurves] = useState<{ mid: Curve; side?: Curve } | null>(null);
  const [failed, setFailed] = useState(false);

  useEffect(() => {
    let stop = false;
    fetch(presetUrl)
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error(String(r.status)))))
      .then((p: Preset) => {
        const mid = p.eq?.mid?.curve;
        if (!mid) throw new Error("no curve");
        if (!stop) setCurves({ mid, side: p.eq?.side?.curve ?? undefined });
      })
      .catch(() => !stop && setFailed(true));
    return () => {
      stop = true;
    };
  }, [presetUrl]);

  if (failed) return <p className="dim">{tr("plotUnavailable")}</p>;
  if (!curves) return <p className="dim">{tr("loading")}</p>;
  const all = curves.side ? [curves.mid, curves.side] : [curves.mid];
  const rng = dbRange(all);
  const yOf = (g: number) => M.top + (1 - (Math.max(-rng, Math.min(rng, g)) + rng) / (2 * rng)) * (H - M.top - M.bottom);
  const dbTicks: number[] = [];
  for (let d = -rng; d <= rng; d += 6) dbTicks.push(d);
  return (
    <svg className="viz" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={tr("plots")} data-testid="curve-plot" data-db-range={rng}>
      <rect x={M.left} y={M.top} width={W - M.left - M.right} height={H - M.top - M.bottom} className="plot-bg" />
      {F_TICKS.map((f) => (
        <g key={f}>
          <line x1={xOf(f)} x2={xOf(f)} y1={M.top} y2={H - M.bottom} className="grid" />
          <text x={xOf(f)} y={H - M.bottom + 16} textAnchor="middle" className="tick">{fLabel(f)}</text>
        </g>
      ))}
      {dbTicks.map((d) => (
        <g key={d}>
          <line x1={M.left} x2={W - M.right} y1={yOf(d)} y2={yOf(d)} className={d === 0 ? "zero" : "grid"} />
          <text x={M.left - 6} y={yOf(d) + 4} textAnchor="end" className="tick">{d > 0 ? `+${d}` : d}</text>
        </g>
      ))}
      <text x={(M.left + W - M.right) / 2} y={H - 6} textAnchor="middle" className="axis">{tr("freqAxis")}</text>
      <text x={14} y={(M.top + H - M.bottom) / 2} textAnchor="middle" className="axis" transform={`rotate(-90 14 ${(M.top + H - M.bottom) / 2})`}>{tr("gainAxis")}</text>
      <path d={path(curves.mid, yOf)} stroke={COLOURS.mid} className="curve" data-testid="curve-mid" />
      {curves.side && <path d={path(curves.side, yOf)} stroke={COLOURS.side} className="curve side" data-testid="curve-side" />}
      <g transform={`translate(${W - M.right - 130}, ${M.top + 10})`}>
        <line x1={0} x2={22} y1={0} y2={0} stroke={COLOURS.mid} className="curve" />
        <text x={28} y={4} className="legend">{tr("mid")}</text>
        {curves.side && (
          <>
            <line x1={60} x2={82} y1={0} y2={0} stroke={COLOURS.side} className="curve side" />
            <text x={88} y={4} className="legend">{tr("side")}</text>
          </>
        )}
      </g>
    </svg>
  );
}

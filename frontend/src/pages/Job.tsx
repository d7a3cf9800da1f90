import { useEffect, useRef, useState } from "react";
import { api } from "../api";
import { useApp } from "../App";
import type { Key } from "../i18n";
import { navigate } from "../nav";
import { ACTIVE, type Job, type JobResult } from "../types";
import { nextDelay } from "./Jobs";
import { CurvePlot } from "./CurvePlot";
import { Player } from "./Player";

const fmt = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? "—" : v.toFixed(1));

function LoudnessTable({ r, codec }: { r: JobResult; codec: unknown }) {
  const { tr } = useApp();
  const m = r.metrics;
  const rows: [string, number | undefined, number | undefined][] = [
    [tr("reference"), m.reference_lufs, m.reference_true_peak_dbtp],
    [tr("target"), m.input_lufs, m.input_true_peak_dbtp],
    [tr("result"), m.output_lufs, m.output_true_peak_dbtp],
  ];
  // a codec-safe job: the result's true peak after the codec's encode/decode (the worker's
  // search lowered the limiter ceiling until it stayed under the one asked for)
  if (m.codec_true_peak_dbtp !== undefined) {
    rows.push([`${tr("afterCodec")} ${typeof codec === "string" ? codec : ""}`.trim(), undefined, m.codec_true_peak_dbtp]);
  }
  return (
    <table className="loudness" data-testid="loudness">
      <thead>
        <tr>
          <th>{tr("loudness")}</th>
          <th>{tr("integrated")}</th>
          <th>{tr("truePeak")}</th>
        </tr>
      </thead>
      <tbody>
        {rows.map(([label, lufs, tp]) => (
          <tr key={label}>
            <th>{label}</th>
            <td>{fmt(lufs)}</td>
            <td>{fmt(tp)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function saveText(name: string, text: string, type: string) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** Follow a download link: same-origin URLs download as they are (the `download` attribute);
 * storage on another origin ignores that attribute, so the file is fetched (CORS) and saved. */
async function download(ev: React.MouseEvent<HTMLAnchorElement>) {
  const a = ev.currentTarget;
  if (new URL(a.href).origin === location.origin) return;
  ev.preventDefault();
  const r = await fetch(a.href);
  const url = URL.createObjectURL(await r.blob());
  const tmp = document.createElement("a");
  tmp.href = url;
  tmp.download = a.download;
  tmp.click();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

type Exports = Record<"eqapo" | "graphiceq" | "csv" | "report", string>;

function Result({ job, r, index, exports }: { job: Job; r: JobResult; index: number; exports?: Exports }) {
  const { tr } = useApp();
  const base = (job.name || job.id).replace(/[^\p{L}\p{N}._-]+/gu, "_").slice(0, 80);
  const ext = r.audio_key.split(".").pop() ?? "wav";
  // the engine's report (as `audio-style match --report` writes it) where the worker stored
  // one; else a summary of the job's own data
  const report = async () => {
    const name = `${base}-${index}-report.json`;
    if (exports?.report) {
      try {
        const r = await fetch(exports.report);
        if (r.ok) {
          saveText(name, await r.text(), "application/json");
          return;
        }
      } catch {
        /* fall back to the summary */
      }
    }
    saveText(
      name,
      JSON.stringify({ job: job.id, name: job.name, spec: job.spec, target: r.target, metrics: r.metrics }, null, 1),
      "application/json",
    );
  };
  return (
    <div className="result">
      <LoudnessTable r={r} codec={job.spec.options.codec_safe} />
      <h3>{tr("plots")}</h3>
      <CurvePlot presetUrl={r.preset_url} />
      <Player job={job.id} result={r} index={index} />
      <h3>{tr("downloads")}</h3>
      <p className="downloads">
        <a href={r.audio_url} download={`${base}-${index}.${ext}`} data-testid="download-audio" onClick={download}>{tr("audio")}</a>
        <a href={r.preset_url} download={`${base}-${index}.json`} data-testid="download-preset" onClick={download}>{tr("presetJson")}</a>
        {exports && (
          <>
            <a href={exports.eqapo} download={`${base}-${index}-eqapo.txt`} onClick={download} data-testid="download-eqapo">{tr("presetApo")}</a>
            <a href={exports.graphiceq} download={`${base}-${index}-graphiceq.txt`} onClick={download} data-testid="download-graphiceq">{tr("presetGeq")}</a>
            <a href={exports.csv} download={`${base}-${index}.csv`} onClick={download} data-testid="download-csv">{tr("presetCsv")}</a>
          </>
        )}
        <button type="button" className="link" onClick={report} data-testid="download-report">{tr("report")}</button>
      </p>
    </div>
  );
}

export function JobPage({ id }: { id: string }) {
  const { tr, err } = useApp();
  const [job, setJob] = useState<Job | null>(null);
  const [error, setError] = useState("");
  const [exports, setExports] = useState<Exports[]>([]);
  const last = useRef("");

  useEffect(() => {
    let stop = false;
    let timer = 0;
    let delay = 1000;
    const tick = async () => {
      let active = false;
      let changed = false;
      try {
        const j = await api.req<Job>("GET", `/jobs/${encodeURIComponent(id)}`);
        const sig = `${j.state}|${j.progress}|${j.stage}`;
        changed = sig !== last.current;
        last.current = sig;
        active = ACTIVE.includes(j.state);
        setJob(j);
        if (j.state === "succeeded" && changed) {
          const ex = await api.req<{ results: Exports[] }>("GET", `/jobs/${encodeURIComponent(id)}/exports`);
          if (!stop) setExports(ex.results);
        }
        setError("");
      } catch (e) {
        setError(err(e));
        if (!stop) setJob(null);
        return; // not found / refused: stop polling
      }
      if (!stop && active) {
        delay = nextDelay(delay, changed, true);
        timer = window.setTimeout(tick, delay);
      }
    };
    tick();
    return () => {
      stop = true;
      clearTimeout(timer);
    };
  }, [id]); // eslint-disable-line react-hooks/exhaustive-deps

  const cancel = async () => {
    try {
      setJob(await api.req<Job>("DELETE", `/jobs/${encodeURIComponent(id)}`));
    } catch (e) {
      setError(err(e));
    }
  };

  return (
    <section className="card" data-testid="job-page">
      <p>
        <a href="/console/jobs" onClick={(e) => { e.preventDefault(); navigate("/console/jobs"); }}>← {tr("back")}</a>
      </p>
      {error && <p className="error" role="alert" data-testid="error">{error}</p>}
      {!job && !error && <p>{tr("loading")}</p>}
      {job && (
        <>
          <h2 data-testid="job-name">{job.name || job.id}</h2>
          <p>
            <span className={`state ${job.state}`} data-testid="job-state" data-state={job.state}>
              {tr(`state.${job.state}` as Key)}
            </span>{" "}
            <progress max={1} value={job.progress} /> {Math.round(job.progress * 100)} %{" "}
            {job.stage && ACTIVE.includes(job.state) && <span className="dim">{job.stage}</span>}{" "}
            {ACTIVE.includes(job.state) && (
              <button className="link" onClick={cancel}>{tr("cancel")}</button>
            )}
          </p>
          {job.error && <p className="error" data-testid="job-error">{job.error.code}: {job.error.message}</p>}
          {job.results.map((r, i) => (
            <Result key={r.audio_key} job={job} r={r} index={i} exports={exports[i]} />
          ))}
        </>
      )}
    </section>
  );
}

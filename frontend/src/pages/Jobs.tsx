import { memo, useEffect, useMemo, useRef, useState } from "react";
import { api } from "../api";
import { useApp } from "../App";
import type { Key } from "../i18n";
import { navigate } from "../nav";
import { ACTIVE, type Job, type JobList, type JobState } from "../types";

const PAGE = 100;
const MIN_POLL_MS = 1000;
const MAX_POLL_MS = 15000;
const ROW_PX = 41; // table.jobs tr height (style.css)
const VISIBLE = 20;
const OVERSCAN = 10;

/** Next polling delay: back to the minimum after a change, else doubled up to the maximum
 * (and the maximum while nothing is active). */
export function nextDelay(prev: number, changed: boolean, active: boolean): number {
  if (!active) return MAX_POLL_MS;
  return changed ? MIN_POLL_MS : Math.min(MAX_POLL_MS, prev * 2);
}

const Row = memo(function Row({ job, onCancel }: { job: Job; onCancel: (id: string) => void }) {
  const { tr } = useApp();
  const href = `/console/jobs/${encodeURIComponent(job.id)}`;
  return (
    <tr data-testid="job-row" data-state={job.state}>
      <td>
        <a href={href} onClick={(e) => { e.preventDefault(); navigate(href); }}>
          {job.name || job.id}
        </a>
      </td>
      <td><span className={`state ${job.state}`}>{tr(`state.${job.state}` as Key)}</span></td>
      <td>
        <progress max={1} value={job.progress} /> <span className="dim">{Math.round(job.progress * 100)} %</span>
      </td>
      <td className="dim">{new Date(job.created_at).toLocaleString()}</td>
      <td>
        {ACTIVE.includes(job.state) && (
          <button className="link" onClick={() => onCancel(job.id)}>{tr("cancel")}</button>
        )}
      </td>
    </tr>
  );
});

export function JobsPage() {
  const { tr, err } = useApp();
  const [jobs, setJobs] = useState<Job[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);
  const [state, setState] = useState<JobState | "">("");
  const [text, setText] = useState("");
  const [error, setError] = useState("");
  const pages = useRef(1);

  // fetch as many pages as are shown; keeps unchanged rows (same object) so memo skips them
  const refresh = async (): Promise<boolean> => {
    const fresh: Job[] = [];
    let next: string | null = null;
    for (let i = 0; i < pages.current; i++) {
      const q = new URLSearchParams({ limit: String(PAGE) });
      if (state) q.set("state", state);
      if (next) q.set("cursor", next);
      const r = await api.req<JobList>("GET", `/jobs?${q}`);
      fresh.push(...r.items);
      next = r.next_cursor;
      if (!next) break;
    }
    let changed = false;
    setJobs((old) => {
      const byId = new Map(old.map((j) => [j.id, j]));
      const merged = fresh.map((j) => {
        const o = byId.get(j.id);
        if (o && o.state === j.state && o.progress === j.progress && o.name === j.name) return o;
        changed = true;
        return j;
      });
      if (merged.length !== old.length) changed = true;
      return merged;
    });
    setCursor(next);
    setLoaded(true);
    return changed;
  };

  useEffect(() => {
    let stop = false;
    let timer = 0;
    let delay = MIN_POLL_MS;
    pages.current = 1;
    const tick = async () => {
      let changed = false;
      try {
        changed = await refresh();
        setError("");
      } catch (e) {
        setError(err(e));
      }
      if (stop) return;
      const active = document.hidden ? false : jobsActive.current;
      delay = nextDelay(delay, changed, active);
      timer = window.setTimeout(tick, delay);
    };
    tick();
    return () => {
      stop = true;
      clearTimeout(timer);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [state]);

  const jobsActive = useRef(false);
  jobsActive.current = jobs.some((j) => ACTIVE.includes(j.state));

  const cancel = async (id: string) => {
    try {
      const j = await api.req<Job>("DELETE", `/jobs/${encodeURIComponent(id)}`);
      setJobs((old) => old.map((o) => (o.id === id ? j : o)));
    } catch (e) {
      setError(err(e));
    }
  };
  const onCancel = useMemo(() => (id: string) => void cancel(id), []); // eslint-disable-line

  // the next page only (the poll refreshes every page shown)
  const more = async () => {
    if (!cursor) return;
    try {
      const q = new URLSearchParams({ limit: String(PAGE), cursor });
      if (state) q.set("state", state);
      const r = await api.req<JobList>("GET", `/jobs?${q}`);
      pages.current += 1;
      setJobs((old) => {
        const seen = new Set(old.map((j) => j.id));
        return [...old, ...r.items.filter((j) => !seen.has(j.id))];
      });
      setCursor(r.next_cursor);
    } catch (e) {
      setError(err(e));
    }
  };

  const needle = text.trim().toLowerCase();
  const shown = useMemo(
    () => (needle ? jobs.filter((j) => (j.name || j.id).toLowerCase().includes(needle)) : jobs),
    [jobs, needle],
  );
  // only the rows in view are rendered (a window over `shown`): a keystroke or a poll costs
  // the same with 1 000 jobs as with 20 (tests/console/bench_jobs.py)
  const [top, setTop] = useState(0);
  const first = Math.max(0, Math.floor(top / ROW_PX) - OVERSCAN);
  const last = Math.min(shown.length, first + VISIBLE + 2 * OVERSCAN);

  return (
    <section className="card">
      <h2>{tr("jobs")}</h2>
      <div className="filters">
        <label>
          {tr("state")}{" "}
          <select value={state} onChange={(e) => setState(e.target.value as JobState | "")} data-testid="state-filter">
            <option value="">{tr("all")}</option>
            {(["queued", "running", "succeeded", "failed", "canceled"] as const).map((s) => (
              <option key={s} value={s}>{tr(`state.${s}` as Key)}</option>
            ))}
          </select>
        </label>
        <label>
          {tr("filter")}{" "}
          <input type="search" value={text} onChange={(e) => setText(e.target.value)} data-testid="text-filter" />
        </label>
        <span className="dim" data-testid="job-count">{shown.length} / {jobs.length}</span>
      </div>
      {error && <p className="error" role="alert">{error}</p>}
      {loaded && jobs.length === 0 ? (
        <p>{tr("noJobs")}</p>
      ) : (
        <div className="scroller" onScroll={(e) => setTop(e.currentTarget.scrollTop)} data-testid="job-list">
        <table className="jobs">
          <thead>
            <tr>
              <th>{tr("name")}</th>
              <th>{tr("state")}</th>
              <th>{tr("progress")}</th>
              <th>{tr("created")}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {first > 0 && <tr className="spacer" style={{ height: first * ROW_PX }} />}
            {shown.slice(first, last).map((j) => (
              <Row key={j.id} job={j} onCancel={onCancel} />
            ))}
            {last < shown.length && <tr className="spacer" style={{ height: (shown.length - last) * ROW_PX }} />}
          </tbody>
        </table>
        </div>
      )}
      {cursor && (
        <button onClick={more} data-testid="more">{tr("more")}</button>
      )}
    </section>
  );
}

import { useState } from "react";
import { api } from "../api";
import { useApp } from "../App";
import { navigate } from "../nav";
import { uploadAll } from "../upload";

interface FileState {
  sent: number;
  total: number;
  retrying: boolean;
}

function FilePicker({
  label,
  files,
  setFiles,
  testid,
}: {
  label: string;
  files: File[];
  setFiles: (f: File[]) => void;
  testid: string;
}) {
  const { tr } = useApp();
  const [over, setOver] = useState(false);
  return (
    <fieldset
      className={over ? "drop over" : "drop"}
      onDragOver={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => {
        e.preventDefault();
        setOver(false);
        setFiles([...files, ...Array.from(e.dataTransfer.files)]);
      }}
    >
      <legend>{label}</legend>
      <p>{tr("dropHere")}</p>
      <input
        type="file"
        multiple
        accept="audio/*,.wav,.flac,.aif,.aiff,.mp3,.ogg,.m4a"
        data-testid={testid}
        onChange={(e) => {
          setFiles([...files, ...Array.from(e.target.files ?? [])]);
          e.target.value = "";
        }}
      />
      <ul className="files">
        {files.map((f, i) => (
          <li key={`${f.name}-${i}`}>
            <span className="fname">{f.name}</span> <span className="dim">{(f.size / 1e6).toFixed(1)} MB</span>{" "}
            <button type="button" className="link" onClick={() => setFiles(files.filter((_, j) => j !== i))}>
              {tr("remove")}
            </button>
          </li>
        ))}
      </ul>
    </fieldset>
  );
}

const AMOUNTS = [
  ["amount", "amount"],
  ["eq_amount", "eqAmount"],
  ["dynamics_amount", "dynamicsAmount"],
  ["width_amount", "widthAmount"],
  ["loudness_amount", "loudnessAmount"],
] as const;

export function NewMatchPage() {
  const { tr, err } = useApp();
  const [targets, setTargets] = useState<File[]>([]);
  const [refs, setRefs] = useState<File[]>([]);
  const [amounts, setAmounts] = useState<Record<string, number>>({
    amount: 100,
    eq_amount: 100,
    dynamics_amount: 100,
    width_amount: 100,
    loudness_amount: 100,
  });
  const [targetLufs, setTargetLufs] = useState("");
  const [ceiling, setCeiling] = useState(-1);
  const [estimator, setEstimator] = useState("blend");
  const [format, setFormat] = useState("");
  const [name, setName] = useState("");
  const [progress, setProgress] = useState<FileState[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");

  const all = [...targets, ...refs];
  const submit = async (ev: React.FormEvent) => {
    ev.preventDefault();
    setBusy(true);
    setError("");
    setProgress(all.map((f) => ({ sent: 0, total: f.size, retrying: false })));
    try {
      const keys = await uploadAll(all, (i, sent, total, retrying) =>
        setProgress((p) => p.map((s, j) => (j === i ? { sent, total, retrying } : s))),
      );
      const options: Record<string, unknown> = { ...amounts, ceiling_dbtp: ceiling, estimator };
      if (targetLufs.trim() !== "") options.target_lufs = Number(targetLufs);
      const job = await api.req<{ id: string }>("POST", "/jobs", {
        targets: keys.slice(0, targets.length),
        references: keys.slice(targets.length),
        options,
        format: format || null,
        name: name || targets.map((f) => f.name).join(", ").slice(0, 200),
      });
      navigate(`/console/jobs/${encodeURIComponent(job.id)}`);
    } catch (e) {
      setError(err(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="card" onSubmit={submit} data-testid="new-match">
      <h2>{tr("newMatch")}</h2>
      <div className="two">
        <FilePicker label={tr("targets")} files={targets} setFiles={setTargets} testid="targets" />
        <FilePicker label={tr("references")} files={refs} setFiles={setRefs} testid="references" />
      </div>
      <fieldset>
        <legend>{tr("options")}</legend>
        <div className="grid">
          {AMOUNTS.map(([k, label]) => (
            <label key={k}>
              {tr(label)}
              <input
                type="number"
                min={0}
                max={100}
                step={1}
                name={k}
                value={amounts[k]}
                onChange={(e) => setAmounts({ ...amounts, [k]: Number(e.target.value) })}
              />
            </label>
          ))}
          <label>
            {tr("targetLufs")}
            <input type="number" name="target_lufs" step={0.1} min={-70} max={0} value={targetLufs}
              onChange={(e) => setTargetLufs(e.target.value)} />
          </label>
          <label>
            {tr("ceiling")}
            <input type="number" name="ceiling_dbtp" step={0.1} min={-20} max={0} value={ceiling}
              onChange={(e) => setCeiling(Number(e.target.value))} />
          </label>
          <label>
            {tr("estimator")}
            <select name="estimator" value={estimator} onChange={(e) => setEstimator(e.target.value)}>
              <option value="blend">blend</option>
              <option value="rules">rules</option>
              <option value="learned">learned</option>
            </select>
          </label>
          <label>
            {tr("format")}
            <select name="format" value={format} onChange={(e) => setFormat(e.target.value)}>
              <option value="">{tr("likeTarget")}</option>
              <option value="wav16">WAV 16-bit</option>
              <option value="wav24">WAV 24-bit</option>
              <option value="wav32f">WAV 32-bit float</option>
              <option value="flac">FLAC</option>
            </select>
          </label>
          <label>
            {tr("jobName")}
            <input name="name" maxLength={200} value={name} onChange={(e) => setName(e.target.value)} />
          </label>
        </div>
      </fieldset>
      {progress.length > 0 && (
        <ul className="progress" data-testid="upload-progress">
          {all.map((f, i) => {
            const p = progress[i];
            if (!p) return null;
            return (
              <li key={i}>
                <span className="fname">{f.name}</span>{" "}
                <progress max={p.total} value={p.sent} />{" "}
                <span className="dim">
                  {p.retrying ? tr("retrying") : p.sent >= p.total ? tr("uploaded") : `${Math.round((100 * p.sent) / p.total)} %`}
                </span>
              </li>
            );
          })}
        </ul>
      )}
      {error && <p className="error" role="alert" data-testid="error">{error}</p>}
      <button type="submit" disabled={busy || targets.length === 0 || refs.length === 0}>
        {busy ? tr("uploading") : tr("submit")}
      </button>
    </form>
  );
}

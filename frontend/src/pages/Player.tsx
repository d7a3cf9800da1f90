// Loudness-matched A/B player: target / result / reference decoded with Web Audio, each with a
// gain that brings its measured integrated loudness (LUFS, from the job's metrics) to the
// quietest of the three, so the comparison is about sound, not level. Switching keeps the
// playback position.
import { useEffect, useRef, useState } from "react";
import { api } from "../api";
import { useApp } from "../App";
import type { Key } from "../i18n";
import type { JobResult } from "../types";

type Which = "target" | "result" | "reference";
const ORDER: Which[] = ["target", "result", "reference"];

/** Gains (dB) that bring each source to the quietest measured loudness. */
export function matchedGains(lufs: Record<Which, number | undefined>): Record<Which, number> {
  const known = ORDER.map((k) => lufs[k]).filter((v): v is number => v !== undefined && Number.isFinite(v));
  const floor = known.length ? Math.min(...known) : 0;
  const out = {} as Record<Which, number>;
  for (const k of ORDER) {
    const v = lufs[k];
    out[k] = v !== undefined && Number.isFinite(v) ? floor - v : 0;
  }
  return out;
}

export function Player({ job, result, index }: { job: string; result: JobResult; index: number }) {
  const { tr, err } = useApp();
  const [ready, setReady] = useState(false);
  const [error, setError] = useState("");
  const [which, setWhich] = useState<Which>("result");
  const [playing, setPlaying] = useState(false);
  const ctx = useRef<AudioContext | null>(null);
  const buffers = useRef<Partial<Record<Which, AudioBuffer>>>({});
  const node = useRef<{ src: AudioBufferSourceNode; startedAt: number; offset: number } | null>(null);
  const offset = useRef(0);
  const [startedAt, setStartedAt] = useState(0); // position (s) of the last start: switching keeps it
  const m = result.metrics;
  const gains = matchedGains({ target: m.input_lufs, result: m.output_lufs, reference: m.reference_lufs });

  const load = async () => {
    setError("");
    try {
      const inputs = await api.req<{ targets: string[]; references: string[] }>(
        "GET",
        `/jobs/${encodeURIComponent(job)}/inputs`,
      );
      const ac = new AudioContext();
      ctx.current = ac;
      const urls: Record<Which, string> = {
        target: inputs.targets[index] ?? inputs.targets[0],
        result: result.audio_url,
        reference: inputs.references[0],
      };
      for (const k of ORDER) {
        const r = await fetch(urls[k]);
        if (!r.ok) throw new Error(`${k}: HTTP ${r.status}`);
        buffers.current[k] = await ac.decodeAudioData(await r.arrayBuffer());
      }
      setReady(true);
    } catch (e) {
      setError(err(e));
    }
  };

  const position = (): number => {
    const n = node.current;
    if (!n || !ctx.current) return offset.current;
    return n.offset + (ctx.current.currentTime - n.startedAt);
  };

  const stop = () => {
    const n = node.current;
    if (n) {
      offset.current = position();
      n.src.onended = null;
      n.src.stop();
      node.current = null;
    }
  };

  const start = (w: Which) => {
    const ac = ctx.current;
    const buf = buffers.current[w];
    if (!ac || !buf) return;
    const at = offset.current % buf.duration;
    const src = ac.createBufferSource();
    src.buffer = buf;
    const gain = ac.createGain();
    gain.gain.value = 10 ** (gains[w] / 20);
    src.connect(gain).connect(ac.destination);
    src.onended = () => {
      node.current = null;
      offset.current = 0;
      setPlaying(false);
    };
    src.start(0, at);
    node.current = { src, startedAt: ac.currentTime, offset: at };
    setStartedAt(at);
  };

  const toggle = () => {
    if (playing) {
      stop();
      setPlaying(false);
    } else {
      void ctx.current?.resume();
      start(which);
      setPlaying(true);
    }
  };

  const choose = (w: Which) => {
    setWhich(w);
    if (playing) {
      stop();
      start(w);
    }
  };

  useEffect(() => () => {
    stop();
    void ctx.current?.close();
  }, []); // eslint-disable-line react-hooks/exhaustive-deps

  return (
    <div className="player" data-testid="player" data-source={which} data-started-at={startedAt.toFixed(3)}>
      <h3>{tr("player")}</h3>
      {!ready ? (
        <button type="button" onClick={load} data-testid="player-load">{tr("play")}…</button>
      ) : (
        <div className="ab">
          {ORDER.map((w) => (
            <label key={w}>
              <input type="radio" name={`ab-${index}`} value={w} checked={which === w} onChange={() => choose(w)} />
              {tr(w as Key)} <span className="dim" data-testid={`gain-${w}`}>({gains[w] >= 0 ? "+" : ""}{gains[w].toFixed(1)} dB)</span>
            </label>
          ))}
          <button type="button" onClick={toggle} data-testid="player-toggle">{playing ? tr("pause") : tr("play")}</button>
        </div>
      )}
      {error && <p className="error">{error}</p>}
    </div>
  );
}

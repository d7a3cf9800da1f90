export type JobState = "queued" | "running" | "succeeded" | "failed" | "canceled";

export interface JobResult {
  target: string;
  audio_key: string;
  audio_url: string;
  preset_url: string;
  viz_url: string;
  metrics: Record<string, number>;
}

export interface Job {
  id: string;
  state: JobState;
  stage: string;
  progress: number;
  name: string;
  created_at: string;
  finished_at: string | null;
  spec: { targets: string[]; references: string[]; options: Record<string, unknown>; format: string | null };
  error: { code: string; message: string } | null;
  metrics: Record<string, number>;
  results: JobResult[];
}

export interface JobList {
  items: Job[];
  next_cursor: string | null;
}

export const ACTIVE: JobState[] = ["queued", "running"];

// Direct upload to object storage with the grant of POST /uploads (the desktop client's
// mechanism: presigned PUT/POST targets scoped to the caller's prefix; file bytes never pass
// through the API's JSON body). Each file reports its progress; a dropped connection is
// retried with backoff, renewing the grant when it has expired.
import { api, ApiError } from "./api";

export interface UploadTarget {
  key: string;
  method: "PUT" | "POST";
  url: string;
  fields: Record<string, string>;
  headers: Record<string, string>;
}

export interface UploadGrant {
  upload_id: string;
  expires_at: string;
  files: UploadTarget[];
}

export type Progress = (index: number, sent: number, total: number, retrying: boolean) => void;

const RETRIES = 5;

function send(t: UploadTarget, file: File, onProgress: (sent: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(t.method, t.url);
    let body: Blob | FormData = file;
    if (t.method === "POST") {
      const form = new FormData();
      for (const [k, v] of Object.entries(t.fields)) form.append(k, v);
      form.append("file", file);
      body = form;
    } else {
      for (const [k, v] of Object.entries(t.headers)) xhr.setRequestHeader(k, v);
    }
    xhr.upload.onprogress = (e) => onProgress(Math.min(e.loaded, file.size));
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(file.size);
        resolve();
        return;
      }
      let code = "E511";
      let message = `storage answered ${xhr.status}`;
      try {
        const e = JSON.parse(xhr.responseText) as { code?: string; message?: string };
        if (e.code) code = e.code;
        if (e.message) message = e.message;
      } catch {
        /* S3 answers XML */
      }
      reject(new ApiError(xhr.status, code, message));
    };
    xhr.onerror = () => reject(new ApiError(0, "E509", "connection lost"));
    xhr.send(body);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Upload `files`; returns their object keys (in order) for POST /jobs. */
export async function uploadAll(files: File[], progress: Progress): Promise<string[]> {
  let grant = await api.req<UploadGrant>("POST", "/uploads", {
    files: files.map((f) => ({ name: f.name, size: f.size })),
  });
  for (let i = 0; i < files.length; i++) {
    for (let attempt = 0; ; attempt++) {
      try {
        await send(grant.files[i], files[i], (sent) => progress(i, sent, files[i].size, false));
        break;
      } catch (e) {
        const transient = e instanceof ApiError && (e.status === 0 || e.status >= 500 || e.status === 403);
        if (!transient || attempt >= RETRIES) throw e;
        progress(i, 0, files[i].size, true);
        await sleep(Math.min(8000, 500 * 2 ** attempt));
        if (Date.parse(grant.expires_at) - Date.now() < 60_000 || (e as ApiError).status === 403) {
          grant = await api.req<UploadGrant>("POST", `/uploads/${grant.upload_id}/renew`);
        }
      }
    }
  }
  return grant.files.map((f) => f.key);
}

// The API client: access token in memory only (never stored, no refresh token kept).
import type { Lang } from "./i18n";

export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface Me {
  id: string;
  name: string;
  admin: boolean;
}

type Expired = () => Promise<void>;

export class Api {
  token: string | null = null;
  lang: Lang = "en";
  onExpired: Expired = async () => {
    throw new ApiError(401, "E510", "session expired");
  };

  async signIn(name: string, password: string): Promise<void> {
    const form = new URLSearchParams({ grant_type: "password", username: name, password });
    const r = await this.raw("POST", "/auth/token", form, false);
    const body = (await r.json()) as { access_token: string; refresh_token: string };
    this.token = body.access_token;
    // No persistence: the refresh token is revoked at once, so no long-lived token stays in
    // the page (docs/console.md). A session ends with its access token.
    const out = new URLSearchParams({ refresh_token: body.refresh_token });
    await this.raw("POST", "/auth/logout", out, false).catch(() => undefined);
  }

  signOut(): void {
    this.token = null;
  }

  private async raw(
    method: string,
    path: string,
    body: BodyInit | object | undefined,
    auth: boolean,
  ): Promise<Response> {
    const headers: Record<string, string> = { "Accept-Language": this.lang };
    if (auth && this.token) headers.Authorization = `Bearer ${this.token}`;
    let payload: BodyInit | undefined;
    if (body instanceof URLSearchParams) payload = body;
    else if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
    let r: Response;
    try {
      r = await fetch(path, { method, headers, body: payload, credentials: "omit" });
    } catch {
      throw new ApiError(0, "E509", "server unreachable");
    }
    if (!r.ok) {
      let code = "E513";
      let message = r.statusText;
      try {
        const e = (await r.json()) as { code?: string; message?: string };
        code = e.code ?? code;
        message = e.message ?? message;
      } catch {
        /* not JSON */
      }
      throw new ApiError(r.status, code, message);
    }
    return r;
  }

  /** A JSON request; a 401 asks the user to sign in again (the page stays as it is), then
   * the request is sent once more. */
  async req<T>(method: string, path: string, body?: object): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        const r = await this.raw(method, path, body, true);
        return (r.status === 204 ? undefined : await r.json()) as T;
      } catch (e) {
        if (e instanceof ApiError && e.status === 401 && attempt === 0) {
          this.token = null;
          await this.onExpired();
          continue;
        }
        throw e;
      }
    }
  }
}

export const api = new Api();

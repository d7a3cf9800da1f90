import { createContext, useCallback, useContext, useEffect, useRef, useState } from "react";
import { api, ApiError, type Me } from "./api";
import { detectLang, errorText, t, type Key, type Lang } from "./i18n";
import { navigate, usePath } from "./nav";
import { AdminPage } from "./pages/Admin";
import { JobPage } from "./pages/Job";
import { JobsPage } from "./pages/Jobs";
import { NewMatchPage } from "./pages/NewMatch";

interface Ctx {
  lang: Lang;
  me: Me;
  tr: (k: Key) => string;
  err: (e: unknown) => string;
}

const AppCtx = createContext<Ctx | null>(null);
export const useApp = (): Ctx => useContext(AppCtx)!;

export function describe(lang: Lang, e: unknown): string {
  if (e instanceof ApiError) {
    const text = e.message && e.status !== 0 ? e.message : errorText(lang, e.code);
    return `${e.code}: ${text}`;
  }
  return String(e);
}

function SignIn({ lang, onDone, overlay }: { lang: Lang; onDone: () => void; overlay: boolean }) {
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const submit = async (ev: React.FormEvent) => {
    ev.preventDefault();
    setBusy(true);
    setError("");
    try {
      await api.signIn(name, password);
      onDone();
    } catch (e) {
      // the API's code and wording: E514 (wrong user name or password), E507 (throttled), ...
      setError(describe(lang, e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className={overlay ? "overlay" : "signin-page"}>
      <form className="card signin" onSubmit={submit} data-testid="signin-form">
        <h1>{t(lang, "appName")}</h1>
        {overlay && <p className="notice" role="status">{t(lang, "sessionEnded")}</p>}
        <label>
          {t(lang, "userName")}
          <input name="username" autoComplete="username" value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <label>
          {t(lang, "password")}
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        {error && <p className="error" role="alert">{error}</p>}
        <button type="submit" disabled={busy || !name || !password}>
          {t(lang, "signIn")}
        </button>
      </form>
    </div>
  );
}

function LangSwitch({ lang, setLang }: { lang: Lang; setLang: (l: Lang) => void }) {
  return (
    <select
      aria-label={t(lang, "language")}
      className="lang"
      value={lang}
      onChange={(e) => setLang(e.target.value as Lang)}
    >
      <option value="en">English</option>
      <option value="zh">中文</option>
    </select>
  );
}

export function App() {
  const [lang, setLangState] = useState<Lang>(detectLang);
  const [me, setMe] = useState<Me | null>(null);
  const [expired, setExpired] = useState(false);
  const resume = useRef<(() => void)[]>([]);
  const path = usePath();

  const setLang = (l: Lang) => {
    localStorage.setItem("lang", l);
    setLangState(l);
  };
  api.lang = lang;
  useEffect(() => {
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  }, [lang]);

  useEffect(() => {
    api.onExpired = () =>
      new Promise<void>((resolve) => {
        resume.current.push(resolve);
        setExpired(true);
      });
  }, []);

  const signedIn = useCallback(async () => {
    const who = await api.req<Me>("GET", "/me");
    setMe(who);
    setExpired(false);
    const waiting = resume.current.splice(0);
    waiting.forEach((r) => r());
    if (!path.startsWith("/console/")) navigate("/console/jobs");
  }, [path]);

  if (!me) {
    return (
      <>
        <div className="topbar"><span /><LangSwitch lang={lang} setLang={setLang} /></div>
        <SignIn lang={lang} onDone={signedIn} overlay={false} />
      </>
    );
  }

  const ctx: Ctx = { lang, me, tr: (k) => t(lang, k), err: (e) => describe(lang, e) };
  let page: JSX.Element;
  const m = /^\/console\/jobs\/([^/]+)$/.exec(path);
  if (m) page = <JobPage id={decodeURIComponent(m[1])} />;
  else if (path === "/console/new") page = <NewMatchPage />;
  else if (path === "/console/admin") page = <AdminPage />;
  else page = <JobsPage />;

  const link = (to: string, key: Key) => (
    <a
      href={to}
      className={path === to ? "active" : ""}
      onClick={(e) => {
        e.preventDefault();
        navigate(to);
      }}
    >
      {t(lang, key)}
    </a>
  );

  return (
    <AppCtx.Provider value={ctx}>
      <div className="topbar">
        <strong>{t(lang, "appName")}</strong>
        <nav>
          {link("/console/new", "newMatch")}
          {link("/console/jobs", "jobs")}
          {me.admin && link("/console/admin", "admin")}
        </nav>
        <span className="who" data-testid="who">{me.name}</span>
        <LangSwitch lang={lang} setLang={setLang} />
        <button
          className="link"
          onClick={() => {
            api.signOut();
            setMe(null);
          }}
        >
          {t(lang, "signOut")}
        </button>
      </div>
      <main>{page}</main>
      {expired && <SignIn lang={lang} onDone={signedIn} overlay />}
    </AppCtx.Provider>
  );
}

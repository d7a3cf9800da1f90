import { useEffect, useState } from "react";
import { api } from "../api";
import { useApp } from "../App";

interface UserRow {
  name: string;
  disabled: boolean;
  admin: boolean;
  created_at: number;
}
interface Stats {
  queue: { queued_jobs: number; running_jobs: number; queued_tasks: number };
  workers: { worker_id: string; running: number; tasks_last_hour: number; last_seen_s: number; healthy: boolean }[];
  last_hour: { finished: number; failed: number; canceled: number; failure_rate: number };
}

export function AdminPage() {
  const { tr, err } = useApp();
  const [users, setUsers] = useState<UserRow[]>([]);
  const [stats, setStats] = useState<Stats | null>(null);
  const [error, setError] = useState("");
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");

  const load = async () => {
    try {
      const [u, s] = await Promise.all([
        api.req<{ items: UserRow[] }>("GET", "/admin/users"),
        api.req<Stats>("GET", "/admin/stats"),
      ]);
      setUsers(u.items);
      setStats(s);
      setError("");
    } catch (e) {
      setError(err(e));
    }
  };
  useEffect(() => {
    void load();
    const id = window.setInterval(load, 10000);
    return () => clearInterval(id);
  }, []); // eslint-disable-line react-hooks/exhaustive-deps

  const add = async (ev: React.FormEvent) => {
    ev.preventDefault();
    try {
      await api.req("POST", "/admin/users", { name, password });
      setName("");
      setPassword("");
      await load();
    } catch (e) {
      setError(err(e));
    }
  };
  const toggle = async (u: UserRow) => {
    try {
      await api.req("PATCH", `/admin/users/${encodeURIComponent(u.name)}`, { disabled: !u.disabled });
      await load();
    } catch (e) {
      setError(err(e));
    }
  };

  return (
    <section className="card" data-testid="admin-page">
      <h2>{tr("admin")}</h2>
      {error && <p className="error" role="alert" data-testid="error">{error}</p>}
      {stats && (
        <div className="stats">
          <div className="stat"><h3>{tr("queue")}</h3>
            <p>{tr("queuedJobs")}: <b data-testid="queued-jobs">{stats.queue.queued_jobs}</b></p>
            <p>{tr("runningJobs")}: <b>{stats.queue.running_jobs}</b></p>
            <p>{tr("queuedTasks")}: <b>{stats.queue.queued_tasks}</b></p>
          </div>
          <div className="stat"><h3>{tr("failureRate")}</h3>
            <p className="big" data-testid="failure-rate">{(100 * stats.last_hour.failure_rate).toFixed(1)} %</p>
            <p className="dim">{stats.last_hour.failed} {tr("failed")} / {stats.last_hour.finished} {tr("finished")}</p>
          </div>
          <div className="stat"><h3>{tr("workers")}</h3>
            {stats.workers.length === 0 ? <p className="dim">{tr("noWorkers")}</p> : (
              <table><tbody>
                {stats.workers.map((w) => (
                  <tr key={w.worker_id}>
                    <td>{w.worker_id}</td>
                    <td className={w.healthy ? "ok" : "bad"}>{w.healthy ? tr("healthy") : tr("stale")}</td>
                    <td className="dim">{tr("lastSeen")}: {w.last_seen_s}</td>
                  </tr>
                ))}
              </tbody></table>
            )}
          </div>
        </div>
      )}
      {stats && (
        <>
          <h3>{tr("users")}</h3>
          <table className="users">
            <tbody>
              {users.map((u) => (
                <tr key={u.name} data-testid="user-row">
                  <td>{u.name}{u.admin ? " ★" : ""}</td>
                  <td className={u.disabled ? "bad" : "ok"}>{u.disabled ? tr("disabled") : tr("active")}</td>
                  <td><button className="link" onClick={() => toggle(u)}>{u.disabled ? tr("enable") : tr("disable")}</button></td>
                </tr>
              ))}
            </tbody>
          </table>
          <form className="inline" onSubmit={add}>
            <input placeholder={tr("userName")} value={name} onChange={(e) => setName(e.target.value)} data-testid="new-user" />
            <input placeholder={tr("password")} type="password" value={password} onChange={(e) => setPassword(e.target.value)} data-testid="new-password" />
            <button type="submit" disabled={!name || !password}>{tr("addUser")}</button>
          </form>
        </>
      )}
    </section>
  );
}

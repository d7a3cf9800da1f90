// Interface strings (zh/en) and the project's error-code table, fetched from the API
// (/console-errors.json is engine/schema/errors.py's table: one source for every client).

export type Lang = "en" | "zh";

const STRINGS = {
  appName: ["audio-style console", "audio-style 控制台"],
  signIn: ["Sign in", "登录"],
  signOut: ["Sign out", "退出登录"],
  sessionEnded: [
    "Your session has ended. Sign in again to continue; this page keeps what you entered.",
    "会话已结束。请重新登录以继续；本页已填写的内容会保留。",
  ],
  userName: ["User name", "用户名"],
  password: ["Password", "密码"],
  language: ["Language", "语言"],
  newMatch: ["New match", "新建匹配"],
  jobs: ["Jobs", "任务"],
  admin: ["Admin", "管理"],
  targets: ["Target(s): your tracks", "目标：你的音轨"],
  references: ["Reference(s)", "参考曲目"],
  dropHere: ["Drop audio files here or pick them", "将音频文件拖到此处或点击选择"],
  pick: ["Choose files", "选择文件"],
  remove: ["Remove", "移除"],
  options: ["Options", "选项"],
  amount: ["Amount (%)", "总量 (%)"],
  eqAmount: ["EQ amount (%)", "均衡量 (%)"],
  dynamicsAmount: ["Dynamics amount (%)", "动态量 (%)"],
  widthAmount: ["Width amount (%)", "声像宽度量 (%)"],
  loudnessAmount: ["Loudness amount (%)", "响度量 (%)"],
  targetLufs: ["Target loudness (LUFS, empty = reference's)", "目标响度 (LUFS，留空 = 参考曲目)"],
  ceiling: ["True-peak ceiling (dBTP)", "真峰值上限 (dBTP)"],
  estimator: ["Estimator", "估计器"],
  jobName: ["Job name", "任务名称"],
  format: ["Output format", "输出格式"],
  likeTarget: ["like the target", "与目标相同"],
  submit: ["Upload and start", "上传并开始"],
  uploading: ["Uploading", "正在上传"],
  retrying: ["Connection lost, retrying", "连接中断，正在重试"],
  uploaded: ["Uploaded", "已上传"],
  submitted: ["Job submitted", "任务已提交"],
  filter: ["Filter", "筛选"],
  all: ["All", "全部"],
  state: ["State", "状态"],
  progress: ["Progress", "进度"],
  created: ["Created", "创建时间"],
  name: ["Name", "名称"],
  cancel: ["Cancel", "取消"],
  noJobs: ["No jobs yet.", "还没有任务。"],
  more: ["Load more", "加载更多"],
  loudness: ["Loudness", "响度"],
  reference: ["Reference", "参考"],
  target: ["Target", "目标"],
  result: ["Result", "结果"],
  afterCodec: ["Result after the codec", "编解码后的结果"],
  integrated: ["Integrated (LUFS)", "综合响度 (LUFS)"],
  truePeak: ["True peak (dBTP)", "真峰值 (dBTP)"],
  plots: ["Match curves (EQ: mid, side)", "匹配曲线（均衡：中、侧）"],
  plotUnavailable: ["The match curves could not be loaded.", "无法加载匹配曲线。"],
  freqAxis: ["Frequency (Hz)", "频率 (Hz)"],
  gainAxis: ["Gain (dB)", "增益 (dB)"],
  mid: ["Mid", "中"],
  side: ["Side", "侧"],
  player: ["A/B player (loudness-matched)", "A/B 试听（响度已对齐）"],
  play: ["Play", "播放"],
  pause: ["Pause", "暂停"],
  downloads: ["Downloads", "下载"],
  audio: ["Audio", "音频"],
  presetJson: ["Preset (JSON)", "预设 (JSON)"],
  presetApo: ["Equalizer APO", "Equalizer APO"],
  presetGeq: ["GraphicEQ", "GraphicEQ"],
  presetCsv: ["CSV", "CSV"],
  report: ["Report", "报告"],
  loading: ["Loading…", "加载中…"],
  back: ["All jobs", "全部任务"],
  users: ["Users", "用户"],
  addUser: ["Add user", "添加用户"],
  disable: ["Disable", "停用"],
  enable: ["Enable", "启用"],
  disabled: ["disabled", "已停用"],
  active: ["active", "正常"],
  queue: ["Queue", "队列"],
  queuedJobs: ["Queued jobs", "排队任务"],
  runningJobs: ["Running jobs", "运行中任务"],
  queuedTasks: ["Queued tasks", "排队子任务"],
  workers: ["Workers", "工作节点"],
  healthy: ["healthy", "健康"],
  stale: ["lease expired", "租约过期"],
  lastSeen: ["Last seen (s ago)", "最近活动（秒前）"],
  failureRate: ["Failure rate, last hour", "近一小时失败率"],
  finished: ["finished", "已完成"],
  failed: ["failed", "失败"],
  noWorkers: ["No worker activity in the last hour.", "近一小时无工作节点活动。"],
  "state.queued": ["queued", "排队中"],
  "state.running": ["running", "运行中"],
  "state.succeeded": ["succeeded", "已完成"],
  "state.failed": ["failed", "失败"],
  "state.canceled": ["canceled", "已取消"],
} as const;

export type Key = keyof typeof STRINGS;
type Table = Record<string, { en: string; zh: string }>;
let errors: Table = {};

export function detectLang(): Lang {
  const saved = localStorage.getItem("lang");
  if (saved === "en" || saved === "zh") return saved;
  return (navigator.language || "en").toLowerCase().startsWith("zh") ? "zh" : "en";
}

export function t(lang: Lang, key: Key): string {
  const [en, zh] = STRINGS[key];
  return lang === "zh" ? zh : en;
}

export async function loadErrorTable(): Promise<void> {
  const r = await fetch("/console-errors.json");
  if (r.ok) errors = (await r.json()) as Table;
}

/** The project's wording of an error code; `{name}` fields filled from params (unknown ones
 * removed, with the punctuation before them). */
export function errorText(lang: Lang, code: string, params: Record<string, string> = {}): string {
  const row = errors[code];
  if (!row) return code;
  const text = lang === "zh" ? row.zh : row.en;
  return text
    .replace(/\{(\w+)\}/g, (_, k: string) => (k in params ? params[k] : "\u0000"))
    .replace(/[\s:：(（]*\u0000[)）]?/g, "")
    .trim();
}

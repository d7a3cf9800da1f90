"""Every user-facing text of the cloud client and its CLI, in English and Simplified Chinese.

Errors come from ``engine.schema.errors`` (one wording per code); this table holds the rest:
help texts, progress stage names, confirmations and notices. ``T(key)`` picks the current
language (``--lang``, then AUDIO_STYLE_LANG / LC_ALL / LC_MESSAGES / LANG).
"""

from __future__ import annotations

from engine.schema.i18n import current_language

TEXTS: dict[str, tuple[str, str]] = {
    # --- commands ---
    "cmd_cloud": (
        "offload matching to an audio-style server (login, submit, status, fetch...)",
        "将匹配任务交给 audio-style 服务器处理（登录、提交、状态、下载……）",
    ),
    "cmd_login": ("sign in to a server", "登录服务器"),
    "cmd_logout": ("sign out and forget the saved session", "退出登录并删除保存的会话"),
    "cmd_submit": (
        "upload target(s) and reference(s) and submit a match job",
        "上传目标和参考文件并提交匹配任务",
    ),
    "cmd_status": ("show a job's state and progress", "显示任务状态和进度"),
    "cmd_list": ("list your jobs, newest first", "列出您的任务（最新的在前）"),
    "cmd_fetch": ("download a finished job's results", "下载已完成任务的结果"),
    "cmd_cancel": ("cancel a queued or running job", "取消排队中或运行中的任务"),
    # --- options ---
    "opt_server": (
        "server URL, e.g. https://audio.example.com",
        "服务器地址，例如 https://audio.example.com",
    ),
    "opt_username": ("account name", "账户名"),
    "opt_password_stdin": (
        "read the password from standard input (one line)",
        "从标准输入读取密码（一行）",
    ),
    "opt_targets": ("target audio file(s)", "目标音频文件"),
    "opt_reference": (
        "reference audio file (repeat to average several)",
        "参考音频文件（可重复以取平均）",
    ),
    "opt_format": (
        "output format (default: FLAC for a FLAC target, else 24-bit WAV)",
        "输出格式（默认：FLAC 目标输出 FLAC，其他输出 24 位 WAV）",
    ),
    "opt_wait": ("wait for the job and download the result", "等待任务完成并下载结果"),
    "opt_timeout": (
        "with --wait: give up waiting after S seconds (the job goes on)",
        "与 --wait 一起使用：等待 S 秒后放弃等待（任务继续运行）",
    ),
    "wait_timeout": (
        "stopped waiting for job {job} after {seconds:.0f} s; it goes on: audio-style cloud status {job}",
        "等待任务 {job} {seconds:.0f} 秒后停止等待；任务仍在运行：audio-style cloud status {job}",
    ),
    "opt_out_submit": (
        "output file (one target) or directory; implies --wait",
        "输出文件（单个目标）或目录；隐含 --wait",
    ),
    "opt_out_fetch": ("directory for the results", "结果保存目录"),
    "opt_force": ("overwrite existing outputs", "覆盖已存在的输出"),
    "opt_quiet": ("no progress display", "不显示进度"),
    "opt_json": ("print JSON", "输出 JSON"),
    "opt_job": ("job id", "任务编号"),
    "opt_limit": ("how many jobs to show", "显示的任务数量"),
    "opt_state": ("only jobs in this state", "只显示处于此状态的任务"),
    "opt_name": ("a name for the job", "任务名称"),
    "opt_all_files": (
        "also download the preset (JSON) and the curves (PNG)",
        "同时下载预设（JSON）和曲线图（PNG）",
    ),
    # --- messages ---
    "password_prompt": ("Password: ", "密码："),
    "need_password_stdin": (
        "pass --password-stdin and the password on standard input",
        "请使用 --password-stdin 并在标准输入中提供密码",
    ),
    "logged_in": ("signed in to {server} as {username}", "已以 {username} 身份登录 {server}"),
    "logged_out": ("signed out", "已退出登录"),
    "logged_out_local": (
        "signed out on this computer (the server was not reached)",
        "已在本机退出登录（未能连接服务器）",
    ),
    "not_logged_in_hint": (
        "sign in first: audio-style cloud login --server URL --username NAME --password-stdin",
        "请先登录：audio-style cloud login --server URL --username NAME --password-stdin",
    ),
    "no_keyring": (
        "no system keyring is available; the session is kept in {path} (readable only by you)",
        "系统密钥环不可用；会话保存在 {path}（仅您本人可读）",
    ),
    "submitted": ("submitted job {job}", "已提交任务 {job}"),
    "canceled_job": ("canceled job {job}", "已取消任务 {job}"),
    "job_line": (
        "{job}  {state:<9}  {progress:>4.0%}  {stage}  {name}",
        "{job}  {state:<9}  {progress:>4.0%}  {stage}  {name}",
    ),
    "no_jobs": ("no jobs", "没有任务"),
    "wrote": ("wrote", "已写入"),
    "checksum_mismatch": (
        "the downloaded file does not match its checksum: {name}",
        "下载的文件与校验值不符：{name}",
    ),
    "size_mismatch": (
        "the download ended early: {got} of {want} bytes of {name}",
        "下载提前结束：{name} 只收到 {want} 字节中的 {got} 字节",
    ),
    "download_failed": ("download failed ({status}): {name}", "下载失败（{status}）：{name}"),
    "upload_failed": ("upload failed ({status}): {name}", "上传失败（{status}）：{name}"),
    "credentials_expired": (
        "the temporary upload credentials expired",
        "临时上传凭证已过期",
    ),
    "no_results": ("the job has no results", "该任务没有结果"),
    "job_not_finished": (
        "job {job} is {state}, not finished",
        "任务 {job} 状态为 {state}，尚未完成",
    ),
    # --- progress stages ---
    "stage_upload": ("upload", "上传"),
    "stage_queued": ("queued", "排队"),
    "stage_running": ("running", "处理"),
    "stage_download": ("download", "下载"),
    # --- job states ---
    "state_queued": ("queued", "排队中"),
    "state_running": ("running", "运行中"),
    "state_succeeded": ("succeeded", "已完成"),
    "state_failed": ("failed", "失败"),
    "state_canceled": ("canceled", "已取消"),
}


def T(key: str, **params: object) -> str:
    """The text for ``key`` in the current language, ``{name}`` fields filled from params."""
    en, zh = TEXTS[key]
    text = zh if current_language() == "zh" else en
    return text.format(**params) if params else text

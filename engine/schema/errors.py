"""Stable error codes with their one wording in English and Simplified Chinese.

Every user-facing failure in the engine, the CLI, the server's API bodies and the app's dialogs
comes from this table: one wording per code, never duplicated by hand.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from engine.schema.i18n import current_language


class ErrorCode(StrEnum):
    """Stable, versioned error codes (never renumber; add new ones at the end of a group)."""

    # input files (E1xx)
    FILE_NOT_FOUND = "E101"
    FILE_EMPTY = "E102"
    UNSUPPORTED_FORMAT = "E103"
    TRUNCATED = "E104"
    TOO_LONG = "E105"
    TOO_SHORT = "E106"
    TOO_MANY_CHANNELS = "E107"
    BAD_SAMPLE_RATE = "E108"
    SILENT = "E109"
    NON_FINITE = "E110"
    FILE_TOO_LARGE = "E111"
    NOT_READABLE = "E112"
    LENGTH_MISMATCH = "E113"
    # output (E2xx)
    OUTPUT_EXISTS = "E201"
    OUTPUT_NOT_WRITABLE = "E202"
    BAD_FORMAT_OPTION = "E203"
    # options, presets (E3xx)
    BAD_OPTION = "E301"
    BAD_PRESET = "E302"
    PRESET_VERSION = "E303"
    CHANNEL_MISMATCH = "E304"
    EXPORT_RATE_MISMATCH = "E305"
    BAD_EXPORT = "E306"
    FFMPEG_FILTER = "E307"
    # runtime (E4xx)
    CANCELED = "E401"
    GPU_UNAVAILABLE = "E402"
    MODEL_UNAVAILABLE = "E403"
    NO_DISPLAY = "E404"
    SYSTEM_LIBRARIES_MISSING = "E405"
    INTERNAL = "E499"
    # server / cloud (E5xx)
    UNAUTHORIZED = "E501"
    FORBIDDEN = "E502"
    NOT_FOUND = "E503"
    SOURCE_NOT_ALLOWED = "E504"
    UPLOAD_TOO_LARGE = "E505"
    NOT_AUDIO = "E506"
    RATE_LIMITED = "E507"
    CONFLICT = "E508"
    SERVER_UNREACHABLE = "E509"
    SESSION_EXPIRED = "E510"
    SERVICE_UNAVAILABLE = "E511"
    JOB_FAILED = "E512"
    INVALID_REQUEST = "E513"
    BAD_CREDENTIALS = "E514"
    UPLOAD_INFECTED = "E515"
    SCAN_UNAVAILABLE = "E516"


# {code: (english, chinese)}; ``{name}`` fields are filled from the error's params.
MESSAGES: dict[ErrorCode, tuple[str, str]] = {
    ErrorCode.FILE_NOT_FOUND: ("File not found: {path}", "找不到文件：{path}"),
    ErrorCode.FILE_EMPTY: ("File is empty: {path}", "文件为空：{path}"),
    ErrorCode.UNSUPPORTED_FORMAT: (
        "Not a readable audio file (unsupported or damaged format): {path}",
        "无法读取的音频文件（格式不支持或已损坏）：{path}",
    ),
    ErrorCode.TRUNCATED: (
        "Audio file is truncated (header promises more data than the file holds): {path}",
        "音频文件被截断（文件头声明的数据多于实际内容）：{path}",
    ),
    ErrorCode.TOO_LONG: (
        "Audio is too long: {length_s} s declared, the limit is {limit_s} s: {path}",
        "音频过长：声明 {length_s} 秒，上限为 {limit_s} 秒：{path}",
    ),
    ErrorCode.TOO_SHORT: (
        "Audio is too short: {length_s} s, at least {limit_s} s is needed: {path}",
        "音频过短：{length_s} 秒，至少需要 {limit_s} 秒：{path}",
    ),
    ErrorCode.TOO_MANY_CHANNELS: (
        "Too many channels: {channels}, at most {limit} are supported: {path}",
        "声道过多：{channels} 个，最多支持 {limit} 个：{path}",
    ),
    ErrorCode.BAD_SAMPLE_RATE: (
        "Unsupported sample rate {sample_rate} Hz (8000-192000 Hz): {path}",
        "不支持的采样率 {sample_rate} Hz（支持 8000-192000 Hz）：{path}",
    ),
    ErrorCode.SILENT: ("Audio is silent, nothing to match: {path}", "音频为静音，无法匹配：{path}"),
    ErrorCode.NON_FINITE: (
        "Audio contains NaN or infinite samples: {path}",
        "音频包含 NaN 或无穷大的采样值：{path}",
    ),
    ErrorCode.FILE_TOO_LARGE: (
        "File is too large: {size_mb} MB, the limit is {limit_mb} MB: {path}",
        "文件过大：{size_mb} MB，上限为 {limit_mb} MB：{path}",
    ),
    ErrorCode.NOT_READABLE: ("Cannot read file: {path}", "无法读取文件：{path}"),
    ErrorCode.LENGTH_MISMATCH: (
        "Audio decodes to more than the {declared_s} s its header declares: {path}",
        "音频解码后长于文件头声明的 {declared_s} 秒：{path}",
    ),
    ErrorCode.OUTPUT_EXISTS: (
        "Output already exists (use --force to overwrite): {path}",
        "输出文件已存在（使用 --force 覆盖）：{path}",
    ),
    ErrorCode.OUTPUT_NOT_WRITABLE: ("Cannot write output: {path}", "无法写入输出文件：{path}"),
    ErrorCode.BAD_FORMAT_OPTION: (
        "Unknown output format {value!r}; choose one of: {choices}",
        "未知的输出格式 {value!r}；可选：{choices}",
    ),
    ErrorCode.BAD_OPTION: ("Invalid option {name}: {reason}", "无效的选项 {name}：{reason}"),
    ErrorCode.BAD_PRESET: (
        "Invalid preset file {path}: {reason}",
        "无效的预设文件 {path}：{reason}",
    ),
    ErrorCode.PRESET_VERSION: (
        "Preset version {version} is newer than this program supports ({supported})",
        "预设版本 {version} 高于本程序支持的版本（{supported}）",
    ),
    ErrorCode.CHANNEL_MISMATCH: (
        "Channel layout not supported for this operation: {reason}",
        "此操作不支持该声道布局：{reason}",
    ),
    ErrorCode.EXPORT_RATE_MISMATCH: (
        "The impulse response is at {ir_rate} Hz but the target at {rate} Hz: "
        "export it with --sample-rate {rate}",
        "脉冲响应的采样率为 {ir_rate} Hz，而目标为 {rate} Hz：请用 --sample-rate {rate} 导出",
    ),
    ErrorCode.BAD_EXPORT: (
        "Not an impulse-response WAV or ffmpeg filter chain of audio-style: {path}: {reason}",
        "不是 audio-style 导出的脉冲响应 WAV 或 ffmpeg 滤镜链：{path}：{reason}",
    ),
    ErrorCode.FFMPEG_FILTER: (
        "ffmpeg could not run the filter chain: {reason}",
        "ffmpeg 无法运行该滤镜链：{reason}",
    ),
    ErrorCode.CANCELED: ("Canceled", "已取消"),
    ErrorCode.GPU_UNAVAILABLE: (
        "GPU requested but not available: {reason}",
        "请求使用 GPU，但 GPU 不可用：{reason}",
    ),
    ErrorCode.MODEL_UNAVAILABLE: (
        "The learned style estimator cannot run: {reason}",
        "无法运行学习型风格估计器：{reason}",
    ),
    ErrorCode.NO_DISPLAY: (
        "No display to open the window on ({reason}): run it in a desktop session, or under a "
        "virtual display: xvfb-run -a {command}",
        "没有可打开窗口的显示器（{reason}）：请在桌面会话中运行，或在虚拟显示器下运行："
        "xvfb-run -a {command}",
    ),
    ErrorCode.SYSTEM_LIBRARIES_MISSING: (
        "The desktop window needs system libraries that are missing ({libraries}); install them "
        "with: {command} (the command line works without them)",
        "桌面窗口所需的系统库缺失（{libraries}）；请用以下命令安装：{command}（命令行不需要它们）",
    ),
    ErrorCode.INTERNAL: ("Internal error: {reason}", "内部错误：{reason}"),
    ErrorCode.UNAUTHORIZED: (
        "Not signed in or the session is invalid",
        "未登录或会话无效",
    ),
    ErrorCode.FORBIDDEN: ("Not allowed", "没有权限"),
    ErrorCode.NOT_FOUND: ("Not found", "未找到"),
    ErrorCode.SOURCE_NOT_ALLOWED: (
        "Source not allowed: only your own uploads or signed URLs of this server's storage",
        "不允许的来源：只能使用您自己上传的文件或本服务器存储的签名链接",
    ),
    ErrorCode.UPLOAD_TOO_LARGE: (
        "Upload too large: {size_mb} MB, the limit is {limit_mb} MB",
        "上传文件过大：{size_mb} MB，上限为 {limit_mb} MB",
    ),
    ErrorCode.NOT_AUDIO: ("Not an audio file: {key}", "不是音频文件：{key}"),
    ErrorCode.RATE_LIMITED: ("Too many requests, try again later", "请求过多，请稍后再试"),
    ErrorCode.CONFLICT: ("Conflict: {reason}", "冲突：{reason}"),
    ErrorCode.SERVER_UNREACHABLE: (
        "Server unreachable: {url}",
        "无法连接服务器：{url}",
    ),
    ErrorCode.SESSION_EXPIRED: (
        "Your session has ended; please log in again",
        "会话已失效，请重新登录",
    ),
    ErrorCode.SERVICE_UNAVAILABLE: (
        "Service unavailable: {reason}",
        "服务不可用：{reason}",
    ),
    ErrorCode.JOB_FAILED: ("Job failed: {reason}", "任务失败：{reason}"),
    ErrorCode.INVALID_REQUEST: ("Invalid request: {reason}", "无效的请求：{reason}"),
    ErrorCode.BAD_CREDENTIALS: ("Wrong user name or password", "用户名或密码错误"),
    ErrorCode.UPLOAD_INFECTED: (
        "The upload {name} was refused by the virus scanner ({signature})",
        "上传的文件 {name} 未通过病毒扫描（{signature}）",
    ),
    ErrorCode.SCAN_UNAVAILABLE: (
        "The virus scanner is unavailable; the job will not run until it is back",
        "病毒扫描服务不可用；恢复之前任务不会运行",
    ),
}


class _Default(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"


def error_message(code: ErrorCode, lang: str | None = None, **params: Any) -> str:
    """The one wording of ``code`` in ``lang`` (``en``/``zh``; default: current language)."""
    en, zh = MESSAGES[code]
    template = zh if (lang or current_language()) == "zh" else en
    return template.format_map(_Default(params))


class AudioStyleError(Exception):
    """An expected failure with a stable code; rendered as one line, never a traceback."""

    def __init__(self, code: ErrorCode, **params: Any) -> None:
        self.code = code
        self.params = params
        super().__init__(error_message(code, "en", **params))

    def message(self, lang: str | None = None) -> str:
        """The message in ``lang`` (default: the current language)."""
        return error_message(self.code, lang, **self.params)

    def one_line(self, lang: str | None = None) -> str:
        """``error E101: File not found: x.wav`` (localised ``错误``)."""
        word = "错误" if (lang or current_language()) == "zh" else "error"
        return f"{word} {self.code.value}: {self.message(lang)}"

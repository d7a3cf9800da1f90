"""Every user-facing CLI string, in English and Simplified Chinese.

``T(key)`` picks the current language (``--lang``, then LANG/LC_ALL). A test checks that every
key has both texts and that cli.py uses no other literal for users.
"""

from __future__ import annotations

from engine.schema.i18n import current_language

TEXTS: dict[str, tuple[str, str]] = {
    "prog": (
        "Reference-based mix/master style matching: EQ, loudness, dynamics, width.",
        "基于参考曲目的混音/母带风格匹配：均衡、响度、动态、声像宽度。",
    ),
    "lang": (
        "language of messages: zh or en (default: from LANG)",
        "消息语言：zh 或 en（默认取自 LANG）",
    ),
    "cmd_analyze": (
        "measure loudness, true peak, LRA, spectrum, width",
        "测量响度、真峰值、响度范围、频谱和宽度",
    ),
    "cmd_match": (
        "match target(s) to reference(s) and write the result",
        "将目标匹配到参考并写出结果",
    ),
    "cmd_apply": ("apply a saved preset to a target", "将已保存的预设应用到目标"),
    "cmd_export": ("export a preset for other tools", "导出预设供其他工具使用"),
    "file": ("audio file", "音频文件"),
    "json": ("print JSON instead of a table", "输出 JSON 而不是表格"),
    "targets": ("target audio file(s) to process", "要处理的目标音频文件"),
    "reference": (
        "reference audio file (repeat to average several)",
        "参考音频文件（可重复以取平均）",
    ),
    "out": ("output file, or a directory for several targets", "输出文件；多个目标时为目录"),
    "preset_out": ("also write the preset (JSON)", "同时写出预设（JSON）"),
    "report": ("also write a report (JSON)", "同时写出报告（JSON）"),
    "amount": ("overall amount in percent (0-100)", "总体强度，百分比（0-100）"),
    "eq_amount": ("EQ amount in percent", "均衡强度，百分比"),
    "dyn_amount": ("dynamics amount in percent", "动态强度，百分比"),
    "width_amount": ("stereo width amount in percent", "立体声宽度强度，百分比"),
    "loud_amount": ("loudness amount in percent", "响度强度，百分比"),
    "target_lufs": (
        "target loudness in LUFS (default: the reference's)",
        "目标响度 LUFS（默认：参考曲目的响度）",
    ),
    "ceiling": ("true-peak ceiling in dBTP (default -1.0)", "真峰值上限 dBTP（默认 -1.0）"),
    "max_limiting": (
        "most dB of limiting the loudness target may take (default {default:g}); "
        "past it the output stays quieter (the note below says so)",
        "为达到目标响度最多允许的限幅量 dB（默认 {default:g}）；超过时输出保持较低响度（会提示）",
    ),
    "smoothing": (
        "EQ smoothing in octaves (default: automatic)",
        "均衡平滑宽度，单位倍频程（默认自动）",
    ),
    "no_eq": ("do not match EQ", "不匹配均衡"),
    "no_dyn": ("do not match dynamics", "不匹配动态"),
    "no_width": ("do not match stereo width", "不匹配立体声宽度"),
    "no_loud": ("do not match loudness", "不匹配响度"),
    "no_limiter": ("disable the true-peak limiter", "关闭真峰值限制器"),
    "format": ("output format", "输出格式"),
    "force": ("overwrite existing outputs", "覆盖已存在的输出"),
    "quiet": ("no progress bar", "不显示进度条"),
    "preset": ("preset file (JSON)", "预设文件（JSON）"),
    "target": ("target audio file", "目标音频文件"),
    "export_format": ("export format", "导出格式"),
    "export_out": ("output file", "输出文件"),
    "estimator": ("style estimator: rules or learned", "风格估计器：rules 或 learned"),
    "device": ("compute device: auto, cpu or gpu", "计算设备：auto、cpu 或 gpu"),
    "wrote": ("wrote", "已写入"),
    "interrupted": ("interrupted", "已中断"),
    "missing_extra": (
        "the '{name}' command needs the optional parts: pip install 'audio-style[{extra}]' ({error})",
        "“{name}”命令需要可选组件：pip install 'audio-style[{extra}]'（{error}）",
    ),
    "col_measure": ("measure", "测量项"),
    "m_integrated": ("integrated loudness", "综合响度"),
    "m_lra": ("loudness range", "响度范围"),
    "m_tp": ("true peak", "真峰值"),
    "m_sp": ("sample peak", "采样峰值"),
    "m_plr": ("peak to loudness ratio", "峰值响度比"),
    "m_crest": ("crest factor", "峰值因数"),
    "m_width": ("side/mid ratio", "侧/中比"),
    "m_corr": ("correlation", "相关性"),
    "m_length": ("length", "时长"),
    "m_rate": ("sample rate", "采样率"),
    "m_channels": ("channels", "声道数"),
    "loudness_short": (
        "note: {target:.1f} LUFS would need more than {budget:g} dB of limiting; "
        "left at {lufs:.1f} LUFS to keep the dynamics (--max-limiting-db raises the limit)",
        "提示：达到 {target:.1f} LUFS 需要超过 {budget:g} dB 的限幅；"
        "为保留动态，停在 {lufs:.1f} LUFS（--max-limiting-db 可提高上限）",
    ),
    "result_line": (
        "{output}: {lufs:.1f} LUFS, true peak {tp:.1f} dBTP, gain {gain:+.1f} dB, reference trust {trust:.0%}",
        "{output}：{lufs:.1f} LUFS，真峰值 {tp:.1f} dBTP，增益 {gain:+.1f} dB，参考可信度 {trust:.0%}",
    ),
}


def T(key: str, **params: object) -> str:
    """The text for ``key`` in the current language."""
    en, zh = TEXTS[key]
    text = zh if current_language() == "zh" else en
    return text.format(**params) if params else text

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
        "reference audio file, optionally with a weight: R:0.7 (repeat for several: the "
        "target is corrected only outside their range)",
        "参考音频文件，可带权重：R:0.7（可重复指定多个：仅校正目标超出其范围的部分）",
    ),
    "reference_mode": (
        "several references: range (correct only outside their spread) or average",
        "多个参考：range（仅校正超出其分布范围的部分）或 average（取平均）",
    ),
    "album": (
        "album mode: plan the targets together (relative loudness kept, one tonal signature)",
        "专辑模式：统一规划所有目标（保持相对响度，统一音色特征）",
    ),
    "album_spread": (
        "album mode: percent of the input loudness spread kept (0 = all equally loud)",
        "专辑模式：保留输入响度差异的百分比（0 = 全部同样响）",
    ),
    "album_consistency": (
        "album mode: percent of each track's tonal deviation from the album removed",
        "专辑模式：消除各曲目相对专辑平均音色偏差的百分比",
    ),
    "album_header": (
        "album: {lufs:.1f} LUFS, spread {spread:.1f} LU (input {spread_in:.1f} LU), "
        "mean tonal distance {dist:.2f} dB (input {dist_in:.2f} dB)",
        "专辑：{lufs:.1f} LUFS，响度差 {spread:.1f} LU（输入 {spread_in:.1f} LU），"
        "平均音色距离 {dist:.2f} dB（输入 {dist_in:.2f} dB）",
    ),
    "album_row": (
        "{track}: {lufs:.1f} LUFS, LRA {lra:.1f} LU, true peak {tp:.1f} dBTP, "
        "tonal distance to the album {dist:.2f} dB",
        "{track}：{lufs:.1f} LUFS，响度范围 {lra:.1f} LU，真峰值 {tp:.1f} dBTP，"
        "与专辑平均音色距离 {dist:.2f} dB",
    ),
    "phase": (
        "impulse response phase: linear (latency stated) or minimum (zero latency)",
        "脉冲响应相位：linear（线性相位，有延迟）或 minimum（最小相位，零延迟）",
    ),
    "ir_rate": ("impulse response sample rate in Hz", "脉冲响应采样率（Hz）"),
    "input_lufs": (
        "ffmpeg: the track's integrated loudness (LUFS) to set the gain",
        "ffmpeg：曲目的综合响度（LUFS），用于设定增益",
    ),
    "ir_latency": (
        "{phase} phase, {rate} Hz, {taps} taps: latency {latency} samples ({ms:.1f} ms)",
        "{phase} 相位，{rate} Hz，{taps} 个抽头：延迟 {latency} 个采样（{ms:.1f} 毫秒）",
    ),
    "cmd_verify": (
        "null test: the engine's EQ stage against an export (impulse response or ffmpeg chain)",
        "零差测试：将引擎的均衡阶段与导出结果（脉冲响应或 ffmpeg 滤镜链）对比",
    ),
    "exported": (
        "the exported file (.wav impulse response or ffmpeg chain)",
        "导出的文件（.wav 脉冲响应或 ffmpeg 滤镜链）",
    ),
    "verify_seconds": (
        "null the first N seconds of the target (0 = all; default 60)",
        "对目标的前 N 秒做零差测试（0 = 全部；默认 60）",
    ),
    "v_residual": ("null residual", "零差残差"),
    "v_magnitude": ("magnitude error (max)", "幅度误差（最大）"),
    "v_band": ("1/3-octave band error (max)", "1/3 倍频程频带误差（最大）"),
    "v_latency": ("latency (samples)", "延迟（采样数）"),
    "v_note_plain_stereo": (
        "plain stereo response: no mid/side (width) change; the residual shows it",
        "普通立体声响应：不含中/侧（宽度）变化，残差体现了这一点",
    ),
    "v_note_eq_part": (
        "the chain's EQ part is nulled (dynamics, volume and limiter are not)",
        "仅对比滤镜链的均衡部分（不含动态、音量和限幅器）",
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
    "estimator": (
        "style estimator: rules, learned, or blend (default: the rules' EQ with up to 30 %% of the learned one)",
        "风格估计器：rules、learned 或 blend（默认：规则的均衡曲线加至多 30 %% 学习模型的曲线）",
    ),
    "device": ("compute device: auto, cpu or gpu", "计算设备：auto、cpu 或 gpu"),
    "verbose": (
        "also say when --device auto computes on the CPU for want of a GPU",
        "--device auto 因没有 GPU 而改用 CPU 时也予以说明",
    ),
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
    "loudness_clip_stage": (
        "note: {target:.1f} LUFS needed the clip stage (up to {clip:g} dB of every peak taken "
        "without release) besides the limiter",
        "提示：达到 {target:.1f} LUFS 除限幅器外还用了削波级（每个峰值最多 {clip:g} dB，无释放）",
    ),
    "result_line": (
        "{output}: {lufs:.1f} LUFS, true peak {tp:.1f} dBTP, gain {gain:+.1f} dB, reference trust {trust:.0%}",
        "{output}：{lufs:.1f} LUFS，真峰值 {tp:.1f} dBTP，增益 {gain:+.1f} dB，参考可信度 {trust:.0%}",
    ),
    "cmd_qc": (
        "delivery check: streaming loudness, codec true peak, mono fold-down, clipping, DC",
        "交付检查：流媒体响度、编码后真峰值、单声道折叠、削波、直流偏移",
    ),
    "platform": (
        "service to check (repeat; default all): {names}",
        "要检查的平台（可重复；默认全部）：{names}",
    ),
    "strict": ("exit 1 when any check fails", "任一检查未通过时以状态 1 退出"),
    "codec_safe": (
        "keep the result <= the ceiling after this codec's encode/decode: {names}",
        "使结果经此编码器编解码后仍不超过上限：{names}",
    ),
    "qc_head": (
        "{file}: {lufs:.1f} LUFS, true peak {tp:.1f} dBTP",
        "{file}：{lufs:.1f} LUFS，真峰值 {tp:.1f} dBTP",
    ),
    "qc_cols": (
        "service         norm. target  gain     playback    codec       true peak after codec",
        "平台            归一化目标    增益     播放响度    编码        编码后真峰值",
    ),
    "qc_none": ("none", "无"),
    "qc_ok": ("ok", "通过"),
    "qc_fail": ("FAIL", "未通过"),
    "qc_tp": ("true peak", "真峰值"),
    "qc_isp": ("inter-sample overs (10 ms windows)", "采样间过载（10 毫秒窗）"),
    "qc_mono": ("mono fold-down loudness change", "单声道折叠响度变化"),
    "qc_cancel": ("bands that cancel in mono", "单声道下抵消的频段"),
    "qc_corr": ("minimum short-term correlation", "最小短时相关系数"),
    "qc_clip": ("clipped samples", "削波采样数"),
    "qc_dc": ("DC offset", "直流偏移"),
    "qc_summary_ok": ("all delivery checks passed", "所有交付检查均通过"),
    "qc_summary_fail": (
        "warning: {n} delivery check(s) failed: {names}",
        "警告：{n} 项交付检查未通过：{names}",
    ),
    "qc_source": ("service data: {source}", "平台数据来源：{source}"),
    "trust_line": ("reference use: {parts}", "参考使用情况：{parts}"),
    "trust_eq": ("EQ", "均衡"),
    "trust_dynamics": ("dynamics", "动态"),
    "trust_width": ("width", "宽度"),
    "why_ok": ("{pct:.0%} (by its similarity to the target)", "{pct:.0%}（按与目标的相似度）"),
    "why_band_limited": (
        "{pct:.0%} (nothing above its {value:.0f} Hz codec low-pass copied)",
        "{pct:.0%}（参考在 {value:.0f} Hz 处被编码器低通，其上不复制）",
    ),
    "why_clipped": (
        "{pct:.0%} (reference clipped: {value:.2%} of samples at full scale)",
        "{pct:.0%}（参考有削波：{value:.2%} 的采样处于满刻度）",
    ),
    "why_over_limited": (
        "{pct:.0%} (reference over-limited: peak-to-loudness {value:.1f} dB)",
        "{pct:.0%}（参考限幅过度：峰值响度比 {value:.1f} dB）",
    ),
    "why_near_mono": (
        "{pct:.0%} (reference near mono: side {value:.0f} dB below mid)",
        "{pct:.0%}（参考接近单声道：侧声道比中置低 {value:.0f} dB）",
    ),
    "codec_ceiling": (
        "codec-safe ceiling: {ceiling:.2f} dBTP, {codec} true peak {tp:.2f} dBTP",
        "编码安全上限：{ceiling:.2f} dBTP，{codec} 编码后真峰值 {tp:.2f} dBTP",
    ),
}


def T(key: str, **params: object) -> str:
    """The text for ``key`` in the current language."""
    en, zh = TEXTS[key]
    text = zh if current_language() == "zh" else en
    return text.format(**params) if params else text

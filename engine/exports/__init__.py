"""Exports that take a preset's match out of audio-style: impulse responses for convolution
plugins (:mod:`engine.exports.ir`), an ffmpeg filter chain (:mod:`engine.exports.ffmpeg`) and
the null test that proves an export is the engine's EQ (:mod:`engine.exports.verify`).

The text exports of the parametric curve (Equalizer APO, GraphicEQ, CSV) live in
:mod:`engine.presets`.
"""

"""Speech to text: Whisper backends (`whisper`) and where their weights come from (`weights`).

Registered in `models/registry.py` under task "asr"; the library setting `asr_model` picks
one ("whisper-base", "whisper-tiny.en") or turns speech recognition "off".
"""

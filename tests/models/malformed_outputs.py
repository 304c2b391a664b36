"""Broken model output, per format: each must give invalid tool calls, never an exception.

Each entry is (format, text, a fragment of the expected error).
"""

from __future__ import annotations

CALLS_BEGIN = "<｜tool▁calls▁begin｜>"
CALLS_END = "<｜tool▁calls▁end｜>"
CALL_BEGIN = "<｜tool▁call▁begin｜>"
CALL_END = "<｜tool▁call▁end｜>"
SEP = "<｜tool▁sep｜>"

MALFORMED: list[tuple[str, str, str]] = [
    # hermes
    (
        "hermes",
        '<tool_call>{"name": "calculator", "arguments": {"x": "2"}</tool_call>',
        "not valid JSON",
    ),
    ("hermes", '<tool_call>{"arguments": {"x": 1}}</tool_call>', 'no function "name"'),
    (
        "hermes",
        '<tool_call>{"name": "calculator", "arguments": [1, 2]}</tool_call>',
        "must be a JSON object, not a list",
    ),
    ("hermes", '<tool_call>\n{"name": "calculator", "arguments": {"expression": "2+', "cut off"),
    ("hermes", "<tool_call></tool_call>", "no call followed"),
    ("hermes", '<tool_call>{"name": 42, "arguments": {}}</tool_call>', 'no function "name"'),
    ("hermes", '<tool_call>["calculator"]</tool_call>', "must be a JSON object"),
    (
        "hermes",
        '<tool_call>{"name": "calculator", "arguments": "2+2"}</tool_call>',
        "string that is not a JSON object",
    ),
    ("hermes", 'Sure. <tool_call>{"name": "calculator"', "cut off"),
    # qwen3_xml
    (
        "qwen3_xml",
        "<tool_call>\n<function=calculator>\n<parameter=expression>\n2+2\n"
        "</function>\n</tool_call>",
        "not closed with </parameter>",
    ),
    ("qwen3_xml", "<tool_call>\n<function=>\n</function>\n</tool_call>", "no function name"),
    (
        "qwen3_xml",
        "<tool_call>\n<function=calculator>\n<parameter=expression>\n2+2\n</parameter>\n",
        "cut off",
    ),
    (
        "qwen3_xml",
        "<tool_call>\n<function=calculator>\n<parameter=expression>\n2+2\n"
        "</parameter>\n</tool_call>",
        "not closed with </function>",
    ),
    (
        "qwen3_xml",
        "<tool_call>\n<function=calculator>\nstray words\n</function>\n</tool_call>",
        "text outside",
    ),
    # llama3_json
    ("llama3_json", '{"name": "calculator", "parameters": {"expression": "2+2"}', "cut off"),
    (
        "llama3_json",
        '{"name": "calculator", "parameters": "2+2"}',
        "string that is not a JSON object",
    ),
    ("llama3_json", '{"parameters": {"x": 1}}', 'no function "name"'),
    (
        "llama3_json",
        '<|python_tag|>{"name": "calculator", "parameters": {"expression": 2+2}}',
        "not valid JSON",
    ),
    ("llama3_json", "<|python_tag|>", "no JSON call followed"),
    # pythonic
    ("pythonic", "[calculator(expression=2+2)]", "must be a literal value"),
    ("pythonic", '[calculator("2+2")]', "by keyword"),
    ("pythonic", '[calculator(expression="2+2"', "cut off"),
    ("pythonic", '[calculator(expression="2+2"), 42]', "must be a function call"),
    ("pythonic", '[calculator(**{"expression": "2"})]', "**kwargs"),
    ("pythonic", '[calculator(expression="2" "]', "cut off"),
    ("pythonic", '[calculator(expression="2"))]', "not valid Python"),
    # mistral
    (
        "mistral",
        '[TOOL_CALLS][{"name": "calculator", "arguments": {"expression": "2+2"}',
        "cut off",
    ),
    ("mistral", '[TOOL_CALLS]{"arguments": {"x": 1}}', 'no function "name"'),
    ("mistral", "[TOOL_CALLS]", "no call followed"),
    ("mistral", "[TOOL_CALLS][]", "list of calls is empty"),
    ("mistral", '[TOOL_CALLS]calculator[ARGS]{"expression": }', "not valid JSON"),
    ("mistral", "[TOOL_CALLS] the calculator please", "expected a JSON list"),
    (
        "mistral",
        '[TOOL_CALLS][{"name": "calculator", "arguments": null}, "search"]',
        "must be a JSON object",
    ),
    # granite
    (
        "granite",
        '<|tool_call|>[{"name": "calculator", "arguments": 5}]',
        "must be a JSON object, not a number",
    ),
    ("granite", "<|tool_call|>not json", "no call followed"),
    ("granite", '<|tool_call|>[{"name": "calculator", "arguments": {"x": "1"}}', "cut off"),
    # phi4
    ("phi4", 'functools[{"name": "calculator", "arguments": {"expression": "2+2"}}', "cut off"),
    ("phi4", 'functools["calculator"]', "must be a JSON object"),
    ("phi4", 'functools[{"name": "", "arguments": {}}]', 'no function "name"'),
    # deepseek
    (
        "deepseek",
        f'{CALLS_BEGIN}{CALL_BEGIN}calculator{SEP}{{"expression": "2+2"{CALL_END}{CALLS_END}',
        "not valid JSON",
    ),
    (
        "deepseek",
        f'{CALLS_BEGIN}{CALL_BEGIN}calculator{{"expression": "2+2"}}{CALL_END}{CALLS_END}',
        "no <｜tool▁sep｜>",
    ),
    (
        "deepseek",
        f'{CALLS_BEGIN}{CALL_BEGIN}function{SEP}calculator\n```json\n{{"expression": "2+',
        "cut off",
    ),
    ("deepseek", f"{CALLS_BEGIN}{CALLS_END}", "no <｜tool▁call▁begin｜> call"),
    (
        "deepseek",
        f'{CALLS_BEGIN}{CALL_BEGIN}{SEP}{{"x": 1}}{CALL_END}{CALLS_END}',
        'no function "name"',
    ),
    (
        "deepseek",
        f'{CALLS_BEGIN}{CALL_BEGIN}calculator{SEP}["2+2"]{CALL_END}{CALLS_END}',
        "must be a JSON object, not a list",
    ),
]

#: Markup that must never reach visible text, per format.
MARKERS: dict[str, tuple[str, ...]] = {
    "hermes": ("<tool_call>", "</tool_call>", "<think>", "</think>"),
    "qwen3_xml": ("<tool_call>", "</tool_call>", "<function=", "<parameter="),
    "llama3_json": ("<|python_tag|>", '"parameters"'),
    "pythonic": ("calculator(",),
    "mistral": ("[TOOL_CALLS]", "[ARGS]"),
    "granite": ("<|tool_call|>",),
    "phi4": ("functools",),
    "deepseek": (CALLS_BEGIN, CALL_BEGIN, SEP, CALL_END, CALLS_END),
}

"""The row formats of fine-tuning data sets as JSON Schema (draft 2020-12), for other tools.

``JSON_SCHEMA`` is a row of an SFT data set (``messages``, ``prompt``/``completion``, ``text``),
``PREFERENCE_JSON_SCHEMA`` a row of a preference data set (DPO, reward models). The parts of a row
(a message, its content, a tool call) are defined once under ``$defs``. A schema cannot say
everything ``ftkit.validation.validate_file`` checks (turn order, the assistant last, empty
content, the token limit); the tests check that the two agree on what a schema can say.

References:
    JSON Schema draft 2020-12: https://json-schema.org/draft/2020-12.
    TRL's data set formats: the "Dataset formats and types" page of the TRL docs.
"""

from __future__ import annotations

from ftkit.chat import ROLES, TOOL_ROLE

_DEFS = {  # the parts of a row, named once; the schemas below refer to them with "$ref"
    "text": {"type": "string", "minLength": 1},
    "part": {
        "oneOf": [
            {
                "type": "object",
                "required": ["type", "text"],
                "properties": {"type": {"const": "text"}, "text": {"type": "string"}},
            },
            {"type": "object", "required": ["type"], "properties": {"type": {"const": "image"}}},
        ]
    },
    "tool_call": {
        "type": "object",
        "required": ["function"],
        "properties": {
            "function": {
                "type": "object",
                "required": ["name", "arguments"],
                "properties": {
                    "name": {"type": "string", "minLength": 1},
                    "arguments": {"type": "object"},
                },
            }
        },
    },
    "message": {
        "type": "object",
        "required": ["role"],
        "properties": {
            "role": {"enum": [*ROLES, TOOL_ROLE]},
            "content": {  # a string, or a list of parts (or null beside tool calls)
                "oneOf": [
                    {"type": "null"},
                    {"$ref": "#/$defs/text"},
                    {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/part"}},
                ]
            },
            "tool_calls": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/tool_call"}},
            "name": {"type": "string"},
            "tool_call_id": {"type": "string"},
        },
        "anyOf": [  # content is required, except on an assistant turn that calls tools
            {"required": ["content"]},
            {"required": ["tool_calls"], "properties": {"role": {"const": "assistant"}}},
        ],
    },
    "messages": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/message"}},
    "text_or_messages": {"oneOf": [{"$ref": "#/$defs/text"}, {"$ref": "#/$defs/messages"}]},
}
_TEXT_OR_MESSAGES = {"$ref": "#/$defs/text_or_messages"}

# The row format as JSON Schema (draft 2020-12), for other tools and for readers. It cannot say
# everything validate_file checks: turn order, the assistant last, empty content (an
# assistant's tool call may give content "" or null), the token limit.
JSON_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "A row of a fine-tuning data set (one line of a JSONL file)",
    "oneOf": [
        {
            "type": "object",
            "required": ["messages"],
            "properties": {
                "messages": {"$ref": "#/$defs/messages"},
                "tools": {"type": "array", "items": {"type": "object"}},
            },
        },
        {
            "type": "object",
            "required": ["prompt", "completion"],
            "properties": {"prompt": _TEXT_OR_MESSAGES, "completion": _TEXT_OR_MESSAGES},
        },
        {"type": "object", "required": ["text"], "properties": {"text": {"$ref": "#/$defs/text"}}},
    ],
    "$defs": _DEFS,
}
PREFERENCE_JSON_SCHEMA = {  # a row of a preference data set (DPO, reward models, ORPO)
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "A row of a preference data set (one line of a JSONL file)",
    "oneOf": [
        {
            "type": "object",
            "required": ["prompt", "chosen", "rejected"],
            "properties": {
                "prompt": _TEXT_OR_MESSAGES,
                "chosen": _TEXT_OR_MESSAGES,
                "rejected": _TEXT_OR_MESSAGES,
            },
        },
        {
            "type": "object",
            "required": ["chosen", "rejected"],
            "not": {"required": ["prompt"]},
            "properties": {"chosen": _TEXT_OR_MESSAGES, "rejected": _TEXT_OR_MESSAGES},
        },
    ],
    "$defs": _DEFS,
}

"""The structured-output chapter's exercises: score replies by hand, and
count what the schema writes by itself.

Run alone: python snippets/structured-output/index/ex03_exercises.py
"""

# --8<-- [start:score]
import json

from ftkit.structured import structured_scores

# the reference order of the page's first test request
ORDER = {
    "item": "pasta",
    "size": "small",
    "quantity": 4,
    "name": "Sake",
    "delivery": False,
}
REPLIES = {
    "no size": {k: v for k, v in ORDER.items() if k != "size"},
    "4.0, not 4": {**ORDER, "quantity": 4.0},
    "0, not false": {**ORDER, "delivery": 0},
    "a note added": {**ORDER, "note": "ring twice"},
}
for label, reply in REPLIES.items():
    scores = structured_scores([json.dumps(reply)], [{"order": ORDER}])
    print(f"{label:<13} {scores}")
# --8<-- [end:score]

# --8<-- [start:forced]
import json

import xgrammar as xgr

from ftkit.structured import ORDER_SCHEMA

# A vocabulary of single printable characters: what the schema forces is
# a matter of characters, so any tokenizer gives the same marks.
info = xgr.TokenizerInfo([chr(c) for c in range(32, 127)])
grammar = xgr.GrammarCompiler(info).compile_json_schema(
    json.dumps(ORDER_SCHEMA), any_whitespace=False
)
reply = json.dumps(
    {
        "item": "pasta",
        "size": "small",
        "quantity": 4,
        "name": "Sake",
        "delivery": False,
    }
)
matcher = xgr.GrammarMatcher(grammar)
marks = ""  # "-": forced by the schema, "^": the model's choice
while len(marks) < len(reply):
    jump = matcher.find_jump_forward_string()
    if jump and reply.startswith(jump, len(marks)):
        matcher.accept_string(jump)
        marks += "-" * len(jump)
    else:
        assert matcher.accept_string(reply[len(marks)])
        marks += "^"
print(reply)
print(marks)
print(f"forced: {marks.count('-')} of {len(reply)} characters")
# --8<-- [end:forced]

"""Structured output: the task, the schema, and the scores.

Run alone: python snippets/structured-output/index/ex01_task.py
"""

# --8<-- [start:task]
import json

from ftkit.structured import ORDER_SCHEMA, order_task

train, test, new_names = order_task(
    n_train=600, n_test=48, n_new_names=48, seed=0
)
print(
    f"{len(train)} training, {len(test)} test, {len(new_names)} new-name rows"
)
for message in train[0]["messages"]:
    print(f"{message['role']:>9}: {message['content']}")
print("required:", ", ".join(ORDER_SCHEMA["required"]))
for name, rule in ORDER_SCHEMA["properties"].items():
    print(f"  {name:<9} {json.dumps(rule)}")

answers = {row["messages"][-1]["content"] for row in train}
print("a test request:", test[0]["messages"][1]["content"])
print("a new-name request:", new_names[0]["messages"][1]["content"])
print(
    "test answers identical to a training answer:",
    sum(row["messages"][-1]["content"] in answers for row in test),
)
# --8<-- [end:task]

# --8<-- [start:scores]
from ftkit.structured import structured_scores

row = test[0]
print("reference:", json.dumps(row["order"]))
for label, reply in [
    ("right", json.dumps(row["order"])),
    ("one value wrong", json.dumps({**row["order"], "quantity": 7})),
    ('"two", not 2', json.dumps({**row["order"], "quantity": "two"})),
    ("cut short", json.dumps(row["order"])[:-1]),
    ("in a json fence", f"```json\n{json.dumps(row['order'])}\n```"),
]:
    print(f"{label:<16} {structured_scores([reply], [row])}")
# --8<-- [end:scores]

# --8<-- [start:bad_input]
from ftkit.structured import check_schema

broken = {"type": "object", "properties": {"size": {"enum": "small"}}}
try:
    check_schema(broken)
except ValueError as error:
    print("ValueError:", error)

wrong_reference = {**test[1], "order": {**test[1]["order"], "size": "huge"}}
try:
    structured_scores(["{}", "{}"], [test[0], wrong_reference])
except ValueError as error:
    print("ValueError:", error)
# --8<-- [end:bad_input]

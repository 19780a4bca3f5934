"""The T5 chapter's exercises: ROUGE by hand, and the lengths span
corruption makes.

Run alone: python snippets/bert-t5/t5/ex06_exercises.py
"""

# --8<-- [start:rouge]
from ftkit.rouge import rouge_l, rouge_n

reference = "Dunmore council delays bus route"
candidate = "council delays Dunmore bridge"
scores = {
    "ROUGE-1": rouge_n(candidate, reference, 1),
    "ROUGE-2": rouge_n(candidate, reference, 2),
    "ROUGE-L": rouge_l(candidate, reference),
}
for name, s in scores.items():
    print(f"{name}  P {s.precision:.2f}  R {s.recall:.2f}  F {s.fmeasure:.2f}")
# --8<-- [end:rouge]

# --8<-- [start:spans]
import random

from ftkit.tiny_t5 import span_corruption

LENGTH = 200  # a text of 200 tokens, without </s>
ids = list(range(LENGTH))
sentinels = list(range(1000, 1100))  # stand-ins for <extra_id_0>, ...
for seed in (0, 1):
    inputs, targets = span_corruption(ids, sentinels, random.Random(seed))
    spans = sum(token in sentinels for token in inputs)
    print(
        f"seed {seed}: {spans} spans, "
        f"input {len(inputs)} tokens, target {len(targets)}"
    )
# --8<-- [end:spans]

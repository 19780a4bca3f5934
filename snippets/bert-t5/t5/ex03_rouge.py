"""ROUGE-1, ROUGE-2 and ROUGE-L: ftkit's from-scratch scores against Google's
rouge-score, on a reference headline and four candidates.

Run alone: python snippets/bert-t5/t5/ex03_rouge.py
"""

# --8<-- [start:rouge]
from rouge_score import rouge_scorer

from ftkit.rouge import rouge_l, rouge_n

reference = "Dunmore council delays bus route"
candidates = [
    "Dunmore council delays bus route",
    "Dunmore council approves bus route",
    "bus route delays Dunmore council",
    "Fairview water board funds bike lanes",
]
scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"])
print(f"{'candidate':38} ROUGE-1 ROUGE-2 ROUGE-L")
same = True
for candidate in candidates:
    ours = [
        rouge_n(candidate, reference, 1),
        rouge_n(candidate, reference, 2),
        rouge_l(candidate, reference),
    ]
    theirs = scorer.score(reference, candidate)  # the reference comes first
    same &= all(
        abs(a - b) < 1e-12
        for mine, name in zip(
            ours, ["rouge1", "rouge2", "rougeL"], strict=True
        )
        for a, b in zip(mine, theirs[name], strict=True)
    )
    print(f"{candidate:38}", *(f"{s.fmeasure:7.2f}" for s in ours))
print("ftkit.rouge == rouge-score (P, R and F):", same)
# --8<-- [end:rouge]

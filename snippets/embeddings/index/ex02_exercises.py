"""The embeddings chapter's exercises: recall@k and MRR of a given
ranking, and the in-batch loss by hand.

Run alone: python snippets/embeddings/index/ex02_exercises.py
"""

# --8<-- [start:recall]
from ftkit.evaluate import (
    RetrievalScores,
    mean_reciprocal_rank,
    recall_at_k,
)

ranks = [1, 3, 1, 12, 2]  # where each query's right passage came
recall = {k: recall_at_k(ranks, k) for k in (1, 5, 10)}
print(RetrievalScores(recall, mean_reciprocal_rank(ranks), ranks))
# --8<-- [end:recall]

# --8<-- [start:infonce]
import torch
import torch.nn.functional as F

# cosine similarities of 3 queries (rows) with the batch's 3 passages;
# the right passage of query i is passage i
S = torch.tensor(
    [
        [0.7, 0.5, 0.1],
        [0.4, 0.6, 0.3],
        [0.2, 0.6, 0.5],  # the third query prefers the second passage
    ]
)
for scale in (20.0, 1.0):  # 20: MultipleNegativesRankingLoss's default
    losses = F.cross_entropy(scale * S, torch.arange(3), reduction="none")
    rows = " ".join(f"{v:.3f}" for v in losses.tolist())
    print(f"scale {scale:>4}: per query {rows}  mean {losses.mean():.3f}")
# --8<-- [end:infonce]

"""ftkit.evaluate: batched greedy generation equals one-at-a-time, and the scores add up."""

from __future__ import annotations

import pytest
from transformers import AutoModelForCausalLM, AutoTokenizer

from ftkit.evaluate import exact_match, generate_replies, reasoning_scores
from ftkit.tasks import reasoning_task, score
from ftkit.tiny import tiny_llama


@pytest.fixture(scope="module")
def model_and_tokenizer():
    path = tiny_llama(pretrain_steps=100)
    return AutoModelForCausalLM.from_pretrained(path), AutoTokenizer.from_pretrained(path)


def test_exact_match_hand_cases():
    assert exact_match(["5", " 7\n", "12"], ["5", "7", "21"]) == pytest.approx(2 / 3)
    assert exact_match(["a"], ["b"]) == 0.0
    with pytest.raises(ValueError, match="2 predictions for 1 references"):
        exact_match(["5", "6"], ["5"])
    with pytest.raises(ValueError, match="0 predictions for 0"):
        exact_match([], [])


def test_left_padded_batch_generates_what_one_at_a_time_does(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    model.train()  # the function must restore it
    tokenizer.padding_side = "right"
    chats = [  # prompts of different lengths, so the batch needs padding
        [{"role": "user", "content": "Start at 2, add 3."}],
        [
            {"role": "system", "content": "Answer briefly."},
            {"role": "user", "content": "Start at 9, take 4, add 8, take 1."},
        ],
        [{"role": "user", "content": "What does LoRA train?"}],
    ]
    batched = generate_replies(model, tokenizer, chats, max_new_tokens=12)
    single = [generate_replies(model, tokenizer, [c], max_new_tokens=12)[0] for c in chats]
    assert batched == single
    assert all(isinstance(r, str) and r for r in batched)
    assert model.training and tokenizer.padding_side == "right"
    # batch_size only changes how the work is split
    assert generate_replies(model, tokenizer, chats, max_new_tokens=12, batch_size=2) == batched


def test_generate_refuses_chats_that_do_not_end_with_a_user_turn(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    good = [{"role": "user", "content": "Hi"}]
    bad = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]
    last = r"chats\[1\]: the last message is 'assistant'; it must be 'user'"
    with pytest.raises(ValueError, match=last):
        generate_replies(model, tokenizer, [good, bad])
    with pytest.raises(ValueError, match="no chats"):
        generate_replies(model, tokenizer, [])


def test_reasoning_scores_agree_with_score(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    _, test = reasoning_task(n_train=0, n_test=8, steps=2, seed=3)
    result = reasoning_scores(model, tokenizer, test, max_new_tokens=16)
    expected = [score(r, row["answer"]) for r, row in zip(result.replies, test, strict=True)]
    assert result.format == sum(s["format"] for s in expected) / 8
    assert result.exact_match == sum(s["correct"] for s in expected) / 8
    assert "on 8" in str(result)
    with pytest.raises(ValueError, match="row 0 needs"):
        reasoning_scores(model, tokenizer, [{"messages": test[0]["messages"]}])


def test_reasoning_scores_count_format_and_correct(monkeypatch, model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    _, test = reasoning_task(n_train=0, n_test=4, steps=2, seed=0)
    answers = [row["answer"] for row in test]
    replies = [
        f"<think>work</think>{answers[0]}",  # format, correct
        f"<think>work</think>{int(answers[1]) + 1}",  # format, wrong
        answers[2],  # right number, no thinking: not counted
        "<think>unfinished",  # neither
    ]
    monkeypatch.setattr("ftkit.evaluate.generate_replies", lambda *a, **k: replies)
    result = reasoning_scores(model, tokenizer, test)
    assert (result.format, result.exact_match) == (0.5, 0.25)


# ------------------------------------------------------------------ retrieval metrics

import torch  # noqa: E402

from ftkit.evaluate import (  # noqa: E402
    mean_reciprocal_rank,
    recall_at_k,
    relevant_ranks,
    retrieval_scores,
)


def test_ranks_by_hand():
    # 2-D vectors at known angles: passages along 0, 45 and 90 degrees (scaled: cosine ignores
    # length); query 0 along 10 degrees, query 1 along 80 degrees, query 2 along 50 degrees.
    import math

    def at(degrees, length=1.0):
        r = math.radians(degrees)
        return [length * math.cos(r), length * math.sin(r)]

    passages = torch.tensor([at(0, 3.0), at(45), at(90, 0.5)])
    queries = torch.tensor([at(10), at(80), at(50)])
    # query 0 ranks 0, 45, 90; query 1 ranks 90, 45, 0; query 2 ranks 45, 90, 0
    assert relevant_ranks(queries, passages, [0, 1, 0]).tolist() == [1, 2, 3]
    scores = retrieval_scores(queries, passages, [0, 1, 0], ks=(1, 2))
    assert scores.recall == {1: pytest.approx(1 / 3), 2: pytest.approx(2 / 3)}
    assert scores.mrr == pytest.approx((1 + 1 / 2 + 1 / 3) / 3)
    assert str(scores) == "recall@1 33%, recall@2 67%, MRR 0.611 on 3 queries"


def test_a_tie_does_not_push_the_relevant_passage_down():
    passages = torch.tensor([[1.0, 0.0], [2.0, 0.0], [0.0, 1.0]])  # 0 and 1 point the same way
    assert relevant_ranks(torch.tensor([[1.0, 0.1]]), passages, [1]).tolist() == [1]


def test_metrics_by_hand():
    ranks = [1, 3, 12, 2]
    assert recall_at_k(ranks, 1) == 0.25
    assert recall_at_k(ranks, 3) == 0.75
    assert recall_at_k(ranks, 10) == 0.75
    assert mean_reciprocal_rank(ranks) == pytest.approx((1 + 1 / 3 + 1 / 12 + 1 / 2) / 4)
    assert mean_reciprocal_rank([1, 1]) == 1.0


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: recall_at_k([1], 0), "k must be at least 1"),
        (lambda: recall_at_k([], 1), "no queries"),
        (lambda: mean_reciprocal_rank([0, 1]), "each >= 1"),
        (lambda: relevant_ranks(torch.ones(2, 3), torch.ones(4, 2), [0, 1]), "expected .Q, D."),
        (lambda: relevant_ranks(torch.ones(2, 3), torch.ones(4, 3), [0]), "2 queries but 1"),
        (lambda: relevant_ranks(torch.ones(1, 3), torch.ones(4, 3), [4]), "lie in 0..3"),
    ],
)
def test_retrieval_metrics_name_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_key_fact_rate_counts_replies_that_contain_their_fact():
    from ftkit.evaluate import key_fact_rate

    assert key_fact_rate(["It is 9 to 5.", "No idea"], ["9 to 5", "20 cents"]) == 0.5
    with pytest.raises(ValueError, match="1 replies for 2 facts"):
        key_fact_rate(["x"], ["a", "b"])

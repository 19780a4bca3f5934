"""ftkit.evaluate: batched greedy generation equals one-at-a-time, and the scores add up."""

from __future__ import annotations

import pytest
from transformers import AutoModelForCausalLM, AutoTokenizer

from ftkit.data import reasoning_task, score
from ftkit.evaluate import exact_match, generate_replies, reasoning_scores
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
        [{"role": "system", "content": "Answer briefly."},
         {"role": "user", "content": "Start at 9, take 4, add 8, take 1."}],
        [{"role": "user", "content": "What does LoRA train?"}],
    ]  # fmt: skip
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
    with pytest.raises(ValueError, match="chat 1 must be"):
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

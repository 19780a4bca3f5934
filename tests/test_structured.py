"""ftkit.structured: the order task is disjoint and right by construction, the scores count what
they say (types included), bad input names its row and field, and xgrammar's constraint agrees
with the JSON Schema validator on the task's own layout."""

from __future__ import annotations

import json

import pytest

from ftkit.structured import (
    HELD_OUT_TEMPLATES,
    NAMES,
    NEW_NAMES,
    NUMBER_WORDS,
    ORDER_SCHEMA,
    PLURALS,
    SYSTEM,
    TEMPLATES,
    check_schema,
    order_task,
    parse_json,
    same_value,
    schema_errors,
    schema_prompt,
    structured_scores,
)

TRAIN, TEST, NEW = order_task(n_train=200, n_test=30, n_new_names=20, seed=0)


def test_order_task_rows_are_right_by_construction():
    for row in TRAIN + TEST + NEW:
        assert schema_errors(row["order"], ORDER_SCHEMA) == []
        assert row["messages"][-1]["content"] == json.dumps(row["order"])
        order, text = row["order"], row["messages"][1]["content"]
        assert order["name"] in text
        # the request says every field of the order, and nothing else
        noun = order["item"] if order["quantity"] == 1 else PLURALS[order["item"]]
        count = (NUMBER_WORDS[order["quantity"] - 1], str(order["quantity"]))
        size = f"{order['size']} " if "size" in order else ""
        what = [f"{c} {size}{noun}" for c in count]
        assert any(w in text or w.capitalize() in text for w in what), text
        assert not any(s in text for s in ("small", "medium", "large")) or "size" in order
        delivered = ("delivered", "for delivery", "to the door")
        assert any(d in text for d in delivered) == order["delivery"], text
        # keys in schema order: the layout a constraint writes
        keys = [k for k in ORDER_SCHEMA["properties"] if k in row["order"]]
        assert list(row["order"]) == keys
    assert order_task(n_train=200, n_test=30, n_new_names=20, seed=0) == (TRAIN, TEST, NEW)
    assert order_task(n_train=200, seed=1)[0] != TRAIN
    assert any("size" not in row["order"] for row in TRAIN)  # the optional field is exercised
    assert {row["messages"][0]["content"] for row in TRAIN + TEST + NEW} == {SYSTEM}
    prompted = order_task(n_train=3, n_test=2, n_new_names=0, system=schema_prompt())
    assert all(json.dumps(ORDER_SCHEMA) in r["messages"][0]["content"] for r in prompted[0])
    with pytest.raises(ValueError, match="system must be a non-empty string"):
        order_task(system="")


def test_order_task_splits_are_disjoint():
    requests = {row["messages"][1]["content"] for row in TRAIN}
    assert not any(row["messages"][1]["content"] in requests for row in TEST + NEW)
    # no held-out answer is a training answer (the test set draws such orders again)
    answers = {row["messages"][-1]["content"] for row in TRAIN}
    assert not any(row["messages"][-1]["content"] in answers for row in TEST + NEW)
    big_train, big_test, _ = order_task(n_train=2000, n_test=200, n_new_names=0, seed=3)
    answers = {row["messages"][-1]["content"] for row in big_train}
    assert not any(row["messages"][-1]["content"] in answers for row in big_test)
    assert not set(NAMES) & set(NEW_NAMES)
    assert {row["order"]["name"] for row in TRAIN + TEST} <= set(NAMES)
    assert {row["order"]["name"] for row in NEW} <= set(NEW_NAMES)
    # the test and new-name splits are phrased only in the held-out templates, training never
    held_out = ("For ", " would like ")
    assert all(any(h in row["messages"][1]["content"] for h in held_out) for row in TEST + NEW)
    assert not any(any(h in row["messages"][1]["content"] for h in held_out) for row in TRAIN)
    assert len(HELD_OUT_TEMPLATES) == 2 and not set(TEMPLATES) & set(HELD_OUT_TEMPLATES)


def test_order_task_rejects_negative_sizes():
    with pytest.raises(ValueError, match="n_test=-1"):
        order_task(n_test=-1)


def test_check_schema_names_the_keyword():
    assert check_schema(ORDER_SCHEMA) is ORDER_SCHEMA
    broken = {"type": "object", "properties": {"size": {"enum": "small"}}}
    with pytest.raises(ValueError, match=r"^schema\.properties\.size\.enum: 'small' is not of"):
        check_schema(broken)
    with pytest.raises(ValueError, match="^schema.type: 'obj' is not valid"):
        check_schema({"type": "obj"})
    with pytest.raises(ValueError, match="expected a JSON object"):
        check_schema('{"type": "object"}')  # a string holding a schema is not one


def test_same_value_tells_json_types_apart():
    assert same_value(2, 2) and same_value(None, None)
    assert not same_value(True, 1) and not same_value(1, True) and not same_value("2", 2)
    assert same_value(2, 2.0)  # JSON Schema: a number with a zero fraction is an integer
    assert not same_value(False, 0) and not same_value(None, 0) and same_value(True, True)


def test_structured_scores_by_hand():
    row = {"order": {"item": "soup", "quantity": 2, "name": "Ada", "delivery": True}}
    right = json.dumps(row["order"])
    replies = [
        right,  # every field, size absent in both: 5 of 5
        json.dumps({**row["order"], "quantity": 3}),  # valid, 4 of 5
        json.dumps({**row["order"], "delivery": 1}),  # 1 is not true: invalid, 4 of 5
        json.dumps({**row["order"], "size": "large"}),  # an extra size: valid, 4 of 5
        json.dumps({**row["order"], "tip": 5}),  # an unknown key: invalid, 5 of 5, not exact
        right[:-1],  # not JSON: 0
        "[1, 2]",  # JSON, not an object: parsed, invalid, 0
    ]
    scores = structured_scores(replies, [row] * len(replies))
    assert scores.parsed == pytest.approx(6 / 7)
    assert scores.valid == pytest.approx(3 / 7)
    assert scores.fields == pytest.approx((5 + 4 + 4 + 4 + 5) / 35)
    assert scores.exact == pytest.approx(1 / 7)  # exact needs a valid reply: only the first
    assert scores.per_field["delivery"] == pytest.approx(4 / 7)
    assert scores.per_field["size"] == pytest.approx(4 / 7)
    assert str(scores) == "parsed 86%, valid 43%, fields 63%, exact 14% on 7"
    assert parse_json("null") == (True, None) and parse_json("{") == (False, None)
    # the whole reply must be JSON: a fenced or chatty reply is not parsed
    assert parse_json(f"```json\n{right}\n```") == (False, None)
    assert parse_json(f"Here it is: {right}") == (False, None)
    two = structured_scores([json.dumps({**row["order"], "quantity": 2.0})], [row])
    assert two.valid == two.exact == 1.0  # 2.0 is the integer 2 in JSON Schema


def test_structured_scores_bad_input_names_row_and_field():
    good = TEST[0]
    with pytest.raises(ValueError, match="1 replies for 2 rows"):
        structured_scores(["{}"], [good, good])
    with pytest.raises(ValueError, match="0 replies for 0 rows"):
        structured_scores([], [])
    with pytest.raises(ValueError, match=r"^rows\[1\]\.order: expected the reference object"):
        structured_scores(["{}", "{}"], [good, {"messages": good["messages"]}])
    wrong = {**good, "order": {**good["order"], "quantity": 12}}
    with pytest.raises(ValueError, match=r"^rows\[1\]\.order\.quantity: 12 is greater than"):
        structured_scores(["{}", "{}"], [good, wrong])
    missing = {**good, "order": {k: v for k, v in good["order"].items() if k != "name"}}
    with pytest.raises(ValueError, match=r"^rows\[0\]\.order: 'name' is a required property"):
        structured_scores(["{}"], [missing])
    with pytest.raises(ValueError, match=r"^replies\[1\]: expected text, got None"):
        structured_scores(["{}", None], [good, good])
    with pytest.raises(ValueError, match=r"^schema\.required"):
        structured_scores(["{}"], [good], schema={"required": "name"})


# --------------------------------------------------------------------------- with xgrammar

xgr = pytest.importorskip("xgrammar")


@pytest.fixture(scope="module")
def tiny():
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ftkit.tiny import tiny_llama

    folder = tiny_llama(pretrain_steps=100)
    model = AutoModelForCausalLM.from_pretrained(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    info = xgr.TokenizerInfo.from_huggingface(tokenizer, vocab_size=model.config.vocab_size)
    grammar = xgr.GrammarCompiler(info).compile_json_schema(
        json.dumps(ORDER_SCHEMA), any_whitespace=False
    )
    return model, tokenizer, grammar


def _accepts(grammar, text: str) -> bool:
    matcher = xgr.GrammarMatcher(grammar)
    return matcher.accept_string(text) and matcher.is_completed()


def test_constraint_accepts_the_training_layout_and_only_valid_orders(tiny):
    _, _, grammar = tiny
    for row in TRAIN[:50] + TEST:
        assert _accepts(grammar, row["messages"][-1]["content"])
    order = TEST[0]["order"]
    assert not _accepts(grammar, json.dumps({**order, "size": "huge"}))
    assert not _accepts(grammar, json.dumps({**order, "quantity": 10}))
    assert not _accepts(grammar, json.dumps({**order, "tip": 1}))
    assert not _accepts(grammar, json.dumps(order, indent=2))  # another layout


def test_constrained_replies_validate_and_batch_like_one_at_a_time(tiny):
    from ftkit.structured import constrained_replies

    model, tokenizer, grammar = tiny
    chats = [row["messages"][:-1] for row in TEST[:6]]
    batched = constrained_replies(model, tokenizer, chats, grammar, max_new_tokens=128)
    alone = [
        constrained_replies(model, tokenizer, [c], grammar, max_new_tokens=128)[0]
        for c in chats[:3]
    ]
    assert batched[:3] == alone
    scores = structured_scores(batched, TEST[:6])
    assert scores.parsed == scores.valid == 1.0  # the guarantee, on the untrained base model
    assert tokenizer.padding_side == "right" and model.training is False
    with pytest.raises(ValueError, match="no chats"):  # generate_replies' checks apply
        constrained_replies(model, tokenizer, [], grammar)


def test_constrained_replies_cut_short_are_valid_prefixes_only(tiny):
    from ftkit.structured import constrained_replies

    model, tokenizer, grammar = tiny
    chats = [row["messages"][:-1] for row in TEST[:4]]
    replies = constrained_replies(model, tokenizer, chats, grammar, max_new_tokens=10)
    for reply in replies:
        matcher = xgr.GrammarMatcher(grammar)
        assert matcher.accept_string(reply) and not matcher.is_completed()
    assert structured_scores(replies, TEST[:4]).parsed == 0.0  # a prefix is not JSON


def test_forced_share(tiny):
    from ftkit.structured import forced_share

    model, tokenizer, grammar = tiny
    replies = [row["messages"][-1]["content"] for row in TEST]
    share = forced_share(grammar, replies)
    assert 0.5 < share < 1.0  # keys and punctuation are forced, values are not
    info = xgr.TokenizerInfo.from_huggingface(tokenizer, vocab_size=model.config.vocab_size)
    const = xgr.GrammarCompiler(info).compile_json_schema(
        json.dumps({"enum": ["yes"]}), any_whitespace=False
    )
    assert forced_share(const, ['"yes"']) == 1.0  # one possible output: all forced
    assert forced_share(grammar, ["hello"]) == 0.0  # leaves the grammar at once
    with pytest.raises(ValueError, match="no characters"):
        forced_share(grammar, [""])

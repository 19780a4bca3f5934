"""ftkit.chat: the loss lands on the assistant's tokens, and a bad chat fails naming its place."""

from __future__ import annotations

import sys

import pytest
from transformers import AutoTokenizer

from ftkit.chat import chat_batch, faq, reply_loss_rows, show_loss_tokens
from ftkit.tiny import tiny_llama


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(tiny_llama())


def test_labels_cover_exactly_the_replies(tokenizer):
    chats = faq()
    batch = chat_batch(tokenizer, chats)
    assert batch["input_ids"].shape == batch["labels"].shape == batch["attention_mask"].shape
    assert len(chats) == 12 and batch["input_ids"].shape[0] == 12
    for row, chat in zip(batch["labels"], chats, strict=True):
        learned = tokenizer.decode(row[row != -100])
        assert learned == chat[-1]["content"] + "<|end|>"  # the reply and its end-of-turn
    # padding is never learned
    assert (batch["labels"][batch["attention_mask"] == 0] == -100).all()


def test_faq_is_a_fresh_copy():
    first = faq()
    first[0][0]["content"] = "changed"
    assert faq()[0][0]["content"] != "changed"


@pytest.mark.parametrize(
    ("chats", "message"),
    [
        ([], "no chats given"),
        ([[{"role": "user", "content": "hi"}]], r"chats\[0\]: no assistant reply"),
        ([faq()[0], [{"role": "user", "text": "hi"}]], r"chats\[1\]\[0\]\.content: missing"),
        ([faq()[0], "hello"], r"chats\[1\]: expected a non-empty list"),
        ([[{"role": "robot", "content": "hi"}]], r"chats\[0\]\[0\]\.role: unknown role 'robot'"),
    ],
)
def test_bad_chats_name_the_chat(tokenizer, chats, message):
    with pytest.raises(ValueError, match=message):
        chat_batch(tokenizer, chats)


def test_show_loss_tokens_brackets_exactly_the_labelled_tokens(tokenizer):
    batch = chat_batch(tokenizer, faq()[:1])
    view = show_loss_tokens(tokenizer, batch["input_ids"][0], batch["labels"][0])
    learned = "".join(part.split("]")[0] for part in view.split("[")[1:])
    assert learned == faq()[0][1]["content"] + "<|end|>"
    assert view.replace("[", "").replace("]", "") == tokenizer.decode(batch["input_ids"][0])


def test_reply_loss_rows_splits_when_trl_has_no_template_patcher(monkeypatch):
    """A TRL without trl.chat_template_utils (0.24, which some Unsloth releases install) cannot
    patch a template it would otherwise know: the rows fall back to prompt and completion."""
    from trl.chat_template_utils import llama3_chat_template

    llama3 = AutoTokenizer.from_pretrained(tiny_llama())
    llama3.chat_template = llama3_chat_template  # no markers; TRL 1.16 patches it
    marked = AutoTokenizer.from_pretrained(tiny_llama())  # {% generation %} markers
    rows = [{"messages": chat} for chat in faq()[:2]]
    assert reply_loss_rows(llama3, rows) == (rows, {"assistant_only_loss": True})

    monkeypatch.setitem(sys.modules, "trl.chat_template_utils", None)  # import now fails
    with pytest.raises(ImportError):
        from trl.chat_template_utils import get_training_chat_template  # noqa: F401
    split, options = reply_loss_rows(llama3, rows)
    assert options == {}
    assert split == [{"prompt": chat[:-1], "completion": chat[-1:]} for chat in faq()[:2]]
    assert reply_loss_rows(marked, rows) == (rows, {"assistant_only_loss": True})

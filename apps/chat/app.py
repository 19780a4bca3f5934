"""Tilly's chat app: the deployment chapter's fine-tuned help desk, behind one of three engines.

    streamlit run apps/chat/app.py

The sidebar picks the backend: transformers (the merged model folder, in this process),
llama.cpp (the GGUF file in that folder, through ``ftkit.deploy.llama_cpp_stream``) or an Ollama
server (``ftkit.deploy.ollama_chat_stream``, the model created from the folder's Modelfile).
Each streams the reply into the chat as it is generated. A backend that cannot answer (no model
folder, llama.cpp not installed, no Ollama server or model) is named in a red box, with what
to do, before anything is typed. The model folder is ``ftkit.deploy.app_folder()`` unless
``TILLY_MODEL`` or the sidebar says otherwise; docs/deployment/index.md writes it.

Tested by tests/test_app.py (Streamlit's AppTest, and the served app driven in Chromium).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from threading import Thread

import streamlit as st

from ftkit.deploy import (
    OLLAMA_URL,
    DeployError,
    app_folder,
    llama_cpp_runner,
    llama_cpp_stream,
    ollama_chat_stream,
    ollama_models,
)
from ftkit.tasks import HELPDESK_SYSTEM

BACKENDS = ("transformers", "llama.cpp", "Ollama")
MAX_NEW_TOKENS = 48  # Tilly's longest reply is 26 tokens (docs/deployment/index.md)
# The model was trained on chats of at most two turns: send the last question with one
# turn before it, so a long chat never leaves what the model has seen (or its 256 tokens).
HISTORY = 3  # messages: question, reply, question


@st.cache_resource
def load_transformers(folder: str):
    """The merged model and its tokenizer, loaded once per folder for every session."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(folder).eval()
    return model, AutoTokenizer.from_pretrained(folder)


def problem(backend: str, folder: Path, url: str, name: str) -> str | None:
    """Why ``backend`` cannot answer now, with what to do; None if it can."""
    if backend in ("transformers", "llama.cpp") and not (folder / "config.json").is_file():
        return (
            f"{folder}: no model folder (no config.json). Run the deployment chapter's code "
            "(python snippets/deployment/index/ex01_chatbot.py) or give a model folder."
        )
    try:
        if backend == "llama.cpp":
            if not sorted(folder.glob("*.gguf")):
                return f"{folder}: no GGUF file for llama.cpp (ftkit.export.to_gguf writes one)"
            llama_cpp_runner()
        if backend == "Ollama" and not any(m.split(":")[0] == name for m in ollama_models(url)):
            return (
                f"the Ollama server at {url} has no model {name!r}: run "
                f"`ollama create {name} -f Modelfile` in {folder}"
            )
    except DeployError as err:
        return str(err)
    return None


def reply_stream(
    backend: str, folder: Path, url: str, name: str, chat: list[dict]
) -> Iterator[str]:
    """The reply to ``chat`` (user and assistant messages), piece by piece."""
    if backend == "Ollama":  # the Modelfile's SYSTEM adds the system message
        yield from ollama_chat_stream(url, name, chat)
        return
    model, tokenizer = load_transformers(str(folder))
    messages = [{"role": "system", "content": HELPDESK_SYSTEM}, *chat]
    if backend == "llama.cpp":
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        gguf = sorted(folder.glob("*.gguf"))[-1]  # Q8_0 sorts after F16
        for event in llama_cpp_stream(gguf, [text], max_tokens=MAX_NEW_TOKENS):
            if "token" in event:
                yield event["text"]
        return
    from transformers import TextIteratorStreamer

    inputs = tokenizer.apply_chat_template(
        messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
    settings = {"max_new_tokens": MAX_NEW_TOKENS, "do_sample": False, "max_length": None}
    # generate runs in a thread and hands each decoded piece to the streamer as it comes
    Thread(target=model.generate, kwargs={**inputs, **settings, "streamer": streamer}).start()
    yield from streamer


st.set_page_config(page_title="Tilly, the library's help desk", page_icon="📚")
st.title("Tilly, the library's help desk")
with st.sidebar:
    backend = st.radio("Backend", BACKENDS, key="backend")
    folder = Path(
        st.text_input(
            "Model folder", os.environ.get("TILLY_MODEL") or str(app_folder()), key="folder"
        )
    ).expanduser()
    url = st.text_input("Ollama server", OLLAMA_URL, key="url", disabled=backend != "Ollama")
    name = st.text_input("Ollama model", "tilly", key="name", disabled=backend != "Ollama")

if "messages" not in st.session_state:
    st.session_state.messages = []
for message in st.session_state.messages:
    with st.chat_message(message["role"]):
        st.markdown(message["content"])

why_not = problem(backend, folder, url, name)
if why_not:
    st.error(f"The {backend} backend cannot answer: {why_not}")
question = st.chat_input("Ask Tilly about the library", disabled=why_not is not None)
if question:
    st.session_state.messages.append({"role": "user", "content": question})
    with st.chat_message("user"):
        st.markdown(question)
    with st.chat_message("assistant"):
        chat = st.session_state.messages[-HISTORY:]
        try:
            reply = st.write_stream(reply_stream(backend, folder, url, name, chat))
        except DeployError as err:  # the server went away, or the engine failed
            st.error(str(err))
            st.session_state.messages.pop()  # keep the chat alternating for the next try
        else:
            st.session_state.messages.append({"role": "assistant", "content": reply})

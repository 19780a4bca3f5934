"""apps/chat/app.py: Tilly's chat app, driven by Streamlit's AppTest and, served, by Chromium.

The model is the shared tiny base (its chat template is Tilly's), so nothing trains here: the
tests check the app, not the model. Each backend's streamed reply must be the reply
transformers' greedy ``generate`` gives; Ollama is a stand-in server speaking its REST API.
"""

from __future__ import annotations

import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import pytest
import torch
from streamlit.testing.v1 import AppTest
from transformers import AutoModelForCausalLM, AutoTokenizer

from ftkit.export import to_gguf
from ftkit.tasks import HELPDESK_SYSTEM
from ftkit.tiny import tiny_llama
from tools.pages import ROOT

APP = str(ROOT / "apps" / "chat" / "app.py")
TIMEOUT_S = 60  # a reply from the tiny model takes well under a second; loading takes longer
QUESTION = "When are you open?"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """The base model's folder with an F16 GGUF file beside it, as the page leaves Tilly's."""
    source = tiny_llama(pretrain_steps=100)
    out = tmp_path_factory.mktemp("tilly")
    model = AutoModelForCausalLM.from_pretrained(source)
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(source).save_pretrained(out)
    to_gguf(out, out / "tilly-F16.gguf", "F16")
    return out


@pytest.fixture(scope="module")
def expected(folder):
    """transformers' greedy reply to QUESTION, with Tilly's system prompt."""
    model = AutoModelForCausalLM.from_pretrained(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    messages = [
        {"role": "system", "content": HELPDESK_SYSTEM},
        {"role": "user", "content": QUESTION},
    ]
    ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt")
    ids = ids["input_ids"] if not torch.is_tensor(ids) else ids
    with torch.no_grad():
        out = model.generate(ids, max_new_tokens=48, do_sample=False, max_length=None)
    return tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True)


def app(folder, backend: str, url: str = "http://127.0.0.1:9") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.run()
    at.sidebar.radio(key="backend").set_value(backend)
    at.sidebar.text_input(key="folder").set_value(str(folder))
    at.run()
    if backend == "Ollama":  # the field is enabled once Ollama is picked
        at.sidebar.text_input(key="url").set_value(url)
        at.run()
    return at


def ask(at: AppTest, question: str) -> AppTest:
    at.chat_input[0].set_value(question)
    return at.run()


def reply(at: AppTest) -> str:
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    roles = [m.name for m in at.chat_message]
    assert roles == ["user", "assistant"]
    return at.session_state.messages[-1]["content"]


@pytest.mark.parametrize("backend", ["transformers", "llama.cpp"])
def test_a_question_gets_the_models_reply(folder, expected, backend):
    at = ask(app(folder, backend), QUESTION)
    assert reply(at) == expected and expected.strip()
    assert at.chat_message[1].markdown[0].value == expected  # shown as streamed


def test_a_missing_model_folder_is_named(tmp_path):
    at = app(tmp_path / "nowhere", "transformers")
    assert "nowhere: no model folder (no config.json)" in at.error[0].value
    assert at.chat_input[0].disabled


def test_no_ollama_server_is_named(folder):
    at = app(folder, "Ollama", url="http://127.0.0.1:9")  # port 9: nothing listens
    assert "no Ollama server at http://127.0.0.1:9" in at.error[0].value
    assert "ollama serve" in at.error[0].value


class FakeOllama(http.server.BaseHTTPRequestHandler):
    """Ollama's /api/tags and a streaming /api/chat that says 'Open 9 to 5.' in 3 pieces."""

    requests: list[dict] = []

    def do_GET(self):
        self._send([{"models": [{"name": "tilly:latest"}]}])

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeOllama.requests.append(body)
        pieces = ["Open", " 9 to", " 5."]
        lines = [{"message": {"role": "assistant", "content": p}, "done": False} for p in pieces]
        self._send([*lines, {"message": {"role": "assistant", "content": ""}, "done": True}])

    def _send(self, objects):
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.end_headers()
        for obj in objects:
            self.wfile.write(json.dumps(obj).encode() + b"\n")

    def log_message(self, *args):  # quiet
        pass


def test_the_ollama_backend_streams_the_servers_reply(folder):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeOllama)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        at = ask(app(folder, "Ollama", url=url), QUESTION)
        assert reply(at) == "Open 9 to 5."
        # the Modelfile's SYSTEM adds the system message: the app sends the chat only
        assert FakeOllama.requests[-1] == {
            "model": "tilly",
            "messages": [{"role": "user", "content": QUESTION}],
            "stream": True,
        }
    finally:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.browser
def test_the_served_app_answers_in_a_browser(folder, expected, tmp_path):
    from playwright.sync_api import sync_playwright

    from tests.test_site import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS

    port = free_port()
    command = [sys.executable, "-m", "streamlit", "run", APP, "--server.headless", "true"]
    command += ["--server.address", "127.0.0.1", "--server.port", str(port)]
    command += ["--browser.gatherUsageStats", "false"]
    env = {**os.environ, "TILLY_MODEL": str(folder)}
    log = (tmp_path / "streamlit.log").open("w")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        health = f"http://127.0.0.1:{port}/_stcore/health"
        deadline = time.time() + TIMEOUT_S
        while True:
            try:
                urllib.request.urlopen(health, timeout=1).close()
                break
            except OSError:
                started = server.poll() is None and time.time() < deadline
                assert started, (tmp_path / "streamlit.log").read_text()[-2000:]
                time.sleep(0.3)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 900, "height": 640})
            outside = []
            page.route(
                lambda url: not url.startswith(f"http://127.0.0.1:{port}"),
                lambda route: (outside.append(route.request.url), route.abort()),
            )
            page.goto(f"http://127.0.0.1:{port}/")
            box = page.get_by_test_id("stChatInputTextArea")
            box.fill(QUESTION, timeout=TIMEOUT_S * 1000)
            box.press("Enter")
            messages = page.get_by_test_id("stChatMessage")
            messages.nth(1).get_by_text(expected.strip()[:20]).wait_for(timeout=TIMEOUT_S * 1000)
            assert messages.count() == 2
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=os.environ.get("CHAT_APP_SCREENSHOT", ARTIFACTS / "chat-app.png"))
            browser.close()
        assert not outside, f"the app asked for {outside}"
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()

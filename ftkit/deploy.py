"""Deployment: a merged model run by llama.cpp, and served by Ollama with our chat template.

A fine-tuned model reaches users through an inference engine, not through transformers. This
module holds the three checks between a GGUF file (``ftkit.export.to_gguf``) and a running app:

- ``check_gguf(path)``: the file is a whole GGUF file, or an error naming it (a truncated copy
  or a wrong file fails here, not deep inside the engine).
- ``llama_cpp_generate`` / ``llama_cpp_stream``: greedy generation by a real llama.cpp, the
  engine inside Ollama, through node-llama-cpp's prebuilt binaries, installed next to the
  runner script that ships inside ftkit (``LLAMA_CPP_DIR``, ``ftkit/llamacpp/``): ``make
  setup-llamacpp`` in a checkout, ``npm ci --omit=optional --prefix LLAMA_CPP_DIR`` after a pip
  install (Colab). The Python binding, llama-cpp-python, has no wheel on PyPI and compiles for
  minutes.
- ``app_folder()``: where the deployment page leaves the model, its GGUF file and Modelfile for
  the chat app (``apps/chat/app.py``) and for an upload to the Hub.
- ``modelfile(...)`` and ``render_ollama``: an Ollama Modelfile whose TEMPLATE, written in Go's
  template language, renders a chat exactly as the model's Jinja chat template does, and a
  renderer for the subset of Go templates it uses, so ``check_modelfile`` can compare the two.
- ``model_card(...)`` and ``check_upload_folder``: a Hub model card written from the run's
  values, and the folder ``upload_folder`` would push checked for what ``from_pretrained``
  needs: a text model, a VLM (its processor too) or a peft adapter.

References:
    GGUF: llama.cpp ``gguf-py`` (``gguf/gguf_reader.py``) and its ``docs/gguf.md``.
    Ollama Modelfile and templates: ollama ``docs/modelfile.mdx``, ``docs/template.mdx``, and
        how the server fills a template, ``server/routes.go`` and ``template/template.go``; Go's
        ``text/template`` package documentation (actions, ``range``, ``if``, trim markers).
    Hub: huggingface_hub's ``ModelCard``/``ModelCardData`` (``repocard.py``,
        ``repocard_data.py``); peft's ``PeftModel.save_pretrained`` (``peft_model.py``).
    Ollama's REST API (``docs/api.md``): ``POST /api/chat`` streams JSON lines, ``GET
        /api/tags`` lists the models; ``ollama_chat_stream`` speaks it with the standard library.
    llama.cpp: ggml-org/llama.cpp; node-llama-cpp 3.21.1 (``getLlama``, ``LlamaContextSequence
        .evaluate``) is the binding driven by ``ftkit/llamacpp/generate.mjs``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from ftkit.cache import cache_dir

GGUF_MAGIC = b"GGUF"  # the first four bytes of every GGUF file (llama.cpp docs/gguf.md)
# The runner script and its package.json ship inside ftkit (package data), so a checkout and a
# pip install (Colab) both have them; node_modules is installed next to them. FTKIT_LLAMA_CPP
# points elsewhere.
LLAMA_CPP_DIR = Path(
    os.environ.get("FTKIT_LLAMA_CPP", Path(__file__).resolve().parent / "llamacpp")
)


APP_FOLDER = "tilly-app"  # under ftkit's cache: the page writes it, the chat app reads it


class DeployError(ValueError):
    """A file or runtime a deployment step needs is missing or broken; the message names it."""


def app_folder() -> Path:
    """The folder the deployment page saves its merged model, GGUF file and Modelfile into,
    and the chat app reads by default: ``$FTKIT_CACHE/tilly-app``."""
    return cache_dir() / APP_FOLDER


# --------------------------------------------------------------------------- GGUF files


def check_gguf(path) -> dict[str, object]:
    """Read a GGUF file's header and tensors; return a few facts, or raise naming the file.

    Returns:
        ``{"architecture", "tensors", "chat_template"}``: what an engine needs to run it.

    Raises:
        DeployError: the file is missing, is not GGUF (wrong magic bytes), or is cut short
            (a tensor's data runs past the end of the file).
    """
    import gguf
    import numpy as np

    path = Path(path)
    if not path.is_file():
        raise DeployError(f"{path}: no such GGUF file")
    with path.open("rb") as f:
        magic = f.read(4)
    if magic != GGUF_MAGIC:
        raise DeployError(f"{path}: not a GGUF file (starts with {magic!r}, not {GGUF_MAGIC!r})")
    size = path.stat().st_size
    # a string's length in the file's byte order: gguf's "I", this machine's, or "S", swapped
    swapped = ">Q" if sys.byteorder == "little" else "<Q"
    u64 = {"I": struct.Struct("=Q"), "S": struct.Struct(swapped)}

    class Reader(gguf.GGUFReader):
        """gguf's reader, which skips arrays without building them, and first checks that
        each tensor's bytes are in the file."""

        def _get_field_parts(self, orig_offs, raw_type):
            # gguf builds an array element by element, two numpy views per string: a 128k-token
            # vocabulary and its merges took seconds. check_gguf reads scalars only, so an array of
            # scalars or strings is stepped over and kept as one slice of bytes.
            if raw_type != gguf.GGUFValueType.ARRAY:
                return super()._get_field_parts(orig_offs, raw_type)
            item, count = self._get(orig_offs, np.uint32), self._get(orig_offs + 4, np.uint64)
            kind = gguf.GGUFValueType(item[0])
            start = offs = orig_offs + 12
            if kind == gguf.GGUFValueType.STRING:
                length = u64[self.byte_order]
                for _ in range(int(count[0])):
                    offs += 8 + length.unpack_from(self.data, offs)[0]
            elif kind in self.gguf_scalar_to_np:
                offs += int(count[0]) * np.dtype(self.gguf_scalar_to_np[kind]).itemsize
            else:  # an array of arrays: gguf's own walk
                return super()._get_field_parts(orig_offs, raw_type)
            if offs > size:
                raise ValueError(f"an array of {int(count[0]):,} {kind.name} runs past the end")
            types = [gguf.GGUFValueType.ARRAY, kind]
            return offs - orig_offs, [item, count, self.data[start:offs]], [], types

        def _build_tensors(self, start_offs, fields):
            for field in fields:  # the tensor infos: name, dims, type, offset
                _, name, _, dims, kind, offset = field.parts
                block, block_bytes = gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType(kind[0])]
                need = int(np.prod(dims)) * block_bytes // block
                end = start_offs + int(offset[0]) + need
                if end > size:
                    raise DeployError(
                        f"{path}: cut short: tensor {bytes(name).decode()} needs {need:,} "
                        f"bytes at offset {end - need:,}; the file has {size:,} bytes"
                    )
            super()._build_tensors(start_offs, fields)

    try:
        reader = Reader(path)
    except DeployError:
        raise
    except Exception as err:  # gguf raises ValueError, IndexError, struct errors on a cut file
        raise DeployError(
            f"{path}: a broken or truncated GGUF file ({type(err).__name__}: {err})"
        ) from None

    def text(key: str) -> str | None:
        field = reader.fields.get(key)
        return None if field is None else bytes(field.parts[field.data[0]]).decode()

    return {
        "architecture": text("general.architecture"),
        "tensors": len(reader.tensors),
        "chat_template": text("tokenizer.chat_template"),
    }


# --------------------------------------------------------------------------- llama.cpp


def llama_cpp_runner() -> list[str]:
    """The command that starts the llama.cpp runner, or a DeployError saying how to install."""
    script = LLAMA_CPP_DIR / "generate.mjs"
    node = shutil.which("node")
    installed = (LLAMA_CPP_DIR / "node_modules" / "node-llama-cpp").is_dir()
    if node is None or not script.is_file() or not installed:
        raise DeployError(
            f"llama.cpp is not installed in {LLAMA_CPP_DIR} (needs Node.js >= 20 and "
            "node-llama-cpp): run `make setup-llamacpp` in a checkout of the guide, or "
            f"`npm ci --omit=optional --prefix {LLAMA_CPP_DIR}`"
        )
    return [node, str(script)]


def llama_cpp_stream(gguf_path, prompts: list[str], max_tokens: int = 24) -> Iterator[dict]:
    """Greedy generation by llama.cpp, one event at a time as the engine writes it.

    Events: ``{"index", "prompt_tokens"}`` for each prompt, ``{"index", "token", "text"}`` per
    generated token, ``{"index", "done": True, "tokens", "text"}`` at each prompt's end
    (an end-of-generation token, or ``max_tokens``). Prompts are raw text with special tokens
    written out, as the chat template renders them.

    Raises:
        DeployError: at the call, the runtime is not installed or the file is not a whole GGUF
            file; while iterating, the engine fails or writes something that is not an event
            (its last message is quoted).
    """
    check_gguf(gguf_path)  # here, not at the first next(): a bad file fails at the call
    command = llama_cpp_runner()
    request = {
        "model": str(Path(gguf_path).resolve()),
        "prompts": prompts,
        "max_tokens": max_tokens,
    }
    return _runner_events(command, request, gguf_path)


def _runner_events(command: list[str], request: dict, gguf_path) -> Iterator[dict]:
    with subprocess.Popen(  # the with block closes the pipes, whatever happens
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        # stderr is read as it comes, in a thread: a full pipe would block the engine
        messages: list[str] = []
        drain = threading.Thread(target=lambda: messages.extend(process.stderr), daemon=True)
        drain.start()
        process.stdin.write(json.dumps(request))
        process.stdin.close()
        for line in process.stdout:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                process.kill()
                raise DeployError(
                    f"llama.cpp on {gguf_path} wrote a line that is not JSON: {line[:200]!r}"
                ) from None
            yield event
        code = process.wait()
        drain.join()
    if code != 0:
        last = "".join(messages).strip().splitlines()[-1:] or [f"exit status {code}"]
        raise DeployError(f"llama.cpp failed on {gguf_path}: {last[0]}")


def llama_cpp_generate(gguf_path, prompts: list[str], max_tokens: int = 24) -> list[dict]:
    """``llama_cpp_stream``, collected: per prompt, ``{"prompt_tokens", "tokens", "text"}``."""
    results = [{} for _ in prompts]
    for event in llama_cpp_stream(gguf_path, prompts, max_tokens):
        if "prompt_tokens" in event:
            results[event["index"]]["prompt_tokens"] = event["prompt_tokens"]
        elif event.get("done"):
            results[event["index"]].update(tokens=event["tokens"], text=event["text"])
    return results


# --------------------------------------------------------------------------- Ollama

OLLAMA_URL = "http://127.0.0.1:11434"  # the server's default address (ollama docs/faq.mdx)


def ollama_models(url: str = OLLAMA_URL, timeout: float = 2.0) -> list[str]:
    """The names of the models an Ollama server has (``GET /api/tags``).

    Raises:
        DeployError: no server answers at ``url``, naming it and how to start one.
    """
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/api/tags", timeout=timeout) as response:
            return [m["name"] for m in json.load(response)["models"]]
    except (urllib.error.URLError, OSError, ValueError, KeyError) as err:
        reason = getattr(err, "reason", err)
        raise DeployError(
            f"no Ollama server at {url} ({reason}): install Ollama and run `ollama serve`"
        ) from None


def ollama_chat_stream(
    url: str, model: str, messages: list[dict], timeout: float = 60.0
) -> Iterator[str]:
    """The reply of an Ollama model to a chat, piece by piece as the server streams it.

    ``POST /api/chat`` with ``"stream": true`` answers one JSON object a line, each with the
    next piece in ``message.content``, the last with ``"done": true``.

    Raises:
        DeployError: no server at ``url``, or it has no such model (naming the command that
            creates it), or it reports an error.
    """
    body = json.dumps({"model": model, "messages": messages, "stream": True}).encode()
    request = urllib.request.Request(
        f"{url.rstrip('/')}/api/chat", data=body, headers={"Content-Type": "application/json"}
    )
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code == 404:
            raise DeployError(
                f"the Ollama server at {url} has no model {model!r}: run "
                f"`ollama create {model} -f Modelfile` in the model's folder"
            ) from None
        raise DeployError(f"Ollama at {url} answered {err.code}: {err.read()[:200]!r}") from None
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise DeployError(
            f"no Ollama server at {url} ({reason}): install Ollama and run `ollama serve`"
        ) from None
    with response:
        for line in response:
            if not line.strip():
                continue
            event = json.loads(line)
            if "error" in event:
                raise DeployError(f"Ollama at {url}: {event['error']}")
            yield event.get("message", {}).get("content", "")
            if event.get("done"):
                return


# An action; "{{- " and " -}}" trim (Go wants white space next to the dash: {{-3}} is -3)
_ACTION_RE = re.compile(r"{{(?:(-)(?=[ \t\r\n]))?(.*?)(?:(?<=[ \t\r\n])(-))?}}", re.DOTALL)
_GO_SPACE = " \t\r\n"  # what Go's trim markers and action bodies treat as white space
# Ollama reads commands in any case (parser.go); a value is one line or a """ block
_MODELFILE_RE = re.compile(
    r'^(?P<key>FROM|TEMPLATE|SYSTEM|PARAMETER)[ \t]+(?P<value>"""(?:.|\n)*?"""|.*)$',
    re.M | re.I,
)


# --8<-- [start:modelfile] docs/deployment/index.md
def ollama_template(tokenizer) -> str:
    """The tokenizer's chat template in Go's template language, for the two
    formats the guide trains: ``ftkit.tiny``'s and Meta's Llama 3.

    Ollama passes the chat as ``.Messages`` (each with ``.Role`` and
    ``.Content``) and puts the Modelfile's SYSTEM in front as a system
    message when the request has none; ``.System`` is its text. Special
    tokens are written as text: Ollama's tokenizer reads them back as the
    tokens. Meta's template writes today's date into its system turn, a
    format Ollama's templates cannot write: the TEMPLATE keeps the date
    it was written on.

    Raises:
        DeployError: another chat template; write its TEMPLATE by hand and
            check it with ``check_modelfile``.
    """
    bos, eos = tokenizer.bos_token, tokenizer.eos_token
    if "<|start_header_id|>" in str(tokenizer.chat_template):  # Llama 3
        # the system turn as the template writes it, up to the system text
        head = tokenizer.apply_chat_template(
            [{"role": "system", "content": "\x00"}], tokenize=False
        ).split("\x00")[0]
        turn = "<|start_header_id|>{{ .Role }}<|end_header_id|>\n\n"
        template = (
            f"{head}{{{{ .System }}}}{eos}{{{{ range .Messages }}}}"
            f'{{{{ if ne .Role "system" }}}}{turn}{{{{ .Content }}}}{eos}'
            "{{ end }}{{ end }}"
            "<|start_header_id|>assistant<|end_header_id|>\n\n"
        )
    else:  # ftkit.tiny's: <|role|>, a newline, the text, <|end|>
        template = (
            f"{bos}{{{{ range .Messages }}}}<|{{{{ .Role }}}}|>\n"
            f"{{{{ .Content }}}}{eos}\n{{{{ end }}}}<|assistant|>\n"
        )
    probe = [
        {"role": "system", "content": "S"},
        {"role": "user", "content": "U"},
        {"role": "assistant", "content": "A"},
        {"role": "user", "content": "V"},
    ]
    render = tokenizer.apply_chat_template
    want = render(probe, tokenize=False, add_generation_prompt=True)
    if render_ollama(template, probe, None) != want:
        raise DeployError(
            "ollama_template knows ftkit.tiny's and Llama 3's chat templates, "
            f"not {tokenizer.name_or_path}'s: write the TEMPLATE by hand and "
            "check it with check_modelfile"
        )
    return template


# Ollama's own context length on a machine with under 24 GiB of GPU
# memory (its FAQ and context-length docs; server/routes.go at fb30760)
OLLAMA_NUM_CTX = 4096


def modelfile(gguf_name: str, tokenizer, system: str, num_ctx: int) -> str:
    """An Ollama Modelfile for a GGUF file next to it: weights, template,
    stop, system, and the context length.

    ``num_ctx`` is the number of tokens, prompt and reply together, that
    Ollama sizes the KV cache for when it loads the model: at most the
    model's ``max_position_embeddings``, and no more than the chats need
    (the page's rule: the smaller of that and ``OLLAMA_NUM_CTX``).
    """
    if num_ctx < 1:
        raise DeployError(f"modelfile: num_ctx is {num_ctx}; it counts tokens")
    return (
        f"FROM ./{gguf_name}\n"
        f'TEMPLATE """{ollama_template(tokenizer)}"""\n'
        f'SYSTEM """{system}"""\n'
        # the end of a turn ends the reply (the GGUF's EOS says so too)
        f'PARAMETER stop "{tokenizer.eos_token}"\n'
        "PARAMETER temperature 0\n"  # greedy, as the guide evaluates
        "PARAMETER repeat_penalty 1\n"  # not 1.1: that would bend greedy
        f"PARAMETER num_ctx {num_ctx}\n"  # the KV cache's length
    )


# --8<-- [end:modelfile]


def read_modelfile(path) -> dict[str, object]:
    """The FROM, TEMPLATE, SYSTEM and PARAMETER lines of a Modelfile (the subset we write)."""
    path = Path(path)
    if not path.is_file():
        raise DeployError(f"{path}: no such Modelfile")
    text = path.read_text()
    fields: dict[str, object] = {"PARAMETER": []}
    for match in _MODELFILE_RE.finditer(text):
        key, value = match["key"].upper(), match["value"]
        if value.startswith('"""'):
            if len(value) < 6 or not value.endswith('"""'):
                line = text.count("\n", 0, match.start()) + 1
                raise DeployError(f'{path}: line {line}: {key} opens """ and never closes it')
            value = value[3:-3]
        else:
            value = value.strip()
        if key == "PARAMETER":
            fields["PARAMETER"].append(value)
        else:
            fields[key] = value
    for key in ("FROM", "TEMPLATE"):
        if key not in fields:
            raise DeployError(f"{path}: no {key} line")
    return fields


def check_modelfile(path, tokenizer, chats: list[list[dict]]) -> int:
    """Render every chat with the Modelfile's TEMPLATE and SYSTEM and with the tokenizer's
    chat template; return how many agree, or raise at the first that does not.

    Raises:
        DeployError: naming the Modelfile, the chat, the first character that differs and
            the two texts around it.
    """
    fields = read_modelfile(path)
    system = fields.get("SYSTEM")
    for i, chat in enumerate(chats):
        ours = list(chat)
        if system and ours[0]["role"] != "system":
            ours = [{"role": "system", "content": system}, *ours]
        want = tokenizer.apply_chat_template(ours, tokenize=False, add_generation_prompt=True)
        try:
            got = render_ollama(fields["TEMPLATE"], chat, system)
        except DeployError as err:  # a template outside the subset, or a block left open
            raise DeployError(f"{path}: TEMPLATE: {err}") from None
        if got != want:
            at = next(
                (k for k, (x, y) in enumerate(zip(got, want, strict=False)) if x != y),
                min(len(got), len(want)),
            )
            raise DeployError(
                f"{path}: TEMPLATE does not match the chat template on chats[{i}] at character "
                f"{at}: Modelfile gives {got[at : at + 20]!r}, chat template {want[at : at + 20]!r}"
            )
    return len(chats)


def render_ollama(template: str, messages: list[dict], system: str | None) -> str:
    """Render ``template`` as Ollama would for a chat request, for the Go subset we write.

    The subset: text, ``{{ .Field }}`` and ``{{ $.Field }}`` (``$`` is the top level),
    ``{{ range .Messages }} ... {{ end }}`` (inside, ``.Role`` and ``.Content`` are the
    message's), ``{{ if .Field }} ... {{ else }} ... {{ end }}`` (the condition may also be
    ``eq .Field "text"`` or ``ne .Field "text"``), and the ``{{-``/``-}}`` trim
    markers, which remove the white space on that side. The top level has ``.System`` and
    ``.Messages``, prepared as Ollama's server prepares them: ``system`` (the Modelfile's
    SYSTEM) goes in front of the messages unless they open with one, ``.System`` is every
    system message's text, and consecutive messages of one role are merged.

    Raises:
        DeployError: an action outside the subset, or a block without its end, quoted.
    """
    # server/routes.go (ChatHandler): the Modelfile's SYSTEM goes first unless the request
    # opens with a system message
    if system and not (messages and messages[0]["role"] == "system"):
        messages = [{"role": "system", "content": system}, *messages]
    # template/template.go (collate): .System joins every system message; consecutive
    # messages of one role are merged with a blank line between them
    merged: list[dict] = []
    for m in messages:
        if merged and merged[-1]["Role"] == m["role"] and m["role"] != "tool":
            merged[-1]["Content"] += "\n\n" + m["content"]
        else:
            merged.append({"Role": m["role"], "Content": m["content"]})
    top = {
        "System": "\n\n".join(m["content"] for m in messages if m["role"] == "system"),
        "Messages": merged,
    }
    nodes, rest = _parse(_lex(template))
    if rest:
        raise DeployError(f"render_ollama: unexpected {{{{ {rest[0][1]} }}}} (no open block)")
    return _evaluate(nodes, top, top)


def _lex(template: str) -> list[tuple[str, str]]:
    """Text and actions, with trim markers applied to the neighbouring text."""
    tokens, position, trim_next = [], 0, False
    for match in _ACTION_RE.finditer(template):
        text = template[position : match.start()]
        if trim_next:
            text = text.lstrip(_GO_SPACE)
        if match[1]:
            text = text.rstrip(_GO_SPACE)
        tokens += [("text", text), ("action", match[2].strip(_GO_SPACE))]
        position, trim_next = match.end(), bool(match[3])
    tail = template[position:]
    tokens.append(("text", tail.lstrip(_GO_SPACE) if trim_next else tail))
    return tokens


def _parse(tokens):
    """A tree: text, ``("field", name)``, ``(word, arg, body, else_body)`` for range and if.
    Stops at an ``end`` or ``else`` of the enclosing block and returns what is left."""
    nodes = []
    while tokens:
        kind, body = tokens[0]
        if kind == "text":
            nodes.append(body)
        elif body in ("end", "else"):
            return nodes, tokens
        elif body.startswith(("else ", "else\t", "else\n")):
            raise DeployError(
                f"render_ollama: {{{{ {body} }}}} is outside the subset; nest an {{{{ if }}}}"
            )
        elif body.split(" ", 1)[0] in ("range", "if"):
            word, _, arg = body.partition(" ")
            inner, tokens = _parse(tokens[1:])
            other = []
            if tokens and tokens[0][1] == "else":
                other, tokens = _parse(tokens[1:])
                if tokens and tokens[0][1] == "else":
                    raise DeployError(f"render_ollama: {{{{ {body} }}}} has two {{{{ else }}}}")
            if not tokens or tokens[0][1] != "end":
                raise DeployError(f"render_ollama: {{{{ {body} }}}} has no {{{{ end }}}}")
            nodes.append((word, arg, inner, other))
        else:
            nodes.append(("field", body))
        tokens = tokens[1:]
    return nodes, tokens


def _value(name: str, dot: dict, top: dict):
    scope, field = (top, name[2:]) if name.startswith("$.") else (dot, name[1:])
    if not name.startswith((".", "$.")) or field not in scope:
        raise DeployError(f"render_ollama: unknown field {name!r}; known: {sorted(scope)}")
    return scope[field]


def _evaluate(nodes, dot: dict, top: dict) -> str:
    out = []
    for node in nodes:
        if isinstance(node, str):
            out.append(node)
        elif node[0] == "field":
            out.append(str(_value(node[1], dot, top)))
        elif node[0] == "range":
            items = _value(node[1], dot, top)
            out += [_evaluate(node[2], item, top) for item in items] or [
                _evaluate(node[3], dot, top)
            ]
        else:  # if: Go's truth, an empty string or list is false
            out.append(_evaluate(node[2] if _condition(node[1], dot, top) else node[3], dot, top))
    return "".join(out)


# Go's comparison functions with a field and a quoted string: eq .Role "user"
_COMPARE_RE = re.compile(r'(?P<word>eq|ne)[ \t]+(?P<field>\S+)[ \t]+(?P<text>"(?:[^"\\]|\\.)*")')


def _condition(arg: str, dot: dict, top: dict) -> bool:
    """An ``if``'s condition: a field's truth, or ``eq``/``ne`` of a field and a string."""
    if arg.split(" ", 1)[0] not in ("eq", "ne"):
        return bool(_value(arg, dot, top))
    match = _COMPARE_RE.fullmatch(arg)
    if match is None:
        raise DeployError(
            f"render_ollama: {{{{ if {arg} }}}} is outside the subset; eq and ne compare a "
            'field with a quoted string, as in {{ if eq .Role "user" }}'
        )
    equal = str(_value(match["field"], dot, top)) == json.loads(match["text"])
    return equal if match["word"] == "eq" else not equal


# --------------------------------------------------------------------------- the Hub

# What a folder pushed with upload_folder must hold so that from_pretrained loads it: a model
# (transformers' save_pretrained and the tokenizer's), or an adapter (peft's save_pretrained)
UPLOAD_FILES = ("README.md", "config.json", "model.safetensors", "tokenizer.json")
ADAPTER_FILES = ("README.md", "adapter_config.json", "adapter_model.safetensors")
# a VLM's processor: processor_config.json (transformers 5 keeps the image processor's settings
# in it), or the older preprocessor_config.json; AutoProcessor reads either
PROCESSOR_FILES = ("processor_config.json", "preprocessor_config.json")
CHAT_TEMPLATE_FILES = ("chat_template.jinja", "chat_template.json")  # or tokenizer_config.json's
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")  # torch.load unpickles


def model_card(
    *,
    name: str,
    base_model: str | None,
    base_description: str,
    data: str,
    method: str,
    hyperparameters: dict[str, object],
    results: dict[str, float],
    limitations: list[str],
    license: str = "mit",
    baseline: dict[str, float] | None = None,
    pipeline_tag: str = "text-generation",
    library_name: str = "transformers",
    tags: tuple[str, ...] | list[str] = ("qlora", "peft", "gguf", "chatbot"),
):
    """A Hugging Face model card for a fine-tuned model, written from the run's own values.

    The YAML header (``huggingface_hub.ModelCardData``) carries what the Hub indexes: licence,
    base model (a Hub id, or None when the base is a local build), library, pipeline tag (the
    Hub's widget and task filter: ``"image-text-to-text"`` for a VLM), tags, and the held-out
    ``results`` as ``model-index`` evaluation results of that task; the body says the same for a
    reader, with the base model's scores beside them when ``baseline`` gives them, and the
    limitations. ``library_name="peft"`` for an adapter published alone.

    Returns:
        a ``huggingface_hub.ModelCard``; ``card.save(folder / "README.md")`` writes it.
    """
    from huggingface_hub import EvalResult, ModelCard, ModelCardData

    if not results:
        raise ValueError("model_card: results is empty; a card reports held-out results")
    if baseline is not None and baseline.keys() != results.keys():
        raise ValueError(
            f"model_card: baseline has {sorted(baseline)}, results {sorted(results)}: "
            "the base model's scores are on the same metrics"
        )
    evals = [
        EvalResult(
            task_type=pipeline_tag,
            dataset_type="custom",
            dataset_name=data,
            metric_type=metric,
            metric_value=value,
        )
        for metric, value in results.items()
    ]
    meta = ModelCardData(
        model_name=name,
        base_model=base_model,
        license=license,
        language="en",
        library_name=library_name,
        pipeline_tag=pipeline_tag,
        tags=list(tags),
        eval_results=evals,
    )

    def cell(value) -> str:  # a | inside a value would end the table's cell
        return str(value).replace("|", "\\|")

    knobs = "\n".join(f"| {k} | {cell(v)} |" for k, v in hyperparameters.items())
    if baseline is None:
        scores = "| metric | value |\n| --- | --- |\n" + "\n".join(
            f"| {k} | {v:.0%} |" for k, v in results.items()
        )
    else:
        scores = "| metric | base model | fine-tuned |\n| --- | --- | --- |\n" + "\n".join(
            f"| {k} | {baseline[k]:.0%} | {v:.0%} |" for k, v in results.items()
        )
    body = (
        f"# {name}\n\n{base_description}, fine-tuned with {method}.\n\n"
        f"## Data\n\n{data}\n\n"
        f"## Training\n\n| hyperparameter | value |\n| --- | --- |\n{knobs}\n\n"
        f"## Held-out results\n\n{scores}\n\n"
        "## Limitations\n\n" + "\n".join(f"- {item}" for item in limitations) + "\n\n"
        f"## Licence\n\n{license}\n"
    )
    return ModelCard(f"---\n{meta.to_yaml()}\n---\n\n{body}")


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise DeployError(f"{path}: not a JSON file ({err})") from None


def check_upload_folder(folder) -> list[str]:
    """The files ``upload_folder`` would push, checked: the model card and the files
    ``from_pretrained`` needs are there, every weight file is safetensors, none is a pickle.

    What it needs depends on the folder:

    - a model (``save_pretrained`` of a merged model and of its tokenizer or processor):
      ``config.json``, ``model.safetensors``, ``tokenizer.json`` and a chat template
      (``chat_template.jinja``, ``chat_template.json`` or ``tokenizer_config.json``'s
      ``chat_template``); a VLM, whose ``config.json`` has a ``vision_config``, also its
      processor's settings (``processor_config.json`` or ``preprocessor_config.json``), which
      ``AutoProcessor.from_pretrained`` reads.
    - an adapter (peft's ``save_pretrained``; the folder has ``adapter_config.json`` or
      ``adapter_model.safetensors``): both of them; the base model is loaded from the Hub.

    Either way the card (``README.md``) has a licence and held-out results, and its
    ``base_model``, when it names one, is a Hub id (``huggingface_hub``'s own check), and for
    an adapter the base its ``adapter_config.json`` was trained on.

    Returns:
        the folder's file names, sorted.

    Raises:
        DeployError: naming the folder and the missing or unsafe file, or the card's field.
    """
    from huggingface_hub import ModelCard
    from huggingface_hub.utils import HFValidationError, validate_repo_id
    from safetensors import safe_open

    folder = Path(folder)
    if not folder.is_dir():
        raise DeployError(f"{folder}: no such folder to upload")
    names = sorted(p.name for p in folder.iterdir() if p.is_file())
    adapter = "adapter_config.json" in names or "adapter_model.safetensors" in names
    loader = "PeftModel.from_pretrained" if adapter else "from_pretrained"
    for required in ADAPTER_FILES if adapter else UPLOAD_FILES:
        if required not in names:
            raise DeployError(f"{folder}: {required} is missing; {loader} needs it")
    for name in names:
        if name.endswith(PICKLE_SUFFIXES):
            raise DeployError(f"{folder}/{name}: a pickle file (torch.load runs its code)")
        if name.endswith(".safetensors"):
            try:
                with safe_open(folder / name, framework="pt") as f:
                    f.keys()
            except Exception as err:
                raise DeployError(
                    f"{folder}/{name}: not a whole safetensors file ({err})"
                ) from None
    trained_on = None
    if adapter:
        trained_on = _read_json(folder / "adapter_config.json").get("base_model_name_or_path")
        if not trained_on:
            raise DeployError(
                f"{folder}/adapter_config.json: no base_model_name_or_path; "
                "the adapter does not say which model it goes on"
            )
    else:
        tokenizer_config = folder / "tokenizer_config.json"
        has_template = any(name in names for name in CHAT_TEMPLATE_FILES) or (
            tokenizer_config.is_file() and "chat_template" in _read_json(tokenizer_config)
        )
        if not has_template:
            raise DeployError(
                f"{folder}: no chat template ({', '.join(CHAT_TEMPLATE_FILES)} or "
                "tokenizer_config.json's chat_template); apply_chat_template needs it"
            )
        if "vision_config" in _read_json(folder / "config.json"):
            if not any(name in names for name in PROCESSOR_FILES):
                raise DeployError(
                    f"{folder}: {' or '.join(PROCESSOR_FILES)} is missing; "
                    "AutoProcessor.from_pretrained needs it for a model whose config.json "
                    "has a vision_config"
                )
    card = ModelCard.load(folder / "README.md")
    if not card.data.license or not card.data.eval_results:
        raise DeployError(f"{folder}/README.md: the card's header has no license or results")
    base = card.data.base_model  # a Hub id, a list of them (a merge of models), or None
    for one in [base] if isinstance(base, str) else base or []:
        try:
            validate_repo_id(one)
        except HFValidationError:
            raise DeployError(
                f"{folder}/README.md: base_model {one!r} is not a Hub id (owner/name)"
            ) from None
    if base is not None and trained_on is not None and base != trained_on:
        raise DeployError(
            f"{folder}/README.md: base_model {base!r}, but adapter_config.json's "
            f"base_model_name_or_path is {trained_on!r}"
        )
    return names

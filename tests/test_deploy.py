"""ftkit.deploy: GGUF files checked, llama.cpp agrees with transformers, the Modelfile's Go
template renders chats exactly as the Jinja chat template does."""

from __future__ import annotations

import os
import shutil

import gguf
import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from ftkit.deploy import (
    DeployError,
    check_gguf,
    check_modelfile,
    check_upload_folder,
    llama_cpp_generate,
    llama_cpp_stream,
    model_card,
    modelfile,
    ollama_template,
    read_modelfile,
    render_ollama,
)
from ftkit.export import to_gguf
from ftkit.standins import LLAMA32, standin
from ftkit.tasks import HELPDESK_SYSTEM, chat_turns, helpdesk_chats
from ftkit.tiny import tiny_llama
from ftkit.tiny_vlm import tiny_vlm


@pytest.fixture(scope="module")
def base():
    source = tiny_llama(pretrain_steps=100)
    return source, AutoTokenizer.from_pretrained(source)


@pytest.fixture(scope="module")
def f16(base, tmp_path_factory):
    return to_gguf(base[0], tmp_path_factory.mktemp("gguf") / "tiny-F16.gguf", "F16")


def test_check_gguf_reads_a_whole_file(f16, base):
    info = check_gguf(f16)
    assert info["architecture"] == "llama" and info["tensors"] == 21
    assert info["chat_template"] == base[1].chat_template


def facts(path) -> dict[str, object]:
    """check_gguf's facts as gguf's own reader gives them, every array built."""
    reader = gguf.GGUFReader(path)
    template = reader.fields["tokenizer.chat_template"].contents()
    return {
        "architecture": reader.fields["general.architecture"].contents(),
        "tensors": len(reader.tensors),
        "chat_template": template,
    }


def test_check_gguf_steps_over_the_vocabulary_and_finds_a_cut_in_it(f16, tmp_path):
    # the arrays (tokens, token types, merges) are skipped, not built: same facts as gguf's
    assert check_gguf(f16) == facts(f16)
    tokens = gguf.GGUFReader(f16).fields["tokenizer.ggml.tokens"]
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(f16.read_bytes()[: tokens.offset + 1_000])  # inside the vocabulary
    with pytest.raises(DeployError, match="cut.gguf: a broken or truncated GGUF file"):
        check_gguf(cut)


def test_broken_gguf_files_are_named(f16, tmp_path):
    with pytest.raises(DeployError, match="missing.gguf: no such GGUF file"):
        check_gguf(tmp_path / "missing.gguf")
    wrong = tmp_path / "model.safetensors"
    wrong.write_bytes(b"\x08\x00\x00\x00{}      ")
    with pytest.raises(DeployError, match="model.safetensors: not a GGUF file"):
        check_gguf(wrong)
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(f16.read_bytes()[:20_000])  # the header whole, the tensors not
    with pytest.raises(
        DeployError,
        match=r"cut.gguf: cut short: tensor \S+ needs [\d,]+ bytes at offset [\d,]+; "
        r"the file has 20,000 bytes",
    ):
        check_gguf(cut)
    with pytest.raises(DeployError, match="cut.gguf: cut short"):
        llama_cpp_stream(cut, ["x"])  # refused at the call, before the engine starts
    cut.write_bytes(f16.read_bytes()[:100])  # inside the header
    with pytest.raises(DeployError, match="cut.gguf: a broken or truncated GGUF file"):
        check_gguf(cut)


def test_special_and_added_tokens_have_their_llama_cpp_types(f16, base):
    tokenizer = base[1]
    field = gguf.GGUFReader(f16).fields["tokenizer.ggml.token_type"]
    types = [gguf.TokenType(int(field.parts[i][0])) for i in field.data]
    control = set(tokenizer.all_special_ids)  # <|user|>, <|end|>...: parsed only as specials
    added = set(tokenizer.convert_tokens_to_ids(["<think>", "</think>"]))  # parsed whole, kept
    assert control and added.isdisjoint(control)
    for i, kind in enumerate(types):
        want = "CONTROL" if i in control else "USER_DEFINED" if i in added else "NORMAL"
        assert kind.name == want, (i, tokenizer.convert_ids_to_tokens(i))


def test_llama_cpp_gives_transformers_tokens_at_f16(f16, base):
    source, tokenizer = base
    model = AutoModelForCausalLM.from_pretrained(source)
    _, test = helpdesk_chats(n_train=1, n_test=4)
    texts = [
        tokenizer.apply_chat_template(t["prompt"], tokenize=False, add_generation_prompt=True)
        for t in chat_turns(test)
    ]
    # digits after a space, contractions, runs of spaces: where pre-tokenizers differ
    texts.append("It is 20 cents, 1,000 in all; it's   <think>7 + 7 = 14</think>\n\n ok")
    runs = llama_cpp_generate(f16, texts, max_tokens=12)
    for text, run in zip(texts, runs, strict=True):
        ids = tokenizer(text, add_special_tokens=False).input_ids
        assert run["prompt_tokens"] == ids  # the GGUF's tokenizer is the model's
        with torch.no_grad():
            out = model.generate(
                torch.tensor([ids]), max_new_tokens=12, do_sample=False, max_length=None
            )[0, len(ids) :].tolist()
        assert run["tokens"] == [t for t in out if t != tokenizer.eos_token_id][:12]
        assert run["text"] == tokenizer.decode(run["tokens"], skip_special_tokens=True)


def test_llama_cpp_streams_tokens_before_the_end(f16):
    events = list(llama_cpp_stream(f16, ["<|user|>\nHi<|end|>\n<|assistant|>\n"], max_tokens=6))
    kinds = [
        "prompt" if "prompt_tokens" in e else "done" if e.get("done") else "token" for e in events
    ]
    assert kinds[0] == "prompt" and kinds[-1] == "done" and kinds.count("done") == 1
    tokens = [e["token"] for e in events if "token" in e]
    assert tokens and tokens == events[-1]["tokens"]  # each token came as it was made


def test_llama_cpp_reads_the_llama_3_tokenizer_as_transformers(tmp_path):
    # Llama 3's pre-tokenizer ("llama-bpe"): digits in groups of three, split from their space;
    # with GPT-2's, llama.cpp read this text as 25 tokens against transformers' 26
    source = standin(LLAMA32)
    tokenizer = AutoTokenizer.from_pretrained(source)
    path = to_gguf(source, tmp_path / "llama3-F16.gguf", "F16")
    reader = gguf.GGUFReader(path)
    pre = reader.fields["tokenizer.ggml.pre"]
    assert bytes(pre.parts[pre.data[0]]).decode() == "llama-bpe"
    assert "rope_freqs.weight" in {t.name for t in reader.tensors}  # Llama 3's long RoPE
    assert check_gguf(path) == facts(path)  # its 128,256 tokens stepped over, not built
    chat = [{"role": "user", "content": "The late fee is 20 cents a day, 1000 in 2024."}]
    texts = [
        chat[0]["content"] + "  It's   12345678 ok\n\n 1,234.5",
        tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True),
    ]
    runs = llama_cpp_generate(path, texts, max_tokens=4)
    for text, run in zip(texts, runs, strict=True):
        assert run["prompt_tokens"] == tokenizer(text, add_special_tokens=False).input_ids


def test_engine_failures_are_named(f16, monkeypatch, tmp_path):
    (tmp_path / "node_modules" / "node-llama-cpp").mkdir(parents=True)
    script = tmp_path / "generate.mjs"
    monkeypatch.setattr("ftkit.deploy.LLAMA_CPP_DIR", tmp_path)
    # 200 KB of messages (more than a pipe holds) and then a failure
    script.write_text(
        'process.stderr.write("x".repeat(200000) + "\\nboom: no model\\n");\n'
        'process.stdout.write(JSON.stringify({index: 0, prompt_tokens: [1]}) + "\\n");\n'
        "process.exitCode = 3;\n"
    )
    with pytest.raises(DeployError, match="llama.cpp failed on .*tiny-F16.gguf: boom: no model"):
        llama_cpp_generate(f16, ["x"])
    script.write_text('process.stdout.write("Segmentation fault\\n");\n')
    with pytest.raises(DeployError, match="wrote a line that is not JSON: 'Segmentation"):
        llama_cpp_generate(f16, ["x"])


def test_the_runner_ships_inside_ftkit():
    # a pip-installed ftkit (Colab) has the script and the lock file: package data
    from pathlib import Path

    import tomllib

    import ftkit
    import ftkit.deploy

    package = Path(ftkit.__file__).parent
    config = tomllib.loads((package.parent / "pyproject.toml").read_text())
    shipped = {
        path
        for pattern in config["tool"]["setuptools"]["package-data"]["ftkit"]
        for path in package.glob(pattern)
    }
    runner = package / "llamacpp"
    assert {p for p in runner.iterdir() if p.is_file()} <= shipped
    assert {"generate.mjs", "package.json", "package-lock.json"} <= {p.name for p in shipped}
    if "FTKIT_LLAMA_CPP" not in os.environ:
        assert ftkit.deploy.LLAMA_CPP_DIR == runner


def test_the_modelfile_template_renders_like_the_chat_template(base, tmp_path):
    _, tokenizer = base
    train, _ = helpdesk_chats(n_train=40, n_test=1)
    path = tmp_path / "Modelfile"
    path.write_text(modelfile("m.gguf", tokenizer, system=HELPDESK_SYSTEM, num_ctx=256))
    fields = read_modelfile(path)
    assert fields["FROM"] == "./m.gguf" and fields["SYSTEM"] == HELPDESK_SYSTEM
    assert 'stop "<|end|>"' in fields["PARAMETER"]
    requests = [t["prompt"][1:] for t in chat_turns(train)]  # SYSTEM adds the system turn
    assert check_modelfile(path, tokenizer, requests) == len(requests)
    # a request that carries its own system message keeps it
    own = [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Hi"}]
    assert render_ollama(ollama_template(tokenizer), own, HELPDESK_SYSTEM) == (
        tokenizer.apply_chat_template(own, tokenize=False, add_generation_prompt=True)
    )


def test_the_modelfile_template_renders_like_meta_s_llama_3_template(tmp_path):
    # the Llama 3.2 stand-in: Meta's template, a system turn with the knowledge cutoff and
    # today's date always there, a header per turn, <|eot_id|> after each
    tokenizer = AutoTokenizer.from_pretrained(standin(LLAMA32))
    train, _ = helpdesk_chats(n_train=40, n_test=1)
    path = tmp_path / "Modelfile"
    path.write_text(modelfile("m.gguf", tokenizer, system=HELPDESK_SYSTEM, num_ctx=256))
    fields = read_modelfile(path)
    assert 'stop "<|eot_id|>"' in fields["PARAMETER"]
    assert "Cutting Knowledge Date: December 2023" in fields["TEMPLATE"]
    requests = [t["prompt"][1:] for t in chat_turns(train)]  # SYSTEM adds the system turn
    assert check_modelfile(path, tokenizer, requests) == len(requests)
    template = ollama_template(tokenizer)
    render = tokenizer.apply_chat_template
    for chat, system in (
        ([{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Hi"}], "S"),
        ([{"role": "user", "content": "Hi"}], None),  # no system text: the turn is still there
    ):
        assert render_ollama(template, chat, system) == (
            render(chat, tokenize=False, add_generation_prompt=True)
        )
    # a newline forgotten after the role header is found
    path.write_text(path.read_text().replace("\n{{ .Content }}", "{{ .Content }}"))
    with pytest.raises(DeployError, match=r"does not match the chat template on chats\[0\]"):
        check_modelfile(path, tokenizer, requests)


def test_a_chat_template_it_does_not_know_is_refused(base):
    _, tiny = base
    tokenizer = AutoTokenizer.from_pretrained(tiny.name_or_path)
    tokenizer.chat_template = "{% for m in messages %}{{ m['content'] }}\n{% endfor %}"
    with pytest.raises(DeployError, match="knows ftkit.tiny's and Llama 3's chat templates"):
        ollama_template(tokenizer)


def test_a_template_that_does_not_match_is_named(base, tmp_path):
    _, tokenizer = base
    good = modelfile("m.gguf", tokenizer, system="S", num_ctx=256)
    path = tmp_path / "Modelfile"
    path.write_text(good.replace("{{ .Content }}<|end|>\n", "{{ .Content }}<|end|>"))
    chats = [[{"role": "user", "content": "Hi"}]]
    with pytest.raises(DeployError, match=r"Modelfile: TEMPLATE does not match .* chats\[0\]"):
        check_modelfile(path, tokenizer, chats)
    path.write_text('FROM ./m.gguf\nSYSTEM """S"""\n')
    with pytest.raises(DeployError, match="Modelfile: no TEMPLATE line"):
        check_modelfile(path, tokenizer, chats)
    path.write_text(good.replace("{{ end }}", ""))  # a range left open
    with pytest.raises(DeployError, match=r"Modelfile: TEMPLATE: .* has no \{\{ end \}\}"):
        check_modelfile(path, tokenizer, chats)
    with pytest.raises(DeployError, match="nowhere: no such Modelfile"):
        read_modelfile(tmp_path / "nowhere")
    path.write_text('from ./m.gguf\nsystem S\ntemplate """{{ .System }}\n')  # never closed
    with pytest.raises(DeployError, match='Modelfile: line 3: TEMPLATE opens """ and never'):
        read_modelfile(path)
    path.write_text('from ./m.gguf\ntemplate """{{ .System }}"""\n')  # any case, as Ollama
    assert read_modelfile(path)["TEMPLATE"] == "{{ .System }}"


def test_the_go_subset_renderer():
    messages = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]
    template = (
        "{{ if .System }}[{{ .System }}]{{ else }}none{{ end }}\n"
        "{{- range .Messages }} {{ .Role }}={{ .Content }};{{ $.System }} {{ end -}}\n!"
    )
    assert render_ollama(template, messages, None) == "none user=a;  assistant=b; !"
    assert render_ollama(template, messages, "s").startswith("[s] system=s;s")
    with pytest.raises(DeployError, match="has no"):
        render_ollama("{{ range .Messages }}x", messages, None)
    with pytest.raises(DeployError, match="unknown field '.Name'"):
        render_ollama("{{ .Name }}", messages, None)
    with pytest.raises(DeployError, match="no open block"):
        render_ollama("x{{ end }}", messages, None)
    # Go trims only with white space next to the dash, and only Go's white space
    assert render_ollama("a \v{{- .System }} \n{{- $.System -}}\tb", [], "s") == "a \vssb"
    with pytest.raises(DeployError, match="unknown field '-3'"):
        render_ollama("x {{-3}}", messages, None)  # the number -3 in Go, not a trim
    with pytest.raises(DeployError, match=r"\{\{ else if \.System \}\} is outside the subset"):
        render_ollama("{{ if .Messages }}a{{ else if .System }}b{{ end }}", messages, None)
    with pytest.raises(DeployError, match=r"has two \{\{ else \}\}"):
        render_ollama("{{ if .System }}a{{ else }}b{{ else }}c{{ end }}", messages, None)
    # eq and ne compare a field with a quoted string, as Ollama's Llama 3 templates do
    compare = '{{ range .Messages }}{{ if eq .Role "user" }}U{{ else }}A{{ end }}{{ end }}'
    assert render_ollama(compare, messages, None) == "UA"
    assert render_ollama(compare.replace("eq", "ne"), messages, None) == "AU"
    with pytest.raises(DeployError, match=r"\{\{ if eq \.Role user \}\} is outside the subset"):
        render_ollama(
            "{{ range .Messages }}{{ if eq .Role user }}x{{ end }}{{ end }}", messages, None
        )


def test_a_missing_runtime_says_how_to_install(f16, monkeypatch, tmp_path):
    monkeypatch.setattr("ftkit.deploy.LLAMA_CPP_DIR", tmp_path)
    with pytest.raises(DeployError, match="run `make setup-llamacpp`"):
        llama_cpp_generate(f16, ["x"])


def test_the_ollama_renderer_prepares_messages_as_the_server_does():
    # template/template.go collate: .System joins the system messages, one role's
    # consecutive messages merge with a blank line
    template = "{{ .System }}|{{ range .Messages }}{{ .Role }}:{{ .Content }};{{ end }}"
    chat = [
        {"role": "system", "content": "own"},
        {"role": "user", "content": "a"},
        {"role": "user", "content": "b"},
    ]
    assert render_ollama(template, chat, "modelfile") == "own|system:own;user:a\n\nb;"


def test_num_ctx_must_count_tokens(base):
    with pytest.raises(DeployError, match="modelfile: num_ctx is 0"):
        modelfile("m.gguf", base[1], system="S", num_ctx=0)


# --------------------------------------------------------------------------- the Hub


def card(**overrides):
    """A card as the VLM page writes one (overrides: any model_card argument)."""
    values = dict(
        name="tiny-vlm-shapes",
        base_model=None,
        base_description="A tiny LLaVA",
        data="1200 shape questions",
        method="LoRA on the language model",
        hyperparameters={"LoRA r": 16, "LoRA on": "q_proj|v_proj"},
        results={"colour accuracy": 0.98, "shape accuracy": 1.0},
        baseline={"colour accuracy": 0.0, "shape accuracy": 0.0},
        limitations=["Sees 32x32 pictures only."],
        license="apache-2.0",
        pipeline_tag="image-text-to-text",
        tags=["llava", "lora"],
    )
    return model_card(**{**values, **overrides})


@pytest.fixture(scope="module")
def vlm_folder(tmp_path_factory):
    """A VLM's model folder as save_pretrained and processor.save_pretrained leave it."""
    folder = tmp_path_factory.mktemp("upload") / "vlm"
    shutil.copytree(tiny_vlm(), folder)
    (folder / "ftkit_manifest.json").unlink()
    card().save(folder / "README.md")
    return folder


def test_the_vlm_card_round_trips_and_says_what_the_run_did(vlm_folder):
    from huggingface_hub import ModelCard

    back = ModelCard.load(vlm_folder / "README.md")
    assert back.data.to_dict() == card().data.to_dict()
    assert back.data.pipeline_tag == "image-text-to-text"
    assert back.data.library_name == "transformers" and back.data.license == "apache-2.0"
    assert back.data.tags == ["llava", "lora"] and back.data.base_model is None
    results = {r.metric_type: r.metric_value for r in back.data.eval_results}
    assert results == {"colour accuracy": 0.98, "shape accuracy": 1.0}
    assert {r.task_type for r in back.data.eval_results} == {"image-text-to-text"}
    assert "| colour accuracy | 0% | 98% |" in back.text  # base model, then fine-tuned
    assert "| LoRA on | q_proj\\|v_proj |" in back.text  # a | kept inside its cell
    with pytest.raises(ValueError, match="baseline has"):
        card(baseline={"colour accuracy": 0.0})


def test_the_chatbot_card_keeps_its_defaults():
    chatbot = model_card(
        name="tilly",
        base_model=None,
        base_description="A tiny Llama",
        data="200 chats",
        method="QLoRA",
        hyperparameters={"steps": 1},
        results={"exact match": 0.5},
        limitations=["One library."],
    )
    assert chatbot.data.pipeline_tag == "text-generation"
    assert chatbot.data.library_name == "transformers" and chatbot.data.license == "mit"
    assert chatbot.data.tags == ["qlora", "peft", "gguf", "chatbot"]
    assert "| metric | value |\n| --- | --- |\n| exact match | 50% |" in chatbot.text


def test_a_vlm_folder_needs_its_processor_and_chat_template(vlm_folder, tmp_path):
    names = check_upload_folder(vlm_folder)
    assert {"processor_config.json", "chat_template.jinja", "model.safetensors"} <= set(names)
    slip = tmp_path / "no-processor"
    shutil.copytree(vlm_folder, slip, ignore=shutil.ignore_patterns("processor_config.json"))
    with pytest.raises(
        DeployError,
        match="no-processor: processor_config.json or preprocessor_config.json is missing; "
        "AutoProcessor.from_pretrained needs it",
    ):
        check_upload_folder(slip)
    (slip / "preprocessor_config.json").write_text("{}")  # the older name does
    check_upload_folder(slip)
    (slip / "chat_template.jinja").unlink()
    with pytest.raises(DeployError, match="no-processor: no chat template"):
        check_upload_folder(slip)
    # a text model's folder needs no processor
    text = tmp_path / "text"
    shutil.copytree(tiny_llama(pretrain_steps=100), text)
    card(pipeline_tag="text-generation").save(text / "README.md")
    assert "processor_config.json" not in check_upload_folder(text)
    (text / "model.safetensors").rename(text / "pytorch_model.bin")
    with pytest.raises(DeployError, match="model.safetensors is missing; from_pretrained"):
        check_upload_folder(text)


def test_an_adapter_folder_is_checked_as_peft_loads_it(tmp_path):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForImageTextToText

    source = tiny_vlm()
    model = AutoModelForImageTextToText.from_pretrained(source)
    config = LoraConfig(r=4, target_modules=["q_proj", "v_proj"])
    folder = tmp_path / "adapter"
    get_peft_model(model, config).save_pretrained(folder)
    # peft's own README: a template with no licence, no results, the base as a local path
    with pytest.raises(DeployError, match="README.md: the card's header has no license"):
        check_upload_folder(folder)
    card(library_name="peft").save(folder / "README.md")
    assert check_upload_folder(folder) == [
        "README.md",
        "adapter_config.json",
        "adapter_model.safetensors",
    ]
    card(base_model="someone/other-model").save(folder / "README.md")
    with pytest.raises(
        DeployError,
        match="base_model 'someone/other-model', but adapter_config.json's "
        "base_model_name_or_path is '.*tiny-vlm-",
    ):
        check_upload_folder(folder)
    card(base_model=source).save(folder / "README.md")  # the local path peft recorded
    with pytest.raises(DeployError, match="README.md: base_model '.*' is not a Hub id"):
        check_upload_folder(folder)
    card(library_name="peft").save(folder / "README.md")
    (folder / "adapter_config.json").unlink()
    with pytest.raises(
        DeployError, match="adapter: adapter_config.json is missing; PeftModel.from_pretrained"
    ):
        check_upload_folder(folder)
    (folder / "adapter_config.json").write_text('{"r": 4}')
    with pytest.raises(DeployError, match="adapter_config.json: no base_model_name_or_path"):
        check_upload_folder(folder)
    (folder / "adapter_model.safetensors").rename(folder / "adapter_model.bin")
    with pytest.raises(DeployError, match="adapter_model.safetensors is missing"):
        check_upload_folder(folder)

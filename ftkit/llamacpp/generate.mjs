// Greedy generation with llama.cpp, through node-llama-cpp's prebuilt binaries.
//
// Reads one JSON request on stdin: {"model": "x.gguf", "prompts": ["..."], "max_tokens": 16}.
// Writes JSON lines on stdout, each with the prompt's "index": {"prompt_tokens": [...]} first
// (how llama.cpp tokenized the prompt, special tokens parsed), then {"token": id, "text":
// piece} per generated token as it comes (so a chat app can stream it), then {"done": true,
// "tokens": [...], "text": "..."}. One process loads the model once for every prompt.
// Generation is greedy (temperature 0, no repeat penalty) and stops at an end-of-generation
// token or after max_tokens. ftkit.deploy.llama_cpp_generate drives it; make setup-llamacpp
// installs node-llama-cpp (pinned in package.json) next to it.
import { readFileSync } from "node:fs";
import { getLlama, LlamaLogLevel } from "node-llama-cpp";

const request = JSON.parse(readFileSync(0, "utf8"));
const emit = (value) => process.stdout.write(JSON.stringify(value) + "\n");

// CPU only, never build from source: the prebuilt binary or a clear failure.
const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
const model = await llama.loadModel({ modelPath: request.model, gpuLayers: 0 });
// One thread: llama.cpp's worker threads spin while they wait, and on a shared 2-core machine
// that made 8 tokens of the tiny model take 6 s instead of 0.03 s.
const context = await model.createContext({ contextSize: request.context_size ?? 256, threads: 1 });
const sequence = context.getSequence();
for (const [index, prompt] of request.prompts.entries()) {
  await sequence.clearHistory();
  // true: "<|user|>" in the prompt is the special token, as transformers' tokenizer reads it
  const promptTokens = model.tokenize(prompt, true);
  emit({ index, prompt_tokens: promptTokens });
  const tokens = [];
  for await (const token of sequence.evaluate(promptTokens, { temperature: 0 })) {
    if (model.isEogToken(token)) break;
    tokens.push(token);
    emit({ index, token, text: model.detokenize([token], false, tokens.slice(0, -1)) });
    if (tokens.length >= request.max_tokens) break;
  }
  emit({ index, done: true, tokens, text: model.detokenize(tokens, false) });
}
await context.dispose();
await model.dispose();
await llama.dispose();

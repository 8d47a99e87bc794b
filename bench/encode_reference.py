"""Python onnxruntime reference for the transformer teacher's encoder (same ONNX file, same tokenizer.json).

  python bench/encode_reference.py embed  ENCODER_DIR ONNX_FILE < texts.json > vectors.json
      mean-pooled (over the attention mask), L2-normalised embeddings: what sentence-transformers
      computes for all-MiniLM-L6-v2, and what lib/ml/teacher/sentence-encoder.ts must reproduce.
  python bench/encode_reference.py serve  ENCODER_DIR ONNX_FILE --batch 64 --threads 2 [--spinning 1]
      a timing worker that stays loaded: its first stdin line is a JSON object of named workloads
      ({"words": [...], "sentences": [...]}); then each line names one, which is encoded once, batched
      as the Node encoder batches (sorted by their number of pieces, padded to the longest of each
      batch), and answered with one JSON line {"seconds": ...} (the encode alone, timed inside).
      The first line answered is {"ready": true, "onnxruntime": ...}, after a warm-up pass.

Needs onnxruntime, tokenizers and numpy (bench/distill.mjs installs pinned versions into .venv).
"""
import argparse, json, sys, time
import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer


def session(onnx, threads, spinning):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # 0: idle intra-op threads sleep, as the Node encoder's session is set; 1: onnxruntime's default.
    options.add_session_config_entry("session.intra_op.allow_spinning", str(spinning))
    return ort.InferenceSession(onnx, options, providers=["CPUExecutionProvider"])


def encode(sess, tok, texts, batch, max_tokens):
    tok.enable_truncation(max_length=max_tokens)
    tok.no_padding()
    names = [i.name for i in sess.get_inputs()]
    # All texts tokenised in one call, then sorted by pieces: the batches the Node encoder makes.
    encs = tok.encode_batch(texts)
    order = sorted(range(len(texts)), key=lambda i: len(encs[i].ids))
    rows = [None] * len(texts)
    for start in range(0, len(texts), batch):
        idx = order[start:start + batch]
        width = max(len(encs[i].ids) for i in idx)
        ids = np.zeros((len(idx), width), np.int64)
        mask = np.zeros((len(idx), width), np.int64)
        for j, i in enumerate(idx):
            ids[j, :len(encs[i].ids)] = encs[i].ids
            mask[j, :len(encs[i].ids)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = sess.run(None, feeds)[0]
        m = mask[:, :, None].astype(np.float32)
        pooled = (hidden * m).sum(1) / np.clip(m.sum(1), 1e-9, None)
        pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        for j, i in enumerate(idx):
            rows[i] = pooled[j]
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["embed", "serve"])
    parser.add_argument("encoder_dir")
    parser.add_argument("onnx")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--spinning", type=int, choices=[0, 1], default=0)
    args = parser.parse_args()
    sess = session(args.onnx, args.threads, args.spinning)
    tok = Tokenizer.from_file(f"{args.encoder_dir}/tokenizer.json")
    if args.mode == "embed":
        rows = encode(sess, tok, json.load(sys.stdin), args.batch, args.max_tokens)
        json.dump([[round(float(x), 7) for x in row] for row in rows], sys.stdout)
        return
    workloads = json.loads(sys.stdin.readline())
    for name in workloads:  # warm-up: each workload once
        encode(sess, tok, workloads[name], args.batch, args.max_tokens)
    print(json.dumps({"ready": True, "onnxruntime": ort.__version__}), flush=True)
    for line in sys.stdin:
        texts = workloads[line.strip()]
        start = time.perf_counter()
        encode(sess, tok, texts, args.batch, args.max_tokens)
        print(json.dumps({"seconds": time.perf_counter() - start}), flush=True)


if __name__ == "__main__":
    main()

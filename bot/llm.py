"""Optional LLM answerer (``BOT_LLM``): an OpenAI-compatible chat endpoint, then verified.

Covers vLLM, Ollama, llama.cpp's server, LM Studio and hosted APIs through LangChain's
``ChatOpenAI``. The evidence gate has already run before the model is called; the model
sees only the numbered passages and a strict Vietnamese grounding instruction. Whatever
it writes is then *verified*: [n] markers that resolve to no passage are dropped, every
sentence must be supported by a passage it cites (its content words and every number in
it occur there), unsupported sentences are dropped, and when too little survives the
caller falls back to the extractive answer. A model that writes junk therefore costs
latency, never correctness.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from collections.abc import Iterator

from .questions import STOPWORDS_ACCENTED
from .vietnamese import canonical, fold, lexical_tokens

SYSTEM_PROMPT = (
    "Bạn là trợ lý tra cứu chính sách kinh tế tập thể và hợp tác xã của Việt Nam. "
    "Chỉ trả lời bằng tiếng Việt và CHỈ dựa trên các đoạn trích được đánh số [1], [2]… bên dưới; "
    "không dùng bất kỳ kiến thức nào khác. Mỗi câu trả lời phải kết thúc bằng số của đoạn trích chứa "
    "thông tin đó, ví dụ: \"Hợp tác xã cần ít nhất 05 thành viên chính thức [1].\" "
    "Giữ nguyên số liệu, tên cơ quan và ngày tháng như trong đoạn trích. "
    "Nếu các đoạn trích không đủ để trả lời, chỉ viết: \"Các văn bản hiện có không đề cập đến nội dung này.\""
)
_MARKER = re.compile(r"\[(\d+)\]")
_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+|$)(?:\s*(?:\[\d+\]\s*)+)?", re.MULTILINE)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*%?")


@dataclass
class Passage:
    id: int
    title: str
    section: str
    text: str


def build_messages(question: str, passages: list[Passage]) -> list[tuple[str, str]]:
    context = "\n\n".join(f"[{p.id}] {p.title} — {p.section or 'phần mở đầu'}\n{p.text}" for p in passages)
    return [("system", SYSTEM_PROMPT), ("human", f"Các đoạn trích:\n\n{context}\n\nCâu hỏi: {question}")]


def chat_model(base_url: str, model: str, api_key: str, timeout: float, max_tokens: int):
    """LangChain's OpenAI-compatible chat model, deterministic."""
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(base_url=base_url, model=model, api_key=api_key, temperature=0, timeout=timeout,
                      max_tokens=max_tokens, max_retries=0, streaming=True)


def _content_words(text: str) -> set[str]:
    return {fold(t) for t in lexical_tokens(text) if "_" not in t and t not in STOPWORDS_ACCENTED and len(t) > 1}


def supported(sentence: str, passage: str, min_share: float = 0.8) -> bool:
    """Is a sentence backed by a passage: its numbers all occur there, and most of its
    content words do (a paraphrase may add a few connecting words)."""
    body = _MARKER.sub("", sentence)
    numbers = _NUMBER.findall(body)
    folded_passage = fold(canonical(passage))
    if any(n.lower() not in folded_passage for n in numbers):
        return False
    words = _content_words(body)
    if len(words) < 2:
        return False
    passage_words = _content_words(passage)
    return sum(w in passage_words for w in words) / len(words) >= min_share


def verify(text: str, passages: dict[int, str]) -> tuple[str, list[int], int]:
    """Keep only the sentences a cited passage supports. Returns (text, cited ids, dropped)."""
    kept: list[str] = []
    cited: list[int] = []
    dropped = 0
    for raw in _SENTENCE.findall(text):
        sentence = raw.strip()
        if not sentence or not re.search(r"\w", _MARKER.sub("", sentence)):
            continue
        ids = [int(n) for n in _MARKER.findall(sentence)]
        valid = [n for n in ids if n in passages]
        body = _MARKER.sub("", sentence).strip()
        backing = [n for n in valid if supported(body, passages[n])]
        if not backing:
            dropped += 1
            continue
        marks = "".join(f" [{n}]" for n in dict.fromkeys(backing))
        kept.append(re.sub(r"\s+([.!?])", r"\1", body) + marks)
        cited += [n for n in backing if n not in cited]
    return "\n".join(kept), cited, dropped


def generate(model, question: str, passages: list[Passage]) -> Iterator[str]:
    """Stream the model's raw text (unverified)."""
    for chunk in model.stream(build_messages(question, passages)):
        if chunk.content:
            yield chunk.content if isinstance(chunk.content, str) else str(chunk.content)

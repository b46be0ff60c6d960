"""Command line: ``python -m bot index|…``. Thin: parses flags, calls the pipeline."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .config import Settings, get_settings


def _settings(args: argparse.Namespace) -> Settings:
    settings = get_settings()
    changes = {}
    if getattr(args, "documents", None):
        changes["documents_dir"] = Path(args.documents).expanduser().resolve()
    if getattr(args, "index", None):
        changes["index_dir"] = Path(args.index).expanduser().resolve()
    return settings.with_(**changes) if changes else settings


def cmd_index(args: argparse.Namespace) -> int:
    from .index import ProgressBar, build_index

    settings = _settings(args)
    bar = ProgressBar(sys.stderr, disable=args.quiet)
    summary = build_index(settings, rebuild=args.rebuild, progress=bar)
    bar.close()
    for line in summary.lines():
        print(line)
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    """Move a document to documents/.removed/ and re-index; the index switches in one step."""
    from .admin import remove_document
    from .index import build_index

    settings = _settings(args)
    try:
        kept = remove_document(settings, args.file)
    except (ValueError, FileNotFoundError) as exc:
        print(f"Lỗi: {exc}", file=sys.stderr)
        return 2
    print(f"Đã gỡ {args.file}; bản lưu: {kept}")
    for line in build_index(settings).lines():
        print(line)
    return 0


def expand_sources(sources: list[str] | None, known) -> list[str] | None:
    """``--source`` values: an instrument ("12.4_hop-tac-xa.md#92-2024-nd-cp") or a file,
    which stands for every instrument read from it."""
    if not sources:
        return None
    out = []
    for s in sources:
        out += [k for k in known if k == s or k.startswith(f"{s}#")] or [s]
    return out


def cmd_documents(args: argparse.Namespace) -> int:
    """The documents the assistant answers from — for a Pháp điển topic, its instruments."""
    from .index import ensure_index

    handle = ensure_index(_settings(args))
    rows = []
    for source, d in handle.manifest["documents"].items():
        m = d.get("metadata", {})
        rows.append({"source": source, "title": d["title"], "short_title": m.get("short_title", ""),
                     "kind": m.get("kind", ""), "number": m.get("number", ""), "issuer": m.get("issuer", ""),
                     "date": m.get("date", ""), "effective": m.get("effective", ""), "chunks": d.get("chunks", 0)})
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return 0
    for r in rows:
        when = " · ".join(x for x in (r["date"] and f"ban hành {r['date']}",
                                      r["effective"] and f"hiệu lực {r['effective']}") if x)
        print(f"{r['short_title'] or r['title']}\t{when}\t{r['chunks']} đoạn\t{r['source']}")
    return 0


def _assistant(args: argparse.Namespace):
    from .answer import Assistant
    from .index import ensure_index

    settings = _settings(args)
    return Assistant(settings, ensure_index(settings))


def _print_answer(answer, as_json: bool, out=sys.stdout) -> None:
    if as_json:
        out.write(json.dumps(answer.to_json(), ensure_ascii=False) + "\n")
        out.flush()
        return
    print(answer.answer, file=out)
    if answer.citations:
        print("\nNguồn:", file=out)
        for c in answer.citations:
            where = f" — {c.section}" if c.section else ""
            from .answer import legal_facts

            legal = " · ".join(legal_facts(c))
            print(f"[{c.id}] {c.title}{where} ({c.source}{' · ' + legal if legal else ''})", file=out)
            if c.extra.get("status"):
                print(f"    Lưu ý: điều này {c.extra['status']}", file=out)
    elif answer.related:
        print("\nĐoạn gần nhất (không đủ căn cứ để trả lời):", file=out)
        for r in answer.related:
            print(f"- {r['title']} — {r['section'] or '(phần mở đầu)'}", file=out)


def _batch_line(line: str, number: int) -> tuple[object, list | None, str | None]:
    """Parse one JSON Lines request; returns (question, history, error)."""
    try:
        request = json.loads(line)
    except json.JSONDecodeError as exc:
        return None, None, f"Dòng {number}: JSON không hợp lệ ({exc.msg}, cột {exc.colno})."
    if not isinstance(request, dict) or "question" not in request:
        return None, None, f"Dòng {number}: cần một đối tượng JSON có trường \"question\"."
    history = request.get("history")
    if history is not None and not (isinstance(history, list) and all(
            isinstance(m, dict) and m.get("role") in ("user", "assistant") and isinstance(m.get("content"), str)
            for m in history)):
        return request.get("question"), None, (
            f"Dòng {number}: \"history\" phải là danh sách {{\"role\": \"user\"|\"assistant\", \"content\": chuỗi}}.")
    return request["question"], history, None


def cmd_ask(args: argparse.Namespace) -> int:
    from .answer import Answer

    history = None
    if args.history:
        try:
            history = json.loads(Path(args.history).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            print(f"Không đọc được tệp lịch sử {args.history}: {exc}", file=sys.stderr)
            return 2
    assistant = _assistant(args)
    if args.question is not None:
        _print_answer(assistant.ask(args.question, history, expand_sources(args.source, assistant.documents)), args.json)
        return 0
    if not args.json:
        print("Thiếu câu hỏi. Dùng: python -m bot ask \"CÂU HỎI\", hoặc --json để đọc JSON Lines từ stdin.",
              file=sys.stderr)
        return 2
    for number, line in enumerate(sys.stdin, start=1):
        if not line.strip():
            continue
        question, hist, error = _batch_line(line, number)
        if error:
            q = question if isinstance(question, str) else ""
            _print_answer(Answer(question=q, answer=error, abstained=True, error=error), True)
            continue
        sources = expand_sources(args.source, assistant.documents)
        _print_answer(assistant.ask(question, hist if hist is not None else history, sources), True)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from .evaluation import EVAL_SETS, evaluate, load_questions, load_set

    try:
        sets = {args.file: load_questions(Path(args.file))} if args.file else {name: load_set(name) for name in EVAL_SETS}
    except (OSError, ValueError) as exc:
        print(f"Không đọc được bộ câu hỏi: {exc}", file=sys.stderr)
        return 2
    assistant = _assistant(args)
    results = {}
    for name, questions in sets.items():
        report = evaluate(assistant, questions)
        results[name] = {"metrics": report.metrics, "rows": report.rows}
        if not args.json:
            print(f"== {name}")
            # a validation half's failing questions stay unread unless asked for: reading
            # them while developing is how a validation half turns into a tuning half
            print("\n".join(report.lines(failures=args.show_validation or "validation" not in name)))
    if args.json:
        print(json.dumps(results if not args.file else results[args.file], ensure_ascii=False, indent=1))
    return 0


def cmd_duties(args: argparse.Namespace) -> int:
    from .index import ensure_index

    settings = _settings(args)
    handle = ensure_index(settings)  # opens it, building first only when missing
    directory = handle.directory()
    sources = args.document or None
    if sources:
        known = set(handle.manifest["documents"])
        unknown = [s for s in sources if s not in known]
        if unknown:
            print(f"Không có tài liệu: {', '.join(unknown)}. Có: {', '.join(sorted(known))}", file=sys.stderr)
            return 2
    if args.agency is None:
        rows = [{"agency": a, "place": p, "tasks": n} for a, p, n in directory.agencies()
                if not sources or any(d.source in sources and d.canonical == a and d.place == p for d in directory.duties)]
        if args.json:
            print(json.dumps({"agencies": rows}, ensure_ascii=False, indent=1))
        else:
            for r in rows:
                print(f"{r['tasks']:3d}  {r['agency']} — {r['place']}")
        return 0
    matches, duties = directory.find(args.agency, sources)
    if args.json:
        print(json.dumps({"agency": args.agency, "matches": matches, "duties": [d.to_json() for d in duties]},
                         ensure_ascii=False, indent=1))
        return 0
    if not duties:
        print(f"Các văn bản hiện có không giao nhiệm vụ nào cho «{args.agency}».")
        return 0
    current = None
    for d in duties:
        if (d.source, d.section) != current:
            current = (d.source, d.section)
            print(f"\n{d.title} — {d.section or '(phần mở đầu)'} [{d.source}]")
        extra = f"; hạn: {d.deadline}" if d.deadline else ""
        print(f"  • ({d.role}{extra}) {d.task}")
    return 0


def cmd_targets(args: argparse.Namespace) -> int:
    from .index import ensure_index
    from .targets import markdown_table

    settings = _settings(args)
    handle = ensure_index(settings)  # opens it, building first only when missing
    targets = [t for t in handle.targets() if (args.year is None or t.year == args.year)
               and (not args.document or t.source in args.document)]
    if args.json:
        print(json.dumps({"targets": [t.to_json() for t in targets]}, ensure_ascii=False, indent=1))
        return 0
    if not targets:
        print("Không có chỉ tiêu nào" + (f" cho năm {args.year}" if args.year else "") + ".")
        return 0
    for year in sorted({t.year for t in targets}):
        table, passages = markdown_table(targets, year)
        print(f"\n{table}\n")
        for n, t in enumerate(passages, start=1):
            print(f"[{n}] {t.title} — {t.section} ({t.source}): {t.passage}")
    return 0


def cmd_brief(args: argparse.Namespace) -> int:
    from .briefing import build_briefing

    assistant = _assistant(args)
    briefing = build_briefing(assistant, args.topic, expand_sources(args.source, assistant.documents))
    if args.format in ("docx", "pptx"):
        output = args.output or briefing.filename(args.format)  # named after the topic
        Path(output).write_bytes(briefing.docx() if args.format == "docx" else briefing.pptx())
        print(f"Đã ghi {output}" + ("" if briefing.covered else f" — {briefing.message}"))
        return 0
    text = briefing.markdown()
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"Đã ghi {args.output}" + ("" if briefing.covered else f" — {briefing.message}"))
    else:
        print(text, end="")
    return 0


def _folders(p: argparse.ArgumentParser) -> None:
    """--documents and --index, which every command takes."""
    p.add_argument("--documents", help="thư mục tài liệu (mặc định: documents/ hoặc BOT_DOCUMENTS_DIR)")
    p.add_argument("--index", help="thư mục chỉ mục (mặc định: index/ hoặc BOT_INDEX_DIR)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Trợ lý chính sách kinh tế tập thể")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("index", help="lập (hoặc cập nhật) chỉ mục từ thư mục tài liệu")
    _folders(p)
    p.add_argument("--rebuild", action="store_true", help="lập lại từ đầu, bỏ qua chỉ mục cũ")
    p.add_argument("--quiet", action="store_true", help="không hiện thanh tiến trình")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("documents", help="danh sách văn bản (với Pháp điển: từng luật, nghị định, thông tư)")
    p.add_argument("--json", action="store_true", help="in dạng JSON")
    _folders(p)
    p.set_defaults(func=cmd_documents)

    p = sub.add_parser("remove", help="gỡ một tài liệu (chuyển vào documents/.removed/) và cập nhật chỉ mục")
    p.add_argument("file", help="tên tệp trong thư mục tài liệu, ví dụ: ke-hoach-x.md")
    _folders(p)
    p.set_defaults(func=cmd_remove)

    p = sub.add_parser("ask", help="hỏi một câu (hoặc nhiều câu JSON Lines từ stdin với --json)")
    p.add_argument("question", nargs="?", help="câu hỏi; bỏ trống cùng --json để đọc JSON Lines từ stdin")
    p.add_argument("--json", action="store_true", help="in kết quả dạng JSON (một dòng mỗi câu hỏi)")
    p.add_argument("--history", help="tệp JSON: danh sách {role, content} của hội thoại trước")
    p.add_argument("--source", action="append", help="chỉ tìm trong tài liệu này (lặp lại được)")
    _folders(p)
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("duties", help="danh mục nhiệm vụ: cơ quan nào được giao việc gì")
    p.add_argument("agency", nargs="?", help="tên cơ quan (bỏ trống: danh sách cơ quan và số nhiệm vụ)")
    p.add_argument("--document", action="append", help="chỉ trong tài liệu này (lặp lại được)")
    p.add_argument("--json", action="store_true", help="in dạng JSON")
    _folders(p)
    p.set_defaults(func=cmd_duties)

    p = sub.add_parser("targets", help="bảng chỉ tiêu (2025/2030/2045) của các văn bản, so sánh theo địa phương")
    p.add_argument("--year", type=int, help="chỉ năm này (ví dụ 2030)")
    p.add_argument("--document", action="append", help="chỉ trong tài liệu này (lặp lại được)")
    p.add_argument("--json", action="store_true", help="in dạng JSON")
    _folders(p)
    p.set_defaults(func=cmd_targets)

    p = sub.add_parser("brief", help="soạn đề cương tập huấn có trích dẫn về một chủ đề")
    p.add_argument("topic", help="chủ đề, ví dụ: \"chuyển đổi số trong hợp tác xã\"")
    p.add_argument("--source", action="append", help="chỉ dùng tài liệu này (lặp lại được)")
    p.add_argument("--format", choices=["md", "docx", "pptx"], default="md")
    p.add_argument("-o", "--output", help="tệp kết quả (mặc định: in Markdown ra màn hình)")
    _folders(p)
    p.set_defaults(func=cmd_brief)

    p = sub.add_parser("eval", help="đánh giá trên một bộ câu hỏi JSON Lines")
    p.add_argument("file", nargs="?", help="tệp JSON Lines câu hỏi (bỏ trống: nửa điều chỉnh, nửa kiểm định và bộ sinh tự động)")
    p.add_argument("--json", action="store_true", help="in toàn bộ kết quả dạng JSON")
    p.add_argument("--show-validation", action="store_true",
                   help="in cả các câu sai của nửa kiểm định (mặc định chỉ in số liệu)")
    _folders(p)
    p.set_defaults(func=cmd_eval)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)

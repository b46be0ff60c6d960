"""Command line: ``python -m bot index|…``. Thin: parses flags, calls the pipeline."""

from __future__ import annotations

import argparse
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
    from tqdm import tqdm

    from .index import build_index

    settings = _settings(args)
    bar = tqdm(total=0, unit="tài liệu", desc="Lập chỉ mục", file=sys.stderr, disable=args.quiet)

    def progress(source: str, done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.set_postfix_str(source[-40:])
        bar.refresh()

    summary = build_index(settings, rebuild=args.rebuild, progress=progress)
    bar.close()
    for line in summary.lines():
        print(line)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Trợ lý chính sách kinh tế tập thể")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("index", help="lập (hoặc cập nhật) chỉ mục từ thư mục tài liệu")
    p.add_argument("--documents", help="thư mục tài liệu (mặc định: documents/ hoặc BOT_DOCUMENTS_DIR)")
    p.add_argument("--index", help="thư mục chỉ mục (mặc định: index/ hoặc BOT_INDEX_DIR)")
    p.add_argument("--rebuild", action="store_true", help="lập lại từ đầu, bỏ qua chỉ mục cũ")
    p.add_argument("--quiet", action="store_true", help="không hiện thanh tiến trình")
    p.set_defaults(func=cmd_index)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)

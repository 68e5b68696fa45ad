"""Where the benchmarks find the research corpus, and reading its articles.

The corpus is research-use only: it is read from ``../shared/corpus`` (or
``$NEWSALERT_CORPUS_DIR``) and never copied into the repository.
"""

from __future__ import annotations

import gzip
import json
import os
import sys
from pathlib import Path

from newsalert.models import Article

REPO = Path(__file__).resolve().parents[1]


def corpus_dir() -> Path:
    """``$NEWSALERT_CORPUS_DIR`` or ``<repo>/../shared/corpus``."""
    return Path(os.environ.get("NEWSALERT_CORPUS_DIR", REPO.parent / "shared" / "corpus"))


def read_bbc(folder: Path | None = None) -> list[Article] | None:
    """The BBC articles of ``folder`` (default :func:`corpus_dir`); ``None``, said on
    stderr, when the file is absent."""
    path = (folder or corpus_dir()) / "bbc.jsonl.gz"
    if not path.exists():
        print(f"corpus not found: {path}", file=sys.stderr)
        return None
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        return [Article.model_validate(json.loads(line)) for line in lines]

"""Leakage guards for evaluation with live search: a ``Web`` wrapper that drops results from sites hosting the
benchmarks and pages that quote the question (or a long gold answer), and counts everything it drops.

Two filters (METHOD.md section 5):

1. Domain blocklist: a hit or fetch whose url is on a blocked host (a host matches itself and its subdomains)
   or under a blocked ``host/path`` prefix. Default: Hugging Face (``huggingface.co``, ``hf.co``, mirrors) and
   the GitHub repos / raw files / blob stores of the benchmarks we load.
2. Forbidden text (after DeepDive): n-grams (``n`` normalized tokens; CJK characters count as tokens) of the
   question, and of the gold answer when it is at least ``n`` tokens long. A search hit (title + snippet) or a
   fetched page containing one of them is dropped: a page quoting a long stretch of an obfuscated benchmark
   question is a copy of the benchmark. Short answers are deliberately NOT forbidden (**ours**): dropping every
   page that mentions "Paris" would remove the evidence the agent is supposed to find.

Counts (``LeakageStats``) are per run and summed into the report.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from openseeker.errors import ToolError
from openseeker.metrics import cjk_tokens as _tokens
from openseeker.records import Page, SearchHit
from openseeker.web.base import ensure_retrieval, search_with

if TYPE_CHECKING:
    from openseeker.web.base import Web

log = logging.getLogger(__name__)

DEFAULT_BLOCKLIST: tuple[str, ...] = (
    "huggingface.co",
    "hf.co",
    "hf-mirror.com",
    "modelscope.cn/datasets",
    "kaggle.com/datasets",
    "openaipublic.blob.core.windows.net/simple-evals",
    "github.com/openai/simple-evals",
    "raw.githubusercontent.com/openai/simple-evals",
    "github.com/PALIN2018/BrowseComp-ZH",
    "raw.githubusercontent.com/PALIN2018/BrowseComp-ZH",
    "github.com/AGI-Eval-Official/BrowseComp-ZH-revised",
    "github.com/xbench-ai",
    "raw.githubusercontent.com/xbench-ai",
    "github.com/ByteDance-Seed/WideSearch",
    "raw.githubusercontent.com/ByteDance-Seed/WideSearch",
    "github.com/centerforaisafety/hle",
    "lastexam.ai",
    "github.com/RUC-NLPIR/GISA",
    "github.com/RUC-NLPIR/WebThinker",
    "github.com/texttron/BrowseComp-Plus",
    "github.com/google-research-datasets/frames",
)
DEFAULT_NGRAM = 10


@dataclass
class LeakageStats:
    blocked_domain_hits: int = 0
    blocked_domain_fetches: int = 0
    blocked_text_hits: int = 0
    blocked_text_fetches: int = 0

    def add(self, other: LeakageStats | dict) -> LeakageStats:
        d = other if isinstance(other, dict) else asdict(other)
        for k, v in d.items():
            if hasattr(self, k):
                setattr(self, k, getattr(self, k) + int(v))
        return self

    def total(self) -> int:
        return sum(asdict(self).values())

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _split_rule(rule: str) -> tuple[str, str]:
    r = rule.strip().lower()
    if "://" in r:
        r = r.split("://", 1)[1]
    host, _, path = r.partition("/")
    return host.removeprefix("www."), ("/" + path).rstrip("/") if path else ""


class DomainBlocklist:
    """Host (and optional path prefix) rules; ``blocked(url)`` is case-insensitive on host and path."""

    def __init__(self, rules: tuple[str, ...] | list[str] = DEFAULT_BLOCKLIST):
        self.rules = [_split_rule(r) for r in rules if r.strip()]

    def blocked(self, url: str) -> bool:
        try:
            parts = urlsplit(url if "://" in url else "http://" + url)
        except ValueError:
            return False
        host = (parts.hostname or "").lower().removeprefix("www.")
        path = (parts.path or "").lower()
        for rhost, rpath in self.rules:
            if host == rhost or host.endswith("." + rhost):
                if not rpath or path == rpath or path.startswith(rpath + "/"):
                    return True
        return False


class ForbiddenText:
    """N-gram matcher for forbidden texts (question and long gold answers)."""

    def __init__(self, texts: list[str], n: int = DEFAULT_NGRAM, *, min_tokens: int | None = None):
        self.n = n
        self.grams: set[tuple[str, ...]] = set()
        for t in texts:
            toks = _tokens(t)
            if len(toks) < (min_tokens or n):
                continue
            for i in range(len(toks) - n + 1):
                self.grams.add(tuple(toks[i : i + n]))

    def __bool__(self) -> bool:
        return bool(self.grams)

    def hit(self, text: str) -> bool:
        if not self.grams or not text:
            return False
        toks = _tokens(text)
        n = self.n
        return any(tuple(toks[i : i + n]) in self.grams for i in range(len(toks) - n + 1))


class GuardedWeb:
    """A ``Web`` that filters another one for one question (construct one per question and run).

    Args:
        web: the underlying web (usually live).
        question: the question (its n-grams are forbidden).
        answers: gold answers (forbidden when at least ``n`` tokens long).
        blocklist: domain rules.
        n: n-gram length.
    """

    def __init__(
        self,
        web: Web,
        *,
        question: str = "",
        answers: list[str] | None = None,
        blocklist: DomainBlocklist | None = None,
        n: int = DEFAULT_NGRAM,
    ):
        self.web = web
        self.name = f"guarded:{getattr(web, 'name', 'web')}"
        self.blocklist = blocklist if blocklist is not None else DomainBlocklist()
        self.forbidden = ForbiddenText([question, *(answers or [])], n=n)
        self.stats = LeakageStats()

    async def search(
        self, queries: list[str], top_k: int = 10, *, retrieval: str | None = None
    ) -> list[list[SearchHit]]:
        results = await search_with(self.web, queries, top_k, retrieval)
        out: list[list[SearchHit]] = []
        for hits in results:
            kept = []
            for h in hits:
                if self.blocklist.blocked(h.url):
                    self.stats.blocked_domain_hits += 1
                elif self.forbidden.hit(f"{h.title}\n{h.snippet}"):
                    self.stats.blocked_text_hits += 1
                else:
                    kept.append(h)
            out.append(kept)
        return out

    async def ensure_retrieval(self, retrieval: str) -> None:
        await ensure_retrieval(self.web, retrieval)

    async def fetch(self, url: str) -> Page | None:
        if self.blocklist.blocked(url):
            self.stats.blocked_domain_fetches += 1
            raise ToolError(f"{url} is blocked during evaluation (it hosts benchmark data)")
        page = await self.web.fetch(url)
        if page is not None and self.forbidden.hit(page.text):
            self.stats.blocked_text_fetches += 1
            raise ToolError(f"{url} is blocked during evaluation (it quotes the benchmark question)")
        return page

    async def aclose(self) -> None:  # the underlying web is shared; its owner closes it
        pass

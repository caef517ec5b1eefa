"""Stage 1, seed sampling (METHOD.md section 2, step 1): a seed page drawn from the web graph.

Uniform by default, as in the paper; filters (topic, page language, minimum out-degree) are **ours**. The
draw is reproducible: the same graph, filters and seed give the same seeds.
"""

from __future__ import annotations

import logging
from typing import Protocol

from openseeker.errors import UserError
from openseeker.records import Link, Page

log = logging.getLogger(__name__)


class GraphLike(Protocol):
    """What QA synthesis needs from the web graph (``openseeker.web.store.WebGraph`` provides it)."""

    def get(self, url: str) -> Page | None: ...

    def get_by_title(self, title: str) -> Page | None: ...

    def out_links(self, url: str) -> list[Link]: ...

    def sample(
        self, n: int, *, seed: int, topic: str | None = None, lang: str | None = None, min_out_degree: int = 0
    ) -> list[Page]: ...

    def __len__(self) -> int: ...


def resolve(graph: GraphLike, dst: str) -> Page | None:
    """The page a link points to (``dst`` is a url, or a title for importers that give titles)."""
    page = graph.get(dst)
    return page if page is not None else graph.get_by_title(dst)


def sample_seeds(
    graph: GraphLike,
    n: int,
    *,
    seed: int = 0,
    topic: str | None = None,
    lang: str | None = None,
    min_out_degree: int = 1,
) -> list[Page]:
    """``n`` seed pages (fewer if the filtered graph is smaller), reproducible for a given ``seed``.

    Raises:
        UserError: no page passes the filters (the message names them).
    """
    if n <= 0:
        return []
    pages = graph.sample(n, seed=seed, topic=topic, lang=lang, min_out_degree=min_out_degree)
    if not pages:
        raise UserError(
            f"no seed page matches the filters (topic={topic!r}, lang={lang!r}, min_out_degree={min_out_degree}) "
            f"in a graph of {len(graph)} pages"
        )
    if len(pages) < n:
        log.info("only %d pages match the seed filters (asked for %d)", len(pages), n)
    return list(pages)

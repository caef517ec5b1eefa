"""The request rules every door of the servers applies (HTTP ``/search``, ``/retrieve``, ``/visit`` and MCP tools).

One rule per idea, so a client sees the same answer whichever door it uses:

- **result count** (``top_k`` / ``topk``): an integer from 1 to ``TOP_K_MAX``; missing or ``null`` means the
  door's default (``/search`` and MCP ``search``: 10; ``/retrieve``: 3 like Search-R1's ``--topk``). Anything
  else (0, -1, 10**6, "5") is rejected: HTTP 422, MCP ``isError: true``. Nothing is silently clamped.
- **query length** is counted on the raw string as sent (before any stripping), and the message says which query
  and how long it is.
- **text** must be valid Unicode: a lone UTF-16 surrogate (``"\\ud800"`` in JSON) cannot be encoded in a UTF-8
  answer, so it is rejected up front instead of failing while the answer is written.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticUseDefault

from openseeker.web.tools import MAX_QUERIES, MAX_QUERY_CHARS, MAX_URLS

TOP_K_MAX = 50
SEARCH_TOP_K = 10
RETRIEVE_TOPK = 3  # Search-R1's retrieval server default (--topk 3)

SEARCH_MAX_QUERIES = MAX_QUERIES  # /search and MCP search: the agent's own tool limits
SEARCH_MAX_QUERY_CHARS = MAX_QUERY_CHARS
VISIT_MAX_URLS = MAX_URLS

# /retrieve takes a whole RL rollout batch in one request (Search-R1 sends train_batch_size x n_agent queries,
# e.g. 512 x 5 = 2,560), and its queries are whatever the policy wrote between <search> tags.
RETRIEVE_MAX_QUERIES = 4096
RETRIEVE_MAX_QUERY_CHARS = 4096
RETRIEVE_BATCH = 256  # queries per call to the web: a huge request yields to other requests between batches

# 2,560 queries of 400 characters are 1.04 MB of ASCII JSON and up to 6.2 MB when every character is sent as a
# \\uXXXX escape (json.dumps' default for non-Latin scripts, which requests uses): 8 MiB admits both.
DEFAULT_MAX_BODY = 8 * 1024 * 1024
BODY_TIMEOUT_S = 30.0  # a request body must arrive within this (a short body under a long Content-Length)

TOP_K_HELP = f"Results per query, 1-{TOP_K_MAX}."


def surrogate_problem(text: str) -> str | None:
    """A message naming the first lone surrogate in ``text``, or ``None`` when ``text`` is valid Unicode."""
    try:
        text.encode("utf-8")  # C speed; only a lone surrogate makes a str unencodable
    except UnicodeEncodeError as exc:
        return (
            f"contains a lone UTF-16 surrogate (\\u{ord(text[exc.start]):04x}) at character {exc.start}; "
            "send valid Unicode (UTF-8, or paired \\ud83d\\ude00-style escapes)"
        )
    return None


def _valid_unicode(value: str) -> str:
    problem = surrogate_problem(value)
    if problem:
        raise ValueError(f"text {problem}")
    return value


UText = Annotated[str, AfterValidator(_valid_unicode)]
"""A string field that rejects lone surrogates (pydantic)."""


def _null_is_default(value: Any) -> Any:
    if value is None:
        raise PydanticUseDefault()  # the field's own default: each door (and each MCP server) has its own
    return value


TopK = Annotated[
    int, Field(ge=1, le=TOP_K_MAX, strict=True, description=TOP_K_HELP), BeforeValidator(_null_is_default)
]
"""The result count as a pydantic field: ``null`` gives the field's default; the schema stays a bounded integer."""


def check_top_k(value: Any, default: int) -> int:
    """The one result-count rule as a plain function (for doors without a pydantic model)."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= TOP_K_MAX:
        raise ValueError(f"top_k must be an integer from 1 to {TOP_K_MAX}, got {value!r}")
    return value


def check_queries(
    value: str | list[str], *, max_queries: int, max_chars: int, keep_blank: bool = False, what: str = "query"
) -> list[str]:
    """Validated queries (raises ``ValueError`` with the message to show).

    Blank queries are dropped (``/search``, MCP) or kept as a single space (``keep_blank``, ``/retrieve``, whose
    answer must stay aligned with the request). Length is the raw length as sent."""
    raw = [value] if isinstance(value, str) else list(value)
    if len(raw) > max_queries:
        raise ValueError(f"{len(raw)} queries given; at most {max_queries} per request")
    out = []
    for i, q in enumerate(raw):
        if len(q) > max_chars:
            raise ValueError(f"{what} {i} is {len(q)} characters; at most {max_chars}")
        problem = surrogate_problem(q)
        if problem:
            raise ValueError(f"{what} {i} {problem}")
        if q.strip():
            out.append(q.strip())
        elif keep_blank:
            out.append(" ")
    if not out:
        raise ValueError("empty query: give at least one non-blank query")
    return out

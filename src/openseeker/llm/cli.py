"""``openseeker llm``: check the configured LLM endpoints (``ping``) and print the resolved config (``show``)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Annotated, Any

import typer

from openseeker.cli.options import BaseUrlOpt, ConfigOpt, LLMOpt, ModelOpt
from openseeker.errors import LLMError, OpenSeekerError, UserError
from openseeker.llm.base import ROLES
from openseeker.llm.cache import CACHE_FILE, ResponseCache
from openseeker.llm.config import resolve_llm_config
from openseeker.llm.pool import LLMPool

PING_EPILOG = """Examples:

  openseeker llm ping                                  # every role on the embedded SmolLM2

  openseeker llm ping --base-url http://localhost:8000/v1 --model Qwen/Qwen3-8B

  openseeker llm ping --config configs/vllm.yaml --role teacher --role judge
"""


async def ping(
    config: Any, roles: list[str] | None = None, prompt: str = "Reply with the word: pong", max_tokens: int = 16
) -> list[dict[str, Any]]:
    """One small uncached chat call per distinct endpoint used by ``roles`` (default: all roles).

    Returns:
        One row per role: role, backend, base_url, model, ok, latency_s, reply (or error), tokens.
    """

    roles = list(roles or ROLES)
    for role in roles:
        if role not in ROLES:
            raise UserError(f"unknown LLM role {role!r}; roles are: {', '.join(ROLES)}")
    config = config.model_copy(deep=True)
    for ep in config.roles.values():
        ep.cache = False
        ep.max_retries = min(ep.max_retries, 1)
    rows: list[dict[str, Any]] = []
    async with LLMPool(config) as pool:
        desc = pool.describe()
        done: dict[tuple[str, str], dict[str, Any]] = {}
        for role in roles:
            llm = pool.role(role)
            key = (llm.endpoint.endpoint_key, llm.model)
            if key not in done:
                t0 = time.perf_counter()
                try:
                    c = await llm.chat([{"role": "user", "content": prompt}], max_tokens=max_tokens, temperature=0.0)
                    done[key] = {
                        "ok": True,
                        "reply": c.content.strip()[:80],
                        "tokens": c.usage.prompt_tokens + c.usage.completion_tokens,
                    }
                except OpenSeekerError as exc:
                    done[key] = {"ok": False, "reply": str(exc)[:300], "tokens": 0}
                done[key]["latency_s"] = round(time.perf_counter() - t0, 3)
            info = desc[role]
            rows.append(
                {
                    "role": role,
                    "backend": info["backend"],
                    "base_url": info["base_url"],
                    "model": info["model"],
                    **done[key],
                }
            )
    return rows


app = typer.Typer(
    name="llm", help="LLM endpoints: check them (ping) and show the resolved per-role config.", no_args_is_help=True
)


@app.command("ping", epilog=PING_EPILOG)
def ping_cmd(
    llm: LLMOpt = None,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    config: ConfigOpt = None,
    role: Annotated[list[str] | None, typer.Option("--role", help="Only these roles (repeatable).")] = None,
    prompt: Annotated[str, typer.Option(help="The test prompt.")] = "Reply with the word: pong",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Send one small chat call to each configured endpoint and report latency and the reply."""

    cfg = resolve_llm_config(config=config, llm=llm, base_url=base_url, model=model)
    rows = asyncio.run(ping(cfg, role, prompt))
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table("role", "backend", "model", "ok", "latency s", "reply / error")
        for r in rows:
            table.add_row(
                r["role"],
                r["backend"] if r["backend"] == "embedded" else str(r["base_url"]),
                str(r["model"]),
                "yes" if r["ok"] else "[red]NO[/]",
                f"{r['latency_s']:.2f}",
                r["reply"],
            )
        Console().print(table)
    failed = sorted({r["role"] for r in rows if not r["ok"]})
    if failed:
        raise LLMError(f"ping failed for role(s) {', '.join(failed)}")


@app.command("show")
def show_cmd(
    llm: LLMOpt = None,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Print the resolved per-role LLM config (defaults < --config < flags) as JSON; never API keys."""

    cfg = resolve_llm_config(config=config, llm=llm, base_url=base_url, model=model, check_keys=False)
    out = {"roles": cfg.describe(), "cache_dir": cfg.cache_dir, "embedded": cfg.embedded.model_dump()}
    typer.echo(json.dumps(out, ensure_ascii=False, indent=2))


@app.command("cache")
def cache_cmd(
    config: ConfigOpt = None,
    clear: Annotated[bool, typer.Option("--clear", help="Delete every cached response.")] = False,
) -> None:
    """Show where the response cache is and how big it is; --clear empties it."""
    from pathlib import Path

    cfg = resolve_llm_config(config=config, check_keys=False)
    path = Path(cfg.cache_dir) / CACHE_FILE
    if not path.exists():
        typer.echo(f"{path}: no cache yet")
        return
    cache = ResponseCache(cfg.cache_dir)
    try:
        entries = len(cache)
        if clear:
            cache.clear()
    finally:
        cache.close()
    size = sum(p.stat().st_size for p in path.parent.glob(CACHE_FILE + "*"))
    typer.echo(f"{path}: {entries} responses, {size / 1e6:.1f} MB" + (" - cleared" if clear else ""))

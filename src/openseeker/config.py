"""The config file: one YAML with one section per stage, read once, checked in one place.

Why here: the LLM roles, the live web and the agent settings each had their own YAML reader and key checker, and
a fix landed in one and not the others (a ``live:`` section was rejected as a typo by the LLM reader). Now:

- ``read_yaml(path)``: the one reader (a syntax error names the file and line; the result is cached per file
  version, so every stage of one command reads the file once);
- ``load_config(path)``: the root — every top-level key must be a registered section (``SECTIONS``); a stage
  asks for its own section (``ConfigFile.get``), which its registered validator checks (unknown keys are errors
  naming the file and the key). A stage never validates another stage's section (it may not be installed or
  may be written for a newer version of that stage);
- ``layered(defaults, file_section, cli)``: the one precedence rule, CLI > file > defaults (a CLI value of
  ``None`` means "not given");
- ``check_keys`` / ``pydantic_problems``: the one shape of a config error message.

.. code-block:: yaml

    llm:   {default: {base_url: http://localhost:8000/v1, model: Qwen/Qwen3-8B}}   # llm/config.py
    live:  {backend: ddgs}                                                          # web/live/config.py
    agent: {max_tool_calls: 50, protocol: native}                                   # agent/settings.py

A stage that grows a section registers its validator in ``SECTIONS`` (one line, a lazy ``"module:function"``
taking ``(section, source)``); sections without one are reserved names read by their stage.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from openseeker.errors import UserError
from openseeker.registry import Registry

__all__ = [
    "SECTIONS",
    "ConfigFile",
    "check_keys",
    "layered",
    "load_config",
    "pydantic_problems",
    "read_yaml",
    "section_of",
]

# section name -> validator ``(section: dict, source: str) -> Any`` (lazy), or None for a reserved section name
SECTIONS: Registry[Any] = Registry("config section")
SECTIONS.register("llm", "openseeker.llm.config:validate_llm_section")
SECTIONS.register("live", "openseeker.web.live.config:validate_live_section")
SECTIONS.register("agent", "openseeker.agent.settings:validate_agent_section")
for _reserved in ("web", "synth", "qa", "traj", "train", "eval", "serve"):
    SECTIONS.register(_reserved, None)


def _path(path: str | Path) -> Path:
    return Path(path).expanduser()


@lru_cache(maxsize=32)
def _read_cached(path: str, mtime_ns: int, size: int) -> Any:
    import yaml

    p = Path(path)
    try:
        return yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise UserError(f"{p}{where}: invalid YAML: {getattr(exc, 'problem', None) or exc}") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"{p}: not UTF-8 text ({exc.reason})") from None


def read_yaml(path: str | Path) -> dict[str, Any]:
    """The mapping in a YAML config file (a deep copy: callers may edit it). ``UserError`` naming the file (and
    line) when it is missing, not YAML, or not a mapping; an empty file is ``{}``."""
    p = _path(path)
    if not p.is_file():
        raise UserError(f"config file {p} does not exist")
    st = p.stat()
    data = _read_cached(str(p.resolve()), st.st_mtime_ns, st.st_size)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError(f"{p}: a config file must be a mapping of sections (llm:, ...), got {type(data).__name__}")
    return copy.deepcopy(data)


def check_keys(section: Any, allowed: Any, where: str, source: str) -> dict[str, Any]:
    """``section`` as a mapping whose keys are all in ``allowed``; else ``UserError`` naming the file and key."""
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise UserError(f"{source}: {where} must be a mapping, got {type(section).__name__}")
    allowed = list(allowed)
    for key in section:
        if key not in allowed:
            raise UserError(f"{source}: unknown key {where}.{key}; allowed: {', '.join(sorted(map(str, allowed)))}")
    return section


def pydantic_problems(exc: Any, root: str = "") -> str:
    """A pydantic ``ValidationError`` as ``loc: message; ...`` (locations dotted, prefixed by ``root``)."""
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in (root, *err["loc"]) if p != "")
        out.append(f"{loc or '<root>'}: {err['msg']}")
    return "; ".join(out)


def layered(
    defaults: Mapping[str, Any], file_section: Mapping[str, Any] | None = None, cli: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """CLI > file > defaults: the file's keys over the defaults, then the CLI values that were given (not None)."""
    out = dict(defaults)
    out.update(file_section or {})
    out.update({k: v for k, v in (cli or {}).items() if v is not None})
    return out


@dataclass
class ConfigFile:
    """A validated config file: its raw sections and what each stage's validator made of them."""

    path: Path | None
    sections: dict[str, Any] = field(default_factory=dict)
    validated: dict[str, Any] = field(default_factory=dict)

    def section(self, name: str) -> dict[str, Any]:
        """The raw mapping of section ``name`` (``{}`` when absent), checked by its validator."""
        self.get(name)
        return copy.deepcopy(self.sections.get(name) or {})

    def get(self, name: str) -> Any:
        """Section ``name`` as its registered validator makes it (``None`` when the file has no such section)."""
        validator = SECTIONS.get(name)
        body = self.sections.get(name)
        if body is None or validator is None:
            return body
        if name not in self.validated:
            self.validated[name] = validator(body, str(self.path))
        return self.validated[name]


def check_sections(data: dict[str, Any], source: str) -> None:
    """Every top-level key is a registered section (the message names the file and the key)."""
    check_keys(data, SECTIONS.names(), "<top level>", source)


def load_config(path: str | Path | None) -> ConfigFile:
    """Read a config file and check its top-level keys; ``None`` is the empty config. Sections are validated
    when a stage asks for them (``ConfigFile.get`` / ``section``)."""
    if path is None:
        return ConfigFile(None)
    p = _path(path)
    data = read_yaml(p)
    check_sections(data, str(p))
    return ConfigFile(p, sections=data)


def section_of(path: str | Path | None, name: str) -> dict[str, Any]:
    """The raw section ``name`` of a config file after the whole file was checked (``{}`` without a file)."""
    return load_config(path).section(name)

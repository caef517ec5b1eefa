"""The one ``Registry[T]``, and the acceptance of issue 12: a toy importer, a toy search backend and a toy benchmark
each added as one class/function plus one registration line (everything else — format detection, the live config
section, the help text, ``eval`` loading — follows from the registration)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from openseeker.errors import UserError
from openseeker.eval.loaders import BENCHMARKS, BenchmarkSpec, get_spec, load_benchmark, register_benchmark
from openseeker.records import EvalItem, Page, SearchHit
from openseeker.registry import Registry, import_target
from openseeker.web.importers import IMPORTERS, Importer, detect_format, formats_help, get_importer
from openseeker.web.live import LiveWeb
from openseeker.web.live.config import BACKENDS, BackendSettings
from openseeker.web.live.search_backends import SearchBackend


def test_registry_lazy_targets_aliases_and_did_you_mean():
    reg: Registry[type] = Registry("thing")
    reg.register("path", "pathlib:Path", aliases=("p",))
    reg.register("direct", dict)
    assert reg.names() == ["path", "direct"] and "p" in reg and len(reg) == 2
    assert reg.get("p") is Path and reg.get("direct") is dict
    with pytest.raises(UserError, match=r"unknown thing 'pth'\. Did you mean 'path'\? Known: path, direct"):
        reg.get("pth")
    with pytest.raises(UserError, match=r"unknown thing 'zzz'\. Known"):
        reg.check("zzz")
    assert import_target("os.path:join.__name__") == "join"
    with pytest.raises(ValueError, match="module:attr"):
        import_target("os.path")
    reg.unregister("path")
    assert "p" not in reg and reg.names() == ["direct"]


# --- a toy importer: this class + one IMPORTERS.register line ------------------------------------------------
class ToyImporter(Importer):
    """``*.toy``: one ``title<TAB>text`` per line."""

    name = "toy"
    suffixes = (".toy",)
    source_help = "a .toy file (title<TAB>text lines)"

    def records(self) -> Iterator[Page]:
        for i, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), 1):
            self.stats.read += 1
            title, sep, text = line.partition("\t")
            if not sep:
                self.bad("no TAB", line=i)
                continue
            yield Page(url=f"https://toy/{i}", title=title, text=text)


@pytest.fixture
def toy_importer():
    IMPORTERS.register("toy", ToyImporter)
    yield
    IMPORTERS.unregister("toy")


def test_toy_importer_is_detected_built_and_in_the_help(toy_importer, tmp_path):
    from openseeker.web.build import build_web
    from openseeker.web.local import LocalWeb

    src = tmp_path / "corpus.toy"
    src.write_text("Paris\tParis is the capital of France.\nLyon\tLyon is a city on the Rhone.\n", encoding="utf-8")
    assert detect_format(src) == "toy"
    assert "a .toy file" in formats_help()
    assert [p.title for p in get_importer(src)] == ["Paris", "Lyon"]
    build_web(src, tmp_path / "web", progress=False)
    web = LocalWeb.open(tmp_path / "web")
    [hits] = web.search_sync(["capital of France"], top_k=1)
    assert hits[0].title == "Paris"
    web.close()
    bad = tmp_path / "bad.toy"
    bad.write_text("no tab here\n")
    with pytest.raises(UserError, match="bad.toy:1"):
        list(get_importer(bad))


# --- a toy importer whose SOURCE is a name, not a path (as wiki-offline): still one class + one line ----------
class NamedToyImporter(Importer):
    """``named-toy:WORD``: one page per letter of WORD; the SOURCE is checked by its own ``check_exists``."""

    name = "named-toy"
    source_help = "named-toy:WORD"

    @classmethod
    def detect(cls, source: str) -> bool:
        return source.startswith("named-toy:")

    def check_exists(self) -> None:
        if not self.source.partition(":")[2]:
            raise UserError("named-toy: needs a WORD")

    def records(self) -> Iterator[Page]:
        for ch in self.source.partition(":")[2]:
            yield Page(url=f"https://toy/{ch}", title=ch, text=f"the letter {ch}")


def test_get_importer_has_no_special_case_for_named_sources(monkeypatch):
    # get_importer used to skip check_exists for wiki-offline by name; now every importer's own check runs,
    # so a non-path SOURCE needs only its class and one registration line
    IMPORTERS.register("named-toy", NamedToyImporter)
    try:
        assert [p.title for p in get_importer("named-toy:ab")] == ["a", "b"]
        with pytest.raises(UserError, match="needs a WORD"):
            get_importer("named-toy:")
        from openseeker.web.importers.wiki_offline import WikiOfflineImporter

        def missing(self):
            raise UserError("missing from the package")

        monkeypatch.setattr(WikiOfflineImporter, "check_exists", missing)  # wiki-offline's own check runs too
        with pytest.raises(UserError, match="missing from the package"):
            get_importer("wiki-offline")
    finally:
        IMPORTERS.unregister("named-toy")


# --- a toy search backend: this settings class + backend class + one BACKENDS.register line -------------------
class EchoSettings(BackendSettings):
    """The toy backend's own section of the live config (``live.echo:``)."""

    domain: str = "echo.test"


class EchoBackend(SearchBackend):
    """Answers each query with one hit on ``settings.domain`` (no network)."""

    name = "echo"
    settings_class = EchoSettings

    async def search(self, client, query: str, top_k: int) -> list[SearchHit]:
        return [
            SearchHit(
                url=f"https://{self.settings.domain}/{query.replace(' ', '_')}",
                title=query,
                snippet=f"echo of {query}",
            )
        ][:top_k]


@pytest.fixture
def echo_backend():
    BACKENDS.register("echo", EchoBackend)
    yield
    BACKENDS.unregister("echo")


def test_toy_search_backend_gets_its_own_config_section(echo_backend):
    web = LiveWeb.from_config(
        {"backend": "echo", "echo": {"domain": "example.test", "rate_per_s": 0}, "cache": {"path": None}}
    )
    try:
        [hits] = asyncio.run(web.search(["hello world"], top_k=3))
    finally:
        web.close()
    assert [h.url for h in hits] == ["https://example.test/hello_world"]
    assert web.config.backend_settings().domain == "example.test"
    with pytest.raises(UserError, match=r"echo\.domian: Extra inputs"):
        LiveWeb.from_config({"backend": "echo", "echo": {"domian": "x"}})
    with pytest.raises(UserError, match="Did you mean 'echo'"):
        LiveWeb.from_config({"backend": "ecko"})


# --- a toy benchmark: this loader function + one register_benchmark line -------------------------------------
def load_toy(path: Path) -> Iterator[EvalItem]:
    for row in json.loads(path.read_text(encoding="utf-8")):
        yield EvalItem(id=str(row["id"]), question=row["q"], answers=[row["a"]])


@pytest.fixture
def toy_benchmark():
    register_benchmark(BenchmarkSpec("toy-bench", f"{__name__}:load_toy", description="a toy", aliases=("tb",)))
    yield
    BENCHMARKS.unregister("toy-bench")


def test_toy_benchmark_loads_by_name_and_alias(toy_benchmark, tmp_path):
    data = tmp_path / "toy.json"
    data.write_text(json.dumps([{"id": 1, "q": "2+2?", "a": "4"}, {"id": 2, "q": "3+3?", "a": "6"}]))
    assert get_spec("TB").name == "toy-bench"
    items = load_benchmark("toy-bench", data, limit=1)
    assert [(i.id, i.answers) for i in items] == [("1", ["4"])]
    with pytest.raises(UserError, match="Did you mean 'toy-bench'"):
        get_spec("toy-bnch")
    with pytest.raises(UserError, match="has no default file"):
        load_benchmark("toy-bench")

"""The page in headless Chromium (Playwright driving the system binary): every view on real pipeline outputs,
clicked through — a QA sample (graph, substitutions, cited page), a rejection reason and its example, a
trajectory step and the H_t / raw switch, an eval item and two runs side by side — with no console errors, over
the live server and from a static export opened as file://. Screenshots are saved (see ``shots``)."""

from __future__ import annotations

from pathlib import Path

from openseeker.view.data import Catalog
from openseeker.view.export import export_site
from openseeker.view.server import ViewServer


class Page:
    """A browser tab that records console errors and failed requests, and waits for the app to finish."""

    def __init__(self, ctx, shots: Path, prefix: str):
        self.page = ctx.new_page()
        self.errors: list[str] = []
        self.shots, self.prefix = shots, prefix
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("requestfailed", lambda r: self.errors.append(f"request failed: {r.url}"))

    def ready(self) -> None:
        self.page.wait_for_function("document.body.dataset.ready === '1'", timeout=15000)
        err = self.page.query_selector("[data-testid=error]")
        assert err is None, err.inner_text()

    def goto(self, url: str) -> None:
        self.page.goto(url)
        self.ready()

    def click(self, selector: str) -> None:
        self.page.click(selector)
        self.ready()

    def shot(self, name: str, full_page: bool = True) -> None:
        self.page.screenshot(path=str(self.shots / f"{self.prefix}-{name}.png"), full_page=full_page)

    def text(self, selector: str) -> str:
        return self.page.inner_text(selector)


def walk_through(p: Page, base: str) -> None:
    """The acceptance click-through, shared by the live and the static page."""
    from playwright.sync_api import expect  # the browser fixture skipped already when playwright is missing

    p.goto(base)
    p.shot("home")
    p.click("[data-testid^=ds-qa-]")
    expect(p.page.locator("[data-testid=row]").first).to_be_attached()
    p.page.select_option("[data-testid=filter-language]", "en")
    p.ready()
    p.page.wait_for_function("location.hash.includes('f.language=en')")
    p.ready()
    p.shot("qa-list")
    p.click("[data-testid=row] >> nth=0")
    # the subgraph is drawn (cytoscape canvas), the chain highlighted, substitutions marked on both sides
    p.page.wait_for_selector("[data-testid=graph] canvas")
    n_chain = p.page.evaluate("document.querySelector('[data-testid=graph]')._cy.nodes('.chain').length")
    assert n_chain >= 2
    expect(p.page.locator("[data-testid=q-init] mark.from").first).to_be_attached()
    expect(p.page.locator("[data-testid=q-final] mark.to").first).to_be_attached()
    p.page.click("[data-testid=cite] >> nth=0")
    p.page.wait_for_selector("[data-testid=page-text] mark.cite")
    expect(p.page.locator("[data-testid=verification]")).to_have_count(1)
    p.shot("qa-sample")

    p.click("#crumbs a >> nth=0")
    p.click("[data-testid=to-yield]")
    p.page.wait_for_selector("[data-testid=funnel] svg")
    p.shot("yield")
    bar = p.page.locator("[data-testid=reasons] g.clickable").first
    label = bar.get_attribute("data-testid")[len("bar-") :]
    stage, reason = label.split(": ")
    bar.click()
    p.page.wait_for_function(f"location.hash.includes('f.reason={reason}')")
    p.ready()
    rows = p.page.locator("[data-testid=row]")
    expect(rows.first).to_be_attached()
    assert rows.count() >= 1 and all(reason in rows.nth(k).inner_text() for k in range(rows.count()))
    p.click("[data-testid=row] >> nth=0")
    assert reason in p.text("[data-testid=rejection]") and stage in p.text("[data-testid=rejection]")
    p.shot("rejection")

    p.goto(base)
    p.click("[data-testid=ds-traj-trajectories-teacher-jsonl]")
    p.click("[data-testid=row] >> nth=0")
    steps = p.page.locator("[data-testid=step]")
    expect(steps.nth(1)).to_be_attached()
    assert steps.count() >= 2
    steps.nth(0).locator(".step-head").click()
    assert "open" in steps.nth(0).get_attribute("class")
    expect(p.page.locator("[data-testid=obs-summary]")).to_have_count(0)
    raw_text = p.page.locator("[data-testid=obs-raw]").first.inner_text()
    p.click("[data-testid=mode-teacher]")
    # the switch re-renders the steps: wait for it (Playwright's expect retries until the count holds)
    expect(p.page.locator("[data-testid=obs-summary]").first).to_be_visible()
    expect(p.page.locator("[data-testid=obs-summary]").first).to_be_attached()
    assert p.page.locator("[data-testid=obs-summary]").first.inner_text() != raw_text
    p.shot("trajectory-teacher")
    p.click("[data-testid=mode-raw]")
    expect(p.page.locator("[data-testid=obs-summary]")).to_have_count(0)
    p.shot("trajectory-raw")

    p.goto(base)
    p.click("[data-testid=ds-eval-eval]")
    p.page.wait_for_selector("[data-testid=hist-tools] svg rect")
    assert "Accuracy" in p.text("[data-testid=eval-summary]")
    p.shot("eval")
    p.click("[data-testid=row] >> nth=0")
    expect(p.page.locator("[data-testid=eval-item]")).to_have_count(1)
    expect(p.page.locator("[data-testid=step]").first).to_be_attached()  # the item's trajectory, one click away
    p.shot("eval-item")
    p.click("#crumbs a >> nth=0")
    p.page.select_option("[data-testid=compare-select]", "eval-eval-b")
    p.page.wait_for_selector("[data-testid=flips]")
    p.ready()
    expect(p.page.locator("[data-testid=flips] tbody tr").first).to_be_attached()
    assert "flipped" in p.text("[data-testid=flip-summary]")
    p.shot("compare")

    p.goto(base)
    p.click("[data-testid^=ds-sft-]")
    p.click("[data-testid=row] >> nth=0")
    expect(p.page.locator("[data-testid=messages] .msg.tool").first).to_be_attached()
    p.shot("sft")
    assert p.errors == [], p.errors


def test_live_page(run_dir, browser, shots):
    cat = Catalog.open([run_dir])
    cat.warm(background=True)  # as the CLI does: pages are served while the rows are indexed
    with ViewServer(cat, port=0) as srv:
        walk_through(Page(browser, shots, "live"), srv.url)


def test_static_export_opens_from_disk(run_dir, browser, shots, tmp_path):
    site = tmp_path / "site"
    export_site(Catalog.open([run_dir]), site, progress=False)
    walk_through(Page(browser, shots, "static"), (site / "index.html").resolve().as_uri())


def test_bad_route_shows_a_message(run_dir, browser, shots):
    with ViewServer(Catalog.open([run_dir]), port=0) as srv:
        p = Page(browser, shots, "errors")
        p.page.goto(srv.url + "#/ds/nope")
        p.page.wait_for_function("document.body.dataset.ready === '1'")
        assert "no dataset" in p.text("[data-testid=error]")


def test_long_trajectory_renders_incrementally(run_dir, browser, shots, tmp_path):
    """A 200-step trajectory: the first 40 steps render at once, the rest on scroll or on "go to step"; j / k
    step through records."""
    import json

    from playwright.sync_api import expect

    base = [json.loads(x) for x in (run_dir / "trajectories.teacher.jsonl").read_text().splitlines() if x.strip()]
    steps = [s for t in base for s in t["steps"] if s["tool_calls"]]
    long = dict(base[0], id="long", steps=[dict(steps[k % len(steps)], index=k) for k in range(200)])
    (tmp_path / "long.jsonl").write_text(json.dumps(long) + "\n" + json.dumps(base[1]) + "\n")
    with ViewServer(Catalog.open([tmp_path / "long.jsonl"]), port=0) as srv:
        p = Page(browser, shots, "long")
        p.goto(srv.url + "#/ds/traj-long-jsonl/0")
        expect(p.page.locator("[data-testid=step]")).to_have_count(40)
        p.page.fill("[data-testid=goto-step]", "150")
        p.page.press("[data-testid=goto-step]", "Enter")
        card = p.page.locator("[data-testid=step][data-index='150']")
        card.wait_for()
        assert "sel" in card.get_attribute("class")
        p.page.wait_for_function("""() => { const r = document.querySelector("[data-testid=step][data-index='150']")
            .getBoundingClientRect(); return r.top >= 36 && r.top < innerHeight / 2; }""")  # in view, below the header
        p.shot("trajectory-step-150", full_page=False)  # off-screen cards are not painted (content-visibility)
        assert p.page.locator("[data-testid=step]").count() >= 151
        import time

        deadline = time.monotonic() + 30  # a loaded machine renders slowly: poll, do not assume a pace
        while p.page.locator("[data-testid=step]").count() < 200 and time.monotonic() < deadline:
            p.page.evaluate("window.scrollTo(0, document.body.scrollHeight)")  # scrolling down renders the rest
            p.page.wait_for_timeout(200)
        expect(p.page.locator("[data-testid=step]")).to_have_count(200)
        p.page.evaluate("document.activeElement.blur()")  # keys typed into the step box are not shortcuts
        p.page.keyboard.press("j")
        p.page.wait_for_function("location.hash.endsWith('/1')")
        expect(p.page.locator("[data-testid=traj-question]")).to_contain_text(
            base[1]["question"]
        )  # renders after the hash moves
        p.ready()
        assert p.errors == [], p.errors


def test_code_exec_steps_show_the_command_and_its_output(browser, shots, tmp_path):
    """An OpenSeeker-v2 step: the command as written (a Python heredoc), then its exit code, stdout and stderr
    unescaped from the ``<shell_results>`` the model read; a failing call shows its stderr."""
    import json

    from openseeker.records import Step, ToolCall, Trajectory
    from openseeker.sandbox.tool import format_shell_results

    script = "python - <<'PY'\nprint(sum(x * x for x in (3, 4, 5)), '<&>')\nPY"
    calls = [
        ToolCall(id="a", name="code_exec", arguments={"cmd": script}),
        ToolCall(id="b", name="code_exec", arguments={"cmd": "cat nope"}),
    ]
    obs = [
        format_shell_results(0, "50 <&>\n", ""),
        format_shell_results(1, "", "cat: nope: No such file or directory\n"),
    ]
    traj = Trajectory(
        id="code",
        question="Sum of squares?",
        steps=[Step(index=0, tool_calls=calls, observations=obs), Step(index=1, content="\\boxed{50}")],
        final_answer="50",
        stop_reason="answered",
        num_tool_calls=2,
        num_turns=2,
    )
    (tmp_path / "code.jsonl").write_text(json.dumps(traj.model_dump(mode="json")) + "\n")
    with ViewServer(Catalog.open([tmp_path / "code.jsonl"]), port=0) as srv:
        p = Page(browser, shots, "code")
        p.goto(srv.url + "#/ds/traj-code-jsonl/0")
        p.page.click("[data-testid=step][data-index='0'] .step-head")
        cmds = p.page.locator("[data-testid=code-cmd]")
        assert cmds.nth(0).inner_text() == script
        assert p.page.locator("[data-testid=code-stdout]").nth(0).inner_text() == "50 <&>\n"
        assert p.page.locator("[data-testid=code-exit]").nth(1).inner_text() == "exit code 1"
        assert "No such file" in p.page.locator("[data-testid=code-stderr]").nth(0).inner_text()
        assert p.page.locator("[data-testid=obs-raw]").count() == 0  # no raw XML beside the readable view
        p.shot("trajectory-code")
        assert p.errors == [], p.errors

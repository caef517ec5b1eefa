"""Live-web counters (calls, cache hits, errors, blocked, cost) reach the evaluation report."""

from openseeker.eval.report import render_markdown, summarize


def test_web_stats_in_report_and_markdown():
    records = [
        {
            "id": "q1",
            "run": 0,
            "benchmark": "synth",
            "language": "en",
            "category": "",
            "correct": True,
            "stop_reason": "answered",
            "num_tool_calls": 2,
            "num_turns": 3,
            "tool_calls": {"search": 2},
            "tokens": {"prompt": 10, "completion": 5, "total": 15},
            "wall_s": 1.0,
            "verdict": None,
        }
    ]
    stats = {
        "serper": {
            "requests": 3,
            "calls": 4,
            "hits": 1,
            "misses": 3,
            "errors": 1,
            "retries": 1,
            "blocked": 0,
            "cost_usd": 0.004,
        }
    }
    report = summarize(records, {"web_stats": stats})
    assert report["web_stats"] == stats
    md = render_markdown(report)
    assert "## Web backend counters" in md and "| serper | 3 | 4 | 1 | 3 | 1 | 1 | 0 | 0.004 |" in md
    assert "## Web backend counters" not in render_markdown(summarize(records, {}))

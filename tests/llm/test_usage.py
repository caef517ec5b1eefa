"""One usage accounting: ``UsageMeter`` and the ``metering`` scope secondary calls report into."""

from __future__ import annotations

import asyncio

from openseeker.llm.usage import UsageMeter, metering, record_usage
from openseeker.records import Usage
from openseeker.synth.qa.llmcall import Meter


def test_meter_adds_per_key_and_snapshots_are_copies():
    m = UsageMeter(("teacher",))
    m.add("teacher", Usage(prompt_tokens=3, completion_tokens=1, calls=1))
    m.add("judge", Usage(prompt_tokens=2, calls=1))
    snap = m.snapshot()
    m.add("teacher", Usage(prompt_tokens=10, calls=1))
    assert snap["teacher"].prompt_tokens == 3 and m.by_key["teacher"].prompt_tokens == 13
    assert m.total().calls == 3 and m.total().prompt_tokens == 15


def test_record_usage_reaches_the_enclosing_meter_only():
    record_usage("extractor", Usage(calls=1))  # no meter open: dropped, no error

    async def rollout(meter: UsageMeter, n: int) -> None:
        with metering(meter):
            await asyncio.sleep(0)
            await asyncio.gather(
                *(asyncio.sleep(0, result=record_usage("extractor", Usage(calls=1))) for _ in range(n))
            )

    async def main() -> tuple[UsageMeter, UsageMeter]:
        a, b = UsageMeter(), UsageMeter()
        await asyncio.gather(rollout(a, 2), rollout(b, 3))  # concurrent rollouts keep their own meters
        return a, b

    a, b = asyncio.run(main())
    assert a.by_key["extractor"].calls == 2 and b.by_key["extractor"].calls == 3


def test_qa_meter_is_a_usage_meter_per_stage():
    m = Meter()
    m.add("generate", Usage(prompt_tokens=5))  # a reply without usage still counts as one call
    assert isinstance(m, UsageMeter) and m.stages["generate"].calls == 1
    assert m.to_dict()["per_stage"]["generate"]["prompt_tokens"] == 5

"""Unit tests of each QA-synthesis stage: real HTTP to ScriptedChatServer through the llm helper's client."""

from __future__ import annotations

import asyncio
import json
import random

import pytest

from openseeker.errors import UserError
from openseeker.llm.config import endpoint_config
from openseeker.llm.pool import LLMPool
from openseeker.synth.qa import prompts
from openseeker.synth.qa.controls import QAControls
from openseeker.synth.qa.entities import build_entity_graph, chains_to_answer
from openseeker.synth.qa.expand import expand, get_selector
from openseeker.synth.qa.generate import Generated, StageFailure, generate_question, validate_chain
from openseeker.synth.qa.llmcall import Meter
from openseeker.synth.qa.obfuscate import bucket_numbers, obfuscate, substitute
from openseeker.synth.qa.sampling import sample_seeds
from openseeker.synth.qa.text import grounding
from openseeker.synth.qa.verify import (
    Deduper,
    check_difficulty,
    check_leaks,
    check_solvability,
    difficulty_label,
    normalized_match,
)
from openseeker.testing.chat_server import Reply, ScriptedChatServer
from openseeker.testing.qa_oracle import Oracle, W, tiny_world

RAY = W + "Ray_Charles"


def run(coro):
    return asyncio.run(coro)


async def _with_role(server, fn, role="generator"):
    cfg = endpoint_config(server.base_url, "scripted", cache=False, max_retries=0)
    async with LLMPool(cfg) as pool:
        return await fn(pool.role(role), pool)


# ----------------------------------------------------------------------------- 1. seeds


def test_seed_sampling_is_reproducible_and_filtered():
    g = tiny_world()
    a = [p.url for p in sample_seeds(g, 5, seed=7)]
    b = [p.url for p in sample_seeds(g, 5, seed=7)]
    c = [p.url for p in sample_seeds(g, 5, seed=8)]
    assert a == b and a != c
    music = sample_seeds(g, 10, seed=1, topic="Music")
    assert {p.topic for p in music} == {"Music"} and len(music) == 4
    hubs = sample_seeds(g, 10, seed=1, min_out_degree=2)
    assert hubs and all(len(g.out_links(p.url)) >= 2 for p in hubs)
    with pytest.raises(UserError, match="topic='Cooking'"):
        sample_seeds(g, 3, seed=1, topic="Cooking")


# ----------------------------------------------------------------------------- 2. expansion


def test_expansion_respects_k_and_depth_and_records_edges():
    g = tiny_world()
    seed = g.get(RAY)
    sub = run(expand(g, seed, k=4, depth=2, selector="random", rng=random.Random(3)))
    assert sub.urls[0] == RAY and len(sub.urls) <= 5
    assert max(sub.hops.values()) <= 2 and sub.hops[RAY] == 0
    assert all((a, b) in sub.edges or (b, a) in sub.edges for a, b in sub.tree)
    assert all(a in sub.urls and b in sub.urls for a, b in sub.edges)
    again = run(expand(g, seed, k=4, depth=2, selector="random", rng=random.Random(3)))
    assert again.urls == sub.urls
    one_hop = run(expand(g, seed, k=1, depth=1, selector="relevance", rng=random.Random(0)))
    assert len(one_hop.urls) == 2 and one_hop.hops[one_hop.urls[1]] == 1


def test_relevance_selector_prefers_related_pages():
    g = tiny_world()
    sub = run(expand(g, g.get(W + "Georgia_on_My_Mind"), k=1, depth=1, selector="relevance", rng=random.Random(0)))
    assert sub.urls[1] == W + "Georgia_(U.S._state)"  # shares the seed's title term "Georgia"
    sub = run(expand(g, g.get(W + "Hoagy_Carmichael"), k=1, depth=1, selector="relevance", rng=random.Random(0)))
    assert sub.urls[1] == W + "Stardust"  # its text names Hoagy Carmichael; Indiana's does not


def test_unknown_selector_suggests_a_name():
    with pytest.raises(UserError, match="(?i)did you mean 'random'"):
        get_selector("randm")
    with pytest.raises(UserError):
        QAControls(selector="bogus")


def test_llm_selector_over_http_and_fallback_on_malformed_json():
    g = tiny_world()
    with ScriptedChatServer([Reply(content='{"picks": [2]}')]) as srv:
        sub = run(
            _with_role(
                srv,
                lambda llm, _p: expand(
                    g, g.get(RAY), k=1, selector="llm", llm=llm, rng=random.Random(0), meter=Meter()
                ),
            )
        )
        assert len(sub.urls) == 2 and not sub.notes
        assert "We are writing a puzzle" in srv.requests[0]["messages"][-1]["content"]
        assert srv.requests[0]["response_format"]["type"] == "json_schema"
    with ScriptedChatServer(default=Reply(content="I pick the second one!")) as srv:
        sub = run(
            _with_role(
                srv,
                lambda llm, _p: expand(
                    g, g.get(RAY), k=1, selector="llm", llm=llm, rng=random.Random(0), meter=Meter()
                ),
            )
        )
        assert len(sub.urls) == 2 and "fell back to relevance" in sub.notes[0]


# ----------------------------------------------------------------------------- 3. entities


def _subgraph(k=3, seed_url=RAY):
    g = tiny_world()
    return run(expand(g, g.get(seed_url), k=k, depth=1, selector="relevance", rng=random.Random(0)))


def test_entity_graph_keeps_links_cites_pages_and_drops_hallucinations():
    sub = _subgraph()
    oracle = Oracle()
    with ScriptedChatServer(oracle.reply) as srv:
        meter = Meter()
        eg, log = run(_with_role(srv, lambda llm, _p: build_entity_graph(llm, sub, facts=4, meter=meter)))
    assert eg.nodes[eg.answer].name == "Ray Charles" and eg.nodes[eg.answer].is_answer
    assert "zorblax institute" not in eg.nodes  # the oracle's invented entity is not in any page
    assert eg.stats["name_not_in_page"] >= len(sub.urls)
    for node in eg.nodes.values():
        for fact in node.facts:
            page = sub.pages[fact.url]
            assert fact.url in sub.urls and grounding(fact.text, page.title + ". " + page.text) >= 0.8
    link_edges = [e for e in eg.edges if e.kind == "link"]
    assert len(link_edges) == len(sub.edges)
    assert "albany" in eg.nodes  # extracted entity hanging off its page entity
    assert chains_to_answer(eg, 2, 3)
    assert meter.stages["extract"].calls == len(sub.urls)


def test_malformed_extraction_is_counted_and_lead_facts_remain():
    sub = _subgraph()
    with ScriptedChatServer(default=Reply(content="entities: Ray, Georgia")) as srv:
        eg, log = run(_with_role(srv, lambda llm, _p: build_entity_graph(llm, sub, facts=3, retries=1)))
        assert len(srv.requests) == 2 * len(sub.urls)  # one retry per page
    assert eg.stats["malformed_pages"] == len(sub.urls) and eg.stats["kept"] == 0
    assert all(f.by == "lead" for n in eg.nodes.values() for f in n.facts)
    assert all(entry["error"] == "malformed_json" for entry in log.values())


# ----------------------------------------------------------------------------- 4. question generation


def _entity_graph(oracle=None):
    sub = _subgraph()
    with ScriptedChatServer((oracle or Oracle()).reply) as srv:
        eg, _ = run(_with_role(srv, lambda llm, _p: build_entity_graph(llm, sub, facts=4)))
    return eg


def test_generation_returns_a_validated_chain():
    eg = _entity_graph()
    oracle = Oracle()
    with ScriptedChatServer(oracle.reply) as srv:
        gen = run(
            _with_role(
                srv,
                lambda llm, _p: generate_question(
                    llm, eg, min_hops=2, max_hops=3, rng=random.Random(1), meter=Meter()
                ),
            )
        )
        schema = srv.requests[0]["response_format"]["json_schema"]["schema"]
    assert isinstance(gen, Generated)
    assert len(gen.chain) >= 2 and gen.chain_ids[-1] == eg.answer
    slots = schema["properties"]["chain"]["prefixItems"]  # a path of 3 names = 2 edges, ending at the answer
    assert len(slots) == 3 and slots[-1]["enum"] == ["Ray Charles"]
    assert all(eg.nodes[n].name in slot["enum"] for n, slot in zip(gen.chain_ids, slots))
    assert validate_chain(eg, [f"{a} -> {b}" for a, b in gen.chain], 2)[0] is None


def test_generation_rejects_a_too_short_chain_and_malformed_json():
    eg = _entity_graph()
    with ScriptedChatServer(Oracle(short_chain=True).reply) as srv:
        fail = run(
            _with_role(
                srv,
                lambda llm, _p: generate_question(
                    llm, eg, min_hops=2, max_hops=3, rng=random.Random(1), meter=Meter(), retries=1
                ),
            )
        )
        assert len(srv.requests) == 2
    assert isinstance(fail, StageFailure) and (fail.stage, fail.reason) == ("generate", "chain_too_short")
    with ScriptedChatServer(default=Reply(content="Question: who? Chain: none")) as srv:
        fail = run(
            _with_role(
                srv,
                lambda llm, _p: generate_question(
                    llm, eg, min_hops=2, max_hops=3, rng=random.Random(1), meter=Meter(), retries=0
                ),
            )
        )
    assert isinstance(fail, StageFailure) and fail.reason == "malformed_json" and fail.detail["raw"]


def test_validate_chain_reasons():
    eg = _entity_graph()
    path = chains_to_answer(eg, 2, 2)[0]
    names = [eg.nodes[n].name for n in path]
    assert validate_chain(eg, [f"{names[0]} -> {names[1]}", f"{names[1]} -> {names[2]}"], 2)[0] is None
    assert validate_chain(eg, [f"{names[1]} -> {names[2]}"], 2)[0] == "chain_too_short"
    assert validate_chain(eg, [f"{names[0]} -> {names[1]}"], 1)[0] == "chain_misses_answer"
    assert validate_chain(eg, ["Zorblax -> Ray Charles"], 2)[0] == "chain_unknown_edge"
    assert validate_chain(eg, [], 2)[0] == "chain_missing"
    assert validate_chain(eg, names, 2)[0] is None  # a path of names
    assert validate_chain(eg, names[1:], 2)[0] == "chain_too_short"
    assert validate_chain(eg, [names[0], names[2]], 1)[0] == "chain_unknown_edge"  # not adjacent


# ----------------------------------------------------------------------------- 5-6. obfuscation


def test_bucketing_and_substitution():
    assert (
        bucket_numbers("born in 1930, sold 25,000 copies and 7 songs")
        == "born in the early 1930s, sold about 30,000 copies and 7 songs"
    )
    assert bucket_numbers("1968年上映", "zh") == "1960年代上映"
    assert (
        substitute("Who sang of Georgia (U.S. state) and georgia?", {"Georgia (U.S. state)": "a state"})
        == "Who sang of a state and a state?"
    )


def test_obfuscation_strengths():
    eg = _entity_graph()
    oracle = Oracle()
    with ScriptedChatServer(oracle.reply) as srv:

        async def both(llm, _p):
            gen = await generate_question(llm, eg, min_hops=2, max_hops=3, rng=random.Random(1), meter=Meter())
            none = await obfuscate(llm, eg, gen, strength=0, lang="en", rng=random.Random(1), meter=Meter())
            one = await obfuscate(llm, eg, gen, strength=1, lang="en", rng=random.Random(1), meter=Meter())
            return gen, none, one

        gen, none, one = run(_with_role(srv, both))
    assert none.question == gen.q_init and none.mapping == {}
    assert one.mapping and one.detail["method"] == "llm"
    for name in one.mapping:
        assert check_leaks(one.question, "Ray Charles", [name]) is None
    assert one.question != gen.q_init


def test_description_naming_the_entity_falls_back_or_rejects():
    eg = _entity_graph()
    gen = Generated(
        q_init="Which singer recorded a song about Georgia, home of Atlanta?",
        chain=[["Atlanta", "Georgia (U.S. state)"], ["Georgia (U.S. state)", "Ray Charles"]],
        chain_ids=["atlanta", "georgia u s state", "ray charles"],
    )
    leaky = Reply(content='{"description": "Atlanta, a big city"}')
    with ScriptedChatServer(default=leaky) as srv:
        fail = run(
            _with_role(
                srv,
                lambda llm, _p: obfuscate(
                    llm, eg, gen, strength=1, lang="en", rng=random.Random(0), meter=Meter(), retries=0
                ),
            )
        )
    assert isinstance(fail, StageFailure) and fail.reason == "entity_obfuscation_failed"
    assert fail.detail["error"] == "description_names_entity"


def test_chinese_prompts_are_used_for_zh():
    msgs = prompts.render("generate", "zh", facts="- x", answer="A", chain="B -> A")
    assert "写一个答案是" in msgs[1]["content"] and prompts.prompt_version("generate", "zh").endswith("-zh")
    assert "Escríbelo" in prompts.render("generate", "es", facts="- x", answer="A", chain="B -> A")[1]["content"]


# ----------------------------------------------------------------------------- verification


def test_leak_checks():
    assert check_leaks("Which singer from Albany recorded it?", "Ray Charles", ["Albany"]).reason == "entity_leak"
    assert check_leaks("Is it ray charles?", "Ray Charles", []).reason == "answer_leak"
    assert check_leaks("Which state's capital hosted it?", "Georgia (U.S. state)", []) is None
    assert check_leaks("Which Georgia city?", "Georgia (U.S. state)", []).reason == "answer_leak"  # short form


def test_deduper_and_normalized_match():
    d = Deduper(threshold=0.6)
    d.add("a", "Which composer born in Indiana wrote a song that became a state song?")
    dup = d.check("Which composer, born in Indiana, wrote a song that became a state song?")
    assert dup.reason == "near_duplicate"
    assert d.check("Which physicist born in Warsaw won a prize in 1903?") is None
    assert normalized_match("ray charles.", ["Ray Charles"]) and normalized_match("It is Ray Charles", ["Ray Charles"])
    assert not normalized_match("Charles Darwin", ["Ray Charles"])


def test_difficulty_and_solvability_over_http_with_judge():
    eg = _entity_graph()
    q = "Which singer recorded a song about a southern state?"
    oracle = Oracle(closed_book_knows=True)
    oracle.answers[q] = "Ray Charles"
    with ScriptedChatServer(oracle.reply) as srv:

        async def go(_llm, pool):
            v, j = pool.role("verifier"), pool.role("judge")
            hard = await check_difficulty(
                v, j, q, "Ray Charles", attempts=2, rng=random.Random(0), meter=Meter(), judge_mode="llm"
            )
            auto = await check_difficulty(v, j, q, "Ray Charles", attempts=2, rng=random.Random(0), meter=Meter())
            solv = await check_solvability(v, j, q, eg, rng=random.Random(0), meter=Meter())
            return hard, auto, solv

        calls_before = oracle.calls.get("judge", 0)
        (fail, detail), (afail, adetail), (sfail, sdetail) = run(_with_role(srv, go))
    assert fail.reason == "closed_book_answerable" and detail["attempts"][0]["method"] == "llm"
    assert afail.reason == "closed_book_answerable" and adetail["attempts"][0]["method"] == "normalized"
    assert oracle.calls["judge"] - calls_before == 1  # auto: an exact match needs no judge call
    assert detail["attempts"][0]["raw"] and sfail is None and sdetail["correct"]
    oracle2 = Oracle(solvable=False)
    with ScriptedChatServer(oracle2.reply) as srv:

        async def go2(_llm, pool):
            v, j = pool.role("verifier"), pool.role("judge")
            hard = await check_difficulty(v, j, q, "Ray Charles", attempts=3, rng=random.Random(0), meter=Meter())
            solv = await check_solvability(v, j, q, eg, rng=random.Random(0), meter=Meter())
            return hard, solv

        (fail, detail), (sfail, sdetail) = run(_with_role(srv, go2))
    assert fail is None and len(detail["attempts"]) == 3
    assert sfail.reason == "unsolvable_with_subgraph" and sdetail["response"] == "Zorblax"


def test_difficulty_label_orders_by_hardness():
    easy = difficulty_label(chain_len=2, k=2, depth=1, strength=0, closed_book_f1=[0.5])
    hard = difficulty_label(chain_len=4, k=6, depth=2, strength=2, closed_book_f1=[0.0])
    assert easy["label"] == "easy" and hard["label"] == "hard" and hard["score"] > easy["score"]


def test_controls_validation():
    with pytest.raises(UserError, match="min_hops"):
        QAControls(min_hops=1)
    with pytest.raises(UserError, match="obfuscation"):
        QAControls(obfuscation=3)
    assert QAControls(k=4).fingerprint() != QAControls(k=5).fingerprint()


def test_zh_question_on_english_facts_is_not_held_to_lexical_grounding():
    eg = _entity_graph()
    reply = (
        '{"question": "哪位歌手录制了一首关于某个州的歌，而这个州的首府举办过奥运会？", '
        '"chain": ["Atlanta", "Georgia (U.S. state)", "Ray Charles"]}'
    )
    with ScriptedChatServer(default=Reply(content=reply)) as srv:
        gen = run(
            _with_role(
                srv,
                lambda llm, _p: generate_question(
                    llm, eg, min_hops=2, max_hops=2, lang="zh", rng=random.Random(1), meter=Meter(), retries=0
                ),
            )
        )
        assert "写一个答案是" in srv.requests[0]["messages"][-1]["content"]
    assert isinstance(gen, Generated) and gen.q_init.startswith("哪位歌手")
    generic = (
        '{"question": "Which of the following statements is true?", '
        '"chain": ["Atlanta", "Georgia (U.S. state)", "Ray Charles"]}'
    )
    with ScriptedChatServer(default=Reply(content=generic)) as srv:
        fail = run(
            _with_role(
                srv,
                lambda llm, _p: generate_question(
                    llm, eg, min_hops=2, max_hops=2, rng=random.Random(1), meter=Meter(), retries=0
                ),
            )
        )
    assert isinstance(fail, StageFailure) and fail.reason == "question_not_grounded"
    english = (
        '{"question": "Which singer recorded a song about a state whose capital hosted the Olympics?", '
        '"chain": ["Atlanta", "Georgia (U.S. state)", "Ray Charles"]}'
    )
    with ScriptedChatServer(default=Reply(content=english)) as srv:
        fail = run(
            _with_role(
                srv,
                lambda llm, _p: generate_question(
                    llm, eg, min_hops=2, max_hops=2, lang="zh", rng=random.Random(1), meter=Meter(), retries=0
                ),
            )
        )
    assert isinstance(fail, StageFailure) and fail.reason == "wrong_language"


def test_solvability_control_rejects_a_verifier_that_ignores_the_question():
    from openseeker.synth.qa.verify import decoy_question

    eg = _entity_graph()
    far = chains_to_answer(eg, 2, 2)[0][0]
    dq, gold = decoy_question(eg, far)
    assert gold == eg.nodes[far].name and "X" in dq and eg.nodes[far].name not in dq
    q = "Which singer recorded a song about a southern state?"
    with ScriptedChatServer(default=Reply(content='{"answer": "Ray Charles"}')) as srv:

        async def go(_llm, pool):
            return await check_solvability(
                pool.role("verifier"),
                None,
                q,
                eg,
                rng=random.Random(0),
                meter=Meter(),
                judge_mode="normalized",
                far=far,
            )

        fail, detail = run(_with_role(srv, go))
        assert len(srv.requests) == 2 and dq in srv.requests[1]["messages"][-1]["content"]
    assert fail.reason == "verifier_ignores_question" and detail["control"]["answered_the_answer"]
    with ScriptedChatServer(
        [Reply(content='{"answer": "Ray Charles"}'), Reply(content=json.dumps({"answer": gold}))]
    ) as srv:

        async def go2(_llm, pool):
            return await check_solvability(
                pool.role("verifier"),
                None,
                q,
                eg,
                rng=random.Random(0),
                meter=Meter(),
                judge_mode="normalized",
                far=far,
            )

        fail, detail = run(_with_role(srv, go2))
    assert fail is None and detail["correct"] and not detail["control"]["answered_the_answer"]

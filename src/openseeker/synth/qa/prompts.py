"""Prompts of QA synthesis (METHOD.md section 2), as versioned UPPER_CASE constants.

The paper does not publish its prompts (**ours**). They are deliberately short: the embedded default model
(SmolLM2-135M) follows short instructions with a JSON-schema-constrained output far better than long ones.
Every prompt that writes text for the final question exists in English and Chinese; other languages use the
English prompt plus ``LANG_INSTRUCTIONS[lang]`` (the model is told to write in the target language).

Bump a prompt's entry in ``PROMPT_VERSIONS`` whenever its text changes: the version is stored in every sample.
"""

from __future__ import annotations

PROMPT_VERSIONS = {
    "select_hop": "select_hop/v1",
    "extract": "extract/v1",
    "generate": "generate/v2",
    "obfuscate_entity": "obfuscate_entity/v2",
    "obfuscate_question": "obfuscate_question/v1",
    "verify_closed_book": "verify_closed_book/v1",
    "verify_with_graph": "verify_with_graph/v1",
}

LANG_NAMES = {"en": "English", "zh": "Chinese", "es": "Spanish", "fr": "French", "de": "German", "ja": "Japanese"}

LANG_INSTRUCTIONS = {
    "en": "Write it in English.",
    "zh": "请用中文写。",
    "es": "Escríbelo en español.",
    "fr": "Écris-le en français.",
    "de": "Schreibe es auf Deutsch.",
    "ja": "日本語で書いてください。",
}

SYSTEM_JSON = "You are a careful assistant. Reply with one JSON object and nothing else."
SYSTEM_JSON_ZH = "你是一个严谨的助手。只回复一个 JSON 对象，不要输出其他内容。"

# -- topological expansion: the generator picks the next hop (DeepDive-style)
SELECT_HOP_PROMPT = (
    'We are writing a puzzle whose answer is "{theme}".\n'
    "Pick the {n} pages below that are most closely related to it.\n"
    "{candidates}\n"
    'Reply as JSON: {{"picks": [numbers]}}'
)

# -- entity extraction (one call per page of the subgraph)
EXTRACT_PROMPT = (
    "Text about {title}:\n{text}\n\n"
    "List up to {n} entities named in this text (people, places, works, organisations, events, dates), "
    'each with one short fact about it taken from the text. Prefer entities related to "{theme}".\n'
    'Reply as JSON: {{"entities": [{{"name": "...", "fact": "..."}}]}}'
)

# -- question generation from the entity subgraph (one-shot; a question copying the example is rejected)
EXAMPLE_QUESTIONS = (
    "Which singer recorded a song named after the state whose capital is Atlanta?",
    "哪位歌手录制了一首以首府为亚特兰大的州命名的歌曲？",
)
GENERATE_PROMPT = (
    "Example.\nFacts:\n- Atlanta is the capital of Georgia.\n- Ray Charles recorded Georgia on My Mind.\n"
    "Answer: Ray Charles. Chain: Atlanta -> Georgia -> Ray Charles.\n"
    '{{"question": "Which singer recorded a song named after the state whose capital is Atlanta?", '
    '"chain": ["Atlanta", "Georgia", "Ray Charles"]}}\n\n'
    "Now.\nFacts:\n{facts}\n"
    "Answer: {answer}. Chain: {chain}.\n"
    "Write one question whose answer is {answer}, using the facts along the chain. Never write the answer in "
    "the question. {lang_instruction}\n"
    'Reply as JSON: {{"question": "...?", "chain": [names along the chain]}}'
)
GENERATE_PROMPT_ZH = (
    "示例。\n事实：\n- 亚特兰大是佐治亚州的首府。\n- Ray Charles 录制了 Georgia on My Mind。\n"
    "答案：Ray Charles。链：Atlanta -> Georgia -> Ray Charles。\n"
    '{{"question": "哪位歌手录制了一首以首府为亚特兰大的州命名的歌曲？", '
    '"chain": ["Atlanta", "Georgia", "Ray Charles"]}}\n\n'
    "现在。\n事实：\n{facts}\n"
    "答案：{answer}。链：{chain}。\n"
    "写一个答案是“{answer}”的问题，使用链上的事实。问题中不要出现答案。{lang_instruction}\n"
    '以 JSON 回复：{{"question": "……？", "chain": [链上的名字]}}'
)

# -- entity obfuscation: a vague but true description grounded in the entity's facts
OBFUSCATE_ENTITY_PROMPT = (
    "Facts about {name}:\n{facts}\n\n"
    "Describe {name} in a vague but true way, in at most 12 words, without writing its name. "
    'For example, Atlanta -> "the capital of a southern US state". {lang_instruction}\n'
    'Reply as JSON: {{"description": "..."}}'
)
OBFUSCATE_ENTITY_PROMPT_ZH = (
    "关于{name}的事实：\n{facts}\n\n"
    "用不超过20个字，模糊但真实地描述{name}，不要写出它的名字。{lang_instruction}\n"
    '以 JSON 回复：{{"description": "..."}}'
)

# -- question obfuscation: same chain, same answer, names replaced by their descriptions
OBFUSCATE_QUESTION_PROMPT = (
    "Question: {question}\n\n"
    "Rewrite the question, replacing each name by its description:\n{mapping}\n"
    "Keep the meaning and the answer the same. {lang_instruction}\n"
    'Reply as JSON: {{"question": "..."}}'
)
OBFUSCATE_QUESTION_PROMPT_ZH = (
    "问题：{question}\n\n"
    "改写这个问题，把每个名字换成它的描述：\n{mapping}\n"
    "保持问题的含义和答案不变。{lang_instruction}\n"
    '以 JSON 回复：{{"question": "..."}}'
)

# -- dual-criteria verification (the verifier role)
VERIFY_CLOSED_BOOK_PROMPT = (
    'Answer the question with a short name only.\nQuestion: {question}\nReply as JSON: {{"answer": "..."}}'
)
VERIFY_WITH_GRAPH_PROMPT = (
    "Facts:\n{graph}\n\n"
    "Using these facts, answer the question with a short name only.\nQuestion: {question}\n"
    'Reply as JSON: {{"answer": "..."}}'
)

_ZH = {
    "generate": GENERATE_PROMPT_ZH,
    "obfuscate_entity": OBFUSCATE_ENTITY_PROMPT_ZH,
    "obfuscate_question": OBFUSCATE_QUESTION_PROMPT_ZH,
}
_EN = {
    "select_hop": SELECT_HOP_PROMPT,
    "extract": EXTRACT_PROMPT,
    "generate": GENERATE_PROMPT,
    "obfuscate_entity": OBFUSCATE_ENTITY_PROMPT,
    "obfuscate_question": OBFUSCATE_QUESTION_PROMPT,
    "verify_closed_book": VERIFY_CLOSED_BOOK_PROMPT,
    "verify_with_graph": VERIFY_WITH_GRAPH_PROMPT,
}


def lang_instruction(lang: str) -> str:
    """The sentence that tells the model which language to write in."""
    if lang in LANG_INSTRUCTIONS:
        return LANG_INSTRUCTIONS[lang]
    return f"Write it in the language with code '{lang}'."


def render(prompt: str, lang: str = "en", **fields: object) -> list[dict[str, str]]:
    """Chat messages for prompt ``prompt`` in ``lang`` (zh has its own templates where the output is zh text)."""
    template = _ZH.get(prompt) if lang == "zh" else None
    system = SYSTEM_JSON_ZH if template is not None else SYSTEM_JSON
    template = template or _EN[prompt]
    fields.setdefault("lang_instruction", lang_instruction(lang))
    return [{"role": "system", "content": system}, {"role": "user", "content": template.format(**fields)}]


def prompt_version(name: str, lang: str = "en") -> str:
    version = PROMPT_VERSIONS[name]
    return f"{version}-zh" if lang == "zh" and name in _ZH else version

"""Executor-test fixtures: a tiny real local web and a scripted OpenAI-compatible endpoint on 127.0.0.1
(``exec_helpers`` importable: pytest runs in importlib mode)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from exec_helpers import agent_responder, build_tiny_web

from openseeker.testing.chat_server import ScriptedChatServer


@pytest.fixture(scope="module")
def tiny_web(tmp_path_factory) -> Path:
    return build_tiny_web(tmp_path_factory.mktemp("exec_web"))


@pytest.fixture
def endpoint():
    with ScriptedChatServer(agent_responder) as srv:
        yield srv

"""``SandboxSettings``: which sandbox runs ``code_exec`` and its limits (the ``sandbox:`` key of ``agent:``).

They live inside ``AgentSettings`` (``agent.sandbox``) so they travel with the agent settings to every worker and
are layered by the same rule (CLI > file > defaults). Each field's description is its help text.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

BACKEND_HELP = (
    "Sandbox of the code_exec tool: auto (bwrap where it works, else a one-line refusal naming the fix), bwrap "
    "(local bubblewrap, no network), e2b (the authors' cloud sandbox; needs E2B_API_KEY), none (no code tool)."
)


class SandboxSettings(BaseModel):
    """Where ``code_exec`` commands run and what one call may use. Limits apply to every call of an attempt."""

    model_config = ConfigDict(extra="forbid")

    backend: Literal["auto", "bwrap", "e2b", "none"] = Field("auto", description=BACKEND_HELP)
    timeout_s: float = Field(60.0, gt=0, le=3600, description="Wall time of one call (seconds); then it is killed.")
    cpu_s: int = Field(60, ge=1, description="CPU seconds per process of a call (RLIMIT_CPU).")
    memory_mb: int = Field(1024, ge=64, description="Address space per process of a call (RLIMIT_AS, MiB).")
    processes: int = Field(128, ge=4, description="Processes and threads a call may run at once (RLIMIT_NPROC).")
    file_mb: int = Field(100, ge=1, description="Largest file a call may write (RLIMIT_FSIZE, MiB).")
    output_mb: int = Field(32, ge=1, description="Output (stdout + stderr) after which a call is killed (MiB).")
    python: str | None = Field(
        None, description="Python interpreter exposed read-only in the bwrap sandbox (default: the running one)."
    )
    e2b_template: str | None = Field(None, description="E2B template id (default: the SDK's code-interpreter).")

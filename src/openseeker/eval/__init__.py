"""openseeker.eval"""

# The agent's tool budget per question in `openseeker eval run` (EvalSettings, evaluate() and the CLI share it).
DEFAULT_MAX_TOOL_CALLS = 30

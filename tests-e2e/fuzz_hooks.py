"""schemathesis hooks of the contract fuzz test (SCHEMATHESIS_HOOKS=fuzz_hooks).

Imports, before the workers' threads start, a module schemathesis would otherwise import lazily in one of
them: CPython 3.11 can fail compiling while another thread does ("AST constructor recursion depth mismatch").
"""

import schemathesis.transport.asgi  # noqa: F401

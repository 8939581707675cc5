"""The platform as a Python package.

Importing it first makes synthesis fast, before anything loads jsii or the provider:
infra/fast_imports.py loads only the provider modules used, in Python and (through
infra/kernel_preload.js) in the jsii kernel; infra/fast_kernel.py shortens jsii's own
per-call work. The synthesized JSON is the same with and without them
(tests/test_fast_imports.py); PLATFORM_FAST_IMPORTS=0 turns all of it off.
"""

from infra import fast_imports as _fast_imports
from infra import fast_kernel as _fast_kernel

if _fast_imports.install():  # False when PLATFORM_FAST_IMPORTS=0
    _fast_kernel.install()

"""The platform as a Python package.

Importing it installs nothing. The synthesis speed-ups live in infra/speedups/ and are
installed by an explicit call, ``infra.speedups.install(...)``, which main.py and the
test conftest make before anything imports jsii or the provider.
"""

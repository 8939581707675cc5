"""Entry point: ``python -m cleanup_app``; the exit code is the run's result."""

import sys

from .main import main

sys.exit(main())

"""`python -m hub`: the same as the `hub` command."""

import sys

from .cli import main

sys.exit(main())

"""`python -m kiosk`: the same as the `kiosk` command."""

import sys

from .cli import main

sys.exit(main())

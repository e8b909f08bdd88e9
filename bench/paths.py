"""sys.path for a benchmark run as a module (``python -m bench.NAME`` from the repository): the repository first,
then bench/ itself for the harness's flat imports (hub_harness, hub_events, hub_scenarios, ...), after it because
bench/hub.py is not the hub package. Importing this module is what sets it."""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
if str(HERE) not in sys.path:
    sys.path.append(str(HERE))

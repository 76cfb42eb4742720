"""``python -m hamgeo.bench``: the same as ``hamgeo bench``."""

import sys

from hamgeo.bench import main

sys.exit(main(prog="python -m hamgeo.bench"))

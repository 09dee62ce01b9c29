"""``python -m selfheal_cli ARGS``: the same as the ``selfheal`` console script."""

import sys

from selfheal_cli.main import main

sys.exit(main())

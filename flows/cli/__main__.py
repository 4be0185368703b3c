"""`python -m flows.cli`: the `route53-lake` command without its console script."""

import sys

from flows.cli.main import main

sys.exit(main())

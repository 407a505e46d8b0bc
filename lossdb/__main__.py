"""`python -m lossdb`: the lossdb command."""
from lossdb.cli.app import main

import sys

sys.exit(main())

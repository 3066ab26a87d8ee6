"""Allow `python -m khabar.cli`."""

import sys

from khabar.cli import main

sys.exit(main())

"""``python -m server ...``: the server's subcommands without the engine's CLI."""

import sys

from server.cli import main

sys.exit(main())

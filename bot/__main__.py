"""`python -m bot ...` runs the same command line as `rls-bot ...`."""

from bot.cli import main

raise SystemExit(main())

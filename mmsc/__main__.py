"""``python -m mmsc``: the same command line as the ``mmsc`` console script."""

from mmsc.cli import main

raise SystemExit(main())

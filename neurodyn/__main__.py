"""``python -m neurodyn``: see :mod:`neurodyn.cli`."""

from neurodyn.cli import main

raise SystemExit(main())

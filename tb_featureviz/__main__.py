"""``python -m tb_featureviz``: the same as the ``tb-featureviz`` command."""

import sys

from tb_featureviz.cli import main

sys.exit(main())

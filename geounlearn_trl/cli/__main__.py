"""``python -m geounlearn_trl.cli <command> [flags]``: the same as the ``geounlearn-trl`` console script."""

import sys

from .main import main

if __name__ == "__main__":
    sys.exit(main())

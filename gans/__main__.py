import sys

from gans.cli import main

sys.exit(main())

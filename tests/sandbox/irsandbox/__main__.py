import sys

from irsandbox.cli import main

sys.exit(main())

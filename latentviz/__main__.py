import sys

from latentviz.cli import main

sys.exit(main())

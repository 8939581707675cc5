import sys

from __PKG__ import main

sys.exit(main())
